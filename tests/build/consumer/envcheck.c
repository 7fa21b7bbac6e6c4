/* A program that uses libenvcheck as an outside project would: through the
 * installed header and pkg-config only. */
#include <stdio.h>

#include <envcheck/envcheck.h>

int main(void)
{
    if (envcheck_version() != ENVCHECK_VERSION_NUMBER) {
        fprintf(stderr, "header %s, library 0x%06x\n", ENVCHECK_VERSION_STRING,
                (unsigned)envcheck_version());
        return 1;
    }
    printf("libenvcheck %s: %s\n", ENVCHECK_VERSION_STRING, envcheck_strerror(ENVCHECK_EINVAL));
    return 0;
}
