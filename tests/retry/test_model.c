/*
 * A model-based test: a plain reference model of the breaker (count window),
 * the GCRA limiter and both budgets, and of the order in which retry_run()
 * goes through them, written from the documentation and sharing no code
 * with the library. Long seeded random sequences of direct calls, outcomes,
 * clock moves and whole runs drive the library and the model side by side;
 * state, counters and decisions are compared after every step, and inside
 * every call a run makes. The first mismatch fails with the seed and step.
 *
 * MODEL_SEEDS=n (environment) runs n seeds instead of the default.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fake.h"

/* ---- a small deterministic generator for the sequences ---------------- */

static uint64_t rng;

static uint32_t rnd(uint32_t n) /* uniform in [0, n) */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

static fake clk;
static unsigned seed_now;
static int step_now;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            char what_[256];                                                                       \
            snprintf(what_, sizeof what_, __VA_ARGS__);                                            \
            fail_msg("seed %u step %d: %s", seed_now, step_now, what_);                            \
        }                                                                                          \
    } while (0)

/* ---- the breaker model ------------------------------------------------- */

enum { M_CLOSED, M_OPEN, M_HALF_OPEN, M_FORCED_OPEN };

typedef struct mbreaker {
    /* options */
    uint32_t n, min_calls, frt, srt, consec_max, count_max, permits;
    int success_mode;
    int64_t slow_ns, open_ns, max_open_ns, max_wait_ns;
    uint32_t mult;
    /* state */
    int state;
    uint64_t gen;
    int64_t open_until, cur_open;
    int win_fail[16], win_slow[16], win_len; /* oldest first */
    uint32_t consec;
    uint32_t ho_flight, ho_done, ho_fails, ho_slow, ho_succ;
    int64_t ho_last;
    uint64_t calls, successes, failures, slow_calls, ignored, rejections, transitions;
} mbreaker;

typedef struct mpermit {
    uint64_t gen;
    int64_t start;
} mpermit;

static void mb_to(mbreaker *m, int to, int64_t now)
{
    m->state = to;
    m->gen++;
    m->transitions++;
    m->ho_flight = m->ho_done = m->ho_fails = m->ho_slow = m->ho_succ = 0;
    if (to == M_OPEN)
        m->open_until = now + m->cur_open;
    if (to == M_HALF_OPEN)
        m->ho_last = now;
    if (to == M_CLOSED) {
        m->win_len = 0;
        m->consec = 0;
        m->cur_open = m->open_ns;
    }
}

static void mb_refresh(mbreaker *m, int64_t now)
{
    if (m->state == M_OPEN && now >= m->open_until)
        mb_to(m, M_HALF_OPEN, now);
    if (m->state == M_HALF_OPEN && m->ho_flight > 0 && now - m->ho_last >= m->max_wait_ns) {
        m->gen++; /* stuck probes released: their outcomes no longer count */
        m->ho_flight = 0;
    }
}

static int64_t mb_until(const mbreaker *m, int64_t now)
{
    if (m->state == M_OPEN)
        return m->open_until > now ? m->open_until - now : 0;
    if (m->state == M_FORCED_OPEN)
        return INT64_MAX;
    if (m->state == M_HALF_OPEN) {
        uint32_t used = m->success_mode ? m->ho_succ : m->ho_done;
        if (m->ho_flight + used < m->permits)
            return 0;
        int64_t t = m->ho_last + m->max_wait_ns - now;
        return t > 0 ? t : 0;
    }
    return 0;
}

/* 1: admitted (p filled); 0: rejected, *wait set */
static int mb_acquire(mbreaker *m, mpermit *p, int64_t now, int64_t start_delay, int64_t *wait)
{
    mb_refresh(m, now);
    p->gen = m->gen;
    p->start = now + start_delay;
    *wait = 0;
    if (m->state == M_CLOSED) {
        m->calls++;
        return 1;
    }
    if (m->state == M_HALF_OPEN && mb_until(m, now) == 0) {
        m->ho_flight++;
        m->ho_last = now;
        m->calls++;
        return 1;
    }
    *wait = mb_until(m, now);
    m->rejections++;
    return 0;
}

