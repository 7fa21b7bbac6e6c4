/* Helpers shared by the libenvcheck tests: one variable "V", one value. */
#ifndef EC_TEST_H
#define EC_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <envcheck/envcheck.h>

typedef struct ec_run {
    envcheck_schema *schema;
    envcheck_source *source;
    envcheck_result *result;
} ec_run;

/* Validate V=value (value NULL: V unset) against a schema with V only. */
static inline void ec_run_one(ec_run *run, const envcheck_var_options *o, const char *value)
{
    memset(run, 0, sizeof *run);
    assert_int_equal(envcheck_schema_new(&run->schema), ENVCHECK_OK);
    int rc = envcheck_schema_add(run->schema, "V", o);
    if (rc != ENVCHECK_OK)
        fail_msg("schema_add: %s: %s", envcheck_strerror(rc), envcheck_schema_errmsg(run->schema));
    assert_int_equal(envcheck_source_new(&run->source), ENVCHECK_OK);
    if (value) {
        size_t n = strlen(value) + 3;
        char *pair = malloc(n);
        assert_non_null(pair);
        snprintf(pair, n, "V=%s", value);
        const char *pairs[1] = { pair };
        assert_int_equal(envcheck_source_add_array(run->source, pairs, 1), ENVCHECK_OK);
        free(pair);
    }
    assert_int_equal(envcheck_validate(&run->result, run->schema, run->source), ENVCHECK_OK);
}

static inline void ec_run_free(ec_run *run)
{
    envcheck_result_free(run->result);
    envcheck_source_free(run->source);
    envcheck_schema_free(run->schema);
    memset(run, 0, sizeof *run);
}

/* -1 when V=value is valid, else the code of the only finding. */
static inline int ec_code(const envcheck_var_options *o, const char *value)
{
    ec_run run;
    ec_run_one(&run, o, value);
    int code = -1;
    size_t n = envcheck_result_count(run.result);
    if (n) {
        if (n != 1)
            fail_msg("%zu findings for one value", n);
        code = (int)envcheck_result_finding(run.result, 0)->code;
    }
    ec_run_free(&run);
    return code;
}

#define ACCEPT(o, v)    assert_int_equal(ec_code((o), (v)), -1)
#define REJECT(o, v, c) assert_int_equal(ec_code((o), (v)), (c))

/* A writer that appends to a growing NUL-terminated string. */
typedef struct ec_sink {
    char *data;
    size_t len;
} ec_sink;

static inline int ec_sink_write(const char *data, size_t len, void *userdata)
{
    ec_sink *s = userdata;
    char *more = realloc(s->data, s->len + len + 1);
    if (!more)
        return -1;
    memcpy(more + s->len, data, len);
    s->data = more;
    s->len += len;
    s->data[s->len] = '\0';
    return 0;
}

/* The report and the dump of r in format f, as one string (malloc'ed). */
static inline char *ec_report(const envcheck_result *r, envcheck_format f)
{
    ec_sink s = { NULL, 0 };
    assert_int_equal(envcheck_result_write_report(r, f, ec_sink_write, &s), ENVCHECK_OK);
    return s.data;
}

static inline char *ec_dump(const envcheck_result *r, envcheck_format f)
{
    ec_sink s = { NULL, 0 };
    assert_int_equal(envcheck_result_write_dump(r, f, ec_sink_write, &s), ENVCHECK_OK);
    return s.data;
}

#endif
