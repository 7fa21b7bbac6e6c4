/* libFuzzer target for retry_run(), the step API and the handles it drives:
 * the input picks the options of a breaker, a limiter, a budget and a policy
 * (extreme values included), then a sequence of runs, step-API operations,
 * direct handle calls and clock moves (forwards, backwards, to the ends of
 * int64_t), with each call's outcome, Retry-After hint and duration. Checks
 * the documented contract after every operation; UBSan checks the
 * arithmetic. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <retry/retry.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct input {
    const uint8_t *p;
    size_t n;
} input;

static uint8_t byte(input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

static uint64_t raw64(input *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | byte(in);
    return v;
}

static int64_t pick_i64(input *in)
{
    switch (byte(in) % 8) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return -1;
    case 3:
        return INT64_MAX;
    case 4:
        return INT64_MIN;
    case 5:
        return (int64_t)byte(in) * RETRY_NS_PER_MS;
    case 6:
        return (int64_t)byte(in) * RETRY_NS_PER_S;
    default:
        return (int64_t)raw64(in);
    }
}

static double pick_dbl(input *in)
{
    switch (byte(in) % 8) {
    case 0:
        return 0.0;
    case 1:
        return 1e-15;
    case 2:
        return NAN;
    case 3:
        return INFINITY;
    case 4:
        return 1e300;
    case 5:
        return (double)byte(in) / 2.55;
    case 6:
        return (double)byte(in);
    default: {
        uint64_t u = raw64(in);
        double d;
        memcpy(&d, &u, sizeof d);
        return d;
    }
    }
}

static uint32_t pick_u32(input *in)
{
    switch (byte(in) % 6) {
    case 0:
        return 0;
    case 1:
        return 1;
    case 2:
        return UINT32_MAX;
    case 3:
    case 4:
        return byte(in);
    default:
        return (uint32_t)raw64(in);
    }
}

/* The fake world: a clock that moves when told or when the library sleeps
 * (saturating at the ends of int64_t), and the input as the source of
 * everything the retried function does. */
typedef struct world {
    int64_t now;
    input *in;
    double rnd;
    retry_cancel *cancel;
} world;

static int64_t w_now(void *ctx)
{
    return ((world *)ctx)->now;
}

static void w_advance(world *w, int64_t ns)
{
    if (ns > 0 && w->now > INT64_MAX - ns)
        w->now = INT64_MAX;
    else if (ns < 0 && w->now < INT64_MIN - ns)
        w->now = INT64_MIN;
    else
        w->now += ns;
}

static void w_sleep(int64_t ns, void *ctx)
{
    if (ns < 0)
        abort(); /* the library never sleeps a negative time */
    w_advance(ctx, ns);
}

static double w_random(void *ctx)
{
    return ((world *)ctx)->rnd;
}

static retry_env env_of(world *w)
{
    retry_env e = RETRY_ENV_INIT;
    e.now_ns = w_now;
    e.sleep_ns = w_sleep;
    e.random = w_random;
    e.ctx = w;
    return e;
}

/* The retried function: its duration, return code and hint from the input;
 * sometimes it sets the cancel token, as a signal would. */
static int fn(retry_call *call, void *ud)
{
    world *w = ud;
    uint8_t op = byte(w->in);
    w_advance(w, pick_i64(w->in) & INT64_C(0x3fffffffffff)); /* up to ~20 h */
    call->hint_ns = (op & 1) ? pick_i64(w->in) : 0;
    if ((op & 0x30) == 0x30 && w->cancel)
        retry_cancel_set(w->cancel);
    if (op & 2)
        call->errmsg[0] = 'x', call->errmsg[1] = '\0';
    return (op & 4) ? (int)(op >> 3) : 0;
}

static void check_result(const retry_result *r, int rc, const retry_policy *p)
{
    if (r->stop == RETRY_STOP_NONE || r->waited_ns < 0 || r->elapsed_ns < 0 ||
        r->attempts > p->max_attempts || r->until_admit_ns < 0)
        abort();
    int want = RETRY_EGAVEUP;
    switch (r->stop) {
    case RETRY_STOP_SUCCESS:
        want = RETRY_OK;
        break;
    case RETRY_STOP_BREAKER_OPEN:
        want = RETRY_EOPEN;
        break;
    case RETRY_STOP_BUDGET:
        want = RETRY_EBUDGET;
        break;
    case RETRY_STOP_RATE_LIMIT:
        want = RETRY_ETIMEOUT;
        break;
    case RETRY_STOP_CANCELLED:
        want = RETRY_ECANCELED;
        break;
    default:
        break;
    }
    if (rc != want)
        abort();
    if (r->stop != RETRY_STOP_BREAKER_OPEN && r->until_admit_ns != 0)
        abort();
}

