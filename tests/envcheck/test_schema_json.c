/* The JSON schema loader. */
#include "ec_test.h"

static const char issue_schema[] =
    "{\"variables\":[\n"
    "  {\"name\":\"DATABASE_URL\",\"type\":\"url\",\"required\":true,\"sensitive\":true,"
    "\"schemes\":[\"postgresql\",\"postgres\"],\"description\":\"PostgreSQL connection URL\"},\n"
    "  {\"name\":\"API_WORKERS\",\"type\":\"int\",\"min\":1,\"max\":64,\"default\":\"4\"},\n"
    "  {\"name\":\"LOG_LEVEL\",\"type\":\"enum\",\"values\":[\"DEBUG\",\"INFO\",\"WARNING\","
    "\"ERROR\"],\"default\":\"INFO\"},\n"
    "  {\"name\":\"ALERT_EMAIL_ENABLED\",\"type\":\"bool\",\"default\":\"false\"},\n"
    "  {\"name\":\"ALERT_SMTP_PASSWORD\",\"type\":\"string\",\"sensitive\":true}],\n"
    " \"rules\":[\n"
    "  {\"if\":{\"name\":\"ALERT_EMAIL_ENABLED\",\"is\":\"true\"},\"require\":[\"ALERT_EMAIL_TO\","
    "\"ALERT_SMTP_HOST\"]},\n"
    "  {\"all_or_none\":[\"ALERT_SMTP_USER\",\"ALERT_SMTP_PASSWORD\"]},\n"
    "  {\"less_than\":[\"POOL_MIN\",\"POOL_MAX\"]}]}\n";

static void loads_the_issue_example(void **state)
{
    (void)state;
    envcheck_schema *s = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    int rc = envcheck_schema_load_json(s, issue_schema, strlen(issue_schema));
    if (rc)
        fail_msg("%s", envcheck_schema_errmsg(s));
    assert_int_equal(envcheck_schema_count(s), 5);
    envcheck_source *src = NULL;
    envcheck_result *r = NULL;
    const char *env[] = { "DATABASE_URL=postgres://app:pw@db:5432/app", "ALERT_EMAIL_ENABLED=1",
                          "ALERT_SMTP_USER=u", "POOL_MIN=5", "POOL_MAX=2" };
    assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
    assert_int_equal(envcheck_source_add_array(src, env, 5), ENVCHECK_OK);
    assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
    assert_int_equal(envcheck_result_count(r), 4);
    const char *names[] = { "ALERT_EMAIL_TO", "ALERT_SMTP_HOST", "ALERT_SMTP_PASSWORD",
                            "POOL_MIN" };
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(envcheck_result_finding(r, i)->name, names[i]);
    int64_t w = 0;
    assert_int_equal(envcheck_get_int(r, "API_WORKERS", &w), ENVCHECK_OK);
    assert_int_equal(w, 4);
    envcheck_result_free(r);
    envcheck_source_free(src);
    envcheck_schema_free(s);
}

