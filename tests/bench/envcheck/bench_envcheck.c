/*
 * Benchmarks of libenvcheck (docs/design.md section 6): one JSON object per line
 * on stdout, medians of several runs, each against a same-run reference.
 *
 *  - validate 100 variables of mixed types from the process environment,
 *    against one getenv() pass over the same 100 names;
 *  - the same from a prepared source (NAME=VALUE layer);
 *  - parse a 100-line env file, against a memchr() newline scan of it.
 *
 * Latencies: ratio = reference_value / value (1.0 = as fast as the reference).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <envcheck/envcheck.h>

#define NVARS 100
#define RUNS  11

static volatile size_t sink;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return v[n / 2];
}

static char names[NVARS][32];
static char pairs[NVARS][160];

static void build(envcheck_schema *s)
{
    static const char *const levels[] = { "DEBUG", "INFO", "WARNING", "ERROR" };
    static const char *const schemes[] = { "postgresql", "postgres" };
    for (int i = 0; i < NVARS; i++) {
        envcheck_var_options o = ENVCHECK_VAR_OPTIONS_INIT;
        const char *value = NULL;
        snprintf(names[i], sizeof names[i], "BENCH_VAR_%03d", i);
        switch (i % 10) {
        case 0:
            o.type = ENVCHECK_TYPE_INT;
            o.has_min = o.has_max = 1;
            o.min = 1;
            o.max = 1000;
            value = "64";
            break;
        case 1:
            o.type = ENVCHECK_TYPE_BOOL;
            value = "yes";
            break;
        case 2:
            o.type = ENVCHECK_TYPE_DURATION;
            value = "2min 200ms";
            break;
        case 3:
            o.type = ENVCHECK_TYPE_URL;
            o.sensitive = 1;
            o.schemes = schemes;
            o.n_schemes = 2;
            value = "postgresql://app:secret@db.internal:5432/app?sslmode=require";
            break;
        case 4:
            o.type = ENVCHECK_TYPE_ENUM;
            o.values = levels;
            o.n_values = 4;
            value = "INFO";
            break;
        case 5:
            o.type = ENVCHECK_TYPE_STRING;
            o.max_length = 64;
            value = "backfill-worker";
            break;
        case 6:
            o.type = ENVCHECK_TYPE_FLOAT;
            o.has_min = 1;
            o.min_float = 0.0;
            value = "0.25";
            break;
        case 7:
            o.type = ENVCHECK_TYPE_HOST;
            value = "smtp.example.com";
            break;
        case 8:
            o.type = ENVCHECK_TYPE_LIST;
            o.element_type = ENVCHECK_TYPE_STRING;
            value = "AAPL,MSFT,GOOG,AMZN";
            break;
        default:
            o.type = ENVCHECK_TYPE_PORT;
            value = "5432";
            break;
        }
        if (envcheck_schema_add(s, names[i], &o) != ENVCHECK_OK) {
            fprintf(stderr, "schema: %s\n", envcheck_schema_errmsg(s));
            exit(1);
        }
        snprintf(pairs[i], sizeof pairs[i], "%s=%s", names[i], value);
        setenv(names[i], value, 1);
    }
}

static void emit(const char *bench, const char *kase, const char *metric, double value,
                 const char *ref, double ref_value)
{
    printf("{\"bench\":\"%s\",\"case\":\"%s\",\"metric\":\"%s\",\"value\":%.3f,"
           "\"reference\":\"%s\",\"reference_value\":%.3f,\"ratio\":%.4f}\n",
           bench, kase, metric, value, ref, ref_value, ref_value / value);
    fprintf(stderr, "%-28s %-40s %10.3f us   %-14s %10.3f us   ratio %.4f\n", bench, kase, value,
            ref, ref_value, ref_value / value);
}

static double time_getenv(int iters)
{
    double t0 = now_us();
    for (int k = 0; k < iters; k++) {
        size_t total = 0;
        for (int i = 0; i < NVARS; i++) {
            const char *v = getenv(names[i]);
            total += v ? (size_t)(unsigned char)v[0] : 0;
        }
        sink += total;
    }
    return (now_us() - t0) / iters;
}

static double time_validate(const envcheck_schema *s, const envcheck_source *src, int iters)
{
    double t0 = now_us();
    for (int k = 0; k < iters; k++) {
        envcheck_result *r = NULL;
        if (envcheck_validate(&r, s, src) != ENVCHECK_OK || !envcheck_result_valid(r)) {
            fprintf(stderr, "validation failed\n");
            exit(1);
        }
        sink += envcheck_result_count(r);
        envcheck_result_free(r);
    }
    return (now_us() - t0) / iters;
}

int main(void)
{
    envcheck_schema *s = NULL;
    envcheck_source *src = NULL;
    if (envcheck_schema_new(&s) != ENVCHECK_OK || envcheck_source_new(&src) != ENVCHECK_OK)
        return 1;
    build(s);
    const char *list[NVARS];
    for (int i = 0; i < NVARS; i++)
        list[i] = pairs[i];
    if (envcheck_source_add_array(src, list, NVARS) != ENVCHECK_OK)
        return 1;

    const int iters = 2000;
    double v[RUNS], ref[RUNS];
    time_validate(s, NULL, 200); /* warm up */
    for (int r = 0; r < RUNS; r++) {
        ref[r] = time_getenv(iters);
        v[r] = time_validate(s, NULL, iters);
    }
    double ref_env = median(ref, RUNS);
    emit("envcheck_validate", "100 variables, process environment", "us_per_validation",
         median(v, RUNS), "getenv_pass", ref_env);

    for (int r = 0; r < RUNS; r++) {
        ref[r] = time_getenv(iters);
        v[r] = time_validate(s, src, iters);
    }
    emit("envcheck_validate", "100 variables, NAME=VALUE source", "us_per_validation",
         median(v, RUNS), "getenv_pass", median(ref, RUNS));

    /* a 100-line env file */
    char file[NVARS * 180];
    size_t len = 0;
    for (int i = 0; i < NVARS; i++)
        len += (size_t)snprintf(file + len, sizeof file - len, "%s%s\n",
                                i % 10 == 5 ? "# a comment line\n" : "", pairs[i]);
    for (int r = 0; r < RUNS; r++) {
        double t0 = now_us();
        for (int k = 0; k < iters; k++) {
            size_t lines = 0;
            const char *p = file, *end = file + len;
            while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
                lines++;
                p++;
            }
            sink += lines;
        }
        ref[r] = (now_us() - t0) / iters;
        t0 = now_us();
        for (int k = 0; k < iters; k++) {
            envcheck_source *f = NULL;
            if (envcheck_source_new(&f) != ENVCHECK_OK ||
                envcheck_source_add_buffer(f, "bench.env", file, len) != ENVCHECK_OK)
                return 1;
            envcheck_source_free(f);
        }
        v[r] = (now_us() - t0) / iters;
    }
    emit("envcheck_envfile", "110 lines, 100 assignments", "us_per_file", median(v, RUNS),
         "newline_scan", median(ref, RUNS));

    envcheck_source_free(src);
    envcheck_schema_free(s);
    return 0;
}
