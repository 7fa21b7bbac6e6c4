/* The shared readers of examples/common: candle CSV (files and memory) and
 * Polygon aggregates pages, on the inputs that break readers: CR LF line
 * ends, quotes, bad numbers, missing columns, huge fields, NUL bytes; the
 * fast path of the page parser against its cJSON path on generated pages. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "candle_csv.h"
#include "new_york_time.h"
#include "page_diff.h"
#include "polygon_page.h"

#define JAN2_NY INT64_C(1704171600000) /* 2024-01-02 00:00 New York (05:00Z) */

static csv_reader *open_text(const char *text, size_t len)
{
    csv_reader *r = NULL;
    char err[256] = "";
    int rc = csv_reader_open_mem(&r, "t.csv", text, len, err, sizeof err);
    if (rc != 0)
        fail_msg("open: %s", err);
    return r;
}

/* The next row must be good; returns it. */
static dq_candle good(csv_reader *r)
{
    dq_candle c;
    char err[256] = "";
    int rc = csv_reader_next(r, &c, err, sizeof err);
    if (rc != 1)
        fail_msg("want a row, got %d: %s", rc, err);
    return c;
}

/* The next row must be refused with err starting "t.csv:LINE: PROBLEM". */
static void refused(csv_reader *r, size_t line, const char *problem)
{
    dq_candle c;
    char err[256] = "", want[256];
    assert_int_equal(csv_reader_next(r, &c, err, sizeof err), -1);
    snprintf(want, sizeof want, "t.csv:%zu: %s", line, problem);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("want \"%s\", got \"%s\"", want, err);
    assert_int_equal(csv_reader_line(r), line);
    assert_string_equal(csv_reader_problem(r), err + strlen(want) - strlen(problem));
}

static void at_end(csv_reader *r)
{
    dq_candle c;
    char err[64];
    assert_int_equal(csv_reader_next(r, &c, err, sizeof err), 0);
    csv_reader_free(r);
}

static void crlf_quotes_and_optional_columns(void **state)
{
    (void)state;
    static const char text[] = "Date,Open,High,Low,Close,Volume,vwap,trades\r\n"
                               "2024-01-02,\"10.5\", 11 ,9,10,100,,\r\n"
                               "\r\n"
                               "\"2024-01-03\",10,11,9,10,100,10.2,82132.0\r\n";
    csv_reader *r = open_text(text, sizeof text - 1);
    dq_candle c = good(r);
    assert_true(c.ts == JAN2_NY);
    assert_true(c.open == 10.5 && c.high == 11 && c.low == 9 && c.close == 10 && c.volume == 100);
    assert_true(isnan(c.vwap) && isnan(c.trades)); /* empty optional fields: absent */
    assert_int_equal(csv_reader_line(r), 2);
    assert_int_equal(csv_reader_row(r), 0);
    c = good(r);
    assert_true(c.ts == JAN2_NY + 86400000);
    assert_true(c.vwap == 10.2 && c.trades == 82132);
    assert_int_equal(csv_reader_line(r), 4); /* the blank line counted as a line, not a row */
    assert_int_equal(csv_reader_row(r), 1);
    assert_string_equal(csv_reader_symbol(r), "");
    assert_false(csv_reader_has_symbol(r));
    at_end(r);
}

static void bad_numbers_are_refused_and_reading_goes_on(void **state)
{
    (void)state;
    static const char text[] = "date,open,high,low,close,volume,trades\n"
                               "2024-01-02,10,eleven,9,10,100,1\n"
                               "2024-01-02,10,1.2.3,9,10,100,1\n"
                               "2024-01-02,10,,9,10,100,1\n"
                               "2024-01-02,10,11,9,10,100,1.5\n"
                               "2024-02-30,10,11,9,10,100,1\n"
                               "17040672OO,10,11,9,10,100,1\n"
                               "2024-01-02,10,1e999,9,10,-5,7\n";
    csv_reader *r = open_text(text, sizeof text - 1);
    refused(r, 2, "bad high \"eleven\"");
    refused(r, 3, "bad high \"1.2.3\"");
    refused(r, 4, "bad high \"\"");
    refused(r, 5, "bad trades \"1.5\"");
    refused(r, 6, "bad timestamp \"2024-02-30\"");
    refused(r, 7, "bad timestamp \"17040672OO\"");
    /* Out of range and negative values are read as they are: the
     * data-quality checks judge them, the reader does not hide them. */
    dq_candle c = good(r);
    assert_true(isinf(c.high) && c.volume == -5 && c.trades == 7);
    assert_int_equal(csv_reader_row(r), 6);
    at_end(r);
}

