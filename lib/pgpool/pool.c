/*
 * The pool: creation, acquire with FIFO waiters and absolute deadlines,
 * release rules, close, free, fork. Connects happen in maint.c only.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "internal.h"

/* ------------------------------------------------------------ small helpers */

static void wipe_free(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

void pool_wake(pgpool *p)
{
    uint64_t one = 1;
    ssize_t r = write(p->wake_fd, &one, sizeof one);
    (void)r; /* a full counter wakes the thread just as well */
}

/* Absolute CLOCK_MONOTONIC time for a wait of rel_ns from now. With an
 * injected clock the wait is cut to 10 ms of real time, so that a test that
 * advances its clock is noticed soon. */
static struct timespec wait_until(pgpool *p, int64_t rel_ns)
{
    if (rel_ns < 0)
        rel_ns = 0;
    if (p->o.clock && rel_ns > 10 * NS_PER_MS)
        rel_ns = 10 * NS_PER_MS;
    if (rel_ns > 3600 * NS_PER_S)
        rel_ns = 3600 * NS_PER_S;
    int64_t t = pool_mono_ns() + rel_ns;
    struct timespec ts = { (time_t)(t / NS_PER_S), (long)(t % NS_PER_S) };
    return ts;
}

bool slot_stale(const pgpool *p, const slot *s)
{
    return s->id < p->stale_below;
}

/* A connection was found dead: every connection older than it was opened
 * before whatever killed it (a server restart, most likely) and is stale. */
void pool_mark_broken(pgpool *p, const slot *s)
{
    if (s->id > p->stale_below) {
        p->stale_below = s->id;
        pool_log(p, PGPOOL_LOG_DEBUG, "connection %llu found dead: connections 1..%llu are stale",
                 (unsigned long long)s->id, (unsigned long long)(s->id - 1));
    }
}

void idle_unlink(pgpool *p, slot *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        p->idle_head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    else
        p->idle_tail = s->prev;
    s->prev = s->next = NULL;
    p->n_idle--;
}

static void idle_push(pgpool *p, slot *s)
{
    if (p->o.reuse == PGPOOL_REUSE_FIFO) { /* take from the head, add at the tail */
        s->next = NULL;
        s->prev = p->idle_tail;
        if (p->idle_tail)
            p->idle_tail->next = s;
        else
            p->idle_head = s;
        p->idle_tail = s;
    } else { /* LIFO: add at the head */
        s->prev = NULL;
        s->next = p->idle_head;
        if (p->idle_head)
            p->idle_head->prev = s;
        else
            p->idle_tail = s;
        p->idle_head = s;
    }
    p->n_idle++;
}

static void waiter_unlink(pgpool *p, waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        p->wait_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        p->wait_tail = w->prev;
    w->prev = w->next = NULL;
    p->n_waiters--;
}

/*
 * s is open and counted in n_in_use, not on the idle list: give it to the
 * first waiter (FIFO; in static mode to every waiter), or put it on the idle
 * list. Called with mu held.
 */
void pool_make_available(pgpool *p, slot *s, int64_t now)
{
    if (p->wait_head) {
        s->acquired_ns = now;
        s->leak_reported = false;
        s->holders = 0;
        do {
            waiter *w = p->wait_head;
            waiter_unlink(p, w);
            w->got = s;
            w->done = true;
            s->holders++;
            pthread_cond_signal(&w->cond);
        } while (p->o.static_mode && p->wait_head);
        return;
    }
    s->state = SLOT_IDLE;
    s->holders = 0;
    s->idle_since_ns = now;
    p->n_in_use--;
    idle_push(p, s);
}

/*
 * Take s out of the pool and count its closing. Returns its PGconn for the
 * caller to PQfinish() after dropping mu. Called with mu held.
 */
PGconn *pool_remove(pgpool *p, slot *s, pgpool_close_reason reason, int64_t now, const char *why)
{
    switch (s->state) {
    case SLOT_IDLE:
        idle_unlink(p, s);
        break;
    case SLOT_IN_USE:
        p->n_in_use--;
        break;
    case SLOT_CONNECTING:
        p->n_connecting--;
        break;
    default:
        break;
    }
    PGconn *pg = s->pg;
    if (s->state != SLOT_CONNECTING) {
        p->st.closed[reason]++;
        char msg[200];
        snprintf(msg, sizeof msg, "connection %llu closed: %s%s%s", (unsigned long long)s->id,
                 pgpool_close_reason_name((int)reason), why ? ": " : "", why ? why : "");
        pool_event(p, PGPOOL_EVENT_CLOSE, s, (int)reason, now - s->created_ns, msg);
        pool_log(p, reason == PGPOOL_CLOSE_BROKEN ? PGPOOL_LOG_INFO : PGPOOL_LOG_DEBUG, "%s", msg);
    }
    s->pg = NULL;
    s->state = SLOT_FREE;
    s->holders = 0;
    s->checking = false;
    p->n_open_slots--;
    if (p->closed && p->n_in_use == 0)
        pthread_cond_broadcast(&p->drained);
    pool_update_health(p, now);
    return pg;
}

/* Run sql on pg within timeout_ns (pool clock). 0 on success; -1 with a
 * message in err otherwise (pg may then be busy: discard it). */
int pool_query_deadline(pgpool *p, PGconn *pg, const char *sql, int64_t timeout_ns, char *err,
                        size_t errsize)
{
    int64_t deadline = pool_now(p) + timeout_ns;
    err[0] = '\0';
    if (!PQsendQuery(pg, sql)) {
        snprintf(err, errsize, "%s", PQerrorMessage(pg));
        return -1;
    }
    while (PQflush(pg) == 1) {
        struct pollfd pfd = { PQsocket(pg), POLLOUT, 0 };
        int64_t now = pool_now(p);
        if (now >= deadline) {
            snprintf(err, errsize, "%s timed out", *sql ? sql : "validation query");
            return -1;
        }
        (void)poll(&pfd, 1, 50);
    }
    int failed = 0;
    for (;;) {
        while (PQisBusy(pg)) {
            int64_t now = pool_now(p);
            if (now >= deadline) {
                snprintf(err, errsize, "%s timed out after %lld ms",
                         *sql ? sql : "validation query", (long long)(timeout_ns / NS_PER_MS));
                return -1;
            }
            int64_t ms = (deadline - now + NS_PER_MS - 1) / NS_PER_MS;
            if (p->o.clock && ms > 10)
                ms = 10;
            if (ms > 1000)
                ms = 1000;
            struct pollfd pfd = { PQsocket(pg), POLLIN, 0 };
            int r = poll(&pfd, 1, (int)ms);
            if (r < 0 && errno != EINTR) {
                snprintf(err, errsize, "poll: %s", strerror(errno));
                return -1;
            }
            if (r > 0 && !PQconsumeInput(pg)) {
                snprintf(err, errsize, "%s", PQerrorMessage(pg));
                return -1;
            }
        }
        PGresult *res = PQgetResult(pg);
        if (!res)
            break;
        ExecStatusType st = PQresultStatus(res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
            if (!failed)
                snprintf(err, errsize, "%s", PQresultErrorMessage(res));
            failed = 1;
        }
        PQclear(res);
    }
    if (!failed && PQstatus(pg) != CONNECTION_OK) {
        snprintf(err, errsize, "%s", PQerrorMessage(pg));
        failed = 1;
    }
    return failed ? -1 : 0;
}

/* ------------------------------------------------------------ creation */

static void notice_to_log(void *arg, const char *message)
{
    pgpool *p = arg;
    if (!p->o.log || p->o.log_level > PGPOOL_LOG_DEBUG)
        return;
    pthread_mutex_lock(&p->mu);
    pool_log(p, PGPOOL_LOG_DEBUG, "server notice: %s", message);
    pthread_mutex_unlock(&p->mu);
}

/* Exposed to maint.c through this tiny wrapper (it sets the processor on
 * every new connection, so that libpq never prints to stderr). */
void pool_install_notice(pgpool *p, PGconn *pg);
void pool_install_notice(pgpool *p, PGconn *pg)
{
    PQsetNoticeProcessor(pg, notice_to_log, p);
}

static int validate_options(const pgpool_options *o)
{
    if (o->version < 1)
        return PGPOOL_EINVAL;
    if (o->max_size < 1 || o->max_size > 10000 || o->min_idle < 0 || o->min_idle > o->max_size ||
        o->max_overflow < 0 || o->max_overflow > 10000 || o->max_connecting < 1)
        return PGPOOL_EINVAL;
    if (o->acquire_timeout_ms < 0 || o->connect_timeout_ms <= 0 || o->max_lifetime_ms < 0 ||
        o->max_lifetime_jitter_ms < 0 || o->idle_timeout_ms < 0 || o->validate_after_idle_ms < -1 ||
        o->validation_timeout_ms <= 0 || o->rollback_timeout_ms <= 0 || o->backoff_initial_ms < 0 ||
        o->backoff_max_ms < o->backoff_initial_ms || o->leak_threshold_ms < 0 ||
        o->health_check_period_ms <= 0)
        return PGPOOL_EINVAL;
    if (o->max_lifetime_ms > 0 && o->max_lifetime_jitter_ms > o->max_lifetime_ms)
        return PGPOOL_EINVAL;
    if ((unsigned)o->reuse > PGPOOL_REUSE_FIFO || (unsigned)o->reset > PGPOOL_RESET_ALWAYS)
        return PGPOOL_EINVAL;
    if ((unsigned)o->log_level > PGPOOL_LOG_ERROR)
        return PGPOOL_EINVAL;
    if (o->keywords && !o->values)
        return PGPOOL_EINVAL;
    /* durations are kept in ns: keep them far from overflow */
    const int64_t lim = INT64_C(1) << 40;
    if (o->acquire_timeout_ms > lim || o->connect_timeout_ms > lim || o->max_lifetime_ms > lim ||
        o->idle_timeout_ms > lim || o->validate_after_idle_ms > lim ||
        o->validation_timeout_ms > lim || o->rollback_timeout_ms > lim || o->backoff_max_ms > lim ||
        o->leak_threshold_ms > lim || o->health_check_period_ms > lim)
        return PGPOOL_EINVAL;
    return PGPOOL_OK;
}

/* The password in a connection string or URI, or NULL. */
static char *password_of(const char *conninfo, bool *bad, bool *oom)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
    if (!opts) {
        if (errmsg)
            PQfreemem(errmsg);
        else
            *oom = true;
        *bad = true;
        return NULL;
    }
    char *pw = NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
            pw = dup_or_null(o->val, oom);
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (o->val)
            explicit_bzero(o->val, strlen(o->val));
    PQconninfoFree(opts);
    return pw;
}

