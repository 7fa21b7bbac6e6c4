#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_grow.h"
#include "candle_csv.h"
#include "read_file.h"
#include "new_york_time.h"
#include "store.h"
#include "symbol.h"

static series *find_or_add(store *s, const char *symbol)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->series[i].symbol, symbol) == 0)
            return &s->series[i];
    if (array_grow(&s->series, &s->cap, s->count + 1, sizeof *s->series) != 0)
        return NULL;
    series *se = &s->series[s->count++];
    memset(se, 0, sizeof *se);
    snprintf(se->symbol, sizeof se->symbol, "%s", symbol);
    return se;
}

static int push(series *se, const dq_candle *c)
{
    if (array_grow(&se->views[0].bars, &se->cap, se->count + 1, sizeof *c) != 0)
        return -1;
    se->views[0].bars[se->count++] = *c;
    return 0;
}

/* Whether the word w appears in name between '-', '_', '.' or the ends. */
static bool name_has_word(const char *name, const char *w)
{
    size_t n = strlen(w);
    for (const char *p = name; (p = strstr(p, w)) != NULL; p++) {
        bool start = p == name || strchr("-_.", p[-1]);
        bool end = p[n] == '\0' || strchr("-_.", p[n]);
        if (start && end)
            return true;
    }
    return false;
}

/* The rows of r (taken over: freed here), from the file name (its symbol
 * when the rows have none, and whether its prices are raw or adjusted)
 * shown as path. */
static int load_reader(store *s, csv_reader *r, const char *name, const char *path, char *err,
                       size_t errlen)
{
    bool raw = name_has_word(name, "raw"), adjusted = name_has_word(name, "adjusted");
    if (raw == adjusted) {
        snprintf(err, errlen,
                 "%s: the file name must say whether its prices are 'raw' (unadjusted) or "
                 "'adjusted' (split-adjusted), e.g. AAPL-raw-daily.csv",
                 path);
        csv_reader_free(r);
        return -1;
    }
    char file_symbol[32];
    symbol_from_file_name(file_symbol, sizeof file_symbol, name);
    series *last = NULL;
    dq_candle c;
    int rc;
    while ((rc = csv_reader_next(r, &c, err, errlen)) != 0) {
        if (rc < 0) {
            /* The replay serves what it was given: a bad row is an error. */
            csv_reader_free(r);
            return -1;
        }
        const char *sym = *csv_reader_symbol(r) ? csv_reader_symbol(r) : file_symbol;
        if (!last || strcmp(last->symbol, sym) != 0) {
            size_t before = s->count;
            last = find_or_add(s, sym);
            if (last && s->count > before)
                last->adjusted_file = adjusted;
            else if (last && last->adjusted_file != adjusted) {
                snprintf(err, errlen, "%s: %s has both raw and adjusted files", path, sym);
                csv_reader_free(r);
                return -1;
            }
        }
        if (!last || push(last, &c) != 0) {
            snprintf(err, errlen, "%s: out of memory", path);
            csv_reader_free(r);
            return -1;
        }
    }
    csv_reader_free(r);
    return 0;
}

static int load_file(store *s, const char *dir, const char *name, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    csv_reader *r;
    if (csv_reader_open(&r, path, err, errlen) != 0)
        return -1;
    return load_reader(s, r, name, path, err, errlen);
}

/* The "%.*g" text, precision prec, of the decimal [-]0.d1d2...dprec x 10^(x+1)
 * (d the digits, x the exponent of d1): trailing zeros dropped, then fixed
 * or exponential notation as printf chooses. Returns the length. */
