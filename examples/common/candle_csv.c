#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array_grow.h"
#include "candle_csv.h"
#include "new_york_time.h"

enum col {
    COL_TIME,
    COL_OPEN,
    COL_HIGH,
    COL_LOW,
    COL_CLOSE,
    COL_VOLUME,
    COL_VWAP,
    COL_TRADES,
    COL_SYMBOL,
    COL_COUNT
};

#define MAX_FIELDS 64

struct csv_reader {
    char name[256];
    FILE *file;       /* NULL for an in-memory reader */
    const char *data; /* in-memory input */
    size_t len, pos;
    char *line;
    size_t line_cap;
    size_t lineno, row;
    char sep;
    bool time_in_ms;    /* a timestamp_ms column: never seconds */
    int col[COL_COUNT]; /* field index of each column, -1 when absent */
    const char *symbol;
    char problem[160];
};

static const char *const col_name[COL_COUNT] = { "timestamp", "open", "high",   "low",   "close",
                                                 "volume",    "vwap", "trades", "symbol" };

/* The names of each column, lower case, between '|'. */
static const char *const col_aliases[COL_COUNT] = {
    "|date|datetime|time|timestamp|timestamp_ms|",
    "|open|o|",
    "|high|h|",
    "|low|l|",
    "|close|c|",
    "|volume|vol|v|",
    "|vwap|vw|",
    "|trades|transactions|n|",
    "|symbol|ticker|",
};

static int column_of(const char *name)
{
    if (strcmp(name, "t") == 0) /* Polygon's names: t the time, T the ticker */
        return COL_TIME;
    if (strcmp(name, "T") == 0)
        return COL_SYMBOL;
    char key[32] = "|";
    size_t n = strlen(name);
    if (n == 0 || n > sizeof key - 3 || strchr(name, '|'))
        return -1;
    for (size_t i = 0; i < n; i++)
        key[i + 1] = (char)tolower((unsigned char)name[i]);
    memcpy(key + n + 1, "|", 2);
    for (int c = 0; c < COL_COUNT; c++)
        if (strstr(col_aliases[c], key))
            return c;
    return -1;
}

/* Read one physical line into r->line without its line ending (\n or \r\n);
 * *n its length (it may hold NUL bytes). False at the end. */
static bool read_line(csv_reader *r, size_t *n)
{
    const char *src;
    size_t len;
    if (r->file) {
        ssize_t got = getline(&r->line, &r->line_cap, r->file);
        if (got < 0)
            return false;
        src = r->line;
        len = (size_t)got;
    } else {
        if (r->pos >= r->len)
            return false;
        src = r->data + r->pos;
        const char *nl = memchr(src, '\n', r->len - r->pos);
        len = nl ? (size_t)(nl - src) + 1 : r->len - r->pos;
        r->pos += len;
        if (array_grow(&r->line, &r->line_cap, len + 1, 1) != 0)
            return false;
        memcpy(r->line, src, len);
    }
    if (len > 0 && r->line[len - 1] == '\n')
        len--;
    if (len > 0 && r->line[len - 1] == '\r')
        len--;
    r->line[len] = '\0';
    *n = len;
    r->lineno++;
    return true;
}

/* The next line that is not blank; false at the end. */
static bool next_line(csv_reader *r, size_t *n)
{
    while (read_line(r, n))
        if (r->line[strspn(r->line, " \t\r\f\v")] != '\0' || strlen(r->line) != *n)
            return true;
    return false;
}

int csv_split(char *line, char sep, char **fields, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        char *start = p, *end;
        if (*p == '"') { /* unquote in place: "" is a quote */
            end = start;
            for (p++; *p; p++) {
                if (*p == '"' && p[1] != '"')
                    break;
                *end++ = *p;
                if (*p == '"')
                    p++;
            }
            while (*p && *p != sep)
                p++;
        } else {
            while (*p && *p != sep)
                p++;
            end = p;
            while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        }
        char at = *p;
        *end = '\0';
        if (n < max)
            fields[n] = start;
        n++;
        if (at != sep)
            return n;
        p++;
    }
}

static char pick_separator(const char *line)
{
    size_t comma = 0, semi = 0, tab = 0;
    for (; *line; line++) {
        comma += *line == ',';
        semi += *line == ';';
        tab += *line == '\t';
    }
    if (tab > comma && tab >= semi)
        return '\t';
    return semi > comma ? ';' : ',';
}

static int read_header(csv_reader *r, char *err, size_t errlen)
{
    size_t len;
    if (!next_line(r, &len)) {
        snprintf(err, errlen, "%s:%zu: no header row (empty file)", r->name, r->lineno + 1);
        return -1;
    }
    r->sep = pick_separator(r->line);
    char *fields[MAX_FIELDS];
    int n = csv_split(r->line, r->sep, fields, MAX_FIELDS);
    for (int c = 0; c < COL_COUNT; c++)
        r->col[c] = -1;
    for (int i = 0; i < n && i < MAX_FIELDS; i++) {
        int c = column_of(fields[i]);
        if (c >= 0 && r->col[c] < 0) {
            r->col[c] = i;
            r->time_in_ms |= strcasecmp(fields[i], "timestamp_ms") == 0;
        }
    }
    for (int c = COL_TIME; c <= COL_VOLUME; c++) {
        if (r->col[c] < 0) {
            snprintf(err, errlen,
                     "%s:%zu: no \"%s\" column in the header (need a date or timestamp, open, "
                     "high, low, close and volume)",
                     r->name, r->lineno, col_name[c]);
            return -1;
        }
    }
    return 0;
}