static bool looks_like_conninfo(const char *s)
{
    return strchr(s, '=') || strncmp(s, "postgresql://", 13) == 0 ||
           strncmp(s, "postgres://", 11) == 0;
}

static int copy_target(pgpool *p, const pgpool_options *o)
{
    bool oom = false, bad = false;
    size_t n = 0;
    if (o->conninfo) {
        p->conninfo = dup_or_null(o->conninfo, &oom);
        p->secret = password_of(o->conninfo, &bad, &oom);
        n = 1;
    } else if (o->keywords) {
        while (o->keywords[n])
            n++;
    }
    p->kw = calloc(n + 2, sizeof *p->kw);
    p->vals = calloc(n + 2, sizeof *p->vals);
    if (!p->kw || !p->vals || oom)
        return PGPOOL_ENOMEM;
    if (bad)
        return PGPOOL_EINVAL;
    size_t k = 0;
    char shown[256] = "";
    size_t shown_len = 0;
    if (o->conninfo) {
        p->kw[k] = dup_or_null("dbname", &oom);
        p->vals[k++] = dup_or_null(o->conninfo, &oom);
        pgpool_mask_conninfo(shown, sizeof shown, o->conninfo);
    } else {
        for (size_t i = 0; i < n; i++) {
            const char *v = o->values[i] ? o->values[i] : "";
            p->kw[k] = dup_or_null(o->keywords[i], &oom);
            p->vals[k++] = dup_or_null(v, &oom);
            bool is_pw = strcmp(o->keywords[i], "password") == 0;
            if (is_pw && *v && !p->secret)
                p->secret = dup_or_null(v, &oom);
            if (strcmp(o->keywords[i], "dbname") == 0 && looks_like_conninfo(v) && !p->secret)
                p->secret = password_of(v, &bad, &oom);
            if (shown_len < sizeof shown) {
                char masked[200];
                pgpool_mask_conninfo(masked, sizeof masked, v);
                int w =
                    snprintf(shown + shown_len, sizeof shown - shown_len, "%s%s=%s",
                             shown_len ? " " : "", o->keywords[i], is_pw ? "**********" : masked);
                if (w > 0)
                    shown_len += (size_t)w;
            }
        }
        if (bad)
            return PGPOOL_EINVAL;
    }
    p->kw[k] = dup_or_null("fallback_application_name", &oom);
    p->vals[k++] = dup_or_null("libpgpool", &oom);
    if (oom)
        return PGPOOL_ENOMEM;
    snprintf(p->masked_target, sizeof p->masked_target, "%s",
             shown[0] ? shown : "(libpq defaults)");
    return PGPOOL_OK;
}

