/* Env files by systemd's EnvironmentFile= rules, their lint, and layering. */
#include "ec_test.h"

#include <unistd.h>

static const char text[] = "# a comment\n"                        /* 1 */
                           "   ; another comment\n"               /* 2 */
                           "A=1\n"                                /* 3 */
                           "  B =  two words  \n"                 /* 4 */
                           "C=val # not a comment\n"              /* 5 */
                           "D=\"a \\\"q\\\" \\\\ \\$HOME \\n\"\n" /* 6 */
                           "E='lit $X \\n \"'\n"                  /* 7 */
                           "F=abc\"def ghi\"'jkl'\n"              /* 8 */
                           "G=one\\\n"                            /* 9 */
                           "two\n"                                /* 10 */
                           "H=\"x\\\n"                            /* 11 */
                           "y\"\n"                                /* 12 */
                           "I=\"l1\n"                             /* 13 */
                           "l2\"\n"                               /* 14 */
                           "J=$A ${B}\n"                          /* 15 */
                           "K=a\\ b\\\\c\n"                       /* 16 */
                           "L=x\\ \n"                             /* 17 */
                           "M=\n"                                 /* 18 */
                           "N=\"\"\n"                             /* 19 */
                           "O=crlf\r\n"                           /* 20 */
                           "export P=1\n"                         /* 21 */
                           "q=lower\n"                            /* 22 */
                           "JUSTKEY\n"                            /* 23 */
                           "A=2\n"                                /* 24 */
                           "1X=1\n"                               /* 25 */
                           "MY-KEY=1\n"                           /* 26 */
                           "S=a\x01hidden\n"                      /* 27 */
                           "=nokey\n"                             /* 28 */
                           "U = \"quoted\"  tail  \n"             /* 29 */
                           "T=end";                               /* 30 */

static envcheck_source *parse(const char *data, size_t len)
{
    envcheck_source *src = NULL;
    assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
    assert_int_equal(envcheck_source_add_buffer(src, ".env", data, len), ENVCHECK_OK);
    return src;
}

static void want_value(const envcheck_source *src, const char *name, const char *want)
{
    const char *v = NULL;
    int rc = envcheck_source_get(src, name, &v);
    if (rc != ENVCHECK_OK)
        fail_msg("%s not set", name);
    assert_string_equal(v, want);
}

static void want_unset(const envcheck_source *src, const char *name)
{
    const char *v = NULL;
    assert_int_equal(envcheck_source_get(src, name, &v), ENVCHECK_ENOENT);
}

static void values_follow_systemd(void **state)
{
    (void)state;
    envcheck_source *src = parse(text, sizeof text - 1);
    want_value(src, "A", "2");
    want_value(src, "B", "two words");
    want_value(src, "C", "val # not a comment");
    want_value(src, "D", "a \"q\" \\ $HOME \\n");
    want_value(src, "E", "lit $X \\n \"");
    want_value(src, "F", "abc\"def ghi\"'jkl'"); /* quotes only open a value */
    want_value(src, "G", "onetwo");
    want_value(src, "H", "xy");
    want_value(src, "I", "l1\nl2");
    want_value(src, "J", "$A ${B}");
    want_value(src, "K", "a b\\c");
    want_value(src, "L", "x ");
    want_value(src, "M", "");
    want_value(src, "N", "");
    want_value(src, "O", "crlf");
    want_value(src, "q", "lower");
    want_value(src, "U", "quotedtail");
    want_value(src, "T", "end");
    want_unset(src, "P");
    want_unset(src, "export P");
    want_unset(src, "JUSTKEY");
    want_unset(src, "S");
    want_unset(src, "1X");
    want_unset(src, "MY-KEY");
    envcheck_source_free(src);
}