static int open_reader(csv_reader **out, const char *name, FILE *file, const char *data, size_t len,
                       char *err, size_t errlen)
{
    csv_reader *r = calloc(1, sizeof *r);
    if (!r) {
        if (file)
            fclose(file);
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    r->file = file;
    r->data = data;
    r->len = len;
    if (read_header(r, err, errlen) != 0) {
        csv_reader_free(r);
        return -1;
    }
    *out = r;
    return 0;
}

int csv_reader_open(csv_reader **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return open_reader(out, path, f, NULL, 0, err, errlen);
}

int csv_reader_open_mem(csv_reader **out, const char *name, const char *data, size_t len, char *err,
                        size_t errlen)
{
    *out = NULL;
    return open_reader(out, name, NULL, data, len, err, errlen);
}

static bool parse_number(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return end != s && *end == '\0';
}

static bool digits(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* A date (New York midnight), a date and time of day (New York, or UTC with
 * Z), or Unix seconds or milliseconds. */
static bool parse_time(const char *s, bool in_ms, int64_t *out)
{
    size_t n = strlen(s);
    if (n >= 10 && s[4] == '-' && s[7] == '-') {
        int y;
        unsigned m, d, hh, mm, ss = 0;
        if (!ny_parse_date(s, 10, &y, &m, &d))
            return false;
        if (n == 10) {
            *out = ny_midnight_ms(y, m, d);
            return true;
        }
        if ((s[10] != ' ' && s[10] != 'T') || n < 16 || s[13] != ':' || !digits(s + 11, 2, &hh) ||
            !digits(s + 14, 2, &mm) || hh > 23 || mm > 59)
            return false;
        size_t k = 16;
        if (s[k] == ':') {
            if (n < 19 || !digits(s + 17, 2, &ss) || ss > 60)
                return false;
            k = 19;
        }
        bool utc = s[k] == 'Z';
        if (k + utc != n)
            return false;
        int64_t ms =
            days_from_civil(y, m, d) * 86400000 + (int64_t)(hh * 3600 + mm * 60 + ss) * 1000;
        *out = utc ? ms : ms + ny_midnight_ms(y, m, d) - days_from_civil(y, m, d) * 86400000;
        return true;
    }
    double v;
    if (!parse_number(s, &v) || !isfinite(v) || fabs(v) > 9e15)
        return false;
    if (!in_ms && fabs(v) < 1e11)
        v *= 1000.0; /* seconds: 10^11 ms is March 1973 */
    *out = llround(v);
    return true;
}

__attribute__((format(printf, 4, 5))) static int refuse(csv_reader *r, char *err, size_t errlen,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->problem, sizeof r->problem, fmt, ap);
    va_end(ap);
    snprintf(err, errlen, "%s:%zu: %s", r->name, r->lineno, r->problem);
    return -1;
}

int csv_reader_next(csv_reader *r, dq_candle *c, char *err, size_t errlen)
{
    size_t len;
    if (!next_line(r, &len))
        return 0;
    r->row++;
    r->symbol = "";
    if (strlen(r->line) != len) /* C text would end there */
        return refuse(r, err, errlen, "a NUL byte in the row");
    char *f[MAX_FIELDS];
    int n = csv_split(r->line, r->sep, f, MAX_FIELDS);
    for (int k = 0; k < COL_COUNT; k++)
        if (r->col[k] >= (n < MAX_FIELDS ? n : MAX_FIELDS) && (k <= COL_VOLUME || k == COL_SYMBOL))
            return refuse(r, err, errlen, "%d fields, the header has more", n);
    if (!parse_time(f[r->col[COL_TIME]], r->time_in_ms, &c->ts))
        return refuse(r, err, errlen, "bad timestamp \"%.40s\"", f[r->col[COL_TIME]]);
    double *dst[COL_COUNT] = { NULL,      &c->open,   &c->high, &c->low,
                               &c->close, &c->volume, &c->vwap, &c->trades };
    c->vwap = c->trades = DQ_ABSENT;
    for (int k = COL_OPEN; k <= COL_TRADES; k++) {
        if (r->col[k] < 0 || r->col[k] >= n || (k > COL_VOLUME && !*f[r->col[k]]))
            continue; /* an optional column absent or empty */
        const char *s = f[r->col[k]];
        if (!parse_number(s, dst[k]) ||
            (k == COL_TRADES && !(fabs(*dst[k]) < 9e15 && *dst[k] == floor(*dst[k]))))
            return refuse(r, err, errlen, "bad %s \"%.40s\"", col_name[k], s);
    }
    if (r->col[COL_SYMBOL] >= 0) {
        r->symbol = f[r->col[COL_SYMBOL]];
        if (strlen(r->symbol) > 31)
            return refuse(r, err, errlen, "bad symbol \"%.40s\"", r->symbol);
    }
    return 1;
}

const char *csv_reader_symbol(const csv_reader *r)
{
    return r->symbol ? r->symbol : "";
}

const char *csv_reader_problem(const csv_reader *r)
{
    return r->problem;
}

size_t csv_reader_line(const csv_reader *r)
{
    return r->lineno;
}

size_t csv_reader_row(const csv_reader *r)
{
    return r->row ? r->row - 1 : 0;
}

bool csv_reader_has_symbol(const csv_reader *r)
{
    return r->col[COL_SYMBOL] >= 0;
}

void csv_reader_free(csv_reader *r)
{
    if (!r)
        return;
    if (r->file)
        fclose(r->file);
    free(r->line);
    free(r);
}
