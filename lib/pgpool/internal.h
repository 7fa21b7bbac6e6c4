/* Private to libpgpool: the pool's layout and the helpers shared by its files. */
#ifndef PGPOOL_INTERNAL_H
#define PGPOOL_INTERNAL_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include <pgpool/pgpool.h>

#define PGPOOL_HIDDEN __attribute__((visibility("hidden")))

#define NS_PER_MS INT64_C(1000000)
#define NS_PER_S  INT64_C(1000000000)

/* Slot states. */
enum slot_state {
    SLOT_FREE = 0,
    SLOT_CONNECTING, /* owned by the maintenance thread */
    SLOT_IDLE,       /* on the idle list */
    SLOT_IN_USE,     /* borrowed, or reserved for a check by some thread */
};

/* One connection slot; struct pgpool_conn is what callers hold. Slots live
 * in one array allocated with the pool, so a pointer stays valid for the
 * pool's lifetime and nothing is allocated on acquire or release. */
struct pgpool_conn {
    pgpool *pool;
    PGconn *pg;
    int state;
    bool overflow;       /* opened beyond max_size */
    bool leak_reported;  /* this checkout was reported as a leak */
    bool checking;       /* reserved by a check, not borrowed by a caller */
    bool fatal;          /* the server sent FATAL or PANIC: the session is over */
    char fatal_state[6]; /* its SQLSTATE */
    char fatal_msg[128]; /* its primary message */
    int holders;         /* static mode: callers sharing it */
    uint64_t id;         /* serial number: creation order (the generation) */
    int64_t created_ns;
    int64_t expires_ns; /* created + lifetime - jitter; INT64_MAX for never */
    int64_t idle_since_ns;
    int64_t acquired_ns;
    int64_t connect_deadline_ns;
    PostgresPollingStatusType pstat;
    struct pgpool_conn *prev, *next; /* idle list */
};
typedef struct pgpool_conn slot;

/* A waiting acquire, on its caller's stack. */
typedef struct waiter {
    pthread_cond_t cond;
    slot *got;
    bool done; /* got set, or woken for close */
    struct waiter *prev, *next;
} waiter;

/* A queued event or log line, delivered after the lock is dropped. */
#define MSG_LEN   320
#define RING_SIZE 256
typedef struct queued {
    bool is_log;
    pgpool_log_level level;
    pgpool_event ev;
    char msg[MSG_LEN];
} queued;

struct pgpool {
    pgpool_options o;        /* strings point into the owned copies below */
    char *conninfo;          /* owned, wiped at free */
    char **kw, **vals;       /* owned NULL-terminated arrays, wiped at free */
    char *reset_query;       /* owned */
    char *name;              /* owned */
    char *secret;            /* the password, to redact from messages; owned, wiped */
    char masked_target[256]; /* conninfo as shown in messages */

    pthread_mutex_t mu;
    pthread_cond_t drained; /* in_use reached 0 (close) */
    int wake_fd;            /* eventfd that wakes the maintenance thread */
    pthread_t thread;
    bool thread_started;
    bool stopping;
    bool closed;
    bool free_requested;
    bool join_claimed;
    int refs;                 /* 1 for the owner + 1 per borrowed connection + releases in flight */
    pthread_condattr_t cattr; /* CLOCK_MONOTONIC, for every condition variable */
    struct pollfd *pfds;      /* maintenance thread: nslots + 1 */
    slot **pslots;            /* maintenance thread: the slot of each pfds entry */
    PGconn **closebuf;        /* maintenance thread: connections to finish */

    slot *slots;
    int nslots;
    slot *idle_head, *idle_tail;
    waiter *wait_head, *wait_tail;
    int n_idle, n_in_use, n_connecting, n_waiters, n_open_slots;

    uint64_t serial;      /* last id given */
    uint64_t stale_below; /* ids < this are stale (the pool was invalidated) */
    bool warm;            /* min_idle connections were open once */
    pthread_cond_t ready; /* a connection opened or the pool closed (pgpool_wait_ready) */

    /* backoff */
    uint32_t failures;   /* consecutive connect failures */
    bool last_transient; /* the last failure was 57P03 / 53300 */
    int64_t next_connect_ns;
    uint64_t rng;

    /* health */
    pgpool_health_state health;
    int64_t health_since_ns;
    char last_error[256];
    char last_sqlstate[6];

    pgpool_stats st; /* counters; gauges are filled in by pgpool_stats_get() */
    int64_t next_housekeeping_ns;

    /* event / log delivery */
    queued ring[RING_SIZE];
    unsigned ring_head, ring_len;
    bool want_events;
    pthread_mutex_t cb_mu; /* recursive: callbacks in order, one at a time */
};

