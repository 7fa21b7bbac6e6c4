/* libFuzzer target: ticker symbols, URL path segments and terminal
 * escaping (examples/common/symbol.c). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "symbol.h"
#include "textsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~' || c == ':';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    bool ok = symbol_valid(s, size);
    if (ok) {
        /* a symbol is short, printable, without '/', '?', '#', '%' or blanks */
        if (size > SYMBOL_MAX || memchr(s, '\0', size))
            __builtin_trap();
        for (size_t i = 0; i < size; i++)
            if (!is_unreserved(data[i]) || data[i] == '_' || data[i] == '~')
                __builtin_trap();
    }
    char seg[3 * 256 + 1];
    size_t n = size < 256 ? size : 256;
    int len = url_path_segment(seg, sizeof seg, s, n);
    if (len < 0 || (size_t)len != strlen(seg))
        __builtin_trap();
    /* only unreserved bytes and %XX; decoding gives the input back */
    size_t o = 0;
    for (int i = 0; i < len; o++) {
        unsigned char c = (unsigned char)seg[i];
        unsigned char v;
        if (c == '%') {
            if (i + 2 >= len)
                __builtin_trap();
            unsigned hi = (unsigned char)seg[i + 1], lo = (unsigned char)seg[i + 2];
            hi = hi <= '9' ? hi - '0' : hi - 'A' + 10;
            lo = lo <= '9' ? lo - '0' : lo - 'A' + 10;
            if (hi > 15 || lo > 15)
                __builtin_trap();
            v = (unsigned char)(hi << 4 | lo);
            if (is_unreserved(v))
                __builtin_trap(); /* encoded only when it had to be */
            i += 3;
        } else {
            if (!is_unreserved(c))
                __builtin_trap();
            v = c;
            i++;
        }
        if (o >= n || v != data[o])
            __builtin_trap();
    }
    if (o != n)
        __builtin_trap();
    if (ok && (size_t)len != size)
        __builtin_trap(); /* a symbol needs no encoding */

    /* terminal text: no control byte left, and nothing past the buffer */
    char out[128];
    size_t e = text_escape(out, sizeof out, s, size);
    if (e != strlen(out) || e >= sizeof out)
        __builtin_trap();
    for (size_t i = 0; i < e; i++)
        if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
            __builtin_trap();
    return 0;
}
