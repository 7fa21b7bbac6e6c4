#include <envcheck/envcheck.h>

const char *envcheck_strerror(int err)
{
    switch ((envcheck_error)err) {
    case ENVCHECK_OK:
        return "success";
    case ENVCHECK_EINVAL:
        return "invalid argument";
    case ENVCHECK_ENOMEM:
        return "out of memory";
    case ENVCHECK_ESCHEMA:
        return "invalid schema";
    case ENVCHECK_EIO:
        return "input/output error";
    case ENVCHECK_ENOENT:
        return "no such variable";
    case ENVCHECK_ETYPE:
        return "wrong type for this getter";
    case ENVCHECK_ENOVALUE:
        return "the variable has no valid value";
    }
    return "unknown error";
}
