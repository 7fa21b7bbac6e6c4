/*
 * The bars polygon-replay serves: every CSV file of a directory, grouped by
 * symbol (the file's symbol column, or the file name up to its first '-',
 * '_' or '.'), sorted by time, duplicates removed. Each file's name marks its
 * prices as unadjusted ("raw") or split-adjusted ("adjusted"): one of those
 * words between '-', '_' or '.'. With a splits file, every series is served
 * both ways: an adjusted price is the raw one divided by the ratios of the
 * splits executed after the bar (the volume multiplied by them).
 */
#ifndef POLYGON_REPLAY_STORE_H
#define POLYGON_REPLAY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dqcheck/dqcheck.h>

/* The timespans of the aggregates endpoint, finest first. */
enum span {
    SPAN_SECOND,
    SPAN_MINUTE,
    SPAN_HOUR,
    SPAN_DAY,
    SPAN_WEEK,
    SPAN_MONTH,
    SPAN_QUARTER,
    SPAN_YEAR
};

/* A series' bars at one adjustment, and each bar's JSON object as the
 * aggregates endpoint writes it, each followed by a ',', back to back: bar
 * k's text (with its ',') is text[text_off[k], text_off[k + 1]), so the
 * bars [i, j) are the one run text[text_off[i], text_off[j]). */
typedef struct view {
    dq_candle *bars;
    char *text;
    size_t *text_off; /* count + 1 entries */
} view;

typedef struct series {
    char symbol[32];
    size_t count, cap;
    bool adjusted_file; /* whether its files hold split-adjusted prices */
    enum span base;     /* SPAN_DAY when every bar is at a New York midnight, else SPAN_MINUTE */
    /* [0] unadjusted, [1] split-adjusted. When no split of the symbol falls
     * after its first bar, both are the same arrays (shared). */
    view views[2];
} series;

typedef struct store {
    series *series;
    size_t count, cap;
    size_t total_bars;
} store;

/* Load every *.csv file in dir, the splits of splits_path (a CSV file with
 * the columns ticker,execution_date,split_from,split_to as Polygon's splits
 * reference; NULL: none), and render each bar's JSON text. Returns 0, or -1
 * with a message in err. */
int store_load_dir(store *s, const char *dir, const char *splits_path, char *err, size_t errlen);

/* Room one bar's text takes at most. */
enum { BAR_TEXT_MAX = 256 };

/* Write x's JSON object and a ',' at p (at most BAR_TEXT_MAX bytes); returns
 * the end. */
char *bar_render(char *p, const dq_candle *x);

/* A splits file's list, as parsed from text (len bytes; name for messages). */
typedef struct split {
    char ticker[32];
    int64_t when; /* the New York midnight of its execution date */
    double ratio; /* split_to / split_from */
} split;

typedef struct splits {
    split *v;
    size_t count;
} splits;

/* Parse a splits file's text into out (free out->v). Returns 0, or -1 with
 * a message naming the line in err. */
int splits_parse(splits *out, const char *name, const char *text, size_t len, char *err,
                 size_t errlen);

/* The same for one file's contents (data, len bytes, borrowed): name is the
 * file name (its symbol when the rows have none) and shown in errors. */
int store_load_buffer(store *s, const char *name, const char *data, size_t len, char *err,
                      size_t errlen);

/* The series of a symbol (exact match), or NULL. */
const series *store_find(const store *s, const char *symbol);

/* Index of the first bar with ts >= ms. */
size_t series_lower_bound(const series *se, int64_t ms);

void store_free(store *s);

#endif
