#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "array_grow.h"
#include "http_client.h"
#include "log.h"
#include "source_internal.h"
#include "symbol.h"
#include "timing.h"
#include "urlcheck.h"

/* The fetch function's own return codes, judged by classify(). */
enum {
    FETCH_OK = 0,
    FETCH_TRANSPORT = 1, /* no complete answer: retry */
    FETCH_MALFORMED = 2, /* a 200 whose body does not parse: retry */
    FETCH_RATE = 3,      /* 429: retry, after Retry-After */
    FETCH_SERVER = 4,    /* 5xx, 408, 413, 499: retry */
    FETCH_AUTH = 5,      /* 401, 403: fatal */
    FETCH_REQUEST = 6,   /* other 4xx: fatal */
    FETCH_TOO_LARGE = 7, /* a body or page larger than allowed: fatal */
};

typedef struct polygon_source {
    source base;
    polygon_client *sh;
    http_client *http;
    http_response resp;
    polygon_page page;
    char url[2048];
    bool done;
    bool failed_last; /* the last request for this page failed: the next one is a retry */
    char origin[512];
    /* The job's cursor: hashes of the URLs fetched, and the page cap. */
    uint64_t *seen;
    size_t nseen, seen_cap, max_pages;
} polygon_source;

static retry_class classify(int rc, const retry_call *call, void *userdata)
{
    (void)call;
    (void)userdata;
    switch (rc) {
    case FETCH_OK:
        return RETRY_CLASS_SUCCESS;
    case FETCH_TRANSPORT:
    case FETCH_MALFORMED:
    case FETCH_RATE:
    case FETCH_SERVER:
        return RETRY_CLASS_RETRYABLE;
    default:
        return RETRY_CLASS_FATAL;
    }
}

/* Sleep that gives up early when the process is asked to stop: at once
 * with a cancel token, else within 100 ms. */
static void sleep_interruptible(int64_t ns, void *ctx)
{
    const polygon_client *sh = ctx;
    sleep_unless_stopped(ns, sh ? sh->stop : NULL,
                         sh && sh->cancel ? retry_cancel_fd(sh->cancel) : -1);
}

int polygon_client_init(polygon_client *sh, const char *base_url, const char *api_key,
                        int page_limit, long timeout_ms, int max_attempts,
                        int64_t max_retry_delay_ms, int rate_limit, int64_t rate_window_ms,
                        size_t max_body, ingest_stats *stats)
{
    if (rate_window_ms <= 0)
        rate_window_ms = 60000;
    /* requests per second */
    double rate = rate_limit > 0 ? rate_limit * 1000.0 / (double)rate_window_ms : 0;
    memset(sh, 0, sizeof *sh);
    sh->base_url = base_url;
    sh->api_key = api_key;
    sh->page_limit = page_limit;
    sh->timeout_ms = timeout_ms;
    sh->max_body = max_body;
    sh->stats = stats;

    retry_policy p = RETRY_POLICY_INIT;
    p.max_attempts = (uint32_t)max_attempts;
    p.max_delay_ns = max_retry_delay_ms * RETRY_NS_PER_MS;
    /* Waiting for the limiter is the normal state of the free tier, however
     * many workers queue: only a stop (or the job's end) cuts the wait short. */
    p.limiter_timeout_ns = INT64_MAX;
    p.backoff.base_ns = 250 * RETRY_NS_PER_MS;
    p.backoff.cap_ns = 30 * RETRY_NS_PER_S;
    p.backoff.jitter = RETRY_JITTER_FULL;
    p.classify = classify;
    p.env.sleep_ns = sleep_interruptible;
    sh->policy = p;

    if (rate > 0) {
        /* Evenly spaced requests (burst 1), with 2 % to spare, so that no
         * window ever holds more than the limit, however the server aligns
         * its window. */
        retry_limiter_options lo = RETRY_LIMITER_OPTIONS_INIT;
        lo.kind = RETRY_LIMITER_GCRA;
        lo.rate = rate / 1.02;
        lo.burst = 1;
        if (retry_limiter_new(&sh->limiter, &lo) != RETRY_OK)
            return -1;
    }
    retry_breaker_options bo = RETRY_BREAKER_OPTIONS_INIT;
    bo.window_size = 20;
    bo.min_calls = 10;
    bo.failure_rate_threshold = 50;
    bo.open_duration_ns = 5 * RETRY_NS_PER_S;
    bo.open_duration_multiplier = 2;
    bo.max_open_duration_ns = 120 * RETRY_NS_PER_S;
    bo.half_open_permits = 1;
    bo.half_open_mode = RETRY_HALF_OPEN_SUCCESS_THRESHOLD;
    if (retry_breaker_new(&sh->breaker, &bo) != RETRY_OK)
        return -1;
    retry_budget_options go = RETRY_BUDGET_OPTIONS_INIT;
    go.kind = RETRY_BUDGET_PERCENT;
    go.percent = 50;
    go.ttl_ns = 60 * RETRY_NS_PER_S;
    go.min_per_second = 1;
    if (retry_budget_new(&sh->budget, &go) != RETRY_OK)
        return -1;
    return 0;
}

