/*
 * The integration plumbing itself: a real PostgreSQL, started by scripts/pg,
 * reachable through DATABASE_URL. Skipped (exit 77) when no server was given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

static const char *database_url(void)
{
    const char *url = getenv("DATABASE_URL");
    return url && *url ? url : NULL;
}

static void select_one_over_database_url(void **state)
{
    (void)state;
    PGconn *conn = PQconnectdb(database_url());
    assert_non_null(conn);
    if (PQstatus(conn) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(conn));

    PGresult *res = PQexec(conn, "SELECT 1");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_int_equal(PQntuples(res), 1);
    assert_string_equal(PQgetvalue(res, 0, 0), "1");
    PQclear(res);

    /* The server must be the throwaway one: it runs with fsync off. */
    res = PQexec(conn, "SHOW fsync");
    assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
    assert_string_equal(PQgetvalue(res, 0, 0), "off");
    PQclear(res);
    PQfinish(conn);
}

static void wrong_port_fails_with_a_message(void **state)
{
    (void)state;
    /* Port 1 on loopback: nothing listens there. */
    PGconn *conn = PQconnectdb("host=127.0.0.1 port=1 connect_timeout=2");
    assert_non_null(conn);
    assert_int_equal(PQstatus(conn), CONNECTION_BAD);
    assert_true(strlen(PQerrorMessage(conn)) > 0);
    PQfinish(conn);
}

int main(void)
{
    if (!database_url()) {
        fprintf(stderr, "DATABASE_URL is not set: run through scripts/test\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(select_one_over_database_url),
        cmocka_unit_test(wrong_port_fails_with_a_message),
    };
    return cmocka_run_group_tests_name("pg_smoke", tests, NULL, NULL);
}
