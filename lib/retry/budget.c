/* Retry budgets: gRPC token throttling and Finagle's percentage budget. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

#define SLICES  10
#define DEPOSIT 1000 /* TOKENS, fixed point: one token */
/* PERCENT, fixed point: a request deposits percent * UNIT and a retry costs
 * 100 * UNIT, so that every percent from 5e-7 to 1000 is exact to 1e-6 and
 * no product can overflow (the largest reserve, 1e6/s over 1 h, is
 * 3.6e17). Smaller percents deposit nothing: only the reserve remains. */
#define UNIT      INT64_C(1000000)
#define COST      (100 * UNIT)
#define SLICE_MAX (INT64_MAX / 16) /* a slice saturates here; the sum of all fits */

struct retry_budget {
    pthread_mutex_t mu;
    retry_budget_options o;
    int64_t last_now;
    int coarse;
    int64_t t0;
    /* TOKENS, in thousandths as gRPC */
    int64_t milli, max_milli, ratio_milli;
    /* PERCENT: a windowed sum over ttl in SLICES slices */
    int64_t slices[SLICES];
    int64_t sum;
    int64_t slice_ns;
    int64_t last_slice;
    int64_t slice_end; /* when last_slice ends: until then, no division */
    int64_t deposit, reserve;
};

int retry_budget_new(retry_budget **out, const retry_budget_options *opts)
{
    static const retry_budget_options defaults = RETRY_BUDGET_OPTIONS_INIT;
    *out = NULL;
    if (!opts)
        opts = &defaults;
    if (opts->version != RETRY_BUDGET_OPTIONS_VERSION)
        return RETRY_EINVAL;
    if (opts->kind == RETRY_BUDGET_TOKENS) {
        if (!(opts->max_tokens >= 1.0 && opts->max_tokens <= 1000.0) ||
            !(opts->token_ratio > 0.0 && opts->token_ratio <= opts->max_tokens))
            return RETRY_EINVAL;
    } else if (opts->kind == RETRY_BUDGET_PERCENT) {
        if (!(opts->percent >= 0.0 && opts->percent <= 1000.0) || opts->ttl_ns < RETRY_NS_PER_S ||
            opts->ttl_ns > 3600 * RETRY_NS_PER_S || opts->min_per_second > 1000000)
            return RETRY_EINVAL;
    } else {
        return RETRY_EINVAL;
    }
    retry_budget *b = calloc(1, sizeof *b);
    if (!b)
        return RETRY_ENOMEM;
    if (pthread_mutex_init(&b->mu, NULL) != 0) {
        free(b);
        return RETRY_ENOMEM;
    }
    b->o = *opts;
    b->last_now = INT64_MIN;
    b->coarse = retry__coarse_ok(
        &b->o.env, opts->kind == RETRY_BUDGET_PERCENT ? b->o.ttl_ns / SLICES : RETRY_NS_PER_S);
    b->t0 = retry__now(&b->o.env, &b->last_now, b->coarse);
    /* only the fields of the budget's kind were checked: only they are used */
    if (opts->kind == RETRY_BUDGET_TOKENS) {
        b->max_milli = (int64_t)floor(opts->max_tokens * 1000.0 + 0.5);
        b->ratio_milli = (int64_t)floor(opts->token_ratio * 1000.0 + 0.5);
        b->milli = b->max_milli;
        b->slice_ns = RETRY_NS_PER_S;
    } else {
        b->slice_ns = opts->ttl_ns / SLICES;
        /* percent <= 1000 and ttl <= 1 h were checked: both products fit */
        b->deposit = (int64_t)floor(opts->percent * (double)UNIT + 0.5);
        b->reserve = (int64_t)opts->min_per_second * opts->ttl_ns / (RETRY_NS_PER_S / COST);
    }
    b->slice_end = retry__add_sat(b->t0, b->slice_ns);
    *out = b;
    return RETRY_OK;
}

