/*
 * One rate limit for every process of a deployment: the start times of the
 * last window's requests live in a row of api_rate_slots, and a request
 * goes out only after it has added its own time there while fewer than
 * `limit` others fall inside the window. The row lock serialises
 * reservations across processes and hosts; PostgreSQL's clock is the only
 * clock, so the hosts' clocks need not agree.
 */
#ifndef INGESTOR_DB_RATE_LIMIT_H
#define INGESTOR_DB_RATE_LIMIT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <pgpool/pgpool.h>

typedef struct db_rate_limit db_rate_limit;

/* limit requests per window_ms under the name (the API's); pool borrowed. */
int db_rate_limit_new(db_rate_limit **out, pgpool *pool, const char *name, int limit,
                      int64_t window_ms);
void db_rate_limit_free(db_rate_limit *l);

/*
 * Wait until a request may start, and reserve its slot. 0 when reserved;
 * -1 when *stop was set or the database failed (err says which).
 */
int db_rate_limit_reserve(db_rate_limit *l, atomic_int *stop, int64_t *waited_ms, char *err,
                          size_t errlen);

#endif
