#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "candle_csv.h"
#include "nytime.h"

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
    size_t lineno;
    size_t row;
    int col[COL_COUNT]; /* field index of each column, -1 when absent */
};

static const struct {
    enum col col;
    const char *names[6];
} header_names[] = {
    { COL_TIME, { "date", "timestamp", "timestamp_ms", "t", "time", NULL } },
    { COL_OPEN, { "open", "o", NULL } },
    { COL_HIGH, { "high", "h", NULL } },
    { COL_LOW, { "low", "l", NULL } },
    { COL_CLOSE, { "close", "c", NULL } },
    { COL_VOLUME, { "volume", "v", NULL } },
    { COL_VWAP, { "vwap", "vw", NULL } },
    { COL_TRADES, { "trades", "n", "transactions", NULL } },
    { COL_SYMBOL, { "symbol", "ticker", NULL } },
};

/* Read one physical line into r->line without its line ending; false at EOF. */
static bool read_line(csv_reader *r)
{
    size_t n = 0;
    for (;;) {
        int ch;
        if (r->file) {
            ch = getc(r->file);
        } else {
            ch = r->pos < r->len ? (unsigned char)r->data[r->pos++] : EOF;
        }
        if (ch == EOF && n == 0)
            return false;
        if (ch == EOF || ch == '\n')
            break;
        if (n + 2 > r->line_cap) {
            size_t cap = r->line_cap ? r->line_cap * 2 : 256;
            char *p = realloc(r->line, cap);
            if (!p)
                return false;
            r->line = p;
            r->line_cap = cap;
        }
        r->line[n++] = (char)ch;
    }
    if (n > 0 && r->line[n - 1] == '\r')
        n--;
    if (!r->line) {
        r->line = malloc(1);
        if (!r->line)
            return false;
        r->line_cap = 1;
    }
    r->line[n] = '\0';
    r->lineno++;
    return true;
}

/* Split r->line in place at commas; strips spaces and one level of quotes. */
static int split(char *line, char **fields)
{
    int n = 0;
    char *p = line;
    for (;;) {
        if (n == MAX_FIELDS)
            return -1;
        while (*p == ' ' || *p == '\t')
            p++;
        char *start = p;
        char *end;
        if (*p == '"') {
            start = ++p;
            while (*p && *p != '"')
                p++;
            end = p;
            if (*p == '"')
                p++;
            while (*p && *p != ',')
                p++;
        } else {
            while (*p && *p != ',')
                p++;
            end = p;
            while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        }
        char sep = *p;
        *end = '\0';
        fields[n++] = start;
        if (sep != ',')
            return n;
        p++;
    }
}

static bool blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

static int read_header(csv_reader *r, char *err, size_t errlen)
{
    do {
        if (!read_line(r)) {
            snprintf(err, errlen, "%s: empty file, no header row", r->name);
            return -1;
        }
    } while (blank(r->line));
    char *fields[MAX_FIELDS];
    int n = split(r->line, fields);
    if (n < 0) {
        snprintf(err, errlen, "%s:%zu: more than %d columns", r->name, r->lineno, MAX_FIELDS);
        return -1;
    }
    for (int c = 0; c < COL_COUNT; c++)
        r->col[c] = -1;
    for (int i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof header_names / sizeof header_names[0]; k++) {
            for (const char *const *nm = header_names[k].names; *nm; nm++) {
                if (strcasecmp(fields[i], *nm) == 0 && r->col[header_names[k].col] < 0)
                    r->col[header_names[k].col] = i;
            }
        }
    }
    static const char *const required[] = {
        "time (date/timestamp/t)", "open", "high", "low", "close", "volume"
    };
    for (int c = COL_TIME; c <= COL_VOLUME; c++) {
        if (r->col[c] < 0) {
            snprintf(err, errlen, "%s:%zu: no %s column in the header", r->name, r->lineno,
                     required[c]);
            return -1;
        }
    }
    return 0;
}

static int open_common(csv_reader **out, csv_reader *r, char *err, size_t errlen)
{
    if (read_header(r, err, errlen) != 0) {
        csv_reader_free(r);
        *out = NULL;
        return -1;
    }
    *out = r;
    return 0;
}

int csv_reader_open(csv_reader **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    csv_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -1;
    }
    snprintf(r->name, sizeof r->name, "%s", path);
    r->file = fopen(path, "rb");
    if (!r->file) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        free(r);
        return -1;
    }
    return open_common(out, r, err, errlen);
}