void retry_budget_free(retry_budget *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->mu);
    free(b);
}

int retry__budget_clock(const retry_budget *b)
{
    if (b->o.env.now_ns)
        return RETRY__CLOCK_CUSTOM;
    return b->coarse ? RETRY__CLOCK_COARSE : RETRY__CLOCK_PRECISE;
}

/* Expire the slices that left the ttl window. Lock held. t: a reading from
 * retry_run (see retry__time), or NULL to read the clock here. */
static int64_t *slice_at(retry_budget *b, const retry__time *t)
{
    int64_t now;
    if (t && b->o.env.now_ns == NULL && (t->precise || b->coarse))
        now = t->ns > b->last_now ? (b->last_now = t->ns) : b->last_now;
    else
        now = retry__now(&b->o.env, &b->last_now, b->coarse);
    if (now < b->slice_end) /* the usual case: still the current slice */
        return &b->slices[b->last_slice % SLICES];
    int64_t cur = retry__sub_sat(now, b->t0) / b->slice_ns;
    int64_t end = cur + 1 > INT64_MAX / b->slice_ns ? INT64_MAX : (cur + 1) * b->slice_ns;
    b->slice_end = retry__add_sat(b->t0, end);
    if (cur > b->last_slice) {
        if (cur - b->last_slice >= SLICES) {
            for (int i = 0; i < SLICES; i++)
                b->slices[i] = 0;
            b->sum = 0;
        } else {
            for (int64_t s = b->last_slice + 1; s <= cur; s++) {
                b->sum -= b->slices[s % SLICES];
                b->slices[s % SLICES] = 0;
            }
        }
        b->last_slice = cur;
    }
    return &b->slices[cur % SLICES];
}

static int64_t *slice_now(retry_budget *b)
{
    return slice_at(b, NULL);
}

void retry__budget_deposit_at(retry_budget *b, const retry__time *t)
{
    if (b->o.kind != RETRY_BUDGET_PERCENT || b->deposit == 0)
        return;
    pthread_mutex_lock(&b->mu);
    int64_t *slot = slice_at(b, t);
    int64_t add = *slot > SLICE_MAX - b->deposit ? SLICE_MAX - *slot : b->deposit;
    if (add > 0) {
        *slot += add;
        b->sum += add;
    }
    pthread_mutex_unlock(&b->mu);
}

void retry_budget_deposit(retry_budget *b)
{
    retry__budget_deposit_at(b, NULL);
}

void retry_budget_record(retry_budget *b, int success)
{
    if (b->o.kind != RETRY_BUDGET_TOKENS)
        return;
    pthread_mutex_lock(&b->mu);
    if (success) {
        b->milli += b->ratio_milli;
        if (b->milli > b->max_milli)
            b->milli = b->max_milli;
    } else {
        b->milli -= DEPOSIT;
        if (b->milli < 0)
            b->milli = 0;
    }
    pthread_mutex_unlock(&b->mu);
}

int retry_budget_try_withdraw(retry_budget *b)
{
    int rc = RETRY_EBUDGET;
    pthread_mutex_lock(&b->mu);
    if (b->o.kind == RETRY_BUDGET_TOKENS) {
        if (b->milli * 2 > b->max_milli)
            rc = RETRY_OK;
    } else {
        int64_t *slot = slice_now(b);
        if (b->sum + b->reserve >= COST) {
            *slot -= COST;
            b->sum -= COST;
            rc = RETRY_OK;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

double retry_budget_balance(retry_budget *b)
{
    double v;
    pthread_mutex_lock(&b->mu);
    if (b->o.kind == RETRY_BUDGET_TOKENS) {
        v = (double)b->milli / 1000.0;
    } else {
        (void)slice_now(b);
        int64_t avail = b->sum + b->reserve;
        v = avail > 0 ? (double)(avail / COST) : 0.0;
    }
    pthread_mutex_unlock(&b->mu);
    return v;
}
