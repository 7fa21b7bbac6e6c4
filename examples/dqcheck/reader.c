/* CSV and Polygon JSON readers for the dqcheck tool (see reader.h). */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "nytime.h"
#include "reader.h"

#define DAY_MS  INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)

void dqr_init(dqr_data *d)
{
    memset(d, 0, sizeof *d);
}

void dqr_free(dqr_data *d)
{
    free(d->candles);
    free(d->rows);
    free(d->sym);
    for (size_t i = 0; i < d->nsym; i++)
        free(d->symbols[i]);
    free(d->symbols);
    free(d->bad);
    memset(d, 0, sizeof *d);
}

static int64_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

static int weekday(int64_t day)
{
    int64_t w = (day + 4) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int64_t nth_sunday(int y, unsigned m, int n)
{
    if (n > 0) {
        int64_t first = days_from_civil(y, m, 1);
        return first + (7 - weekday(first)) % 7 + 7 * (n - 1);
    }
    int64_t last = days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1;
    return last - weekday(last);
}

/* Is the New York local date `day` in daylight-saving time (at noon)? */
static int ny_dst(int y, int64_t day)
{
    int64_t s, e;
    if (y >= 2007) {
        s = nth_sunday(y, 3, 2);
        e = nth_sunday(y, 11, 1);
    } else if (y >= 1987) {
        s = nth_sunday(y, 4, 1);
        e = nth_sunday(y, 10, 0);
    } else {
        s = nth_sunday(y, 4, 0);
        e = nth_sunday(y, 10, 0);
    }
    return day >= s && day < e;
}

int64_t dqr_ny_midnight_ms(int y, unsigned m, unsigned d)
{
    int64_t day = days_from_civil(y, m, d);
    return day * DAY_MS + (ny_dst(y, day) ? 4 : 5) * HOUR_MS;
}

static int push_symbol(dqr_data *d, const char *s, size_t len, size_t *idx)
{
    if (d->nsym && strlen(d->symbols[d->nsym - 1]) == len &&
        memcmp(d->symbols[d->nsym - 1], s, len) == 0) {
        *idx = d->nsym - 1;
        return 0;
    }
    for (size_t i = 0; i < d->nsym; i++)
        if (strlen(d->symbols[i]) == len && memcmp(d->symbols[i], s, len) == 0) {
            *idx = i;
            return 0;
        }
    if (d->nsym == d->symcap) {
        size_t cap = d->symcap ? d->symcap * 2 : 8;
        char **more = realloc(d->symbols, cap * sizeof *more);
        if (!more)
            return -2;
        d->symbols = more;
        d->symcap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -2;
    memcpy(copy, s, len);
    copy[len] = '\0';
    d->symbols[d->nsym] = copy;
    *idx = d->nsym++;
    return 0;
}

static int push_candle(dqr_data *d, const dq_candle *c, int64_t row, size_t sym)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        dq_candle *c2 = realloc(d->candles, cap * sizeof *c2);
        if (!c2)
            return -2;
        d->candles = c2;
        int64_t *r2 = realloc(d->rows, cap * sizeof *r2);
        if (!r2)
            return -2;
        d->rows = r2;
        size_t *s2 = realloc(d->sym, cap * sizeof *s2);
        if (!s2)
            return -2;
        d->sym = s2;
        d->cap = cap;
    }
    d->candles[d->n] = *c;
    d->rows[d->n] = row;
    d->sym[d->n] = sym;
    d->n++;
    return 0;
}

static int push_bad(dqr_data *d, long line, int64_t row, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#include <stdarg.h>
static int push_bad(dqr_data *d, long line, int64_t row, const char *fmt, ...)
{
    if (d->nbad == d->badcap) {
        size_t cap = d->badcap ? d->badcap * 2 : 16;
        dqr_bad *more = realloc(d->bad, cap * sizeof *more);
        if (!more)
            return -2;
        d->bad = more;
        d->badcap = cap;
    }
    dqr_bad *b = &d->bad[d->nbad++];
    b->line = line;
    b->row = row;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->msg, sizeof b->msg, fmt, ap);
    va_end(ap);
    return 0;
}

