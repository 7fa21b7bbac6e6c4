/* Every type's accept and reject edges, and validated defaults. */
#include "ec_test.h"

#include <sys/stat.h>
#include <unistd.h>

static envcheck_var_options opts(envcheck_type t)
{
    envcheck_var_options o = ENVCHECK_VAR_OPTIONS_INIT;
    o.type = t;
    return o;
}

static void string_blank_counts_as_missing(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_STRING);
    ACCEPT(&o, "x");
    ACCEPT(&o, " spaced ");
    ACCEPT(&o, ""); /* optional: blank is unset, no finding */
    ACCEPT(&o, NULL);
    o.required = 1;
    REJECT(&o, NULL, ENVCHECK_CODE_MISSING);
    REJECT(&o, "", ENVCHECK_CODE_EMPTY);
    REJECT(&o, "  \t", ENVCHECK_CODE_EMPTY);
    o.allow_empty = 1;
    ACCEPT(&o, "");
    ACCEPT(&o, "   ");
}

static void string_length_and_charset(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_STRING);
    o.min_length = 2;
    o.max_length = 4;
    REJECT(&o, "a", ENVCHECK_CODE_LENGTH);
    ACCEPT(&o, "ab");
    ACCEPT(&o, "abcd");
    REJECT(&o, "abcde", ENVCHECK_CODE_LENGTH);
    ACCEPT(&o, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"); /* four code points, eight bytes */
    o.min_length = 0;
    o.max_length = 0;
    o.charset = "a-z0-9_-";
    ACCEPT(&o, "abc-1_2");
    REJECT(&o, "abC", ENVCHECK_CODE_CHARSET);
    REJECT(&o, "a b", ENVCHECK_CODE_CHARSET);
    REJECT(&o, "a\xc3\xa9", ENVCHECK_CODE_CHARSET);
}

static void int_is_strict_base_10(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_INT);
    ACCEPT(&o, "0");
    ACCEPT(&o, "-0");
    ACCEPT(&o, "+42");
    ACCEPT(&o, "010"); /* ten, never octal */
    ACCEPT(&o, "9223372036854775807");
    ACCEPT(&o, "-9223372036854775808");
    REJECT(&o, "9223372036854775808", ENVCHECK_CODE_RANGE);
    REJECT(&o, "-9223372036854775809", ENVCHECK_CODE_RANGE);
    REJECT(&o, "99999999999999999999999", ENVCHECK_CODE_RANGE);
    REJECT(&o, "1e5", ENVCHECK_CODE_PARSE);
    REJECT(&o, "12abc", ENVCHECK_CODE_PARSE);
    REJECT(&o, "0x10", ENVCHECK_CODE_PARSE);
    REJECT(&o, " 1", ENVCHECK_CODE_PARSE);
    REJECT(&o, "1 ", ENVCHECK_CODE_PARSE);
    REJECT(&o, "1.0", ENVCHECK_CODE_PARSE);
    REJECT(&o, "-", ENVCHECK_CODE_PARSE);
    REJECT(&o, "1_000", ENVCHECK_CODE_PARSE);

    ec_run run;
    ec_run_one(&run, &o, "-9223372036854775808");
    int64_t v = 0;
    assert_int_equal(envcheck_get_int(run.result, "V", &v), ENVCHECK_OK);
    assert_true(v == INT64_MIN);
    ec_run_free(&run);
}

static void int_range(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_INT);
    o.has_min = o.has_max = 1;
    o.min = 1;
    o.max = 64;
    REJECT(&o, "0", ENVCHECK_CODE_RANGE);
    ACCEPT(&o, "1");
    ACCEPT(&o, "64");
    REJECT(&o, "65", ENVCHECK_CODE_RANGE);
    ec_run run;
    ec_run_one(&run, &o, "65");
    assert_string_equal(envcheck_result_finding(run.result, 0)->message,
                        "\"65\" is out of range: must be between 1 and 64");
    ec_run_free(&run);
}

