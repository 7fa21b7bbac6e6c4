/*
 * The bars polygon-replay serves: every CSV file of a directory, grouped by
 * symbol (the file's symbol column, or the file name up to its first '-',
 * '_' or '.'), sorted by time, duplicates removed.
 */
#ifndef POLYGON_REPLAY_STORE_H
#define POLYGON_REPLAY_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct bar {
    int64_t t;
    double o, h, l, c, v;
    double vw; /* NAN when absent */
    int64_t n; /* -1 when absent */
} bar;

typedef struct series {
    char symbol[32];
    bar *bars;
    size_t count, cap;
    /* Every bar's JSON object as the aggregates endpoint writes it, each
     * followed by a ',', back to back: bar k's text (with its ',') is
     * text[text_off[k], text_off[k + 1]), so the bars [i, j) are the one
     * run text[text_off[i], text_off[j]). Rendered once by store_load_dir. */
    char *text;
    size_t *text_off; /* count + 1 entries */
} series;

typedef struct store {
    series *series;
    size_t count, cap;
    size_t total_bars;
} store;

/* Load every *.csv file in dir and render each bar's JSON text. Returns 0,
 * or -1 with a message in err. */
int store_load_dir(store *s, const char *dir, char *err, size_t errlen);

/* The same for one file's contents (data, len bytes, borrowed): name is the
 * file name (its symbol when the rows have none) and shown in errors. */
int store_load_buffer(store *s, const char *name, const char *data, size_t len, char *err,
                      size_t errlen);

/* The series of a symbol (exact match), or NULL. */
const series *store_find(const store *s, const char *symbol);

/* Index of the first bar with t >= ms. */
size_t series_lower_bound(const series *se, int64_t ms);

void store_free(store *s);

#endif