/* What a pool owns besides its connections and locks: wiped where it may
 * hold a secret. */
static void free_memory(pgpool *p)
{
    if (p->kw)
        for (size_t i = 0; p->kw[i]; i++) {
            wipe_free(p->kw[i]);
            wipe_free(p->vals[i]);
        }
    free(p->kw);
    free(p->vals);
    wipe_free(p->conninfo);
    wipe_free(p->secret);
    free(p->reset_query);
    free(p->name);
    free(p->slots);
    free(p->pfds);
    free(p->pslots);
    free(p->closebuf);
    if (p->wake_fd >= 0)
        close(p->wake_fd);
}

void pool_destroy(pgpool *p)
{
    for (int i = 0; i < p->nslots; i++)
        if (p->slots && p->slots[i].pg)
            PQfinish(p->slots[i].pg);
    free_memory(p);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->cb_mu);
    pthread_cond_destroy(&p->drained);
    pthread_condattr_destroy(&p->cattr);
    free(p);
}

int pgpool_new(pgpool **out, const pgpool_options *opts)
{
    *out = NULL;
    pgpool_options defaults = PGPOOL_OPTIONS_INIT;
    const pgpool_options *o = opts ? opts : &defaults;
    int rc = validate_options(o);
    if (rc != PGPOOL_OK)
        return rc;
    pgpool *p = calloc(1, sizeof *p);
    if (!p)
        return PGPOOL_ENOMEM;
    p->o = *o;
    p->wake_fd = -1;
    if (p->o.static_mode) {
        p->o.max_size = 1;
        p->o.min_idle = 1;
        p->o.max_overflow = 0;
        p->o.max_lifetime_ms = 0;
        p->o.idle_timeout_ms = 0;
    }
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&p->cb_mu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&p->cattr);
    pthread_condattr_setclock(&p->cattr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->drained, &p->cattr);

    bool oom = false;
    p->reset_query = dup_or_null(o->reset_query ? o->reset_query : "DISCARD ALL", &oom);
    p->name = dup_or_null(o->name ? o->name : "default", &oom);
    p->o.reset_query = p->reset_query;
    p->o.name = p->name;
    p->o.conninfo = NULL;
    p->o.keywords = NULL;
    p->o.values = NULL;
    p->nslots = p->o.max_size + p->o.max_overflow;
    p->slots = calloc((size_t)p->nslots, sizeof *p->slots);
    p->pfds = calloc((size_t)p->nslots + 1, sizeof *p->pfds);
    p->pslots = calloc((size_t)p->nslots + 1, sizeof *p->pslots);
    p->closebuf = calloc((size_t)p->nslots + 1, sizeof *p->closebuf);
    rc = oom || !p->slots || !p->pfds || !p->pslots || !p->closebuf ? PGPOOL_ENOMEM
                                                                    : copy_target(p, o);
    if (rc != PGPOOL_OK) {
        pool_destroy(p);
        return rc;
    }
    for (int i = 0; i < p->nslots; i++)
        p->slots[i].pool = p;
    p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->wake_fd < 0) {
        pool_destroy(p);
        return PGPOOL_ESYSTEM;
    }
    p->refs = 1;
    p->rng = (uint64_t)pool_mono_ns() ^ (uint64_t)(uintptr_t)p ^ UINT64_C(0x9e3779b97f4a7c15);
    if (p->rng == 0)
        p->rng = 1;
    p->health = PGPOOL_UP;
    p->health_since_ns = pool_now(p);
    p->next_housekeeping_ns = p->health_since_ns;

    /* The maintenance thread takes no signals: they belong to the application. */
    sigset_t all, old;
    sigfillset(&all);
    p->thread_started = true; /* before the thread reads its neighbours */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&p->thread, NULL, pool_maint_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        pool_destroy(p);
        return PGPOOL_ESYSTEM;
    }
    pthread_mutex_lock(&p->mu);
    pool_log(p, PGPOOL_LOG_INFO, "pool %s: open, %s, min_idle %d, max_size %d, max_overflow %d",
             p->name, p->masked_target, p->o.min_idle, p->o.max_size, p->o.max_overflow);
    pthread_mutex_unlock(&p->mu);
    pool_flush(p);
    *out = p;
    return PGPOOL_OK;
}

