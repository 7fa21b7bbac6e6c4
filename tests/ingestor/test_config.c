/*
 * The ingestor's configuration (examples/ingestor/config.c): the table's
 * defaults are the ones the guides list, every variable is documented, the
 * values land in their fields, bounds and rules are enforced with the
 * messages users know, and no secret reaches the error text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <cmocka.h>

#include "config.h"

#define DB_URL "DATABASE_URL=postgresql://ingest:Pw-9f3kQ2xL7@db.internal:5432/market"
#define DB_PW  "Pw-9f3kQ2xL7"

/* Load the configuration from exactly the given NAME=VALUE pairs
 * (NULL-terminated); the error text (malloc'ed) goes to *err_text. */
static int load(ingest_config *cfg, const char *const *env, char **err_text)
{
    clearenv();
    for (size_t i = 0; env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
        assert_int_equal(setenv(name, eq + 1, 1), 0);
    }
    size_t len = 0;
    FILE *err = open_memstream(err_text, &len);
    assert_non_null(err);
    int rc = config_load(cfg, err);
    fclose(err);
    return rc;
}

static int load_quiet(ingest_config *cfg, const char *const *env)
{
    char *err = NULL;
    int rc = load(cfg, env, &err);
    free(err);
    return rc;
}

/* The first cell of a table row (`A`, `B`) and its third cell (a, b), split
 * on ", ": the default the guide states for name, or NULL. */
static char *doc_default(const char *doc, const char *name, char *out, size_t size)
{
    char tick[96];
    snprintf(tick, sizeof tick, "`%s`", name);
    for (const char *row = doc; (row = strstr(row, "\n| `")) != NULL; row++) {
        const char *end = strchr(row + 1, '\n');
        const char *c1 = row + 2, *c2 = strchr(c1 + 1, '|');
        const char *c3 = c2 ? strchr(c2 + 1, '|') : NULL;
        const char *c4 = c3 ? strchr(c3 + 1, '|') : NULL;
        if (!c4 || c4 > end)
            continue;
        /* the position of name among the names of the first cell */
        int pos = -1, k = 0;
        for (const char *p = c1; p < c2; p++)
            if (*p == '`' && p[1] != ' ' && (p == c1 || p[-1] != '`')) {
                if (strncmp(p, tick, strlen(tick)) == 0)
                    pos = k;
                k++;
                p = strchr(p + 1, '`');
            }
        if (pos < 0)
            continue;
        const char *v = c3 + 1;
        for (int i = 0; i < pos; i++)
            v = strstr(v, ", ") + 2;
        while (*v == ' ' || *v == '`')
            v++;
        size_t n = 0;
        while (v + n < c4 && v[n] != ',' && v[n] != '`' && v[n] != '|')
            n++;
        while (n && v[n - 1] == ' ')
            n--;
        snprintf(out, size, "%.*s", (int)n, v);
        return out;
    }
    return NULL;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strdup(buf);
}

/* Every variable of check-config's dump is in a guide, with the default the
 * guide states. */
static void defaults_are_the_documented_ones(void **state)
{
    (void)state;
    char *guides[2] = { read_file(DOCS_DIR "/ingestor.md"), read_file(DOCS_DIR "/operations.md") };
    ingest_config cfg;
    const char *env[] = { DB_URL, NULL };
    assert_int_equal(load_quiet(&cfg, env), 0);
    char *dump = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&dump, &len);
    assert_int_equal(config_dump(&cfg, out), 0);
    fclose(out);
    int variables = 0, defaults = 0;
    char *save = NULL;
    for (char *line = strtok_r(dump, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char name[64], value[128], source[32];
        if (strncmp(line, "NAME ", 5) == 0)
            continue;
        variables++;
        assert_int_equal(sscanf(line, "%63s %127s %31s", name, value, source) >= 2, 1);
        char doc[128];
        const char *d = doc_default(guides[0], name, doc, sizeof doc);
        if (!d)
            d = doc_default(guides[1], name, doc, sizeof doc);
        if (!d)
            fail_msg("%s is not in docs/ingestor.md nor docs/operations.md", name);
        if (strcmp(source, "default") != 0)
            continue;
        defaults++;
        char want[140];
        snprintf(want, sizeof want, "\"%s\"", d);
        if (strcmp(value, want) != 0)
            fail_msg("%s: the default is %s, the guide says %s", name, value, want);
    }
    assert_int_equal(variables, 46);
    assert_true(defaults >= 35);
    free(dump);
    config_free(&cfg);
    free(guides[0]);
    free(guides[1]);
}

