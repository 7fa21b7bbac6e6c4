/* Retry policies: retry_run() and the step API share one state machine. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "random.h"

/* Policies of version 1 end before the cancel token; their results end
 * before until_admit_ns. */
#define POLICY_V1_SIZE offsetof(retry_policy, cancel)
#define RESULT_V1_SIZE offsetof(retry_result, until_admit_ns)

typedef struct op {
    const retry_policy *p;
    retry_limiter *lim;
    retry_breaker *brk;
    retry_budget *bud;
    uint64_t prng[2];
    int64_t last_now;
    int coarse;       /* the policy's own clock may be the coarse one */
    int share;        /* default clock: readings are offered to the handles */
    int share_coarse; /* ... and the run and every handle accept the coarse clock */
    int64_t start;
    int64_t prev_delay;
    int have_permit;
    retry_permit permit;
    int have_res; /* a limiter token is reserved for the next call */
    retry_reservation res_tok;
    retry_result *res;
} op;

struct retry_state {
    retry_policy pol;
    op op;
    retry_call call;
    retry_result res;
};

/* Copy a caller's policy of any accepted version into a full one. */
static void policy_copy(retry_policy *dst, const retry_policy *src)
{
    if (src->version == 1) {
        memset(dst, 0, sizeof *dst);
        memcpy(dst, src, POLICY_V1_SIZE);
    } else {
        *dst = *src;
    }
}

int retry_policy_check(const retry_policy *p)
{
    if ((p->version != 1 && p->version != RETRY_POLICY_VERSION) || p->max_attempts < 1 ||
        p->max_elapsed_ns < 0 || p->max_delay_ns <= 0 || p->limiter_timeout_ns < 0)
        return RETRY_EINVAL;
    return retry_backoff_check(&p->backoff);
}

/* Read the run's clock once: the clamped time for the run, and in *t the raw
 * reading that the handles may use instead of reading their own clocks.
 * precise: a handle needs the precise clock (the limiter). */
static int64_t op_now(op *o, retry__time *t, int precise)
{
    int coarse = !precise && (o->share ? o->share_coarse : o->coarse);
    int64_t v = retry__clock(&o->p->env, coarse);
    t->ns = v;
    t->precise = !coarse;
    if (v < o->last_now)
        return o->last_now;
    o->last_now = v;
    return v;
}

static void op_init(op *o, const retry_policy *p, retry_limiter *lim, retry_breaker *brk,
                    retry_budget *bud, retry_result *res, retry__time *t)
{
    o->p = p;
    o->lim = lim;
    o->brk = brk;
    o->bud = bud;
    o->prng[0] = o->prng[1] = 0;
    o->last_now = INT64_MIN;
    /* elapsed time and the deadline: the coarse clock unless a deadline
     * shorter than 100 ms needs better */
    o->coarse = p->env.now_ns == NULL &&
                (p->max_elapsed_ns == 0 || retry__coarse_ok(&p->env, p->max_elapsed_ns));
    o->share = p->env.now_ns == NULL;
    o->share_coarse = o->coarse && (!brk || retry__breaker_clock(brk) != RETRY__CLOCK_PRECISE) &&
                      (!bud || retry__budget_clock(bud) != RETRY__CLOCK_PRECISE);
    /* with a limiter, the first reading is precise and serves it too */
    o->start = op_now(o, t, lim != NULL && o->share);
    o->prev_delay = 0;
    o->have_permit = 0;
    o->have_res = 0;
    o->res = res;
    /* field by field: the message buffer needs only its terminator, and
     * clearing all of it costs as much as the rest of a successful run */
    res->stop = RETRY_STOP_NONE;
    res->attempts = 0;
    res->waited_ns = 0;
    res->elapsed_ns = 0;
    res->last_rc = 0;
    res->last_errmsg[0] = '\0';
    res->until_admit_ns = 0;
    if (bud)
        retry__budget_deposit_at(bud, o->share ? t : NULL);
}

static int64_t op_elapsed(const op *o, int64_t now)
{
    return retry__sub_sat(now, o->start);
}

static retry_step op_stop(op *o, retry_stop why, int64_t now)
{
    if (o->have_res) { /* a token reserved for a call that will not be made */
        retry_limiter_cancel(o->lim, &o->res_tok);
        o->have_res = 0;
    }
    o->res->stop = why;
    o->res->elapsed_ns = op_elapsed(o, now);
    return RETRY_STEP_DONE;
}

static int op_cancelled(const op *o)
{
    return o->p->cancel && retry_cancel_is_set(o->p->cancel);
}