/* ------------------------------------------------------------ acquire */

static inline void record_hist(uint64_t *hist, int64_t *sum, int64_t ns)
{
    if (ns < 0)
        ns = 0;
    hist[ns <= HIST_FIRST_BOUND_NS ? 0 : pgpool__hist_index(ns)]++;
    *sum += ns;
}

/* Drop s (already unlinked / counted in use) and let mu go while its PGconn
 * is finished; the maintenance thread is told to refill. */
static void drop_unlocked(pgpool *p, slot *s, pgpool_close_reason reason, int64_t now,
                          const char *why)
{
    PGconn *pg = pool_remove(p, s, reason, now, why);
    pthread_mutex_unlock(&p->mu);
    if (pg)
        PQfinish(pg);
    pool_wake(p);
    pthread_mutex_lock(&p->mu);
}

int pgpool_acquire(pgpool_conn **out, pgpool *p, int timeout_ms)
{
    *out = NULL;
    int64_t tmo =
        timeout_ms < 0 ? p->o.acquire_timeout_ms * NS_PER_MS : (int64_t)timeout_ms * NS_PER_MS;
    pthread_mutex_lock(&p->mu);
    int64_t start = pool_now(p), now = start, deadline = start + tmo;
    bool waited = false;
    slot *got = NULL;
    int rc = PGPOOL_OK;
    for (;;) {
        if (p->closed) {
            rc = PGPOOL_ECLOSED;
            break;
        }
        if (p->o.static_mode) {
            slot *s = &p->slots[0];
            if (s->state == SLOT_IN_USE && s->holders > 0 && !s->checking &&
                PQstatus(s->pg) == CONNECTION_OK) {
                s->holders++;
                got = s;
                break;
            }
        }
        if (!p->wait_head && p->idle_head) {
            slot *s = p->idle_head;
            idle_unlink(p, s);
            s->state = SLOT_IN_USE;
            p->n_in_use++;
            if (slot_stale(p, s)) {
                drop_unlocked(p, s, PGPOOL_CLOSE_STALE, now, NULL);
                now = pool_now(p);
                continue;
            }
            if (now >= s->expires_ns) {
                drop_unlocked(p, s, PGPOOL_CLOSE_LIFETIME, now, NULL);
                now = pool_now(p);
                continue;
            }
            if (PQstatus(s->pg) != CONNECTION_OK) {
                pool_mark_broken(p, s);
                drop_unlocked(p, s, PGPOOL_CLOSE_BROKEN, now, NULL);
                now = pool_now(p);
                continue;
            }
            if (p->o.validate_after_idle_ms >= 0 &&
                now - s->idle_since_ns >= p->o.validate_after_idle_ms * NS_PER_MS) {
                s->checking = true;
                p->st.validations++;
                pthread_mutex_unlock(&p->mu);
                char err[256];
                int vr = pool_query_deadline(p, s->pg, "", p->o.validation_timeout_ms * NS_PER_MS,
                                             err, sizeof err);
                pthread_mutex_lock(&p->mu);
                s->checking = false;
                now = pool_now(p);
                if (vr != 0) {
                    pool_set_error(p, err);
                    char msg[300];
                    snprintf(msg, sizeof msg, "connection %llu failed validation: %s",
                             (unsigned long long)s->id, p->last_error);
                    pool_event(p, PGPOOL_EVENT_VALIDATION_FAILED, s, 0, 0, msg);
                    pool_log(p, PGPOOL_LOG_WARN, "%s", msg);
                    pool_mark_broken(p, s);
                    drop_unlocked(p, s, PGPOOL_CLOSE_VALIDATION, now, NULL);
                    now = pool_now(p);
                    continue;
                }
                if (p->closed) {
                    drop_unlocked(p, s, PGPOOL_CLOSE_CLOSED, now, NULL);
                    continue;
                }
            }
            s->holders = 1;
            got = s;
            break;
        }
        /* Nothing idle (or others wait first): queue up. */
        if (p->o.fail_fast && p->failures > 0 && !p->last_transient) {
            rc = PGPOOL_ECONNECT;
            break;
        }
        if (now >= deadline) {
            rc = p->failures > 0 ? PGPOOL_ECONNECT : PGPOOL_ETIMEDOUT;
            break;
        }
        waiter w;
        memset(&w, 0, sizeof w);
        pthread_cond_init(&w.cond, &p->cattr);
        w.prev = p->wait_tail;
        if (p->wait_tail)
            p->wait_tail->next = &w;
        else
            p->wait_head = &w;
        p->wait_tail = &w;
        p->n_waiters++;
        waited = true;
        pool_wake(p); /* a connect may be needed */
        while (!w.done && now < deadline) {
            struct timespec ts = wait_until(p, deadline - now);
            pthread_cond_timedwait(&w.cond, &p->mu, &ts);
            now = pool_now(p);
        }
        if (!w.done)
            waiter_unlink(p, &w);
        pthread_cond_destroy(&w.cond);
        if (w.got) {
            got = w.got;
            break;
        }
        if (!w.done) { /* the deadline passed */
            rc = p->failures > 0 ? PGPOOL_ECONNECT : PGPOOL_ETIMEDOUT;
            break;
        }
        /* woken by close: loop to report it */
    }
    if (got) {
        got->acquired_ns = now;
        if (got->holders <= 1)
            got->leak_reported = false;
        p->refs++;
        p->st.acquires++;
        if (waited)
            p->st.waits++;
        if (p->n_in_use > p->o.max_size)
            p->st.overflow_acquires++;
        record_hist(p->st.wait_hist, &p->st.wait_sum_ns, now - start);
        if (p->o.on_event || p->o.log) {
            char msg[96];
            snprintf(msg, sizeof msg, "acquire: connection %llu after %lld us",
                     (unsigned long long)got->id, (long long)((now - start) / 1000));
            pool_event(p, PGPOOL_EVENT_ACQUIRE, got, 0, now - start, msg);
            pool_log(p, PGPOOL_LOG_TRACE, "%s", msg);
        }
    } else if (rc == PGPOOL_ETIMEDOUT) {
        p->st.timeouts++;
        pool_log(p, PGPOOL_LOG_DEBUG, "acquire timed out after %lld ms (pool exhausted)",
                 (long long)((now - start) / NS_PER_MS));
    } else if (rc == PGPOOL_ECONNECT) {
        p->st.connect_errors++;
        pool_log(p, PGPOOL_LOG_DEBUG, "acquire failed after %lld ms: %s",
                 (long long)((now - start) / NS_PER_MS), p->last_error);
    }
    bool callbacks = p->o.on_event || p->o.log;
    pthread_mutex_unlock(&p->mu);
    if (callbacks)
        pool_flush(p);
    *out = got;
    return rc;
}

