/*
 * One rate limit for every process of a deployment: the start times of the
 * last window's requests live in a row of api_rate_slots, and a request
 * goes out only after it has added its own time there while fewer than
 * `limit` others fall inside the window. The row lock serialises
 * reservations across processes and hosts; PostgreSQL's clock is the only
 * clock, so the hosts' clocks need not agree.
 */
#ifndef INGESTOR_SHARED_LIMIT_H
#define INGESTOR_SHARED_LIMIT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <pgpool/pgpool.h>

typedef struct shared_limit shared_limit;

/* limit requests per window_ms under the name (the API's); pool borrowed. */
int shared_limit_new(shared_limit **out, pgpool *pool, const char *name, int limit,
                     int64_t window_ms);
void shared_limit_free(shared_limit *l);

/*
 * Wait until a request may start, and reserve its slot. 0 when reserved;
 * -1 when *stop was set or the database failed (err says which).
 */
int shared_limit_reserve(shared_limit *l, atomic_int *stop, int64_t *waited_ms, char *err,
                         size_t errlen);

#endif
