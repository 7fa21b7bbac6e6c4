/* libFuzzer target: polygon-replay's aggregates request (path, query
 * arguments, cursor, base64url, date bounds), examples/polygon-replay/request.c.
 * Input: the path, then the limit, sort, adjusted and cursor arguments,
 * separated by newlines; a missing line is an absent argument. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *field[5] = { NULL, NULL, NULL, NULL, NULL };
    char *p = text;
    for (int i = 0; i < 5 && p; i++) {
        field[i] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
    }
    replay_args args = { field[1], field[2], field[3], field[4] };
    query q;
    const char *bad = replay_parse_query(field[0] ? field[0] : "", &args, &q);
    if (!bad) {
        /* an accepted request can be served: a ticker, a positive limit
         * within Polygon's, a multiplier, NUL-terminated texts */
        if (!q.ticker[0] || q.limit < 1 || q.limit > 50000 || q.multiplier < 1 ||
            strlen(q.ticker) >= sizeof q.ticker || strlen(q.from_text) >= sizeof q.from_text ||
            strlen(q.to_text) >= sizeof q.to_text)
            __builtin_trap();
    }

    /* base64url: what is encoded decodes back */
    char plain[128], enc[256], dec[128];
    size_t n = strlen(text) < sizeof plain - 1 ? strlen(text) : sizeof plain - 1;
    memcpy(plain, text, n);
    plain[n] = '\0';
    replay_b64_encode(plain, enc, sizeof enc);
    if (!replay_b64_decode(enc, dec, sizeof dec) || strcmp(dec, plain) != 0)
        __builtin_trap();
    char any[64];
    (void)replay_b64_decode(text, any, sizeof any);
    free(text);
    return 0;
}
