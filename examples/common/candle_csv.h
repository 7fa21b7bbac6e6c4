/*
 * A streaming reader for OHLCV candles in CSV, as the sample data and most
 * vendors write them. The header row names the columns (case-insensitive):
 *   time:   Date | date | timestamp | timestamp_ms | t
 *   prices: Open|open|o, High|high|h, Low|low|l, Close|close|c
 *   volume: Volume|volume|v        optional: vwap|vw, trades|n, symbol|ticker
 * Other columns (Adj Close, dividend, split) are ignored. A time value is a
 * date YYYY-MM-DD (a daily bar, stamped at New York midnight as Polygon
 * does), Unix milliseconds, or Unix seconds (below 10^11).
 */
#ifndef EXAMPLES_CANDLE_CSV_H
#define EXAMPLES_CANDLE_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct csv_candle {
    char symbol[32]; /* "" when the file has no symbol column */
    int64_t ts_ms;
    double open, high, low, close, volume;
    double vwap;    /* NAN when absent */
    int64_t trades; /* -1 when absent */
} csv_candle;

typedef struct csv_reader csv_reader;

/*
 * Open path and read its header. On failure returns -1 with a message naming
 * the file (and line) in err. The caller owns *out; free with csv_reader_free.
 */
int csv_reader_open(csv_reader **out, const char *path, char *err, size_t errlen);

/* As csv_reader_open, over an in-memory buffer (borrowed for the reader's life). */
int csv_reader_open_mem(csv_reader **out, const char *name, const char *data, size_t len, char *err,
                        size_t errlen);

/*
 * Read the next data row. Returns 1 with *c filled, 0 at the end, or -1 for a
 * malformed row: err then names file, line and the problem, and the next call
 * goes on with the following row (bad rows are reported, never dropped
 * silently).
 */
int csv_reader_next(csv_reader *r, csv_candle *c, char *err, size_t errlen);

/* 1-based line number of the row last returned (the header is line 1). */
size_t csv_reader_line(const csv_reader *r);

/* 0-based index of the data row last returned (blank lines not counted). */
size_t csv_reader_row(const csv_reader *r);

/* Whether the file has a symbol column. */
bool csv_reader_has_symbol(const csv_reader *r);

void csv_reader_free(csv_reader *r);

#endif