void polygon_client_destroy(polygon_client *sh)
{
    retry_limiter_free(sh->limiter);
    retry_breaker_free(sh->breaker);
    retry_budget_free(sh->budget);
    memset(sh, 0, sizeof *sh);
}

/* The path of a URL for logs: no query string (it could hold anything). */
static void url_path(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://");
    p = p ? strchr(p + 3, '/') : url;
    if (!p)
        p = "/";
    size_t n = strcspn(p, "?#");
    snprintf(out, size, "%.*s", (int)n, p);
}

/* The attempt's error text: masked, valid UTF-8, cut on a character. */
__attribute__((format(printf, 2, 3))) static void set_errmsg(retry_call *call, const char *fmt, ...)
{
    char full[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(full, sizeof full, fmt, ap);
    va_end(ap);
    log_scrub(full, call->errmsg, sizeof call->errmsg);
}

static int fetch_attempt(retry_call *call, void *userdata)
{
    polygon_source *ps = userdata;
    polygon_client *sh = ps->sh;
    /* a retry, also when it comes after a wait for the breaker */
    if (call->attempt > 1 || ps->failed_last)
        atomic_fetch_add(&sh->stats->retries, 1);
    atomic_fetch_add(&sh->stats->requests, 1);
    char path[512];
    url_path(ps->url, path, sizeof path);

    if (sh->reserve) {
        int64_t waited = 0;
        char err[256];
        int rc = sh->reserve(sh->reserve_ud, &waited, err, sizeof err);
        atomic_fetch_add(&sh->stats->waited_ms, waited);
        if (rc != 0) {
            set_errmsg(call, "GET %s: %s", path, err);
            log_msg(LOG_LEVEL_WARNING, "attempt %u: %s", call->attempt, call->errmsg);
            return FETCH_TRANSPORT;
        }
    }
    int got = http_get(ps->http, ps->url, sh->api_key, &ps->resp);
    if (ps->resp.sends > 1) {
        atomic_fetch_add(&sh->stats->requests, ps->resp.sends - 1);
        atomic_fetch_add(&sh->stats->reconnects, ps->resp.sends - 1);
    }
    if (got != 0) {
        if (ps->resp.too_large) {
            set_errmsg(call, "GET %s: %s (POLYGON_MAX_BODY_BYTES); the transfer was stopped", path,
                       ps->resp.error);
            log_msg(LOG_LEVEL_ERROR, "%s", call->errmsg);
            return FETCH_TOO_LARGE;
        }
        atomic_fetch_add(&sh->stats->transport_errors, 1);
        set_errmsg(call, "GET %s: %s", path, ps->resp.error);
        log_msg(LOG_LEVEL_WARNING, "attempt %u: %s", call->attempt, call->errmsg);
        return FETCH_TRANSPORT;
    }
    long st = ps->resp.status;
    if (st >= 200 && st < 300) {
        atomic_fetch_add(&sh->stats->responses_2xx, 1);
        char err[256], clean[256];
        if (polygon_page_parse(&ps->page, ps->resp.body, ps->resp.len, err, sizeof err) != 0) {
            atomic_fetch_add(&sh->stats->malformed, 1);
            log_scrub(err, clean, sizeof clean); /* it may quote the server */
            set_errmsg(call, "GET %s: %s", path, clean);
            log_msg(LOG_LEVEL_WARNING, "attempt %u: %s", call->attempt, call->errmsg);
            return FETCH_MALFORMED;
        }
        if (ps->page.count > (size_t)sh->page_limit) {
            set_errmsg(call, "GET %s: the page has %zu bars, more than the %d asked for", path,
                       ps->page.count, sh->page_limit);
            log_msg(LOG_LEVEL_ERROR, "%s", call->errmsg);
            return FETCH_TOO_LARGE;
        }
        return FETCH_OK;
    }
    /* The server's words: masked (it may echo the key) and made valid
     * UTF-8 whole, before they are cut to fit. */
    char raw[4096], msg[200];
    polygon_error_message(ps->resp.body ? ps->resp.body : "", ps->resp.len, raw, sizeof raw);
    log_scrub(raw, msg, sizeof msg);
    memset(raw, 0, sizeof raw);
    set_errmsg(call, "GET %s: HTTP %ld%s%s", path, st, msg[0] ? ": " : "", msg);
    if (st >= 500)
        atomic_fetch_add(&sh->stats->responses_5xx, 1);
    else
        atomic_fetch_add(&sh->stats->responses_4xx, 1);
    if (st == 429) {
        atomic_fetch_add(&sh->stats->responses_429, 1);
        int64_t hint = 0;
        if (ps->resp.retry_after[0] &&
            retry_parse_retry_after(&hint, ps->resp.retry_after, strlen(ps->resp.retry_after),
                                    (int64_t)time(NULL)) == RETRY_OK)
            call->hint_ns = hint;
        log_msg(LOG_LEVEL_WARNING, "attempt %u: %s (Retry-After: %s)", call->attempt, call->errmsg,
                ps->resp.retry_after[0] ? ps->resp.retry_after : "none");
        return FETCH_RATE;
    }
    if (st >= 500 || st == 408 || st == 413 || st == 499) {
        log_msg(LOG_LEVEL_WARNING, "attempt %u: %s", call->attempt, call->errmsg);
        return FETCH_SERVER;
    }
    return st == 401 || st == 403 ? FETCH_AUTH : FETCH_REQUEST;
}

/* The shortest span of one unit of timespan, in ms; 0 when unknown. */
static int64_t unit_ms(const char *timespan)
{
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = { { "second", 1000 },        { "minute", 60000 },    { "hour", 3600000 },
                  { "day", 86400000 },       { "week", 604800000 },  { "month", 2419200000 },
                  { "quarter", 7689600000 }, { "year", 31536000000 } };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(timespan, units[i].name) == 0)
            return units[i].ms;
    return 0;
}