static void float_is_finite(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_FLOAT);
    ACCEPT(&o, "1");
    ACCEPT(&o, "-1.5");
    ACCEPT(&o, ".5");
    ACCEPT(&o, "5.");
    ACCEPT(&o, "1e-3");
    ACCEPT(&o, "1.7976931348623157e308");
    REJECT(&o, "1e400", ENVCHECK_CODE_RANGE);
    REJECT(&o, "inf", ENVCHECK_CODE_PARSE);
    REJECT(&o, "nan", ENVCHECK_CODE_PARSE);
    REJECT(&o, "0x1p3", ENVCHECK_CODE_PARSE);
    REJECT(&o, "1,5", ENVCHECK_CODE_PARSE);
    REJECT(&o, ".", ENVCHECK_CODE_PARSE);
    REJECT(&o, "1e", ENVCHECK_CODE_PARSE);
    o.has_min = o.has_max = 1;
    o.min_float = 0.0;
    o.max_float = 1.0;
    ACCEPT(&o, "0");
    ACCEPT(&o, "1.0");
    REJECT(&o, "1.0000001", ENVCHECK_CODE_RANGE);
    REJECT(&o, "-0.1", ENVCHECK_CODE_RANGE);
    ec_run run;
    ec_run_one(&run, &o, "0.25");
    double d = 0;
    assert_int_equal(envcheck_get_float(run.result, "V", &d), ENVCHECK_OK);
    assert_true(d == 0.25);
    ec_run_free(&run);
}

static void bool_systemd_spellings(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_BOOL);
    const char *yes[] = { "1", "yes", "YES", "y", "true", "True", "t", "on", "ON" };
    const char *no[] = { "0", "no", "n", "false", "FALSE", "f", "off", "Off" };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        ec_run run;
        ec_run_one(&run, &o, yes[i]);
        int b = -1;
        assert_int_equal(envcheck_get_bool(run.result, "V", &b), ENVCHECK_OK);
        assert_int_equal(b, 1);
        ec_run_free(&run);
    }
    for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
        ec_run run;
        ec_run_one(&run, &o, no[i]);
        int b = -1;
        assert_int_equal(envcheck_get_bool(run.result, "V", &b), ENVCHECK_OK);
        assert_int_equal(b, 0);
        ec_run_free(&run);
    }
    REJECT(&o, "2", ENVCHECK_CODE_PARSE);
    REJECT(&o, "yess", ENVCHECK_CODE_PARSE);
    REJECT(&o, "enabled", ENVCHECK_CODE_PARSE);
    REJECT(&o, " yes", ENVCHECK_CODE_PARSE);
}

static void enum_values_and_case(void **state)
{
    (void)state;
    const char *levels[] = { "DEBUG", "INFO", "WARNING", "ERROR" };
    envcheck_var_options o = opts(ENVCHECK_TYPE_ENUM);
    o.values = levels;
    o.n_values = 4;
    ACCEPT(&o, "INFO");
    REJECT(&o, "info", ENVCHECK_CODE_ENUM);
    REJECT(&o, "TRACE", ENVCHECK_CODE_ENUM);
    REJECT(&o, "INFO ", ENVCHECK_CODE_ENUM);
    o.case_insensitive = 1;
    ec_run run;
    ec_run_one(&run, &o, "warning");
    const char *s = NULL;
    size_t idx = 9;
    assert_int_equal(envcheck_get_string(run.result, "V", &s), ENVCHECK_OK);
    assert_string_equal(s, "WARNING"); /* the canonical spelling */
    assert_int_equal(envcheck_get_enum(run.result, "V", &idx), ENVCHECK_OK);
    assert_int_equal(idx, 2);
    ec_run_free(&run);
    ec_run_one(&run, &o, "TRACE");
    assert_string_equal(envcheck_result_finding(run.result, 0)->message,
                        "\"TRACE\" is not one of: DEBUG, INFO, WARNING, ERROR (any case)");
    ec_run_free(&run);
}

static void url_scheme_host_and_allowed_schemes(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_URL);
    ACCEPT(&o, "https://example.com");
    ACCEPT(&o, "postgresql://user:pw@db.internal:5432/app?sslmode=require");
    ACCEPT(&o, "postgresql://h1:5432,h2:5433/app");
    ACCEPT(&o, "http://[::1]:8080/x");
    ACCEPT(&o, "http://10.0.0.1/");
    REJECT(&o, "example.com", ENVCHECK_CODE_URL);
    REJECT(&o, "https://", ENVCHECK_CODE_URL);
    REJECT(&o, "https:///path", ENVCHECK_CODE_URL);
    REJECT(&o, "https://user@/x", ENVCHECK_CODE_URL);
    REJECT(&o, "https://host:0/", ENVCHECK_CODE_URL);
    REJECT(&o, "https://host:65536/", ENVCHECK_CODE_URL);
    REJECT(&o, "https://host:80a/", ENVCHECK_CODE_URL);
    REJECT(&o, "https://ho st/", ENVCHECK_CODE_URL);
    REJECT(&o, "https://-bad-.com/", ENVCHECK_CODE_URL);
    REJECT(&o, "1http://x", ENVCHECK_CODE_URL);
    REJECT(&o, "http://[::1/", ENVCHECK_CODE_URL);
    const char *schemes[] = { "postgresql", "postgres" };
    o.schemes = schemes;
    o.n_schemes = 2;
    ACCEPT(&o, "postgres://db/app");
    ACCEPT(&o, "PostgreSQL://db/app");
    REJECT(&o, "mysql://db/app", ENVCHECK_CODE_SCHEME);
    REJECT(&o, "postgresqlx://db/app", ENVCHECK_CODE_SCHEME);
}

