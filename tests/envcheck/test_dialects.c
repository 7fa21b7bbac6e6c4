/* The env-file dialects against the table of tests/envcheck/dialects.json,
 * whose values come from the documentation of systemd, python-dotenv and
 * Docker Compose (the dotenv column is also checked against python-dotenv by
 * test_dotenv_reference.py): every value, the lint that marks each variable
 * the dialects read differently, and the error of a quote left open.
 *   test-envcheck-dialects dialects.json */
#include "ec_test.h"

#include <cjson/cJSON.h>

static cJSON *table;

static const envcheck_dialect dialects[] = { ENVCHECK_DIALECT_SYSTEMD, ENVCHECK_DIALECT_DOTENV,
                                             ENVCHECK_DIALECT_COMPOSE };

/* The value libenvcheck keeps for a documented one: values with control
 * characters (but tab and newline) are ignored in every dialect. */
static const char *kept(const cJSON *v)
{
    if (!cJSON_IsString(v))
        return NULL;
    for (const char *s = v->valuestring; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
            return NULL;
    return v->valuestring;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void parse(const cJSON *c, envcheck_dialect d, envcheck_source **src, envcheck_result **r,
                  envcheck_schema *s)
{
    const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
    assert_int_equal(envcheck_source_new(src), ENVCHECK_OK);
    assert_int_equal(envcheck_source_add_buffer_dialect(*src, ".env", text, strlen(text), d),
                     ENVCHECK_OK);
    assert_int_equal(envcheck_validate(r, s, *src), ENVCHECK_OK);
}

static void every_dialect_reads_the_table_as_documented(void **state)
{
    (void)state;
    envcheck_schema *s = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    const cJSON *c;
    size_t checked = 0;
    cJSON_ArrayForEach(c, table)
    {
        const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
        for (size_t k = 0; k < 3; k++) {
            envcheck_dialect d = dialects[k];
            const char *dname = envcheck_dialect_name(d);
            envcheck_source *src;
            envcheck_result *r;
            parse(c, d, &src, &r, s);
            const cJSON *want;
            cJSON_ArrayForEach(want, cJSON_GetObjectItem(c, dname))
            {
                const char *v = NULL, *w = kept(want);
                int rc = envcheck_source_get(src, want->string, &v);
                if (!same(rc == ENVCHECK_OK ? v : NULL, w))
                    fail_msg("%s, %s: %s = [%s], the table says [%s]", name, dname, want->string,
                             rc == ENVCHECK_OK ? v : "(unset)", w ? w : "(unset)");
                /* A lint finding for the variable exactly when another
                 * dialect reads it differently. */
                int differs = 0;
                for (size_t o = 0; o < 3; o++) {
                    const cJSON *ov = cJSON_GetObjectItem(
                        cJSON_GetObjectItem(c, envcheck_dialect_name(dialects[o])), want->string);
                    differs |= !same(kept(ov), w);
                }
                int linted = 0;
                for (size_t i = 0; i < envcheck_result_count(r); i++) {
                    const envcheck_finding *f = envcheck_result_finding(r, i);
                    if (f->code == ENVCHECK_CODE_DIALECT && strcmp(f->name, want->string) == 0) {
                        linted = 1;
                        assert_int_equal(f->group, ENVCHECK_GROUP_LINT);
                        assert_string_equal(f->file, ".env");
                        assert_true(f->line > 0);
                    }
                }
                if (linted != differs)
                    fail_msg("%s, %s: %s %s a dialect warning", name, dname, want->string,
                             linted ? "has" : "lacks");
                checked++;
            }
            envcheck_result_free(r);
            envcheck_source_free(src);
        }
    }
    assert_true(checked > 60);
    envcheck_schema_free(s);
}

/* A quote left open ends with its line, with an error, in every dialect:
 * the lines after it are read. */
static void an_open_quote_ends_with_its_line_and_is_an_error(void **state)
{
    (void)state;
    envcheck_schema *s = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    static const char text[] = "A=1\nB=\"never closed\nC=3\nD='x\n";
    for (size_t k = 0; k < 3; k++) {
        envcheck_source *src = NULL;
        envcheck_result *r = NULL;
        assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
        assert_int_equal(
            envcheck_source_add_buffer_dialect(src, "f.env", text, sizeof text - 1, dialects[k]),
            ENVCHECK_OK);
        const char *v = NULL;
        assert_int_equal(envcheck_source_get(src, "C", &v), ENVCHECK_OK);
        assert_string_equal(v, "3");
        assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
        assert_false(envcheck_result_valid(r));
        unsigned lines[2] = { 0, 0 };
        size_t n = 0;
        for (size_t i = 0; i < envcheck_result_count(r); i++) {
            const envcheck_finding *f = envcheck_result_finding(r, i);
            if (f->code != ENVCHECK_CODE_UNTERMINATED)
                continue;
            assert_int_equal(f->group, ENVCHECK_GROUP_INVALID);
            assert_true(n < 2);
            lines[n++] = f->line;
        }
        assert_int_equal(n, 2);
        assert_true((lines[0] == 2 && lines[1] == 4) || (lines[0] == 4 && lines[1] == 2));
        envcheck_result_free(r);
        envcheck_source_free(src);
    }
    envcheck_schema_free(s);
}

static void dialect_names_round_trip(void **state)
{
    (void)state;
    for (size_t k = 0; k < 3; k++) {
        envcheck_dialect d = ENVCHECK_DIALECT_COMPOSE;
        assert_int_equal(envcheck_dialect_parse(envcheck_dialect_name(dialects[k]), &d),
                         ENVCHECK_OK);
        assert_int_equal(d, dialects[k]);
    }
    envcheck_dialect d = ENVCHECK_DIALECT_DOTENV;
    assert_int_equal(envcheck_dialect_parse("bash", &d), ENVCHECK_EINVAL);
    assert_int_equal(d, ENVCHECK_DIALECT_DOTENV);
    assert_string_equal(envcheck_dialect_name((envcheck_dialect)7), "unknown");
    envcheck_source *src = NULL;
    assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
    assert_int_equal(envcheck_source_add_buffer_dialect(src, "x", "A=1", 3, (envcheck_dialect)7),
                     ENVCHECK_EINVAL);
    assert_int_equal(envcheck_source_add_file_dialect(src, "/no/such.env", ENVCHECK_DIALECT_DOTENV),
                     ENVCHECK_EIO);
    envcheck_source_free(src);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s dialects.json\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 2;
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    table = cJSON_Parse(text);
    if (!table)
        return 2;
    unsetenv("ENVCHECK_T_UNSET_1");
    unsetenv("JUSTKEY");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_dialect_reads_the_table_as_documented),
        cmocka_unit_test(an_open_quote_ends_with_its_line_and_is_an_error),
        cmocka_unit_test(dialect_names_round_trip),
    };
    int rc = cmocka_run_group_tests_name("envcheck_dialects", tests, NULL, NULL);
    cJSON_Delete(table);
    return rc;
}
