#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "deadline.h"
#include "itenv.h"

const char *it_ingestor_exe, *it_replay_exe, *it_data_dir, *it_pg_script;

/* The running test's environment, for the teardown after a failure. */
static itenv *current;

int itenv_init(int argc, char **argv, const char *const *unset)
{
    if (argc != 5) {
        fprintf(stderr, "usage: %s INGESTOR REPLAY DATA_DIR PG_SCRIPT\n", argv[0]);
        return 2;
    }
    if (!getenv("DATABASE_URL") || !getenv("INGEST_PG_DIR")) {
        fprintf(stderr, "DATABASE_URL/INGEST_PG_DIR not set: run through scripts/test\n");
        return 77;
    }
    it_ingestor_exe = argv[1];
    it_replay_exe = argv[2];
    it_data_dir = argv[3];
    it_pg_script = argv[4];
    for (int i = 0; unset && unset[i]; i++)
        unsetenv(unset[i]);
    return 0;
}

void setenv_var(itenv *e, const char *name, const char *value)
{
    size_t n = strlen(name);
    int i = 0;
    while (i < e->nvars && !(strncmp(e->vars[i], name, n) == 0 && e->vars[i][n] == '='))
        i++;
    assert_true(i < ITENV_MAX_VARS);
    snprintf(e->vars[i], sizeof e->vars[0], "%s=%s", name, value);
    e->envp[i] = e->vars[i];
    if (i == e->nvars)
        e->nvars++;
    e->envp[e->nvars] = NULL;
}

void url_with_password(char *out, size_t n, const char *base, const char *db, const char *pw)
{
    const char *slash = strrchr(base, '/');
    const char *scheme_end = strstr(base, "://");
    const char *at = scheme_end ? strchr(scheme_end + 3, '@') : NULL;
    if (!pw || !scheme_end || !at || at > slash ||
        memchr(scheme_end + 3, ':', (size_t)(at - scheme_end - 3))) {
        snprintf(out, n, "%.*s/%s", (int)(slash - base), base, db);
        return;
    }
    snprintf(out, n, "%.*s:%s%.*s/%s", (int)(at - base), base, pw, (int)(slash - at), at, db);
}

static void start_replay(itenv *e, const char *dir, const char *port,
                         const char *const *replay_args)
{
    const char *args[32] = { "--api-key", ITENV_KEY };
    int n = 2;
    if (port) {
        args[n++] = "--port";
        args[n++] = port;
    }
    for (int i = 0; replay_args && replay_args[i]; i++)
        args[n++] = replay_args[i];
    args[n] = NULL;
    assert_int_equal(replay_start(&e->rp, it_replay_exe, dir, args), 0);
}

