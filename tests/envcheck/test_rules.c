/* Rules, and one pass that reports every problem, sorted and grouped. */
#include "ec_test.h"

typedef struct fixture {
    envcheck_schema *s;
    envcheck_source *src;
    envcheck_result *r;
} fixture;

static void add(envcheck_schema *s, const char *name, envcheck_type t, const char *def)
{
    envcheck_var_options o = ENVCHECK_VAR_OPTIONS_INIT;
    o.type = t;
    o.default_value = def;
    int rc = envcheck_schema_add(s, name, &o);
    if (rc)
        fail_msg("%s: %s", name, envcheck_schema_errmsg(s));
}

static void run(fixture *f, const char *const *pairs, size_t n)
{
    envcheck_result_free(f->r);
    envcheck_source_free(f->src);
    assert_int_equal(envcheck_source_new(&f->src), ENVCHECK_OK);
    assert_int_equal(envcheck_source_add_array(f->src, pairs, n), ENVCHECK_OK);
    assert_int_equal(envcheck_validate(&f->r, f->s, f->src), ENVCHECK_OK);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_int_equal(envcheck_schema_new(&f->s), ENVCHECK_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    envcheck_result_free(f->r);
    envcheck_source_free(f->src);
    envcheck_schema_free(f->s);
    free(f);
    return 0;
}

static void expect(const envcheck_result *r, size_t i, envcheck_group g, const char *name,
                   const char *message)
{
    const envcheck_finding *f = envcheck_result_finding(r, i);
    assert_non_null(f);
    assert_int_equal(f->group, g);
    assert_string_equal(f->name, name);
    if (message)
        assert_string_equal(f->message, message);
}

static void require_if_true(void **state)
{
    fixture *f = *state;
    add(f->s, "ALERT_EMAIL_ENABLED", ENVCHECK_TYPE_BOOL, "false");
    add(f->s, "ALERT_EMAIL_TO", ENVCHECK_TYPE_EMAIL, NULL);
    const char *req[] = { "ALERT_EMAIL_TO", "ALERT_SMTP_HOST" };
    assert_int_equal(
        envcheck_schema_require_if(f->s, "ALERT_EMAIL_ENABLED", ENVCHECK_IF_TRUE, NULL, req, 2),
        ENVCHECK_OK);
    run(f, NULL, 0); /* default false: nothing required */
    assert_int_equal(envcheck_result_count(f->r), 0);
    const char *on[] = { "ALERT_EMAIL_ENABLED=yes" };
    run(f, on, 1);
    assert_int_equal(envcheck_result_count(f->r), 2);
    expect(f->r, 0, ENVCHECK_GROUP_RULES, "ALERT_EMAIL_TO",
           "required because ALERT_EMAIL_ENABLED is true");
    expect(f->r, 1, ENVCHECK_GROUP_RULES, "ALERT_SMTP_HOST",
           "required because ALERT_EMAIL_ENABLED is true");
    const char *full[] = { "ALERT_EMAIL_ENABLED=on", "ALERT_EMAIL_TO=ops@example.com",
                           "ALERT_SMTP_HOST=smtp" };
    run(f, full, 3);
    assert_int_equal(envcheck_result_count(f->r), 0);
    assert_true(envcheck_result_valid(f->r));
}

static void require_if_set_false_and_equals(void **state)
{
    fixture *f = *state;
    const char *modes[] = { "dev", "prod" };
    envcheck_var_options o = ENVCHECK_VAR_OPTIONS_INIT;
    o.type = ENVCHECK_TYPE_ENUM;
    o.values = modes;
    o.n_values = 2;
    o.case_insensitive = 1;
    o.default_value = "dev";
    assert_int_equal(envcheck_schema_add(f->s, "MODE", &o), ENVCHECK_OK);
    add(f->s, "TLS", ENVCHECK_TYPE_BOOL, "true");
    const char *a[] = { "TLS_CERT" }, *b[] = { "TLS_REASON" }, *c[] = { "PROXY_PORT" };
    assert_int_equal(envcheck_schema_require_if(f->s, "MODE", ENVCHECK_IF_EQUALS, "prod", a, 1), 0);
    assert_int_equal(envcheck_schema_require_if(f->s, "TLS", ENVCHECK_IF_FALSE, NULL, b, 1), 0);
    assert_int_equal(envcheck_schema_require_if(f->s, "PROXY", ENVCHECK_IF_SET, NULL, c, 1), 0);
    assert_int_equal(envcheck_schema_require_if(f->s, "X", ENVCHECK_IF_EQUALS, NULL, c, 1),
                     ENVCHECK_EINVAL);
    run(f, NULL, 0);
    assert_int_equal(envcheck_result_count(f->r), 0);
    const char *p[] = { "MODE=PROD", "TLS=0", "PROXY=http://p" };
    run(f, p, 3);
    assert_int_equal(envcheck_result_count(f->r), 3);
    expect(f->r, 0, ENVCHECK_GROUP_RULES, "PROXY_PORT", "required because PROXY is set");
    expect(f->r, 1, ENVCHECK_GROUP_RULES, "TLS_CERT", "required because MODE is \"prod\"");
    expect(f->r, 2, ENVCHECK_GROUP_RULES, "TLS_REASON", "required because TLS is false");
    const char *blank[] = { "PROXY=" }; /* blank is not set */
    run(f, blank, 1);
    assert_int_equal(envcheck_result_count(f->r), 0);
}

/* IF_EQUALS on a bool compares the values as bools: every spelling of true
 * meets "true" (and "yes"), every spelling of false does not; the default
 * counts when the variable is unset. */
static void require_if_equals_on_a_bool(void **state)
{
    fixture *f = *state;
    add(f->s, "FLAG", ENVCHECK_TYPE_BOOL, "false");
    add(f->s, "ON", ENVCHECK_TYPE_BOOL, "yes");
    const char *need[] = { "NEEDED" }, *need2[] = { "NEEDED2" };
    assert_int_equal(envcheck_schema_require_if(f->s, "FLAG", ENVCHECK_IF_EQUALS, "true", need, 1),
                     0);
    assert_int_equal(envcheck_schema_require_if(f->s, "ON", ENVCHECK_IF_EQUALS, "1", need2, 1), 0);
    static const char *const truths[] = { "1", "yes", "y", "true", "t", "on", "TRUE", "On" };
    static const char *const lies[] = { "0", "no", "n", "false", "f", "off", "FALSE" };
    for (size_t i = 0; i < sizeof truths / sizeof truths[0]; i++) {
        char kv[32];
        snprintf(kv, sizeof kv, "FLAG=%s", truths[i]);
        const char *p[] = { kv, "ON=off" };
        run(f, p, 2);
        if (envcheck_result_count(f->r) != 1)
            fail_msg("FLAG=%s: %zu findings", truths[i], envcheck_result_count(f->r));
        expect(f->r, 0, ENVCHECK_GROUP_RULES, "NEEDED", "required because FLAG is \"true\"");
    }
    for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
        char kv[32];
        snprintf(kv, sizeof kv, "FLAG=%s", lies[i]);
        const char *p[] = { kv, "ON=0" };
        run(f, p, 2);
        if (envcheck_result_count(f->r) != 0)
            fail_msg("FLAG=%s: %zu findings", lies[i], envcheck_result_count(f->r));
    }
    /* unset: the defaults, FLAG false and ON yes (equal to "1") */
    run(f, NULL, 0);
    assert_int_equal(envcheck_result_count(f->r), 1);
    expect(f->r, 0, ENVCHECK_GROUP_RULES, "NEEDED2", "required because ON is \"1\"");
}