static void url_password_is_masked(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_URL);
    const char *schemes[] = { "postgresql" };
    o.schemes = schemes;
    o.n_schemes = 1;
    ec_run run;
    ec_run_one(&run, &o, "mysql://admin:pa55word@db/app?password=qq77zz&x=1");
    const char *msg = envcheck_result_finding(run.result, 0)->message;
    assert_null(strstr(msg, "pa55word"));
    assert_null(strstr(msg, "qq77zz"));
    assert_string_equal(msg, "\"mysql://admin:**********@db/app?password=**********&x=1\" has a "
                             "scheme that is not allowed (allowed: postgresql)");
    ec_run_free(&run);
    /* also when the URL is broken */
    ec_run_one(&run, &o, "postgresql://admin:pa55word@");
    msg = envcheck_result_finding(run.result, 0)->message;
    assert_null(strstr(msg, "pa55word"));
    ec_run_free(&run);
}

static void email(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_EMAIL);
    ACCEPT(&o, "ops@example.com");
    ACCEPT(&o, "first.last+tag@mail.example.co.uk");
    REJECT(&o, "ops", ENVCHECK_CODE_PARSE);
    REJECT(&o, "@example.com", ENVCHECK_CODE_PARSE);
    REJECT(&o, "ops@", ENVCHECK_CODE_PARSE);
    REJECT(&o, "ops@localhost", ENVCHECK_CODE_PARSE);
    REJECT(&o, "a..b@example.com", ENVCHECK_CODE_PARSE);
    REJECT(&o, ".a@example.com", ENVCHECK_CODE_PARSE);
    REJECT(&o, "a b@example.com", ENVCHECK_CODE_PARSE);
    REJECT(&o, "a@exa mple.com", ENVCHECK_CODE_PARSE);
}

static void host(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_HOST);
    ACCEPT(&o, "localhost");
    ACCEPT(&o, "db-1.internal");
    ACCEPT(&o, "192.168.0.1");
    ACCEPT(&o, "::1");
    ACCEPT(&o, "2001:db8::ff00:42:8329");
    ACCEPT(&o, "[::1]");
    REJECT(&o, "256.1.1.1", ENVCHECK_CODE_PARSE);
    REJECT(&o, "1.2.3", ENVCHECK_CODE_PARSE);
    REJECT(&o, "01.2.3.4", ENVCHECK_CODE_PARSE);
    REJECT(&o, "-db", ENVCHECK_CODE_PARSE);
    REJECT(&o, "db_1", ENVCHECK_CODE_PARSE);
    REJECT(&o, "a..b", ENVCHECK_CODE_PARSE);
    REJECT(&o, "::g", ENVCHECK_CODE_PARSE);
    REJECT(&o, "db:5432", ENVCHECK_CODE_PARSE);
}

static void port(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_PORT);
    ACCEPT(&o, "1");
    ACCEPT(&o, "65535");
    REJECT(&o, "0", ENVCHECK_CODE_PARSE);
    REJECT(&o, "65536", ENVCHECK_CODE_PARSE);
    REJECT(&o, "-1", ENVCHECK_CODE_PARSE);
    REJECT(&o, "+80", ENVCHECK_CODE_PARSE);
    REJECT(&o, "http", ENVCHECK_CODE_PARSE);
    o.has_min = 1;
    o.min = 1024;
    REJECT(&o, "80", ENVCHECK_CODE_RANGE);
    ACCEPT(&o, "8080");
}

