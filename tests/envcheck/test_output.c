/* Reports, dumps and usage tables, and that no secret reaches any of them. */
#include "ec_test.h"

static char *usage(const envcheck_schema *sc, envcheck_format f)
{
    ec_sink s = { NULL, 0 };
    assert_int_equal(envcheck_schema_write_usage(sc, f, ec_sink_write, &s), ENVCHECK_OK);
    return s.data;
}

static envcheck_schema *small_schema(void)
{
    static const char j[] =
        "{\"variables\":["
        "{\"name\":\"DATABASE_URL\",\"type\":\"url\",\"required\":true,\"sensitive\":true,"
        "\"description\":\"PostgreSQL connection URL\"},"
        "{\"name\":\"API_WORKERS\",\"type\":\"int\",\"min\":1,\"max\":64,\"default\":\"4\","
        "\"description\":\"worker threads\"},"
        "{\"name\":\"LOG_LEVEL\",\"type\":\"enum\",\"values\":[\"DEBUG\",\"INFO\"],"
        "\"default\":\"INFO\"},"
        "{\"name\":\"SMTP_PASSWORD\",\"type\":\"string\",\"sensitive\":true,"
        "\"default\":\"changeme\"}]}";
    envcheck_schema *s = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_load_json(s, j, strlen(j)), ENVCHECK_OK);
    return s;
}

static envcheck_result *validate(const envcheck_schema *s, const char *const *env, size_t n,
                                 const char *file)
{
    envcheck_source *src = NULL;
    envcheck_result *r = NULL;
    assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
    if (file)
        assert_int_equal(envcheck_source_add_buffer(src, "app.env", file, strlen(file)), 0);
    assert_int_equal(envcheck_source_add_array(src, env, n), ENVCHECK_OK);
    assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
    envcheck_source_free(src);
    return r;
}

static void text_report_is_grouped_and_aligned(void **state)
{
    (void)state;
    envcheck_schema *s = small_schema();
    const char *env[] = { "API_WORKERS=0", "LOG_LEVEL=TRACE" };
    envcheck_result *r = validate(s, env, 2, "API_WORKERS=1\nAPI_WORKERS=2\n");
    char *t = ec_report(r, ENVCHECK_FORMAT_TEXT);
    assert_string_equal(t,
                        "envcheck: 3 problems: 1 missing, 2 invalid, 0 rules; 1 env-file warning\n"
                        "\n"
                        "Missing:\n"
                        "  DATABASE_URL  required but not set (PostgreSQL connection URL)\n"
                        "\n"
                        "Invalid:\n"
                        "  API_WORKERS   \"0\" is out of range: must be between 1 and 64\n"
                        "  LOG_LEVEL     \"TRACE\" is not one of: DEBUG, INFO\n"
                        "\n"
                        "Warnings (env files):\n"
                        "  API_WORKERS   app.env:2: the key is also assigned on line 1; the last "
                        "assignment wins\n");
    free(t);
    char *j = ec_report(r, ENVCHECK_FORMAT_JSON);
    assert_string_equal(
        j, "{\"valid\":false,\"summary\":{\"missing\":1,\"invalid\":2,\"rules\":0,\"lint\":1},"
           "\"findings\":["
           "{\"group\":\"missing\",\"code\":\"missing\",\"name\":\"DATABASE_URL\","
           "\"message\":\"required but not set (PostgreSQL connection URL)\"},"
           "{\"group\":\"invalid\",\"code\":\"range\",\"name\":\"API_WORKERS\","
           "\"message\":\"\\\"0\\\" is out of range: must be between 1 and 64\"},"
           "{\"group\":\"invalid\",\"code\":\"enum\",\"name\":\"LOG_LEVEL\","
           "\"message\":\"\\\"TRACE\\\" is not one of: DEBUG, INFO\"},"
           "{\"group\":\"lint\",\"code\":\"duplicate_key\",\"name\":\"API_WORKERS\","
           "\"message\":\"the key is also assigned on line 1; the last assignment wins\","
           "\"file\":\"app.env\",\"line\":2}]}");
    free(j);
    envcheck_result_free(r);

    const char *ok[] = { "DATABASE_URL=postgres://u:p4ss@db/app" };
    r = validate(s, ok, 1, NULL);
    t = ec_report(r, ENVCHECK_FORMAT_TEXT);
    assert_string_equal(t, "envcheck: the configuration is valid (4 variables checked)\n");
    free(t);
    t = ec_dump(r, ENVCHECK_FORMAT_TEXT);
    assert_string_equal(t, "NAME           VALUE       SOURCE\n"
                           "DATABASE_URL   **********  array\n"
                           "API_WORKERS    \"4\"         default\n"
                           "LOG_LEVEL      \"INFO\"      default\n"
                           "SMTP_PASSWORD  **********  default\n");
    free(t);
    envcheck_result_free(r);
    envcheck_schema_free(s);
}