/* Time: CLOCK_MONOTONIC nanoseconds, or the injected clock. Inline, so that
 * the acquire and release fast paths (one clock read each) call
 * clock_gettime() directly. */
static inline int64_t pool_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static inline int64_t pool_now(pgpool *p)
{
    if (p->o.clock)
        return p->o.clock(p->o.clock_userdata);
    return pool_mono_ns();
}

/* util.c */
PGPOOL_HIDDEN uint64_t pool_random(pgpool *p);
PGPOOL_HIDDEN int64_t pgpool__backoff_ns(int64_t initial_ns, int64_t max_ns, uint32_t attempt,
                                         uint64_t rnd);
PGPOOL_HIDDEN int64_t pgpool__lifetime_ns(int64_t max_ns, int64_t jitter_ns, uint64_t rnd);
PGPOOL_HIDDEN int pgpool__hist_index(int64_t ns);
/* Upper bound of the first histogram bucket (0.1 ms): most waits and many
 * checkouts land in it without a search. */
#define HIST_FIRST_BOUND_NS INT64_C(100000)
static inline void record_hist(uint64_t *hist, int64_t *sum, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    hist[ns <= HIST_FIRST_BOUND_NS ? 0 : pgpool__hist_index(ns)]++;
    *sum += ns;
}

/* mask.c */
PGPOOL_HIDDEN size_t pgpool__redact(char *buf, size_t size, const char *text, const char *secret);
PGPOOL_HIDDEN int pgpool__classify_connect_error(const char *msg); /* 1 = transient */
/* 1 when a connect error says that the server went away or is restarting
 * (refused, no socket, 57P01/57P02/57P03): the connections opened before
 * are invalidated. */
PGPOOL_HIDDEN int pgpool__server_gone(const char *msg, const char *sqlstate);
/* libpq's text made terse: LOCATION: lines dropped, the "SEVERITY:  XXXXX:"
 * SQLSTATE of verbose messages taken out into sqlstate (6 bytes, "" when
 * none), lines joined with "; ", runs of blanks made one space. Returns the
 * length the whole result needs; out is always NUL-terminated (size > 0). */
PGPOOL_HIDDEN size_t pgpool__terse(char *out, size_t size, char *sqlstate, const char *msg);
/* libpq's connection-string parse message with every quoted token that is
 * not a keyword of conninfo (followed there by "=") shown as **********. */
PGPOOL_HIDDEN size_t pgpool__parse_message(char *out, size_t size, const char *msg,
                                           const char *conninfo);

/* events.c: called with mu held; delivered by pool_flush() without it. */
PGPOOL_HIDDEN void pool_event(pgpool *p, pgpool_event_type type, const slot *s, int reason,
                              int64_t duration_ns, const char *msg);
PGPOOL_HIDDEN void pool_log(pgpool *p, pgpool_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
PGPOOL_HIDDEN void pool_flush(pgpool *p); /* call without mu held */
PGPOOL_HIDDEN void pool_set_error(pgpool *p, const char *msg);
PGPOOL_HIDDEN void pool_invalidate_below(pgpool *p, uint64_t id, const char *why);
PGPOOL_HIDDEN void pool_update_health(pgpool *p, int64_t now);

/* pool.c */
PGPOOL_HIDDEN void pool_wake(pgpool *p);
PGPOOL_HIDDEN void pool_make_available(pgpool *p, slot *s, int64_t now);
PGPOOL_HIDDEN void pool_put_back(pgpool *p, slot *s, int64_t now);
PGPOOL_HIDDEN PGconn *pool_remove(pgpool *p, slot *s, pgpool_close_reason reason, int64_t now,
                                  const char *why);
PGPOOL_HIDDEN void idle_unlink(pgpool *p, slot *s);
PGPOOL_HIDDEN bool slot_stale(const pgpool *p, const slot *s);
PGPOOL_HIDDEN void pool_install_notice(slot *s);
PGPOOL_HIDDEN void broken_evidence(pgpool *p, const slot *s);
PGPOOL_HIDDEN bool slot_consume_dead(slot *s, char *err, size_t errsize);
/* 0 done, -1 failed, -2 timed out (pg is then busy: discard it). */
PGPOOL_HIDDEN int pool_query_deadline(pgpool *p, PGconn *pg, const char *sql, int64_t timeout_ns,
                                      char *err, size_t errsize);
PGPOOL_HIDDEN void pool_destroy(pgpool *p);

/* maint.c */
PGPOOL_HIDDEN void *pool_maint_main(void *arg);

#endif /* PGPOOL_INTERNAL_H */
