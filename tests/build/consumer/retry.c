/* A program that uses libretry as an outside project would: through the
 * installed header and pkg-config only. */
#include <stdio.h>

#include <retry/retry.h>

int main(void)
{
    if (retry_version() != RETRY_VERSION_NUMBER) {
        fprintf(stderr, "header %s, library 0x%06x\n", RETRY_VERSION_STRING,
                (unsigned)retry_version());
        return 1;
    }
    printf("libretry %s: %s\n", RETRY_VERSION_STRING, retry_strerror(RETRY_EINVAL));
    return 0;
}
