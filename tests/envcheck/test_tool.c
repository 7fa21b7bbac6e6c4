/* The envcheck tool: exit codes (0 valid, 78 invalid, 2 bad schema,
 * arguments or unreadable file), the real environment winning over env
 * files, and no secret in its output. The tool runs with a clean
 * environment (as under env -i): only the variables each test names. */
#include "ec_test.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *tool;
static char dir[64];
static char out[1 << 16], err[1 << 16];

static char *path_of(const char *name)
{
    static char p[16][256];
    static int k;
    k = (k + 1) % 16;
    snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
    return p[k];
}

static void write_file(const char *name, const char *text)
{
    FILE *f = fopen(path_of(name), "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void slurp(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
}

/* Run the tool with argv (NULL-terminated, without the program) and envp;
 * returns its exit status; out and err hold what it printed. */
static int run(const char *const *args, const char *const *envp)
{
    const char *argv[32];
    size_t n = 0;
    argv[n++] = tool;
    for (; args[n - 1] && n < 31; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    char so[256], se[256];
    snprintf(so, sizeof so, "%s/stdout", dir);
    snprintf(se, sizeof se, "%s/stderr", dir);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, so, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, se, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    /* posix_spawn takes char *const[]: copy the pointers (no cast-qual) */
    char *av[32], *ev[32];
    size_t m = 0;
    while (envp[m] && m < 31)
        m++;
    memcpy(av, argv, (n + 1) * sizeof *av);
    memcpy(ev, envp, m * sizeof *ev);
    ev[m] = NULL;
    int rc = posix_spawn(&pid, tool, &fa, NULL, av, ev);
    posix_spawn_file_actions_destroy(&fa);
    assert_int_equal(rc, 0);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    slurp(so, out, sizeof out);
    slurp(se, err, sizeof err);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static int starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

#define DB "DATABASE_URL=postgres://app:Mk4Hs9Pw1Zd6@db:5432/app"

static const char schema[] =
    "{\"variables\":[\n"
    "  {\"name\":\"DATABASE_URL\",\"type\":\"url\",\"required\":true,\"sensitive\":true,"
    "\"schemes\":[\"postgresql\",\"postgres\"],\"description\":\"PostgreSQL connection URL\"},\n"
    "  {\"name\":\"API_WORKERS\",\"type\":\"int\",\"min\":1,\"max\":64,\"default\":\"4\"},\n"
    "  {\"name\":\"LOG_LEVEL\",\"type\":\"enum\",\"values\":[\"DEBUG\",\"INFO\",\"WARNING\","
    "\"ERROR\"],\"default\":\"INFO\"},\n"
    "  {\"name\":\"ALERT_EMAIL_ENABLED\",\"type\":\"bool\",\"default\":\"false\"},\n"
    "  {\"name\":\"ALERT_SMTP_PASSWORD\",\"type\":\"string\",\"sensitive\":true}],\n"
    " \"rules\":[\n"
    "  {\"if\":{\"name\":\"ALERT_EMAIL_ENABLED\",\"is\":\"true\"},"
    "\"require\":[\"ALERT_EMAIL_TO\",\"ALERT_SMTP_HOST\"]},\n"
    "  {\"all_or_none\":[\"ALERT_SMTP_USER\",\"ALERT_SMTP_PASSWORD\"]},\n"
    "  {\"less_than\":[\"POOL_MIN\",\"POOL_MAX\"]}]}\n";

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/envcheck-tool-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    write_file("schema.json", schema);
    write_file("app.env", "API_WORKERS=8\nALERT_SMTP_PASSWORD=\"Tq8Vn2Xc5Rb7\"\n"
                          "ALERT_SMTP_USER=alerts\n");
    write_file("bad.env", "API_WORKERS=100\n");
    write_file("bad.json", "{\"variables\":[{\"name\":\"X\",\"type\":\"int\",\"default\":\"x\"}]}");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    const char *names[] = { "schema.json", "app.env", "bad.env", "bad.json", "stdout", "stderr" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        unlink(path_of(names[i]));
    rmdir(dir);
    return 0;
}

static void exit_codes(void **state)
{
    (void)state;
    const char *s = path_of("schema.json");
    const char *none[] = { NULL };
    const char *db[] = { DB, NULL };
    const char *args[] = { "--schema", s, NULL };
    assert_int_equal(run(args, db), 0);
    assert_string_equal(out, "envcheck: the configuration is valid (5 variables checked)\n");
    assert_int_equal(run(args, none), 78);
    assert_non_null(strstr(out, "DATABASE_URL  required but not set (PostgreSQL connection URL)"));
    const char *bad_workers[] = { DB, "API_WORKERS=0", NULL };
    assert_int_equal(run(args, bad_workers), 78);
    const char *rule[] = { DB, "ALERT_EMAIL_ENABLED=yes", NULL };
    assert_int_equal(run(args, rule), 78);
    assert_non_null(strstr(out, "ALERT_EMAIL_TO   required because ALERT_EMAIL_ENABLED is true"));

    const char *missing_schema[] = { "--schema", path_of("nope.json"), NULL };
    assert_int_equal(run(missing_schema, db), 2);
    const char *bad_schema[] = { "--schema", path_of("bad.json"), NULL };
    assert_int_equal(run(bad_schema, db), 2);
    assert_non_null(strstr(err, "variables[0]: X: the default \"x\" is not a base-10 integer"));
    const char *missing_env[] = { "--schema", s, "--env-file", path_of("nope.env"), NULL };
    assert_int_equal(run(missing_env, db), 2);
    assert_non_null(strstr(err, "No such file or directory"));
    assert_int_equal(run(none, db), 2);
    const char *bad_format[] = { "--schema", s, "--format", "xml", NULL };
    assert_int_equal(run(bad_format, db), 2);
    const char *extra[] = { "--schema", s, "stray", NULL };
    assert_int_equal(run(extra, db), 2);
    const char *help[] = { "--help", NULL };
    assert_int_equal(run(help, none), 0);
    const char *usage[] = { "--schema", s, "--usage", NULL };
    assert_int_equal(run(usage, none), 0);
    assert_true(starts_with(out, "NAME                 TYPE    DEFAULT  REQUIRED  DESCRIPTION\n"));
    const char *quiet[] = { "--schema", s, "--quiet", NULL };
    assert_int_equal(run(quiet, db), 0);
    assert_string_equal(out, "");
}

static void environment_wins_over_env_files(void **state)
{
    (void)state;
    const char *s = path_of("schema.json");
    const char *args[] = { "--schema", s, "--env-file", path_of("app.env"), "--dump", NULL };
    const char *db[] = { DB, NULL };
    assert_int_equal(run(args, db), 0);
    char want[512];
    snprintf(want, sizeof want, "\nAPI_WORKERS          \"8\"         %s:1\n", path_of("app.env"));
    assert_non_null(strstr(out, want));
    const char *db16[] = { DB, "API_WORKERS=16", NULL };
    assert_int_equal(run(args, db16), 0);
    assert_non_null(strstr(out, "\nAPI_WORKERS          \"16\"        environment\n"));
    /* a later file overrides an earlier one */
    const char *two[] = { "--schema",         s,   "--env-file", path_of("app.env"), "--env-file",
                          path_of("bad.env"), NULL };
    assert_int_equal(run(two, db), 78);
    assert_non_null(strstr(out, "\"100\" is out of range"));
}

static void no_secret_in_any_output(void **state)
{
    (void)state;
    const char *secrets[] = { "Mk4Hs9Pw1Zd6", "Tq8Vn2Xc5Rb7" };
    const char *s = path_of("schema.json");
    const char *envp[] = { "DATABASE_URL=mysql://app:Mk4Hs9Pw1Zd6@db/app", NULL };
    const char *variants[][8] = {
        { "--schema", s, "--env-file", path_of("app.env"), "--dump", NULL },
        { "--schema", s, "--env-file", path_of("app.env"), "--dump", "--format", "json", NULL },
        { "--schema", s, "--usage", NULL },
        { "--schema", s, "--usage", "--format", "json", NULL },
    };
    for (size_t v = 0; v < sizeof variants / sizeof *variants; v++) {
        int rc = run(variants[v], envp);
        assert_true(rc == 0 || rc == 78);
        for (size_t k = 0; k < 2; k++) {
            size_t n = strlen(secrets[k]);
            for (size_t len = 4; len <= n; len++)
                for (size_t i = 0; i + len <= n; i++) {
                    char sub[32];
                    snprintf(sub, sizeof sub, "%.*s", (int)len, secrets[k] + i);
                    if (strstr(out, sub) || strstr(err, sub))
                        fail_msg("variant %zu shows %s:\n%s%s", v, sub, out, err);
                }
        }
    }
    run(variants[1], envp);
    assert_true(starts_with(out, "{\"report\":{\"valid\":false,"));
    assert_non_null(strstr(out, "\"code\":\"scheme\""));
    assert_non_null(strstr(out, "\"ALERT_SMTP_PASSWORD\":{\"value\":\"**********\""));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-ENVCHECK\n", argv[0]);
        return 2;
    }
    tool = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(exit_codes),
        cmocka_unit_test(environment_wins_over_env_files),
        cmocka_unit_test(no_secret_in_any_output),
    };
    return cmocka_run_group_tests_name("envcheck_tool", tests, setup, teardown);
}
