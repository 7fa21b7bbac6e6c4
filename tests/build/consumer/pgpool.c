/* A program that uses libpgpool as an outside project would: through the
 * installed header and pkg-config only. The pool hands out libpq
 * connections, so the program calls libpq too: `pkg-config --libs
 * libpgpool` must link it. With DATABASE_URL set, it runs SELECT 1 through
 * the pool. */
#include <stdio.h>
#include <stdlib.h>

#include <libpq-fe.h>
#include <pgpool/pgpool.h>

int main(void)
{
    if (pgpool_version() != PGPOOL_VERSION_NUMBER) {
        fprintf(stderr, "header %s, library 0x%06x\n", PGPOOL_VERSION_STRING,
                (unsigned)pgpool_version());
        return 1;
    }
    printf("libpgpool %s: %s\n", PGPOOL_VERSION_STRING, pgpool_strerror(PGPOOL_EINVAL));
    const char *url = getenv("DATABASE_URL");
    if (!url || !*url) {
        PQclear(PQexec(NULL, "SELECT 1")); /* links libpq all the same */
        return 0;
    }
    pgpool_options o = PGPOOL_OPTIONS_INIT;
    o.conninfo = url;
    pgpool *pool;
    if (pgpool_new(&pool, &o) != PGPOOL_OK)
        return 1;
    pgpool_conn *c;
    int rc = pgpool_acquire(&c, pool, 5000);
    if (rc != PGPOOL_OK) {
        fprintf(stderr, "acquire: %s\n", pgpool_strerror(rc));
        pgpool_free(pool);
        return 1;
    }
    PGresult *r = PQexec(pgpool_conn_pg(c), "SELECT 1");
    int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    printf("SELECT 1 through the pool: %s\n", ok ? PQgetvalue(r, 0, 0) : PQresultErrorMessage(r));
    PQclear(r);
    pgpool_release(c);
    pgpool_free(pool);
    return ok ? 0 : 1;
}
