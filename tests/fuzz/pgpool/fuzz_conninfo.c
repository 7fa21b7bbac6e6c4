/*
 * libFuzzer target for libpgpool's connection-string handling: password
 * masking of conninfo strings, URIs and free text (pgpool_mask_conninfo and
 * the redaction of messages). Properties checked on every input:
 *  - the output is NUL-terminated, its length is what was returned, and a
 *    truncated call returns the same length;
 *  - a password planted in the input as "password=<pw>" or as the
 *    password of "postgresql://user:<pw>@host" never appears in the output.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *cstr(const uint8_t *d, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memcpy(s, d, n);
    s[n] = '\0';
    return s;
}

static void check_masked(const char *in, const char *secret)
{
    size_t need = pgpool__redact(NULL, 0, in, secret);
    char *out = malloc(need + 1);
    if (!out)
        abort();
    size_t got = pgpool__redact(out, need + 1, in, secret);
    if (got != need || strlen(out) != need)
        abort();
    if (secret && *secret && !strchr(secret, '*') && strstr(out, secret))
        abort();
    char small[7];
    if (pgpool__redact(small, sizeof small, in, secret) != need || strlen(small) > 6)
        abort();
    free(out);
}

/* A secret that the masking rules must hide whatever surrounds it: no
 * blanks, quotes, '@', '&' or '#' (those end a value). */
static void plant(const char *text, const char *pw)
{
    size_t n = strlen(text) + strlen(pw) + 64;
    char *s = malloc(n);
    if (!s)
        abort();
    snprintf(s, n, "%s password=%s", text, pw);
    char *out = malloc(pgpool_mask_conninfo(NULL, 0, s) + 1);
    if (!out)
        abort();
    pgpool_mask_conninfo(out, pgpool_mask_conninfo(NULL, 0, s) + 1, s);
    if (strstr(out, pw) && !strstr(text, pw))
        abort();
    free(out);
    snprintf(s, n, "postgresql://u:%s@h/db %s", pw, text);
    out = malloc(pgpool_mask_conninfo(NULL, 0, s) + 1);
    if (!out)
        abort();
    pgpool_mask_conninfo(out, pgpool_mask_conninfo(NULL, 0, s) + 1, s);
    if (strstr(out, pw) && !strstr(text, pw))
        abort();
    free(out);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* input: TEXT [ '\0' SECRET ] */
    const uint8_t *z = memchr(data, 0, size);
    size_t tlen = z ? (size_t)(z - data) : size;
    char *text = cstr(data, tlen);
    char *secret = z ? cstr(z + 1, size - tlen - 1) : NULL;
    check_masked(text, NULL);
    check_masked(text, secret);
    if (secret && strlen(secret) >= 6) {
        bool plain = true;
        for (const char *c = secret; *c; c++)
            if (*c <= ' ' || *c == '\'' || *c == '"' || *c == '@' || *c == '&' || *c == '#' ||
                *c == '\\' || *c == '*' || *c == 0x7f)
                plain = false;
        /* the planted frame itself must not contain it */
        if (plain && !strstr(" password=postgresql://u:@h/db ", secret))
            plant(text, secret);
    }
    free(text);
    free(secret);
    return 0;
}