static void missing_columns(void **state)
{
    (void)state;
    csv_reader *r = NULL;
    char err[256];
    static const char no_volume[] = "date,open,high,low,close\n2024-01-02,1,1,1,1\n";
    assert_int_equal(
        csv_reader_open_mem(&r, "t.csv", no_volume, sizeof no_volume - 1, err, sizeof err), -1);
    assert_null(r);
    assert_non_null(strstr(err, "t.csv:1: no \"volume\" column"));
    assert_int_equal(csv_reader_open_mem(&r, "t.csv", "\n \n", 3, err, sizeof err), -1);
    assert_non_null(strstr(err, "t.csv:3: no header row"));

    static const char short_rows[] = "date,open,high,low,close,volume,symbol\n"
                                     "2024-01-02,1,1,1,1\n"
                                     "2024-01-02,1,1,1,1,1\n"    /* no symbol field */
                                     "2024-01-02,1,1,1,1,1,,\n"; /* an empty symbol */
    r = open_text(short_rows, sizeof short_rows - 1);
    refused(r, 2, "5 fields, the header has more");
    refused(r, 3, "6 fields, the header has more");
    good(r);
    assert_string_equal(csv_reader_symbol(r), "");
    at_end(r);
}

static void huge_fields(void **state)
{
    (void)state;
    size_t big = 1 << 20;
    const char *head = "date,open,high,low,close,volume,symbol\n2024-01-02,1,";
    const char *tail = ",1,1,1,AAPL\n2024-01-03,1,1,1,1,1,";
    size_t len = strlen(head) + big + strlen(tail) + big + 1;
    char *text = malloc(len + 1);
    assert_non_null(text);
    char *p = text;
    p += sprintf(p, "%s", head);
    memset(p, '9', big); /* a 1 MiB number: a double, not a bad row */
    p += big;
    p += sprintf(p, "%s", tail);
    memset(p, 'X', big); /* a 1 MiB symbol: refused, cut in the message */
    p += big;
    *p++ = '\n';

    char path[] = "/tmp/test-readers-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    for (int from_file = 0; from_file < 2; from_file++) {
        csv_reader *r = NULL;
        char err[256];
        if (from_file)
            assert_int_equal(csv_reader_open(&r, path, err, sizeof err), 0);
        else
            r = open_text(text, len);
        dq_candle c = good(r);
        assert_true(isinf(c.high));
        assert_string_equal(csv_reader_symbol(r), "AAPL");
        assert_int_equal(csv_reader_next(r, &c, err, sizeof err), -1);
        assert_non_null(strstr(err, ":3: bad symbol \"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\""));
        assert_true(strlen(err) < 120);
        at_end(r);
    }
    unlink(path);
    free(text);
}

static void dialects(void **state)
{
    (void)state;
    /* Polygon's names (t the time, T the ticker), semicolons, Unix seconds
     * and milliseconds, a quoted field with a quote inside. */
    static const char semi[] = "t;o;h;l;c;v;T\n"
                               "1704171600;1;2;1;2;10;AAPL\n"
                               "1704258000000;1;2;1;2;10;\"BRK\"\".B\"\n";
    csv_reader *r = open_text(semi, sizeof semi - 1);
    dq_candle c = good(r);
    assert_true(c.ts == JAN2_NY && c.high == 2);
    assert_string_equal(csv_reader_symbol(r), "AAPL");
    c = good(r);
    assert_true(c.ts == JAN2_NY + 86400000);
    assert_string_equal(csv_reader_symbol(r), "BRK\".B");
    assert_true(csv_reader_has_symbol(r));
    at_end(r);

    /* Tabs; times of day in New York (EST in January, EDT in July) and UTC;
     * a timestamp_ms column is milliseconds even when small. */
    static const char tabs[] = "datetime\topen\thigh\tlow\tclose\tvol\n"
                               "2024-01-02 09:30\t1\t1\t1\t1\t1\n"
                               "2024-07-02T09:30:15\t1\t1\t1\t1\t1\n"
                               "2024-01-02T14:30Z\t1\t1\t1\t1\t1\n"
                               "2024-01-02 24:00\t1\t1\t1\t1\t1\n";
    r = open_text(tabs, sizeof tabs - 1);
    assert_true(good(r).ts == JAN2_NY + (9 * 60 + 30) * 60000);
    assert_true(good(r).ts == ny_midnight_ms(2024, 7, 2) + (9 * 3600 + 30 * 60 + 15) * 1000);
    assert_true(good(r).ts == JAN2_NY + (9 * 60 + 30) * 60000);
    refused(r, 5, "bad timestamp \"2024-01-02 24:00\"");
    at_end(r);

    static const char ms[] = "timestamp_ms,o,h,l,c,v\n1000,1,1,1,1,1\n";
    r = open_text(ms, sizeof ms - 1);
    assert_true(good(r).ts == 1000);
    at_end(r);

    static const char nul[] = "date,open,high,low,close,volume\n2024-01-02,1,1\0,1,1,1\n";
    r = open_text(nul, sizeof nul - 1);
    refused(r, 2, "a NUL byte in the row");
    at_end(r);
}