/*
 * The most pages a job may take: twice the pages its range needs at one bar
 * per unit (the multiplier only makes bars fewer), and 10 more. A cursor
 * that never ends stops there.
 */
static size_t page_cap(const job_spec *job, int page_limit)
{
    int64_t u = unit_ms(job->timespan);
    int64_t span = job->to_ms >= job->from_ms ? job->to_ms - job->from_ms : 0;
    int64_t bars = u > 0 ? span / u + 1 : span / 1000 + 1;
    int64_t pages = bars / (page_limit > 0 ? page_limit : 1) + 1;
    return (size_t)(pages < 1000000 ? 2 * pages + 10 : 2000010);
}

/* FNV-1a, to remember the URLs a job has fetched. */
static uint64_t url_hash(const char *url)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *url; url++)
        h = (h ^ (unsigned char)*url) * 1099511628211ULL;
    return h;
}

static bool seen_before(const polygon_source *ps, const char *url)
{
    uint64_t h = url_hash(url);
    for (size_t i = 0; i < ps->nseen; i++)
        if (ps->seen[i] == h)
            return true;
    return false;
}

/* Remember a URL fetched; -1 when out of memory. */
static int remember(polygon_source *ps, const char *url)
{
    if (array_grow(&ps->seen, &ps->seen_cap, ps->nseen + 1, sizeof *ps->seen) != 0)
        return -1;
    ps->seen[ps->nseen++] = url_hash(url);
    return 0;
}

static int polygon_begin(source *s, const job_spec *job, char *err, size_t errlen)
{
    polygon_source *ps = (polygon_source *)s;
    char ticker[3 * SYMBOL_MAX + 1];
    if (!symbol_valid(job->symbol, strlen(job->symbol)) ||
        url_path_segment(ticker, sizeof ticker, job->symbol, strlen(job->symbol)) < 0) {
        snprintf(err, errlen, "invalid symbol: not %s", SYMBOL_RULE);
        return SOURCE_FATAL;
    }
    int n =
        snprintf(ps->url, sizeof ps->url,
                 "%s/v2/aggs/ticker/%s/range/%d/%s/%lld/%lld?adjusted=%s&sort=asc&limit=%d",
                 ps->sh->base_url, ticker, job->multiplier, job->timespan, (long long)job->from_ms,
                 (long long)job->to_ms, job->adjusted ? "true" : "false", ps->sh->page_limit);
    if (n < 0 || (size_t)n >= sizeof ps->url) {
        snprintf(err, errlen, "request URL too long");
        return SOURCE_FATAL;
    }
    ps->done = false;
    ps->nseen = 0;
    ps->max_pages = page_cap(job, ps->sh->page_limit);
    return 0;
}

static int fetch_once(retry_call *call, void *userdata)
{
    polygon_source *ps = userdata;
    int rc = fetch_attempt(call, userdata);
    ps->failed_last = rc != FETCH_OK;
    return rc;
}