/* ---------------------------------------------------------------- CSV --- */

enum col { C_TS, C_OPEN, C_HIGH, C_LOW, C_CLOSE, C_VOLUME, C_VWAP, C_TRADES, C_SYMBOL, C_N };
static const char *col_names[C_N] = { "timestamp", "open", "high",   "low",   "close",
                                      "volume",    "vwap", "trades", "symbol" };

static int header_col(const char *f, size_t len, int *ts_ms)
{
    char low[32];
    if (len == 0 || len >= sizeof low)
        return -1;
    if (len == 1) { /* Polygon's one-letter names are case-sensitive: t vs T */
        switch (f[0]) {
        case 't':
            return C_TS;
        case 'T':
            return C_SYMBOL;
        case 'o':
        case 'O':
            return C_OPEN;
        case 'h':
        case 'H':
            return C_HIGH;
        case 'l':
        case 'L':
            return C_LOW;
        case 'c':
        case 'C':
            return C_CLOSE;
        case 'v':
        case 'V':
            return C_VOLUME;
        case 'n':
        case 'N':
            return C_TRADES;
        }
        return -1;
    }
    for (size_t i = 0; i < len; i++)
        low[i] = (char)tolower((unsigned char)f[i]);
    low[len] = '\0';
    static const struct {
        const char *name;
        int col;
    } names[] = {
        { "date", C_TS },       { "timestamp", C_TS },  { "timestamp_ms", C_TS },
        { "time", C_TS },       { "datetime", C_TS },   { "open", C_OPEN },
        { "high", C_HIGH },     { "low", C_LOW },       { "close", C_CLOSE },
        { "volume", C_VOLUME }, { "vol", C_VOLUME },    { "vwap", C_VWAP },
        { "vw", C_VWAP },       { "trades", C_TRADES }, { "transactions", C_TRADES },
        { "symbol", C_SYMBOL }, { "ticker", C_SYMBOL },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(low, names[i].name) == 0) {
            if (strcmp(low, "timestamp_ms") == 0)
                *ts_ms = 1;
            return names[i].col;
        }
    return -1;
}

/* Split one line into fields (max nmax); handles "quoted" fields with ""
 * escapes. Fields point into line (quotes stripped in place via a scratch
 * buffer). Returns the number of fields. */
typedef struct fieldref {
    const char *p;
    size_t len;
} fieldref;