static void polygon_pages(void **state)
{
    (void)state;
    polygon_page page = { 0 };
    char err[256];
    static const char body[] =
        "{\"ticker\":\"AAPL\",\"status\":\"OK\",\"next_url\":\"https://x/next\",\"results\":["
        "{\"t\":1704171600000,\"o\":1,\"h\":2,\"l\":0.5,\"c\":1.5,\"v\":10,\"vw\":1.2,\"n\":7},"
        "{\"t\":1704258000000,\"o\":1,\"h\":\"2\",\"l\":0.5,\"c\":1.5,\"v\":10,\"T\":\"GIK\"},"
        "[1,2],{\"t\":-1}]}";
    /* Every result is kept by parse_all; parse refuses the page. */
    assert_int_equal(polygon_page_parse_all(&page, body, sizeof body - 1, err, sizeof err), 0);
    assert_int_equal(page.count, 4);
    assert_true(page.bars[0].ts == JAN2_NY && page.bars[0].vwap == 1.2 && page.bars[0].trades == 7);
    assert_true(isnan(page.bars[1].high) && isnan(page.bars[1].vwap) && isnan(page.bars[1].trades));
    assert_string_equal(page.tickers[0], "");
    assert_string_equal(page.tickers[1], "GIK");
    assert_true(page.bars[2].ts == POLYGON_NO_BAR && page.bars[3].ts == POLYGON_NO_BAR);
    assert_string_equal(page.ticker, "AAPL");
    assert_string_equal(page.next_url, "https://x/next");
    assert_int_equal(polygon_page_parse(&page, body, sizeof body - 1, err, sizeof err), -1);
    assert_non_null(strstr(err, "result 2 is no bar"));
    assert_int_equal(page.count, 0);

    /* The same page object again: a saved page without status, no results. */
    assert_int_equal(polygon_page_parse(&page, "{\"ticker\":\"X\"}", 14, err, sizeof err), 0);
    assert_int_equal(page.count, 0);
    assert_null(page.next_url);
    static const char error[] = "{\"status\":\"ERROR\",\"error\":\"API Key was not provided\"}";
    assert_int_equal(polygon_page_parse(&page, error, sizeof error - 1, err, sizeof err), -1);
    assert_string_equal(err, "status \"ERROR\": API Key was not provided");
    assert_int_equal(polygon_page_parse(&page, "{\"results\":", 11, err, sizeof err), -1);
    assert_non_null(strstr(err, "not valid JSON"));
    polygon_page_free(&page);
}

/* The differential test: generated pages, Polygon's shape and odd ones,
 * read by the fast path and by the cJSON path. */
typedef struct gen {
    uint64_t x;
    unsigned rare; /* odd pages: 1 in rare places is odd */
    char *s;
    size_t n, cap;
} gen;

static unsigned pick(gen *g, unsigned n)
{
    g->x ^= g->x << 13, g->x ^= g->x >> 7, g->x ^= g->x << 17;
    return (unsigned)(g->x >> 33) % n;
}

static void put(gen *g, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(g->s + g->n, g->cap - g->n, fmt, ap);
        va_end(ap);
        if ((size_t)k < g->cap - g->n) {
            g->n += (size_t)k;
            return;
        }
        g->cap = (g->cap + (size_t)k + 1) * 2;
        g->s = realloc(g->s, g->cap);
        assert_non_null(g->s);
    }
}

static unsigned oddly(gen *g, unsigned odd)
{
    return odd && !pick(g, g->rare);
}

/* Whitespace: mostly none or JSON's, now and then what only cJSON takes. */
static void ws(gen *g, unsigned odd)
{
    static const char *const w[] = { "", "", "", " ", "\n  ", "\t", "\r\n", "\f", "\v" };
    put(g, "%s", w[pick(g, oddly(g, odd) ? 9 : 7)]);
}