static void lint_findings_carry_file_and_line(void **state)
{
    (void)state;
    envcheck_source *src = parse(text, sizeof text - 1);
    envcheck_schema *s = NULL;
    envcheck_result *r = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
    static const struct {
        unsigned line;
        envcheck_code code;
        const char *name;
    } want[] = {
        { 21, ENVCHECK_CODE_INVALID_NAME, "" },   { 22, ENVCHECK_CODE_LOWERCASE_KEY, "q" },
        { 23, ENVCHECK_CODE_NO_EQUALS, "" },      { 24, ENVCHECK_CODE_DUPLICATE_KEY, "A" },
        { 25, ENVCHECK_CODE_INVALID_NAME, "" },   { 26, ENVCHECK_CODE_INVALID_NAME, "" },
        { 27, ENVCHECK_CODE_INVALID_VALUE, "S" }, { 28, ENVCHECK_CODE_INVALID_NAME, "" },
    };
    size_t n = sizeof want / sizeof *want;
    /* Besides these, the variables other dialects read differently get
     * their own lint (tests/envcheck/test_dialects.c); leave them aside. */
    const envcheck_finding *own[16];
    size_t n_own = 0, n_dialect = 0;
    for (size_t i = 0; i < envcheck_result_count(r); i++) {
        const envcheck_finding *f = envcheck_result_finding(r, i);
        if (f->code == ENVCHECK_CODE_DIALECT)
            n_dialect++;
        else if (n_own < 16)
            own[n_own++] = f;
    }
    assert_int_equal(n_own, n);
    assert_true(n_dialect > 0);
    assert_int_equal(envcheck_result_count_group(r, ENVCHECK_GROUP_LINT), n + n_dialect);
    assert_true(envcheck_result_valid(r)); /* lint is a warning */
    for (size_t i = 0; i < n; i++) {
        const envcheck_finding *f = own[i];
        assert_int_equal(f->group, ENVCHECK_GROUP_LINT);
        assert_string_equal(f->file, ".env");
        assert_int_equal(f->line, want[i].line);
        assert_int_equal(f->code, want[i].code);
        assert_string_equal(f->name, want[i].name);
        assert_null(strstr(f->message, "hidden"));
    }
    assert_string_equal(own[0]->message,
                        "invalid variable name: \"export\" is not supported, the assignment is "
                        "ignored");
    assert_string_equal(own[3]->message,
                        "the key is also assigned on line 3; the last assignment wins");
    envcheck_result_free(r);
    envcheck_schema_free(s);
    envcheck_source_free(src);
}

static size_t lint_count(const char *data, envcheck_code *first)
{
    envcheck_source *src = parse(data, strlen(data));
    envcheck_schema *s = NULL;
    envcheck_result *r = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
    size_t n = 0; /* the findings of this dialect, not the comparison's */
    for (size_t i = 0; i < envcheck_result_count(r); i++) {
        const envcheck_finding *f = envcheck_result_finding(r, i);
        if (f->code == ENVCHECK_CODE_DIALECT)
            continue;
        if (n++ == 0 && first)
            *first = f->code;
    }
    envcheck_result_free(r);
    envcheck_schema_free(s);
    envcheck_source_free(src);
    return n;
}

static void end_of_file_cases(void **state)
{
    (void)state;
    envcheck_code c = ENVCHECK_CODE_MISSING;
    envcheck_source *src = parse("R=\"open", 7);
    want_value(src, "R", "open");
    envcheck_source_free(src);
    assert_int_equal(lint_count("R=\"open", &c), 1);
    assert_int_equal(c, ENVCHECK_CODE_UNTERMINATED);
    assert_int_equal(lint_count("R='open\n", &c), 1);
    assert_int_equal(c, ENVCHECK_CODE_UNTERMINATED);
    assert_int_equal(lint_count("KEYONLY", &c), 1);
    assert_int_equal(c, ENVCHECK_CODE_NO_EQUALS);
    assert_int_equal(lint_count("", NULL), 0);
    assert_int_equal(lint_count("\n\n# only comments\\\n", NULL), 0);
    src = parse("V=trail\\", 8);
    want_value(src, "V", "trail");
    envcheck_source_free(src);
    src = parse("W=", 2);
    want_value(src, "W", "");
    envcheck_source_free(src);
    /* a NUL byte ends the file */
    src = parse("X=1\nY=2\0Z=3\n", 12);
    want_value(src, "X", "1");
    want_unset(src, "Z");
    envcheck_source_free(src);
    /* invalid UTF-8 in a value */
    assert_int_equal(lint_count("X=\xff\xfe\n", &c), 1);
    assert_int_equal(c, ENVCHECK_CODE_INVALID_VALUE);
    /* a comment ending in a backslash does not continue (systemd >= 254) */
    src = parse("#c\\\nA=1\n", 8);
    want_value(src, "A", "1");
    envcheck_source_free(src);
}

