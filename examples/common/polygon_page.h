/*
 * One page of the Polygon aggregates API, parsed: its bars, the next page's
 * address, and for error bodies the server's own message.
 */
#ifndef EXAMPLES_POLYGON_PAGE_H
#define EXAMPLES_POLYGON_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <dqcheck/dqcheck.h>

/* The ts of a result that is no bar: not an object, or without a whole,
 * non-negative "t" in milliseconds. */
#define POLYGON_NO_BAR INT64_MIN

typedef struct polygon_page {
    /* The results as bars, owned: prices and volume NAN when missing or not
     * numbers (for validation to quarantine them with a reason), vwap and
     * trades DQ_ABSENT when absent. */
    dq_candle *bars;
    char (*tickers)[32]; /* per bar: its own "T" (grouped pages), else ""; NULL: none */
    size_t count, cap;
    char *next_url; /* owned; NULL on the last page */
    char ticker[32];
    char status[16];   /* "OK", "DELAYED", "ERROR", ... */
    char message[256]; /* error or message text of an error body, else "" */
} polygon_page;

/*
 * Parse a response body into page (which the caller zero-initialises once
 * and may reuse: its arrays are kept and grown). Returns 0, or -1 with a
 * reason in err: not JSON, not an object, a result that is no bar (see
 * POLYGON_NO_BAR), a "status" other than OK or DELAYED (a saved page may
 * have none).
 */
int polygon_page_parse(polygon_page *page, const char *body, size_t len, char *err, size_t errlen);

/* As polygon_page_parse, but a result that is no bar is kept as a bar with
 * ts POLYGON_NO_BAR (and NAN prices) for the caller to report. */
int polygon_page_parse_all(polygon_page *page, const char *body, size_t len, char *err,
                           size_t errlen);

/*
 * The two ways polygon_page_parse_all reads a body, for the tests that hold
 * them to each other. polygon_page_parse_fast is its single-pass scanner:
 * the same results, or 1 (page->count 0) for a body it leaves to the general
 * JSON parser, which polygon_page_parse_all_cjson is.
 */
int polygon_page_parse_fast(polygon_page *page, const char *body, size_t len, char *err,
                            size_t errlen);
int polygon_page_parse_all_cjson(polygon_page *page, const char *body, size_t len, char *err,
                                 size_t errlen);

/* Pull an error body's message ("error" or "message") for a non-2xx answer. */
void polygon_error_message(const char *body, size_t len, char *out, size_t outlen);

void polygon_page_free(polygon_page *page);

#endif
