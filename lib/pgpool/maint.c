/*
 * The maintenance thread: the only place where connections are opened
 * (PQconnectStartParams + PQconnectPoll under poll(), up to max_connecting at
 * once, each with the pool's connect_timeout, with backoff while connects
 * fail), and the housekeeping: lifetime, stale and idle retirement, dead
 * idle sockets, leaks.
 *
 * Slots in PGPOOL__SLOT_CONNECTING belong to this thread alone, so their PGconn is
 * driven without the lock; everything shared is changed under p->mu.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* How many connects to start now. Called with mu held. */
static int connects_needed(pgpool *p, int64_t now)
{
    if (p->closed || p->stopping)
        return 0;
    int open = p->n_open_slots;
    int for_waiters = p->n_waiters - p->n_connecting;
    int room_all = p->nslots - open;
    if (for_waiters > room_all)
        for_waiters = room_all;
    int for_idle = p->o.min_idle - (p->n_idle + p->n_connecting);
    if (for_idle > p->o.max_size - open)
        for_idle = p->o.max_size - open;
    int n = for_waiters > for_idle ? for_waiters : for_idle;
    int inflight_room = p->o.max_connecting - p->n_connecting;
    if (n > inflight_room)
        n = inflight_room;
    if (n > 0 && p->failures > 0) { /* backing off: one probe at a time */
        if (now < p->next_connect_ns)
            return 0;
        n = p->n_connecting == 0 ? 1 : 0;
    }
    return n > 0 ? n : 0;
}

static pgpool__slot *alloc_slot(pgpool *p, int64_t now)
{
    for (int i = 0; i < p->nslots; i++) {
        pgpool__slot *s = &p->slots[i];
        if (s->state != PGPOOL__SLOT_FREE)
            continue;
        memset(&s->checking, 0, sizeof *s - offsetof(pgpool__slot, checking));
        s->pool = p;
        s->pg = NULL;
        s->state = PGPOOL__SLOT_CONNECTING;
        s->overflow = p->n_open_slots >= p->o.max_size;
        s->leak_reported = false;
        s->id = ++p->serial;
        s->created_ns = now;
        s->connect_deadline_ns = now + p->o.connect_timeout_ms * PGPOOL__NS_PER_MS;
        s->pstat = PGRES_POLLING_WRITING;
        p->n_connecting++;
        p->n_open_slots++;
        p->st.connect_attempts++;
        return s;
    }
    return NULL;
}

/* A connect failed: count it, back off, remember why. mu held. Returns the
 * PGconn to finish without the lock. */
static PGconn *connect_failed(pgpool *p, pgpool__slot *s, int64_t now, const char *why)
{
    p->st.connect_failures++;
    p->failures++;
    bool transient = pgpool__classify_connect_error(why) != 0;
    p->last_transient = transient;
    uint32_t attempt = p->failures;
    if (transient && attempt > 4)
        attempt = 4; /* the server is there: retry soon, but not in a loop */
    int64_t delay =
        pgpool__backoff_ns(p->o.backoff_initial_ms * PGPOOL__NS_PER_MS,
                           p->o.backoff_max_ms * PGPOOL__NS_PER_MS, attempt, pgpool__random(p));
    p->next_connect_ns = now + delay;
    pgpool__set_error(p, why);
    /* Refused, no socket, shutting down or starting up: the server went
     * away, so whatever was opened before this attempt is gone with it. A
     * connect that only hangs (a stopped postmaster) is no such evidence:
     * the backends may still serve. */
    if (pgpool__server_gone(why, p->last_sqlstate))
        pgpool__invalidate_below(p, s->id, p->last_error);
    char msg[700];
    snprintf(msg, sizeof msg, "connect %llu to %s failed (%u in a row%s), next try in %lld ms: %s",
             (unsigned long long)s->id, p->masked_target, p->failures,
             transient ? ", transient" : "", (long long)(delay / PGPOOL__NS_PER_MS), p->last_error);
    pgpool__event(p, PGPOOL_EVENT_CONNECT_FAILED, s, 0, now - s->created_ns, msg);
    pgpool__log(p, PGPOOL_LOG_WARN, "%s", msg);
    PGconn *pg = pgpool__remove(p, s, PGPOOL_CLOSE_CLOSED, now, NULL);
    pgpool__update_health(p, now);
    return pg;
}