static void every_field(void **state)
{
    (void)state;
    static const char j[] =
        "{\"description\":\"all fields\",\"variables\":["
        "{\"name\":\"A\",\"type\":\"duration\",\"min\":\"1s\",\"max\":3600,\"default\":\"30s\"},"
        "{\"name\":\"B\",\"type\":\"float\",\"min\":0,\"max\":1.5,\"default\":0.5},"
        "{\"name\":\"C\",\"type\":\"list\",\"element\":\"port\",\"separator\":\";\","
        "\"default\":\"80;443\"},"
        "{\"name\":\"D\",\"type\":\"api_key\",\"prefix\":\"sk_\",\"min_length\":8,"
        "\"max_length\":64,\"charset\":\"A-Za-z0-9_\",\"file\":true},"
        "{\"name\":\"E\",\"type\":\"path\",\"must_exist\":true,\"default\":\"/\"},"
        "{\"name\":\"F\",\"type\":\"enum\",\"values\":[\"a\",\"b\"],\"case_insensitive\":true,"
        "\"default\":\"A\",\"example\":\"b\"},"
        "{\"name\":\"G\",\"type\":\"string\",\"allow_empty\":true,\"default\":\"\"},"
        "{\"name\":\"H\",\"type\":\"bool\",\"default\":true},"
        "{\"name\":\"I\",\"type\":\"int\",\"min\":\"-9223372036854775808\",\"default\":-3},"
        "{\"name\":\"J\",\"type\":\"email\"},{\"name\":\"K\",\"type\":\"host\"},"
        "{\"name\":\"L\"}],"
        "\"rules\":[{\"at_most_one\":[\"J\",\"K\"]},{\"at_least_one\":[\"A\",\"B\"]},"
        "{\"less_equal\":[\"B\",\"I\"]},{\"if\":{\"name\":\"F\",\"equals\":\"b\"},"
        "\"require\":[\"J\"]},{\"if\":{\"name\":\"K\",\"is\":\"set\"},\"require\":[\"L\"]}]}";
    envcheck_schema *s = NULL;
    envcheck_result *r = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    int rc = envcheck_schema_load_json(s, j, strlen(j));
    if (rc)
        fail_msg("%s", envcheck_schema_errmsg(s));
    assert_int_equal(envcheck_schema_count(s), 12);
    envcheck_source *src = NULL;
    assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
    assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
    /* B (0.5) <= I (-3) fails */
    assert_int_equal(envcheck_result_count(r), 1);
    assert_string_equal(envcheck_result_finding(r, 0)->message, "must be at most I (0.5 > -3)");
    int64_t ns = 0, i = 0;
    assert_int_equal(envcheck_get_duration(r, "A", &ns), ENVCHECK_OK);
    assert_true(ns == INT64_C(30000000000));
    assert_int_equal(envcheck_get_list_int(r, "C", 1, &i), ENVCHECK_OK);
    assert_int_equal(i, 443);
    int b = 0;
    assert_int_equal(envcheck_get_bool(r, "H", &b), ENVCHECK_OK);
    assert_int_equal(b, 1);
    const char *str = NULL;
    assert_int_equal(envcheck_get_string(r, "G", &str), ENVCHECK_OK);
    assert_string_equal(str, "");
    envcheck_result_free(r);
    envcheck_source_free(src);

    /* Every variable's loaded constraints and every rule, each broken once:
     * the finding names the variable the JSON gave the constraint. */
    const char *bad[] = {
        "A=0s",                         /* min 1s */
        "B=2",                          /* max 1.5 */
        "C=80;70000",                   /* element port, separator ; */
        "D=pk_abcdefgh",                /* prefix sk_ */
        "E=/nonexistent/envcheck/path", /* must_exist */
        "F=c",                          /* values a, b */
        "H=maybe",                      /* bool */
        "I=-9223372036854775809",       /* below min */
        "J=not-an-email",               /* email; J and K both set */
        "K=bad host!",                  /* host; set, so L is required */
    };
    assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
    assert_int_equal(envcheck_source_add_array(src, bad, sizeof bad / sizeof bad[0]), ENVCHECK_OK);
    assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
    static const struct {
        const char *name, *message;
    } want[] = {
        { "A", "\"0s\" is out of range: must be between 1s and 1h" },
        { "B", "\"2\" is out of range: must be between 0 and 1.5" },
        { "C", "\"80;70000\" (element 2) is not a port number (1-65535)" },
        { "D", "********** does not start with the prefix \"sk_\"" },
        { "E", "\"/nonexistent/envcheck/path\" does not exist" },
        { "F", "\"c\" is not one of: a, b (any case)" },
        { "H", "\"maybe\" is not a boolean (1 yes y true t on / 0 no n false f off)" },
        { "I", "\"-9223372036854775809\" is out of range for a 64-bit integer" },
        { "J", "\"not-an-email\" is not an e-mail address" },
        { "K", "\"bad host!\" is not a host name or IP address" },
        { "J", "conflicts: at most one of J, K may be set" },
        { "K", "conflicts: at most one of J, K may be set" },
        { "L", "required because K is set" },
    };
    for (size_t k = 0; k < envcheck_result_count(r); k++) {
        const envcheck_finding *f = envcheck_result_finding(r, k);
        print_message("%s: %s\n", f->name, f->message);
    }
    assert_int_equal(envcheck_result_count(r), sizeof want / sizeof want[0]);
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        assert_string_equal(envcheck_result_finding(r, k)->name, want[k].name);
        assert_string_equal(envcheck_result_finding(r, k)->message, want[k].message);
    }
    envcheck_result_free(r);
    envcheck_source_free(src);

    /* the conditional rule: F equal to b (in any case) requires J */
    const char *cond[] = { "F=B", "B=0", "I=0" };
    assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
    assert_int_equal(envcheck_source_add_array(src, cond, 3), ENVCHECK_OK);
    assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
    for (size_t k = 0; k < envcheck_result_count(r); k++) {
        const envcheck_finding *f = envcheck_result_finding(r, k);
        print_message("%s: %s\n", f->name, f->message);
    }
    assert_int_equal(envcheck_result_count(r), 1);
    assert_string_equal(envcheck_result_finding(r, 0)->name, "J");
    envcheck_result_free(r);
    envcheck_source_free(src);
    envcheck_schema_free(s);
}