void itenv_start(itenv *e, const char *name, const char *dir, const char *db_password,
                 const char *const *replay_args)
{
    memset(e, 0, sizeof *e);
    current = e;
    const char *base = getenv("DATABASE_URL");
    snprintf(e->admin_url, sizeof e->admin_url, "%s", base);
    snprintf(e->db, sizeof e->db, "it_%s_%ld", name, (long)getpid());
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", e->db);
    exec_on(e->admin_url, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", e->db);
    exec_on(e->admin_url, sql);
    /* Same server, other database: replace the path of the URL. */
    url_with_password(e->url, sizeof e->url, base, e->db, db_password);

    start_replay(e, dir, NULL, replay_args);

    snprintf(e->dir, sizeof e->dir, "%s/itenv.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(e->dir));

    setenv_var(e, "DATABASE_URL", e->url);
    setenv_var(e, "POLYGON_BASE_URL", e->rp.base);
    setenv_var(e, "POLYGON_RATE_LIMIT_PER_MIN", "0");
}

void itenv_replay_restart(itenv *e, const char *dir, const char *const *replay_args)
{
    unsigned port = e->rp.port;
    replay_stop(&e->rp);
    char port_arg[16];
    snprintf(port_arg, sizeof port_arg, "%u", port);
    start_replay(e, dir, port_arg, replay_args);
    assert_int_equal(e->rp.port, port);
    setenv_var(e, "POLYGON_BASE_URL", e->rp.base);
}

void itenv_stop(itenv *e)
{
    current = NULL;
    for (int i = 0; i < e->nprocs; i++) {
        if (e->procs[i].pid > 0) {
            kill(e->procs[i].pid, SIGKILL);
            waitpid(e->procs[i].pid, NULL, 0);
            e->procs[i].pid = 0;
        }
    }
    replay_stop(&e->rp);
    if (e->dir[0]) {
        remove_dir(e->dir);
        e->dir[0] = '\0';
    }
    char sql[200];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", e->db);
    exec_on(e->admin_url, sql);
}

int itenv_teardown(void **state)
{
    (void)state;
    if (current)
        itenv_stop(current);
    return 0;
}

/* ------------------------------------------------------------------ SQL */

PGconn *connect_to(const char *url)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect: %s", PQerrorMessage(c));
    return c;
}

static void ignore_notice(void *ud, const char *message)
{
    (void)ud;
    (void)message;
}

void exec_on(const char *url, const char *sql)
{
    PGconn *c = connect_to(url);
    PQsetNoticeProcessor(c, ignore_notice, NULL); /* "does not exist, skipping" */
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(c);
}

void query_text(const itenv *e, const char *sql, char *out, size_t size)
{
    PGconn *c = connect_to(e->url);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
        fail_msg("%s: %s (%d rows)", sql, PQresultErrorMessage(r), PQntuples(r));
    snprintf(out, size, "%s", PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
}

long long query_int(const itenv *e, const char *sql)
{
    char v[64];
    query_text(e, sql, v, sizeof v);
    return atoll(v);
}

double query_double(const itenv *e, const char *sql)
{
    char v[64];
    query_text(e, sql, v, sizeof v);
    return atof(v);
}

void wait_for(const itenv *e, const char *sql, long long want, long timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    long long got;
    while ((got = query_int(e, sql)) != want) {
        if (mono_ms() >= end)
            fail_msg("after %ld ms, %s gives %lld, want %lld", timeout_ms, sql, got, want);
        sleep_ms(100);
    }
}

void expect_symbol(const itenv *e, const char *symbol, const char *file)
{
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT count(*) + (SELECT count(*) FROM ohlcv_quarantine WHERE symbol = '%s')"
             " FROM ohlcv WHERE symbol = '%s'",
             symbol, symbol);
    long long want = csv_rows(file, NULL, NULL);
    long long got = query_int(e, sql);
    if (got != want)
        fail_msg("%s: %lld bars stored, the file has %lld", symbol, got, want);
}

long long csv_rows(const char *file, const char *from, const char *to)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", it_data_dir, file);
    char *text = read_file(path, NULL);
    assert_non_null(text);
    long long rows = 0;
    bool header = true;
    for (char *p = text; *p;) {
        char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (len > 0 && !(len == 1 && p[0] == '\r')) {
            if (header)
                header = false;
            else if (!from || (len >= 10 && strncmp(p, from, 10) >= 0 && strncmp(p, to, 10) <= 0))
                rows++;
        }
        p = nl ? nl + 1 : p + len;
    }
    free(text);
    return rows;
}

void pg_do(const char *verb)
{
    char cmd[700];
    snprintf(cmd, sizeof cmd, "'%s' %s '%s' >/dev/null", it_pg_script, verb,
             getenv("INGEST_PG_DIR"));
    assert_int_equal(system(cmd), 0);
}

/* ------------------------------------------------------------ ingestor */