/* A connect succeeded (and on_connect accepted it). mu held. */
static void connect_done(pgpool *p, pgpool__slot *s, int64_t now)
{
    p->n_connecting--;
    p->n_in_use++;
    s->state = PGPOOL__SLOT_IN_USE;
    p->st.created++;
    int64_t took = now - s->created_ns;
    pgpool__record_hist(p->st.connect_hist, &p->st.connect_sum_ns, took);
    s->created_ns = now;
    s->expires_ns =
        pgpool__lifetime_ns(p->o.max_lifetime_ms * PGPOOL__NS_PER_MS,
                            p->o.max_lifetime_jitter_ms * PGPOOL__NS_PER_MS, pgpool__random(p));
    if (s->expires_ns != INT64_MAX)
        s->expires_ns += now;
    s->idle_since_ns = now;
    p->failures = 0;
    p->last_transient = false;
    char msg[200];
    snprintf(msg, sizeof msg, "connection %llu open in %lld ms", (unsigned long long)s->id,
             (long long)(took / PGPOOL__NS_PER_MS));
    pgpool__event(p, PGPOOL_EVENT_CONNECT, s, 0, took, msg);
    pgpool__log(p, PGPOOL_LOG_DEBUG, "%s", msg);
    pgpool__update_health(p, now);
    pgpool__make_available(p, s, now);
    if (p->n_idle + p->n_in_use >= p->o.min_idle)
        p->warm = true;
    pthread_cond_broadcast(&p->ready);
}

/* Drive one connecting slot after poll() said its socket is ready (or to
 * start it). Without the lock. Returns 1 done, -1 failed, 0 in progress. */
static int drive(pgpool__slot *s, char *err, size_t errsize)
{
    s->pstat = PQconnectPoll(s->pg);
    if (s->pstat == PGRES_POLLING_OK)
        return 1;
    if (s->pstat == PGRES_POLLING_FAILED) {
        snprintf(err, errsize, "%s", PQerrorMessage(s->pg));
        return -1;
    }
    return 0;
}

/* After a successful connect: normal error texts, the notice processor,
 * the on_connect hook. Without the lock. */
static int finish_connect(pgpool *p, pgpool__slot *s, char *err, size_t errsize)
{
    PQsetErrorVerbosity(s->pg, PQERRORS_DEFAULT);
    pgpool__install_notice(s);
    if (p->o.on_connect && p->o.on_connect(s->pg, p->o.on_connect_userdata) != 0) {
        snprintf(err, errsize, "on_connect hook rejected the connection%s%s",
                 PQstatus(s->pg) == CONNECTION_BAD ? ": " : "",
                 PQstatus(s->pg) == CONNECTION_BAD ? PQerrorMessage(s->pg) : "");
        return -1;
    }
    return 0;
}

/* Close idle connections past their lifetime, stale or idle too long;
 * report leaks. mu held. Returns how many PGconns were put in closebuf. */
static int housekeeping(pgpool *p, int64_t now)
{
    int nclose = 0;
    pgpool__slot *next;
    for (pgpool__slot *s = p->idle_head; s; s = next) {
        next = s->next;
        int reason = -1;
        if (pgpool__slot_stale(p, s))
            reason = PGPOOL_CLOSE_STALE;
        else if (now >= s->expires_ns)
            reason = PGPOOL_CLOSE_LIFETIME;
        else if (p->o.idle_timeout_ms > 0 &&
                 now - s->idle_since_ns >= p->o.idle_timeout_ms * PGPOOL__NS_PER_MS &&
                 p->n_idle > p->o.min_idle)
            reason = PGPOOL_CLOSE_IDLE;
        if (reason >= 0)
            p->closebuf[nclose++] = pgpool__remove(p, s, (pgpool_close_reason)reason, now, NULL);
    }
    if (p->o.leak_threshold_ms > 0) {
        for (int i = 0; i < p->nslots; i++) {
            pgpool__slot *s = &p->slots[i];
            if (s->state != PGPOOL__SLOT_IN_USE || s->checking || s->leak_reported)
                continue;
            int64_t held = now - s->acquired_ns;
            if (held < p->o.leak_threshold_ms * PGPOOL__NS_PER_MS)
                continue;
            s->leak_reported = true;
            p->st.leaks++;
            char msg[200];
            snprintf(msg, sizeof msg,
                     "connection %llu held for %lld ms (leak_threshold %lld ms): possible leak",
                     (unsigned long long)s->id, (long long)(held / PGPOOL__NS_PER_MS),
                     (long long)p->o.leak_threshold_ms);
            pgpool__event(p, PGPOOL_EVENT_LEAK, s, 0, held, msg);
            pgpool__log(p, PGPOOL_LOG_WARN, "%s", msg);
        }
    }
    return nclose;
}