/* The breaker rejects the next call: stop, saying when it admits again. */
static retry_step op_stop_open(op *o, int64_t until_admit)
{
    o->res->until_admit_ns = until_admit;
    return op_stop(o, RETRY_STOP_BREAKER_OPEN, retry__now(&o->p->env, &o->last_now, o->coarse));
}

/*
 * The stages before a call, in order: cancel token, breaker check (without
 * a permit), limiter reservation, then, once the limiter's wait is over, the
 * breaker's permit. Returns RETRY_STEP_WAIT with the token reserved when the
 * limiter asks for a wait (the caller sleeps it and calls again), CALL, or
 * DONE. pre: the reading op_init just took (retry_run's first attempt), or
 * NULL. start_delay: the wait the caller will still sleep after a CALL (the
 * version 1 step API), so that the breaker times the call from its start.
 */
static retry_step op_admit(op *o, int64_t *wait_ns, const retry__time *pre, int64_t start_delay)
{
    *wait_ns = 0;
    if (o->res->stop != RETRY_STOP_NONE)
        return RETRY_STEP_DONE;
    if (op_cancelled(o))
        return op_stop(o, RETRY_STOP_CANCELLED, retry__now(&o->p->env, &o->last_now, o->coarse));
    if (o->lim && !o->have_res) {
        if (o->brk) {
            /* an open breaker stops the run before a token is spent on it */
            int64_t until = retry__breaker_until_admit(o->brk);
            if (until > 0) {
                retry_permit pm;
                int64_t w = until;
                if (retry__breaker_acquire_at(o->brk, &pm, &w, NULL, 0) != RETRY_OK)
                    return op_stop_open(o, w);
                /* admitted after all (its time came in between; it shows in the
                 * metrics as an ignored call): no permit across the wait */
                retry_breaker_record(o->brk, &pm, RETRY_OUTCOME_IGNORE);
            }
        }
        int64_t wait, max_wait = o->p->limiter_timeout_ns, remaining = INT64_MAX;
        if (o->p->max_elapsed_ns > 0) {
            /* the limiter's wait counts against the deadline too */
            int64_t now = pre ? o->start : retry__now(&o->p->env, &o->last_now, o->coarse);
            remaining = retry__sub_sat(o->p->max_elapsed_ns, op_elapsed(o, now));
            if (remaining < 0)
                remaining = 0;
            if (remaining < max_wait)
                max_wait = remaining;
        }
        if (retry__limiter_reserve_at(o->lim, &wait, &o->res_tok, 1, max_wait,
                                      o->share ? pre : NULL) != RETRY_OK) {
            retry_stop why = wait > remaining && wait <= o->p->limiter_timeout_ns
                                 ? RETRY_STOP_DEADLINE
                                 : RETRY_STOP_RATE_LIMIT;
            return op_stop(o, why, retry__now(&o->p->env, &o->last_now, o->coarse));
        }
        o->have_res = 1;
        o->res->waited_ns = retry__add_sat(o->res->waited_ns, wait);
        if (wait > 0) {
            *wait_ns = wait;
            return RETRY_STEP_WAIT;
        }
    }
    if (o->brk) {
        int64_t until = 0;
        if (retry__breaker_acquire_at(o->brk, &o->permit, &until, o->share ? pre : NULL,
                                      start_delay) != RETRY_OK)
            return op_stop_open(o, until);
        o->have_permit = 1;
    }
    o->have_res = 0; /* the token is the call's now */
    o->res->attempts++;
    *wait_ns = start_delay;
    return RETRY_STEP_CALL;
}

