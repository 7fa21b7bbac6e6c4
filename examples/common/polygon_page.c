#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "array_grow.h"
#include "polygon_page.h"

static double number_or_nan(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static void copy_string(const cJSON *obj, const char *key, char *out, size_t size)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (cJSON_IsString(v) && v->valuestring)
        snprintf(out, size, "%s", v->valuestring);
    else
        out[0] = '\0';
}

/* A number that is a whole number of milliseconds in a sane range. */
static bool ms_of(double d, int64_t *out)
{
    if (!(d >= 0 && d < 9.0e15) || d != floor(d))
        return false;
    *out = (int64_t)d;
    return true;
}

/* An error for a "status" other than OK or DELAYED (none: a saved page). */
static bool status_error(const polygon_page *page, char *err, size_t errlen)
{
    if (!page->status[0] || strcmp(page->status, "OK") == 0 || strcmp(page->status, "DELAYED") == 0)
        return false;
    snprintf(err, errlen, "status \"%s\"%s%s", page->status, page->message[0] ? ": " : "",
             page->message);
    return true;
}

static bool to_ms(const cJSON *v, int64_t *out)
{
    return cJSON_IsNumber(v) && ms_of(v->valuedouble, out);
}

int polygon_page_parse_all_cjson(polygon_page *page, const char *body, size_t len, char *err,
                                 size_t errlen)
{
    page->count = 0;
    free(page->next_url);
    page->next_url = NULL;
    page->ticker[0] = page->status[0] = page->message[0] = '\0';

    cJSON *root = cJSON_ParseWithLength(body, len);
    if (!root) {
        snprintf(err, errlen, "the body is not valid JSON (%zu bytes)", len);
        return -1;
    }
    int rc = -1;
    if (!cJSON_IsObject(root)) {
        snprintf(err, errlen, "the body is not a JSON object");
        goto out;
    }
    copy_string(root, "status", page->status, sizeof page->status);
    copy_string(root, "ticker", page->ticker, sizeof page->ticker);
    copy_string(root, "error", page->message, sizeof page->message);
    if (!page->message[0])
        copy_string(root, "message", page->message, sizeof page->message);
    if (status_error(page, err, errlen))
        goto out;

    const cJSON *results = cJSON_GetObjectItemCaseSensitive(root, "results");
    if (results && !cJSON_IsNull(results) && !cJSON_IsArray(results)) {
        snprintf(err, errlen, "\"results\" is not an array");
        goto out;
    }
    size_t n = cJSON_IsArray(results) ? (size_t)cJSON_GetArraySize(results) : 0;
    size_t cap = page->cap;
    if (array_grow(&page->bars, &cap, n, sizeof *page->bars) != 0 ||
        array_grow(&page->tickers, &page->cap, n, sizeof *page->tickers) != 0) {
        snprintf(err, errlen, "out of memory for %zu bars", n);
        goto out;
    }
    const cJSON *result;
    cJSON_ArrayForEach(result, results)
    {
        const cJSON *item = cJSON_IsObject(result) ? result : NULL;
        dq_candle *b = &page->bars[page->count];
        if (!to_ms(cJSON_GetObjectItemCaseSensitive(item, "t"), &b->ts))
            b->ts = POLYGON_NO_BAR;
        b->open = number_or_nan(item, "o");
        b->high = number_or_nan(item, "h");
        b->low = number_or_nan(item, "l");
        b->close = number_or_nan(item, "c");
        b->volume = number_or_nan(item, "v");
        b->vwap = number_or_nan(item, "vw");
        int64_t trades;
        b->trades = to_ms(cJSON_GetObjectItemCaseSensitive(item, "n"), &trades) ? (double)trades
                                                                                : DQ_ABSENT;
        copy_string(item, "T", page->tickers[page->count++], sizeof *page->tickers);
    }

    const cJSON *next = cJSON_GetObjectItemCaseSensitive(root, "next_url");
    if (cJSON_IsString(next) && next->valuestring && next->valuestring[0]) {
        page->next_url = strdup(next->valuestring);
        if (!page->next_url) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    cJSON_Delete(root);
    if (rc != 0)
        page->count = 0;
    return rc;
}

/*
 * The fast path: one pass over the body for the shape Polygon sends (an
 * object of scalars and a "results" array of flat objects of scalars),
 * writing the bars as it goes, with no allocation per value. Whatever it
 * does not know for certain to read as cJSON would (escapes, nesting, a
 * repeated key it reads, whitespace other than JSON's, numbers outside the
 * JSON grammar or longer than cJSON reads, a body that is no JSON at all) it
 * leaves to the cJSON path: PAGE_SLOW.
 */
#define PAGE_SLOW 1

typedef struct scalar {
    enum { S_NUMBER, S_STRING, S_NULL, S_OTHER } kind;
    double num;
    const char *s;
    size_t n;
} scalar;

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

/* A string without escapes or control characters at *pp (its '"'). */
static bool scan_string(const char **pp, const char *end, const char **s, size_t *n)
{
    const char *p = *pp + 1, *start = p;
    while (p < end && *p != '"') {
        if (*p == '\\' || (unsigned char)*p < 0x20)
            return false;
        p++;
    }
    if (p >= end)
        return false;
    *s = start;
    *n = (size_t)(p - start);
    *pp = p + 1;
    return true;
}

static bool is_digit(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/*
 * A number in JSON's grammar. An integer mantissa below 2^53 times or over a
 * power of ten up to 1e22 (both exact doubles) is one correctly rounded
 * operation, the same double strtod gives; any other number goes to strtod
 * as cJSON hands it over (at most 63 characters, the locale's decimal point).
 */
static bool scan_number(const char **pp, const char *end, double *out)
{
    static const double pow10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                    1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
    /* Numbers of 64 characters or more fail in cJSON, which reads 63 at
     * most; so does one at the end of the body. */
    const char *p = *pp, *start = p;
    if (end - start > 64)
        end = start + 64;
    bool neg = p < end && *p == '-';
    if (neg)
        p++;
    if (!is_digit(p, end))
        return false;
    uint64_t m = 0;
    int nd = 0, exp10 = 0;
    bool slow = false;
    if (*p == '0') {
        p++;
        if (is_digit(p, end))
            return false;
    } else {
        for (; is_digit(p, end); p++) {
            if (nd < 19)
                m = m * 10 + (uint64_t)(*p - '0'), nd++;
            else
                slow = true;
        }
    }
    if (p < end && *p == '.') {
        p++;
        if (!is_digit(p, end))
            return false;
        for (; is_digit(p, end); p++) {
            if (nd < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                nd += m != 0;
                exp10--;
            } else {
                slow = true;
            }
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = p < end && *p == '-';
        if (p < end && (*p == '-' || *p == '+'))
            p++;
        if (!is_digit(p, end))
            return false;
        int e = 0;
        for (; is_digit(p, end); p++)
            if (e < 100000)
                e = e * 10 + (*p - '0');
        exp10 += eneg ? -e : e;
    }
    if (p >= end)
        return false;
    if (!slow && m < (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
        double d = (double)m;
        d = exp10 < 0 ? d / pow10[-exp10] : d * pow10[exp10];
        *out = neg ? -d : d;
    } else {
        char buf[64];
        size_t n = (size_t)(p - start);
        if (n >= sizeof buf)
            return false;
        memcpy(buf, start, n);
        buf[n] = '\0';
        const struct lconv *lc = localeconv();
        char *dot = memchr(buf, '.', n);
        if (dot && lc && lc->decimal_point && lc->decimal_point[0])
            *dot = lc->decimal_point[0];
        char *after;
        *out = strtod(buf, &after);
        if (after != buf + n)
            return false;
    }
    *pp = p;
    return true;
}

static bool scan_literal(const char **pp, const char *end, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(end - *pp) < n || memcmp(*pp, word, n) != 0)
        return false;
    *pp += n;
    return true;
}

/* A value that is no object or array. */
static bool scan_scalar(const char **pp, const char *end, scalar *v)
{
    const char *p = *pp;
    if (p >= end)
        return false;
    v->kind = S_OTHER;
    switch (*p) {
    case '"':
        v->kind = S_STRING;
        return scan_string(pp, end, &v->s, &v->n);
    case 't':
        return scan_literal(pp, end, "true");
    case 'f':
        return scan_literal(pp, end, "false");
    case 'n':
        v->kind = S_NULL;
        return scan_literal(pp, end, "null");
    default:
        v->kind = S_NUMBER;
        return scan_number(pp, end, &v->num);
    }
}

/* After a member or element: skip to the next one (true, *pp after the ',')
 * or to the end of the container (false, *done set, *pp after it). Anything
 * else: false with *done unset. */
static bool next_member(const char **pp, const char *end, char close, bool *done)
{
    const char *p = skip_ws(*pp, end);
    *done = false;
    if (p < end && *p == ',') {
        *pp = skip_ws(p + 1, end);
        return true;
    }
    if (p < end && *p == close) {
        *done = true;
        *pp = p + 1;
    }
    return false;
}

/* A key and its ':' at *pp; *pp at the value. */
static bool scan_key(const char **pp, const char *end, const char **k, size_t *kn)
{
    if (*pp >= end || **pp != '"' || !scan_string(pp, end, k, kn))
        return false;
    const char *p = skip_ws(*pp, end);
    if (p >= end || *p != ':')
        return false;
    *pp = skip_ws(p + 1, end);
    return true;
}

static void copy_scalar(const scalar *v, char *out, size_t size)
{
    size_t n = v->kind == S_STRING ? v->n : 0;
    if (n > size - 1)
        n = size - 1;
    if (n)
        memcpy(out, v->s, n);
    out[n] = '\0';
}

static double number_of(const scalar *v)
{
    return v->kind == S_NUMBER ? v->num : NAN;
}

/* One result, at *pp: a flat object into a bar, any other scalar no bar. */
static bool scan_result(const char **pp, const char *end, dq_candle *b, char *ticker,
                        size_t tickersize)
{
    b->ts = POLYGON_NO_BAR;
    b->open = b->high = b->low = b->close = b->volume = b->vwap = NAN;
    b->trades = DQ_ABSENT;
    ticker[0] = '\0';
    if (*pp >= end)
        return false;
    if (**pp != '{') {
        scalar v;
        return **pp != '[' && scan_scalar(pp, end, &v);
    }
    const char *p = skip_ws(*pp + 1, end);
    bool done = false;
    if (p < end && *p == '}') {
        *pp = p + 1;
        return true;
    }
    double *const prices[] = { NULL, &b->open, &b->high, &b->low, &b->close, &b->volume, &b->vwap };
    unsigned seen = 0;
    do {
        const char *k;
        size_t kn;
        scalar v;
        if (!scan_key(&p, end, &k, &kn) || !scan_scalar(&p, end, &v))
            return false;
        static const char keys[] = "tohlcv\0nT";
        const char *key = kn == 1 && k[0] ? memchr(keys, k[0], sizeof keys - 1) : NULL;
        unsigned i = key ? (unsigned)(key - keys) : kn == 2 && k[0] == 'v' && k[1] == 'w' ? 6 : 9;
        if (i < 9 && (seen & (1u << i)))
            return false;
        seen |= 1u << i;
        int64_t ms;
        if (i == 0 && !(v.kind == S_NUMBER && ms_of(v.num, &b->ts)))
            b->ts = POLYGON_NO_BAR;
        else if (i >= 1 && i <= 6)
            *prices[i] = number_of(&v);
        else if (i == 7)
            b->trades = v.kind == S_NUMBER && ms_of(v.num, &ms) ? (double)ms : DQ_ABSENT;
        else if (i == 8)
            copy_scalar(&v, ticker, tickersize);
    } while (next_member(&p, end, '}', &done));
    *pp = p;
    return done;
}

/* The results array at *pp (its '['), into page->bars. */
static bool scan_results(polygon_page *page, const char **pp, const char *end)
{
    const char *p = skip_ws(*pp + 1, end);
    bool done = false;
    if (p < end && *p == ']') {
        *pp = p + 1;
        return true;
    }
    do {
        size_t cap = page->cap;
        if (array_grow(&page->bars, &cap, page->count + 1, sizeof *page->bars) != 0 ||
            array_grow(&page->tickers, &page->cap, page->count + 1, sizeof *page->tickers) != 0)
            return false;
        if (!scan_result(&p, end, &page->bars[page->count], page->tickers[page->count],
                         sizeof *page->tickers))
            return false;
        page->count++;
    } while (next_member(&p, end, ']', &done));
    *pp = p;
    return done;
}

/* The root object's members this parser reads. */
enum { K_STATUS, K_TICKER, K_ERROR, K_MESSAGE, K_NEXT_URL, K_RESULTS, K_OTHER };

static int parse_fast(polygon_page *page, const char *body, size_t len, char *err, size_t errlen)
{
    static const char *const names[] = { "status",  "ticker",   "error",
                                         "message", "next_url", "results" };
    page->count = 0;
    free(page->next_url);
    page->next_url = NULL;
    page->ticker[0] = page->status[0] = page->message[0] = '\0';
    if (!body)
        return PAGE_SLOW;
    const char *end = body + len, *p = skip_ws(body, end);
    if (p >= end || *p != '{')
        return PAGE_SLOW;
    p = skip_ws(p + 1, end);
    scalar vals[K_OTHER] = { 0 };
    unsigned seen = 0;
    bool results_other = false, done = false;
    if (p < end && *p == '}') {
        done = true;
    } else {
        do {
            const char *k;
            size_t kn;
            if (!scan_key(&p, end, &k, &kn))
                return PAGE_SLOW;
            int id = 0;
            while (id < K_OTHER && !(strlen(names[id]) == kn && memcmp(names[id], k, kn) == 0))
                id++;
            if (id != K_OTHER && (seen & (1u << id)))
                return PAGE_SLOW;
            seen |= 1u << id;
            scalar v;
            if (id == K_RESULTS && p < end && *p == '[') {
                if (!scan_results(page, &p, end))
                    return PAGE_SLOW;
                continue;
            }
            if (p >= end || *p == '{' || *p == '[' || !scan_scalar(&p, end, &v))
                return PAGE_SLOW;
            if (id == K_RESULTS)
                results_other = v.kind != S_NULL;
            else if (id != K_OTHER)
                vals[id] = v;
        } while (next_member(&p, end, '}', &done));
    }
    if (!done)
        return PAGE_SLOW;
    /* Members not seen read as no string. */
    for (int i = 0; i < K_RESULTS; i++)
        if (!(seen & (1u << i)))
            vals[i].kind = S_OTHER;
    copy_scalar(&vals[K_STATUS], page->status, sizeof page->status);
    copy_scalar(&vals[K_TICKER], page->ticker, sizeof page->ticker);
    copy_scalar(&vals[K_ERROR], page->message, sizeof page->message);
    if (!page->message[0])
        copy_scalar(&vals[K_MESSAGE], page->message, sizeof page->message);
    int rc = -1;
    if (status_error(page, err, errlen))
        goto out;
    if (results_other) {
        snprintf(err, errlen, "\"results\" is not an array");
        goto out;
    }
    const scalar *next = &vals[K_NEXT_URL];
    if (next->kind == S_STRING && next->n) {
        page->next_url = strndup(next->s, next->n);
        if (!page->next_url) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    if (rc != 0)
        page->count = 0;
    return rc;
}

int polygon_page_parse_fast(polygon_page *page, const char *body, size_t len, char *err,
                            size_t errlen)
{
    int rc = parse_fast(page, body, len, err, errlen);
    if (rc == PAGE_SLOW)
        page->count = 0;
    return rc;
}

int polygon_page_parse_all(polygon_page *page, const char *body, size_t len, char *err,
                           size_t errlen)
{
    int rc = parse_fast(page, body, len, err, errlen);
    return rc == PAGE_SLOW ? polygon_page_parse_all_cjson(page, body, len, err, errlen) : rc;
}

int polygon_page_parse(polygon_page *page, const char *body, size_t len, char *err, size_t errlen)
{
    if (polygon_page_parse_all(page, body, len, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < page->count; i++) {
        if (page->bars[i].ts == POLYGON_NO_BAR) {
            snprintf(err, errlen, "result %zu is no bar: not an object or no valid \"t\"", i);
            page->count = 0;
            return -1;
        }
    }
    return 0;
}

void polygon_error_message(const char *body, size_t len, char *out, size_t outlen)
{
    out[0] = '\0';
    cJSON *root = cJSON_ParseWithLength(body, len);
    if (cJSON_IsObject(root)) {
        copy_string(root, "error", out, outlen);
        if (!out[0])
            copy_string(root, "message", out, outlen);
    }
    cJSON_Delete(root);
}

void polygon_page_free(polygon_page *page)
{
    free(page->bars);
    free(page->tickers);
    free(page->next_url);
    memset(page, 0, sizeof *page);
}
