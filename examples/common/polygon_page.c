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

/* A JSON number that is a whole number of milliseconds in a sane range. */
static bool to_ms(const cJSON *v, int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return false;
    double d = v->valuedouble;
    if (!(d >= 0 && d < 9.0e15) || d != floor(d))
        return false;
    *out = (int64_t)d;
    return true;
}

int polygon_page_parse_all(polygon_page *page, const char *body, size_t len, char *err,
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
    if (page->status[0] && strcmp(page->status, "OK") != 0 &&
        strcmp(page->status, "DELAYED") != 0) {
        snprintf(err, errlen, "status \"%s\"%s%s", page->status, page->message[0] ? ": " : "",
                 page->message);
        goto out;
    }

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