static int64_t duration_of(const char *text)
{
    envcheck_var_options o = opts(ENVCHECK_TYPE_DURATION);
    ec_run run;
    ec_run_one(&run, &o, text);
    int64_t ns = -1;
    assert_int_equal(envcheck_get_duration(run.result, "V", &ns), ENVCHECK_OK);
    ec_run_free(&run);
    return ns;
}

static void duration_systemd_syntax(void **state)
{
    (void)state;
    const int64_t S = 1000000000;
    assert_true(duration_of("2min 200ms") == 120 * S + 200000000);
    assert_true(duration_of("2min200ms") == 120 * S + 200000000);
    assert_true(duration_of("30") == 30 * S);
    assert_true(duration_of("1.5s") == 1500000000);
    assert_true(duration_of("1.5") == 1500000000);
    assert_true(duration_of("5 min") == 300 * S);
    assert_true(duration_of("1h 30min") == 5400 * S);
    assert_true(duration_of("1d") == 86400 * S);
    assert_true(duration_of("1w") == 7 * 86400 * S);
    assert_true(duration_of("10us") == 10000);
    assert_true(duration_of("10usec") == 10000);
    assert_true(duration_of("3ns") == 3);
    assert_true(duration_of("2 hours 1 second") == 7201 * S);
    assert_true(duration_of("0") == 0);
    envcheck_var_options o = opts(ENVCHECK_TYPE_DURATION);
    REJECT(&o, "-1s", ENVCHECK_CODE_PARSE);
    REJECT(&o, "1x", ENVCHECK_CODE_PARSE);
    REJECT(&o, "s", ENVCHECK_CODE_PARSE);
    REJECT(&o, "1mins", ENVCHECK_CODE_PARSE);
    REJECT(&o, "PT5M", ENVCHECK_CODE_PARSE);
    REJECT(&o, "infinity", ENVCHECK_CODE_PARSE);
    REJECT(&o, "300y", ENVCHECK_CODE_RANGE);
    REJECT(&o, "99999999999999999999999", ENVCHECK_CODE_RANGE);
    o.has_min = o.has_max = 1;
    o.min = S;
    o.max = 3600 * S;
    REJECT(&o, "999ms", ENVCHECK_CODE_RANGE);
    ACCEPT(&o, "1s");
    ACCEPT(&o, "1h");
    REJECT(&o, "1h 1ns", ENVCHECK_CODE_RANGE);
    ec_run run;
    ec_run_one(&run, &o, "2h");
    assert_string_equal(envcheck_result_finding(run.result, 0)->message,
                        "\"2h\" is out of range: must be between 1s and 1h");
    ec_run_free(&run);
}

static void path_optionally_exists(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_PATH);
    ACCEPT(&o, "/no/such/place");
    o.must_exist = 1;
    ACCEPT(&o, "/");
    REJECT(&o, "/no/such/place", ENVCHECK_CODE_PATH);
}

static void list_with_element_type(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_LIST);
    o.element_type = ENVCHECK_TYPE_INT;
    o.has_max = 1;
    o.max = 100;
    ec_run run;
    ec_run_one(&run, &o, "1, 2 ,3");
    size_t n = 0;
    int64_t v = 0;
    const char *s = NULL;
    assert_int_equal(envcheck_get_list_count(run.result, "V", &n), ENVCHECK_OK);
    assert_int_equal(n, 3);
    assert_int_equal(envcheck_get_list_int(run.result, "V", 2, &v), ENVCHECK_OK);
    assert_int_equal(v, 3);
    assert_int_equal(envcheck_get_list_string(run.result, "V", 1, &s), ENVCHECK_OK);
    assert_string_equal(s, "2");
    assert_int_equal(envcheck_get_list_int(run.result, "V", 3, &v), ENVCHECK_EINVAL);
    ec_run_free(&run);
    REJECT(&o, "1,,2", ENVCHECK_CODE_PARSE);
    REJECT(&o, "1,x", ENVCHECK_CODE_PARSE);
    REJECT(&o, "1,101", ENVCHECK_CODE_RANGE);
    REJECT(&o, "1,", ENVCHECK_CODE_PARSE);
    ec_run_one(&run, &o, "1,x");
    assert_string_equal(envcheck_result_finding(run.result, 0)->message,
                        "\"1,x\" (element 2) is not a base-10 integer");
    ec_run_free(&run);

    envcheck_var_options h = opts(ENVCHECK_TYPE_LIST);
    h.element_type = ENVCHECK_TYPE_HOST;
    h.separator = ';';
    ACCEPT(&h, "a.example;b.example");
    REJECT(&h, "a.example,b.example", ENVCHECK_CODE_PARSE);
}

