/*
 * The environment of one integration test of the ingestor: a database of its
 * own on the PostgreSQL of DATABASE_URL (from scripts/pg), a polygon-replay
 * on loopback, the variables the ingestor gets, and the ingestor processes
 * the test started in the background. SQL helpers, the ingestor run to its
 * end or in the background, the replay's request log, and a cmocka teardown
 * that kills what a failed test left running. Failures are cmocka failures.
 *
 * The test programs take INGESTOR_EXE REPLAY_EXE DATA_DIR PG_SCRIPT, read by
 * itenv_init() into the it_* variables below.
 */
#ifndef TESTS_INTEGRATION_ITENV_H
#define TESTS_INTEGRATION_ITENV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <libpq-fe.h>

#include "harness.h"

/* The key the replay accepts. */
#define ITENV_KEY "it-key-7c3e9a1f5b"

/* The CSV files of examples/data, by symbol. */
#define AAPL_CSV "AAPL-2012_2014-raw-daily.csv"
#define IBM_CSV  "IBM-2012_2014-adjusted-daily.csv"
#define KO_CSV   "KO-2012_2014-adjusted-daily.csv"
#define MSFT_CSV "MSFT-2012_2014-adjusted-daily.csv"
#define GME_CSV  "GME-2020-01-21_2021-01-26-raw-daily.csv"

#define ITENV_MAX_VARS  32
#define ITENV_MAX_PROCS 4

/* The command line of the test program. */
extern const char *it_ingestor_exe, *it_replay_exe, *it_data_dir, *it_pg_script;

/*
 * Read the command line; skip (77) without DATABASE_URL and INGEST_PG_DIR;
 * unset the variables of unset (NULL-terminated) so that the ingestors under
 * test do not inherit them from this shell. Returns 0, or the exit status
 * for main.
 */
int itenv_init(int argc, char **argv, const char *const *unset);

/* An ingestor started in the background. */
typedef struct itenv_proc {
    pid_t pid;     /* 0 once it has ended */
    char out[320]; /* its stdout+stderr */
} itenv_proc;

typedef struct itenv {
    char db[64];
    char url[512];       /* the test's database, as the ingestor gets it */
    char admin_url[512]; /* DATABASE_URL: the server's maintenance database */
    replay_proc rp;
    char dir[256]; /* the processes' output, beside the replay's own */
    char vars[ITENV_MAX_VARS][600];
    const char *envp[ITENV_MAX_VARS + 1];
    int nvars;
    itenv_proc procs[ITENV_MAX_PROCS];
    int nprocs;
} itenv;

/*
 * A database "it_NAME_PID" of its own (dropped first if it exists), its URL
 * (with password db_password in it when not NULL: see url_with_password), a
 * replay of dir with --api-key ITENV_KEY and replay_args (NULL-terminated, may
 * be NULL), a directory for the processes' output, and the variables
 * DATABASE_URL, POLYGON_BASE_URL and POLYGON_RATE_LIMIT_PER_MIN=0. e is the running environment
 * until itenv_stop: make it static, so that the teardown reaches it after a failure.
 */
void itenv_start(itenv *e, const char *name, const char *dir, const char *db_password,
                 const char *const *replay_args);

/*
 * Stop the replay and start it again on the same port, serving dir with
 * --api-key ITENV_KEY and replay_args (NULL-terminated, may be NULL).
 */
void itenv_replay_restart(itenv *e, const char *dir, const char *const *replay_args);

/* Kill the processes still running, stop the replay, drop the database. */
void itenv_stop(itenv *e);

/* A cmocka teardown: itenv_stop() of the running environment, if any. */
int itenv_teardown(void **state);

/* Set (or replace) one variable of the ingestors' environment. */
void setenv_var(itenv *e, const char *name, const char *value);

/*
 * The URL of database db on the server of base, with password pw in it
 * unless pw is NULL or base has one already (scripts/pg trusts loopback, so
 * a password the server never asks for still connects; a server that checks
 * them has one in DATABASE_URL).
 */
void url_with_password(char *out, size_t n, const char *base, const char *db, const char *pw);

/* ------------------------------------------------------------------ SQL */

/* A connection to url (caller frees with PQfinish). */
PGconn *connect_to(const char *url);

/* Run a command on url (notices are not printed). */
void exec_on(const char *url, const char *sql);

/* One value of one row of the test's database, as text into out ("NULL" for NULL). */
void query_text(const itenv *e, const char *sql, char *out, size_t size);
long long query_int(const itenv *e, const char *sql);
double query_double(const itenv *e, const char *sql);

#define assert_query_text(e, sql, want)                                                            \
    do {                                                                                           \
        char got_[600];                                                                            \
        query_text((e), (sql), got_, sizeof got_);                                                 \
        if (strcmp(got_, (want)) != 0)                                                             \
            fail_msg("%s: got '%s', want '%s'", (sql), got_, (want));                              \
    } while (0)

/* Poll sql (one integer) every 100 ms until it equals want; fail at the deadline. */
void wait_for(const itenv *e, const char *sql, long long want, long timeout_ms);

/* Bars of symbol stored (accepted or quarantined) == the rows of its file. */
void expect_symbol(const itenv *e, const char *symbol, const char *file);

/* Data rows of a CSV file of DATA_DIR with a date (first column) in [from, to]; NULL: all. */
long long csv_rows(const char *file, const char *from, const char *to);

/* PG_SCRIPT verb INGEST_PG_DIR ("restart", "halt", "resume"); it must succeed. */
void pg_do(const char *verb);

/* ------------------------------------------------------------ ingestor */

/* Run the ingestor with args to its end; its exit status, its output into *out (caller frees). */
int run_ingestor(itenv *e, char **out, const char *const *args);

/* Run the ingestor with args; it must exit 0. Its output (caller frees). */
char *run_ingestor_ok(itenv *e, const char *const *args);

/* `ingestor migrate`; it must succeed. */
void migrate(itenv *e);

/* Start the ingestor with args in the background, with extra variables (may be NULL). */
itenv_proc *spawn_ingestor(itenv *e, const char *const *args, const char *const *extra);

/* The process's output so far (caller frees). */
char *proc_output(const itenv_proc *p);
bool output_has(const itenv_proc *p, const char *needle);

/* Poll the output every 100 ms until it has needle; fail at the deadline. */
void wait_output(const itenv_proc *p, const char *needle, long timeout_ms);

/*
 * SIGTERM, and its exit status (0: a clean stop, 128+N: signal N). Fails the
 * test, after a SIGKILL, when it has not ended within timeout_ms.
 */
int proc_stop(itenv_proc *p, long timeout_ms);

/* -------------------------------------------------------------- secrets */

/* Fail when secret appears in text (what names the text). */
void assert_no_secret(const char *what, const char *text, const char *secret);

/* ... in the output of any process of e or in the replay's request log. */
void assert_no_secret_anywhere(const itenv *e, const char *secret);

/* ---------------------------------------------------------- request log */

typedef struct request_entry {
    long long mono_ms; /* when the replay received it */
    int status;
} request_entry;

/* The requests of the replay's log, by arrival time; *n their number (caller frees). */
request_entry *read_requests(const itenv *e, size_t *n);

#endif
