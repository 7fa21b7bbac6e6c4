/* A program that uses libdqcheck as an outside project would: through the
 * installed header and pkg-config only. */
#include <stdio.h>

#include <dqcheck/dqcheck.h>

int main(void)
{
    if (dq_version() != DQ_VERSION_NUMBER) {
        fprintf(stderr, "header %s, library 0x%06x\n", DQ_VERSION_STRING, (unsigned)dq_version());
        return 1;
    }
    printf("libdqcheck %s: %s\n", DQ_VERSION_STRING, dq_strerror(DQ_EINVAL));
    return 0;
}
