/*
 * The library wipes its copies of values before freeing them. This test
 * links a build of libenvcheck's sources in which free and realloc go
 * through the checks below (wipecheck.h): every block the library gives
 * back is searched, over its whole allocated size, for any 5 characters of
 * the test's secrets.
 */
#include <malloc.h>

#include "ec_test.h"

static const char *const secrets[] = {
    "Qx7vRz9Kp2Lm",         /* DATABASE_URL's password (sensitive URL), environment */
    "sk_live_Zt4Wn8Yb6Hc3", /* API_KEY (api_key: always sensitive), environment */
    "Pj5Ka1Dr8Lw3",         /* TOKEN from an env file */
    "Hv2Nq6Bx9Ce4",         /* PASSWORD from a systemd-style env file, quoted */
    "Ry4Ec7Hu2Xo5",         /* a sensitive default and example in the schema */
    "Gf6Ts3Mz0Vb8",         /* a sensitive default added through the C API */
    "Mc9Ux2Ql5Jh7",         /* a value that is not sensitive: sources wipe every value */
};
enum { NSECRETS = sizeof secrets / sizeof *secrets, SUBSTR = 5 };

static struct {
    size_t checked;   /* blocks searched */
    size_t dirty;     /* blocks given back with a secret in them */
    int first_secret; /* the secret found in the first such block */
    char first[160];  /* its bytes, non-printables as '.' */
} seen;

static void look_for_secrets(const unsigned char *p, size_t n)
{
    seen.checked++;
    for (int k = 0; k < NSECRETS; k++) {
        const char *sec = secrets[k];
        size_t len = strlen(sec);
        for (size_t i = 0; i + SUBSTR <= len; i++) {
            for (size_t at = 0; at + SUBSTR <= n; at++) {
                if (memcmp(p + at, sec + i, SUBSTR) != 0)
                    continue;
                if (seen.dirty++ == 0) {
                    seen.first_secret = k;
                    size_t m = n < sizeof seen.first - 1 ? n : sizeof seen.first - 1;
                    for (size_t c = 0; c < m; c++)
                        seen.first[c] = p[c] >= 32 && p[c] < 127 ? (char)p[c] : '.';
                    seen.first[m] = '\0';
                }
                return;
            }
        }
    }
}

void ec_test_checked_free(void *p);
void *ec_test_checked_realloc(void *p, size_t n);

void ec_test_checked_free(void *p)
{
    if (p)
        look_for_secrets(p, malloc_usable_size(p));
    free(p);
}

void *ec_test_checked_realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    void *q = malloc(n ? n : 1);
    if (!q)
        return NULL;
    size_t old = malloc_usable_size(p);
    memcpy(q, p, old < n ? old : n);
    ec_test_checked_free(p);
    return q;
}

static void copies_of_values_are_wiped_before_free(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof seen);
    static const char j[] =
        "{\"variables\":["
        "{\"name\":\"DATABASE_URL\",\"type\":\"url\",\"required\":true,\"sensitive\":true,"
        "\"schemes\":[\"postgresql\"]},"
        "{\"name\":\"API_KEY\",\"type\":\"api_key\",\"prefix\":\"pk_\"},"
        "{\"name\":\"TOKEN\",\"type\":\"string\",\"sensitive\":true,\"charset\":\"a-z\"},"
        "{\"name\":\"PASSWORD\",\"type\":\"string\",\"sensitive\":true},"
        "{\"name\":\"FALLBACK\",\"type\":\"string\",\"sensitive\":true,"
        "\"default\":\"Ry4Ec7Hu2Xo5\",\"example\":\"Ry4Ec7Hu2Xo5\"},"
        "{\"name\":\"PLAIN\",\"type\":\"string\"}]}";
    envcheck_schema *s = NULL;
    assert_int_equal(envcheck_schema_new(&s), ENVCHECK_OK);
    assert_int_equal(envcheck_schema_load_json(s, j, strlen(j)), ENVCHECK_OK);
    envcheck_var_options o = ENVCHECK_VAR_OPTIONS_INIT;
    o.sensitive = 1;
    o.default_value = "Gf6Ts3Mz0Vb8";
    assert_int_equal(envcheck_schema_add(s, "SECOND_FALLBACK", &o), ENVCHECK_OK);

    envcheck_source *src = NULL;
    assert_int_equal(envcheck_source_new(&src), ENVCHECK_OK);
    const char file[] = "TOKEN=Pj5Ka1Dr8Lw3\nTOKEN=Pj5Ka1Dr8Lw3\n";
    assert_int_equal(envcheck_source_add_buffer(src, "app.env", file, strlen(file)), ENVCHECK_OK);
    const char unit[] = "PASSWORD=\"Hv2Nq6Bx9Ce4\"\n";
    assert_int_equal(envcheck_source_add_buffer_dialect(src, "app.conf", unit, strlen(unit),
                                                        ENVCHECK_DIALECT_SYSTEMD),
                     ENVCHECK_OK);
    const char *env[] = { "DATABASE_URL=mysql://admin:Qx7vRz9Kp2Lm@db/app",
                          "API_KEY=sk_live_Zt4Wn8Yb6Hc3", "PLAIN=Mc9Ux2Ql5Jh7" };
    assert_int_equal(envcheck_source_add_array(src, env, 3), ENVCHECK_OK);
    envcheck_result *r = NULL;
    assert_int_equal(envcheck_validate(&r, s, src), ENVCHECK_OK);
    assert_true(envcheck_result_count(r) >= 3); /* the URL, the key and the token */

    /* the values are there to be wiped: the getters hand them out */
    const char *v = NULL;
    assert_int_equal(envcheck_get_string(r, "PASSWORD", &v), ENVCHECK_OK);
    assert_string_equal(v, "Hv2Nq6Bx9Ce4");
    assert_int_equal(envcheck_get_string(r, "SECOND_FALLBACK", &v), ENVCHECK_OK);
    assert_string_equal(v, "Gf6Ts3Mz0Vb8");
    char *out[4] = { ec_report(r, ENVCHECK_FORMAT_TEXT), ec_report(r, ENVCHECK_FORMAT_JSON),
                     ec_dump(r, ENVCHECK_FORMAT_TEXT), ec_dump(r, ENVCHECK_FORMAT_JSON) };
    for (size_t i = 0; i < 4; i++)
        free(out[i]);
    envcheck_result_free(r);
    envcheck_source_free(src);
    envcheck_schema_free(s);

    print_message("blocks searched when freed: %zu, with a secret: %zu\n", seen.checked,
                  seen.dirty);
    if (seen.dirty)
        fail_msg("%zu freed block(s) still held a secret; the first (secret %d): \"%s\"",
                 seen.dirty, seen.first_secret, seen.first);
    assert_true(seen.checked > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(copies_of_values_are_wiped_before_free),
    };
    return cmocka_run_group_tests_name("envcheck_wipe", tests, NULL, NULL);
}