/* Idle sockets that became readable: the server said goodbye (admin
 * shutdown, restart, pg_terminate_backend) or closed the connection. mu
 * held on entry and exit; dropped around the system calls. */
static void check_idle_sockets(pgpool *p)
{
    int n = 0;
    for (pgpool__slot *s = p->idle_head; s && n < p->nslots; s = s->next) {
        p->pfds[n].fd = PQsocket(s->pg);
        p->pfds[n].events = POLLIN;
        p->pfds[n].revents = 0;
        p->pslots[n] = s;
        p->closebuf[n] = (PGconn *)(uintptr_t)s->id; /* the id as it was */
        n++;
    }
    if (n == 0)
        return;
    pthread_mutex_unlock(&p->mu);
    int r = poll(p->pfds, (nfds_t)n, 0);
    pthread_mutex_lock(&p->mu);
    if (r <= 0)
        return;
    for (int i = 0; i < n; i++) {
        pgpool__slot *s = p->pslots[i];
        if (!p->pfds[i].revents || s->state != PGPOOL__SLOT_IDLE ||
            s->id != (uint64_t)(uintptr_t)p->closebuf[i])
            continue;
        pgpool__idle_unlink(p, s);
        s->state = PGPOOL__SLOT_IN_USE;
        s->checking = true;
        p->n_in_use++;
        pthread_mutex_unlock(&p->mu);
        char err[256];
        bool dead = pgpool__slot_consume_dead(s, err, sizeof err);
        pthread_mutex_lock(&p->mu);
        s->checking = false;
        int64_t now = pgpool__now(p);
        if (dead || p->closed) {
            if (dead) {
                pgpool__set_error(p, err);
                pgpool__broken_evidence(p, s);
            }
            PGconn *c = pgpool__remove(p, s, dead ? PGPOOL_CLOSE_BROKEN : PGPOOL_CLOSE_CLOSED, now,
                                       dead ? p->last_error : NULL);
            pthread_mutex_unlock(&p->mu);
            PQfinish(c);
            pthread_mutex_lock(&p->mu);
        } else {
            /* a notice or a parameter change: still idle since then */
            pgpool__put_back(p, s, now);
        }
    }
}

static void finish_all(PGconn **list, int n)
{
    for (int i = 0; i < n; i++)
        if (list[i])
            PQfinish(list[i]);
}

