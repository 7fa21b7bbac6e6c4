/* Shared by the libenvcheck fuzz targets: a writer that discards output
 * but touches every byte (so that ASan sees any read past the end). */
#ifndef FUZZ_ENVCHECK_COMMON_H
#define FUZZ_ENVCHECK_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <envcheck/envcheck.h>

static inline int fuzz_sink(const char *data, size_t len, void *userdata)
{
    unsigned *sum = userdata;
    for (size_t i = 0; i < len; i++)
        *sum += (unsigned char)data[i];
    return 0;
}

static inline void fuzz_outputs(const envcheck_schema *s, const envcheck_result *r)
{
    unsigned sum = 0;
    if (r) {
        if (envcheck_result_write_report(r, ENVCHECK_FORMAT_TEXT, fuzz_sink, &sum) ||
            envcheck_result_write_report(r, ENVCHECK_FORMAT_JSON, fuzz_sink, &sum) ||
            envcheck_result_write_dump(r, ENVCHECK_FORMAT_TEXT, fuzz_sink, &sum) ||
            envcheck_result_write_dump(r, ENVCHECK_FORMAT_JSON, fuzz_sink, &sum))
            abort();
        for (size_t i = 0; i < envcheck_result_count(r); i++)
            if (!envcheck_result_finding(r, i)->message)
                abort();
    }
    if (envcheck_schema_write_usage(s, ENVCHECK_FORMAT_TEXT, fuzz_sink, &sum) ||
        envcheck_schema_write_usage(s, ENVCHECK_FORMAT_JSON, fuzz_sink, &sum))
        abort();
}

#endif