static void usage_table(void **state)
{
    (void)state;
    envcheck_schema *s = small_schema();
    char *t = usage(s, ENVCHECK_FORMAT_TEXT);
    assert_string_equal(t,
                        "NAME           TYPE    DEFAULT     REQUIRED  DESCRIPTION\n"
                        "DATABASE_URL   url     -           yes       PostgreSQL connection URL\n"
                        "API_WORKERS    int     4           no        worker threads\n"
                        "LOG_LEVEL      enum    INFO        no        one of: DEBUG, INFO\n"
                        "SMTP_PASSWORD  string  **********  no\n");
    free(t);
    char *j = usage(s, ENVCHECK_FORMAT_JSON);
    assert_non_null(strstr(j, "{\"name\":\"SMTP_PASSWORD\",\"type\":\"string\",\"default\":"
                              "\"**********\",\"required\":false,\"sensitive\":true}"));
    assert_null(strstr(j, "changeme"));
    free(j);
    envcheck_schema_free(s);
}

static int fail_writer(const char *d, size_t n, void *u)
{
    (void)d;
    (void)n;
    (void)u;
    return -1;
}

static void writer_errors_and_bad_format(void **state)
{
    (void)state;
    envcheck_schema *s = small_schema();
    envcheck_result *r = validate(s, NULL, 0, NULL);
    ec_sink sink = { NULL, 0 };
    assert_int_equal(envcheck_result_write_report(r, (envcheck_format)7, ec_sink_write, &sink),
                     ENVCHECK_EINVAL);
    assert_null(sink.data);
    assert_int_equal(envcheck_result_write_report(r, ENVCHECK_FORMAT_TEXT, fail_writer, NULL),
                     ENVCHECK_EIO);
    assert_int_equal(envcheck_result_write_dump(r, ENVCHECK_FORMAT_JSON, fail_writer, NULL),
                     ENVCHECK_EIO);
    assert_int_equal(envcheck_schema_write_usage(s, ENVCHECK_FORMAT_TEXT, fail_writer, NULL),
                     ENVCHECK_EIO);
    envcheck_result_free(r);
    envcheck_schema_free(s);
}

/* ---- secrets */

static const char *const secrets[] = {
    "Qx7vRz9Kp2Lm",         /* DATABASE_URL's password (sensitive URL) */
    "Wm3Jd8Fs5Gt1",         /* WEBHOOK_URL's password (a URL that is not sensitive) */
    "sk_live_Zt4Wn8Yb6Hc3", /* API_KEY (api_key: always sensitive) */
    "Hv2Nq6Bx9Ce4Uy7",      /* SMTP_PASSWORD, too long */
    "Pj5Ka1Dr8Lw3",         /* TOKEN from an env file */
    "Gf6Ts3Mz0Vb8",         /* TOKEN_LIST element */
    "Ry4Ec7Hu2Xo5",         /* a sensitive default */
    "Lk8Oa3Wi6Sn1",         /* on a line without '=' in the env file */
    "Fz2Yd9Qm4Tp7",         /* in a value with a control character */
};

static int contains(const char *hay, const char *needle, size_t len)
{
    for (; *hay; hay++)
        if (strncmp(hay, needle, len) == 0)
            return 1;
    return 0;
}

static void assert_clean(const char *what, const char *out)
{
    for (size_t k = 0; k < sizeof secrets / sizeof *secrets; k++) {
        const char *sec = secrets[k];
        size_t n = strlen(sec);
        for (size_t len = 4; len <= n; len++) {
            for (size_t i = 0; i + len <= n; i++) {
                if (contains(out, sec + i, len))
                    fail_msg("%s shows %.*s (from secret %zu):\n%s", what, (int)len, sec + i, k,
                             out);
            }
        }
    }
}

static int echo_secret(const envcheck_result *r, char *msg, size_t size, void *userdata)
{
    (void)userdata;
    const char *token = "";
    if (envcheck_get_string(r, "FALLBACK", &token) != ENVCHECK_OK)
        token = "?";
    snprintf(msg, size, "rejected token %s", token);
    return 1;
}

