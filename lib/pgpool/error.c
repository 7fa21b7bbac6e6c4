/* Static texts: error codes and enum names. */
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
    case PGPOOL_ETIMEDOUT:
        return "timed out waiting for a connection (pool exhausted)";
    case PGPOOL_ECONNECT:
        return "cannot connect to the database";
    case PGPOOL_ECLOSED:
        return "pool is closed";
    case PGPOOL_ESYSTEM:
        return "system call failed";
    }
    return "unknown error";
}

const char *pgpool_close_reason_name(int reason)
{
    static const char *const names[PGPOOL_CLOSE_REASON_COUNT] = {
        "lifetime", "idle",  "broken", "validation", "reset_failed",
        "overflow", "stale", "closed", "busy",       "discarded",
    };
    if (reason < 0 || reason >= PGPOOL_CLOSE_REASON_COUNT)
        return "unknown";
    return names[reason];
}

const char *pgpool_health_state_name(int state)
{
    switch (state) {
    case PGPOOL_UP:
        return "up";
    case PGPOOL_DEGRADED:
        return "degraded";
    case PGPOOL_DOWN:
        return "down";
    default:
        return "unknown";
    }
}

const char *pgpool_event_name(int type)
{
    static const char *const names[] = {
        "connect", "connect_failed",    "acquire", "release",
        "close",   "validation_failed", "leak",    "state",
    };
    if (type < 0 || type >= (int)(sizeof names / sizeof names[0]))
        return "unknown";
    return names[type];
}

const char *pgpool_cause_name(int cause)
{
    static const char *const names[] = {
        "none",   "exhausted", "connect_failed", "connecting", "validation_timeout",
        "closed", "options",   "conninfo",       "system",     "server",
    };
    if (cause < 0 || cause >= (int)(sizeof names / sizeof names[0]))
        return "unknown";
    return names[cause];
}
