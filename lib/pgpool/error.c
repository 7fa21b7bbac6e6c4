#include <pgpool/pgpool.h>

const char *pgpool_strerror(int err)
{
    switch ((pgpool_error)err) {
    case PGPOOL_OK:
        return "success";
    case PGPOOL_EINVAL:
        return "invalid argument";
    case PGPOOL_ENOMEM:
        return "out of memory";
    }
    return "unknown error";
}
