/*
 * The pool: creation, acquire with FIFO waiters and absolute deadlines,
 * release rules, close, free, fork. Connects happen in maint.c only.
 */
#define _GNU_SOURCE /* sem_clockwait(): a waiter's deadline is CLOCK_MONOTONIC */
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

void pgpool__wake(pgpool *p)
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
    if (p->o.clock && rel_ns > 10 * PGPOOL__NS_PER_MS)
        rel_ns = 10 * PGPOOL__NS_PER_MS;
    if (rel_ns > 3600 * PGPOOL__NS_PER_S)
        rel_ns = 3600 * PGPOOL__NS_PER_S;
    int64_t t = pgpool__mono_ns() + rel_ns;
    struct timespec ts = { (time_t)(t / PGPOOL__NS_PER_S), (long)(t % PGPOOL__NS_PER_S) };
    return ts;
}

bool pgpool__slot_stale(const pgpool *p, const pgpool__slot *s)
{
    return s->id < p->stale_below;
}

/* A connection was found dead. That alone says nothing about the others
 * (pg_terminate_backend, idle_session_timeout and proxies end one session):
 * only a crash of the server (57P02, every backend was told to quit) is
 * evidence against every connection. mu held. */
void pgpool__broken_evidence(pgpool *p, const pgpool__slot *s)
{
    if (s->fatal && strcmp(s->fatal_state, "57P02") == 0)
        pgpool__invalidate_below(p, p->serial + 1, "the server crashed (57P02)");
}

/* Read what the server sent to an idle connection (without mu): is the
 * session over? End of stream, a FATAL or PANIC (which libpq hands to the
 * notice receiver while idle), or a bad status. err gets why. */
bool pgpool__slot_consume_dead(pgpool__slot *s, char *err, size_t errsize)
{
    bool dead = !PQconsumeInput(s->pg);
    if (!dead)
        (void)PQisBusy(s->pg); /* parses what came: notices, a FATAL */
    dead = dead || s->fatal || PQstatus(s->pg) != CONNECTION_OK;
    if (!dead)
        err[0] = '\0';
    else if (s->fatal)
        snprintf(err, errsize, "%s", s->fatal_msg);
    else
        snprintf(err, errsize, "%s", PQerrorMessage(s->pg));
    return dead;
}

void pgpool__idle_unlink(pgpool *p, pgpool__slot *s)
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

static void idle_push(pgpool *p, pgpool__slot *s)
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

static bool waiter_done(pgpool__waiter *w)
{
    return atomic_load_explicit(&w->done, memory_order_acquire);
}

/* After got (and the bookkeeping): w is done; post w->sem next, with or
 * without mu (w waits for that post once done is set). mu held. */
static void waiter_set_done(pgpool__waiter *w)
{
    atomic_store_explicit(&w->done, true, memory_order_release);
}

static void waiter_wake(pgpool__waiter *w)
{
    waiter_set_done(w);
    sem_post(&w->sem);
}

static void waiter_unlink(pgpool *p, pgpool__waiter *w)
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

/* The bookkeeping of a successful acquire that waited wait_ns: counters,
 * the wait histogram, the ACQUIRE event. s->acquired_ns is set. mu held. */
static void acquire_account(pgpool *p, pgpool__slot *s, int64_t wait_ns, bool waited, bool warmup)
{
    if (s->holders <= 1)
        s->leak_reported = false;
    p->refs++;
    p->st.acquires++;
    if (waited)
        p->st.waits++;
    if (waited && warmup)
        p->st.warmup_waits++;
    if (p->n_in_use > p->o.max_size)
        p->st.overflow_acquires++;
    pgpool__record_hist(p->st.wait_hist, &p->st.wait_sum_ns, wait_ns);
    if (p->o.on_event || p->o.log) {
        char emsg[96];
        snprintf(emsg, sizeof emsg, "acquire: connection %llu after %lld us",
                 (unsigned long long)s->id, (long long)(wait_ns / 1000));
        pgpool__event(p, PGPOOL_EVENT_ACQUIRE, s, 0, wait_ns, emsg);
        pgpool__log(p, PGPOOL_LOG_TRACE, "%s", emsg);
    }
}

/*
 * s is open and counted in n_in_use, not on the idle list: hand it to the
 * first waiter (FIFO; in static mode to every waiter), whose acquire is
 * accounted here, or put it on the idle list. Returns the one waiter whose
 * semaphore the caller must post (after dropping mu, to keep the system call
 * out of the critical section), or NULL. Called with mu held.
 */
static pgpool__waiter *hand_over(pgpool *p, pgpool__slot *s, int64_t now)
{
    if (!p->wait_head) {
        s->state = PGPOOL__SLOT_IDLE;
        s->holders = 0;
        s->idle_since_ns = now;
        p->n_in_use--;
        idle_push(p, s);
        return NULL;
    }
    int64_t t = pgpool__now(p);
    s->acquired_ns = pgpool__coarse_now(p);
    s->leak_reported = false;
    s->holders = 0;
    for (;;) {
        pgpool__waiter *w = p->wait_head;
        waiter_unlink(p, w);
        w->got = s;
        s->holders++;
        acquire_account(p, s, t - w->start_ns, true, w->warmup);
        waiter_set_done(w);
        if (!p->o.static_mode || !p->wait_head)
            return w;
        sem_post(&w->sem); /* static mode: every waiter shares s */
    }
}

/* hand_over() with the post made under mu. Called with mu held. */
void pgpool__make_available(pgpool *p, pgpool__slot *s, int64_t now)
{
    pgpool__waiter *w = hand_over(p, s, now);
    if (w)
        sem_post(&w->sem);
}