static retry_step op_report(op *o, int64_t *wait_ns, int rc, const retry_call *call)
{
    const retry_policy *p = o->p;
    retry_result *res = o->res;
    *wait_ns = 0;
    if (res->stop != RETRY_STOP_NONE)
        return RETRY_STEP_DONE;
    int cls = p->classify ? (int)p->classify(rc, call, p->classify_userdata)
                          : (rc == 0 ? RETRY_CLASS_SUCCESS : RETRY_CLASS_RETRYABLE);
    if (cls != RETRY_CLASS_SUCCESS && cls != RETRY_CLASS_RETRYABLE)
        cls = RETRY_CLASS_FATAL;
    res->last_rc = rc;
    /* usually "" on success: a plain loop beats strnlen's setup */
    size_t n = 0;
    while (n < RETRY_ERRMSG_SIZE - 1 && call->errmsg[n] != '\0') {
        res->last_errmsg[n] = call->errmsg[n];
        n++;
    }
    res->last_errmsg[n] = '\0';
    /* one clock read for the end of the call: the breaker's slow-call
     * check and the run's elapsed time */
    retry__time t;
    int64_t now = op_now(o, &t, 0);
    if (o->have_permit) {
        retry__breaker_record_at(o->brk, &o->permit,
                                 cls == RETRY_CLASS_SUCCESS     ? RETRY_OUTCOME_SUCCESS
                                 : cls == RETRY_CLASS_RETRYABLE ? RETRY_OUTCOME_FAILURE
                                                                : RETRY_OUTCOME_IGNORE,
                                 o->share ? &t : NULL);
        o->have_permit = 0;
    }
    if (o->bud && cls != RETRY_CLASS_FATAL)
        retry_budget_record(o->bud, cls == RETRY_CLASS_SUCCESS);
    if (cls == RETRY_CLASS_SUCCESS)
        return op_stop(o, RETRY_STOP_SUCCESS, now);
    if (cls != RETRY_CLASS_RETRYABLE)
        return op_stop(o, RETRY_STOP_FATAL, now);
    if (res->attempts >= p->max_attempts)
        return op_stop(o, RETRY_STOP_ATTEMPTS, now);

    double u = 0.0;
    if (p->backoff.jitter != RETRY_JITTER_NONE) {
        if (!p->env.random && o->prng[0] == 0 && o->prng[1] == 0)
            retry__seed(&p->env, o->prng, o);
        u = retry__random(&p->env, o->prng);
    }
    int64_t delay = retry_backoff_delay(&p->backoff, res->attempts, o->prev_delay, u);
    o->prev_delay = delay;
    retry_delay_source source = RETRY_DELAY_BACKOFF;
    if (call->hint_ns > delay) {
        delay = call->hint_ns;
        source = RETRY_DELAY_HINT;
    }
    if (delay > p->max_delay_ns)
        delay = p->max_delay_ns;
    if (p->max_elapsed_ns > 0) {
        int64_t remaining = retry__sub_sat(p->max_elapsed_ns, op_elapsed(o, now));
        /* the server's own hint, not the capped one: calling before it
         * asked would only fail again */
        if (remaining <= 0 || call->hint_ns > remaining)
            return op_stop(o, RETRY_STOP_DEADLINE, now);
        if (delay > remaining)
            delay = remaining; /* the last delay is trimmed so the deadline holds */
    }
    if (o->bud && retry_budget_try_withdraw(o->bud) != RETRY_OK)
        return op_stop(o, RETRY_STOP_BUDGET, now);
    if (p->on_retry) {
        retry_event ev = { res->attempts, rc, call->errmsg, delay, source, call->hint_ns };
        p->on_retry(&ev, p->on_retry_userdata);
    }
    res->waited_ns = retry__add_sat(res->waited_ns, delay);
    *wait_ns = delay;
    return RETRY_STEP_CALL;
}

static int stop_code(retry_stop s)
{
    switch (s) {
    case RETRY_STOP_SUCCESS:
        return RETRY_OK;
    case RETRY_STOP_BREAKER_OPEN:
        return RETRY_EOPEN;
    case RETRY_STOP_BUDGET:
        return RETRY_EBUDGET;
    case RETRY_STOP_RATE_LIMIT:
        return RETRY_ETIMEOUT;
    case RETRY_STOP_CANCELLED:
        return RETRY_ECANCELED;
    case RETRY_STOP_NONE:
    case RETRY_STOP_FATAL:
    case RETRY_STOP_ATTEMPTS:
    case RETRY_STOP_DEADLINE:
        break;
    }
    return RETRY_EGAVEUP;
}

/* Copy a result into a caller's struct of the policy's version. */
static void result_out(retry_result *dst, const retry_result *src, unsigned version)
{
    memcpy(dst, src, version == 1 ? RESULT_V1_SIZE : sizeof *dst);
}