static int mb_trips(const mbreaker *m)
{
    uint32_t calls = (uint32_t)m->win_len, fails = 0, slow = 0;
    for (int i = 0; i < m->win_len; i++) {
        fails += (uint32_t)m->win_fail[i];
        slow += (uint32_t)m->win_slow[i];
    }
    if (m->consec_max && m->consec >= m->consec_max)
        return 1;
    if (m->count_max && fails >= m->count_max)
        return 1;
    if (calls < m->min_calls)
        return 0;
    return fails * 100 >= m->frt * calls || (m->slow_ns > 0 && slow * 100 >= m->srt * calls);
}

static void mb_reopen(mbreaker *m, int64_t now)
{
    int64_t grown = m->cur_open * (int64_t)m->mult;
    m->cur_open = grown > m->max_open_ns ? m->max_open_ns : grown;
    mb_to(m, M_OPEN, now);
}

/* outcome: 0 success, 1 failure, 2 ignore */
static void mb_record(mbreaker *m, const mpermit *p, int outcome, int64_t now)
{
    if (p->gen != m->gen) {
        m->ignored++;
        return;
    }
    if (m->state == M_HALF_OPEN && m->ho_flight > 0)
        m->ho_flight--;
    if (outcome == 2) {
        m->ignored++;
        return;
    }
    int fail = outcome == 1;
    int slow = m->slow_ns > 0 && now - p->start >= m->slow_ns;
    if (fail)
        m->failures++;
    else
        m->successes++;
    if (slow)
        m->slow_calls++;
    if (m->state == M_CLOSED) {
        if (m->win_len == (int)m->n) {
            memmove(m->win_fail, m->win_fail + 1, (m->n - 1) * sizeof m->win_fail[0]);
            memmove(m->win_slow, m->win_slow + 1, (m->n - 1) * sizeof m->win_slow[0]);
            m->win_len--;
        }
        m->win_fail[m->win_len] = fail;
        m->win_slow[m->win_len] = slow;
        m->win_len++;
        m->consec = fail ? m->consec + 1 : 0;
        if (mb_trips(m))
            mb_to(m, M_OPEN, now);
    } else if (m->state == M_HALF_OPEN) {
        m->ho_done++;
        m->ho_fails += (uint32_t)fail;
        m->ho_slow += (uint32_t)slow;
        if (m->success_mode) {
            if (fail)
                mb_reopen(m, now);
            else if (++m->ho_succ >= m->permits)
                mb_to(m, M_CLOSED, now);
        } else if (m->ho_done >= m->permits) {
            if (m->ho_fails * 100 >= m->frt * m->ho_done ||
                (m->slow_ns > 0 && m->ho_slow * 100 >= m->srt * m->ho_done))
                mb_reopen(m, now);
            else
                mb_to(m, M_CLOSED, now);
        }
    }
}

static void mb_reset(mbreaker *m, int64_t now)
{
    m->cur_open = m->open_ns;
    m->win_len = 0;
    m->consec = 0;
    if (m->state != M_CLOSED)
        mb_to(m, M_CLOSED, now);
}

static void mb_force_open(mbreaker *m, int64_t now)
{
    if (m->state != M_FORCED_OPEN)
        mb_to(m, M_FORCED_OPEN, now);
}

/* ---- the GCRA limiter model -------------------------------------------- */

typedef struct mlimiter {
    int64_t t, tau, tat;
} mlimiter;

typedef struct mreservation {
    int64_t act;
    int valid;
} mreservation;

/* the wait for one token at now; taken when it is at most max_wait (-1:
 * never) */
static int64_t ml_take(mlimiter *m, int64_t now, int64_t max_wait, mreservation *r)
{
    int64_t start = m->tat > now ? m->tat : now;
    int64_t wait = start + m->t - now - m->tau;
    if (wait < 0)
        wait = 0;
    if (r) {
        r->act = 0;
        r->valid = 0;
    }
    if (max_wait >= 0 && wait <= max_wait) {
        m->tat = start + m->t;
        if (r) {
            r->act = now + wait;
            r->valid = 1;
        }
    }
    return wait;
}

static void ml_cancel(mlimiter *m, mreservation *r, int64_t now)
{
    if (r->valid && now <= r->act)
        m->tat -= m->t;
    r->valid = 0;
}