/* s was checked but not used: available again, still idle since it was. */
void pgpool__put_back(pgpool *p, pgpool__slot *s, int64_t now)
{
    int64_t since = s->idle_since_ns;
    pgpool__make_available(p, s, now);
    if (s->state == PGPOOL__SLOT_IDLE)
        s->idle_since_ns = since;
}

/*
 * Take s out of the pool and count its closing. Returns its PGconn for the
 * caller to PQfinish() after dropping mu. Called with mu held.
 */
PGconn *pgpool__remove(pgpool *p, pgpool__slot *s, pgpool_close_reason reason, int64_t now,
                       const char *why)
{
    switch (s->state) {
    case PGPOOL__SLOT_IDLE:
        pgpool__idle_unlink(p, s);
        break;
    case PGPOOL__SLOT_IN_USE:
        p->n_in_use--;
        break;
    case PGPOOL__SLOT_CONNECTING:
        p->n_connecting--;
        break;
    default:
        break;
    }
    PGconn *pg = s->pg;
    if (s->state != PGPOOL__SLOT_CONNECTING) {
        p->st.closed[reason]++;
        char msg[200];
        snprintf(msg, sizeof msg, "connection %llu closed: %s%s%s", (unsigned long long)s->id,
                 pgpool_close_reason_name((int)reason), why ? ": " : "", why ? why : "");
        pgpool__event(p, PGPOOL_EVENT_CLOSE, s, (int)reason, now - s->created_ns, msg);
        pgpool__log(p, reason == PGPOOL_CLOSE_BROKEN ? PGPOOL_LOG_INFO : PGPOOL_LOG_DEBUG, "%s",
                    msg);
    }
    s->pg = NULL;
    s->state = PGPOOL__SLOT_FREE;
    s->holders = 0;
    s->checking = false;
    p->n_open_slots--;
    if (p->closed && p->n_in_use == 0)
        pthread_cond_broadcast(&p->drained);
    pgpool__update_health(p, now);
    return pg;
}

/* The error of res (cleared here; NULL is no error) into err, as verbose
 * libpq writes it ("FATAL:  57P01:  terminating ..."), so that the SQLSTATE
 * can be taken out again; unchanged when res has no error fields. */
static void result_error(PGresult *res, char *err, size_t errsize)
{
    if (!res)
        return;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    const char *code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *prim = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    if (sev && code && prim)
        snprintf(err, errsize, "%s:  %s:  %s", sev, code, prim);
    else if (*PQresultErrorMessage(res))
        snprintf(err, errsize, "%s", PQresultErrorMessage(res));
    PQclear(res);
}

/* Run sql on pg within timeout_ns (pool clock). 0 on success; -1 with a
 * message in err on failure, -2 on timeout (pg is then busy: discard it). */