int retry_run(retry_result *result, const retry_policy *policy, retry_limiter *limiter,
              retry_breaker *breaker, retry_budget *budget, retry_fn fn, void *userdata)
{
    if (retry_policy_check(policy) != RETRY_OK) {
        if (result) /* sized for a version 1 caller unless it is a version 2 one */
            memset(result, 0,
                   policy->version == RETRY_POLICY_VERSION ? sizeof *result : RESULT_V1_SIZE);
        return RETRY_EINVAL;
    }
    /* a current caller's policy and result are used in place; an older
     * caller's are shorter: copied into full ones */
    int current = policy->version == RETRY_POLICY_VERSION;
    retry_policy full;
    const retry_policy *pol = policy;
    if (!current) {
        policy_copy(&full, policy);
        pol = &full;
    }
    retry_result local;
    retry_result *res = current && result ? result : &local;
    op o;
    retry_call call;
    int64_t wait;
    retry__time t0;
    const retry__time *pre = &t0; /* the first admission uses the start's reading */
    op_init(&o, pol, limiter, breaker, budget, res, &t0);
    for (;;) {
        retry_step st = op_admit(&o, &wait, pre, 0);
        pre = NULL;
        if (st == RETRY_STEP_DONE)
            break;
        if (st == RETRY_STEP_CALL) {
            call.attempt = res->attempts;
            call.hint_ns = 0;
            call.errmsg[0] = '\0';
            int rc = fn(&call, userdata);
            if (op_report(&o, &wait, rc, &call) == RETRY_STEP_DONE)
                break;
        }
        /* the limiter's wait (no breaker permit held) or the backoff delay */
        if (retry__sleep_cancel(&pol->env, wait, pol->cancel)) {
            op_stop(&o, RETRY_STOP_CANCELLED, retry__now(&pol->env, &o.last_now, o.coarse));
            break;
        }
    }
    if (result && res != result)
        result_out(result, res, policy->version);
    return stop_code(res->stop);
}

int retry_state_new(retry_state **out, const retry_policy *policy, retry_limiter *limiter,
                    retry_breaker *breaker, retry_budget *budget)
{
    *out = NULL;
    if (retry_policy_check(policy) != RETRY_OK)
        return RETRY_EINVAL;
    retry_state *s = calloc(1, sizeof *s);
    if (!s)
        return RETRY_ENOMEM;
    policy_copy(&s->pol, policy);
    retry__time t;
    op_init(&s->op, &s->pol, limiter, breaker, budget, &s->res, &t);
    *out = s;
    return RETRY_OK;
}

void retry_state_free(retry_state *s)
{
    if (!s)
        return;
    if (s->op.have_permit)
        retry_breaker_record(s->op.brk, &s->op.permit, RETRY_OUTCOME_IGNORE);
    if (s->op.have_res)
        retry_limiter_cancel(s->op.lim, &s->op.res_tok);
    free(s);
}

retry_step retry_state_admit(retry_state *s, int64_t *wait_ns)
{
    if (s->op.have_permit) { /* admitted twice without a report: release the first */
        retry_breaker_record(s->op.brk, &s->op.permit, RETRY_OUTCOME_IGNORE);
        s->op.have_permit = 0;
    }
    if (s->pol.version == 1) {
        /* no WAIT step: the call is made after the limiter's wait, and the
         * breaker times it from then */
        retry_step st = op_admit(&s->op, wait_ns, NULL, 0);
        if (st != RETRY_STEP_WAIT)
            return st;
        int64_t wait = *wait_ns;
        return op_admit(&s->op, wait_ns, NULL, wait);
    }
    return op_admit(&s->op, wait_ns, NULL, 0);
}

retry_step retry_state_report(retry_state *s, int64_t *wait_ns, int rc, int64_t hint_ns,
                              const char *errmsg)
{
    s->call.attempt = s->res.attempts;
    s->call.hint_ns = hint_ns;
    s->call.errmsg[0] = '\0';
    if (errmsg) {
        size_t n = strnlen(errmsg, RETRY_ERRMSG_SIZE - 1);
        memcpy(s->call.errmsg, errmsg, n);
        s->call.errmsg[n] = '\0';
    }
    return op_report(&s->op, wait_ns, rc, &s->call);
}

void retry_state_result(const retry_state *s, retry_result *result)
{
    result_out(result, &s->res, s->pol.version);
}

const char *retry_stop_name(retry_stop s)
{
    switch (s) {
    case RETRY_STOP_NONE:
        return "running";
    case RETRY_STOP_SUCCESS:
        return "success";
    case RETRY_STOP_FATAL:
        return "fatal error";
    case RETRY_STOP_ATTEMPTS:
        return "attempts exhausted";
    case RETRY_STOP_DEADLINE:
        return "deadline reached";
    case RETRY_STOP_BREAKER_OPEN:
        return "circuit breaker open";
    case RETRY_STOP_BUDGET:
        return "retry budget exhausted";
    case RETRY_STOP_RATE_LIMIT:
        return "rate limit timeout";
    case RETRY_STOP_CANCELLED:
        return "cancelled";
    }
    return "unknown";
}