static void check_handles(retry_breaker *b, retry_limiter *l, retry_budget *bud)
{
    if (b) {
        retry_breaker_snapshot s;
        memset(&s, 0, sizeof s); /* a version 1 breaker leaves the half-open counts */
        retry_breaker_snapshot_get(b, &s);
        if (s.window_failures > s.window_calls || s.window_slow > s.window_calls ||
            s.until_admit_ns < 0 || s.open_duration_ns <= 0 ||
            (unsigned)s.state > (unsigned)RETRY_BREAKER_DISABLED)
            abort();
        if (s.failure_rate > 100.0 || s.slow_call_rate > 100.0)
            abort();
        if (s.state == RETRY_BREAKER_HALF_OPEN &&
            s.half_open_succeeded + s.half_open_failed > s.half_open_admitted)
            abort();
    }
    if (l && retry_limiter_time_until(l, 1) < 0)
        abort();
    if (bud && !(retry_budget_balance(bud) >= 0.0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in = { data, size };
    world w = { 0, &in, 0.5, NULL };
    uint8_t flags = byte(&in);
    w.now = pick_i64(&in);
    w.rnd = (double)byte(&in) / 255.0;

    retry_breaker *b = NULL;
    retry_limiter *l = NULL;
    retry_budget *bud = NULL;
    if (flags & 1) {
        retry_breaker_options o = RETRY_BREAKER_OPTIONS_INIT;
        o.window_kind = (retry_window_kind)(byte(&in) % 3);
        o.window_size = pick_u32(&in) % 200001;
        o.min_calls = pick_u32(&in);
        o.failure_rate_threshold = pick_dbl(&in);
        o.slow_call_rate_threshold = pick_dbl(&in);
        o.slow_call_duration_ns = pick_i64(&in);
        o.consecutive_failures = pick_u32(&in);
        o.open_duration_ns = pick_i64(&in);
        o.open_duration_multiplier = pick_dbl(&in);
        o.max_open_duration_ns = pick_i64(&in);
        o.half_open_permits = pick_u32(&in);
        o.half_open_mode = (retry_half_open_mode)(byte(&in) % 3);
        o.max_half_open_wait_ns = pick_i64(&in);
        o.failure_count_threshold = pick_u32(&in);
        o.version = (flags & 0x80) ? 1 : RETRY_BREAKER_OPTIONS_VERSION;
        o.env = env_of(&w);
        if (retry_breaker_new(&b, &o) != RETRY_OK && b)
            abort();
    }
    if (flags & 2) {
        retry_limiter_options o = RETRY_LIMITER_OPTIONS_INIT;
        o.kind = (retry_limiter_kind)(byte(&in) % 4);
        o.rate = pick_dbl(&in);
        o.burst = pick_u32(&in);
        o.window_ns = pick_i64(&in);
        o.env = env_of(&w);
        if (retry_limiter_new(&l, &o) != RETRY_OK && l)
            abort();
    }
    if (flags & 4) {
        retry_budget_options o = RETRY_BUDGET_OPTIONS_INIT;
        o.kind = (retry_budget_kind)(byte(&in) % 3);
        o.max_tokens = pick_dbl(&in);
        o.token_ratio = pick_dbl(&in);
        o.percent = pick_dbl(&in);
        o.ttl_ns = pick_i64(&in);
        o.min_per_second = pick_u32(&in);
        o.env = env_of(&w);
        if (retry_budget_new(&bud, &o) != RETRY_OK && bud)
            abort();
    }
    if ((flags & 8) && retry_cancel_new(&w.cancel) != RETRY_OK)
        w.cancel = NULL;

    retry_policy p = RETRY_POLICY_INIT;
    p.max_attempts = pick_u32(&in) % 32;
    p.max_elapsed_ns = pick_i64(&in);
    p.max_delay_ns = pick_i64(&in);
    p.limiter_timeout_ns = pick_i64(&in);
    p.backoff.kind = (retry_backoff_kind)(byte(&in) % 4);
    p.backoff.base_ns = pick_i64(&in);
    p.backoff.multiplier = pick_dbl(&in);
    p.backoff.increment_ns = pick_i64(&in);
    p.backoff.cap_ns = pick_i64(&in);
    p.backoff.jitter = (retry_jitter)(byte(&in) % 6);
    p.backoff.jitter_factor = pick_dbl(&in) / 100.0;
    p.env = env_of(&w);
    p.cancel = w.cancel;
    if (flags & 0x40)
        p.version = 1;
    int valid = retry_policy_check(&p) == RETRY_OK;

    for (int ops = 0; in.n > 0 && ops < 200; ops++) {
        uint8_t op = byte(&in);
        switch (op % 8) {
        case 0: { /* a whole run */
            retry_result r;
            memset(&r, 0, sizeof r);
            int rc = retry_run(&r, &p, l, b, bud, fn, &w);
            if (!valid) {
                if (rc != RETRY_EINVAL)
                    abort();
                break;
            }
            check_result(&r, rc, &p);
            break;
        }
        case 1: { /* the step API, the caller sleeping by moving the clock */
            retry_state *st = NULL;
            if (retry_state_new(&st, &p, l, b, bud) != RETRY_OK) {
                if (valid)
                    abort();
                break;
            }
            for (int i = 0; i < 64; i++) {
                int64_t wait = -1;
                retry_step s = retry_state_admit(st, &wait);
                if (wait < 0)
                    abort();
                if (s == RETRY_STEP_DONE)
                    break;
                w_advance(&w, wait);
                if (s == RETRY_STEP_WAIT) {
                    if (p.version == 1)
                        abort();
                    continue;
                }
                retry_call call;
                memset(&call, 0, sizeof call);
                int rc = fn(&call, &w);
                if (byte(&in) & 1) { /* sometimes the call is abandoned */
                    break;
                }
                s = retry_state_report(st, &wait, rc, call.hint_ns, call.errmsg);
                if (wait < 0)
                    abort();
                if (s == RETRY_STEP_DONE)
                    break;
                w_advance(&w, wait);
            }
            retry_result r;
            memset(&r, 0, sizeof r);
            retry_state_result(st, &r);
            if (r.waited_ns < 0 || r.elapsed_ns < 0 || r.attempts > p.max_attempts)
                abort();
            retry_state_free(st);
            break;
        }
        case 2: /* the clock moves, forwards or back */
            w_advance(&w, pick_i64(&in));
            break;
        case 3:
            if (b) {
                retry_permit pm;
                int64_t wait = -1;
                if (retry_breaker_acquire(b, &pm, &wait) == RETRY_OK) {
                    w_advance(&w, pick_i64(&in) & INT64_C(0xffffffffff));
                    retry_breaker_record(b, &pm, (retry_outcome)(byte(&in) % 4));
                } else if (wait < 0) {
                    abort(); /* a rejection says how long to wait */
                }
            }
            break;
        case 4:
            if (l) {
                int64_t wait = -1;
                retry_reservation res;
                uint32_t n = pick_u32(&in);
                int rc = retry_limiter_reserve(l, &wait, &res, n, pick_i64(&in));
                if (rc == RETRY_OK && wait < 0)
                    abort();
                if (rc == RETRY_OK && (byte(&in) & 1))
                    retry_limiter_cancel(l, &res);
            }
            break;
        case 5:
            if (bud) {
                uint8_t k = byte(&in);
                if (k & 1)
                    retry_budget_deposit(bud);
                if (k & 2)
                    retry_budget_record(bud, k & 4);
                if ((k & 8) && retry_budget_try_withdraw(bud) != RETRY_OK &&
                    retry_budget_try_withdraw(bud) == RETRY_OK)
                    abort(); /* refused, and nothing changed since: refused again */
            }
            break;
        case 6:
            if (b) {
                uint8_t k = byte(&in) % 4;
                if (k == 1)
                    retry_breaker_force_open(b);
                else if (k == 2)
                    retry_breaker_disable(b);
                else if (k == 3)
                    retry_breaker_reset(b);
            }
            break;
        default:
            w.rnd = (double)byte(&in) / 255.0;
            break;
        }
        check_handles(b, l, bud);
    }
    retry_cancel_free(w.cancel);
    retry_budget_free(bud);
    retry_limiter_free(l);
    retry_breaker_free(b);
    return 0;
}
