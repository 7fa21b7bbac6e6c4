/* The aggregates request of polygon-replay: path, query arguments and
 * cursor (request.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "new_york_time.h"
#include "request.h"

static bool parse_i64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end || errno)
        return false;
    *out = v;
    return true;
}

/* A date (YYYY-MM-DD, New York) or Unix ms. end_of_day: the last ms of it. */
static bool parse_bound(const char *s, bool end_of_day, int64_t *out)
{
    int y;
    unsigned m, d;
    if (ny_parse_date(s, strlen(s), &y, &m, &d)) {
        if (!end_of_day) {
            *out = ny_midnight_ms(y, m, d);
        } else {
            int64_t next = days_from_civil(y, m, d) + 1;
            int ny;
            unsigned nm, nd;
            civil_from_days(next, &ny, &nm, &nd);
            *out = ny_midnight_ms(ny, nm, nd) - 1;
        }
        return true;
    }
    return parse_i64(s, out) && *out >= 0;
}

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void replay_b64_encode(const char *in, char *out, size_t outsz)
{
    size_t len = strlen(in), o = 0;
    for (size_t i = 0; i < len && o + 5 < outsz; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        if (i + 2 < len)
            v |= (unsigned char)in[i + 2];
        out[o++] = b64url[(v >> 18) & 63];
        out[o++] = b64url[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = b64url[(v >> 6) & 63];
        if (i + 2 < len)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
}

bool replay_b64_decode(const char *in, char *out, size_t outsz)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (; *in; in++) {
        const char *p = strchr(b64url, *in);
        if (*in == '=')
            break;
        if (*in == '+')
            p = b64url + 62;
        else if (*in == '/')
            p = b64url + 63;
        if (!p)
            return false;
        acc = (acc << 6) | (uint32_t)(p - b64url);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= outsz)
                return false;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return true;
}

/* Parse a cursor ("limit=N&sort=asc&adjusted=true") into q. */
static bool apply_cursor(const char *cursor, query *q)
{
    char text[256];
    if (!replay_b64_decode(cursor, text, sizeof text))
        return false;
    char *save = NULL;
    for (char *kv = strtok_r(text, "&", &save); kv; kv = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            return false;
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(kv, "limit") == 0) {
            /* a limit below 1 would page through nothing, for ever */
            if (!parse_i64(v, &q->limit) || q->limit < 1)
                return false;
        } else if (strcmp(kv, "sort") == 0) {
            q->desc = strcmp(v, "desc") == 0;
        } else if (strcmp(kv, "adjusted") == 0) {
            q->adjusted = strcmp(v, "false") != 0;
        }
    }
    return true;
}

const char *replay_parse_query(const char *url, const replay_args *args, query *q)
{
    char path[512];
    if (strlen(url) >= sizeof path)
        return "not found";
    strcpy(path, url);
    char *parts[16];
    int n = 0;
    char *save = NULL;
    for (char *p = strtok_r(path, "/", &save); p && n < 16; p = strtok_r(NULL, "/", &save))
        parts[n++] = p;
    if (n != 9 || strcmp(parts[0], "v2") != 0 || strcmp(parts[1], "aggs") != 0 ||
        strcmp(parts[2], "ticker") != 0 || strcmp(parts[4], "range") != 0)
        return "not found";
    if (strlen(parts[3]) >= sizeof q->ticker || !*parts[3])
        return "Could not parse the ticker";
    strcpy(q->ticker, parts[3]);
    if (!parse_i64(parts[5], &q->multiplier) || q->multiplier < 1)
        return "Could not parse the multiplier: it must be a positive integer";
    if (strlen(parts[6]) >= sizeof q->timespan || !span_parse(parts[6], &q->span))
        return "Could not parse the timespan";
    strcpy(q->timespan, parts[6]);
    if (strlen(parts[7]) >= sizeof q->from_text || strlen(parts[8]) >= sizeof q->to_text)
        return "Could not parse the date range";
    strcpy(q->from_text, parts[7]);
    strcpy(q->to_text, parts[8]);
    if (!parse_bound(parts[7], false, &q->from))
        return "Could not parse the 'from' date: use YYYY-MM-DD or a Unix millisecond timestamp";
    if (!parse_bound(parts[8], true, &q->to))
        return "Could not parse the 'to' date: use YYYY-MM-DD or a Unix millisecond timestamp";

    q->limit = 5000;
    q->desc = false;
    q->adjusted = true;
    const char *v;
    if ((v = args->limit) && (!parse_i64(v, &q->limit) || q->limit < 1))
        return "Could not parse the limit: it must be a positive integer";
    if ((v = args->sort)) {
        if (strcmp(v, "asc") != 0 && strcmp(v, "desc") != 0)
            return "Could not parse the sort: use asc or desc";
        q->desc = strcmp(v, "desc") == 0;
    }
    if ((v = args->adjusted)) {
        if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
            return "Could not parse the adjusted flag: use true or false";
        q->adjusted = strcmp(v, "true") == 0;
    }
    if ((v = args->cursor) && !apply_cursor(v, q))
        return "Could not parse the cursor";
    if (q->limit > 50000)
        q->limit = 50000;
    return NULL;
}
