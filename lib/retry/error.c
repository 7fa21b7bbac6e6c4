#include <retry/retry.h>

const char *retry_strerror(int err)
{
    switch ((retry_error)err) {
    case RETRY_OK:
        return "success";
    case RETRY_EINVAL:
        return "invalid argument";
    case RETRY_ENOMEM:
        return "out of memory";
    }
    return "unknown error";
}
