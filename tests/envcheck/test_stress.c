/* Many threads validating against one schema and one source at once (the
 * documented thread-safety contract), and reading one result at once. Run
 * under ThreadSanitizer by scripts/test (suite "stress"). */
#include "ec_test.h"

#include <pthread.h>

#define THREADS 4
#define ROUNDS  200

typedef struct shared {
    const envcheck_schema *s;
    const envcheck_source *src;
    const envcheck_result *r;
    int failures;
} shared;

static int writer(const char *d, size_t n, void *u)
{
    size_t *total = u;
    (void)d;
    *total += n;
    return 0;
}

static void *worker(void *arg)
{
    shared *sh = arg;
    int failures = 0;
    for (int i = 0; i < ROUNDS; i++) {
        envcheck_result *r = NULL;
        if (envcheck_validate(&r, sh->s, sh->src) != ENVCHECK_OK) {
            failures++;
            continue;
        }
        int64_t w = 0;
        size_t total = 0;
        if (envcheck_result_count(r) != 2 || envcheck_get_int(r, "API_WORKERS", &w) != 0 ||
            w != 8 || envcheck_result_write_report(r, ENVCHECK_FORMAT_JSON, writer, &total) != 0 ||
            total == 0)
            failures++;
        envcheck_result_free(r);
        /* the shared result, read by every thread */
        const char *v = NULL;
        if (envcheck_get_string(sh->r, "DATABASE_URL", &v) != 0 || strcmp(v, "postgres://db/x"))
            failures++;
    }
    return (void *)(intptr_t)failures;
}

static void concurrent_validation(void **state)
{
    (void)state;
    static const char j[] =
        "{\"variables\":[{\"name\":\"DATABASE_URL\",\"type\":\"url\",\"required\":true,"
        "\"sensitive\":true},{\"name\":\"API_WORKERS\",\"type\":\"int\",\"min\":1,\"max\":64},"
        "{\"name\":\"LOG_LEVEL\",\"type\":\"enum\",\"values\":[\"INFO\"]}],"
        "\"rules\":[{\"all_or_none\":[\"A\",\"B\"]}]}";
    envcheck_schema *s = NULL;
    envcheck_source *src = NULL;
    envcheck_result *r = NULL;
    assert_int_equal(envcheck_schema_new(&s), 0);
    assert_int_equal(envcheck_schema_load_json(s, j, strlen(j)), 0);
    const char *env[] = { "DATABASE_URL=postgres://db/x", "API_WORKERS=8", "LOG_LEVEL=DEBUG",
                          "A=1" };
    assert_int_equal(envcheck_source_new(&src), 0);
    assert_int_equal(envcheck_source_add_array(src, env, 4), 0);
    assert_int_equal(envcheck_validate(&r, s, src), 0);
    shared sh = { s, src, r, 0 };
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, &sh), 0);
    int failures = 0;
    for (int i = 0; i < THREADS; i++) {
        void *ret = NULL;
        assert_int_equal(pthread_join(t[i], &ret), 0);
        failures += (int)(intptr_t)ret;
    }
    assert_int_equal(failures, 0);
    envcheck_result_free(r);
    envcheck_source_free(src);
    envcheck_schema_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(concurrent_validation),
    };
    return cmocka_run_group_tests_name("envcheck_stress", tests, NULL, NULL);
}
