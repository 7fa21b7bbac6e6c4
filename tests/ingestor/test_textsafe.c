/*
 * Safe text (examples/common/textsafe.c) and the URL checks
 * (examples/common/urlcheck.c): a secret masked in each of its forms and
 * when cut, UTF-8 repaired and cut on characters, controls escaped; next_url
 * on the origin, a connection URL's password, plain http to another host.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "textsafe.h"
#include "urlcheck.h"

#define KEY "Zq7\"PolyKEY_ABCDE98765"

static text_masker *masker(void)
{
    const char *secrets[] = { KEY, NULL, "", "pw-1234", "s3cr%40t" };
    text_masker *m = text_masker_new(secrets, 5, "**");
    assert_non_null(m);
    return m;
}

static void every_form_of_a_secret_is_masked(void **state)
{
    (void)state;
    text_masker *m = masker();
    char out[256];
    text_mask(m, out, sizeof out, "a " KEY " b");
    assert_string_equal(out, "a ** b");
    text_mask(m, out, sizeof out, "{\"error\":\"Zq7\\\"PolyKEY_ABCDE98765\"}");
    assert_string_equal(out, "{\"error\":\"**\"}");
    text_mask(m, out, sizeof out, "GET /x?apiKey=Zq7%22PolyKEY_ABCDE98765&y=1");
    assert_string_equal(out, "GET /x?apiKey=**&y=1");
    text_mask(m, out, sizeof out, "pw-1234pw-1234");
    assert_string_equal(out, "****");
    /* A connection URL's password as written, and as the server sees it. */
    text_mask(m, out, sizeof out, "url s3cr%40t, password s3cr@t");
    assert_string_equal(out, "url **, password **");
    text_masker_free(m);
    text_masker_free(NULL);
}

static void a_secret_cut_before_it_arrived_is_masked_from_four_bytes(void **state)
{
    (void)state;
    text_masker *m = masker();
    char out[256];
    text_mask(m, out, sizeof out, "cut at xxxZq7\"PolyKE");
    assert_string_equal(out, "cut at xxx**");
    text_mask(m, out, sizeof out, "ends with Zq7\"");
    assert_string_equal(out, "ends with **");
    text_mask(m, out, sizeof out, "ends with Zq7"); /* three bytes: kept */
    assert_string_equal(out, "ends with Zq7");
    /* The cut comes after masking: no part of the key before it. */
    char small[12];
    size_t full = text_mask(m, small, sizeof small, "xxxxxxxx" KEY);
    assert_string_equal(small, "xxxxxxxx**");
    assert_int_equal(full, 10);
    full = text_mask(m, small, sizeof small, "xxxxxxxxxx" KEY "yy");
    assert_string_equal(small, "xxxxxxxxxx");
    assert_int_equal(full, 14);
    text_masker_free(m);
}

static void text_becomes_valid_utf8_and_is_cut_on_characters(void **state)
{
    (void)state;
    char out[64];
    text_mask(NULL, out, sizeof out,
              "bad \xff\xfe \xc3( \xe2\x82 \xed\xa0\x80 \xf0\x8f\xbf\xbf end\xc3");
    assert_string_equal(out, "bad \xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD( \xEF\xBF\xBD\xEF\xBF\xBD "
                             "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD \xEF\xBF\xBD\xEF\xBF\xBD"
                             "\xEF\xBF\xBD\xEF\xBF\xBD end\xEF\xBF\xBD");
    char eur[9];
    size_t full = text_mask(NULL, eur, sizeof eur, "xx\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac");
    assert_string_equal(eur, "xx\xe2\x82\xac\xe2\x82\xac");
    assert_int_equal(full, 11);
    text_mask(NULL, eur, 1, "abc");
    assert_string_equal(eur, "");
}

#define ESCAPE(out, size, lit) text_escape(out, size, lit, sizeof lit - 1)

static void controls_are_escaped(void **state)
{
    (void)state;
    char out[128];
    ESCAPE(out, sizeof out, "a\nb\r\tc\x1b[31m\x7f\\ \xff \xe2\x82\xac");
    assert_string_equal(out, "a\\nb\\r\\tc\\e[31m\\x7f\\\\ \\xff \xe2\x82\xac");
    for (const char *p = out; *p; p++)
        assert_true((unsigned char)*p >= 0x20 && *p != 0x7f);
    /* a forged log line stays on its line */
    ESCAPE(out, sizeof out, "ok\nFORGED 2024 ERROR\x01");
    assert_string_equal(out, "ok\\nFORGED 2024 ERROR\\x01");
    /* a NUL inside is shown, not an end */
    assert_int_equal(ESCAPE(out, sizeof out, "a\0b"), 6);
    assert_string_equal(out, "a\\x00b");
    /* cut on a whole escape, and on a whole character */
    char small[6];
    assert_int_equal(ESCAPE(small, sizeof small, "abcd\n"), 4);
    assert_string_equal(small, "abcd");
    ESCAPE(small, sizeof small, "abc\xe2\x82\xac");
    assert_string_equal(small, "abc");
}

static void next_url_stays_on_its_origin(void **state)
{
    (void)state;
    assert_true(url_same_origin("http://h:1/v2/x?cursor=a", "http://h:1"));
    assert_true(url_same_origin("http://h:1", "http://h:1"));
    assert_false(url_same_origin("http://h:10/v2", "http://h:1"));
    assert_false(url_same_origin("http://h:1@evil/v2", "http://h:1"));
    assert_false(url_same_origin("https://api.polygon.io.evil/v2", "https://api.polygon.io"));
    assert_false(url_same_origin("http://api.polygon.io/v2", "https://api.polygon.io"));
    assert_false(url_same_origin("/v2", ""));
}

static void the_password_of_a_connection_url(void **state)
{
    (void)state;
    char pw[16];
    assert_true(url_password("postgresql://u:s3cr%40t@h:5432/db", pw, sizeof pw));
    assert_string_equal(pw, "s3cr%40t");
    assert_false(url_password("postgresql://u@h/db?password=x", pw, sizeof pw));
    assert_string_equal(pw, "");
    assert_false(url_password("postgresql://u:@h/db", pw, sizeof pw));
    assert_false(url_password("postgresql://h/db@x", pw, sizeof pw));
    assert_false(url_password("no scheme", pw, sizeof pw));
}

static void plain_http_to_another_host(void **state)
{
    (void)state;
    assert_true(url_plain_http_remote("http://api.example.com"));
    assert_true(url_plain_http_remote("http://127.0.0.1.evil.example/"));
    assert_true(url_plain_http_remote("HTTP://10.0.0.1:8080"));
    assert_false(url_plain_http_remote("https://api.polygon.io"));
    assert_false(url_plain_http_remote("http://127.0.0.1:8080"));
    assert_false(url_plain_http_remote("http://localhost/x"));
    assert_false(url_plain_http_remote("http://[::1]:80"));
    assert_false(url_plain_http_remote("http://user@127.0.0.2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_form_of_a_secret_is_masked),
        cmocka_unit_test(a_secret_cut_before_it_arrived_is_masked_from_four_bytes),
        cmocka_unit_test(text_becomes_valid_utf8_and_is_cut_on_characters),
        cmocka_unit_test(controls_are_escaped),
        cmocka_unit_test(next_url_stays_on_its_origin),
        cmocka_unit_test(the_password_of_a_connection_url),
        cmocka_unit_test(plain_http_to_another_host),
    };
    return cmocka_run_group_tests_name("textsafe", tests, NULL, NULL);
}
