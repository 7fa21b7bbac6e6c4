#include <pgpool/pgpool.h>

uint32_t pgpool_version(void)
{
    return PGPOOL_VERSION_NUMBER;
}
