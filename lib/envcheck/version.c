#include <envcheck/envcheck.h>

uint32_t envcheck_version(void)
{
    return ENVCHECK_VERSION_NUMBER;
}