int csv_reader_open_mem(csv_reader **out, const char *name, const char *data, size_t len, char *err,
                        size_t errlen)
{
    *out = NULL;
    csv_reader *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    snprintf(r->name, sizeof r->name, "%s", name);
    r->data = data;
    r->len = len;
    return open_common(out, r, err, errlen);
}

static bool parse_double(const char *s, double *out)
{
    if (!*s)
        return false;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*end || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

static bool parse_int(const char *s, int64_t *out)
{
    if (!*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE)
        return false;
    if (*end == '.') { /* "82132.0" as some exports write counts */
        for (end++; *end == '0'; end++)
            ;
    }
    if (*end)
        return false;
    *out = v;
    return true;
}

static bool parse_time(const char *s, int64_t *out)
{
    int y;
    unsigned m, d;
    size_t len = strlen(s);
    if (len == 10 && s[4] == '-') {
        if (!ny_parse_date(s, len, &y, &m, &d))
            return false;
        *out = ny_midnight_ms(y, m, d);
        return true;
    }
    int64_t v;
    if (!parse_int(s, &v) || v < 0)
        return false;
    /* Below 10^11 it can only be seconds (10^11 ms is March 1973). */
    if (v < 100000000000LL) {
        if (v > INT64_MAX / 1000)
            return false;
        v *= 1000;
    }
    *out = v;
    return true;
}

int csv_reader_next(csv_reader *r, csv_candle *c, char *err, size_t errlen)
{
    do {
        if (!read_line(r))
            return 0;
    } while (blank(r->line));
    r->row++;

    char *fields[MAX_FIELDS];
    int n = split(r->line, fields);
    if (n < 0) {
        snprintf(err, errlen, "%s:%zu: more than %d fields", r->name, r->lineno, MAX_FIELDS);
        return -1;
    }
    for (int k = 0; k < COL_COUNT; k++) {
        if (r->col[k] >= n && (k <= COL_VOLUME || k == COL_SYMBOL)) {
            snprintf(err, errlen, "%s:%zu: %d fields, the header has more", r->name, r->lineno, n);
            return -1;
        }
    }
    static const char *const names[] = { "time", "open", "high", "low", "close", "volume" };
    if (!parse_time(fields[r->col[COL_TIME]], &c->ts_ms)) {
        snprintf(err, errlen, "%s:%zu: bad time '%.40s'", r->name, r->lineno,
                 fields[r->col[COL_TIME]]);
        return -1;
    }
    double *dst[] = { NULL, &c->open, &c->high, &c->low, &c->close, &c->volume };
    for (int k = COL_OPEN; k <= COL_VOLUME; k++) {
        if (!parse_double(fields[r->col[k]], dst[k])) {
            snprintf(err, errlen, "%s:%zu: bad %s '%.40s'", r->name, r->lineno, names[k],
                     fields[r->col[k]]);
            return -1;
        }
    }
    c->vwap = NAN;
    if (r->col[COL_VWAP] >= 0 && r->col[COL_VWAP] < n && *fields[r->col[COL_VWAP]]) {
        if (!parse_double(fields[r->col[COL_VWAP]], &c->vwap)) {
            snprintf(err, errlen, "%s:%zu: bad vwap '%.40s'", r->name, r->lineno,
                     fields[r->col[COL_VWAP]]);
            return -1;
        }
    }
    c->trades = -1;
    if (r->col[COL_TRADES] >= 0 && r->col[COL_TRADES] < n && *fields[r->col[COL_TRADES]]) {
        if (!parse_int(fields[r->col[COL_TRADES]], &c->trades) || c->trades < 0) {
            snprintf(err, errlen, "%s:%zu: bad trade count '%.40s'", r->name, r->lineno,
                     fields[r->col[COL_TRADES]]);
            return -1;
        }
    }
    c->symbol[0] = '\0';
    if (r->col[COL_SYMBOL] >= 0) {
        const char *s = fields[r->col[COL_SYMBOL]];
        size_t len = strlen(s);
        if (len == 0 || len >= sizeof c->symbol) {
            snprintf(err, errlen, "%s:%zu: bad symbol '%.40s'", r->name, r->lineno, s);
            return -1;
        }
        memcpy(c->symbol, s, len + 1);
    }
    return 1;
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
