/* A program that uses libpgpool as an outside project would: through the
 * installed header and pkg-config only. */
#include <stdio.h>

#include <pgpool/pgpool.h>

int main(void)
{
    if (pgpool_version() != PGPOOL_VERSION_NUMBER) {
        fprintf(stderr, "header %s, library 0x%06x\n", PGPOOL_VERSION_STRING,
                (unsigned)pgpool_version());
        return 1;
    }
    printf("libpgpool %s: %s\n", PGPOOL_VERSION_STRING, pgpool_strerror(PGPOOL_EINVAL));
    return 0;
}
