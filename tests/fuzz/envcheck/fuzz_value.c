/* libFuzzer target: one value (up to the first NUL) validated as every
 * type at once — URL parsing and masking, durations, numbers, hosts, e-mail,
 * lists — and every output; a sensitive value's finding never depends on it. */
#include <stdio.h>
#include <string.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The sensitive S's finding must be the mask and a fixed reason: nothing
 * that depends on the value (unless the value is part of the reason text,
 * which is then masked as well). */
static int message_is_fixed(const char *m)
{
    static const char *const reasons[] = {
        "is not a valid URL: it contains whitespace or control characters",
        "is not a valid URL: no scheme",
        "is not a valid URL: no scheme (scheme://host...)",
        "is not a valid URL: no host",
        "is not a valid URL: unclosed [ in the host",
        "is not a valid URL: text after the IPv6 address",
        "is not a valid URL: the host is not a host name or IP address",
        "is not a valid URL: the port is not a number from 1 to 65535",
        "has a scheme that is not allowed (allowed: https)",
    };
    size_t n = strlen(ENVCHECK_MASK);
    if (strncmp(m, ENVCHECK_MASK " ", n + 1) != 0)
        return 0;
    for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
        if (strcmp(m + n + 1, reasons[i]) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = { "string", "int",  "float",    "bool", "url",    "email",
                                         "host",   "port", "duration", "path", "api_key" };
    static const char schema_head[] = "{\"variables\":[";
    char json[4096];
    size_t used = 0;
    used += (size_t)snprintf(json + used, sizeof json - used, "%s", schema_head);
    for (size_t i = 0; i < sizeof types / sizeof *types; i++)
        used += (size_t)snprintf(json + used, sizeof json - used,
                                 "{\"name\":\"V%zu\",\"type\":\"%s\"},", i, types[i]);
    used += (size_t)snprintf(json + used, sizeof json - used,
                             "{\"name\":\"L\",\"type\":\"list\",\"element\":\"url\"},"
                             "{\"name\":\"S\",\"type\":\"url\",\"sensitive\":true,"
                             "\"schemes\":[\"https\"]}],"
                             "\"rules\":[{\"less_than\":[\"V1\",\"V2\"]},"
                             "{\"if\":{\"name\":\"V3\",\"is\":\"true\"},\"require\":[\"X\"]}]}");
    envcheck_schema *s = NULL;
    envcheck_source *src = NULL;
    envcheck_result *r = NULL;
    if (envcheck_schema_new(&s) != ENVCHECK_OK)
        return 0;
    if (envcheck_schema_load_json(s, json, used) != ENVCHECK_OK)
        abort();
    size_t n = strnlen((const char *)data, size);
    char *value = malloc(n + 1);
    size_t count = sizeof types / sizeof *types + 2;
    char **pairs = calloc(count, sizeof *pairs);
    if (!value || !pairs)
        goto out;
    memcpy(value, data, n);
    value[n] = '\0';
    for (size_t i = 0; i < count; i++) {
        pairs[i] = malloc(n + 8);
        if (!pairs[i])
            goto out;
        if (i < count - 2)
            snprintf(pairs[i], n + 8, "V%zu=%s", i, value);
        else
            snprintf(pairs[i], n + 8, "%s=%s", i == count - 2 ? "L" : "S", value);
    }
    if (envcheck_source_new(&src) == ENVCHECK_OK &&
        envcheck_source_add_array(src, (const char *const *)pairs, count) == ENVCHECK_OK &&
        envcheck_validate(&r, s, src) == ENVCHECK_OK) {
        fuzz_outputs(s, r);
        int64_t i64;
        const char *str;
        if (envcheck_get_duration(r, "V8", &i64) == ENVCHECK_OK && i64 < 0)
            abort();
        if (envcheck_get_string(r, "V4", &str) == ENVCHECK_OK && !str)
            abort();
        for (size_t i = 0; i < envcheck_result_count(r); i++) {
            const envcheck_finding *f = envcheck_result_finding(r, i);
            if (strcmp(f->name, "S") != 0 || f->code == ENVCHECK_CODE_EMPTY ||
                message_is_fixed(f->message))
                continue;
            /* not a fixed text: only when the value itself was part of the
             * reason and got masked there too; it must not show */
            if (strncmp(f->message, ENVCHECK_MASK, strlen(ENVCHECK_MASK)) != 0 || n < 4 ||
                strchr(value, '*') || strstr(f->message, value))
                abort();
        }
    }
out:
    if (pairs)
        for (size_t i = 0; i < count; i++)
            free(pairs[i]);
    free(pairs);
    free(value);
    envcheck_result_free(r);
    envcheck_source_free(src);
    envcheck_schema_free(s);
    return 0;
}