static void api_key(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_API_KEY);
    o.required = 1;
    o.prefix = "sk_";
    o.min_length = 10;
    o.max_length = 20;
    o.charset = "A-Za-z0-9_";
    ACCEPT(&o, "sk_abcdef123");
    REJECT(&o, "", ENVCHECK_CODE_EMPTY);
    REJECT(&o, "pk_abcdef123", ENVCHECK_CODE_PREFIX);
    REJECT(&o, "sk_abc", ENVCHECK_CODE_LENGTH);
    REJECT(&o, "sk_abcdefghijklmnopqrstu", ENVCHECK_CODE_LENGTH);
    REJECT(&o, "sk_abc-def-123", ENVCHECK_CODE_CHARSET);
    /* always sensitive, even without the flag */
    ec_run run;
    ec_run_one(&run, &o, "pk_abcdef123");
    assert_string_equal(envcheck_result_finding(run.result, 0)->message,
                        "********** does not start with the prefix \"sk_\"");
    ec_run_free(&run);
}

/* An API key is one token: whitespace and control characters (CR/LF that
 * would inject an HTTP header) are refused without a charset too. */
static void api_key_refuses_whitespace_and_control_characters(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_API_KEY);
    o.required = 1;
    ACCEPT(&o, "pk_live.abc-DEF/123+=~");
    ACCEPT(&o, "K\xc3\xa9y"); /* non-ASCII is no control character */
    const char *bad[] = { "abc def",  "abc\tdef", "abc\r\nX-Injected: 1",
                          "abc\ndef", "abc\rdef", "abc\x1b[2J",
                          "abc\x7f",  "abc\x01",  " abc",
                          "abc " };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        REJECT(&o, bad[i], ENVCHECK_CODE_CHARSET);
    ec_run run;
    ec_run_one(&run, &o, "s3cr3t-key\r\nX-Injected: 1");
    const char *msg = envcheck_result_finding(run.result, 0)->message;
    assert_null(strstr(msg, "s3cr3t"));
    assert_non_null(strstr(msg, "whitespace or a control character"));
    ec_run_free(&run);
    /* a string may still hold blanks */
    envcheck_var_options t = opts(ENVCHECK_TYPE_STRING);
    ACCEPT(&t, "two words");
}

static int schema_add_rc(const envcheck_var_options *o, char *err, size_t size)
{
    envcheck_schema *s = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    int rc = envcheck_schema_add(s, "V", o);
    snprintf(err, size, "%s", envcheck_schema_errmsg(s));
    assert_int_equal(envcheck_schema_count(s), rc == 0 ? 1 : 0);
    envcheck_schema_free(s);
    return rc;
}

static void defaults_are_validated(void **state)
{
    (void)state;
    char err[512];
    envcheck_var_options o = opts(ENVCHECK_TYPE_INT);
    o.has_min = o.has_max = 1;
    o.min = 1;
    o.max = 64;
    o.default_value = "4";
    assert_int_equal(schema_add_rc(&o, err, sizeof err), ENVCHECK_OK);
    o.default_value = "100";
    assert_int_equal(schema_add_rc(&o, err, sizeof err), ENVCHECK_ESCHEMA);
    assert_string_equal(err, "V: the default \"100\" is out of range: must be between 1 and 64");
    o.default_value = "four";
    assert_int_equal(schema_add_rc(&o, err, sizeof err), ENVCHECK_ESCHEMA);
    o.default_value = "";
    assert_int_equal(schema_add_rc(&o, err, sizeof err), ENVCHECK_ESCHEMA);

    envcheck_var_options e = opts(ENVCHECK_TYPE_ENUM);
    const char *v[] = { "a", "b" };
    e.values = v;
    e.n_values = 2;
    e.default_value = "c";
    assert_int_equal(schema_add_rc(&e, err, sizeof err), ENVCHECK_ESCHEMA);

    envcheck_var_options sec = opts(ENVCHECK_TYPE_URL);
    sec.sensitive = 1;
    sec.default_value = "nope-s3cretvalue";
    assert_int_equal(schema_add_rc(&sec, err, sizeof err), ENVCHECK_ESCHEMA);
    assert_null(strstr(err, "s3cret"));
    assert_string_equal(
        err, "V: the default ********** is not a valid URL: no scheme (scheme://host...)");

    /* a default is used when unset and when blank */
    envcheck_var_options d = opts(ENVCHECK_TYPE_INT);
    d.default_value = "7";
    ec_run run;
    ec_run_one(&run, &d, "");
    int64_t x = 0;
    assert_int_equal(envcheck_get_int(run.result, "V", &x), ENVCHECK_OK);
    assert_int_equal(x, 7);
    ec_run_free(&run);
}

