#include <dqcheck/dqcheck.h>

const char *dq_strerror(int err)
{
    switch ((dq_error)err) {
    case DQ_OK:
        return "success";
    case DQ_EINVAL:
        return "invalid argument";
    case DQ_ENOMEM:
        return "out of memory";
    }
    return "unknown error";
}
