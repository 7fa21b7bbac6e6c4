#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "symbol.h"

static bool is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool symbol_valid(const char *s, size_t len)
{
    if (!s || len == 0 || len > SYMBOL_MAX)
        return false;
    size_t b = 0; /* start of the body */
    const char *colon = memchr(s, ':', len);
    if (colon) {
        size_t p = (size_t)(colon - s);
        if (p < 1 || p > 3)
            return false;
        for (size_t i = 0; i < p; i++)
            if (s[i] < 'A' || s[i] > 'Z')
                return false;
        b = p + 1;
    }
    if (b >= len || !is_alnum((unsigned char)s[b]))
        return false;
    for (size_t i = b + 1; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_alnum(c))
            continue;
        if (c != '.' && c != '-')
            return false;
        if (s[i - 1] == '.' && c == '.')
            return false;
    }
    return s[len - 1] != '.' && s[len - 1] != '-';
}

int percent_encode(char *out, size_t size, const char *s, size_t len, const char *also_keep)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool keep = is_alnum(c) || (c && strchr("-._~", c)) || (c && strchr(also_keep, c));
        if (o + (keep ? 1 : 3) >= size) {
            if (size)
                out[0] = '\0';
            return -1;
        }
        if (keep) {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    out[o] = '\0';
    return (int)o;
}

int url_path_segment(char *out, size_t size, const char *s, size_t len)
{
    return percent_encode(out, size, s, len, ":");
}

void symbol_from_file_name(char *out, size_t size, const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = 0;
    for (; base[n] && !strchr("-_.", base[n]) && n + 1 < size; n++)
        out[n] = (char)toupper((unsigned char)base[n]);
    out[n] = '\0';
}