static void group_rules(void **state)
{
    fixture *f = *state;
    const char *aon[] = { "SMTP_USER", "SMTP_PASSWORD" };
    const char *amo[] = { "KEY", "KEY_FILE", "KEY_URL" };
    const char *alo[] = { "TOKEN", "PASSWORD" };
    assert_int_equal(envcheck_schema_group_rule(f->s, ENVCHECK_ALL_OR_NONE, aon, 2), 0);
    assert_int_equal(envcheck_schema_group_rule(f->s, ENVCHECK_AT_MOST_ONE, amo, 3), 0);
    assert_int_equal(envcheck_schema_group_rule(f->s, ENVCHECK_AT_LEAST_ONE, alo, 2), 0);
    assert_int_equal(envcheck_schema_group_rule(f->s, ENVCHECK_AT_LEAST_ONE, alo, 1),
                     ENVCHECK_EINVAL);
    const char *ok[] = { "TOKEN=t" };
    run(f, ok, 1);
    assert_int_equal(envcheck_result_count(f->r), 0);
    const char *bad[] = { "SMTP_PASSWORD=x", "KEY=a", "KEY_URL=b" };
    run(f, bad, 3);
    assert_int_equal(envcheck_result_count(f->r), 4);
    expect(f->r, 0, ENVCHECK_GROUP_RULES, "KEY",
           "conflicts: at most one of KEY, KEY_FILE, KEY_URL may be set");
    expect(f->r, 1, ENVCHECK_GROUP_RULES, "KEY_URL", NULL);
    expect(f->r, 2, ENVCHECK_GROUP_RULES, "SMTP_USER",
           "required: SMTP_USER, SMTP_PASSWORD must be set all together or not at all");
    expect(f->r, 3, ENVCHECK_GROUP_RULES, "TOKEN",
           "missing: at least one of TOKEN, PASSWORD must be set");
}

