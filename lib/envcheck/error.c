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
    }
    return "unknown error";
}
