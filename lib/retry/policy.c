/* Retry policies: retry_run() and the step API share one state machine. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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
    retry_result *res;
} op;

struct retry_state {
    retry_policy pol;
    op op;
    retry_call call;
    retry_result res;
};

int retry_policy_check(const retry_policy *p)
{
    if (p->version != RETRY_POLICY_VERSION || p->max_attempts < 1 || p->max_elapsed_ns < 0 ||
        p->max_delay_ns <= 0 || p->limiter_timeout_ns < 0)
        return RETRY_EINVAL;
    return retry_backoff_check(&p->backoff);
}

/* Read the run's clock once: the clamped time for the run, and in *t the raw
 * reading that the handles may use instead of reading their own clocks. */
static int64_t op_now(op *o, retry__time *t)
{
    int coarse = o->share ? o->share_coarse : o->coarse;
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
    o->start = op_now(o, t);
    o->prev_delay = 0;
    o->have_permit = 0;
    o->res = res;
    res->stop = RETRY_STOP_NONE;
    res->attempts = 0;
    res->waited_ns = 0;
    res->elapsed_ns = 0;
    res->last_rc = 0;
    res->last_errmsg[0] = '\0';
    if (bud)
        retry__budget_deposit_at(bud, o->share ? t : NULL);
}

static retry_step op_stop(op *o, retry_stop why, int64_t now)
{
    o->res->stop = why;
    o->res->elapsed_ns = now - o->start;
    return RETRY_STEP_DONE;
}

/* pre: the reading op_init just took (retry_run's first attempt), or NULL */
static retry_step op_admit(op *o, int64_t *wait_ns, const retry__time *pre)
{
    *wait_ns = 0;
    if (o->res->stop != RETRY_STOP_NONE)
        return RETRY_STEP_DONE;
    if (o->brk) {
        if (retry__breaker_acquire_at(o->brk, &o->permit, o->share ? pre : NULL) != RETRY_OK)
            return op_stop(o, RETRY_STOP_BREAKER_OPEN,
                           retry__now(&o->p->env, &o->last_now, o->coarse));
        o->have_permit = 1;
    }
    if (o->lim) {
        int64_t wait, max_wait = o->p->limiter_timeout_ns, remaining = INT64_MAX;
        if (o->p->max_elapsed_ns > 0) {
            /* the limiter's wait counts against the deadline too */
            int64_t now = pre ? o->start : retry__now(&o->p->env, &o->last_now, o->coarse);
            remaining = o->p->max_elapsed_ns - (now - o->start);
            if (remaining < 0)
                remaining = 0;
            if (remaining < max_wait)
                max_wait = remaining;
        }
        if (retry_limiter_reserve(o->lim, &wait, NULL, 1, max_wait) != RETRY_OK) {
            if (o->have_permit) {
                retry_breaker_record(o->brk, &o->permit, RETRY_OUTCOME_IGNORE);
                o->have_permit = 0;
            }
            retry_stop why = wait > remaining && wait <= o->p->limiter_timeout_ns
                                 ? RETRY_STOP_DEADLINE
                                 : RETRY_STOP_RATE_LIMIT;
            return op_stop(o, why, retry__now(&o->p->env, &o->last_now, o->coarse));
        }
        *wait_ns = wait;
        o->res->waited_ns += wait;
    }
    o->res->attempts++;
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
    int64_t now = op_now(o, &t);
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
    int64_t hint = call->hint_ns > p->max_delay_ns ? p->max_delay_ns : call->hint_ns;
    if (hint > delay)
        delay = hint;
    if (delay > p->max_delay_ns)
        delay = p->max_delay_ns;
    if (p->max_elapsed_ns > 0) {
        int64_t remaining = p->max_elapsed_ns - (now - o->start);
        if (remaining <= 0 || hint > remaining)
            return op_stop(o, RETRY_STOP_DEADLINE, now);
        if (delay > remaining)
            delay = remaining; /* the last delay is trimmed so the deadline holds */
    }
    if (o->bud && retry_budget_try_withdraw(o->bud) != RETRY_OK)
        return op_stop(o, RETRY_STOP_BUDGET, now);
    res->waited_ns += delay;
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
    case RETRY_STOP_NONE:
    case RETRY_STOP_FATAL:
    case RETRY_STOP_ATTEMPTS:
    case RETRY_STOP_DEADLINE:
        break;
    }
    return RETRY_EGAVEUP;
}

int retry_run(retry_result *result, const retry_policy *policy, retry_limiter *limiter,
              retry_breaker *breaker, retry_budget *budget, retry_fn fn, void *userdata)
{
    retry_result local;
    if (!result)
        result = &local;
    if (retry_policy_check(policy) != RETRY_OK) {
        memset(result, 0, sizeof *result);
        return RETRY_EINVAL;
    }
    op o;
    retry_call call;
    int64_t wait;
    retry__time t0;
    const retry__time *pre = &t0; /* the first admission uses the start's reading */
    op_init(&o, policy, limiter, breaker, budget, result, &t0);
    for (;;) {
        int done = op_admit(&o, &wait, pre) == RETRY_STEP_DONE;
        pre = NULL;
        if (done)
            break;
        retry__sleep(&policy->env, wait);
        call.attempt = result->attempts;
        call.hint_ns = 0;
        call.errmsg[0] = '\0';
        int rc = fn(&call, userdata);
        if (op_report(&o, &wait, rc, &call) == RETRY_STEP_DONE)
            break;
        retry__sleep(&policy->env, wait);
    }
    return stop_code(result->stop);
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
    s->pol = *policy;
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
    free(s);
}

retry_step retry_state_admit(retry_state *s, int64_t *wait_ns)
{
    if (s->op.have_permit) { /* admitted twice without a report: release the first */
        retry_breaker_record(s->op.brk, &s->op.permit, RETRY_OUTCOME_IGNORE);
        s->op.have_permit = 0;
    }
    return op_admit(&s->op, wait_ns, NULL);
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
    *result = s->res;
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
    }
    return "unknown";
}
