/*
 * One page of the Polygon aggregates API, parsed: its bars, the next page's
 * address, and for error bodies the server's own message.
 */
#ifndef EXAMPLES_POLYGON_PAGE_H
#define EXAMPLES_POLYGON_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct page_bar {
    int64_t t;            /* Unix ms, start of the bar */
    double o, h, l, c, v; /* NAN when the field is missing or not a number */
    double vw;            /* NAN when absent */
    int64_t n;            /* -1 when absent */
} page_bar;

typedef struct polygon_page {
    page_bar *bars; /* owned; count entries */
    size_t count, cap;
    char *next_url; /* owned; NULL on the last page */
    char ticker[32];
    char status[16];   /* "OK", "DELAYED", "ERROR", ... */
    char message[256]; /* error or message text of an error body, else "" */
} polygon_page;

/*
 * Parse a response body into page (which the caller zero-initialises once
 * and may reuse: its arrays are kept and grown). Returns 0, or -1 with a
 * reason in err: not JSON, not an object, a bar without a numeric "t", a
 * status other than OK/DELAYED. Bars whose prices are missing are kept with
 * NAN so that validation quarantines them with a reason.
 */
int polygon_page_parse(polygon_page *page, const char *body, size_t len, char *err, size_t errlen);

/* Pull an error body's message ("error" or "message") for a non-2xx answer. */
void polygon_error_message(const char *body, size_t len, char *out, size_t outlen);

void polygon_page_free(polygon_page *page);

#endif
