#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "agg.h"
#include "new_york_time.h"
#include "request.h"
#include "server.h"
#include "strbuf.h"
#include "symbol.h"
#include "timing.h"

static const char *const fault_names[FAULT_COUNT] = {
    [FAULT_NONE] = "none",   [FAULT_500] = "500",           [FAULT_502] = "502",
    [FAULT_503] = "503",     [FAULT_504] = "504",           [FAULT_429] = "429",
    [FAULT_DELAY] = "delay", [FAULT_TRUNCATE] = "truncate", [FAULT_MALFORMED] = "malformed",
    [FAULT_DROP] = "drop",
};

const char *fault_name(enum fault f)
{
    return f < FAULT_COUNT ? fault_names[f] : "?";
}

bool fault_parse(const char *name, enum fault *out)
{
    for (int f = FAULT_500; f < FAULT_COUNT; f++) {
        if (strcmp(name, fault_names[f]) == 0) {
            *out = (enum fault)f;
            return true;
        }
    }
    return false;
}

/* splitmix64: small, seedable, good enough to pick faults. */
static uint64_t next_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int replay_server_init(replay_server *s, const replay_config *cfg, const store *st, FILE *log)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->store = st;
    s->rng = cfg->seed;
    s->log = log;
    if (cfg->rate_limit_per_min > 0) {
        s->window = calloc((size_t)cfg->rate_limit_per_min, sizeof *s->window);
        if (!s->window)
            return -1;
    }
    return pthread_mutex_init(&s->lock, NULL) == 0 ? 0 : -1;
}

void replay_server_destroy(replay_server *s)
{
    pthread_mutex_destroy(&s->lock);
    free(s->window);
}

static void request_id(replay_server *s, char out[33])
{
    pthread_mutex_lock(&s->lock);
    uint64_t a = next_rand(&s->rng), c = next_rand(&s->rng);
    pthread_mutex_unlock(&s->lock);
    snprintf(out, 33, "%016llx%016llx", (unsigned long long)a, (unsigned long long)c);
}

typedef struct request {
    int status;
    enum fault fault;
    size_t bars;
    int64_t started_mono;
    char path[1024];
} request;

static void log_request(replay_server *s, const request *rq)
{
    if (!s->log)
        return;
    int64_t now = mono_ms();
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "t_ms", (double)wall_ms());
    cJSON_AddNumberToObject(o, "mono_ms", (double)rq->started_mono);
    cJSON_AddStringToObject(o, "method", "GET");
    cJSON_AddStringToObject(o, "path", rq->path);
    cJSON_AddNumberToObject(o, "status", rq->status);
    cJSON_AddStringToObject(o, "fault", fault_name(rq->fault));
    cJSON_AddNumberToObject(o, "bars", (double)rq->bars);
    cJSON_AddNumberToObject(o, "dur_ms", (double)(now - rq->started_mono));
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!line)
        return;
    pthread_mutex_lock(&s->lock);
    fprintf(s->log, "%s\n", line);
    fflush(s->log);
    pthread_mutex_unlock(&s->lock);
    cJSON_free(line);
}