static void number(gen *g, unsigned odd)
{
    static const char *const special[] = {
        "-0",
        "0",
        "0.0",
        "-0.0",
        "1e22",
        "1e23",
        "9007199254740993",
        "9007199254740992",
        "0.30000000000000004",
        "4.9e-324",
        "2.2250738585072014e-308",
        "1e400",
        "-1e400",
        "1E5",
        "1e+5",
        "1.5E-3",
        "123456789012345678901234567890",
        "0.000000000000000000000000123",
        "17976931348623157e292",
        "1.7976931348623157e308",
        "1234567890123456789",
        "18446744073709551616",
        "1.00000000000000000000001",
        "1704171600000.0",
        "1704171600000.5",
        "9e15",
        "8999999999999999",
        "-5",
        "0e999999",
        "00000000000000000000000000000000000000000000000000000000000000001",
        "1.0000000000000000000000000000000000000000000000000000000000000000001",
        /* Outside JSON's grammar: cJSON reads some, refuses others. */
        "01",
        "1.",
        ".5",
        "+1",
        "-",
        "1e",
        "1e+",
        "--1",
        "1.5.5",
        "0x10",
        "1-2",
        "Infinity",
        "NaN",
    };
    unsigned k = pick(g, oddly(g, odd) ? 10 : 8);
    if (k == 9) {
        put(g, "%s", special[pick(g, sizeof special / sizeof *special)]);
    } else if (k == 8) {
        put(g, "%s", special[pick(g, 31)]);
    } else if (k < 3) {
        put(g, "%u", pick(g, 1000000));
    } else if (k < 6) {
        put(g, "%s%u.%0*u", pick(g, 8) ? "" : "-", pick(g, 1000), (int)(1 + pick(g, 4)),
            pick(g, 10000));
    } else if (k == 6) {
        put(g, "%.*g", (int)(1 + pick(g, 17)), (double)pick(g, 1u << 30) / (1 + pick(g, 1000)));
    } else {
        put(g, "%u%se%s%u", 1 + pick(g, 99999), pick(g, 2) ? ".25" : "",
            pick(g, 2)   ? "-"
            : pick(g, 2) ? "+"
                         : "",
            pick(g, 40));
    }
}

static void string(gen *g, unsigned odd)
{
    static const char *const s[] = {
        "AAPL",
        "",
        "X:BTCUSD",
        "https://api.polygon.io/v2/aggs/n?cursor=YQ",
        "a much longer text than any ticker field holds, and then more",
        "caf\xc3\xa9",
        "A\\u0042",
        "a\\/b",
        "q\\\"q",
        "t\\u0000x",
        "ctl\x01",
        "bad\\x"
    };
    put(g, "\"%s\"", s[pick(g, oddly(g, odd) ? 12 : 6)]);
}

static void value(gen *g, unsigned odd, unsigned kind)
{
    unsigned k = kind < 10 && !oddly(g, odd) ? kind : pick(g, 9);
    switch (k) {
    case 0:
        number(g, odd);
        break;
    case 1:
        string(g, odd);
        break;
    case 2:
        put(g, "null");
        break;
    case 3:
        put(g, pick(g, 2) ? "true" : "false");
        break;
    case 4:
        put(g, pick(g, 2) ? "{}" : "{\"a\":[1,{\"b\":2}]}");
        break;
    case 5:
        put(g, pick(g, 2) ? "[]" : "[1,\"x\"]");
        break;
    case 6:
        put(g, "%s", pick(g, 2) ? "nul" : "truex");
        break;
    default:
        number(g, odd);
        break;
    }
}

/* Members: one of names, in any order, some missing or twice; kinds[i] the
 * value's usual kind (0 number, 1 string). */
static void members(gen *g, unsigned odd, const char *const *names, const unsigned *kinds,
                    unsigned n, void (*special)(gen *, unsigned, unsigned))
{
    unsigned order[16];
    for (unsigned i = 0; i < n; i++)
        order[i] = i;
    if (odd && pick(g, 2))
        for (unsigned i = n - 1; i > 0; i--) {
            unsigned j = pick(g, i + 1), t = order[i];
            order[i] = order[j], order[j] = t;
        }
    put(g, "{");
    unsigned first = 1;
    for (unsigned i = 0; i < n + (oddly(g, odd) ? pick(g, 3) : 0); i++) {
        unsigned m = i < n ? order[i] : pick(g, n);
        if (odd && !pick(g, 8))
            continue;
        put(g, "%s", first ? "" : ",");
        ws(g, odd);
        first = 0;
        if (oddly(g, odd) && !pick(g, 4))
            put(g, "\"\\u0074\"");
        else
            put(g, "\"%s\"", names[m]);
        ws(g, odd);
        put(g, ":");
        ws(g, odd);
        if (special && kinds[m] == 9)
            special(g, odd, m);
        else
            value(g, odd, kinds[m]);
        ws(g, odd);
    }
    put(g, "}");
}