/* ---- the budget models ------------------------------------------------- */

typedef struct mbudget {
    int percent_kind;
    /* tokens, in thousandths */
    int64_t milli, max_milli, ratio_milli;
    /* percent: every deposit and withdrawal with the slice it fell in */
    int64_t t0, slice_ns, per_request, reserve;
    int n;
    int64_t slice[4096], amount[4096];
} mbudget;

#define M_COST INT64_C(100000000) /* a retry, in the unit of a request's deposit */

static int64_t mu_sum(const mbudget *m, int64_t now)
{
    int64_t cur = (now - m->t0) / m->slice_ns, sum = 0;
    for (int i = 0; i < m->n; i++)
        if (m->slice[i] > cur - 10)
            sum += m->amount[i];
    return sum;
}

static void mu_add(mbudget *m, int64_t now, int64_t amount)
{
    /* forget what expired, to keep the list short */
    int64_t cur = (now - m->t0) / m->slice_ns;
    int k = 0;
    for (int i = 0; i < m->n; i++)
        if (m->slice[i] > cur - 10) {
            m->slice[k] = m->slice[i];
            m->amount[k++] = m->amount[i];
        }
    m->n = k;
    CHECK(m->n < 4096, "model budget list full");
    m->slice[m->n] = cur;
    m->amount[m->n++] = amount;
}

static void mu_deposit(mbudget *m, int64_t now)
{
    if (m->percent_kind && m->per_request > 0)
        mu_add(m, now, m->per_request);
}

static void mu_record(mbudget *m, int success)
{
    if (m->percent_kind)
        return;
    if (success)
        m->milli =
            m->milli + m->ratio_milli > m->max_milli ? m->max_milli : m->milli + m->ratio_milli;
    else
        m->milli = m->milli > 1000 ? m->milli - 1000 : 0;
}

static int mu_withdraw(mbudget *m, int64_t now)
{
    if (!m->percent_kind)
        return m->milli * 2 > m->max_milli;
    if (mu_sum(m, now) + m->reserve < M_COST)
        return 0;
    mu_add(m, now, -M_COST);
    return 1;
}

static double mu_balance(const mbudget *m, int64_t now)
{
    if (!m->percent_kind)
        return (double)m->milli / 1000.0;
    int64_t avail = mu_sum(m, now) + m->reserve;
    return avail > 0 ? (double)(avail / M_COST) : 0.0;
}

/* ---- the world: library handles and their models ----------------------- */

typedef struct world {
    retry_breaker *b;
    retry_limiter *l;
    retry_budget *u;
    retry_breaker_options bo;
    mbreaker mb;
    mlimiter ml;
    mbudget mu;
    /* outstanding direct permits */
    int held;
    retry_permit perm[4];
    mpermit mperm[4];
} world;

static world W;