static int g_text(char *out, bool neg, const char *d, int prec, int x)
{
    int len = prec;
    while (len > 1 && d[len - 1] == '0')
        len--;
    char *p = out;
    if (neg)
        *p++ = '-';
    if (x < -4 || x >= prec) {
        *p++ = d[0];
        if (len > 1) {
            *p++ = '.';
            memcpy(p, d + 1, (size_t)len - 1);
            p += len - 1;
        }
        p += sprintf(p, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
    } else if (x >= 0) {
        for (int i = 0; i <= x; i++)
            *p++ = i < len ? d[i] : '0';
        if (len > x + 1) {
            *p++ = '.';
            memcpy(p, d + x + 1, (size_t)(len - x - 1));
            p += len - x - 1;
        }
    } else {
        *p++ = '0';
        *p++ = '.';
        for (int i = -1; i > x; i--)
            *p++ = '0';
        memcpy(p, d, (size_t)len);
        p += len;
    }
    *p = '\0';
    return (int)(p - out);
}

/* The first precision from `from` up to 17 whose "%.*g" text of v reads
 * back as v (17 when none does, as for NaN). Returns the length. */
static int walk_precisions(char *out, double v, int from)
{
    int n = 0;
    for (int prec = from; prec <= 17; prec++) {
        n = snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            break;
    }
    return n;
}

/* v rounded to prec (15 or 16) significant digits, from its 17 digits d17
 * and exponent x17 ("%.16e"): into d (prec digits) and *x. The 17-digit
 * text is within half a unit of its last digit of v, so rounding it again
 * gives v's own rounding unless the dropped digits are exactly half a unit
 * ("5" or "50"): then printf rounds v itself. */
static void round_digits(double v, const char *d17, int x17, int prec, char *d, int *x)
{
    const char *tail = d17 + prec;
    bool half = prec == 16 ? tail[0] == '5' : tail[0] == '5' && tail[1] == '0';
    if (half) {
        char t[40];
        snprintf(t, sizeof t, "%.*e", prec - 1, fabs(v));
        d[0] = t[0];
        memcpy(d + 1, t + 2, (size_t)prec - 1);
        *x = atoi(t + prec + 2);
        return;
    }
    memcpy(d, d17, (size_t)prec);
    *x = x17;
    if (tail[0] < '5')
        return;
    int i = prec - 1;
    for (; i >= 0 && d[i] == '9'; i--)
        d[i] = '0';
    if (i >= 0) {
        d[i]++;
    } else { /* 99...9 rounded up to 10...0 */
        d[0] = '1';
        ++*x;
    }
}

/* The text of v as the aggregates endpoint writes it: "%.*g" with the
 * fewest digits, from 10 up to 17, that read back as v (17 when none do).
 * Writes at most 24 characters and a NUL; returns the length.
 *
 * Cheaper than trying every precision with printf: for a normal v, when
 * some precision P <= 15 reads back, v is within half an ulp (2^-53 v) of
 * that P-digit decimal, closer than half a unit of the 15th digit, so its
 * 15-digit rounding is the same decimal and reads back too; the 15-digit
 * rounding failing means 10 to 15 all fail. The texts of the same decimal
 * at P and 15 digits differ only in %g's choice of notation, which depends
 * on the precision only for decimal exponents 10 to 14: that case, zeros,
 * subnormals (fewer significant bits), infinities and NaNs take the plain
 * walk. Otherwise one "%.16e" gives the 17 digits the 15- and 16-digit
 * candidates are rounded from. */
static int format_double(char *out, double v)
{
    if (fpclassify(v) != FP_NORMAL)
        return walk_precisions(out, v, 10);
    char t[40], d15[16], d16[17];
    snprintf(t, sizeof t, "%.16e", fabs(v)); /* d.dddddddddddddddde+XX */
    char d17[18];
    d17[0] = t[0];
    memcpy(d17 + 1, t + 2, 16);
    d17[17] = '\0';
    int x17 = atoi(t + 19), x;
    bool neg = v < 0;
    round_digits(v, d17, x17, 15, d15, &x);
    int n = g_text(out, neg, d15, 15, x);
    if (strtod(out, NULL) == v)
        return x >= 10 && x < 15 ? walk_precisions(out, v, 10) : n;
    round_digits(v, d17, x17, 16, d16, &x);
    n = g_text(out, neg, d16, 16, x);
    if (strtod(out, NULL) == v)
        return n;
    return g_text(out, neg, d17, 17, x17);
}

static char *put_double(char *p, double v)
{
    return p + format_double(p, v);
}

static char *put_i64(char *p, int64_t v)
{
    char tmp[24];
    size_t n = 0;
    uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *p++ = '-';
    while (n)
        *p++ = tmp[--n];
    return p;
}

#define PUT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

/* BAR_TEXT_MAX: 6 doubles of at most 24 characters (plus the NUL snprintf
 * writes), 2 integers of at most 20, the keys and "},". Key order, and the
 * absent vw and n (NaN), as Polygon writes them. */
char *bar_render(char *p, const dq_candle *x)
{
    p = PUT(p, "{\"v\":");
    p = put_double(p, x->volume);
    if (!isnan(x->vwap)) {
        p = PUT(p, ",\"vw\":");
        p = put_double(p, x->vwap);
    }
    p = PUT(p, ",\"o\":");
    p = put_double(p, x->open);
    p = PUT(p, ",\"c\":");
    p = put_double(p, x->close);
    p = PUT(p, ",\"h\":");
    p = put_double(p, x->high);
    p = PUT(p, ",\"l\":");
    p = put_double(p, x->low);
    p = PUT(p, ",\"t\":");
    p = put_i64(p, x->ts);
    if (!isnan(x->trades)) {
        p = PUT(p, ",\"n\":");
        p = put_i64(p, (int64_t)x->trades);
    }
    return PUT(p, "},");
}

static int render_view(view *vw, size_t count)
{
    vw->text_off = malloc((count + 1) * sizeof *vw->text_off);
    if (!vw->text_off)
        return -1;
    size_t len = 0, cap = 0;
    for (size_t k = 0; k < count; k++) {
        if (array_grow(&vw->text, &cap, len + BAR_TEXT_MAX, 1) != 0)
            return -1;
        vw->text_off[k] = len;
        len = (size_t)(bar_render(vw->text + len, &vw->bars[k]) - vw->text);
    }
    vw->text_off[count] = len;
    char *p = realloc(vw->text, len ? len : 1); /* give back the slack */
    if (p)
        vw->text = p;
    return 0;
}

/* The index of name in the header fields, or -1. */
static int column(char *const *fields, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(fields[i], name) == 0)
            return i;
    return -1;
}

