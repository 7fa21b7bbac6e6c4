/* The ingestor's database pool: its settings, and acquiring with a log line. */
#ifndef INGESTOR_DB_H
#define INGESTOR_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <pgpool/pgpool.h>

#include "config.h"

/* A pool of at most max_size connections for cfg; 0, or -1 logged. */
int db_open_pool(const ingest_config *cfg, pgpool **pool, int max_size);

/* Acquire a connection (15 s), or log why not (password masked by the pool). */
pgpool_conn *db_acquire_or_log(pgpool *pool);

/*
 * db_open_pool(), then check that the database answers and that its schema
 * is the one this program needs. 0, or the exit status (logged):
 * EX_UNAVAILABLE when the database is unreachable, EX_SOFTWARE when the
 * schema needs `ingestor migrate`.
 */
int db_open_ready(const ingest_config *cfg, pgpool **pool, int max_size);

/* Back to the pool, or out of it when the server went away meanwhile. */
void db_give_back(pgpool_conn *pc);

/* The password of a postgresql:// URL (as written), to mask it. */
bool db_url_password(const char *url, char *out, size_t size);

#endif