static enum MHD_Result send_body(struct MHD_Connection *conn, int status, char *body, size_t len,
                                 const char *retry_after)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (retry_after)
        MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(replay_server *s, struct MHD_Connection *conn, request *rq,
                                 int status, const char *key, const char *value,
                                 const char *status_word, const char *retry_after)
{
    char id[33];
    request_id(s, id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", status_word);
    cJSON_AddStringToObject(o, "request_id", id);
    cJSON_AddStringToObject(o, key, value);
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *body = text ? strdup(text) : NULL; /* MHD frees it with free() */
    cJSON_free(text);
    if (!body)
        return MHD_NO;
    rq->status = status;
    log_request(s, rq);
    return send_body(conn, status, body, strlen(body), retry_after);
}

/* Truncated body: promise len bytes, deliver half of them, then fail. */
typedef struct partial {
    char *body;
    size_t len;
} partial;

static ssize_t partial_reader(void *cls, uint64_t pos, char *out, size_t max)
{
    partial *p = cls;
    size_t half = p->len / 2;
    if (pos >= half)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    size_t n = half - (size_t)pos;
    if (n > max)
        n = max;
    memcpy(out, p->body + pos, n);
    return (ssize_t)n;
}

static void partial_free(void *cls)
{
    partial *p = cls;
    free(p->body);
    free(p);
}

/* The bars of q: the view's own run [*lo, *lo + *n) when the request asks
 * for the data's own bars, else *agg (malloc'ed, *n windows; NULL with *n 0
 * when there is nothing). Returns false when out of memory. */
static bool select_bars(const series *se, const query *q, const view *v, size_t *lo, size_t *n,
                        dq_candle **agg)
{
    *lo = *n = 0;
    *agg = NULL;
    if (!se || q->from > q->to || q->span < se->base)
        return true; /* finer than the data: nothing, as Polygon answers */
    size_t begin = series_lower_bound(se, q->from);
    size_t end = q->to == INT64_MAX ? se->count : series_lower_bound(se, q->to + 1);
    if (end <= begin)
        return true;
    if (q->span == se->base && q->multiplier == 1) {
        *lo = begin;
        *n = end - begin;
        return true;
    }
    *agg = malloc((end - begin) * sizeof **agg);
    if (!*agg)
        return false;
    *n = agg_bars(v->bars + begin, end - begin, q->span, q->multiplier, q->from, *agg);
    return true;
}

/* The page body for q; *nbars receives the number of bars in it. The
 * ticker comes from the request: escaped in the JSON (cJSON), one
 * percent-encoded segment in next_url. */
static void build_page(replay_server *s, const query *q, strbuf *b, size_t *nbars)
{
    cJSON *tj = cJSON_CreateString(q->ticker);
    char *ticker_json = tj ? cJSON_PrintUnformatted(tj) : NULL;
    cJSON_Delete(tj);
    if (!ticker_json) {
        b->failed = true;
        *nbars = 0;
        return;
    }
    const series *se = store_find(s->store, q->ticker);
    const view *v = se ? &se->views[q->adjusted ? 1 : 0] : NULL;
    size_t first = 0, total = 0;
    dq_candle *agg = NULL;
    if (!select_bars(se, q, v, &first, &total, &agg)) {
        b->failed = true;
        return;
    }
    size_t take = total < (size_t)q->limit ? total : (size_t)q->limit;
    char id[33];
    request_id(s, id);

    /* The page's bars are the last `take` of the selection when descending.
     * The data's own bars are one run of the view's text: reserve the whole
     * page at once; the rest of it is under 1 KiB besides public_base. */
    size_t lo = q->desc ? total - take : 0;
    size_t run = agg ? take * BAR_TEXT_MAX
                     : (take > 0 ? v->text_off[first + lo + take] - v->text_off[first + lo] : 0);
    strbuf_reserve(b, run + 1024 + strlen(s->cfg.public_base));

    strbuf_printf(b, "{\"ticker\":%s,\"queryCount\":%zu,\"resultsCount\":%zu,\"adjusted\":%s",
                  ticker_json, take, take, q->adjusted ? "true" : "false");
    cJSON_free(ticker_json);
    if (take > 0) {
        strbuf_printf(b, ",\"results\":[");
        strbuf_reserve(b, run);
        if (!b->failed) {
            char *out = b->p + b->len;
            if (agg) {
                for (size_t i = 0; i < take; i++)
                    out = bar_render(out, &agg[q->desc ? total - 1 - i : i]);
                b->len = (size_t)(out - b->p) - 1; /* without the last bar's ',' */
            } else if (!q->desc) {
                memcpy(out, v->text + v->text_off[first + lo], run);
                b->len += run - 1;
            } else {
                for (size_t k = first + total; k-- > first + lo;) {
                    size_t n = v->text_off[k + 1] - v->text_off[k];
                    memcpy(out, v->text + v->text_off[k], n);
                    out += n;
                }
                b->len += run - 1;
            }
        }
        strbuf_printf(b, "]");
    }
    strbuf_printf(b, ",\"status\":\"OK\",\"request_id\":\"%s\",\"count\":%zu", id, take);
    char ticker_path[3 * sizeof q->ticker];
    if (take > 0 && take < total &&
        url_path_segment(ticker_path, sizeof ticker_path, q->ticker, strlen(q->ticker)) >= 0) {
        /* As Polygon: the next page's path moves the bound past this page,
         * the cursor carries the other parameters, and the key is absent.
         * A window's start is where the next page begins (ascending) or
         * just past where it ends (descending). */
        const dq_candle *bars = agg ? agg : v->bars + first;
        char state[128], cursor[256];
        snprintf(state, sizeof state, "limit=%lld&sort=%s&adjusted=%s", (long long)q->limit,
                 q->desc ? "desc" : "asc", q->adjusted ? "true" : "false");
        replay_b64_encode(state, cursor, sizeof cursor);
        char from[32], to[32];
        snprintf(from, sizeof from, "%s", q->from_text);
        snprintf(to, sizeof to, "%s", q->to_text);
        if (q->desc && agg)
            snprintf(to, sizeof to, "%lld", (long long)bars[total - take].ts - 1);
        else if (q->desc)
            snprintf(to, sizeof to, "%lld", (long long)bars[total - 1 - take].ts);
        else
            snprintf(from, sizeof from, "%lld", (long long)bars[take].ts);
        strbuf_printf(b, ",\"next_url\":\"%s/v2/aggs/ticker/%s/range/%lld/%s/%s/%s?cursor=%s\"",
                      s->cfg.public_base, ticker_path, (long long)q->multiplier, q->timespan, from,
                      to, cursor);
    }
    strbuf_printf(b, "}");
    free(agg);
    *nbars = take;
}

static const char *request_key(struct MHD_Connection *conn)
{
    const char *auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        return auth + 7;
    return MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "apiKey");
}

