/*
 * Page parsing: polygon_page_parse over one Polygon aggregates page of 50,000
 * minute bars, built the way the API writes it (keys in its order, prices with
 * up to four decimals, a next_url). Two references over the same bytes in the
 * same run: a plain read pass (memchr for every '}', the floor of looking at
 * each byte once) and cJSON_Parse alone (building the JSON tree, without
 * turning it into bars). The three sides run RUNS times, interleaved, the
 * order rotating from run to run; figures are medians.
 *   bench-polygon-page          BENCH_QUICK=1: 5,000 bars, fewer repetitions
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "bench.h"
#include "polygon_page.h"

#define RUNS 5

/* A page of n minute bars from 2024-01-02 14:30 UTC on, as Polygon writes it. */
static char *build_page(int n, size_t *len)
{
    size_t cap = (size_t)n * 160 + 1024, off = 0;
    char *s = malloc(cap);
    if (!s)
        return NULL;
    off += (size_t)snprintf(s + off, cap - off,
                            "{\"ticker\":\"AAPL\",\"queryCount\":%d,\"resultsCount\":%d,"
                            "\"adjusted\":true,\"results\":[",
                            n, n);
    unsigned long long x = 0x9E3779B97F4A7C15ULL;
    double price = 185.0;
    long long t = 1704205800000LL;
    for (int i = 0; i < n; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        price += ((double)(x % 2001) - 1000.0) / 10000.0;
        double o = price, c = price + (double)(x % 97) / 1000.0 - 0.048;
        double h = (o > c ? o : c) + (double)(x % 31) / 1000.0;
        double l = (o < c ? o : c) - (double)(x % 29) / 1000.0;
        off += (size_t)snprintf(
            s + off, cap - off,
            "%s{\"v\":%llu,\"vw\":%.4f,\"o\":%.2f,\"c\":%.4f,\"h\":%.2f,\"l\":%.3f,"
            "\"t\":%lld,\"n\":%llu}",
            i ? "," : "", 100 + x % 90000, (o + c + h + l) / 4, o, c, h, l, t, 1 + x % 900);
        t += 60000;
    }
    off +=
        (size_t)snprintf(s + off, cap - off,
                         "],\"status\":\"OK\",\"request_id\":\"6a7e466379af0a71039d60cc78e72282\","
                         "\"count\":%d,\"next_url\":\"https://api.polygon.io/v2/aggs/ticker/AAPL/"
                         "range/1/minute/1704205800000/1735689599999?cursor=bGltaXQ9NTAwMDA\"}",
                         n);
    *len = off;
    return s;
}

static volatile size_t sink;

int main(void)
{
    int quick = getenv("BENCH_QUICK") != NULL;
    int bars = quick ? 5000 : 50000, reps = quick ? 4 : 20;
    size_t len;
    char *body = build_page(bars, &len);
    if (!body)
        return 1;
    polygon_page page = { 0 };
    char err[256];
    if (polygon_page_parse(&page, body, len, err, sizeof err) != 0 || page.count != (size_t)bars) {
        fprintf(stderr, "bench-polygon-page: the page does not parse: %s\n", err);
        return 1;
    }
    double parse[RUNS], pass[RUNS], tree[RUNS];
    for (int r = 0; r < RUNS; r++) {
        for (int k = 0; k < 3; k++) {
            int side = (k + r) % 3;
            double t0 = bench_now(CLOCK_MONOTONIC);
            for (int i = 0; i < reps; i++) {
                if (side == 0) {
                    if (polygon_page_parse(&page, body, len, err, sizeof err) != 0)
                        return 1;
                    sink += page.count;
                } else if (side == 1) {
                    size_t n = 0;
                    for (const char *p = body, *end = body + len;
                         (p = memchr(p, '}', (size_t)(end - p))) != NULL; p++)
                        n++;
                    sink += n;
                } else {
                    cJSON *root = cJSON_ParseWithLength(body, len);
                    if (!root)
                        return 1;
                    sink += (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(root, "results"));
                    cJSON_Delete(root);
                }
            }
            double pages_per_s = reps / (bench_now(CLOCK_MONOTONIC) - t0);
            (side == 0 ? parse : side == 1 ? pass : tree)[r] = pages_per_s;
        }
    }
    double p = median(parse, RUNS), q = median(pass, RUNS), c = median(tree, RUNS);
    char cs[64];
    snprintf(cs, sizeof cs, "one page of %d minute bars, %zu bytes", bars, len);
    printf("{\"bench\":\"polygon_page_parse\",\"case\":\"%s\",\"metric\":\"pages_per_s\","
           "\"value\":%.4g,\"reference\":\"read_pass\",\"reference_value\":%.4g,"
           "\"ratio\":%.4f,\"runs\":%d}\n",
           cs, p, q, p / q, RUNS);
    printf("{\"bench\":\"polygon_page_parse\",\"case\":\"%s\",\"metric\":\"bars_per_s\","
           "\"value\":%.4g,\"reference\":\"read_pass\",\"reference_value\":%.4g,"
           "\"ratio\":%.4f,\"runs\":%d}\n",
           cs, p * bars, q * bars, p / q, RUNS);
    printf("{\"bench\":\"polygon_page_parse\",\"case\":\"%s\",\"metric\":\"pages_per_s\","
           "\"value\":%.4g,\"reference\":\"cjson_parse\",\"reference_value\":%.4g,"
           "\"ratio\":%.4f,\"runs\":%d}\n",
           cs, p, c, p / c, RUNS);
    fprintf(stderr,
            "polygon_page_parse %.1f pages/s (%.3g bars/s); read pass %.1f; cJSON_Parse %.1f\n", p,
            p * bars, q, c);
    polygon_page_free(&page);
    free(body);
    return 0;
}