/* The root's "results" (m 4), or its "status" (m 5): mostly OK. */
static void results(gen *g, unsigned odd, unsigned m)
{
    if (m == 5) {
        static const char *const st[] = { "\"OK\"", "\"OK\"", "\"DELAYED\"", "\"ERROR\"", "\"\"" };
        if (odd && !pick(g, 4))
            value(g, odd, 10);
        else
            put(g, "%s", st[pick(g, 5)]);
        return;
    }
    static const char *const bar[] = { "v", "vw", "o", "c", "h", "l", "t", "n", "T", "x" };
    static const unsigned kinds[] = { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1 };
    unsigned k = odd ? pick(g, 12) : 0;
    if (k == 1 || k == 2) {
        value(g, odd, 10);
        return;
    }
    unsigned n = pick(g, 30);
    put(g, "[");
    for (unsigned i = 0; i < n; i++) {
        put(g, "%s", i ? "," : "");
        ws(g, odd);
        if (odd && !pick(g, 15)) {
            value(g, odd, 10);
        } else if (!pick(g, 4)) {
            put(g,
                "{\"v\":%u,\"vw\":%u.%04u,\"o\":%u.%02u,\"c\":%u.%04u,\"h\":%u.%02u,\"l\":%u.%03u,"
                "\"t\":%u%09u,\"n\":%u}",
                pick(g, 100000), pick(g, 500), pick(g, 10000), pick(g, 500), pick(g, 100),
                pick(g, 500), pick(g, 10000), pick(g, 500), pick(g, 100), pick(g, 500),
                pick(g, 1000), 1700 + pick(g, 10), pick(g, 1000000000), pick(g, 1000));
        } else {
            members(g, odd, bar, kinds, odd ? 10 : 8, NULL);
        }
        ws(g, odd);
    }
    put(g, "]");
}

static void one_page(gen *g, unsigned odd)
{
    static const char *const root[] = { "ticker",   "queryCount", "resultsCount", "adjusted",
                                        "results",  "status",     "request_id",   "count",
                                        "next_url", "error",      "message" };
    static const unsigned kinds[] = { 1, 0, 0, 3, 9, 9, 1, 0, 1, 1, 1 };
    static const unsigned rare[] = { 3, 30, 300, 3000 };
    g->n = 0;
    g->rare = rare[pick(g, 4)];
    if (odd && !pick(g, 30))
        put(g, "\xef\xbb\xbf");
    ws(g, odd);
    members(g, odd, root, kinds, odd ? 11 : 9, results);
    if (odd && !pick(g, 10))
        put(g, "%s", pick(g, 2) ? " trailing" : "}");
    if (odd && !pick(g, 8))
        g->n = pick(g, (unsigned)g->n + 1);
}

static void fast_path_reads_pages_as_cjson_does(void **state)
{
    (void)state;
    polygon_page fast = { 0 }, slow = { 0 }, all = { 0 };
    gen g = { .x = 0x2545F4914F6CDD1DULL };
    char why[1024], err[256];
    unsigned taken[2] = { 0, 0 }, pages[2] = { 0, 0 };
    for (unsigned i = 0; i < 20000; i++) {
        unsigned odd = i % 4 != 0;
        one_page(&g, odd);
        int rc = page_diff(&fast, &slow, g.s, g.n, why, sizeof why);
        if (rc < 0)
            fail_msg("page %u differs: %s\n%.*s", i, why, (int)(g.n < 2000 ? g.n : 2000), g.s);
        pages[odd]++;
        taken[odd] += rc == 0;

        /* What the ingestor calls: the fast path, or cJSON for what it leaves. */
        int ra = polygon_page_parse_all(&all, g.s, g.n, err, sizeof err);
        assert_int_equal(ra, polygon_page_parse_all_cjson(&slow, g.s, g.n, why, sizeof why));
        assert_int_equal(all.count, slow.count);
    }
    /* Polygon's own shape never leaves the fast path; odd pages exercise both. */
    assert_int_equal(taken[0], pages[0]);
    assert_true(taken[1] > pages[1] / 4 && taken[1] < pages[1]);
    polygon_page_free(&fast);
    polygon_page_free(&slow);
    polygon_page_free(&all);
    free(g.s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crlf_quotes_and_optional_columns),
        cmocka_unit_test(bad_numbers_are_refused_and_reading_goes_on),
        cmocka_unit_test(missing_columns),
        cmocka_unit_test(huge_fields),
        cmocka_unit_test(dialects),
        cmocka_unit_test(polygon_pages),
        cmocka_unit_test(fast_path_reads_pages_as_cjson_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