typedef struct query_text {
    strbuf *b;
    bool first;
} query_text;

static enum MHD_Result append_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    (void)kind;
    query_text *qt = cls;
    if (strcasecmp(key, "apiKey") == 0) /* never log the key */
        return MHD_YES;
    strbuf_printf(qt->b, "%c%s=%s", qt->first ? '?' : '&', key, value ? value : "");
    qt->first = false;
    return MHD_YES;
}

static enum fault pick_fault(replay_server *s)
{
    const replay_config *c = &s->cfg;
    enum fault f = FAULT_NONE;
    pthread_mutex_lock(&s->lock);
    uint64_t seq = ++s->requests;
    if (c->nfaults > 0 && seq > (uint64_t)c->fault_skip) {
        uint64_t k = seq - (uint64_t)c->fault_skip;
        if (c->fault_every > 0) {
            if (k % (uint64_t)c->fault_every == 0)
                f = c->faults[(k / (uint64_t)c->fault_every - 1) % (uint64_t)c->nfaults];
        } else if (c->fault_rate > 0) {
            double u = (double)(next_rand(&s->rng) >> 11) * 0x1.0p-53;
            if (u < c->fault_rate)
                f = c->faults[next_rand(&s->rng) % (uint64_t)c->nfaults];
        }
    }
    pthread_mutex_unlock(&s->lock);
    return f;
}

/* Admit a request under the rate limit; on refusal *wait_ms says when a
 * slot frees up. */
