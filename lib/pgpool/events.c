/*
 * Events, log lines and the last error. Producers run with the pool's lock
 * held and only queue; pgpool__flush() delivers the queue in order, without the
 * lock, one callback at a time (cb_mu), so that a callback may call back
 * into the pool.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static pgpool__queued *ring_push(pgpool *p)
{
    if (p->ring_len == PGPOOL__RING_SIZE) { /* full: drop the oldest */
        p->ring_head = (p->ring_head + 1) % PGPOOL__RING_SIZE;
        p->ring_len--;
    }
    pgpool__queued *q = &p->ring[(p->ring_head + p->ring_len) % PGPOOL__RING_SIZE];
    p->ring_len++;
    return q;
}

void pgpool__event(pgpool *p, pgpool_event_type type, const pgpool__slot *s, int reason,
                   int64_t duration_ns, const char *msg)
{
    if (!p->o.on_event)
        return;
    pgpool__queued *q = ring_push(p);
    memset(&q->ev, 0, sizeof q->ev);
    q->is_log = false;
    q->ev.type = type;
    q->ev.conn_id = s ? s->id : 0;
    q->ev.reason = (pgpool_close_reason)reason;
    q->ev.state = p->health;
    q->ev.duration_ns = duration_ns;
    pgpool__redact(q->msg, sizeof q->msg, msg ? msg : "", p->secret);
}

void pgpool__log(pgpool *p, pgpool_log_level level, const char *fmt, ...)
{
    if (!p->o.log || level < p->o.log_level)
        return;
    char raw[PGPOOL__MSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    pgpool__queued *q = ring_push(p);
    q->is_log = true;
    q->level = level;
    pgpool__redact(q->msg, sizeof q->msg, raw, p->secret);
}

void pgpool__flush(pgpool *p)
{
    if (!p->o.on_event && !p->o.log)
        return;
    pthread_mutex_lock(&p->cb_mu);
    for (;;) {
        pgpool__queued batch[16];
        unsigned n = 0;
        pthread_mutex_lock(&p->mu);
        while (n < 16 && p->ring_len > 0) {
            batch[n++] = p->ring[p->ring_head];
            p->ring_head = (p->ring_head + 1) % PGPOOL__RING_SIZE;
            p->ring_len--;
        }
        pthread_mutex_unlock(&p->mu);
        if (n == 0)
            break;
        for (unsigned i = 0; i < n; i++) {
            pgpool__queued *q = &batch[i];
            if (q->is_log) {
                p->o.log(q->level, q->msg, p->o.log_userdata);
            } else {
                q->ev.message = q->msg;
                p->o.on_event(&q->ev, p->o.event_userdata);
            }
        }
    }
    pthread_mutex_unlock(&p->cb_mu);
}

/* The pool's last failure: one line, LOCATION: dropped, the SQLSTATE apart,
 * the password masked. */
void pgpool__set_error(pgpool *p, const char *msg)
{
    char terse[sizeof p->last_error];
    pgpool__terse(terse, sizeof terse, p->last_sqlstate, msg ? msg : "");
    pgpool__redact(p->last_error, sizeof p->last_error, terse, p->secret);
}

/* Evidence that the server went away: every connection with an id below
 * id (opened before) is stale; idle ones are closed by the maintenance
 * thread, borrowed ones on release. mu held. */
void pgpool__invalidate_below(pgpool *p, uint64_t id, const char *why)
{
    if (id <= p->stale_below)
        return;
    p->stale_below = id;
    p->next_housekeeping_ns = 0; /* close the idle ones at the next turn */
    pgpool__log(p, PGPOOL_LOG_INFO, "pool %s: connections 1..%llu invalidated: %s", p->name,
                (unsigned long long)(id - 1), why);
}

/* Recompute the health state after a connect result or a close. */
void pgpool__update_health(pgpool *p, int64_t now)
{
    pgpool_health_state h;
    if (p->failures == 0)
        h = PGPOOL_UP;
    else if (p->n_idle + p->n_in_use > 0)
        h = PGPOOL_DEGRADED;
    else
        h = PGPOOL_DOWN;
    if (h == p->health)
        return;
    pgpool_health_state old = p->health;
    p->health = h;
    p->health_since_ns = now;
    char msg[300];
    snprintf(msg, sizeof msg, "pool %s: %s -> %s%s%s", p->name, pgpool_health_state_name((int)old),
             pgpool_health_state_name((int)h), h == PGPOOL_UP ? "" : ": ",
             h == PGPOOL_UP ? "" : p->last_error);
    pgpool__event(p, PGPOOL_EVENT_STATE, NULL, 0, 0, msg);
    pgpool__log(p, h == PGPOOL_UP ? PGPOOL_LOG_INFO : PGPOOL_LOG_WARN, "%s", msg);
}