static void layers_later_wins_and_files_read(void **state)
{
    (void)state;
    char path[] = "/tmp/envcheck-envfile-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char body[] = "API_WORKERS=8\nLOG_LEVEL=DEBUG\n";
    assert_int_equal(write(fd, body, sizeof body - 1), (ssize_t)(sizeof body - 1));
    close(fd);
    envcheck_source *src = NULL;
    assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
    assert_int_equal(envcheck_source_add_file(src, path), ENVCHECK_OK);
    const char *env[] = { "API_WORKERS=16" };
    assert_int_equal(envcheck_source_add_array(src, env, 1), ENVCHECK_OK);
    want_value(src, "API_WORKERS", "16");
    want_value(src, "LOG_LEVEL", "DEBUG");
    assert_int_equal(envcheck_source_add_file(src, "/no/such/file.env"), ENVCHECK_EIO);
    assert_string_equal(envcheck_source_errmsg(src),
                        "/no/such/file.env: No such file or directory");
    const char *bad[] = { "NOEQUALS" };
    assert_int_equal(envcheck_source_add_array(src, bad, 1), ENVCHECK_EINVAL);

    /* the dump names where each value came from */
    envcheck_schema *s = NULL;
    envcheck_result *r = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_add(s, "LOG_LEVEL", NULL), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_add(s, "API_WORKERS", NULL), ENVCHECK_OK);
    assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
    envcheck_source_free(src); /* the result outlives its source */
    ec_sink out = { NULL, 0 };
    assert_int_equal(envcheck_result_write_dump(r, ENVCHECK_FORMAT_JSON, ec_sink_write, &out), 0);
    char want[512];
    snprintf(want, sizeof want,
             "{\"LOG_LEVEL\":{\"value\":\"DEBUG\",\"state\":\"set\",\"source\":\"%s:2\","
             "\"sensitive\":false},\"API_WORKERS\":{\"value\":\"16\",\"state\":\"set\","
             "\"source\":\"array\",\"sensitive\":false}}",
             path);
    assert_string_equal(out.data, want);
    free(out.data);
    envcheck_result_free(r);
    envcheck_schema_free(s);
    unlink(path);
}

static void process_environment(void **state)
{
    (void)state;
    setenv("ENVCHECK_TEST_PORT", "8080", 1);
    envcheck_schema *s = NULL;
    envcheck_result *r = NULL;
    envcheck_var_options o = ENVCHECK_VAR_OPTIONS_INIT;
    o.type = ENVCHECK_TYPE_PORT;
    o.required = 1;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_add(s, "ENVCHECK_TEST_PORT", &o), ENVCHECK_OK);
    assert_int_equal(envcheck_validate(&r, s, NULL), ENVCHECK_OK);
    int64_t port = 0;
    assert_int_equal(envcheck_get_int(r, "ENVCHECK_TEST_PORT", &port), ENVCHECK_OK);
    assert_int_equal(port, 8080);
    envcheck_result_free(r);
    /* a snapshot layer sees it too */
    envcheck_source *src = NULL;
    assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
    assert_int_equal(envcheck_source_add_environ(src), ENVCHECK_OK);
    unsetenv("ENVCHECK_TEST_PORT");
    assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
    assert_int_equal(envcheck_get_int(r, "ENVCHECK_TEST_PORT", &port), ENVCHECK_OK);
    envcheck_result_free(r);
    envcheck_source_free(src);
    assert_int_equal(envcheck_validate(&r, s, NULL), ENVCHECK_OK);
    assert_int_equal(envcheck_result_count(r), 1);
    assert_int_equal(envcheck_result_finding(r, 0)->code, ENVCHECK_CODE_MISSING);
    envcheck_result_free(r);
    envcheck_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(values_follow_systemd),
        cmocka_unit_test(lint_findings_carry_file_and_line),
        cmocka_unit_test(end_of_file_cases),
        cmocka_unit_test(layers_later_wins_and_files_read),
        cmocka_unit_test(process_environment),
    };
    return cmocka_run_group_tests_name("envcheck_envfile", tests, NULL, NULL);
}