static void less_than_numbers_and_durations(void **state)
{
    fixture *f = *state;
    add(f->s, "POOL_MIN", ENVCHECK_TYPE_INT, "1");
    add(f->s, "POOL_MAX", ENVCHECK_TYPE_INT, "10");
    add(f->s, "CONNECT_TIMEOUT", ENVCHECK_TYPE_DURATION, "5s");
    add(f->s, "REQUEST_TIMEOUT", ENVCHECK_TYPE_DURATION, "30s");
    add(f->s, "NAME", ENVCHECK_TYPE_STRING, NULL);
    assert_int_equal(envcheck_schema_less_than(f->s, "POOL_MIN", "POOL_MAX", 0), 0);
    assert_int_equal(envcheck_schema_less_than(f->s, "CONNECT_TIMEOUT", "REQUEST_TIMEOUT", 1), 0);
    assert_int_equal(envcheck_schema_less_than(f->s, "LO", "HI", 0), 0); /* undeclared */
    assert_int_equal(envcheck_schema_less_than(f->s, "POOL_MIN", "CONNECT_TIMEOUT", 0),
                     ENVCHECK_ESCHEMA);
    assert_int_equal(envcheck_schema_less_than(f->s, "NAME", "POOL_MAX", 0), ENVCHECK_ESCHEMA);
    run(f, NULL, 0);
    assert_int_equal(envcheck_result_count(f->r), 0);
    const char *eq[] = { "POOL_MIN=10", "CONNECT_TIMEOUT=30s", "LO=2.5", "HI=2.5" };
    run(f, eq, 4);
    assert_int_equal(envcheck_result_count(f->r), 2); /* <= holds for equal durations */
    expect(f->r, 0, ENVCHECK_GROUP_RULES, "LO", "must be less than HI (2.5 >= 2.5)");
    expect(f->r, 1, ENVCHECK_GROUP_RULES, "POOL_MIN", "must be less than POOL_MAX (10 >= 10)");
    const char *d[] = { "CONNECT_TIMEOUT=1min", "LO=x", "HI=1" };
    run(f, d, 3);
    assert_int_equal(envcheck_result_count(f->r), 2);
    expect(f->r, 0, ENVCHECK_GROUP_RULES, "CONNECT_TIMEOUT",
           "must be at most REQUEST_TIMEOUT (1min > 30s)");
    expect(f->r, 1, ENVCHECK_GROUP_RULES, "LO", "cannot be compared (LO < HI): not a number");
    /* an invalid operand is reported once, as invalid, and the rule is skipped */
    const char *inv[] = { "POOL_MIN=abc" };
    run(f, inv, 1);
    assert_int_equal(envcheck_result_count(f->r), 1);
    expect(f->r, 0, ENVCHECK_GROUP_INVALID, "POOL_MIN", NULL);
}

static int workers_even(const envcheck_result *r, char *msg, size_t size, void *userdata)
{
    int *calls = userdata;
    (*calls)++;
    int64_t w = 0;
    if (envcheck_get_int(r, "WORKERS", &w) != ENVCHECK_OK || w % 2 == 0)
        return 0;
    const char *secret = NULL;
    if (envcheck_get_string(r, "TOKEN", &secret) != ENVCHECK_OK)
        secret = "";
    /* a careless callback that quotes a secret: the library masks it */
    snprintf(msg, size, "WORKERS must be even (token %s)", secret);
    return 1;
}

static void custom_rule(void **state)
{
    fixture *f = *state;
    int calls = 0;
    add(f->s, "WORKERS", ENVCHECK_TYPE_INT, "2");
    envcheck_var_options o = ENVCHECK_VAR_OPTIONS_INIT;
    o.sensitive = 1;
    assert_int_equal(envcheck_schema_add(f->s, "TOKEN", &o), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_custom_rule(f->s, "WORKERS", workers_even, &calls), 0);
    run(f, NULL, 0);
    assert_int_equal(calls, 1);
    assert_int_equal(envcheck_result_count(f->r), 0);
    const char *odd[] = { "WORKERS=3", "TOKEN=zq7-Secret-99" };
    run(f, odd, 2);
    assert_int_equal(calls, 2);
    assert_int_equal(envcheck_result_count(f->r), 1);
    expect(f->r, 0, ENVCHECK_GROUP_RULES, "WORKERS", "WORKERS must be even (token **********)");
}