static void compare(const char *where)
{
    int64_t now = clk.now;
    retry_breaker_snapshot s;
    retry_breaker_snapshot_get(W.b, &s);
    mbreaker *m = &W.mb;
    mb_refresh(m, now);
    static const retry_breaker_state states[] = { RETRY_BREAKER_CLOSED, RETRY_BREAKER_OPEN,
                                                  RETRY_BREAKER_HALF_OPEN,
                                                  RETRY_BREAKER_FORCED_OPEN };
    CHECK(s.state == states[m->state], "%s: state %s, model %s", where,
          retry_breaker_state_name(s.state), retry_breaker_state_name(states[m->state]));
    uint32_t calls = 0, fails = 0, slow = 0;
    if (m->state == M_HALF_OPEN) {
        calls = m->ho_done;
        fails = m->ho_fails;
        slow = m->ho_slow;
        CHECK(s.half_open_admitted == m->ho_done + m->ho_flight, "%s: probes admitted %u, model %u",
              where, s.half_open_admitted, m->ho_done + m->ho_flight);
        CHECK(s.half_open_failed == m->ho_fails &&
                  s.half_open_succeeded == m->ho_done - m->ho_fails,
              "%s: probe outcomes", where);
    } else {
        calls = (uint32_t)m->win_len;
        for (int i = 0; i < m->win_len; i++) {
            fails += (uint32_t)m->win_fail[i];
            slow += (uint32_t)m->win_slow[i];
        }
    }
    CHECK(s.window_calls == calls && s.window_failures == fails && s.window_slow == slow,
          "%s: window %u/%u/%u, model %u/%u/%u", where, s.window_calls, s.window_failures,
          s.window_slow, calls, fails, slow);
    CHECK(s.half_open_in_flight == m->ho_flight, "%s: in flight %u, model %u", where,
          s.half_open_in_flight, m->ho_flight);
    CHECK(s.until_admit_ns == mb_until(m, now), "%s: until_admit %lld, model %lld", where,
          (long long)s.until_admit_ns, (long long)mb_until(m, now));
    CHECK(s.open_duration_ns == m->cur_open, "%s: open duration", where);
    CHECK(s.calls == m->calls && s.successes == m->successes && s.failures == m->failures,
          "%s: calls %llu/%llu/%llu, model %llu/%llu/%llu", where, (unsigned long long)s.calls,
          (unsigned long long)s.successes, (unsigned long long)s.failures,
          (unsigned long long)m->calls, (unsigned long long)m->successes,
          (unsigned long long)m->failures);
    CHECK(s.slow_calls == m->slow_calls, "%s: slow calls %llu, model %llu", where,
          (unsigned long long)s.slow_calls, (unsigned long long)m->slow_calls);
    CHECK(s.ignored == m->ignored && s.rejections == m->rejections &&
              s.transitions == m->transitions,
          "%s: ignored %llu/%llu rejections %llu/%llu transitions %llu/%llu", where,
          (unsigned long long)s.ignored, (unsigned long long)m->ignored,
          (unsigned long long)s.rejections, (unsigned long long)m->rejections,
          (unsigned long long)s.transitions, (unsigned long long)m->transitions);
    int64_t lw = retry_limiter_time_until(W.l, 1), mw = ml_take(&W.ml, now, -1, NULL);
    CHECK(lw == mw, "%s: limiter wait %lld, model %lld", where, (long long)lw, (long long)mw);
    double lb = retry_budget_balance(W.u), mbal = mu_balance(&W.mu, now);
    CHECK(lb == mbal, "%s: budget %g, model %g", where, lb, mbal);
}

/* ---- runs: the library's retry_run against the model's, in lockstep ---- */

/*
 * The model keeps its own time (mt). The library runs first; each time it
 * calls the function, the model catches up to the same call (its report of
 * the previous call, its backoff, the stages before this call, all at its
 * own time) and the two are compared: same attempt, same time, same state
 * and counters. When the library's run returns, the model finishes its own
 * and the results are compared.
 */
typedef struct mrun {
    retry_policy p;
    int64_t start, mt, waited;
    uint32_t attempts;
    retry_stop stop;
    int64_t until;
    int pending;    /* the model made a call that it has not reported yet */
    mpermit permit; /* its breaker permit */
    int rc;         /* its outcome */
    int64_t hint;
    /* the script of the calls */
    int64_t dur[8];
    int rcs[8];
    int64_t hints[8];
    int calls;
} mrun;

static mrun R;

/* What the sequences covered, printed at the end so that a change that
 * stops exercising something shows. */
static struct {
    unsigned long runs, calls, steps, stops[9], half_open_seen, slow_seen, rejections;
} cover;

/* The stages before a call, at model time. 1: the model makes the call. */
static int mr_admit(void)
{
    mbreaker *m = &W.mb;
    const retry_policy *p = &R.p;
    /* 1. the breaker is asked, without a permit, before the limiter */
    mb_refresh(m, R.mt);
    if (mb_until(m, R.mt) > 0) {
        mpermit pm;
        int64_t w;
        if (!mb_acquire(m, &pm, R.mt, 0, &w)) {
            R.until = w;
            R.stop = RETRY_STOP_BREAKER_OPEN;
            return 0;
        }
        mb_record(m, &pm, 2, R.mt);
    }
    /* 2. the limiter, within its timeout and the deadline */
    int64_t remaining = INT64_MAX, max_wait = p->limiter_timeout_ns;
    if (p->max_elapsed_ns > 0) {
        remaining = p->max_elapsed_ns - (R.mt - R.start);
        if (remaining < 0)
            remaining = 0;
        if (remaining < max_wait)
            max_wait = remaining;
    }
    mreservation res;
    int64_t wait = ml_take(&W.ml, R.mt, max_wait, &res);
    if (!res.valid) {
        R.stop = wait > remaining && wait <= p->limiter_timeout_ns ? RETRY_STOP_DEADLINE
                                                                   : RETRY_STOP_RATE_LIMIT;
        return 0;
    }
    R.waited += wait;
    R.mt += wait; /* slept, holding no permit */
    /* 3. the breaker's permit, from now */
    int64_t w;
    if (!mb_acquire(m, &R.permit, R.mt, 0, &w)) {
        ml_cancel(&W.ml, &res, R.mt);
        R.until = w;
        R.stop = RETRY_STOP_BREAKER_OPEN;
        return 0;
    }
    R.attempts++;
    return 1;
}

