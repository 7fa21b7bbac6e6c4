/*
 * The ingestor's schema, as numbered migrations recorded in
 * schema_migrations. Applying them is idempotent and safe to run from
 * several processes at once (an advisory lock serialises them).
 */
#ifndef INGESTOR_MIGRATE_H
#define INGESTOR_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>

/* The newest schema version this program knows. */
int migrate_latest_version(void);

/*
 * Bring the schema up to date. *applied receives how many migrations ran
 * (0 when it was current). Returns 0, or -1 with the server's message in err.
 */
int migrate_run(PGconn *conn, int *applied, char *err, size_t errlen);

/* The schema version of the database (0 when never migrated), or -1 on error. */
int migrate_current_version(PGconn *conn, char *err, size_t errlen);

#endif