static void five_problems_five_findings(void **state)
{
    fixture *f = *state;
    envcheck_var_options url = ENVCHECK_VAR_OPTIONS_INIT;
    url.type = ENVCHECK_TYPE_URL;
    url.required = 1;
    url.sensitive = 1;
    assert_int_equal(envcheck_schema_add(f->s, "DATABASE_URL", &url), 0);
    envcheck_var_options w = ENVCHECK_VAR_OPTIONS_INIT;
    w.type = ENVCHECK_TYPE_INT;
    w.has_min = w.has_max = 1;
    w.min = 1;
    w.max = 64;
    w.default_value = "4";
    assert_int_equal(envcheck_schema_add(f->s, "API_WORKERS", &w), 0);
    const char *levels[] = { "DEBUG", "INFO" };
    envcheck_var_options l = ENVCHECK_VAR_OPTIONS_INIT;
    l.type = ENVCHECK_TYPE_ENUM;
    l.values = levels;
    l.n_values = 2;
    assert_int_equal(envcheck_schema_add(f->s, "LOG_LEVEL", &l), 0);
    add(f->s, "REFRESH", ENVCHECK_TYPE_DURATION, NULL);
    add(f->s, "ALERT_EMAIL_ENABLED", ENVCHECK_TYPE_BOOL, "false");
    const char *req[] = { "ALERT_EMAIL_TO" };
    assert_int_equal(
        envcheck_schema_require_if(f->s, "ALERT_EMAIL_ENABLED", ENVCHECK_IF_TRUE, NULL, req, 1), 0);
    const char *env[] = { "API_WORKERS=65", "LOG_LEVEL=TRACE", "REFRESH=5 parsecs",
                          "ALERT_EMAIL_ENABLED=true" };
    run(f, env, 4);
    assert_int_equal(envcheck_result_count(f->r), 5);
    assert_int_equal(envcheck_result_count_group(f->r, ENVCHECK_GROUP_MISSING), 1);
    assert_int_equal(envcheck_result_count_group(f->r, ENVCHECK_GROUP_INVALID), 3);
    assert_int_equal(envcheck_result_count_group(f->r, ENVCHECK_GROUP_RULES), 1);
    assert_int_equal(envcheck_result_count_group(f->r, ENVCHECK_GROUP_LINT), 0);
    /* sorted by group, then name */
    expect(f->r, 0, ENVCHECK_GROUP_MISSING, "DATABASE_URL", "required but not set");
    expect(f->r, 1, ENVCHECK_GROUP_INVALID, "API_WORKERS",
           "\"65\" is out of range: must be between 1 and 64");
    expect(f->r, 2, ENVCHECK_GROUP_INVALID, "LOG_LEVEL", "\"TRACE\" is not one of: DEBUG, INFO");
    expect(f->r, 3, ENVCHECK_GROUP_INVALID, "REFRESH", NULL);
    expect(f->r, 4, ENVCHECK_GROUP_RULES, "ALERT_EMAIL_TO",
           "required because ALERT_EMAIL_ENABLED is true");
    assert_int_equal(envcheck_result_finding(f->r, 0)->code, ENVCHECK_CODE_MISSING);
    assert_int_equal(envcheck_result_finding(f->r, 1)->code, ENVCHECK_CODE_RANGE);
    assert_int_equal(envcheck_result_finding(f->r, 2)->code, ENVCHECK_CODE_ENUM);
    assert_int_equal(envcheck_result_finding(f->r, 3)->code, ENVCHECK_CODE_PARSE);
    assert_int_equal(envcheck_result_finding(f->r, 4)->code, ENVCHECK_CODE_RULE);
    assert_null(envcheck_result_finding(f->r, 5));
    assert_false(envcheck_result_valid(f->r));
}

static void names_of_groups_and_codes(void **state)
{
    (void)state;
    assert_string_equal(envcheck_group_name(ENVCHECK_GROUP_RULES), "rules");
    assert_string_equal(envcheck_group_name((envcheck_group)9), "unknown");
    assert_string_equal(envcheck_code_name(ENVCHECK_CODE_MISSING), "missing");
    assert_string_equal(envcheck_code_name(ENVCHECK_CODE_DUPLICATE_KEY), "duplicate_key");
    assert_string_equal(envcheck_code_name(ENVCHECK_CODE_UNTERMINATED), "unterminated_quote");
    assert_string_equal(envcheck_code_name((envcheck_code)99), "unknown");
    assert_string_equal(envcheck_type_name(ENVCHECK_TYPE_API_KEY), "api_key");
    assert_string_equal(envcheck_type_name((envcheck_type)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(require_if_true, setup, teardown),
        cmocka_unit_test_setup_teardown(require_if_set_false_and_equals, setup, teardown),
        cmocka_unit_test_setup_teardown(require_if_equals_on_a_bool, setup, teardown),
        cmocka_unit_test_setup_teardown(group_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(less_than_numbers_and_durations, setup, teardown),
        cmocka_unit_test_setup_teardown(custom_rule, setup, teardown),
        cmocka_unit_test_setup_teardown(five_problems_five_findings, setup, teardown),
        cmocka_unit_test(names_of_groups_and_codes),
    };
    return cmocka_run_group_tests_name("envcheck_rules", tests, NULL, NULL);
}
