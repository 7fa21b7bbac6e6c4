/* The dqcheck tool's input: a CSV candle file or a Polygon aggregates JSON
 * page, read with the examples' shared readers into one array of dq_candle
 * per file, with malformed rows collected (never dropped silently). Shared
 * by the tool, its tests and its fuzz targets. */
#ifndef DQCHECK_READER_H
#define DQCHECK_READER_H

#include <stddef.h>
#include <stdint.h>

#include <dqcheck/dqcheck.h>

typedef struct dqr_bad {
    long line;   /* 1-based line in the file; 0 for JSON */
    int64_t row; /* 0-based data row (JSON: index in "results") */
    char msg[160];
} dqr_bad;

typedef struct dqr_data {
    dq_candle *candles; /* n candles in file order */
    int64_t *rows;      /* their 0-based data rows */
    size_t *sym;        /* their symbol index into symbols */
    size_t n, cap, rows_cap, sym_cap;
    char **symbols; /* distinct symbols in order of first appearance */
    size_t nsym, symcap;
    dqr_bad *bad; /* malformed rows */
    size_t nbad, badcap;
    char err[512]; /* why the input is unreadable: "name:line: problem" */
} dqr_data;

void dqr_init(dqr_data *d);
void dqr_free(dqr_data *d);

/* Read buf (len bytes, named name in messages). Return 0 on success
 * (malformed rows are listed in d->bad), -1 when the input is unreadable
 * (d->err says why and where), -2 when out of memory. default_symbol is
 * used for rows without one; may be NULL. */
int dqr_read_csv(dqr_data *d, const char *name, const char *buf, size_t len,
                 const char *default_symbol);
int dqr_read_polygon(dqr_data *d, const char *name, const char *buf, size_t len,
                     const char *default_symbol);
/* Polygon JSON when the first non-blank byte is '{', else CSV. */
int dqr_read_auto(dqr_data *d, const char *name, const char *buf, size_t len,
                  const char *default_symbol);

#endif