/* The stages after a call; R.mt is when it returned. 1: the model retries
 * (it has slept the delay). */
static int mr_report(void)
{
    const retry_policy *p = &R.p;
    int cls = R.rc == 0 ? 0 : R.rc == 400 ? 2 : 1; /* success, fatal, retryable */
    R.pending = 0;
    mb_record(&W.mb, &R.permit, cls == 0 ? 0 : cls == 1 ? 1 : 2, R.mt);
    if (cls != 2)
        mu_record(&W.mu, cls == 0);
    if (cls == 0 || cls == 2) {
        R.stop = cls == 0 ? RETRY_STOP_SUCCESS : RETRY_STOP_FATAL;
        return 0;
    }
    if (R.attempts >= p->max_attempts) {
        R.stop = RETRY_STOP_ATTEMPTS;
        return 0;
    }
    /* exponential backoff, multiplier 2, no jitter, capped */
    int64_t delay = p->backoff.base_ns;
    for (uint32_t i = 1; i < R.attempts && delay < p->backoff.cap_ns; i++)
        delay *= 2;
    if (delay > p->backoff.cap_ns)
        delay = p->backoff.cap_ns;
    if (R.hint > delay)
        delay = R.hint;
    if (delay > p->max_delay_ns)
        delay = p->max_delay_ns;
    if (p->max_elapsed_ns > 0) {
        int64_t remaining = p->max_elapsed_ns - (R.mt - R.start);
        if (remaining <= 0 || R.hint > remaining) {
            R.stop = RETRY_STOP_DEADLINE;
            return 0;
        }
        if (delay > remaining)
            delay = remaining;
    }
    if (!mu_withdraw(&W.mu, R.mt)) {
        R.stop = RETRY_STOP_BUDGET;
        return 0;
    }
    R.waited += delay;
    R.mt += delay;
    return 1;
}

/* The model up to its next call: 1 when it makes one. */
static int mr_next(void)
{
    if (R.stop != RETRY_STOP_NONE)
        return 0;
    if (R.pending && !mr_report())
        return 0;
    return mr_admit();
}

static int model_fn(retry_call *call, void *ud)
{
    (void)ud;
    CHECK(mr_next(), "the library calls (attempt %u), the model stopped: %s", call->attempt,
          retry_stop_name(R.stop));
    CHECK(call->attempt == R.attempts, "attempt %u, model %u", call->attempt, R.attempts);
    CHECK(clk.now == R.mt, "call at %lld, model at %lld", (long long)clk.now, (long long)R.mt);
    compare("in a call");
    cover.calls++;
    int i = R.calls < 8 ? R.calls : 7;
    R.calls++;
    clk.now += R.dur[i];
    R.mt += R.dur[i];
    R.rc = R.rcs[i];
    R.hint = R.hints[i];
    R.pending = 1;
    call->hint_ns = R.hint;
    return R.rc;
}

static retry_class classify(int rc, const retry_call *call, void *ud)
{
    (void)call;
    (void)ud;
    return rc == 0 ? RETRY_CLASS_SUCCESS : rc == 400 ? RETRY_CLASS_FATAL : RETRY_CLASS_RETRYABLE;
}