PGconn *pgpool_conn_pg(pgpool_conn *c)
{
    return c->pg;
}

uint64_t pgpool_conn_id(const pgpool_conn *c)
{
    return c->id;
}

/* ------------------------------------------------------------ release */

static void unref(pgpool *p)
{
    pthread_mutex_lock(&p->mu);
    bool destroy = --p->refs == 0;
    pthread_mutex_unlock(&p->mu);
    if (destroy)
        pool_destroy(p);
}

static void release_impl(slot *s, bool discard)
{
    pgpool *p = s->pool;
    if (p->o.static_mode) {
        pthread_mutex_lock(&p->mu);
        if (s->holders > 1) {
            s->holders--;
            bool destroy = --p->refs == 0;
            pthread_mutex_unlock(&p->mu);
            if (destroy)
                pool_destroy(p);
            return;
        }
        pthread_mutex_unlock(&p->mu);
    }
    PGconn *pg = s->pg;
    int reason = -1, txn = 0;
    bool rolled_back = false, reset = false;
    char err[256]; /* not zero-filled: 256 bytes of stores on every release */
    err[0] = '\0';
    ConnStatusType cs = PQstatus(pg);
    if (discard) {
        reason = cs == CONNECTION_OK ? PGPOOL_CLOSE_DISCARDED : PGPOOL_CLOSE_BROKEN;
    } else if (cs != CONNECTION_OK) {
        reason = PGPOOL_CLOSE_BROKEN;
    } else if (PQpipelineStatus(pg) != PQ_PIPELINE_OFF) {
        reason = PGPOOL_CLOSE_BUSY;
    } else {
        switch (PQtransactionStatus(pg)) {
        case PQTRANS_IDLE:
            break;
        case PQTRANS_INTRANS:
            txn = 1;
            break;
        case PQTRANS_INERROR:
            txn = 2;
            break;
        case PQTRANS_ACTIVE:
            reason = PGPOOL_CLOSE_BUSY;
            break;
        default:
            reason = PGPOOL_CLOSE_BROKEN;
            break;
        }
        if (reason < 0 && PQisnonblocking(pg))
            (void)PQsetnonblocking(pg, 0);
        if (reason < 0 && txn) {
            rolled_back = true;
            if (pool_query_deadline(p, pg, "ROLLBACK", p->o.rollback_timeout_ms * NS_PER_MS, err,
                                    sizeof err) != 0 ||
                PQtransactionStatus(pg) != PQTRANS_IDLE)
                reason = PGPOOL_CLOSE_RESET_FAILED;
        }
        if (reason < 0 &&
            (p->o.reset == PGPOOL_RESET_ALWAYS || (p->o.reset == PGPOOL_RESET_DIRTY && txn))) {
            reset = true;
            if (pool_query_deadline(p, pg, p->reset_query, p->o.rollback_timeout_ms * NS_PER_MS,
                                    err, sizeof err) != 0)
                reason = PGPOOL_CLOSE_RESET_FAILED;
            else if (p->o.on_connect && p->o.on_connect(pg, p->o.on_connect_userdata) != 0) {
                snprintf(err, sizeof err, "on_connect hook failed after the reset statement");
                reason = PGPOOL_CLOSE_RESET_FAILED;
            }
        }
    }

    pthread_mutex_lock(&p->mu);
    int64_t now = pool_now(p);
    int64_t held = now - s->acquired_ns;
    record_hist(p->st.usage_hist, &p->st.usage_sum_ns, held);
    p->st.usage_count++;
    if (txn == 0)
        p->st.returned_idle++;
    else if (txn == 1)
        p->st.returned_in_txn++;
    else
        p->st.returned_failed++;
    if (rolled_back)
        p->st.rollbacks++;
    if (reset)
        p->st.resets++;
    if (p->o.on_event || p->o.log) {
        char msg[128];
        snprintf(msg, sizeof msg, "release: connection %llu after %lld us%s",
                 (unsigned long long)s->id, (long long)(held / 1000),
                 txn == 1   ? ", rolled back an open transaction"
                 : txn == 2 ? ", rolled back a failed transaction"
                            : "");
        pool_event(p, PGPOOL_EVENT_RELEASE, s, 0, held, msg);
        pool_log(p, PGPOOL_LOG_TRACE, "%s", msg);
    }
    if (reason == PGPOOL_CLOSE_RESET_FAILED)
        pool_set_error(p, err);
    if (reason < 0) {
        if (p->closed)
            reason = PGPOOL_CLOSE_CLOSED;
        else if (slot_stale(p, s))
            reason = PGPOOL_CLOSE_STALE;
        else if (now >= s->expires_ns)
            reason = PGPOOL_CLOSE_LIFETIME;
        else if (p->n_open_slots > p->o.max_size && !p->wait_head)
            reason = PGPOOL_CLOSE_OVERFLOW;
    }
    PGconn *to_close = NULL;
    if (reason >= 0) {
        if (reason == PGPOOL_CLOSE_BROKEN)
            pool_mark_broken(p, s);
        to_close = pool_remove(p, s, (pgpool_close_reason)reason, now,
                               reason == PGPOOL_CLOSE_RESET_FAILED ? p->last_error : NULL);
    } else {
        pool_make_available(p, s, now);
    }
    bool slow = to_close || p->o.on_event || p->o.log;
    bool destroy = false;
    if (!slow)
        destroy = --p->refs == 0;
    bool closed = p->closed;
    pthread_mutex_unlock(&p->mu);
    if (!slow) {
        if (destroy)
            pool_destroy(p);
        return;
    }
    if (to_close) {
        PQfinish(to_close);
        if (!closed)
            pool_wake(p);
    }
    pool_flush(p);
    unref(p);
}

