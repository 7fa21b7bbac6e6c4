/*
 * A streaming reader of OHLCV candles in CSV, as the sample data, most
 * vendors and Polygon's own column names write them. The separator is the
 * header's most frequent of ',', ';' and tab; fields may be quoted ("" is a
 * quote). The header names the columns (case-insensitive, except that the
 * one-letter "t" is the time and "T" the symbol, as Polygon names them):
 *   time:   date | datetime | time | timestamp | timestamp_ms | t
 *   prices: open|o, high|h, low|l, close|c      volume: volume|vol|v
 *   optional: vwap|vw, trades|transactions|n, symbol|ticker|T
 * Other columns (Adj Close, dividend, split) are ignored. A time is a date
 * YYYY-MM-DD (a daily bar, stamped at New York midnight as Polygon does),
 * YYYY-MM-DD[ T]HH:MM[:SS] (New York local time; UTC with a final Z), or a
 * number of Unix milliseconds, or of seconds when below 10^11 in magnitude
 * (always milliseconds in a timestamp_ms column).
 */
#ifndef EXAMPLES_CANDLE_CSV_H
#define EXAMPLES_CANDLE_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include <dqcheck/dqcheck.h>

typedef struct csv_reader csv_reader;

/*
 * Open path and read its header. On failure returns -1 with a message naming
 * the file (and line) in err. The caller owns *out; free with csv_reader_free.
 */
int csv_reader_open(csv_reader **out, const char *path, char *err, size_t errlen);

/* As csv_reader_open, over an in-memory buffer (borrowed for the reader's
 * life); name is shown in messages. */
int csv_reader_open_mem(csv_reader **out, const char *name, const char *data, size_t len, char *err,
                        size_t errlen);

/*
 * Read the next data row into *c (vwap and trades DQ_ABSENT when absent).
 * Returns 1, 0 at the end, or -1 for a malformed row: err then says
 * "file:line: problem" (csv_reader_problem() the problem alone), and the
 * next call goes on with the following row (bad rows are reported, never
 * dropped silently). Prices and volume out of range (1e999) are read as
 * they are, for the data-quality checks to judge; trades must be a whole
 * number below 9e15 in magnitude.
 */
int csv_reader_next(csv_reader *r, dq_candle *c, char *err, size_t errlen);

/* The symbol of the row last read; "" when the file has no symbol column or
 * the row's is empty. Valid until the next call. */
const char *csv_reader_symbol(const csv_reader *r);

/* The problem of the malformed row last refused, without file and line. */
const char *csv_reader_problem(const csv_reader *r);

/* 1-based line number of the row last returned (the header is line 1). */
size_t csv_reader_line(const csv_reader *r);

/* 0-based index of the data row last returned (blank lines not counted). */
size_t csv_reader_row(const csv_reader *r);

/* Whether the file has a symbol column. */
bool csv_reader_has_symbol(const csv_reader *r);

void csv_reader_free(csv_reader *r);

/*
 * Split line in place at sep into at most max fields (more are counted, not
 * stored): spaces around a field are dropped, a quoted field loses its
 * quotes and reads "" as ". Returns the number of fields.
 */
int csv_split(char *line, char sep, char **fields, int max);

#endif
