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
    case RETRY_EOPEN:
        return "circuit breaker open";
    case RETRY_ELIMIT:
        return "rate limit reached";
    case RETRY_ETIMEOUT:
        return "rate limit wait exceeds timeout";
    case RETRY_EBUDGET:
        return "retry budget exhausted";
    case RETRY_EGAVEUP:
        return "gave up retrying";
    case RETRY_ECANCELED:
        return "cancelled";
    }
    return "unknown error";
}