static size_t split_line(const char *line, size_t len, char sep, fieldref *out, size_t nmax,
                         char *scratch)
{
    size_t n = 0, i = 0, sp = 0;
    for (;;) {
        while (i < len && (line[i] == ' ' || line[i] == '\t') && line[i] != sep)
            i++;
        const char *start;
        size_t flen;
        if (i < len && line[i] == '"') {
            i++;
            start = scratch + sp;
            flen = 0;
            while (i < len) {
                if (line[i] == '"') {
                    if (i + 1 < len && line[i + 1] == '"') {
                        scratch[sp++] = '"';
                        flen++;
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                scratch[sp++] = line[i++];
                flen++;
            }
            while (i < len && line[i] != sep)
                i++;
        } else {
            start = line + i;
            while (i < len && line[i] != sep)
                i++;
            flen = (size_t)(line + i - start);
            while (flen && (start[flen - 1] == ' ' || start[flen - 1] == '\t'))
                flen--;
        }
        if (n < nmax) {
            out[n].p = start;
            out[n].len = flen;
        }
        n++;
        if (i >= len)
            break;
        i++; /* the separator */
    }
    return n;
}

static int parse_double(const fieldref *f, double *out)
{
    char tmp[64];
    if (f->len == 0 || f->len >= sizeof tmp)
        return -1;
    memcpy(tmp, f->p, f->len);
    tmp[f->len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(tmp, &end);
    if (end == tmp || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static int digits(const char *p, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return 0;
}

/* YYYY-MM-DD (New York midnight), YYYY-MM-DD[ T]HH:MM[:SS][Z] (New York
 * local time, or UTC with Z), or Unix seconds / milliseconds. */
static int parse_ts(const fieldref *f, int ts_ms, int64_t *out, int *is_date)
{
    const char *p = f->p;
    size_t n = f->len;
    *is_date = 0;
    if (n >= 10 && p[4] == '-' && p[7] == '-') {
        unsigned y, m, d;
        int yy;
        /* a date of the calendar: 2012-02-30 is no 2012-03-01 */
        if (digits(p, 4, &y) || !ny_parse_date(p, 10, &yy, &m, &d))
            return -1;
        if (n == 10) {
            *out = dqr_ny_midnight_ms((int)y, m, d);
            *is_date = 1;
            return 0;
        }
        unsigned hh, mm, ss = 0;
        if ((p[10] != ' ' && p[10] != 'T') || n < 16 || p[13] != ':' || digits(p + 11, 2, &hh) ||
            digits(p + 14, 2, &mm) || hh > 23 || mm > 59)
            return -1;
        size_t k = 16;
        if (k < n && p[k] == ':') {
            if (n < 19 || digits(p + 17, 2, &ss) || ss > 60)
                return -1;
            k = 19;
        }
        int utc = 0;
        if (k < n && p[k] == 'Z') {
            utc = 1;
            k++;
        }
        if (k != n)
            return -1;
        int64_t day = days_from_civil((int)y, m, d);
        int64_t ms = day * DAY_MS + (int64_t)(hh * 3600 + mm * 60 + ss) * 1000;
        if (!utc)
            ms += (ny_dst((int)y, day) ? 4 : 5) * HOUR_MS;
        *out = ms;
        return 0;
    }
    double v;
    if (parse_double(f, &v) != 0 || !isfinite(v) || fabs(v) > 9e15)
        return -1;
    if (!ts_ms && fabs(v) < 1e11)
        v *= 1000.0; /* seconds */
    *out = (int64_t)llround(v);
    return 0;
}

static char pick_separator(const char *line, size_t len)
{
    size_t comma = 0, semi = 0, tab = 0;
    for (size_t i = 0; i < len; i++) {
        comma += line[i] == ',';
        semi += line[i] == ';';
        tab += line[i] == '\t';
    }
    if (tab > comma && tab >= semi)
        return '\t';
    if (semi > comma)
        return ';';
    return ',';
}

int dqr_read_csv(dqr_data *d, const char *buf, size_t len, const char *default_symbol)
{
    size_t pos = 0;
    long line = 0;
    int have_header = 0, ts_ms = 0;
    int col[C_N];
    char sep = ',';
    size_t ncols = 0;
    enum { MAXF = 64 };
    fieldref f[MAXF];
    char *scratch = malloc(len + 1);
    if (!scratch)
        return -2;
    size_t defsym = 0;
    int have_defsym = 0;
    int64_t row = 0;
    int rc = 0;
    int all_dates = 1, any = 0;
    while (pos < len) {
        size_t start = pos;
        while (pos < len && buf[pos] != '\n')
            pos++;
        size_t end = pos;
        if (pos < len)
            pos++;
        line++;
        if (end > start && buf[end - 1] == '\r')
            end--;
        size_t l = end - start;
        const char *s = buf + start;
        size_t blank = 0;
        while (blank < l && isspace((unsigned char)s[blank]))
            blank++;
        if (blank == l)
            continue;
        if (!have_header) {
            sep = pick_separator(s, l);
            size_t nf = split_line(s, l, sep, f, MAXF, scratch);
            for (int c = 0; c < C_N; c++)
                col[c] = -1;
            for (size_t i = 0; i < nf && i < MAXF; i++) {
                int c = header_col(f[i].p, f[i].len, &ts_ms);
                if (c >= 0 && col[c] < 0)
                    col[c] = (int)i;
            }
            for (int c = C_TS; c <= C_VOLUME; c++)
                if (col[c] < 0) {
                    snprintf(d->err, sizeof d->err,
                             "line %ld: no \"%s\" column in the header (need a date or timestamp, "
                             "open, high, low, close and volume)",
                             line, col_names[c]);
                    free(scratch);
                    return -1;
                }
            ncols = nf;
            have_header = 1;
            continue;
        }
        int64_t this_row = row;
        if (memchr(s, '\0', l)) { /* C text would end there */
            row++;
            if ((rc = push_bad(d, line, this_row, "a NUL byte in the row")))
                break;
            continue;
        }
        size_t nf = split_line(s, l, sep, f, MAXF, scratch);
        row++;
        if (nf < ncols && (int)nf <= col[C_VOLUME]) {
            if ((rc = push_bad(d, line, this_row, "%zu fields, the header has %zu", nf, ncols)))
                break;
            continue;
        }
        dq_candle c;
        int is_date = 0;
        int need = 0;
        for (int k = C_TS; k <= C_VOLUME; k++)
            if (col[k] >= (int)nf)
                need = 1;
        if (need) {
            if ((rc = push_bad(d, line, this_row, "%zu fields, the header has %zu", nf, ncols)))
                break;
            continue;
        }
        if (parse_ts(&f[col[C_TS]], ts_ms, &c.ts, &is_date) != 0) {
            if ((rc = push_bad(d, line, this_row, "bad timestamp \"%.*s\"",
                               (int)(f[col[C_TS]].len > 40 ? 40 : f[col[C_TS]].len),
                               f[col[C_TS]].p)))
                break;
            continue;
        }
        double *dst[] = { &c.open, &c.high, &c.low, &c.close, &c.volume };
        int bad = 0;
        for (int k = C_OPEN; k <= C_VOLUME; k++) {
            if (parse_double(&f[col[k]], dst[k - C_OPEN]) != 0) {
                rc = push_bad(d, line, this_row, "bad %s \"%.*s\"", col_names[k],
                              (int)(f[col[k]].len > 40 ? 40 : f[col[k]].len), f[col[k]].p);
                bad = 1;
                break;
            }
        }
        if (rc)
            break;
        if (bad)
            continue;
        c.vwap = NAN;
        c.trades = NAN;
        if (col[C_VWAP] >= 0 && col[C_VWAP] < (int)nf && f[col[C_VWAP]].len &&
            parse_double(&f[col[C_VWAP]], &c.vwap) != 0) {
            if ((rc = push_bad(d, line, this_row, "bad vwap")))
                break;
            continue;
        }
        if (col[C_TRADES] >= 0 && col[C_TRADES] < (int)nf && f[col[C_TRADES]].len &&
            parse_double(&f[col[C_TRADES]], &c.trades) != 0) {
            if ((rc = push_bad(d, line, this_row, "bad trades")))
                break;
            continue;
        }
        size_t sym;
        if (col[C_SYMBOL] >= 0 && col[C_SYMBOL] < (int)nf && f[col[C_SYMBOL]].len) {
            if ((rc = push_symbol(d, f[col[C_SYMBOL]].p, f[col[C_SYMBOL]].len, &sym)))
                break;
        } else {
            if (!have_defsym) {
                const char *ds = default_symbol ? default_symbol : "";
                if ((rc = push_symbol(d, ds, strlen(ds), &defsym)))
                    break;
                have_defsym = 1;
            }
            sym = defsym;
        }
        all_dates &= is_date;
        any = 1;
        if ((rc = push_candle(d, &c, this_row, sym)))
            break;
    }
    free(scratch);
    if (rc)
        return rc;
    if (!have_header) {
        snprintf(d->err, sizeof d->err, "line %ld: no header line (empty file)", line + 1);
        return -1;
    }
    d->daily_dates = any && all_dates;
    return 0;
}

/* --------------------------------------------------------- Polygon JSON --- */

int dqr_read_polygon(dqr_data *d, const char *buf, size_t len, const char *default_symbol)
{
    const char *endp = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &endp, 0);
    if (!root) {
        long line = 1;
        size_t off = endp && endp >= buf && endp <= buf + len ? (size_t)(endp - buf) : 0;
        for (size_t i = 0; i < off; i++)
            line += buf[i] == '\n';
        snprintf(d->err, sizeof d->err, "line %ld: not valid JSON", line);
        return -1;
    }
    int rc = 0;
    if (!cJSON_IsObject(root)) {
        snprintf(d->err, sizeof d->err, "line 1: not a Polygon aggregates object");
        rc = -1;
        goto out;
    }
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
    if (cJSON_IsString(status) && strcmp(status->valuestring, "OK") != 0 &&
        strcmp(status->valuestring, "DELAYED") != 0) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(root, "message");
        if (!cJSON_IsString(m))
            m = cJSON_GetObjectItemCaseSensitive(root, "error");
        snprintf(d->err, sizeof d->err, "line 1: status %.40s: %.120s", status->valuestring,
                 cJSON_IsString(m) ? m->valuestring : "(no message)");
        rc = -1;
        goto out;
    }
    const cJSON *ticker = cJSON_GetObjectItemCaseSensitive(root, "ticker");
    const char *topsym = cJSON_IsString(ticker) ? ticker->valuestring
                         : default_symbol       ? default_symbol
                                                : "";
    const cJSON *results = cJSON_GetObjectItemCaseSensitive(root, "results");
    if (!results || cJSON_IsNull(results))
        goto out; /* an empty range */
    if (!cJSON_IsArray(results)) {
        snprintf(d->err, sizeof d->err, "line 1: \"results\" is not an array");
        rc = -1;
        goto out;
    }
    int64_t row = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, results)
    {
        int64_t this_row = row++;
        if (!cJSON_IsObject(it)) {
            if ((rc = push_bad(d, 0, this_row, "results[%lld] is not an object",
                               (long long)this_row)))
                goto out;
            continue;
        }
        static const char *keys[] = { "t", "o", "h", "l", "c", "v" };
        double v[6];
        int bad = 0;
        for (int k = 0; k < 6; k++) {
            const cJSON *x = cJSON_GetObjectItemCaseSensitive(it, keys[k]);
            if (!cJSON_IsNumber(x)) {
                if ((rc = push_bad(d, 0, this_row, "results[%lld]: missing or non-numeric \"%s\"",
                                   (long long)this_row, keys[k])))
                    goto out;
                bad = 1;
                break;
            }
            v[k] = x->valuedouble;
        }
        if (bad)
            continue;
        if (!isfinite(v[0]) || fabs(v[0]) > 9e15) {
            if ((rc = push_bad(d, 0, this_row, "results[%lld]: bad \"t\"", (long long)this_row)))
                goto out;
            continue;
        }
        dq_candle c = { (int64_t)llround(v[0]), v[1], v[2], v[3], v[4], v[5], NAN, NAN };
        const cJSON *vw = cJSON_GetObjectItemCaseSensitive(it, "vw");
        if (cJSON_IsNumber(vw))
            c.vwap = vw->valuedouble;
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "n");
        if (cJSON_IsNumber(n))
            c.trades = n->valuedouble;
        const cJSON *T = cJSON_GetObjectItemCaseSensitive(it, "T");
        const char *s = cJSON_IsString(T) ? T->valuestring : topsym;
        size_t sym;
        if ((rc = push_symbol(d, s, strlen(s), &sym)) || (rc = push_candle(d, &c, this_row, sym)))
            goto out;
    }
out:
    cJSON_Delete(root);
    return rc;
}

int dqr_read_auto(dqr_data *d, const char *buf, size_t len, const char *default_symbol)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)buf[i]))
        i++;
    if (i < len && buf[i] == '{')
        return dqr_read_polygon(d, buf, len, default_symbol);
    return dqr_read_csv(d, buf, len, default_symbol);
}