static void contradictory_options_are_schema_errors(void **state)
{
    (void)state;
    char err[512];
    envcheck_var_options o = opts(ENVCHECK_TYPE_INT);
    o.required = 1;
    o.default_value = "1";
    assert_int_equal(schema_add_rc(&o, err, sizeof err), ENVCHECK_ESCHEMA);
    o = opts(ENVCHECK_TYPE_INT);
    o.has_min = o.has_max = 1;
    o.min = 5;
    o.max = 4;
    assert_int_equal(schema_add_rc(&o, err, sizeof err), ENVCHECK_ESCHEMA);
    o = opts(ENVCHECK_TYPE_ENUM);
    assert_int_equal(schema_add_rc(&o, err, sizeof err), ENVCHECK_ESCHEMA);
    o = opts(ENVCHECK_TYPE_LIST);
    o.element_type = ENVCHECK_TYPE_LIST;
    assert_int_equal(schema_add_rc(&o, err, sizeof err), ENVCHECK_EINVAL);
    o = opts(ENVCHECK_TYPE_STRING);
    o.charset = "z-a";
    assert_int_equal(schema_add_rc(&o, err, sizeof err), ENVCHECK_ESCHEMA);
    o = opts(ENVCHECK_TYPE_STRING);
    o.version = 99;
    assert_int_equal(schema_add_rc(&o, err, sizeof err), ENVCHECK_EINVAL);

    envcheck_schema *s = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_add(s, "A", NULL), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_add(s, "A", NULL), ENVCHECK_ESCHEMA);
    assert_int_equal(envcheck_schema_add(s, "1A", NULL), ENVCHECK_EINVAL);
    assert_int_equal(envcheck_schema_add(s, "A-B", NULL), ENVCHECK_EINVAL);
    assert_int_equal(envcheck_schema_add(s, "", NULL), ENVCHECK_EINVAL);
    assert_int_equal(envcheck_schema_count(s), 1);
    envcheck_schema_free(s);
}

static void getters_check_name_type_and_value(void **state)
{
    (void)state;
    envcheck_var_options o = opts(ENVCHECK_TYPE_INT);
    ec_run run;
    ec_run_one(&run, &o, "x");
    int64_t i;
    int b;
    const char *s;
    assert_int_equal(envcheck_get_int(run.result, "V", &i), ENVCHECK_ENOVALUE);
    assert_int_equal(envcheck_get_string(run.result, "V", &s), ENVCHECK_ENOVALUE);
    assert_int_equal(envcheck_get_bool(run.result, "V", &b), ENVCHECK_ETYPE);
    assert_int_equal(envcheck_get_int(run.result, "W", &i), ENVCHECK_ENOENT);
    assert_false(envcheck_result_valid(run.result));
    ec_run_free(&run);
    ec_run_one(&run, &o, NULL);
    assert_int_equal(envcheck_get_int(run.result, "V", &i), ENVCHECK_ENOVALUE);
    assert_true(envcheck_result_valid(run.result));
    ec_run_free(&run);
    ec_run_one(&run, &o, "12");
    double d;
    assert_int_equal(envcheck_get_float(run.result, "V", &d), ENVCHECK_OK);
    assert_true(d == 12.0);
    assert_int_equal(envcheck_get_string(run.result, "V", &s), ENVCHECK_OK);
    assert_string_equal(s, "12");
    ec_run_free(&run);
}

