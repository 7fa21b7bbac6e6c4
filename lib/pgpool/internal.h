/* Private to libpgpool: the pool's layout and the helpers shared by its files. */
#ifndef PGPOOL_INTERNAL_H
#define PGPOOL_INTERNAL_H

#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <libpq-fe.h>

#include <pgpool/pgpool.h>

#define PGPOOL__HIDDEN __attribute__((visibility("hidden")))

#define PGPOOL__NS_PER_MS INT64_C(1000000)
#define PGPOOL__NS_PER_S  INT64_C(1000000000)

/* Slot states. */
enum pgpool__slot_state {
    PGPOOL__SLOT_FREE = 0,
    PGPOOL__SLOT_CONNECTING, /* owned by the maintenance thread */
    PGPOOL__SLOT_IDLE,       /* on the idle list */
    PGPOOL__SLOT_IN_USE,     /* borrowed, or reserved for a check by some thread */
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
typedef struct pgpool_conn pgpool__slot;

/* A waiting acquire, on its caller's stack. */
/* A waiting acquire, on its caller's stack. Whoever sets done (a release
 * handing it a connection, or close) posts sem once, with mu held, so that
 * exactly this waiter wakes, and it need not take mu again: the handing
 * over did its bookkeeping (acquire_account()). */
typedef struct pgpool__waiter {
    sem_t sem;
    pgpool__slot *got;
    atomic_bool done; /* got set, or woken for close: stored last (release), so that a
                         waiter that read it (acquire) sees the bookkeeping */
    bool warmup;      /* began waiting before min_idle was first reached */
    int64_t start_ns; /* the acquire call, pgpool__now() */
    struct pgpool__waiter *prev, *next;
} pgpool__waiter;

/* A queued event or log line, delivered after the lock is dropped. */
#define PGPOOL__MSG_LEN   320
#define PGPOOL__RING_SIZE 256
typedef struct pgpool__queued {
    bool is_log;
    pgpool_log_level level;
    pgpool_event ev;
    char msg[PGPOOL__MSG_LEN];
} pgpool__queued;

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
    pgpool__slot **pslots;    /* maintenance thread: the slot of each pfds entry */
    PGconn **closebuf;        /* maintenance thread: connections to finish */

    pgpool__slot *slots;
    int nslots;
    pgpool__slot *idle_head, *idle_tail;
    pgpool__waiter *wait_head, *wait_tail;
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
    pgpool__queued ring[PGPOOL__RING_SIZE];
    unsigned ring_head, ring_len;
    bool want_events;
    pthread_mutex_t cb_mu; /* recursive: callbacks in order, one at a time */
};

/* Time: CLOCK_MONOTONIC nanoseconds, or the injected clock. */
static inline int64_t pgpool__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * PGPOOL__NS_PER_S + ts.tv_nsec;
}

static inline int64_t pgpool__now(pgpool *p)
{
    if (p->o.clock)
        return p->o.clock(p->o.clock_userdata);
    return pgpool__mono_ns();
}

/*
 * The time stamps of a checkout (acquired_ns, idle_since_ns) and the checks
 * made from them on the fast paths of acquire and release: CLOCK_MONOTONIC
 * _COARSE, or the injected clock. A millisecond is enough there: they are
 * compared with options in milliseconds (alive_bypass, validate_after_idle,
 * max_lifetime, idle_timeout, leak_threshold), and the checkout time of the
 * usage histogram is exact on average (a checkout of d ns crosses a tick
 * with probability d / tick). The coarse clock lags CLOCK_MONOTONIC by at
 * most one tick (1-4 ms), so it never makes an idle connection look younger
 * than it is by more than that. It costs a few ns where CLOCK_MONOTONIC
 * costs 20-30 ns (rdtsc in the vDSO): two of those were almost half of an
 * uncontended acquire+release. Deadlines and waits use pgpool__now().
 */
static inline int64_t pgpool__coarse_now(pgpool *p)
{
    if (p->o.clock)
        return p->o.clock(p->o.clock_userdata);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * PGPOOL__NS_PER_S + ts.tv_nsec;
}

/* util.c */
PGPOOL__HIDDEN uint64_t pgpool__random(pgpool *p);
PGPOOL__HIDDEN int64_t pgpool__backoff_ns(int64_t initial_ns, int64_t max_ns, uint32_t attempt,
                                          uint64_t rnd);
