/*
 * pgpool.h — a thread-safe libpq connection pool.
 *
 * A pgpool keeps between min_idle and max_size (+ max_overflow) libpq
 * connections to one PostgreSQL server. Callers borrow a connection with
 * pgpool_acquire() and give it back with pgpool_release(); waiters are served
 * first come, first served, each with an absolute deadline. Connections are
 * opened only by the pool's maintenance thread, without blocking, several at
 * once (max_connecting), with a connect timeout that the pool enforces and an
 * exponential backoff with jitter while the server is down. Connections are
 * retired after their (jittered) lifetime, closed after idle_timeout, checked
 * for a dead socket while idle, validated after validate_after_idle, rolled
 * back when returned inside a transaction and discarded when returned busy.
 * Statistics, Prometheus text, a health state, sizing advice, events and a
 * log callback make the pool observable. Passwords never appear in any text
 * the library produces: they are shown as "**********".
 *
 * Thread safety: libpgpool has no mutable global state. A pgpool may be used
 * from any number of threads at once: every function taking a pgpool is safe
 * to call concurrently, except pgpool_free() and pgpool_forget_after_fork(),
 * after which the handle is gone. A pgpool_conn belongs to the thread that
 * acquired it until it is released (its PGconn, like any PGconn, must not be
 * used by two threads at once); in static mode every acquirer gets the same
 * connection and the callers must take turns themselves. Callbacks (event,
 * log, on_connect, clock, random) are called without the pool's lock held;
 * event and log callbacks are never called concurrently with each other for
 * the same pool; they may call pgpool_stats() and friends, but never
 * pgpool_close(), pgpool_free() or pgpool_forget_after_fork(). Functions
 * that take no handle are safe to call from any thread.
 */
#ifndef PGPOOL_PGPOOL_H
#define PGPOOL_PGPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <pgpool/version.h> /* generated: PGPOOL_VERSION_MAJOR/MINOR/PATCH/NUMBER */