/* Each value reaches its field, in the field's unit. */
static void values_fill_their_fields(void **state)
{
    (void)state;
    ingest_config cfg;
    const char *env[] = { DB_URL,
                          "POLYGON_API_KEY=k3y-abcdefgh",
                          "POLYGON_PAGE_LIMIT=1000",
                          "POLYGON_TIMEOUT=1500ms",
                          "POLYGON_RATE_WINDOW=2min",
                          "LOG_LEVEL=warning",
                          "LOG_FORMAT=json",
                          "DB_POOL_MIN=2",
                          "DB_POOL_MAX=9",
                          "API_WORKERS=8",
                          "BACKFILL_SYMBOLS=AAPL,BRK.B",
                          "JOB_LEASE=90s",
                          "ADMIN_HEADER_TIMEOUT=250ms",
                          "DQ_CALENDAR=WEEKDAYS",
                          "DQ_ALERT_SCORE=0.75",
                          "ALERT_WEBHOOK_FORMAT=alertmanager",
                          "ALERT_EMAIL_ENABLED=yes",
                          "ALERT_EMAIL_TO=a@example.com, b@example.org",
                          "ALERT_SMTP_HOST=smtp.example.com",
                          "ALERT_SMTP_TLS=off",
                          NULL };
    assert_int_equal(load_quiet(&cfg, env), 0);
    assert_string_equal(cfg.polygon.api_key, "k3y-abcdefgh");
    assert_int_equal(cfg.polygon.page_limit, 1000);
    assert_int_equal(cfg.polygon.timeout_ms, 1500);
    assert_int_equal(cfg.polygon.rate_window_ms, 120000);
    assert_int_equal(cfg.polygon.max_body_bytes, 1000 * 512 + (1 << 20)); /* derived */
    assert_int_equal(cfg.log.level, LOG_LEVEL_WARNING);
    assert_int_equal(cfg.log.format, CONFIG_LOG_JSON);
    assert_int_equal(cfg.db.pool_min, 2);
    assert_int_equal(cfg.db.pool_max, 9);
    assert_int_equal(cfg.service.api_workers, 8);
    assert_int_equal(cfg.service.symbols.n, 2);
    assert_string_equal(cfg.service.symbols.item[1], "BRK.B");
    assert_int_equal(cfg.service.job_lease_s, 90);
    assert_int_equal(cfg.service.job_retry_delay_s, 60);
    assert_int_equal(cfg.admin.header_timeout_ms, 250);
    assert_string_equal(cfg.quality.calendar, "weekdays");
    assert_true(cfg.quality.alert_score == 0.75);
    assert_int_equal(cfg.alerts.webhook_format, CONFIG_WEBHOOK_ALERTMANAGER);
    assert_true(cfg.alerts.email_enabled);
    assert_string_equal(cfg.alerts.email_to, "a@example.com,b@example.org");
    assert_int_equal(cfg.alerts.smtp_tls, CONFIG_SMTP_TLS_OFF);
    assert_int_equal(cfg.alerts.smtp_port, 587);
    config_free(&cfg);
}

/* Out-of-range values are reported, all at once, by name and with the
 * bounds; the exit code is EX_CONFIG. */
static void bounds_are_enforced(void **state)
{
    (void)state;
    ingest_config cfg;
    char *err = NULL;
    const char *env[] = {
        DB_URL, "API_WORKERS=65", "JOB_LEASE=1s", "ADMIN_HEADER_TIMEOUT=6min", "DQ_ALERT_SCORE=1.5",
        NULL
    };
    assert_int_equal(load(&cfg, env, &err), EX_CONFIG);
    const char *want[] = { "ingestor: invalid configuration\n", "must be between 1 and 64",
                           "JOB_LEASE", "ADMIN_HEADER_TIMEOUT", "DQ_ALERT_SCORE" };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        if (!strstr(err, want[i]))
            fail_msg("no \"%s\" in:\n%s", want[i], err);
    free(err);
    config_free(&cfg);

    const char *edges[] = {
        DB_URL, "API_WORKERS=64", "DB_POOL_MAX=65", "JOB_LEASE=1h", "ADMIN_HEADER_TIMEOUT=100ms",
        NULL
    };
    assert_int_equal(load_quiet(&cfg, edges), 0);
    assert_int_equal(cfg.service.api_workers, CONFIG_MAX_WORKERS);
    config_free(&cfg);
}

