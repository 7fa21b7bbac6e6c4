/* libFuzzer target: the JSON schema loader, then a validation of a fixed
 * environment against whatever schema loaded, and every output. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const env[] = {
        "A=1",
        "B=postgres://u:p@h:5432/d",
        "C=2min 200ms",
        "D=a,b",
        "E=yes",
        "F=x",
        "LOG_LEVEL=INFO",
        "API_WORKERS=4",
        "DATABASE_URL=postgres://db/x",
    };
    envcheck_schema *s = NULL;
    envcheck_source *src = NULL;
    envcheck_result *r = NULL;
    if (envcheck_schema_new(&s) != ENVCHECK_OK)
        return 0;
    int rc = envcheck_schema_load_json(s, (const char *)data, size);
    if (rc != ENVCHECK_OK && envcheck_schema_count(s) != 0)
        abort(); /* a failed load leaves the schema unchanged */
    if (envcheck_source_new(&src) == ENVCHECK_OK &&
        envcheck_source_add_array(src, env, sizeof env / sizeof *env) == ENVCHECK_OK &&
        envcheck_validate(&r, s, src) == ENVCHECK_OK)
        fuzz_outputs(s, r);
    envcheck_result_free(r);
    envcheck_source_free(src);
    envcheck_schema_free(s);
    return 0;
}
