/* libFuzzer target: the masking and escaping of text that came from
 * elsewhere (examples/common/textsafe.c). The input's first line is a
 * secret, the rest the text. Whatever the text and the output size: the
 * output is valid UTF-8, fits and does not hold the secret, and the
 * escaped text holds no control character. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "textsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool valid_utf8(const unsigned char *s)
{
    while (*s) {
        size_t n = *s < 0x80                  ? 1
                   : *s >= 0xC2 && *s <= 0xDF ? 2
                   : *s >= 0xE0 && *s <= 0xEF ? 3
                   : *s >= 0xF0 && *s <= 0xF4 ? 4
                                              : 0;
        if (n == 0)
            return false;
        for (size_t k = 1; k < n; k++)
            if ((s[k] & 0xC0) != 0x80)
                return false;
        s += n;
    }
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    char *nl = strchr(in, '\n');
    const char *secret = nl ? in : "";
    const char *text = nl ? nl + 1 : in;
    if (nl)
        *nl = '\0';
    bool plain = secret[0] != '\0';
    for (const char *p = secret; *p; p++)
        if (*p < 0x21 || *p > 0x7e || *p == '*')
            plain = false;
    const char *secrets[] = { secret };
    text_masker *m = text_masker_new(secrets, 1, "**********");
    if (!m) {
        free(in);
        return 0;
    }
    static const size_t sizes[] = { 1, 2, 7, 64, 4096 };
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        char *out = malloc(sizes[k]);
        if (!out)
            break;
        size_t full = text_mask(m, out, sizes[k], text);
        size_t n = strlen(out);
        if (n >= sizes[k] || (full < sizes[k] && n != full) || !valid_utf8((unsigned char *)out))
            __builtin_trap();
        /* A secret never shows (unless masking itself can spell it: one
         * with '*' or bytes outside printable ASCII). */
        if (plain && strstr(out, secret))
            __builtin_trap();
        char *esc = malloc(sizes[k]);
        if (esc) {
            text_escape(esc, sizes[k], out, strlen(out));
            for (const unsigned char *p = (unsigned char *)esc; *p; p++)
                if (*p < 0x20 || *p == 0x7f)
                    __builtin_trap();
            if (strlen(esc) >= sizes[k] || !valid_utf8((unsigned char *)esc))
                __builtin_trap();
            free(esc);
        }
        free(out);
    }
    text_masker_free(m);
    free(in);
    return 0;
}
