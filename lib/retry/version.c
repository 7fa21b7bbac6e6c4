#include <retry/retry.h>

uint32_t retry_version(void)
{
    return RETRY_VERSION_NUMBER;
}