static void name_file_indirection(void **state)
{
    (void)state;
    char path[] = "/tmp/envcheck-secret-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "t0ps3cr3t\n", 10), 10);
    close(fd);

    envcheck_schema *s = NULL;
    envcheck_source *src = NULL;
    envcheck_result *r = NULL;
    envcheck_var_options o = opts(ENVCHECK_TYPE_STRING);
    o.allow_file = 1;
    o.sensitive = 1;
    o.required = 1;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_add(s, "DB_PASSWORD", &o), ENVCHECK_OK);

    char pair[128];
    snprintf(pair, sizeof pair, "DB_PASSWORD_FILE=%s", path);
    const char *pairs[] = { pair, "DB_PASSWORD=direct" };
    assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
    assert_int_equal(envcheck_source_add_array(src, pairs, 1), ENVCHECK_OK);
    assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
    const char *v = NULL;
    assert_int_equal(envcheck_get_string(r, "DB_PASSWORD", &v), ENVCHECK_OK);
    assert_string_equal(v, "t0ps3cr3t"); /* one trailing newline removed */
    envcheck_result_free(r);
    envcheck_source_free(src);

    /* both set: a conflict */
    assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
    assert_int_equal(envcheck_source_add_array(src, pairs, 2), ENVCHECK_OK);
    assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
    assert_int_equal(envcheck_result_count(r), 1);
    assert_int_equal(envcheck_result_finding(r, 0)->code, ENVCHECK_CODE_CONFLICT);
    envcheck_result_free(r);
    envcheck_source_free(src);

    /* an unreadable file: a finding naming the file */
    unlink(path);
    assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
    assert_int_equal(envcheck_source_add_array(src, pairs, 1), ENVCHECK_OK);
    assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
    assert_int_equal(envcheck_result_count(r), 1);
    const envcheck_finding *f = envcheck_result_finding(r, 0);
    assert_int_equal(f->code, ENVCHECK_CODE_FILE);
    assert_string_equal(f->name, "DB_PASSWORD");
    assert_string_equal(f->file, path);
    envcheck_result_free(r);
    envcheck_source_free(src);
    envcheck_schema_free(s);
}

/* NAME_FILE naming a FIFO (nothing writes to it: reading would block for
 * ever) or a device: a finding at once, not a hang. */
static void name_file_must_be_a_regular_file(void **state)
{
    (void)state;
    char dir[] = "/tmp/envcheck-fifo-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char fifo[64];
    snprintf(fifo, sizeof fifo, "%s/key", dir);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    const char *paths[] = { fifo, "/dev/null", "/dev/zero" };
    envcheck_var_options o = opts(ENVCHECK_TYPE_API_KEY);
    o.allow_file = 1;
    o.required = 1;
    envcheck_schema *s = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_add(s, "KEY", &o), ENVCHECK_OK);
    for (size_t i = 0; i < 3; i++) {
        char pair[128];
        snprintf(pair, sizeof pair, "KEY_FILE=%s", paths[i]);
        const char *pairs[] = { pair };
        envcheck_source *src = NULL;
        envcheck_result *r = NULL;
        assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
        assert_int_equal(envcheck_source_add_array(src, pairs, 1), ENVCHECK_OK);
        alarm(10); /* a read that blocks ends the test */
        assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
        alarm(0);
        assert_int_equal(envcheck_result_count(r), 1);
        const envcheck_finding *f = envcheck_result_finding(r, 0);
        assert_int_equal(f->code, ENVCHECK_CODE_FILE);
        assert_string_equal(f->file, paths[i]);
        if (!strstr(f->message, "not a regular file"))
            fail_msg("%s: %s", paths[i], f->message);
        envcheck_result_free(r);
        envcheck_source_free(src);
    }
    envcheck_schema_free(s);
    unlink(fifo);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(string_blank_counts_as_missing),
        cmocka_unit_test(string_length_and_charset),
        cmocka_unit_test(int_is_strict_base_10),
        cmocka_unit_test(int_range),
        cmocka_unit_test(float_is_finite),
        cmocka_unit_test(bool_systemd_spellings),
        cmocka_unit_test(enum_values_and_case),
        cmocka_unit_test(url_scheme_host_and_allowed_schemes),
        cmocka_unit_test(url_password_is_masked),
        cmocka_unit_test(email),
        cmocka_unit_test(host),
        cmocka_unit_test(port),
        cmocka_unit_test(duration_systemd_syntax),
        cmocka_unit_test(path_optionally_exists),
        cmocka_unit_test(list_with_element_type),
        cmocka_unit_test(api_key),
        cmocka_unit_test(api_key_refuses_whitespace_and_control_characters),
        cmocka_unit_test(name_file_must_be_a_regular_file),
        cmocka_unit_test(defaults_are_validated),
        cmocka_unit_test(contradictory_options_are_schema_errors),
        cmocka_unit_test(getters_check_name_type_and_value),
        cmocka_unit_test(name_file_indirection),
    };
    return cmocka_run_group_tests_name("envcheck_types", tests, NULL, NULL);
}