static void one_run(void)
{
    memset(&R, 0, sizeof R);
    retry_policy p = RETRY_POLICY_INIT;
    p.max_attempts = 1 + rnd(5);
    static const int64_t elapsed[] = { 0, 0, SEC(2), SEC(5), SEC(10) };
    p.max_elapsed_ns = elapsed[rnd(5)];
    static const int64_t maxd[] = { MS(200), SEC(1), SEC(5) };
    p.max_delay_ns = maxd[rnd(3)];
    static const int64_t lt[] = { 0, MS(500), SEC(2), SEC(10) };
    p.limiter_timeout_ns = lt[rnd(4)];
    p.backoff.jitter = RETRY_JITTER_NONE;
    static const int64_t base[] = { MS(50), MS(100), MS(300) };
    p.backoff.base_ns = base[rnd(3)];
    p.backoff.cap_ns = SEC(2);
    p.classify = classify;
    p.env = fake_env(&clk);
    R.p = p;
    for (int i = 0; i < 8; i++) {
        static const int64_t durs[] = { 0, MS(10), MS(200), MS(600), SEC(2) };
        R.dur[i] = durs[rnd(5)];
        uint32_t k = rnd(10);
        R.rcs[i] = k < 4 ? 0 : k < 9 ? 503 : 400;
        static const int64_t hints[] = { 0, 0, 0, MS(150), SEC(1), SEC(30) };
        R.hints[i] = hints[rnd(6)];
    }
    R.stop = RETRY_STOP_NONE;
    R.start = R.mt = clk.now;
    mu_deposit(&W.mu, R.mt);

    retry_result r;
    memset(&r, 0, sizeof r);
    int rc = retry_run(&r, &R.p, W.l, W.b, W.u, model_fn, NULL);
    (void)rc;
    /* the library stopped: so must the model, at the same point */
    CHECK(!mr_next(), "the library stopped (%s), the model calls again", retry_stop_name(r.stop));
    CHECK(r.stop == R.stop, "stop %s, model %s", retry_stop_name(r.stop), retry_stop_name(R.stop));
    CHECK(r.attempts == R.attempts, "attempts %u, model %u", r.attempts, R.attempts);
    CHECK(r.waited_ns == R.waited, "waited %lld, model %lld", (long long)r.waited_ns,
          (long long)R.waited);
    CHECK(clk.now == R.mt, "run ended at %lld, model at %lld", (long long)clk.now, (long long)R.mt);
    CHECK(r.elapsed_ns == R.mt - R.start, "elapsed %lld, model %lld", (long long)r.elapsed_ns,
          (long long)(R.mt - R.start));
    CHECK(r.until_admit_ns == (R.stop == RETRY_STOP_BREAKER_OPEN ? R.until : 0),
          "until_admit %lld, model %lld", (long long)r.until_admit_ns, (long long)R.until);
    compare("after a run");
    cover.runs++;
    cover.stops[r.stop]++;
}

/* ---- direct calls ------------------------------------------------------ */

static void direct_acquire(void)
{
    if (W.held == 4)
        return;
    int64_t lw = -1, mw = -1;
    int lok = retry_breaker_acquire(W.b, &W.perm[W.held], &lw) == RETRY_OK;
    int mok = mb_acquire(&W.mb, &W.mperm[W.held], clk.now, 0, &mw);
    CHECK(lok == mok, "acquire %d, model %d", lok, mok);
    if (lok)
        W.held++;
    else
        CHECK(lw == mw, "rejection wait %lld, model %lld", (long long)lw, (long long)mw);
}

static void direct_record(void)
{
    if (W.held == 0)
        return;
    int i = (int)rnd((uint32_t)W.held);
    uint32_t k = rnd(10);
    int outcome = k < 5 ? 1 : k < 9 ? 0 : 2;
    static const retry_outcome outs[] = { RETRY_OUTCOME_SUCCESS, RETRY_OUTCOME_FAILURE,
                                          RETRY_OUTCOME_IGNORE };
    retry_breaker_record(W.b, &W.perm[i], outs[outcome]);
    mb_record(&W.mb, &W.mperm[i], outcome, clk.now);
    W.held--;
    W.perm[i] = W.perm[W.held];
    W.mperm[i] = W.mperm[W.held];
}

