/* libFuzzer target: the env-file parser of each dialect (the first byte
 * picks it), then a validation against a small schema and every output. */
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char schema_json[] =
        "{\"variables\":[{\"name\":\"A\",\"type\":\"int\"},{\"name\":\"B\",\"type\":\"url\","
        "\"sensitive\":true},{\"name\":\"C\",\"type\":\"duration\"},{\"name\":\"D\","
        "\"type\":\"list\",\"element\":\"host\"},{\"name\":\"E\",\"type\":\"bool\"}],"
        "\"rules\":[{\"less_than\":[\"A\",\"F\"]},{\"all_or_none\":[\"B\",\"G\"]}]}";
    envcheck_schema *s = NULL;
    envcheck_source *src = NULL;
    envcheck_result *r = NULL;
    if (envcheck_schema_new(&s) != ENVCHECK_OK)
        return 0;
    if (envcheck_schema_load_json(s, schema_json, strlen(schema_json)) != ENVCHECK_OK)
        abort();
    envcheck_dialect dialect =
        size > 0 ? (envcheck_dialect)(data[0] % 3) : ENVCHECK_DIALECT_SYSTEMD;
    if (size > 0) {
        data++;
        size--;
    }
    if (envcheck_source_new(&src) == ENVCHECK_OK &&
        envcheck_source_add_buffer_dialect(src, "fuzz.env", (const char *)data, size, dialect) ==
            ENVCHECK_OK &&
        envcheck_validate(&r, s, src) == ENVCHECK_OK) {
        const char *v;
        if (envcheck_source_get(src, "A", &v) == ENVCHECK_OK && !v)
            abort();
        fuzz_outputs(s, r);
    }
    envcheck_result_free(r);
    envcheck_source_free(src);
    envcheck_schema_free(s);
    return 0;
}
