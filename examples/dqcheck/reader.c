/* The dqcheck tool's input over the shared readers (see reader.h). */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_grow.h"
#include "candle_csv.h"
#include "polygon_page.h"
#include "reader.h"

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

/* The index of symbol s in d->symbols, added when new; -2 out of memory. */
static int symbol_index(dqr_data *d, const char *s, size_t *idx)
{
    for (size_t i = d->nsym; i-- > 0;) /* the last one first: files group rows */
        if (strcmp(d->symbols[i], s) == 0) {
            *idx = i;
            return 0;
        }
    char *copy = strdup(s);
    if (!copy || array_grow(&d->symbols, &d->symcap, d->nsym + 1, sizeof *d->symbols) != 0) {
        free(copy);
        return -2;
    }
    d->symbols[d->nsym] = copy;
    *idx = d->nsym++;
    return 0;
}

static int push_candle(dqr_data *d, const dq_candle *c, int64_t row, const char *symbol)
{
    size_t sym;
    if (symbol_index(d, symbol, &sym) != 0 ||
        array_grow(&d->candles, &d->cap, d->n + 1, sizeof *d->candles) != 0 ||
        array_grow(&d->rows, &d->rows_cap, d->n + 1, sizeof *d->rows) != 0 ||
        array_grow(&d->sym, &d->sym_cap, d->n + 1, sizeof *d->sym) != 0)
        return -2;
    d->candles[d->n] = *c;
    d->rows[d->n] = row;
    d->sym[d->n++] = sym;
    return 0;
}

__attribute__((format(printf, 4, 5))) static int push_bad(dqr_data *d, long line, int64_t row,
                                                          const char *fmt, ...)
{
    if (array_grow(&d->bad, &d->badcap, d->nbad + 1, sizeof *d->bad) != 0)
        return -2;
    dqr_bad *b = &d->bad[d->nbad++];
    b->line = line;
    b->row = row;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->msg, sizeof b->msg, fmt, ap);
    va_end(ap);
    return 0;
}

int dqr_read_csv(dqr_data *d, const char *name, const char *buf, size_t len,
                 const char *default_symbol)
{
    csv_reader *r;
    if (csv_reader_open_mem(&r, name, buf, len, d->err, sizeof d->err) != 0)
        return -1;
    const char *defsym = default_symbol ? default_symbol : "";
    dq_candle c;
    int rc;
    while ((rc = csv_reader_next(r, &c, d->err, sizeof d->err)) != 0) {
        int64_t row = (int64_t)csv_reader_row(r);
        const char *sym = *csv_reader_symbol(r) ? csv_reader_symbol(r) : defsym;
        rc = rc < 0 ? push_bad(d, (long)csv_reader_line(r), row, "%s", csv_reader_problem(r))
                    : push_candle(d, &c, row, sym);
        if (rc != 0)
            break;
    }
    d->err[0] = '\0';
    csv_reader_free(r);
    return rc;
}

int dqr_read_polygon(dqr_data *d, const char *name, const char *buf, size_t len,
                     const char *default_symbol)
{
    polygon_page page = { 0 };
    char err[400];
    int rc = 0;
    if (polygon_page_parse_all(&page, buf, len, err, sizeof err) != 0) {
        snprintf(d->err, sizeof d->err, "%s: %s", name, err);
        rc = -1;
    }
    const char *top = page.ticker[0] ? page.ticker : default_symbol ? default_symbol : "";
    for (size_t i = 0; rc == 0 && i < page.count; i++) {
        const dq_candle *c = &page.bars[i];
        const double v[] = { c->open, c->high, c->low, c->close, c->volume };
        int missing = -1;
        for (int k = 4; k >= 0; k--)
            missing = isnan(v[k]) ? k : missing;
        if (c->ts == POLYGON_NO_BAR)
            rc = push_bad(d, 0, (int64_t)i,
                          "results[%zu] is no bar: not an object or no valid \"t\"", i);
        else if (missing >= 0)
            rc = push_bad(d, 0, (int64_t)i, "results[%zu]: missing or non-numeric \"%c\"", i,
                          "ohlcv"[missing]);
        else
            rc = push_candle(d, c, (int64_t)i, page.tickers[i][0] ? page.tickers[i] : top);
    }
    polygon_page_free(&page);
    return rc;
}

int dqr_read_auto(dqr_data *d, const char *name, const char *buf, size_t len,
                  const char *default_symbol)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)buf[i]))
        i++;
    if (i < len && buf[i] == '{')
        return dqr_read_polygon(d, name, buf, len, default_symbol);
    return dqr_read_csv(d, name, buf, len, default_symbol);
}