void *pgpool__maint_main(void *arg)
{
    pgpool *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stopping) {
        int64_t now = pgpool__now(p);
        int64_t period = p->o.health_check_period_ms * PGPOOL__NS_PER_MS;

        if (now >= p->next_housekeeping_ns) {
            int nclose = housekeeping(p, now);
            if (nclose) {
                pthread_mutex_unlock(&p->mu);
                finish_all(p->closebuf, nclose);
                pthread_mutex_lock(&p->mu);
            }
            check_idle_sockets(p);
            now = pgpool__now(p);
            p->next_housekeeping_ns = now + period;
            p->st.maintenance_runs++;
        }

        /* Connect attempts past the pool's connect_timeout fail. */
        for (int i = 0; i < p->nslots; i++) {
            pgpool__slot *s = &p->slots[i];
            if (s->state == PGPOOL__SLOT_CONNECTING && s->pg && now >= s->connect_deadline_ns) {
                char why[128];
                snprintf(why, sizeof why, "connect timed out after %lld ms (connect_timeout)",
                         (long long)p->o.connect_timeout_ms);
                PGconn *pg = connect_failed(p, s, now, why);
                pthread_mutex_unlock(&p->mu);
                PQfinish(pg);
                pthread_mutex_lock(&p->mu);
            }
        }

        /* Start what is needed. */
        int n = connects_needed(p, now);
        for (int k = 0; k < n; k++) {
            pgpool__slot *s = alloc_slot(p, now);
            if (!s)
                break;
            pthread_mutex_unlock(&p->mu);
            PGconn *pg =
                PQconnectStartParams((const char *const *)p->kw, (const char *const *)p->vals, 1);
            char err[512] = "";
            if (!pg)
                snprintf(err, sizeof err, "out of memory starting a connection");
            else if (PQstatus(pg) == CONNECTION_BAD)
                snprintf(err, sizeof err, "%s", PQerrorMessage(pg));
            else
                PQsetErrorVerbosity(pg, PQERRORS_VERBOSE); /* SQLSTATE in the message */
            pthread_mutex_lock(&p->mu);
            s->pg = pg;
            if (err[0]) {
                PGconn *c = connect_failed(p, s, pgpool__now(p), err);
                pthread_mutex_unlock(&p->mu);
                if (c)
                    PQfinish(c);
                pthread_mutex_lock(&p->mu);
                break;
            }
        }

        /* Poll: the wake fd and every connecting socket. */
        int np = 0;
        p->pfds[np].fd = p->wake_fd;
        p->pfds[np].events = POLLIN;
        p->pfds[np].revents = 0;
        p->pslots[np++] = NULL;
        int64_t next = p->next_housekeeping_ns;
        for (int i = 0; i < p->nslots; i++) {
            pgpool__slot *s = &p->slots[i];
            if (s->state != PGPOOL__SLOT_CONNECTING || !s->pg)
                continue;
            p->pfds[np].fd = PQsocket(s->pg);
            p->pfds[np].events = s->pstat == PGRES_POLLING_READING ? POLLIN : POLLOUT;
            p->pfds[np].revents = 0;
            p->pslots[np++] = s;
            if (s->connect_deadline_ns < next)
                next = s->connect_deadline_ns;
        }
        if (p->failures > 0 && p->next_connect_ns > now && p->next_connect_ns < next &&
            (p->n_waiters > 0 || p->n_idle + p->n_connecting < p->o.min_idle))
            next = p->next_connect_ns;
        int64_t wait_ns = next - now;
        if (wait_ns > period)
            wait_ns = period;
        if (wait_ns < 0)
            wait_ns = 0;
        int timeout = (int)((wait_ns + PGPOOL__NS_PER_MS - 1) / PGPOOL__NS_PER_MS);
        pthread_mutex_unlock(&p->mu);

        pgpool__flush(p);
        int r = poll(p->pfds, (nfds_t)np, timeout);
        if (r < 0 && errno != EINTR)
            r = 0;
        if (r > 0 && p->pfds[0].revents) {
            uint64_t v;
            ssize_t rd = read(p->wake_fd, &v, sizeof v);
            (void)rd;
        }
        /* Advance the connects whose sockets are ready, without the lock. */
        for (int i = 1; r > 0 && i < np; i++) {
            pgpool__slot *s = p->pslots[i];
            if (!p->pfds[i].revents)
                continue;
            char err[512] = "";
            int d = drive(s, err, sizeof err);
            if (d > 0 && finish_connect(p, s, err, sizeof err) != 0)
                d = -1;
            if (d == 0)
                continue;
            pthread_mutex_lock(&p->mu);
            int64_t t = pgpool__now(p);
            if (d > 0 && !p->stopping) {
                connect_done(p, s, t);
            } else if (d > 0) {
                PGconn *c = pgpool__remove(p, s, PGPOOL_CLOSE_CLOSED, t, NULL);
                pthread_mutex_unlock(&p->mu);
                PQfinish(c);
                pthread_mutex_lock(&p->mu);
            } else {
                PGconn *c = connect_failed(p, s, t, err);
                pthread_mutex_unlock(&p->mu);
                PQfinish(c);
                pthread_mutex_lock(&p->mu);
            }
            pthread_mutex_unlock(&p->mu);
        }
        pthread_mutex_lock(&p->mu);
    }
    /* Stopping: abandon connects in flight. */
    for (int i = 0; i < p->nslots; i++) {
        pgpool__slot *s = &p->slots[i];
        if (s->state != PGPOOL__SLOT_CONNECTING)
            continue;
        PGconn *c = pgpool__remove(p, s, PGPOOL_CLOSE_CLOSED, pgpool__now(p), NULL);
        pthread_mutex_unlock(&p->mu);
        if (c)
            PQfinish(c);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    pgpool__flush(p);
    return NULL;
}
