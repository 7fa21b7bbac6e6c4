#include <dqcheck/dqcheck.h>

uint32_t dq_version(void)
{
    return DQ_VERSION_NUMBER;
}
