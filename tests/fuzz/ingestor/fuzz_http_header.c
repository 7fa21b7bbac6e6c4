/* libFuzzer target: HTTP response header lines as libcurl hands them over
 * (examples/common/http_header.c), not NUL-terminated. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: reading past it is an ASan error. */
    char *line = malloc(size ? size : 1);
    if (!line)
        return 0;
    memcpy(line, data, size);
    char out[64];
    static const size_t sizes[] = { 1, 8, sizeof out };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        memset(out, 'x', sizeof out);
        if (http_header_value(line, size, "Retry-After", out, sizes[k])) {
            /* The value is terminated inside its buffer and carries no
             * surrounding blanks or line end. */
            size_t n = strnlen(out, sizes[k]);
            if (n == sizes[k])
                __builtin_trap();
            if (n && (out[0] == ' ' || out[0] == '\t' || out[n - 1] == '\r' || out[n - 1] == '\n' ||
                      out[n - 1] == ' '))
                __builtin_trap();
        }
    }
    free(line);
    return 0;
}