static void direct_limiter(void)
{
    static const int64_t maxw[] = { 0, MS(100), SEC(1), SEC(5) };
    int64_t max_wait = maxw[rnd(4)];
    int64_t lw;
    retry_reservation lres;
    int lok = retry_limiter_reserve(W.l, &lw, &lres, 1, max_wait) == RETRY_OK;
    mreservation mres;
    int64_t mw = ml_take(&W.ml, clk.now, max_wait, &mres);
    CHECK(lok == mres.valid && lw == mw, "reserve %d/%lld, model %d/%lld", lok, (long long)lw,
          mres.valid, (long long)mw);
    if (lok && rnd(2)) {
        if (rnd(2))
            clk.now += mw / 2;
        retry_limiter_cancel(W.l, &lres);
        ml_cancel(&W.ml, &mres, clk.now);
    }
}

static void direct_budget(void)
{
    switch (rnd(3)) {
    case 0:
        retry_budget_deposit(W.u);
        mu_deposit(&W.mu, clk.now);
        break;
    case 1: {
        int ok = (int)rnd(2);
        retry_budget_record(W.u, ok);
        mu_record(&W.mu, ok);
        break;
    }
    default: {
        int lok = retry_budget_try_withdraw(W.u) == RETRY_OK;
        int mok = mu_withdraw(&W.mu, clk.now);
        CHECK(lok == mok, "withdraw %d, model %d", lok, mok);
        break;
    }
    }
}

/* ---- one seeded sequence ------------------------------------------------ */

static void setup_world(void)
{
    memset(&W, 0, sizeof W);
    mbreaker *m = &W.mb;
    retry_breaker_options o = RETRY_BREAKER_OPTIONS_INIT;
    o.env = fake_env(&clk);
    o.window_size = 1 + rnd(8);
    o.min_calls = 1 + rnd(10);
    static const uint32_t frt[] = { 25, 50, 75, 100 };
    o.failure_rate_threshold = frt[rnd(4)];
    o.slow_call_rate_threshold = rnd(2) ? 50 : 100;
    static const int64_t slow[] = { 0, MS(300), SEC(1) };
    o.slow_call_duration_ns = slow[rnd(3)];
    o.consecutive_failures = rnd(2) ? 0 : 2 + rnd(2);
    o.failure_count_threshold = rnd(2) ? 0 : 1 + rnd(4);
    o.open_duration_ns = SEC(1 + rnd(5));
    o.open_duration_multiplier = 1 + rnd(2);
    o.max_open_duration_ns = SEC(10);
    o.half_open_permits = 1 + rnd(3);
    o.half_open_mode = rnd(2) ? RETRY_HALF_OPEN_RATE : RETRY_HALF_OPEN_SUCCESS_THRESHOLD;
    o.max_half_open_wait_ns = SEC(2 + rnd(3));
    assert_int_equal(retry_breaker_new(&W.b, &o), RETRY_OK);
    m->n = o.window_size;
    /* documented clamps of a count window */
    m->min_calls = o.min_calls > o.window_size ? o.window_size : o.min_calls;
    m->count_max =
        o.failure_count_threshold > o.window_size ? o.window_size : o.failure_count_threshold;
    m->frt = (uint32_t)o.failure_rate_threshold;
    m->srt = (uint32_t)o.slow_call_rate_threshold;
    m->slow_ns = o.slow_call_duration_ns;
    m->consec_max = o.consecutive_failures;
    m->open_ns = m->cur_open = o.open_duration_ns;
    m->mult = (uint32_t)o.open_duration_multiplier;
    m->max_open_ns = o.max_open_duration_ns;
    m->permits = o.half_open_permits;
    m->success_mode = o.half_open_mode == RETRY_HALF_OPEN_SUCCESS_THRESHOLD;
    m->max_wait_ns = o.max_half_open_wait_ns;
    m->state = M_CLOSED;

    retry_limiter_options lo = RETRY_LIMITER_OPTIONS_INIT;
    lo.env = fake_env(&clk);
    lo.kind = RETRY_LIMITER_GCRA;
    static const double rates[] = { 1, 2, 4, 5, 10 };
    lo.rate = rates[rnd(5)];
    lo.burst = 1 + rnd(3);
    assert_int_equal(retry_limiter_new(&W.l, &lo), RETRY_OK);
    W.ml.t = (int64_t)(1e9 / lo.rate);
    W.ml.tau = W.ml.t * lo.burst;
    W.ml.tat = clk.now;

    retry_budget_options bo = RETRY_BUDGET_OPTIONS_INIT;
    bo.env = fake_env(&clk);
    if (rnd(2)) {
        bo.kind = RETRY_BUDGET_TOKENS;
        bo.max_tokens = 2 + rnd(8);
        bo.token_ratio = rnd(2) ? 0.5 : 1.0;
        W.mu.max_milli = W.mu.milli = (int64_t)bo.max_tokens * 1000;
        W.mu.ratio_milli = (int64_t)(bo.token_ratio * 1000);
    } else {
        bo.kind = RETRY_BUDGET_PERCENT;
        static const double pct[] = { 0, 10, 20, 50, 100 };
        bo.percent = pct[rnd(5)];
        bo.ttl_ns = SEC(1 + rnd(10));
        bo.min_per_second = rnd(3);
        W.mu.percent_kind = 1;
        W.mu.t0 = clk.now;
        W.mu.slice_ns = bo.ttl_ns / 10;
        W.mu.per_request = (int64_t)bo.percent * 1000000;
        W.mu.reserve = (int64_t)bo.min_per_second * (bo.ttl_ns / RETRY_NS_PER_S) * M_COST;
    }
    assert_int_equal(retry_budget_new(&W.u, &bo), RETRY_OK);
}