static bool rate_admit(replay_server *s, int64_t *wait_ms)
{
    int limit = s->cfg.rate_limit_per_min;
    if (limit <= 0)
        return true;
    pthread_mutex_lock(&s->lock);
    int64_t now = mono_ms();
    while (s->win_count > 0 && s->window[s->win_head] <= now - s->cfg.rate_window_ms) {
        s->win_head = (s->win_head + 1) % (size_t)limit;
        s->win_count--;
    }
    bool ok = s->win_count < (size_t)limit;
    if (ok) {
        s->window[(s->win_head + s->win_count) % (size_t)limit] = now;
        s->win_count++;
    } else {
        *wait_ms = s->window[s->win_head] + s->cfg.rate_window_ms - now;
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

enum MHD_Result replay_handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    replay_server *s = cls;
    static int first_call_marker;
    if (*con_cls == NULL) {
        *con_cls = &first_call_marker;
        return MHD_YES;
    }

    request rq = { .status = 0, .fault = FAULT_NONE, .started_mono = mono_ms() };
    {
        strbuf p = STRBUF_INIT;
        query_text qt = { &p, true };
        strbuf_printf(&p, "%s", url);
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, append_arg, &qt);
        snprintf(rq.path, sizeof rq.path, "%s", p.p ? p.p : url);
        strbuf_free(&p);
    }

    if (strcmp(method, "GET") != 0)
        return send_json(s, conn, &rq, 405, "error", "Method not allowed", "ERROR", NULL);

    const char *key = request_key(conn);
    if (!key || !*key)
        return send_json(s, conn, &rq, 401, "error", "API Key was not provided", "ERROR", NULL);
    if (s->cfg.api_key && strcmp(key, s->cfg.api_key) != 0)
        return send_json(s, conn, &rq, 401, "error", "Unknown API Key", "ERROR", NULL);

    static const char too_many[] =
        "You've exceeded the maximum requests per minute, please wait or upgrade your "
        "subscription to continue. https://polygon.io/pricing";
    int64_t wait_ms = 0;
    if (!rate_admit(s, &wait_ms)) {
        char ra[32];
        const char *retry_after = NULL;
        if (s->cfg.retry_after_s == 0) {
            snprintf(ra, sizeof ra, "%lld", (long long)((wait_ms + 999) / 1000));
            retry_after = ra;
        } else if (s->cfg.retry_after_s > 0) {
            snprintf(ra, sizeof ra, "%d", s->cfg.retry_after_s);
            retry_after = ra;
        }
        return send_json(s, conn, &rq, 429, "error", too_many, "ERROR", retry_after);
    }

    query q;
    replay_args args = {
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "limit"),
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "sort"),
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "adjusted"),
        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "cursor"),
    };
    const char *bad = replay_parse_query(url, &args, &q);
    if (bad && strcmp(bad, "not found") == 0)
        return send_json(s, conn, &rq, 404, "message", "Not found", "NOT_FOUND", NULL);
    if (bad)
        return send_json(s, conn, &rq, 400, "error", bad, "ERROR", NULL);

    rq.fault = pick_fault(s);
    switch (rq.fault) {
    case FAULT_500:
    case FAULT_502:
    case FAULT_503:
    case FAULT_504: {
        static const int codes[] = {
            [FAULT_500] = 500, [FAULT_502] = 502, [FAULT_503] = 503, [FAULT_504] = 504
        };
        return send_json(s, conn, &rq, codes[rq.fault], "error", "Internal error, please retry",
                         "ERROR", NULL);
    }
    case FAULT_429:
        return send_json(s, conn, &rq, 429, "error", too_many, "ERROR",
                         s->cfg.retry_after_s > 0 ? "1" : NULL);
    case FAULT_DROP:
        rq.status = 0;
        log_request(s, &rq);
        return MHD_NO; /* libmicrohttpd closes the connection without an answer */
    case FAULT_DELAY: {
        sleep_unless_stopped((int64_t)s->cfg.delay_ms * 1000000, NULL, -1);
        break;
    }
    default:
        break;
    }

    strbuf b = STRBUF_INIT;
    build_page(s, &q, &b, &rq.bars);
    if (b.failed) {
        strbuf_free(&b);
        return send_json(s, conn, &rq, 500, "error", "out of memory", "ERROR", NULL);
    }
    rq.status = 200;
    if (rq.fault == FAULT_MALFORMED) {
        /* A complete HTTP answer whose JSON stops in the middle. */
        b.len = b.len / 2;
        log_request(s, &rq);
        return send_body(conn, 200, b.p, b.len, NULL);
    }
    if (rq.fault == FAULT_TRUNCATE) {
        partial *p = malloc(sizeof *p);
        if (!p) {
            strbuf_free(&b);
            return MHD_NO;
        }
        p->body = b.p;
        p->len = b.len;
        struct MHD_Response *r =
            MHD_create_response_from_callback(b.len, 4096, partial_reader, p, partial_free);
        if (!r) {
            partial_free(p);
            return MHD_NO;
        }
        MHD_add_response_header(r, "Content-Type", "application/json");
        log_request(s, &rq);
        enum MHD_Result ret = MHD_queue_response(conn, 200, r);
        MHD_destroy_response(r);
        return ret;
    }
    log_request(s, &rq);
    return send_body(conn, 200, b.p, b.len, NULL);
}