static void secrets_never_reach_any_output(void **state)
{
    (void)state;
    static const char j[] =
        "{\"variables\":["
        "{\"name\":\"DATABASE_URL\",\"type\":\"url\",\"required\":true,\"sensitive\":true,"
        "\"schemes\":[\"postgresql\"]},"
        "{\"name\":\"WEBHOOK_URL\",\"type\":\"url\",\"schemes\":[\"https\"]},"
        "{\"name\":\"API_KEY\",\"type\":\"api_key\",\"prefix\":\"pk_\"},"
        "{\"name\":\"SMTP_PASSWORD\",\"type\":\"string\",\"sensitive\":true,\"max_length\":8},"
        "{\"name\":\"TOKEN\",\"type\":\"string\",\"sensitive\":true,\"charset\":\"a-z\"},"
        "{\"name\":\"TOKEN_LIST\",\"type\":\"list\",\"element\":\"int\",\"sensitive\":true},"
        "{\"name\":\"FALLBACK\",\"type\":\"string\",\"sensitive\":true,"
        "\"default\":\"Ry4Ec7Hu2Xo5\",\"example\":\"Ry4Ec7Hu2Xo5\"},"
        "{\"name\":\"SIGNING_KEY\",\"type\":\"string\",\"sensitive\":true}],"
        "\"rules\":[{\"all_or_none\":[\"TOKEN\",\"SMTP_USER\"]},"
        "{\"if\":{\"name\":\"TOKEN\",\"equals\":\"Pj5Ka1Dr8Lw3\"},\"require\":[\"NEVER_SET\"]}]}";
    envcheck_schema *s = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_load_json(s, j, strlen(j)), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_custom_rule(s, "TOKEN", echo_secret, NULL), ENVCHECK_OK);
    const char *file = "TOKEN=Pj5Ka1Dr8Lw3\n"
                       "TOKEN=Pj5Ka1Dr8Lw3\n"
                       "Lk8Oa3Wi6Sn1\n"
                       "SIGNING_KEY=Fz2Yd9Qm4Tp7\x01\n";
    const char *env[] = { "DATABASE_URL=mysql://admin:Qx7vRz9Kp2Lm@db/app",
                          "WEBHOOK_URL=http://hook:Wm3Jd8Fs5Gt1@hooks.example/x?token=Wm3Jd8Fs5Gt1",
                          "API_KEY=sk_live_Zt4Wn8Yb6Hc3", "SMTP_PASSWORD=Hv2Nq6Bx9Ce4Uy7",
                          "TOKEN_LIST=1,Gf6Ts3Mz0Vb8" };
    envcheck_result *r = validate(s, env, 5, file);
    /* every variable and rule has something to say */
    assert_true(envcheck_result_count(r) >= 10);
    for (size_t i = 0; i < envcheck_result_count(r); i++) {
        const envcheck_finding *f = envcheck_result_finding(r, i);
        assert_clean("a finding message", f->message);
        assert_clean("a finding name", f->name);
    }
    char *out[6] = { ec_report(r, ENVCHECK_FORMAT_TEXT), ec_report(r, ENVCHECK_FORMAT_JSON),
                     ec_dump(r, ENVCHECK_FORMAT_TEXT),   ec_dump(r, ENVCHECK_FORMAT_JSON),
                     usage(s, ENVCHECK_FORMAT_TEXT),     usage(s, ENVCHECK_FORMAT_JSON) };
    const char *what[6] = { "text report", "JSON report", "text dump",
                            "JSON dump",   "text usage",  "JSON usage" };
    for (size_t i = 0; i < 6; i++) {
        assert_clean(what[i], out[i]);
        free(out[i]);
    }
    /* and the masked forms are there */
    out[0] = ec_report(r, ENVCHECK_FORMAT_TEXT);
    assert_non_null(strstr(out[0], "\"http://hook:**********@hooks.example/x?token=**********\""));
    assert_non_null(strstr(out[0], "rejected token **********"));
    free(out[0]);
    /* the getters still hand the real values to the program */
    const char *v = NULL;
    assert_int_equal(envcheck_get_string(r, "FALLBACK", &v), ENVCHECK_OK);
    assert_string_equal(v, "Ry4Ec7Hu2Xo5");
    envcheck_result_free(r);

    /* a bad sensitive default in a schema error */
    envcheck_var_options o = ENVCHECK_VAR_OPTIONS_INIT;
    o.type = ENVCHECK_TYPE_INT;
    o.sensitive = 1;
    o.default_value = "Ry4Ec7Hu2Xo5";
    assert_int_equal(envcheck_schema_add(s, "PIN", &o), ENVCHECK_ESCHEMA);
    assert_clean("a schema error", envcheck_schema_errmsg(s));
    envcheck_schema_free(s);
}

static void sensitive_text_is_masked_wherever_it_appears(void **state)
{
    (void)state;
    static const char j[] = "{\"variables\":[{\"name\":\"TOKEN\",\"sensitive\":true},"
                            "{\"name\":\"COUNT\",\"type\":\"int\"},"
                            "{\"name\":\"HOOK\",\"type\":\"url\",\"schemes\":[\"https\"]}]}";
    envcheck_schema *s = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_load_json(s, j, strlen(j)), ENVCHECK_OK);
    /* the secret pasted into the wrong (non-sensitive) variable, and a URL
     * password with an unencoded '/' */
    const char *env[] = { "TOKEN=Zk3Wq8Lp", "COUNT=Zk3Wq8Lp",
                          "HOOK=http://u:Pa/Ss77Qv@hooks.example/x" };
    envcheck_result *r = validate(s, env, 3, NULL);
    assert_int_equal(envcheck_result_count(r), 2);
    assert_string_equal(envcheck_result_finding(r, 0)->message,
                        "\"**********\" is not a base-10 integer");
    assert_string_equal(envcheck_result_finding(r, 1)->message,
                        "\"http://u:**********@hooks.example/x\" is not a valid URL: the port is "
                        "not a number from 1 to 65535");
    envcheck_result_free(r);
    envcheck_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_report_is_grouped_and_aligned),
        cmocka_unit_test(usage_table),
        cmocka_unit_test(writer_errors_and_bad_format),
        cmocka_unit_test(secrets_never_reach_any_output),
        cmocka_unit_test(sensitive_text_is_masked_wherever_it_appears),
    };
    return cmocka_run_group_tests_name("envcheck_output", tests, NULL, NULL);
}