static int polygon_next(source *s, const polygon_page **page, char *err, size_t errlen)
{
    polygon_source *ps = (polygon_source *)s;
    polygon_client *sh = ps->sh;
    if (ps->done)
        return SOURCE_END;
    if (sh->stop && *sh->stop) {
        snprintf(err, errlen, "stopped");
        return SOURCE_FAIL;
    }

    retry_policy p = sh->policy;
    p.env.ctx = sh;
    if (sh->cancel) { /* the library's own sleeps, woken by the token */
        p.cancel = sh->cancel;
        p.env.sleep_ns = NULL;
        p.env.ctx = NULL;
    }
    int64_t turn = sh->limiter ? retry_limiter_time_until(sh->limiter, 1) : 0;
    if (turn > 0 && sh->on_rate_wait)
        sh->on_rate_wait(sh->on_rate_wait_ud, turn);
    retry_result res;
    int rc;
    /* An open breaker pauses the job rather than failing it: wait until it
     * admits a probe, a few times, before giving up on the page. */
    for (int round = 0;; round++) {
        rc = retry_run(&res, &p, sh->limiter, sh->breaker, sh->budget, fetch_once, ps);
        atomic_fetch_add(&sh->stats->waited_ms, res.waited_ns / 1000000);
        if (rc != RETRY_EOPEN || round == 5 || (sh->stop && *sh->stop))
            break;
        log_msg(LOG_LEVEL_WARNING, "the API circuit breaker is open; waiting %.1f s",
                (double)res.until_admit_ns / 1e9);
        sleep_interruptible(res.until_admit_ns > 0 ? res.until_admit_ns : RETRY_NS_PER_S, sh);
        atomic_fetch_add(&sh->stats->waited_ms, res.until_admit_ns / 1000000);
    }
    if (rc != RETRY_OK) {
        snprintf(err, errlen, "%s after %u attempt%s%s%s", retry_stop_name(res.stop), res.attempts,
                 res.attempts == 1 ? "" : "s", res.last_errmsg[0] ? ": " : "", res.last_errmsg);
        return res.stop == RETRY_STOP_FATAL ? SOURCE_FATAL : SOURCE_FAIL;
    }

    const char *next = ps->page.next_url;
    if (next) {
        /* The key goes only to the configured origin: a next_url elsewhere
         * is refused rather than followed. */
        char path[256], clean[256];
        url_path(next, path, sizeof path);
        log_scrub(path, clean, sizeof clean);
        if (!url_same_origin(next, ps->origin)) {
            snprintf(err, errlen, "next_url leaves the configured host (%.200s)", clean);
            return SOURCE_FATAL;
        }
        /* A cursor must move on: no page twice, and no more pages than
         * the range can fill. */
        if (remember(ps, ps->url) != 0) {
            snprintf(err, errlen, "out of memory");
            return SOURCE_FAIL;
        }
        if (seen_before(ps, next)) {
            snprintf(err, errlen, "next_url leads back to a page already fetched (%.200s)", clean);
            return SOURCE_FATAL;
        }
        if (ps->nseen >= ps->max_pages) {
            snprintf(err, errlen,
                     "the cursor did not end after %zu pages, the most this range can take",
                     ps->nseen);
            return SOURCE_FATAL;
        }
        snprintf(ps->url, sizeof ps->url, "%s", next);
    } else {
        ps->done = true;
    }
    atomic_fetch_add(&sh->stats->pages, 1);
    atomic_fetch_add(&sh->stats->bars_fetched, (long long)ps->page.count);
    *page = &ps->page;
    return SOURCE_PAGE;
}

static void polygon_destroy(source *s)
{
    polygon_source *ps = (polygon_source *)s;
    http_client_free(ps->http);
    http_response_free(&ps->resp);
    polygon_page_free(&ps->page);
    free(ps->seen);
    free(ps);
}

static const source_ops polygon_ops = { "polygon", polygon_begin, polygon_next, polygon_destroy };

int source_polygon_new(source **out, polygon_client *sh)
{
    *out = NULL;
    polygon_source *ps = calloc(1, sizeof *ps);
    if (!ps)
        return -1;
    ps->base.ops = &polygon_ops;
    ps->sh = sh;
    if (http_client_new(&ps->http, 10000, sh->timeout_ms, sh->max_body) != 0) {
        free(ps);
        return -1;
    }
    /* scheme://host[:port] of the base URL */
    const char *p = strstr(sh->base_url, "://");
    size_t n = p ? (size_t)(p + 3 - sh->base_url) + strcspn(p + 3, "/?#") : strlen(sh->base_url);
    snprintf(ps->origin, sizeof ps->origin, "%.*s", (int)n, sh->base_url);
    *out = &ps->base;
    return 0;
}