#ifdef __cplusplus
extern "C" {
#endif

/* The libpq connection type, as <libpq-fe.h> declares it (the same typedef,
 * so that either header may come first). */
#ifndef LIBPQ_FE_H
typedef struct pg_conn PGconn;
#endif

#if defined(__GNUC__)
#define PGPOOL_API          __attribute__((visibility("default")))
#define PGPOOL_NODISCARD    __attribute__((warn_unused_result))
#define PGPOOL_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#else
#define PGPOOL_API
#define PGPOOL_NODISCARD
#define PGPOOL_NONNULL(...)
#endif

/* Error codes: 0 is success, failures are negative. */
typedef enum pgpool_error {
    PGPOOL_OK = 0,
    PGPOOL_EINVAL = -1,    /* an argument or option is out of range */
    PGPOOL_ENOMEM = -2,    /* allocation failed; nothing was changed */
    PGPOOL_ETIMEDOUT = -3, /* pool exhausted: every connection was in use until the deadline */
    PGPOOL_ECONNECT = -4,  /* the database did not give a usable connection in time: the
                              connects waited on failed or still hung at the deadline, or an
                              idle connection did not answer its validation (see
                              pgpool_error_info for the cause, SQLSTATE and message) */
    PGPOOL_ECLOSED = -5,   /* the pool is closed (or closing) */
    PGPOOL_ESYSTEM = -6,   /* a system call failed (thread, eventfd) */
} pgpool_error;

/* Static text for an error code; never NULL, also for unknown codes. */
PGPOOL_API const char *pgpool_strerror(int err);

/* Runtime version as PGPOOL_VERSION_NUMBER (0xMMmmpp) of the library linked. */
PGPOOL_API uint32_t pgpool_version(void);

/* Why an acquire (or pgpool_new) failed: pgpool_error_info.cause. */
typedef enum pgpool_cause {
    PGPOOL_CAUSE_NONE = 0,               /* success */
    PGPOOL_CAUSE_EXHAUSTED = 1,          /* ETIMEDOUT: every connection was in use */
    PGPOOL_CAUSE_CONNECT_FAILED = 2,     /* ECONNECT: the connects waited on failed (the
                                            message and SQLSTATE are the last failure's) */
    PGPOOL_CAUSE_CONNECTING = 3,         /* ECONNECT: a connect was still in flight (or not
                                            yet started) at the deadline */
    PGPOOL_CAUSE_VALIDATION_TIMEOUT = 4, /* ECONNECT: an idle connection did not answer its
                                            validation before the deadline (and was closed) */
    PGPOOL_CAUSE_CLOSED = 5,             /* ECLOSED */
    PGPOOL_CAUSE_OPTIONS = 6,            /* EINVAL: an option or argument is out of range */
    PGPOOL_CAUSE_CONNINFO = 7,           /* EINVAL: libpq cannot parse the connection string */
    PGPOOL_CAUSE_SYSTEM = 8,             /* ENOMEM or ESYSTEM */
    PGPOOL_CAUSE_SERVER = 9,             /* ECONNECT from pgpool_conn_ping(): the server
                                            answered with an error or the session is gone */
} pgpool_cause;

/* "none", "exhausted", "connect_failed", ...; never NULL. */
PGPOOL_API const char *pgpool_cause_name(int cause);

/*
 * Detail of one call's failure, for the caller alone (unlike
 * pgpool_last_error(), which is the pool's). The caller owns it and
 * initialises it with PGPOOL_ERROR_INFO_INIT; the functions taking one fill
 * every field, also on success (code 0, cause NONE, empty texts). Fields are
 * only ever added at the end, with a new PGPOOL_ERROR_INFO_VERSION.
 */
typedef struct pgpool_error_info {
    unsigned version;   /* PGPOOL_ERROR_INFO_VERSION, set by the caller */
    int code;           /* the call's result */
    pgpool_cause cause; /* why */
    char sqlstate[6];   /* the server's SQLSTATE ("57P03", "3D000"), "" when none */
    char message[256];  /* one line, no LOCATION:, passwords shown as "**********" */
} pgpool_error_info;

#define PGPOOL_ERROR_INFO_VERSION 1
#define PGPOOL_ERROR_INFO_INIT                                                                     \
    {                                                                                              \
        PGPOOL_ERROR_INFO_VERSION, 0, PGPOOL_CAUSE_NONE, "", ""                                    \
    }

/* ---------------------------------------------------------------- enums */

/* Which idle connection an acquire gets. */
typedef enum pgpool_reuse {
    PGPOOL_REUSE_LIFO = 0, /* most recently used first (default): a small hot set,
                              the rest idles out */
    PGPOOL_REUSE_FIFO = 1, /* least recently used first: spreads use evenly */
} pgpool_reuse;

/* When the reset statement (reset_query, default "DISCARD ALL") runs on release. */
typedef enum pgpool_reset {
    PGPOOL_RESET_NEVER = 0,  /* default: only ROLLBACK an open transaction */
    PGPOOL_RESET_DIRTY = 1,  /* after a connection came back inside a transaction */
    PGPOOL_RESET_ALWAYS = 2, /* on every release (pgbouncer's server_reset_query) */
} pgpool_reset;

/* Why a connection was closed (stats, events). */
typedef enum pgpool_close_reason {
    PGPOOL_CLOSE_LIFETIME = 0,     /* max_lifetime (with jitter) reached */
    PGPOOL_CLOSE_IDLE = 1,         /* idle longer than idle_timeout, above min_idle */
    PGPOOL_CLOSE_BROKEN = 2,       /* dead: end of stream, a FATAL from the server, PQstatus bad */
    PGPOOL_CLOSE_VALIDATION = 3,   /* the validation query failed or timed out */
    PGPOOL_CLOSE_RESET_FAILED = 4, /* ROLLBACK or the reset statement failed or timed out */
    PGPOOL_CLOSE_OVERFLOW = 5,     /* an overflow connection (beyond max_size) came back */
    PGPOOL_CLOSE_STALE = 6,        /* opened before the pool was invalidated: the server went
                                      away, or pgpool_invalidate() */
    PGPOOL_CLOSE_CLOSED = 7,       /* the pool was closed */
    PGPOOL_CLOSE_BUSY = 8,         /* returned with a query running or results unread */
    PGPOOL_CLOSE_DISCARDED = 9,    /* the caller called pgpool_discard() */
} pgpool_close_reason;
#define PGPOOL_CLOSE_REASON_COUNT 10

/* Short lower-case name of a close reason ("lifetime", "idle", ...); never NULL. */
PGPOOL_API const char *pgpool_close_reason_name(int reason);

/* Health of the pool (pgpool_health()). */
typedef enum pgpool_health_state {
    PGPOOL_UP = 0,       /* connects succeed (or none was needed) */
    PGPOOL_DEGRADED = 1, /* connects are failing, the pool still has open connections */
    PGPOOL_DOWN = 2,     /* connects are failing and no connection is open */
} pgpool_health_state;

/* "up", "degraded", "down"; never NULL. */
PGPOOL_API const char *pgpool_health_state_name(int state);

/* Events passed to the event callback. */
typedef enum pgpool_event_type {
    PGPOOL_EVENT_CONNECT = 0,           /* a new connection is ready (duration: connect time) */
    PGPOOL_EVENT_CONNECT_FAILED = 1,    /* a connect attempt failed (message: why) */
    PGPOOL_EVENT_ACQUIRE = 2,           /* a caller got a connection (duration: wait) */
    PGPOOL_EVENT_RELEASE = 3,           /* a connection came back (duration: held) */
    PGPOOL_EVENT_CLOSE = 4,             /* a connection was closed (reason) */
    PGPOOL_EVENT_VALIDATION_FAILED = 5, /* validation failed (then a CLOSE follows) */
    PGPOOL_EVENT_LEAK = 6,              /* held longer than leak_threshold (once per checkout) */
    PGPOOL_EVENT_STATE = 7,             /* the health state changed (state) */
} pgpool_event_type;

/* "connect", "connect_failed", "acquire", ...; never NULL. */
PGPOOL_API const char *pgpool_event_name(int type);

/* One event. Borrowed: valid only during the callback. */
typedef struct pgpool_event {
    pgpool_event_type type;
    uint64_t conn_id;           /* the connection's serial number (1, 2, ...), 0 if none */
    pgpool_close_reason reason; /* PGPOOL_EVENT_CLOSE only */
    pgpool_health_state state;  /* PGPOOL_EVENT_STATE only: the new state */
    int64_t duration_ns;        /* see the event types; 0 when not meaningful */
    const char *message;        /* human-readable detail, never NULL, password masked */
} pgpool_event;

/* Log levels of the log callback; a message is passed when level >= log_level. */
typedef enum pgpool_log_level {
    PGPOOL_LOG_TRACE = 0, /* every acquire and release (the "echo" of SQLAlchemy) */
    PGPOOL_LOG_DEBUG = 1, /* connects, closes, maintenance */
    PGPOOL_LOG_INFO = 2,  /* state changes, pool open and close */
    PGPOOL_LOG_WARN = 3,  /* connect failures, leaks, validation failures */
    PGPOOL_LOG_ERROR = 4, /* failures the pool cannot recover from by itself */
} pgpool_log_level;

/* ---------------------------------------------------------------- options */

/*
 * Options. Initialise with PGPOOL_OPTIONS_INIT, then change fields: new
 * fields are only ever added at the end. Durations are milliseconds; 0
 * disables the feature where the comment says so. See docs/pgpool.md for the
 * reason behind every default.
 */
typedef struct pgpool_options {
    unsigned version; /* PGPOOL_OPTIONS_VERSION */

    /* Where to connect: a libpq connection string ("host=... password=...")
     * or URI ("postgresql://user:pw@host/db"); or, when conninfo is NULL,
     * NULL-terminated keyword/value arrays as PQconnectdbParams takes them.
     * Both NULL: libpq's environment defaults (PGHOST, ...). Copied. */
    const char *conninfo;
    const char *const *keywords;
    const char *const *values;

    int min_idle;       /* connections kept open even when unused; default 1 */
    int max_size;       /* pool size; default 10 */
    int max_overflow;   /* extra connections beyond max_size, closed on release; default 0 */
    int max_connecting; /* connects in flight at once; default 2 */

    int64_t acquire_timeout_ms;     /* used when pgpool_acquire() gets timeout_ms < 0;
                                       default 30000 */
    int64_t connect_timeout_ms;     /* one connect attempt, enforced by the pool;
                                       default 5000 */
    int64_t max_lifetime_ms;        /* retire after this; 0 = never; default 1800000 */
    int64_t max_lifetime_jitter_ms; /* each connection's lifetime is shortened by a
                                       random 0..jitter; default 60000 (<= max_lifetime) */
    int64_t idle_timeout_ms;        /* close idle connections above min_idle after this;
                                       0 = never; default 600000 */
    int64_t validate_after_idle_ms; /* validate at acquire when idle longer; -1 = never,
                                       0 = always; default 1000 */
    int64_t validation_timeout_ms;  /* limit for the validation query; default 2000 */
    int64_t rollback_timeout_ms;    /* limit for ROLLBACK / reset on release; default 2000 */
    int64_t backoff_initial_ms;     /* first reconnect delay; default 50 */
    int64_t backoff_max_ms;         /* cap of the exponential delay; default 5000 */
    int64_t leak_threshold_ms;      /* report a checkout held longer; 0 = off; default 0 */
    int64_t health_check_period_ms; /* maintenance period: dead idle sockets, lifetime,
                                       idle shrink, leaks; default 100 */

    pgpool_reuse reuse;      /* default PGPOOL_REUSE_LIFO */
    pgpool_reset reset;      /* default PGPOOL_RESET_NEVER */
    const char *reset_query; /* default "DISCARD ALL"; copied */

    int fail_fast;   /* nonzero: acquire answers PGPOOL_ECONNECT at once while connects are
                        failing and no connection is idle; default 0 (wait to the deadline) */
    int static_mode; /* nonzero: exactly one connection, shared by every acquirer
                        (SQLAlchemy's StaticPool); default 0 */

    /* Called on the maintenance thread for every new connection before first
     * use (and again after a reset statement): SET, PREPARE, ... Return 0, or
     * nonzero to reject the connection (counted as a failed connect). */
    int (*on_connect)(PGconn *conn, void *userdata);
    void *on_connect_userdata;

    /* Events; see pgpool_event_type. */
    void (*on_event)(const pgpool_event *event, void *userdata);
    void *event_userdata;

    /* Diagnostics: the library never prints. msg is borrowed for the call. */
    void (*log)(pgpool_log_level level, const char *msg, void *userdata);
    void *log_userdata;
    pgpool_log_level log_level; /* default PGPOOL_LOG_INFO */

    /* Injectable time and randomness (tests): clock returns monotonic
     * nanoseconds (default CLOCK_MONOTONIC); random returns 64 random bits
     * (default a per-pool xorshift generator). */
    int64_t (*clock)(void *userdata);
    void *clock_userdata;
    uint64_t (*random)(void *userdata);
    void *random_userdata;

    const char *name; /* label value for Prometheus text and log lines; default "default" */

    /* version 2 */
    int64_t alive_bypass_ms; /* skip the check of an idle connection's socket at acquire when
                                it came back less than this long ago (measured with a clock
                                of 1-4 ms resolution); 0 = always check; default 1 */
} pgpool_options;

/* A caller built against version 1 (no alive_bypass_ms) is still accepted:
 * the fields of version 2 then take their defaults. */
#define PGPOOL_OPTIONS_VERSION 2
#define PGPOOL_OPTIONS_INIT                                                                        \
    {                                                                                              \
        PGPOOL_OPTIONS_VERSION, NULL, NULL, NULL, 1, 10, 0, 2, 30000, 5000, 1800000, 60000,        \
            600000, 1000, 2000, 2000, 50, 5000, 0, 100, PGPOOL_REUSE_LIFO, PGPOOL_RESET_NEVER,     \
            NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, PGPOOL_LOG_INFO, NULL, NULL, NULL,     \
            NULL, NULL, 1                                                                          \
    }

/* ---------------------------------------------------------------- handles */

/* A pool of libpq connections. Opaque. */
typedef struct pgpool pgpool;

/* A borrowed connection: acquired from a pool, returned with pgpool_release()
 * or pgpool_discard(). Opaque. */
typedef struct pgpool_conn pgpool_conn;

/*
 * Create a pool and start its maintenance thread, which opens min_idle
 * connections in the background (pgpool_new() does not wait for them). opts
 * may be NULL for the defaults (libpq's environment decides where to
 * connect); it is copied, strings included, not kept. On success *out is a
 * new pool that the caller owns and frees with pgpool_free(). Returns
 * PGPOOL_OK, PGPOOL_EINVAL (an option out of range, or a connection string
 * that libpq cannot parse: pgpool_new_ex() says which), PGPOOL_ENOMEM or
 * PGPOOL_ESYSTEM; on failure *out is NULL.
 */
PGPOOL_API PGPOOL_NODISCARD PGPOOL_NONNULL(1) int pgpool_new(pgpool **out,
                                                             const pgpool_options *opts);

/*
 * pgpool_new() that also says why it failed: when info is not NULL it is
 * filled (see pgpool_error_info): for a connection string that libpq cannot
 * parse, cause PGPOOL_CAUSE_CONNINFO and libpq's parse message (quoted
 * values masked; only keywords are shown); for an option out of range,
 * PGPOOL_CAUSE_OPTIONS and the option's name.
 */
PGPOOL_API PGPOOL_NODISCARD PGPOOL_NONNULL(1) int pgpool_new_ex(pgpool **out,
                                                                pgpool_error_info *info,
                                                                const pgpool_options *opts);

/*
 * Borrow a connection. timeout_ms < 0 uses the acquire_timeout option, 0
 * does not wait. The deadline is absolute and hard: the call returns within
 * timeout_ms (plus scheduling slack) whatever the server does, and never
 * connects in the caller's thread. An idle connection is handed out only
 * after a non-blocking check of its socket (end of stream, or a FATAL sent by
 * the server: closed as broken), skipped when it came back less than
 * alive_bypass_ms ago; when it has idled longer than
 * validate_after_idle, the validation query runs in the caller's thread
 * within min(validation_timeout, time left), and a connection that fails or
 * does not answer is closed (that one only). acquire(0) does no I/O that
 * waits: it skips the validation. On success *out is a connection that the
 * caller holds until pgpool_release() or pgpool_discard(); on failure *out
 * is NULL and the result is PGPOOL_ETIMEDOUT (every connection was in use
 * until the deadline), PGPOOL_ECONNECT (connects failed or were still in
 * flight at the deadline, or validation ran into it), PGPOOL_ECLOSED or
 * PGPOOL_EINVAL.
 */
PGPOOL_API PGPOOL_NODISCARD PGPOOL_NONNULL(1, 2) int pgpool_acquire(pgpool_conn **out, pgpool *pool,
                                                                    int timeout_ms);

/* pgpool_acquire() with the detail of this call's failure in *info (may be
 * NULL): the cause, the server's SQLSTATE and a one-line message. */
PGPOOL_API PGPOOL_NODISCARD PGPOOL_NONNULL(1, 3) int pgpool_acquire_ex(pgpool_conn **out,
                                                                       pgpool_error_info *info,
                                                                       pgpool *pool,
                                                                       int timeout_ms);

/*
 * Wait until min_idle connections are open (the pool has warmed up), at
 * most timeout_ms (< 0: acquire_timeout). Returns PGPOOL_OK, PGPOOL_ECONNECT
 * (connects failing or still in flight at the deadline; pgpool_last_error()
 * has the last failure) or PGPOOL_ECLOSED. Acquires that wait before the
 * pool first has min_idle connections open count as warm-up waits, which the
 * sizing advice leaves out.
 */
PGPOOL_API PGPOOL_NODISCARD PGPOOL_NONNULL(1) int pgpool_wait_ready(pgpool *pool, int timeout_ms);

/*
 * Invalidate every connection open now (HikariCP's softEvictConnections,
 * pgx's Reset): idle ones are closed by the maintenance thread, borrowed
 * ones when they come back, all as PGPOOL_CLOSE_STALE; new connections
 * replace them. The pool does the same by itself on evidence that the
 * server went away (docs/pgpool.md, "Failure model").
 */
PGPOOL_API PGPOOL_NONNULL(1) void pgpool_invalidate(pgpool *pool);

/*
 * Check a borrowed connection: a round trip to the server (an empty query)
 * within timeout_ms (< 0: validation_timeout). Returns PGPOOL_OK, or
 * PGPOOL_ECONNECT when the server answered with an error, the session is
 * gone or the answer did not come in time (then discard the connection; a
 * release closes it too). info (may be NULL) gets the detail.
 */
PGPOOL_API PGPOOL_NODISCARD PGPOOL_NONNULL(2) int pgpool_conn_ping(pgpool_error_info *info,
                                                                   pgpool_conn *conn,
                                                                   int timeout_ms);

/* The libpq connection inside a borrowed one. Borrowed: valid until the
 * connection is released or discarded; never PQfinish() it. */
PGPOOL_API PGPOOL_NONNULL(1) PGconn *pgpool_conn_pg(pgpool_conn *conn);

/* The connection's serial number (1, 2, ... in creation order), as in events. */
PGPOOL_API PGPOOL_NONNULL(1) uint64_t pgpool_conn_id(const pgpool_conn *conn);

/*
 * Give a connection back. Idle connections are reused; one inside a
 * transaction (or a failed one) is rolled back within rollback_timeout and
 * reused, or closed; one with a query running or results unread, or broken,
 * is closed; one past its lifetime is retired. May run ROLLBACK or the reset
 * statement in the caller's thread. conn is invalid afterwards. NULL is a
 * harmless no-op.
 */
PGPOOL_API void pgpool_release(pgpool_conn *conn);

/* Give a connection back and close it: the caller knows it is bad. conn is
 * invalid afterwards. NULL is a harmless no-op. */
PGPOOL_API void pgpool_discard(pgpool_conn *conn);

/*
 * Close the pool: from now on acquires fail with PGPOOL_ECLOSED, waiters wake
 * at once with PGPOOL_ECLOSED, idle and connecting connections are closed,
 * the maintenance thread stops. Waits up to timeout_ms (< 0: forever) for
 * borrowed connections to come back (each is closed when it does); at the
 * deadline the sockets of those still out are shut down, so that their users
 * see errors, and their memory is freed when they are released. Returns
 * PGPOOL_OK when every connection was back, PGPOOL_ETIMEDOUT otherwise. Safe
 * to call twice and from several threads.
 */
PGPOOL_API PGPOOL_NONNULL(1) int pgpool_close(pgpool *pool, int timeout_ms);

/*
 * Free a pool: closes it (pgpool_close(pool, 0)) when that was not done. The
 * handle is invalid afterwards; connections still borrowed stay valid until
 * released, and the last release frees what is left. NULL is a no-op.
 */
PGPOOL_API void pgpool_free(pgpool *pool);

/*
 * In the child of a fork(): free the child's copy of the pool without
 * terminating the parent's sessions (the child's copies of the sockets are
 * closed without a word to the server) and without touching locks that the
 * parent's threads may have held. The handle, and every connection borrowed
 * from it, is invalid in the child afterwards; the parent is unaffected. The
 * child makes its own pool if it needs one. NULL is a no-op.
 */
PGPOOL_API void pgpool_forget_after_fork(pgpool *pool);

/*
 * Copy the last failure message of the pool (a libpq connect error, a
 * validation or reset failure; one line, passwords masked) into buf. It is
 * the pool's, shared by every thread: pgpool_acquire_ex() gives each call
 * its own: at most size
 * bytes, always NUL-terminated, "" when there was none. Returns the length
 * the whole text needs, as snprintf does.
 */
PGPOOL_API PGPOOL_NONNULL(1) size_t pgpool_last_error(pgpool *pool, char *buf, size_t size);

/* ---------------------------------------------------------------- statistics */

/* Histogram buckets (upper bounds, seconds): 0.0001 0.0005 0.001 0.005 0.01
 * 0.05 0.1 0.5 1 5 10 +Inf. Counts are per bucket, not cumulative. */
#define PGPOOL_HIST_BUCKETS 12

/* A snapshot of the pool (pgpool_stats_get()). Fields are only ever added
 * at the end, together with a new PGPOOL_STATS_VERSION; the caller sets
 * version before the call (PGPOOL_STATS_INIT), and the library fills the
 * fields of that version. */
#define PGPOOL_STATS_VERSION 3
typedef struct pgpool_stats {
    unsigned version; /* in: PGPOOL_STATS_VERSION of the caller; out: what was filled */
    /* gauges */
    uint32_t total;                            /* open + connecting */
    uint32_t idle;                             /* open, waiting in the pool */
    uint32_t in_use;                           /* borrowed (or being validated / checked) */
    uint32_t connecting;                       /* connect attempts in flight */
    uint32_t waiters;                          /* acquires waiting */
    uint32_t max_size, max_overflow, min_idle; /* configuration */
    pgpool_health_state health;
    /* counters since pgpool_new() */
    uint64_t acquires;         /* successful acquires */
    uint64_t waits;            /* acquires that had to wait */
    uint64_t timeouts;         /* acquires that failed with PGPOOL_ETIMEDOUT */
    uint64_t connect_errors;   /* acquires that failed with PGPOOL_ECONNECT */
    uint64_t connect_attempts; /* connects started */
    uint64_t connect_failures; /* connects that failed (incl. timeouts, on_connect) */
    uint64_t created;          /* connections opened */
    uint64_t closed[PGPOOL_CLOSE_REASON_COUNT]; /* closed, by pgpool_close_reason */
    uint64_t leaks;                             /* checkouts held past leak_threshold */
    uint64_t validations;                       /* validation queries run */
    uint64_t returned_idle;                     /* releases of connections outside a transaction */
    uint64_t returned_in_txn;                   /* ... inside an open transaction */
    uint64_t returned_failed;                   /* ... inside a failed transaction */
    uint64_t rollbacks;                         /* ROLLBACKs the pool ran on release */
    uint64_t resets;                            /* reset statements run */
    uint64_t overflow_acquires; /* acquires served by a connection beyond max_size */
    /* histograms, see PGPOOL_HIST_BUCKETS */
    uint64_t wait_hist[PGPOOL_HIST_BUCKETS]; /* time from acquire call to connection */
    int64_t wait_sum_ns;
    uint64_t usage_hist[PGPOOL_HIST_BUCKETS]; /* time a connection was held */
    int64_t usage_sum_ns;
    uint64_t usage_count;
    /* version 2 */
    uint64_t warmup_waits;                      /* of waits: begun before min_idle was first
                                                   reached (left out of the advice) */
    uint64_t connect_hist[PGPOOL_HIST_BUCKETS]; /* time a successful connect took */
    int64_t connect_sum_ns;
    uint64_t validations_ok;      /* validation queries (and pings) answered */
    uint64_t validations_failed;  /* ... that failed: error, session gone */
    uint64_t validation_timeouts; /* ... that did not answer in time */
    /* version 3 */
    uint64_t maintenance_runs; /* housekeeping passes of the maintenance thread (idle and
                                  lifetime retirement, leak detection, min_idle refill) */
} pgpool_stats;

#define PGPOOL_STATS_INIT                                                                          \
    {                                                                                              \
        .version = PGPOOL_STATS_VERSION                                                            \
    } /* C; in C++ set version */

/* Upper bound, in seconds, of histogram bucket i (0..PGPOOL_HIST_BUCKETS-1);
 * the last is +infinity. */
PGPOOL_API double pgpool_hist_bound(int i);

/*
 * Take a consistent snapshot of the pool's statistics into *out, which the
 * caller owns and initialises with PGPOOL_STATS_INIT (a version other than
 * PGPOOL_STATS_VERSION gets the fields of version 1 only). Cannot fail:
 * returns PGPOOL_OK.
 */
PGPOOL_API PGPOOL_NONNULL(1, 2) int pgpool_stats_get(pgpool_stats *out, pgpool *pool);

/*
 * Render a snapshot in the Prometheus text exposition format (metric names
 * pgpool_*, each with a label pool="<label>"; label NULL is "default") into
 * buf: at most size bytes, always NUL-terminated when size > 0. Returns the
 * length the whole text needs, as snprintf does. Pure: no pool needed.
 */
PGPOOL_API PGPOOL_NONNULL(3) size_t
    pgpool_stats_prometheus(char *buf, size_t size, const pgpool_stats *stats, const char *label);

/* ---------------------------------------------------------------- health and advice */

/* Health, as a service's health check reports it. */
typedef struct pgpool_health_info {
    pgpool_health_state state;
    int64_t since_ns;              /* pool clock time when this state began */
    uint32_t consecutive_failures; /* connect failures since the last success */
    char last_error[256];          /* last connect error, password masked; "" if none */
} pgpool_health_info;

/* Fill *out with the pool's health. Cannot fail: returns PGPOOL_OK. */
PGPOOL_API PGPOOL_NONNULL(1, 2) int pgpool_health(pgpool_health_info *out, pgpool *pool);

/*
 * Turn a statistics snapshot into sizing recommendations, one per line,
 * each with its reason and numbers ("raise max_size: 23% of 1000 acquires
 * waited (rule: > 10%)"), or "no change: ..." when no rule fires. The rules
 * are documented in docs/pgpool.md. Writes at most size bytes into buf,
 * always NUL-terminated when size > 0; returns the length the whole text
 * needs. Pure: no pool needed.
 */
PGPOOL_API PGPOOL_NONNULL(3) size_t
    pgpool_advice(char *buf, size_t size, const pgpool_stats *stats);

/* ---------------------------------------------------------------- helpers */

/*
 * Copy a connection string, URI or any text holding one into buf with every
 * password shown as "**********" (password=..., quoted or not, and the
 * password of user:password@ in URIs, also percent-encoded or in ?password=).
 * At most size bytes, always NUL-terminated when size > 0; returns the length
 * the whole masked text needs. text NULL is treated as "".
 */
PGPOOL_API
size_t pgpool_mask_conninfo(char *buf, size_t size, const char *text);

#ifdef __cplusplus
}
#endif

#endif /* PGPOOL_PGPOOL_H */