static void expect_error(const char *json, const char *message)
{
    envcheck_schema *s = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_add(s, "KEEP", NULL), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_load_json(s, json, strlen(json)), ENVCHECK_ESCHEMA);
    assert_string_equal(envcheck_schema_errmsg(s), message);
    assert_int_equal(envcheck_schema_count(s), 1); /* unchanged */
    /* the name of a dropped variable is free again */
    assert_int_equal(envcheck_schema_add(s, "X", NULL), ENVCHECK_OK);
    envcheck_schema_free(s);
}

static void errors_name_the_place(void **state)
{
    (void)state;
    expect_error("{", "the schema is not valid JSON");
    expect_error("[]", "the schema must be a JSON object");
    expect_error("{\"vars\":[]}", "schema: unknown key \"vars\"");
    expect_error("{\"variables\":{}}", "\"variables\" and \"rules\" must be arrays");
    expect_error("{\"variables\":[{\"name\":\"X\"},{\"type\":\"int\"}]}",
                 "variables[1]: \"name\" (a string) is required");
    expect_error("{\"variables\":[{\"name\":\"X\",\"type\":\"integr\"}]}",
                 "variables[0] (X): unknown type \"integr\"");
    expect_error("{\"variables\":[{\"name\":\"X\",\"typo\":1}]}",
                 "variables[0] (X): unknown key \"typo\"");
    expect_error(
        "{\"variables\":[{\"name\":\"X\",\"type\":\"int\",\"max\":10,\"default\":\"11\"}]}",
        "variables[0]: X: the default \"11\" is out of range: must be at most 10");
    expect_error(
        "{\"variables\":[{\"name\":\"X\",\"type\":\"url\",\"sensitive\":true,"
        "\"default\":\"oops-s3cr3t\"}]}",
        "variables[0]: X: the default ********** is not a valid URL: no scheme (scheme://host...)");
    expect_error("{\"variables\":[{\"name\":\"X\"},{\"name\":\"X\"}]}",
                 "variables[1]: X: declared twice");
    expect_error("{\"variables\":[{\"name\":\"X\",\"required\":\"yes\"}]}",
                 "variables[0] (X): \"required\" must be true or false");
    expect_error("{\"variables\":[{\"name\":\"X\",\"min\":1}]}",
                 "variables[0] (X): \"min\" applies to int, port, float and duration only (use "
                 "min_length/max_length for text)");
    expect_error("{\"variables\":[{\"name\":\"X\",\"type\":\"int\",\"min\":1.5}]}",
                 "variables[0] (X): \"min\" is not a valid int bound");
    expect_error("{\"variables\":[{\"name\":\"X\",\"name\":\"Y\"}]}",
                 "variables[0] (X): key \"name\" appears twice");
    expect_error("{\"rules\":[{\"sometimes\":[\"A\",\"B\"]}]}",
                 "rules[0]: unknown rule \"sometimes\"");
    expect_error("{\"rules\":[{\"less_than\":[\"A\"]}]}",
                 "rules[0]: expects an array of at least 2 names");
    expect_error("{\"rules\":[{\"if\":{\"name\":\"A\",\"is\":\"maybe\"},\"require\":[\"B\"]}]}",
                 "rules[0]: \"is\" is \"set\", \"true\" or \"false\"");
    expect_error("{\"rules\":[{\"if\":{\"name\":\"A\",\"is\":\"set\"},\"require\":[\"b-c\"]}]}",
                 "rules[0]: rule: name 1 is not a valid variable name");
    expect_error("{\"variables\":[{\"name\":\"S\"}],\"rules\":[{\"less_than\":[\"S\",\"T\"]}]}",
                 "rules[0]: S < T: compares numbers with numbers or durations with durations");
    expect_error("{\"rules\":[{\"all_or_none\":[\"A\",\"B\"],\"at_most_one\":[\"A\",\"B\"]}]}",
                 "rules[0]: one rule per object");
}

static void load_file(void **state)
{
    (void)state;
    envcheck_schema *s = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_load_file(s, "/no/such/schema.json"), ENVCHECK_EIO);
    assert_string_equal(envcheck_schema_errmsg(s),
                        "/no/such/schema.json: No such file or directory");
    envcheck_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_the_issue_example),
        cmocka_unit_test(every_field),
        cmocka_unit_test(errors_name_the_place),
        cmocka_unit_test(load_file),
    };
    return cmocka_run_group_tests_name("envcheck_schema_json", tests, NULL, NULL);
}