/* One row of a splits file into p; false when it is not one. */
static bool split_row(char *const *f, int n, const int col[4], split *p)
{
    int y;
    unsigned m, d;
    char *e1, *e2;
    for (int k = 0; k < 4; k++)
        if (col[k] >= n)
            return false;
    double from = strtod(f[col[2]], &e1), to = strtod(f[col[3]], &e2);
    if (!*f[col[0]] || strlen(f[col[0]]) >= sizeof p->ticker ||
        !ny_parse_date(f[col[1]], strlen(f[col[1]]), &y, &m, &d) || e1 == f[col[2]] || *e1 ||
        e2 == f[col[3]] || *e2 || !(from > 0 && from < 1e9) || !(to > 0 && to < 1e9))
        return false;
    snprintf(p->ticker, sizeof p->ticker, "%s", f[col[0]]);
    p->when = ny_midnight_ms(y, m, d);
    p->ratio = to / from;
    return true;
}

int splits_parse(splits *out, const char *name, const char *text, size_t len, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof *out);
    char *copy = malloc(len + 1);
    if (!copy) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(copy, text, len);
    copy[len] = '\0';
    static const char *const names[4] = { "ticker", "execution_date", "split_from", "split_to" };
    int col[4] = { -1, -1, -1, -1 }, rc = 0, lineno = 0;
    size_t cap = 0;
    char *line = copy, *next;
    for (; rc == 0 && line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line[strcspn(line, "\r")] = '\0';
        char *f[16];
        int n = csv_split(line, ',', f, 16);
        n = n < 16 ? n : 16;
        if (++lineno == 1) {
            for (int k = 0; k < 4; k++)
                if ((col[k] = column(f, n, names[k])) < 0) {
                    snprintf(err, errlen,
                             "%s: the header must name ticker,execution_date,split_from,split_to",
                             name);
                    rc = -1;
                }
        } else if (n == 1 && !*f[0]) {
            continue;
        } else if (array_grow(&out->v, &cap, out->count + 1, sizeof *out->v) != 0) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
        } else if (!split_row(f, n, col, &out->v[out->count++])) {
            snprintf(err, errlen,
                     "%s:%d: want TICKER,YYYY-MM-DD,FROM,TO with positive share counts", name,
                     lineno);
            rc = -1;
        }
    }
    free(copy);
    if (rc != 0) {
        free(out->v);
        memset(out, 0, sizeof *out);
    }
    return rc;
}

static int splits_load(splits *out, const char *path, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    int rc = splits_parse(out, path, text, len, err, errlen);
    free(text);
    return rc;
}

/* The product of the ratios of symbol's splits executed after t. */
static double split_factor(const splits *sp, const char *symbol, int64_t t)
{
    double f = 1.0;
    for (size_t i = 0; i < sp->count; i++)
        if (t < sp->v[i].when && strcmp(sp->v[i].ticker, symbol) == 0)
            f *= sp->v[i].ratio;
    return f;
}

/* x rounded to 12 significant digits: a price scaled by a split ratio reads
 * as the decimal it stands for, not as its binary product. */
static double round12(double x)
{
    char t[40];
    snprintf(t, sizeof t, "%.12g", x);
    return strtod(t, NULL);
}

