/*
 * A hostile fake of the Polygon aggregates API on loopback, for the
 * ingestor's tests: plain sockets, one connection at a time, each answer
 * closes its connection. What it answers depends on the ticker of the path
 * (/v2/aggs/ticker/SYMBOL/range/...):
 *
 *   BOMB        200, Content-Encoding: gzip: 1 MiB on the wire, 1 GiB decoded
 *   ENDLESS     200 without a length, then bytes until the client goes away
 *               (at most 768 MiB)
 *   HUGE        200 with 2 000 000 bars (some 90 MB of JSON)
 *   MORE        200 with 10 bars in 2020, whatever the limit asked
 *   ECHO<n>     403 whose "error" echoes the key of the Authorization header
 *               after n bytes of padding (so that it straddles a cut)
 *   BADUTF8     403 whose "error" holds bytes that are not UTF-8
 *   UTF8CUT<n>  403 whose "error" is n bytes of padding, then 400 "€"
 *   INJECT      403 whose "error" holds a newline, a forged log line and
 *               terminal escape sequences
 *   LOOP        200 with 3 bars of 2020 and a next_url to the same URL
 *   CREEP       200 with the same 3 bars and a next_url with a new cursor
 *   EMPTY       200 without bars and a next_url with a new cursor
 *   RANGE       200 with bars of 1970-01-01, 1999-06-01, 2020-01-02,
 *               2020-01-03 and 287168-08-24
 *   OTHER       200 with 3 bars of 2020 for the ticker "MSFT"
 *   SLOW        404 after 6 s
 *
 * Anything else: 404. Failures of the test's own machinery are cmocka failures.
 */
#ifndef TESTS_INTEGRATION_HOSTILE_H
#define TESTS_INTEGRATION_HOSTILE_H

#include <stddef.h>

typedef struct hostile hostile;

/* Listen on a free loopback port; the server runs in a thread of its own. */
hostile *hostile_start(void);

/* http://127.0.0.1:PORT (borrowed; valid until hostile_stop). */
const char *hostile_base(const hostile *h);

/* Requests answered so far. */
long hostile_requests(hostile *h);

/* Stop the thread and free everything; NULL is accepted. */
void hostile_stop(hostile *h);

#endif