void pgpool_release(pgpool_conn *c)
{
    if (c)
        release_impl(c, false);
}

void pgpool_discard(pgpool_conn *c)
{
    if (c)
        release_impl(c, true);
}

/* ------------------------------------------------------------ close, free, fork */

static int close_impl(pgpool *p, int timeout_ms, bool shut_down_late)
{
    pthread_mutex_lock(&p->mu);
    int64_t start = pool_mono_ns();
    bool first = !p->closed;
    if (first) {
        p->closed = true;
        p->stopping = true;
        for (waiter *w = p->wait_head; w; w = w->next) {
            w->done = true;
            pthread_cond_signal(&w->cond);
        }
        pool_log(p, PGPOOL_LOG_INFO, "pool %s: closing, %d connection(s) borrowed", p->name,
                 p->n_in_use);
    }
    /* Waiters unlink themselves; wake them all now. */
    while (p->wait_head)
        waiter_unlink(p, p->wait_head);
    bool join = p->thread_started && !p->join_claimed;
    p->join_claimed = true;
    pthread_mutex_unlock(&p->mu);
    if (join) {
        pool_wake(p);
        pthread_join(p->thread, NULL);
    }
    /* Idle connections close now. */
    for (;;) {
        pthread_mutex_lock(&p->mu);
        slot *s = p->idle_head;
        PGconn *pg = s ? pool_remove(p, s, PGPOOL_CLOSE_CLOSED, pool_now(p), NULL) : NULL;
        pthread_mutex_unlock(&p->mu);
        if (!s)
            break;
        if (pg)
            PQfinish(pg);
    }
    pthread_mutex_lock(&p->mu);
    int rc = PGPOOL_OK;
    while (p->n_in_use > 0) {
        int64_t left =
            timeout_ms < 0 ? NS_PER_S : start + (int64_t)timeout_ms * NS_PER_MS - pool_mono_ns();
        if (left <= 0) {
            rc = PGPOOL_ETIMEDOUT;
            if (shut_down_late) {
                for (int i = 0; i < p->nslots; i++) {
                    slot *s = &p->slots[i];
                    if (s->state == SLOT_IN_USE && s->pg && PQsocket(s->pg) >= 0)
                        shutdown(PQsocket(s->pg), SHUT_RDWR);
                }
                pool_log(p, PGPOOL_LOG_WARN,
                         "pool %s: %d connection(s) still borrowed at the close deadline: "
                         "their sockets were shut down",
                         p->name, p->n_in_use);
            }
            break;
        }
        int64_t t = pool_mono_ns() + left;
        struct timespec ts = { (time_t)(t / NS_PER_S), (long)(t % NS_PER_S) };
        pthread_cond_timedwait(&p->drained, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    pool_flush(p);
    return rc;
}

int pgpool_close(pgpool *p, int timeout_ms)
{
    pthread_mutex_lock(&p->mu);
    p->refs++; /* stay alive through the wait even if pgpool_free races */
    pthread_mutex_unlock(&p->mu);
    int rc = close_impl(p, timeout_ms, true);
    unref(p);
    return rc;
}

void pgpool_free(pgpool *p)
{
    if (!p)
        return;
    (void)close_impl(p, 0, false);
    pthread_mutex_lock(&p->mu);
    p->free_requested = true;
    pthread_mutex_unlock(&p->mu);
    unref(p);
}

void pgpool_forget_after_fork(pgpool *p)
{
    if (!p)
        return;
    /* No locks: a thread of the parent may have held them at fork(). The
     * parent's sockets get /dev/null dup'ed over them, so that PQfinish()
     * says goodbye to nobody and the parent's sessions stay alive. */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int i = 0; i < p->nslots; i++) {
        slot *s = &p->slots[i];
        if (!s->pg)
            continue;
        int fd = PQsocket(s->pg);
        if (fd >= 0 && devnull >= 0)
            dup2(devnull, fd);
        if (devnull >= 0)
            PQfinish(s->pg);
        s->pg = NULL; /* without /dev/null, leak rather than talk */
    }
    if (devnull >= 0)
        close(devnull);
    free_memory(p);
    free(p); /* the mutexes may be held by threads that do not exist here */
}

/* ------------------------------------------------------------ observation */

size_t pgpool_last_error(pgpool *p, char *buf, size_t size)
{
    pthread_mutex_lock(&p->mu);
    size_t n = strlen(p->last_error);
    if (buf && size > 0)
        snprintf(buf, size, "%s", p->last_error);
    pthread_mutex_unlock(&p->mu);
    return n;
}

int pgpool_stats_get(pgpool_stats *out, pgpool *p)
{
    pgpool_stats st;
    pthread_mutex_lock(&p->mu);
    st = p->st;
    st.idle = (uint32_t)p->n_idle;
    st.in_use = (uint32_t)p->n_in_use;
    st.connecting = (uint32_t)p->n_connecting;
    st.total = (uint32_t)p->n_open_slots;
    st.waiters = (uint32_t)p->n_waiters;
    st.max_size = (uint32_t)p->o.max_size;
    st.max_overflow = (uint32_t)p->o.max_overflow;
    st.min_idle = (uint32_t)p->o.min_idle;
    st.health = p->health;
    pthread_mutex_unlock(&p->mu);
    st.version = PGPOOL_STATS_VERSION;
    *out = st;
    return PGPOOL_OK;
}

int pgpool_health(pgpool_health_info *out, pgpool *p)
{
    pthread_mutex_lock(&p->mu);
    out->state = p->health;
    out->since_ns = p->health_since_ns;
    out->consecutive_failures = p->failures;
    snprintf(out->last_error, sizeof out->last_error, "%s", p->last_error);
    pthread_mutex_unlock(&p->mu);
    return PGPOOL_OK;
}