int pgpool__query_deadline(pgpool *p, PGconn *pg, const char *sql, int64_t timeout_ns, char *err,
                           size_t errsize)
{
    int64_t deadline = pgpool__now(p) + timeout_ns;
    err[0] = '\0';
    if (!PQsendQuery(pg, sql)) {
        snprintf(err, errsize, "%s", PQerrorMessage(pg));
        return -1;
    }
    while (PQflush(pg) == 1) {
        struct pollfd pfd = { PQsocket(pg), POLLOUT, 0 };
        int64_t now = pgpool__now(p);
        if (now >= deadline) {
            snprintf(err, errsize, "%s timed out after %lld ms", *sql ? sql : "validation query",
                     (long long)(timeout_ns / PGPOOL__NS_PER_MS));
            return -2;
        }
        int64_t ms = (deadline - now + PGPOOL__NS_PER_MS - 1) / PGPOOL__NS_PER_MS;
        (void)poll(&pfd, 1, ms < 50 ? (int)ms : 50);
    }
    int failed = 0;
    for (;;) {
        while (PQisBusy(pg)) {
            int64_t now = pgpool__now(p);
            if (now >= deadline) {
                snprintf(err, errsize, "%s timed out after %lld ms",
                         *sql ? sql : "validation query",
                         (long long)(timeout_ns / PGPOOL__NS_PER_MS));
                return -2;
            }
            int64_t ms = (deadline - now + PGPOOL__NS_PER_MS - 1) / PGPOOL__NS_PER_MS;
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
                if (!failed) { /* else the error already read says more */
                    snprintf(err, errsize, "%s", PQerrorMessage(pg));
                    if (PQstatus(pg) == CONNECTION_BAD) /* the socket is gone: no wait */
                        result_error(PQgetResult(pg), err, errsize);
                }
                return -1;
            }
        }
        PGresult *res = PQgetResult(pg);
        if (!res)
            break;
        ExecStatusType st = PQresultStatus(res);
        if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
            if (!failed) {
                result_error(res, err, errsize);
                res = NULL; /* cleared there */
            }
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

/* Every message the server sends outside a query: notices are logged; a
 * FATAL or PANIC (which libpq routes here when it comes while the
 * connection is idle: pg_terminate_backend, idle_session_timeout, shutdown)
 * marks the session as over. Runs in the thread that feeds libpq, never
 * with mu held. */
static void notice_receiver(void *arg, const PGresult *res)
{
    pgpool__slot *s = arg;
    pgpool *p = s->pool;
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
    if (sev && (strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0)) {
        const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        s->fatal = true;
        snprintf(s->fatal_state, sizeof s->fatal_state, "%s", st ? st : "");
        snprintf(s->fatal_msg, sizeof s->fatal_msg, "%s: %s", sev, m ? m : "");
    }
    if (!p->o.log || p->o.log_level > PGPOOL_LOG_DEBUG)
        return;
    char terse[256];
    pgpool__terse(terse, sizeof terse, NULL, PQresultErrorMessage(res));
    pthread_mutex_lock(&p->mu);
    pgpool__log(p, PGPOOL_LOG_DEBUG, "server notice on connection %llu: %s",
                (unsigned long long)s->id, terse);
    pthread_mutex_unlock(&p->mu);
}

/* Set on every new connection (so that libpq never prints to stderr). */
void pgpool__install_notice(pgpool__slot *s)
{
    PQsetNoticeReceiver(s->pg, notice_receiver, s);
}

/* The name of the first option out of range, or NULL when all are fine. */
static const char *bad_option(const pgpool_options *o)
{
    /* durations are kept in ns: keep them far from overflow */
    const int64_t lim = INT64_C(1) << 40;
#define BAD_IF(cond, name)                                                                         \
    if (cond)                                                                                      \
        return name;
    BAD_IF(o->version < 1, "version")
    BAD_IF(o->max_size < 1 || o->max_size > 10000, "max_size (1..10000)")
    BAD_IF(o->min_idle < 0 || o->min_idle > o->max_size, "min_idle (0..max_size)")
    BAD_IF(o->max_overflow < 0 || o->max_overflow > 10000, "max_overflow (0..10000)")
    BAD_IF(o->max_connecting < 1, "max_connecting (>= 1)")
    BAD_IF(o->acquire_timeout_ms < 0 || o->acquire_timeout_ms > lim, "acquire_timeout_ms")
    BAD_IF(o->connect_timeout_ms <= 0 || o->connect_timeout_ms > lim, "connect_timeout_ms (> 0)")
    BAD_IF(o->max_lifetime_ms < 0 || o->max_lifetime_ms > lim, "max_lifetime_ms")
    BAD_IF(o->max_lifetime_jitter_ms < 0 ||
               (o->max_lifetime_ms > 0 && o->max_lifetime_jitter_ms > o->max_lifetime_ms),
           "max_lifetime_jitter_ms (0..max_lifetime_ms)")
    BAD_IF(o->idle_timeout_ms < 0 || o->idle_timeout_ms > lim, "idle_timeout_ms")
    BAD_IF(o->validate_after_idle_ms < -1 || o->validate_after_idle_ms > lim,
           "validate_after_idle_ms (>= -1)")
    BAD_IF(o->validation_timeout_ms <= 0 || o->validation_timeout_ms > lim,
           "validation_timeout_ms (> 0)")
    BAD_IF(o->rollback_timeout_ms <= 0 || o->rollback_timeout_ms > lim, "rollback_timeout_ms (> 0)")
    BAD_IF(o->backoff_initial_ms < 0, "backoff_initial_ms (>= 0)")
    BAD_IF(o->backoff_max_ms < o->backoff_initial_ms || o->backoff_max_ms > lim,
           "backoff_max_ms (>= backoff_initial_ms)")
    BAD_IF(o->leak_threshold_ms < 0 || o->leak_threshold_ms > lim, "leak_threshold_ms (>= 0)")
    BAD_IF(o->health_check_period_ms <= 0 || o->health_check_period_ms > lim,
           "health_check_period_ms (> 0)")
    BAD_IF(o->alive_bypass_ms < 0 || o->alive_bypass_ms > lim, "alive_bypass_ms (>= 0)")
    BAD_IF((unsigned)o->reuse > PGPOOL_REUSE_FIFO, "reuse")
    BAD_IF((unsigned)o->reset > PGPOOL_RESET_ALWAYS, "reset")
    BAD_IF((unsigned)o->log_level > PGPOOL_LOG_ERROR, "log_level")
    BAD_IF(o->keywords && !o->values, "values (keywords without values)")
#undef BAD_IF
    return NULL;
}

/* The password in a connection string or URI, or NULL. */
static char *password_of(const char *conninfo, bool *bad, bool *oom, char *perr, size_t perrsize)
{
    char *errmsg = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
    if (!opts) {
        if (errmsg) {
            if (!*bad) /* libpq's words, with values masked */
                pgpool__parse_message(perr, perrsize, errmsg, conninfo);
            PQfreemem(errmsg);
        } else {
            *oom = true;
        }
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

static int copy_target(pgpool *p, const pgpool_options *o, char *perr, size_t perrsize)
{
    bool oom = false, bad = false;
    size_t n = 0;
    if (o->conninfo) {
        p->conninfo = dup_or_null(o->conninfo, &oom);
        p->secret = password_of(o->conninfo, &bad, &oom, perr, perrsize);
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
                p->secret = password_of(v, &bad, &oom, perr, perrsize);
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

void pgpool__destroy(pgpool *p)
{
    for (int i = 0; i < p->nslots; i++)
        if (p->slots && p->slots[i].pg)
            PQfinish(p->slots[i].pg);
    free_memory(p);
    pthread_mutex_destroy(&p->mu);
    pthread_mutex_destroy(&p->cb_mu);
    pthread_cond_destroy(&p->drained);
    pthread_cond_destroy(&p->ready);
    pthread_condattr_destroy(&p->cattr);
    free(p);
}

/* Copy src (NULL: "") into dst, cut to size - 1 bytes. */
static void copy_cut(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= size)
        n = size - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Fill *info (may be NULL). */
static int set_info(pgpool_error_info *info, int code, pgpool_cause cause, const char *sqlstate,
                    const char *message)
{
    if (info && info->version >= 1) {
        info->code = code;
        info->cause = cause;
        copy_cut(info->sqlstate, sizeof info->sqlstate, sqlstate);
        copy_cut(info->message, sizeof info->message, message);
    }
    return code;
}

int pgpool_new(pgpool **out, const pgpool_options *opts)
{
    return pgpool_new_ex(out, NULL, opts);
}

static int new_failed(pgpool_error_info *info, int code, const char *why)
{
    const char *msg = why ? why : pgpool_strerror(code);
    pgpool_cause cause = code == PGPOOL_EINVAL ? PGPOOL_CAUSE_OPTIONS : PGPOOL_CAUSE_SYSTEM;
    return set_info(info, code, cause, NULL, msg);
}

int pgpool_new_ex(pgpool **out, pgpool_error_info *info, const pgpool_options *opts)
{
    *out = NULL;
    /* A caller's struct of version 1 ends before alive_bypass_ms: read only
     * that much, and leave the later fields at their defaults. */
    pgpool_options oc = PGPOOL_OPTIONS_INIT;
    if (opts)
        memcpy(&oc, opts,
               opts->version >= 2 ? sizeof oc : offsetof(pgpool_options, alive_bypass_ms));
    const pgpool_options *o = &oc;
    const char *bad = bad_option(o);
    if (bad) {
        char msg[200];
        snprintf(msg, sizeof msg, "option out of range: %s", bad);
        return new_failed(info, PGPOOL_EINVAL, msg);
    }
    pgpool *p = calloc(1, sizeof *p);
    if (!p)
        return new_failed(info, PGPOOL_ENOMEM, NULL);
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
    pthread_cond_init(&p->ready, &p->cattr);

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
    char perr[256] = "";
    int rc = oom || !p->slots || !p->pfds || !p->pslots || !p->closebuf
                 ? PGPOOL_ENOMEM
                 : copy_target(p, o, perr, sizeof perr);
    if (rc != PGPOOL_OK) {
        pgpool__destroy(p);
        if (rc == PGPOOL_EINVAL)
            return set_info(info, rc, PGPOOL_CAUSE_CONNINFO, NULL,
                            perr[0] ? perr : "the connection string cannot be parsed");
        return new_failed(info, rc, NULL);
    }
    for (int i = 0; i < p->nslots; i++)
        p->slots[i].pool = p;
    p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->wake_fd < 0) {
        pgpool__destroy(p);
        return new_failed(info, PGPOOL_ESYSTEM, "eventfd failed");
    }
    p->refs = 1;
    p->rng = (uint64_t)pgpool__mono_ns() ^ (uint64_t)(uintptr_t)p ^ UINT64_C(0x9e3779b97f4a7c15);
    if (p->rng == 0)
        p->rng = 1;
    p->health = PGPOOL_UP;
    p->health_since_ns = pgpool__now(p);
    p->next_housekeeping_ns = p->health_since_ns;
    p->warm = p->o.min_idle == 0;

    /* The maintenance thread takes no signals: they belong to the application. */
    sigset_t all, old;
    sigfillset(&all);
    p->thread_started = true; /* before the thread reads its neighbours */
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&p->thread, NULL, pgpool__maint_main, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        pgpool__destroy(p);
        return new_failed(info, PGPOOL_ESYSTEM, "pthread_create failed");
    }
    pthread_mutex_lock(&p->mu);
    pgpool__log(p, PGPOOL_LOG_INFO, "pool %s: open, %s, min_idle %d, max_size %d, max_overflow %d",
                p->name, p->masked_target, p->o.min_idle, p->o.max_size, p->o.max_overflow);
    pthread_mutex_unlock(&p->mu);
    pgpool__flush(p);
    *out = p;
    return set_info(info, PGPOOL_OK, PGPOOL_CAUSE_NONE, NULL, NULL);
}

/* ------------------------------------------------------------ acquire */

/* Drop s (already unlinked / counted in use) and let mu go while its PGconn
 * is finished; the maintenance thread is told to refill. */
static void drop_unlocked(pgpool *p, pgpool__slot *s, pgpool_close_reason reason, int64_t now,
                          const char *why)
{
    PGconn *pg = pgpool__remove(p, s, reason, now, why);
    pthread_mutex_unlock(&p->mu);
    if (pg)
        PQfinish(pg);
    pgpool__wake(p);
    pthread_mutex_lock(&p->mu);
}

/* What a caller that reached its deadline waited for: ETIMEDOUT only when
 * every connection was in use; ECONNECT when a connect it could have used
 * failed or was still in flight, or a validation ran into the deadline.
 * mu held. */
static int deadline_code(const pgpool *p, bool validation_hit, pgpool_cause *cause)
{
    if (validation_hit) {
        *cause = PGPOOL_CAUSE_VALIDATION_TIMEOUT;
        return PGPOOL_ECONNECT;
    }
    if (p->n_open_slots >= p->nslots && p->n_connecting == 0) {
        *cause = PGPOOL_CAUSE_EXHAUSTED;
        return PGPOOL_ETIMEDOUT;
    }
    *cause = p->failures > 0 ? PGPOOL_CAUSE_CONNECT_FAILED : PGPOOL_CAUSE_CONNECTING;
    return PGPOOL_ECONNECT;
}

/* The one-line message of a failed acquire. mu held. */
static void failure_message(const pgpool *p, pgpool_cause cause, int64_t waited_ns,
                            const char *vmsg, char *msg, size_t size)
{
    long long ms = (long long)(waited_ns / PGPOOL__NS_PER_MS);
    switch (cause) {
    case PGPOOL_CAUSE_EXHAUSTED:
        snprintf(msg, size, "no connection came free in %lld ms: all %d connections in use", ms,
                 p->nslots);
        break;
    case PGPOOL_CAUSE_CONNECT_FAILED:
        snprintf(msg, size, "%s", p->last_error);
        break;
    case PGPOOL_CAUSE_CONNECTING:
        if (p->n_connecting > 0)
            snprintf(msg, size,
                     "no connection in %lld ms: %d connect(s) to the database still in flight "
                     "(connect_timeout %lld ms)",
                     ms, p->n_connecting, (long long)p->o.connect_timeout_ms);
        else
            snprintf(msg, size, "no connection in %lld ms: none open yet, a connect is starting",
                     ms);
        break;
    case PGPOOL_CAUSE_VALIDATION_TIMEOUT:
        snprintf(msg, size, "%s", vmsg);
        break;
    case PGPOOL_CAUSE_CLOSED:
        snprintf(msg, size, "the pool is closed");
        break;
    default:
        msg[0] = '\0';
        break;
    }
}

/*
 * The fast path of acquire: nobody waits and the first idle connection came
 * back less than alive_bypass_ms ago, is not due for validation, stale,
 * expired or known dead. Its socket is not checked: a backend that ended in
 * that window shows up as a failed query, and the release closes the
 * connection as broken. One coarse clock read. Returns the slot, counted in
 * use, or NULL. mu held.
 */
static pgpool__slot *fast_take(pgpool *p, int64_t tmo)
{
    pgpool__slot *s = p->idle_head;
    if (!s || p->wait_head || p->closed || p->o.static_mode || p->o.alive_bypass_ms <= 0)
        return NULL;
    int64_t t = pgpool__coarse_now(p), idle = t - s->idle_since_ns;
    if (idle >= p->o.alive_bypass_ms * PGPOOL__NS_PER_MS ||
        (tmo > 0 && p->o.validate_after_idle_ms >= 0 &&
         idle >= p->o.validate_after_idle_ms * PGPOOL__NS_PER_MS) ||
        pgpool__slot_stale(p, s) || t >= s->expires_ns || s->fatal ||
        PQstatus(s->pg) != CONNECTION_OK)
        return NULL;
    pgpool__idle_unlink(p, s);
    s->state = PGPOOL__SLOT_IN_USE;
    p->n_in_use++;
    s->holders = 1;
    s->acquired_ns = t;
    return s;
}

int pgpool_acquire(pgpool_conn **out, pgpool *p, int timeout_ms)
{
    return pgpool_acquire_ex(out, NULL, p, timeout_ms);
}

int pgpool_acquire_ex(pgpool_conn **out, pgpool_error_info *info, pgpool *p, int timeout_ms)
{
    *out = NULL;
    int64_t tmo = timeout_ms < 0 ? p->o.acquire_timeout_ms * PGPOOL__NS_PER_MS
                                 : (int64_t)timeout_ms * PGPOOL__NS_PER_MS;
    pthread_mutex_lock(&p->mu);
    pgpool__slot *got = fast_take(p, tmo);
    if (got) { /* before the message buffers below: zero-filling them costs as much */
        acquire_account(p, got, 0, false, false);
        bool callbacks = p->o.on_event || p->o.log;
        pthread_mutex_unlock(&p->mu);
        if (callbacks)
            pgpool__flush(p);
        *out = got;
        return set_info(info, PGPOOL_OK, PGPOOL_CAUSE_NONE, NULL, NULL);
    }
    int64_t start = pgpool__now(p), now = start, deadline = start + tmo;
    bool waited = false, warmup = false, vhit = false, waited_got = false;
    int rc = PGPOOL_OK;
    pgpool_cause cause = PGPOOL_CAUSE_NONE;
    char vmsg[200] = "";
    while (!got) {
        if (p->closed) {
            rc = PGPOOL_ECLOSED;
            cause = PGPOOL_CAUSE_CLOSED;
            break;
        }
        if (p->o.static_mode) {
            pgpool__slot *s = &p->slots[0];
            if (s->state == PGPOOL__SLOT_IN_USE && s->holders > 0 && !s->checking &&
                PQstatus(s->pg) == CONNECTION_OK && !s->fatal) {
                s->holders++;
                got = s;
                break;
            }
        }
        if (!p->wait_head && p->idle_head) {
            pgpool__slot *s = p->idle_head;
            /* acquire(0) never waits on I/O: no validation */
            bool due = tmo > 0 && p->o.validate_after_idle_ms >= 0 &&
                       now - s->idle_since_ns >= p->o.validate_after_idle_ms * PGPOOL__NS_PER_MS;
            if (due && now >= deadline) {
                rc = deadline_code(p, vhit, &cause);
                break;
            }
            pgpool__idle_unlink(p, s);
            s->state = PGPOOL__SLOT_IN_USE;
            p->n_in_use++;
            if (pgpool__slot_stale(p, s)) {
                drop_unlocked(p, s, PGPOOL_CLOSE_STALE, now, NULL);
                now = pgpool__now(p);
                continue;
            }
            if (now >= s->expires_ns) {
                drop_unlocked(p, s, PGPOOL_CLOSE_LIFETIME, now, NULL);
                now = pgpool__now(p);
                continue;
            }
            /* The socket, without waiting: anything readable on an idle
             * connection is the end of the stream, a FATAL, or (harmless) a
             * notice, a parameter change or a notification. */
            char err[256];
            bool dead = PQstatus(s->pg) != CONNECTION_OK || s->fatal;
            if (dead) {
                snprintf(err, sizeof err, "%s", s->fatal ? s->fatal_msg : PQerrorMessage(s->pg));
            } else {
                /* outside the lock: the slot is ours (in use, checking) */
                s->checking = true;
                pthread_mutex_unlock(&p->mu);
                struct pollfd pfd = { PQsocket(s->pg), POLLIN, 0 };
                if (poll(&pfd, 1, 0) != 0)
                    dead = pgpool__slot_consume_dead(s, err, sizeof err);
                pthread_mutex_lock(&p->mu);
                s->checking = false;
                now = pgpool__now(p);
                if (!dead && p->closed) { /* closed while we looked */
                    drop_unlocked(p, s, PGPOOL_CLOSE_CLOSED, now, NULL);
                    continue;
                }
            }
            if (dead) {
                pgpool__set_error(p, err);
                pgpool__broken_evidence(p, s);
                drop_unlocked(p, s, PGPOOL_CLOSE_BROKEN, now, p->last_error);
                now = pgpool__now(p);
                continue;
            }
            if (due && now >= deadline) { /* the check used the time left: keep it idle */
                pgpool__put_back(p, s, now);
                rc = deadline_code(p, vhit, &cause);
                break;
            }
            if (due) {
                int64_t vt = p->o.validation_timeout_ms * PGPOOL__NS_PER_MS;
                if (vt > deadline - now)
                    vt = deadline - now;
                s->checking = true;
                p->st.validations++;
                pthread_mutex_unlock(&p->mu);
                int vr = pgpool__query_deadline(p, s->pg, "", vt, err, sizeof err);
                pthread_mutex_lock(&p->mu);
                s->checking = false;
                now = pgpool__now(p);
                if (vr == 0) {
                    p->st.validations_ok++;
                } else {
                    if (vr == -2) {
                        p->st.validation_timeouts++;
                        vhit = true;
                        snprintf(vmsg, sizeof vmsg,
                                 "connection %llu did not answer its validation within %lld ms",
                                 (unsigned long long)s->id, (long long)(vt / PGPOOL__NS_PER_MS));
                    } else {
                        p->st.validations_failed++;
                    }
                    pgpool__set_error(p, vr == -2 ? vmsg : err);
                    char msg[300];
                    snprintf(msg, sizeof msg, "connection %llu failed validation: %s",
                             (unsigned long long)s->id, p->last_error);
                    pgpool__event(p, PGPOOL_EVENT_VALIDATION_FAILED, s, 0, 0, msg);
                    pgpool__log(p, PGPOOL_LOG_WARN, "%s", msg);
                    pgpool__broken_evidence(p, s);
                    drop_unlocked(p, s, PGPOOL_CLOSE_VALIDATION, now, NULL);
                    now = pgpool__now(p);
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
            cause = PGPOOL_CAUSE_CONNECT_FAILED;
            break;
        }
        if (now >= deadline) {
            rc = deadline_code(p, vhit, &cause);
            break;
        }
        pgpool__waiter w;
        memset(&w, 0, sizeof w);
        sem_init(&w.sem, 0, 0);
        atomic_init(&w.done, false);
        w.start_ns = start;
        w.prev = p->wait_tail;
        if (p->wait_tail)
            p->wait_tail->next = &w;
        else
            p->wait_head = &w;
        p->wait_tail = &w;
        p->n_waiters++;
        if (!waited)
            warmup = !p->warm;
        waited = true;
        w.warmup = warmup;
        if (p->n_open_slots < p->nslots)
            pgpool__wake(p); /* a connect may be needed */
        bool posted = false;
        while (!waiter_done(&w) && now < deadline) {
            struct timespec ts = wait_until(p, deadline - now);
            pthread_mutex_unlock(&p->mu);
            posted = sem_clockwait(&w.sem, CLOCK_MONOTONIC, &ts) == 0 && waiter_done(&w);
            if (posted)
                break; /* no need for mu */
            pthread_mutex_lock(&p->mu);
            now = pgpool__now(p);
        }
        if (posted && w.got) { /* handed over and accounted by the releaser */
            sem_destroy(&w.sem);
            if (p->o.on_event || p->o.log)
                pgpool__flush(p);
            *out = w.got;
            return set_info(info, PGPOOL_OK, PGPOOL_CAUSE_NONE, NULL, NULL);
        }
        if (posted) /* woken by close */
            pthread_mutex_lock(&p->mu);
        else if (waiter_done(&w)) { /* set while we timed out: the post comes, take it */
            pthread_mutex_unlock(&p->mu);
            sem_wait(&w.sem);
            pthread_mutex_lock(&p->mu);
        } else
            waiter_unlink(p, &w);
        sem_destroy(&w.sem);
        if (w.got) {
            got = w.got;
            waited_got = true;
            break;
        }
        if (!waiter_done(&w)) { /* the deadline passed */
            rc = deadline_code(p, vhit, &cause);
            break;
        }
        /* woken by close: loop to report it */
    }
    char msg[256] = "";
    char sqlstate[6] = "";
    if (got && !waited_got) { /* a connection handed over was accounted by the releaser */
        got->acquired_ns = pgpool__coarse_now(p);
        acquire_account(p, got, now - start, waited, warmup);
    } else if (!got) {
        if (info)
            failure_message(p, cause, now - start, vmsg, msg, sizeof msg);
        if (cause == PGPOOL_CAUSE_CONNECT_FAILED)
            memcpy(sqlstate, p->last_sqlstate, sizeof sqlstate);
        if (rc == PGPOOL_ETIMEDOUT) {
            p->st.timeouts++;
            pgpool__log(p, PGPOOL_LOG_DEBUG, "acquire timed out after %lld ms (pool exhausted)",
                        (long long)((now - start) / PGPOOL__NS_PER_MS));
        } else if (rc == PGPOOL_ECONNECT) {
            p->st.connect_errors++;
            pgpool__log(p, PGPOOL_LOG_DEBUG, "acquire failed after %lld ms (%s): %s",
                        (long long)((now - start) / PGPOOL__NS_PER_MS),
                        pgpool_cause_name((int)cause),
                        cause == PGPOOL_CAUSE_VALIDATION_TIMEOUT ? vmsg : p->last_error);
        }
    }
    bool callbacks = p->o.on_event || p->o.log;
    pthread_mutex_unlock(&p->mu);
    if (callbacks)
        pgpool__flush(p);
    *out = got;
    if (info)
        set_info(info, rc, cause, sqlstate, msg);
    return rc;
}

int pgpool_wait_ready(pgpool *p, int timeout_ms)
{
    int64_t tmo = timeout_ms < 0 ? p->o.acquire_timeout_ms * PGPOOL__NS_PER_MS
                                 : (int64_t)timeout_ms * PGPOOL__NS_PER_MS;
    pthread_mutex_lock(&p->mu);
    int64_t now = pgpool__now(p), deadline = now + tmo;
    int rc = PGPOOL_OK;
    for (;;) {
        if (p->closed) {
            rc = PGPOOL_ECLOSED;
            break;
        }
        if (p->n_idle + p->n_in_use >= p->o.min_idle)
            break;
        if (now >= deadline) {
            rc = PGPOOL_ECONNECT;
            break;
        }
        pgpool__wake(p);
        struct timespec ts = wait_until(p, deadline - now);
        pthread_cond_timedwait(&p->ready, &p->mu, &ts);
        now = pgpool__now(p);
    }
    pthread_mutex_unlock(&p->mu);
    return rc;
}

void pgpool_invalidate(pgpool *p)
{
    pthread_mutex_lock(&p->mu);
    pgpool__invalidate_below(p, p->serial + 1, "pgpool_invalidate()");
    bool callbacks = p->o.on_event || p->o.log;
    pthread_mutex_unlock(&p->mu);
    pgpool__wake(p);
    if (callbacks)
        pgpool__flush(p);
}

int pgpool_conn_ping(pgpool_error_info *info, pgpool_conn *c, int timeout_ms)
{
    pgpool *p = c->pool;
    int64_t vt = timeout_ms < 0 ? p->o.validation_timeout_ms * PGPOOL__NS_PER_MS
                                : (int64_t)timeout_ms * PGPOOL__NS_PER_MS;
    char err[256];
    int vr;
    if (PQstatus(c->pg) != CONNECTION_OK || c->fatal) {
        snprintf(err, sizeof err, "%s", c->fatal ? c->fatal_msg : PQerrorMessage(c->pg));
        vr = -1;
    } else {
        vr = pgpool__query_deadline(p, c->pg, "", vt, err, sizeof err);
    }
    char msg[256], sqlstate[6];
    pgpool__terse(msg, sizeof msg, sqlstate, err);
    if (c->fatal)
        memcpy(sqlstate, c->fatal_state, sizeof sqlstate);
    pthread_mutex_lock(&p->mu);
    p->st.validations++;
    if (vr == 0)
        p->st.validations_ok++;
    else if (vr == -2)
        p->st.validation_timeouts++;
    else
        p->st.validations_failed++;
    char masked[256];
    pgpool__redact(masked, sizeof masked, msg, p->secret);
    pthread_mutex_unlock(&p->mu);
    if (vr == 0)
        return set_info(info, PGPOOL_OK, PGPOOL_CAUSE_NONE, NULL, NULL);
    return set_info(info, PGPOOL_ECONNECT,
                    vr == -2 ? PGPOOL_CAUSE_VALIDATION_TIMEOUT : PGPOOL_CAUSE_SERVER, sqlstate,
                    masked);
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
        pgpool__destroy(p);
}

static void release_impl(pgpool__slot *s, bool discard)
{
    pgpool *p = s->pool;
    if (p->o.static_mode) {
        pthread_mutex_lock(&p->mu);
        if (s->holders > 1) {
            s->holders--;
            bool destroy = --p->refs == 0;
            pthread_mutex_unlock(&p->mu);
            if (destroy)
                pgpool__destroy(p);
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
        reason = cs == CONNECTION_OK && !s->fatal ? PGPOOL_CLOSE_DISCARDED : PGPOOL_CLOSE_BROKEN;
    } else if (cs != CONNECTION_OK || s->fatal) {
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
            if (pgpool__query_deadline(p, pg, "ROLLBACK",
                                       p->o.rollback_timeout_ms * PGPOOL__NS_PER_MS, err,
                                       sizeof err) != 0 ||
                PQtransactionStatus(pg) != PQTRANS_IDLE)
                reason = PGPOOL_CLOSE_RESET_FAILED;
        }
        if (reason < 0 &&
            (p->o.reset == PGPOOL_RESET_ALWAYS || (p->o.reset == PGPOOL_RESET_DIRTY && txn))) {
            reset = true;
            if (pgpool__query_deadline(p, pg, p->reset_query,
                                       p->o.rollback_timeout_ms * PGPOOL__NS_PER_MS, err,
                                       sizeof err) != 0)
                reason = PGPOOL_CLOSE_RESET_FAILED;
            else if (p->o.on_connect && p->o.on_connect(pg, p->o.on_connect_userdata) != 0) {
                snprintf(err, sizeof err, "on_connect hook failed after the reset statement");
                reason = PGPOOL_CLOSE_RESET_FAILED;
            }
        }
    }

    pthread_mutex_lock(&p->mu);
    int64_t now = pgpool__coarse_now(p);
    int64_t held = now - s->acquired_ns;
    pgpool__record_hist(p->st.usage_hist, &p->st.usage_sum_ns, held);
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
        pgpool__event(p, PGPOOL_EVENT_RELEASE, s, 0, held, msg);
        pgpool__log(p, PGPOOL_LOG_TRACE, "%s", msg);
    }
    if (reason == PGPOOL_CLOSE_RESET_FAILED)
        pgpool__set_error(p, err);
    if (reason < 0) {
        if (p->closed)
            reason = PGPOOL_CLOSE_CLOSED;
        else if (pgpool__slot_stale(p, s))
            reason = PGPOOL_CLOSE_STALE;
        else if (now >= s->expires_ns)
            reason = PGPOOL_CLOSE_LIFETIME;
        else if (p->n_open_slots > p->o.max_size && !p->wait_head)
            reason = PGPOOL_CLOSE_OVERFLOW;
    }
    PGconn *to_close = NULL;
    if (reason >= 0) {
        if (reason == PGPOOL_CLOSE_BROKEN)
            pgpool__broken_evidence(p, s);
        to_close = pgpool__remove(p, s, (pgpool_close_reason)reason, now,
                                  reason == PGPOOL_CLOSE_RESET_FAILED ? p->last_error : NULL);
    }
    pgpool__waiter *wake = reason < 0 ? hand_over(p, s, now) : NULL;
    bool slow = to_close || p->o.on_event || p->o.log;
    bool destroy = false;
    if (!slow)
        destroy = --p->refs == 0;
    bool closed = p->closed;
    pthread_mutex_unlock(&p->mu);
    if (wake)
        sem_post(&wake->sem);
    if (!slow) {
        if (destroy)
            pgpool__destroy(p);
        return;
    }
    if (to_close) {
        PQfinish(to_close);
        if (!closed)
            pgpool__wake(p);
    }
    pgpool__flush(p);
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
    int64_t start = pgpool__mono_ns();
    bool first = !p->closed;
    if (first) {
        p->closed = true;
        p->stopping = true;
        pthread_cond_broadcast(&p->ready);
        for (pgpool__waiter *w = p->wait_head; w; w = w->next) {
            waiter_wake(w);
        }
        pgpool__log(p, PGPOOL_LOG_INFO, "pool %s: closing, %d connection(s) borrowed", p->name,
                    p->n_in_use);
    }
    /* Waiters unlink themselves; wake them all now. */
    while (p->wait_head)
        waiter_unlink(p, p->wait_head);
    bool join = p->thread_started && !p->join_claimed;
    p->join_claimed = true;
    pthread_mutex_unlock(&p->mu);
    if (join) {
        pgpool__wake(p);
        pthread_join(p->thread, NULL);
    }
    /* Idle connections close now. */
    for (;;) {
        pthread_mutex_lock(&p->mu);
        pgpool__slot *s = p->idle_head;
        PGconn *pg = s ? pgpool__remove(p, s, PGPOOL_CLOSE_CLOSED, pgpool__now(p), NULL) : NULL;
        pthread_mutex_unlock(&p->mu);
        if (!s)
            break;
        if (pg)
            PQfinish(pg);
    }
    pthread_mutex_lock(&p->mu);
    int rc = PGPOOL_OK;
    while (p->n_in_use > 0) {
        int64_t left = timeout_ms < 0
                           ? PGPOOL__NS_PER_S
                           : start + (int64_t)timeout_ms * PGPOOL__NS_PER_MS - pgpool__mono_ns();
        if (left <= 0) {
            rc = PGPOOL_ETIMEDOUT;
            if (shut_down_late) {
                for (int i = 0; i < p->nslots; i++) {
                    pgpool__slot *s = &p->slots[i];
                    if (s->state == PGPOOL__SLOT_IN_USE && s->pg && PQsocket(s->pg) >= 0)
                        shutdown(PQsocket(s->pg), SHUT_RDWR);
                }
                pgpool__log(p, PGPOOL_LOG_WARN,
                            "pool %s: %d connection(s) still borrowed at the close deadline: "
                            "their sockets were shut down",
                            p->name, p->n_in_use);
            }
            break;
        }
        int64_t t = pgpool__mono_ns() + left;
        struct timespec ts = { (time_t)(t / PGPOOL__NS_PER_S), (long)(t % PGPOOL__NS_PER_S) };
        pthread_cond_timedwait(&p->drained, &p->mu, &ts);
    }
    pthread_mutex_unlock(&p->mu);
    pgpool__flush(p);
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
        pgpool__slot *s = &p->slots[i];
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
    unsigned want = out->version;
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
    if (want == PGPOOL_STATS_VERSION) {
        st.version = PGPOOL_STATS_VERSION;
        *out = st;
    } else if (want == 2) { /* a caller built against version 2: its struct ends there */
        st.version = 2;
        memcpy(out, &st, offsetof(pgpool_stats, maintenance_runs));
    } else { /* a caller built against version 1: its struct ends there */
        st.version = 1;
        memcpy(out, &st, offsetof(pgpool_stats, warmup_waits));
    }
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