/* DB_POOL_MAX is a maximum: the workers and the service's own connection
 * must fit in it. */
static void pool_max_holds_the_workers_and_one_more(void **state)
{
    (void)state;
    ingest_config cfg;
    char *err = NULL;
    const char *four[] = { DB_URL, "API_WORKERS=4", "DB_POOL_MAX=4", NULL };
    int rc = load(&cfg, four, &err);
    if (rc != EX_CONFIG)
        fail_msg("API_WORKERS=4 DB_POOL_MAX=4 was accepted (rc %d)", rc);
    assert_non_null(strstr(err, "DB_POOL_MAX"));
    assert_non_null(strstr(err, "API_WORKERS + 1 = 5"));
    free(err);
    config_free(&cfg);

    const char *five[] = { DB_URL, "API_WORKERS=4", "DB_POOL_MAX=5", NULL };
    assert_int_equal(load_quiet(&cfg, five), 0);
    config_free(&cfg);
    /* and the rule kept from before: DB_POOL_MIN <= DB_POOL_MAX */
    const char *min[] = { DB_URL, "DB_POOL_MIN=5", "DB_POOL_MAX=4", NULL };
    assert_int_equal(load_quiet(&cfg, min), EX_CONFIG);
    config_free(&cfg);
}

/* The checks outside the schema keep their messages. */
static void admin_addr_and_symbols_keep_their_messages(void **state)
{
    (void)state;
    ingest_config cfg;
    char *err = NULL;
    const char *wild[] = { DB_URL, "ADMIN_ADDR=0.0.0.0", NULL };
    assert_int_equal(load(&cfg, wild, &err), EX_CONFIG);
    assert_non_null(strstr(err, "ADMIN_ADDR  \"0.0.0.0\" is the wildcard address"));
    free(err);
    config_free(&cfg);
    const char *bad[] = { DB_URL, "BACKFILL_SYMBOLS=AAPL,-X", NULL };
    assert_int_equal(load(&cfg, bad, &err), EX_CONFIG);
    assert_non_null(strstr(err, "BACKFILL_SYMBOLS  \"-X\" is not"));
    free(err);
    config_free(&cfg);
}

/* Invalid configurations that involve every secret: none appears in the
 * error text. */
static void secrets_never_in_the_error_text(void **state)
{
    (void)state;
    ingest_config cfg;
    char *err = NULL;
    const char *env[] = { DB_URL,
                          "DB_POOL_MAX=1",
                          "API_WORKERS=2",
                          "ADMIN_TOKEN=short-T0k",
                          "ALERT_WEBHOOK_URL=ftp://hook:Wh-S3cr3t-77@hooks.example.com/x",
                          "ALERT_SMTP_PASSWORD=Smtp-Pa55-w0rd",
                          "POLYGON_API_KEY=",
                          NULL };
    assert_int_equal(load(&cfg, env, &err), EX_CONFIG);
    assert_non_null(strstr(err, "ALERT_WEBHOOK_URL"));
    assert_non_null(strstr(err, "ALERT_SMTP_USER")); /* all or none */
    assert_non_null(strstr(err, "ADMIN_TOKEN"));
    const char *secrets[] = { DB_PW, "short-T0k", "Wh-S3cr3t-77", "Smtp-Pa55-w0rd" };
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
        if (strstr(err, secrets[i]))
            fail_msg("the error text shows the secret %s:\n%s", secrets[i], err);
    free(err);
    config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_the_documented_ones),
        cmocka_unit_test(values_fill_their_fields),
        cmocka_unit_test(bounds_are_enforced),
        cmocka_unit_test(pool_max_holds_the_workers_and_one_more),
        cmocka_unit_test(admin_addr_and_symbols_keep_their_messages),
        cmocka_unit_test(secrets_never_in_the_error_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