int run_ingestor(itenv *e, char **out, const char *const *args)
{
    const char *argv[32] = { it_ingestor_exe };
    int n = 1;
    for (int i = 0; args[i]; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    /* The environment of this test process plus the test's variables. */
    return run_capture(argv, e->envp, out);
}

char *run_ingestor_ok(itenv *e, const char *const *args)
{
    char *out;
    int rc = run_ingestor(e, &out, args);
    if (rc != 0)
        fail_msg("ingestor %s exited %d:\n%s", args[0], rc, out);
    return out;
}

void migrate(itenv *e)
{
    const char *args[] = { "migrate", NULL };
    free(run_ingestor_ok(e, args));
}

itenv_proc *spawn_ingestor(itenv *e, const char *const *args, const char *const *extra)
{
    assert_true(e->nprocs < ITENV_MAX_PROCS);
    itenv_proc *p = &e->procs[e->nprocs];
    snprintf(p->out, sizeof p->out, "%s/ingestor-%d.out", e->dir, e->nprocs);
    e->nprocs++;
    /* There from the start, so that its output can be read at once. */
    FILE *f = fopen(p->out, "w");
    assert_non_null(f);
    fclose(f);
    const char *envp[ITENV_MAX_VARS + 32];
    int n = 0;
    for (int i = 0; e->envp[i]; i++)
        envp[n++] = e->envp[i];
    for (int i = 0; extra && extra[i] && n < ITENV_MAX_VARS + 31; i++)
        envp[n++] = extra[i];
    envp[n] = NULL;
    const char *argv[32] = { it_ingestor_exe };
    int m = 1;
    for (int i = 0; args[i]; i++)
        argv[m++] = args[i];
    argv[m] = NULL;
    p->pid = spawn_logged(argv, envp, p->out);
    assert_true(p->pid > 0);
    return p;
}

char *proc_output(const itenv_proc *p)
{
    char *text = read_file(p->out, NULL);
    assert_non_null(text);
    return text;
}

bool output_has(const itenv_proc *p, const char *needle)
{
    char *text = proc_output(p);
    bool has = strstr(text, needle) != NULL;
    free(text);
    return has;
}

void wait_output(const itenv_proc *p, const char *needle, long timeout_ms)
{
    int64_t end = mono_ms() + timeout_ms;
    while (!output_has(p, needle)) {
        if (mono_ms() >= end) {
            char *text = proc_output(p);
            fail_msg("after %ld ms, no \"%s\" in the output:\n%s", timeout_ms, needle, text);
        }
        sleep_ms(100);
    }
}

int proc_stop(itenv_proc *p, long timeout_ms)
{
    assert_true(p->pid > 0);
    assert_int_equal(kill(p->pid, SIGTERM), 0);
    int rc = wait_exit(p->pid, timeout_ms);
    if (rc < 0) {
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
        char *text = proc_output(p);
        fail_msg("still running %ld ms after SIGTERM:\n%s", timeout_ms, text);
    }
    p->pid = 0;
    return rc;
}

/* -------------------------------------------------------------- secrets */

void assert_no_secret(const char *what, const char *text, const char *secret)
{
    const char *hit = text ? strstr(text, secret) : NULL;
    if (hit)
        fail_msg("a secret appears in %s: ...%.120s", what, hit - text > 40 ? hit - 40 : text);
}

void assert_no_secret_anywhere(const itenv *e, const char *secret)
{
    for (int i = 0; i < e->nprocs; i++) {
        char *text = proc_output(&e->procs[i]);
        assert_no_secret("the output of an ingestor", text, secret);
        free(text);
    }
    char *log = read_file(e->rp.log_path, NULL);
    assert_non_null(log);
    assert_no_secret("the replay's request log", log, secret);
    free(log);
}

/* ---------------------------------------------------------- request log */

static int by_time(const void *a, const void *b)
{
    const request_entry *x = a, *y = b;
    return (x->mono_ms > y->mono_ms) - (x->mono_ms < y->mono_ms);
}

request_entry *read_requests(const itenv *e, size_t *n)
{
    char *log = read_file(e->rp.log_path, NULL);
    assert_non_null(log);
    size_t cap = count_lines_with(log, "\"status\":") + 1;
    request_entry *rq = calloc(cap, sizeof *rq);
    assert_non_null(rq);
    *n = 0;
    for (const char *p = log; p && *p && *n < cap;) {
        const char *m = strstr(p, "\"mono_ms\":");
        const char *s = strstr(p, "\"status\":");
        if (!m || !s)
            break;
        rq[*n].mono_ms = atoll(m + 10);
        rq[*n].status = atoi(s + 9);
        (*n)++;
        p = strchr(s, '\n');
    }
    free(log);
    qsort(rq, *n, sizeof *rq, by_time);
    return rq;
}