PGPOOL__HIDDEN int64_t pgpool__lifetime_ns(int64_t max_ns, int64_t jitter_ns, uint64_t rnd);
PGPOOL__HIDDEN int pgpool__hist_index(int64_t ns);
/* Upper bound of the first histogram bucket (0.1 ms): most waits and many
 * checkouts land in it without a search. */
#define PGPOOL__HIST_FIRST_BOUND_NS INT64_C(100000)
static inline void pgpool__record_hist(uint64_t *hist, int64_t *sum, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    hist[ns <= PGPOOL__HIST_FIRST_BOUND_NS ? 0 : pgpool__hist_index(ns)]++;
    *sum += ns;
}

/* mask.c */
PGPOOL__HIDDEN size_t pgpool__redact(char *buf, size_t size, const char *text, const char *secret);
PGPOOL__HIDDEN int pgpool__classify_connect_error(const char *msg); /* 1 = transient */
/* 1 when a connect error says that the server went away or is restarting
 * (refused, no socket, 57P01/57P02/57P03): the connections opened before
 * are invalidated. */
PGPOOL__HIDDEN int pgpool__server_gone(const char *msg, const char *sqlstate);
/* libpq's text made terse: LOCATION: lines dropped, the "SEVERITY:  XXXXX:"
 * SQLSTATE of verbose messages taken out into sqlstate (6 bytes, "" when
 * none), lines joined with "; ", runs of blanks made one space. Returns the
 * length the whole result needs; out is always NUL-terminated (size > 0). */
PGPOOL__HIDDEN size_t pgpool__terse(char *out, size_t size, char *sqlstate, const char *msg);
/* libpq's connection-string parse message with every quoted token that is
 * not a keyword of conninfo (followed there by "=") shown as **********. */
PGPOOL__HIDDEN size_t pgpool__parse_message(char *out, size_t size, const char *msg,
                                            const char *conninfo);

/* events.c: called with mu held; delivered by pgpool__flush() without it. */
PGPOOL__HIDDEN void pgpool__event(pgpool *p, pgpool_event_type type, const pgpool__slot *s,
                                  int reason, int64_t duration_ns, const char *msg);
PGPOOL__HIDDEN void pgpool__log(pgpool *p, pgpool_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
PGPOOL__HIDDEN void pgpool__flush(pgpool *p); /* call without mu held */
PGPOOL__HIDDEN void pgpool__set_error(pgpool *p, const char *msg);
PGPOOL__HIDDEN void pgpool__invalidate_below(pgpool *p, uint64_t id, const char *why);
PGPOOL__HIDDEN void pgpool__update_health(pgpool *p, int64_t now);

/* pool.c */
PGPOOL__HIDDEN void pgpool__wake(pgpool *p);
PGPOOL__HIDDEN void pgpool__make_available(pgpool *p, pgpool__slot *s, int64_t now);
PGPOOL__HIDDEN void pgpool__put_back(pgpool *p, pgpool__slot *s, int64_t now);
PGPOOL__HIDDEN PGconn *pgpool__remove(pgpool *p, pgpool__slot *s, pgpool_close_reason reason,
                                      int64_t now, const char *why);
PGPOOL__HIDDEN void pgpool__idle_unlink(pgpool *p, pgpool__slot *s);
PGPOOL__HIDDEN bool pgpool__slot_stale(const pgpool *p, const pgpool__slot *s);
PGPOOL__HIDDEN void pgpool__install_notice(pgpool__slot *s);
PGPOOL__HIDDEN void pgpool__broken_evidence(pgpool *p, const pgpool__slot *s);
PGPOOL__HIDDEN bool pgpool__slot_consume_dead(pgpool__slot *s, char *err, size_t errsize);
/* 0 done, -1 failed, -2 timed out (pg is then busy: discard it). */
PGPOOL__HIDDEN int pgpool__query_deadline(pgpool *p, PGconn *pg, const char *sql,
                                          int64_t timeout_ns, char *err, size_t errsize);
PGPOOL__HIDDEN void pgpool__destroy(pgpool *p);

/* maint.c */
PGPOOL__HIDDEN void *pgpool__maint_main(void *arg);

#endif /* PGPOOL_INTERNAL_H */