/* Build the view the series' files do not hold (see the header). */
static int derive_view(series *se, const splits *sp)
{
    int have = se->adjusted_file ? 1 : 0;
    const dq_candle *in = se->views[have].bars;
    bool any = false;
    for (size_t k = 0; k < se->count && !any; k++)
        any = split_factor(sp, se->symbol, in[k].ts) != 1.0;
    if (!any) {
        se->views[!have].bars = se->views[have].bars;
        return 0;
    }
    dq_candle *out = malloc((se->count ? se->count : 1) * sizeof *out);
    if (!out)
        return -1;
    for (size_t k = 0; k < se->count; k++) {
        double f = split_factor(sp, se->symbol, in[k].ts);
        double price = have ? f : 1.0 / f; /* adjusted -> raw multiplies */
        dq_candle b = in[k];
        b.open = round12(b.open * price);
        b.high = round12(b.high * price);
        b.low = round12(b.low * price);
        b.close = round12(b.close * price);
        if (!isnan(b.vwap))
            b.vwap = round12(b.vwap * price);
        b.volume = round12(b.volume / price);
        out[k] = b;
    }
    se->views[!have].bars = out;
    return 0;
}

static int cmp_bar(const void *a, const void *b)
{
    int64_t x = ((const dq_candle *)a)->ts, y = ((const dq_candle *)b)->ts;
    return (x > y) - (x < y);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int finish(store *s, const char *what, splits *sp, char *err, size_t errlen);

int store_load_dir(store *s, const char *dir, const char *splits_path, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    splits sp = { 0 };
    if (splits_path && splits_load(&sp, splits_path, err, errlen) != 0)
        return -1;
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: cannot open directory", dir);
        free(sp.v);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".csv") != 0 || e->d_name[0] == '.')
            continue;
        if (array_grow(&names, &cap, n + 1, sizeof *names) != 0 ||
            !(names[n] = strdup(e->d_name))) {
            rc = -1;
            snprintf(err, errlen, "out of memory");
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0)
        qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = load_file(s, dir, names[i], err, errlen);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc != 0) {
        free(sp.v);
        store_free(s);
        return -1;
    }
    return finish(s, dir, &sp, err, errlen);
}

int store_load_buffer(store *s, const char *name, const char *data, size_t len, char *err,
                      size_t errlen)
{
    memset(s, 0, sizeof *s);
    csv_reader *r;
    if (csv_reader_open_mem(&r, name, data, len, err, errlen) != 0)
        return -1;
    if (load_reader(s, r, name, name, err, errlen) != 0) {
        store_free(s);
        return -1;
    }
    splits none = { 0 };
    return finish(s, name, &none, err, errlen);
}

/* Sort each series, drop repeated times, derive the other view with the
 * splits sp (freed here), render the bars' texts. */
static int finish(store *s, const char *what, splits *sp, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->count; i++) {
        series *se = &s->series[i];
        dq_candle *bars = se->views[0].bars; /* as loaded */
        se->views[0].bars = NULL;
        qsort(bars, se->count, sizeof *bars, cmp_bar);
        size_t out = 0;
        bool daily = true;
        for (size_t k = 0; k < se->count; k++) { /* keep the first of equal times */
            if (out == 0 || bars[k].ts != bars[out - 1].ts)
                bars[out++] = bars[k];
        }
        for (size_t k = 0; k < out && daily; k++) {
            int y;
            unsigned mo, dd;
            ny_date_of_ms(bars[k].ts, &y, &mo, &dd);
            daily = ny_midnight_ms(y, mo, dd) == bars[k].ts;
        }
        se->base = daily ? SPAN_DAY : SPAN_MINUTE;
        se->count = out;
        s->total_bars += out;
        if (out > 0 && out < se->cap) { /* give back the growth slack */
            dq_candle *p = realloc(bars, out * sizeof *p);
            if (p) {
                bars = p;
                se->cap = out;
            }
        }
        se->views[se->adjusted_file ? 1 : 0].bars = bars;
        if (derive_view(se, sp) != 0 || render_view(&se->views[0], se->count) != 0 ||
            render_view(&se->views[1], se->count) != 0) {
            snprintf(err, errlen, "%s: out of memory", what);
            free(sp->v);
            store_free(s);
            return -1;
        }
    }
    free(sp->v);
    return 0;
}

const series *store_find(const store *s, const char *symbol)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->series[i].symbol, symbol) == 0)
            return &s->series[i];
    return NULL;
}

size_t series_lower_bound(const series *se, int64_t ms)
{
    size_t lo = 0, hi = se->count;
    const dq_candle *bars = se->views[0].bars;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (bars[mid].ts < ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void store_free(store *s)
{
    for (size_t i = 0; i < s->count; i++) {
        series *se = &s->series[i];
        for (int k = 0; k < 2; k++) {
            if (k == 0 || se->views[1].bars != se->views[0].bars)
                free(se->views[k].bars);
            free(se->views[k].text);
            free(se->views[k].text_off);
        }
    }
    free(s->series);
    memset(s, 0, sizeof *s);
}
