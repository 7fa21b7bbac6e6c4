#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "symbol.h"
#include "textsafe.h"

struct text_masker {
    char **forms; /* every form of every secret, longest first */
    size_t nforms;
    char *mask;
};

void text_wipe_free(char *s)
{
    if (!s)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = 0;
    free(s);
}

static char *json_form(const char *s)
{
    char *out = malloc(strlen(s) * 6 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20) {
            o += (size_t)sprintf(out + o, "\\u%04x", c);
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    return out;
}

static char *url_form(const char *s)
{
    size_t n = strlen(s) * 3 + 1;
    char *out = malloc(n);
    if (out)
        percent_encode(out, n, s, n / 3, "");
    return out;
}

/* s with its %XX escapes decoded (a password as a connection URL writes it). */
static char *decoded_form(const char *s)
{
    char *out = malloc(strlen(s) + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (; *s; s++) {
        unsigned v;
        if (s[0] == '%' && s[1] && s[2] && sscanf(s + 1, "%2x", &v) == 1 && v != 0 &&
            strchr("0123456789abcdefABCDEF", s[1]) && strchr("0123456789abcdefABCDEF", s[2])) {
            out[o++] = (char)v;
            s += 2;
        } else {
            out[o++] = *s;
        }
    }
    out[o] = '\0';
    return out;
}

/* Add form (taken) unless it is there already; it is freed on failure. */
static int add_form(text_masker *m, char *form)
{
    if (!form)
        return -1;
    for (size_t k = 0; k < m->nforms; k++) {
        if (strcmp(m->forms[k], form) == 0) {
            text_wipe_free(form);
            return 0;
        }
    }
    size_t n = strlen(form), at = m->nforms;
    while (at > 0 && strlen(m->forms[at - 1]) < n) {
        m->forms[at] = m->forms[at - 1];
        at--;
    }
    m->forms[at] = form;
    m->nforms++;
    return 0;
}

text_masker *text_masker_new(const char *const *secrets, size_t n, const char *mask)
{
    text_masker *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->forms = calloc(4 * n + 1, sizeof *m->forms);
    m->mask = strdup(mask);
    bool ok = m->forms && m->mask;
    for (size_t i = 0; ok && i < n; i++) {
        if (!secrets[i] || !secrets[i][0])
            continue;
        ok = add_form(m, strdup(secrets[i])) == 0 && add_form(m, json_form(secrets[i])) == 0 &&
             add_form(m, url_form(secrets[i])) == 0 && add_form(m, decoded_form(secrets[i])) == 0;
    }
    if (!ok) {
        text_masker_free(m);
        return NULL;
    }
    return m;
}

void text_masker_free(text_masker *m)
{
    if (!m)
        return;
    for (size_t k = 0; k < m->nforms; k++)
        text_wipe_free(m->forms[k]);
    free(m->forms);
    free(m->mask);
    free(m);
}

/* The length of the valid UTF-8 character at s (n bytes left), 0 if none. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    return len;
}

/* The result so far: every byte counted, whole pieces kept while they fit. */
typedef struct sink {
    char *out;
    size_t size, len, kept;
} sink;

static void put(sink *k, const char *s, size_t n)
{
    if (k->kept == k->len && k->len + n <= k->size - 1) {
        memcpy(k->out + k->kept, s, n);
        k->kept += n;
    }
    k->len += n;
}

size_t text_mask(const text_masker *m, char *out, size_t size, const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text), i = 0;
    sink res = { out, size, 0, 0 };
    while (i < len) {
        size_t hit = 0;
        bool tail = false;
        for (size_t k = 0; m && k < m->nforms; k++) {
            const char *f = m->forms[k];
            size_t fl = strlen(f);
            if (fl <= len - i && memcmp(text + i, f, fl) == 0) {
                hit = fl;
                break;
            }
            if (len - i < fl && len - i >= TEXT_MASK_MIN_PREFIX &&
                memcmp(text + i, f, len - i) == 0) {
                tail = true;
                break;
            }
        }
        if (hit || tail) {
            put(&res, m->mask, strlen(m->mask));
            i = tail ? len : i + hit;
            continue;
        }
        size_t c = utf8_char(s + i, len - i);
        if (c == 0) {
            put(&res, "\xEF\xBF\xBD", 3);
            i++;
        } else {
            put(&res, text + i, c);
            i += c;
        }
    }
    /* Pieces are whole characters (or the mask): the cut is on a boundary. */
    out[res.kept] = '\0';
    return res.len;
}

size_t text_escape(char *out, size_t size, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    sink k = { out, size, 0, 0 };
    for (size_t i = 0; i < len && k.kept == k.len;) {
        char esc[8];
        size_t c = utf8_char(s + i, len - i);
        if (s[i] == '\n' || s[i] == '\r' || s[i] == '\t' || s[i] == 0x1b || s[i] == '\\') {
            esc[0] = '\\';
            esc[1] = s[i] == '\n'   ? 'n'
                     : s[i] == '\r' ? 'r'
                     : s[i] == '\t' ? 't'
                     : s[i] == 0x1b ? 'e'
                                    : '\\';
            put(&k, esc, 2);
            i++;
        } else if (c == 0 || s[i] < 0x20 || s[i] == 0x7f) {
            /* controls (a NUL too), and bytes that are not UTF-8 */
            put(&k, esc, (size_t)snprintf(esc, sizeof esc, "\\x%02x", s[i]));
            i++;
        } else {
            put(&k, text + i, c);
            i += c;
        }
    }
    out[k.kept] = '\0';
    return k.kept;
}
