/*
 * The aggregates request of polygon-replay, parsed apart from the HTTP
 * server so that the fuzz target (tests/fuzz/ingestor) can reach it:
 *   /v2/aggs/ticker/{T}/range/{mult}/{timespan}/{from}/{to}
 *   ?limit=N&sort=asc|desc&adjusted=true|false&cursor=BASE64URL
 * The cursor (as next_url carries it) is base64url of
 * "limit=N&sort=...&adjusted=...". An internal header of the program.
 *
 * Thread safety: pure functions of their arguments.
 */
#ifndef POLYGON_REPLAY_REQUEST_H
#define POLYGON_REPLAY_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h" /* enum span */

typedef struct query {
    char ticker[32];
    int64_t multiplier;
    char timespan[16];
    enum span span;
    int64_t from, to;
    char from_text[32], to_text[32]; /* as the request wrote them */
    int64_t limit;
    bool desc;
    bool adjusted;
} query;

/* The query arguments, each NULL when absent (borrowed). */
typedef struct replay_args {
    const char *limit, *sort, *adjusted, *cursor;
} replay_args;

/* Parse url (the path, percent-decoded) and args into *q. Returns NULL
 * for a valid aggregates request, "not found" for another path, else the
 * error text of a 400 (static). */
const char *replay_parse_query(const char *url, const replay_args *args, query *q);

/* base64url without padding of the NUL-terminated in, into out (outsz
 * bytes, NUL-terminated, cut when too small). */
void replay_b64_encode(const char *in, char *out, size_t outsz);

/* Decode base64url (padding and the standard alphabet's '+' and '/'
 * accepted) into out (outsz bytes, NUL-terminated). false when in is not
 * base64 or does not fit. */
bool replay_b64_decode(const char *in, char *out, size_t outsz);

#endif
