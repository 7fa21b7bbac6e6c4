/* libFuzzer target: the checks on URLs a server or the environment hands
 * the ingestor (examples/common/urlcheck.c): next_url against the origin,
 * the password of a connection URL, plain http to another host. The input
 * is "ORIGIN\nURL" (no newline: the whole input is the URL). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "urlcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *nl = strchr(text, '\n');
    const char *origin = "https://api.polygon.io", *url = text;
    if (nl) {
        *nl = '\0';
        origin = text;
        url = nl + 1;
    }
    /* A URL that stays on the origin starts with it, then a path or nothing. */
    if (url_same_origin(url, origin)) {
        size_t n = strlen(origin);
        if (n == 0 || strncmp(url, origin, n) != 0 || (url[n] != '\0' && url[n] != '/'))
            __builtin_trap();
    }
    /* The password found is part of the URL, between ':' and '@', and fits. */
    static const size_t sizes[] = { 1, 4, 256 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        char pw[256];
        memset(pw, 'x', sizeof pw);
        bool found = url_password(url, pw, sizes[k]);
        size_t n = strnlen(pw, sizes[k]);
        if (n == sizes[k] || (!found && n != 0))
            __builtin_trap();
        if (found && (!strstr(url, pw) || strchr(pw, '@')))
            __builtin_trap();
    }
    /* Only http:// URLs can be plain http to another host. */
    if (url_plain_http_remote(url) && strncasecmp(url, "http://", 7) != 0)
        __builtin_trap();
    free(text);
    return 0;
}