static void free_world(void)
{
    for (int i = 0; i < W.held; i++)
        retry_breaker_record(W.b, &W.perm[i], RETRY_OUTCOME_IGNORE);
    retry_budget_free(W.u);
    retry_limiter_free(W.l);
    retry_breaker_free(W.b);
}

static void sequence(unsigned seed, int steps)
{
    seed_now = seed;
    rng = 0x9e3779b97f4a7c15u ^ ((uint64_t)seed * 0x2545f4914f6cdd1du);
    if (rng == 0)
        rng = 1;
    memset(&clk, 0, sizeof clk);
    clk.now = SEC(1000);
    setup_world();
    for (step_now = 0; step_now < steps; step_now++) {
        uint32_t k = rnd(100);
        if (k < 25) {
            static const int64_t moves[] = { MS(1), MS(100), MS(500), SEC(1), SEC(3) };
            clk.now += moves[rnd(5)];
        } else if (k < 45) {
            direct_acquire();
        } else if (k < 60) {
            direct_record();
        } else if (k < 70) {
            direct_limiter();
        } else if (k < 78) {
            direct_budget();
        } else if (k < 80) {
            if (rnd(4) == 0) {
                retry_breaker_force_open(W.b);
                mb_force_open(&W.mb, clk.now);
            } else {
                retry_breaker_reset(W.b);
                mb_reset(&W.mb, clk.now);
            }
        } else {
            one_run();
        }
        compare("after a step");
        cover.steps++;
        cover.half_open_seen += W.mb.state == M_HALF_OPEN;
    }
    cover.slow_seen += W.mb.slow_calls;
    cover.rejections += W.mb.rejections;
    free_world();
}

static void model_agrees(void **state)
{
    (void)state;
    unsigned seeds = 300;
    const char *env = getenv("MODEL_SEEDS");
    if (env && atoi(env) > 0)
        seeds = (unsigned)atoi(env);
    for (unsigned seed = 1; seed <= seeds; seed++)
        sequence(seed, 500);
    printf("model: %u seeds, %lu steps, %lu runs, %lu calls in runs, %lu steps half-open, "
           "%lu slow calls, %lu rejections; stops:",
           seeds, cover.steps, cover.runs, cover.calls, cover.half_open_seen, cover.slow_seen,
           cover.rejections);
    for (int i = 1; i < 9; i++)
        printf(" %s %lu%s", retry_stop_name((retry_stop)i), cover.stops[i], i < 8 ? "," : "\n");
    /* every stop reason but cancellation (no token here) must have occurred */
    for (int i = 1; i < 8; i++)
        assert_true(cover.stops[i] > 0);
    assert_true(cover.half_open_seen > 0 && cover.slow_seen > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(model_agrees),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
