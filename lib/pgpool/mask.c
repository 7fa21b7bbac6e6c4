/*
 * Password masking. Connection strings ("password=secret", "password =
 * 'se cret'"), URIs ("postgresql://user:secret@host", "?password=secret")
 * and any text that embeds them come out with the secret replaced by
 * MASK. Masking errs on the side of hiding too much.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define MASK "**********"

typedef struct out {
    char *buf;
    size_t size, len;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->size > 0 && o->len < o->size - 1) {
        size_t room = o->size - 1 - o->len;
        memcpy(o->buf + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static void finish(out *o)
{
    if (o->size == 0)
        return;
    o->buf[o->len < o->size ? o->len : o->size - 1] = '\0';
}

/* Copy n bytes verbatim, except occurrences of the secret. */
static void put_redacted(out *o, const char *s, size_t n, const char *secret, size_t slen)
{
    size_t start = 0;
    for (size_t i = 0; slen > 0 && i + slen <= n;) {
        if (memcmp(s + i, secret, slen) == 0) {
            put(o, s + start, i - start);
            put(o, MASK, sizeof MASK - 1);
            i += slen;
            start = i;
        } else {
            i++;
        }
    }
    put(o, s + start, n - start);
}

static bool is_word(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* "password" at i (case-insensitive, at a word start), then blanks and '='.
 * Returns the index just after '=', or 0. */
static size_t match_password_kw(const char *t, size_t n, size_t i)
{
    static const char kw[] = "password";
    size_t k = sizeof kw - 1;
    if (i + k > n || (i > 0 && is_word(t[i - 1])))
        return 0;
    for (size_t j = 0; j < k; j++)
        if (tolower((unsigned char)t[i + j]) != kw[j])
            return 0;
    size_t j = i + k;
    while (j < n && (t[j] == ' ' || t[j] == '\t'))
        j++;
    if (j >= n || t[j] != '=')
        return 0;
    return j + 1;
}

/* The end of a keyword value starting at j. URI query values (after '?' or
 * '&') end at '&', '#' or a blank; conninfo values are quoted with
 * backslash escapes, or end at a blank. */
static size_t value_end(const char *t, size_t n, size_t j, bool uri)
{
    if (uri) {
        while (j < n && t[j] != '&' && t[j] != '#' && !isspace((unsigned char)t[j]))
            j++;
        return j;
    }
    if (j < n && t[j] == '\'') {
        j++;
        while (j < n && t[j] != '\'') {
            if (t[j] == '\\' && j + 1 < n)
                j++;
            j++;
        }
        return j < n ? j + 1 : n;
    }
    while (j < n && !isspace((unsigned char)t[j]))
        j++;
    return j;
}

/* At "://": the userinfo of the authority that follows. Sets *colon and *at
 * when the userinfo holds a password (user:password@); the last '@' before
 * a blank ends it, so a password with stray '/' or '@' is still hidden. */
static bool match_uri_password(const char *t, size_t n, size_t i, size_t *colon, size_t *at)
{
    if (i + 3 > n || memcmp(t + i, "://", 3) != 0)
        return false;
    size_t start = i + 3, end = start, last_at = 0;
    bool have_at = false;
    while (end < n && !isspace((unsigned char)t[end])) {
        if (t[end] == '@') {
            last_at = end;
            have_at = true;
        }
        end++;
    }
    if (!have_at)
        return false;
    const char *c = memchr(t + start, ':', last_at - start);
    if (!c)
        return false;
    *colon = (size_t)(c - t);
    *at = last_at;
    return true;
}

static size_t mask_pass(char *buf, size_t size, const char *text, const char *secret)
{
    out o = { buf, size, 0 };
    if (!text)
        text = "";
    size_t n = strlen(text);
    size_t slen = secret ? strlen(secret) : 0;
    size_t i = 0, copied = 0; /* text[copied..i) is pending verbatim */
    while (i < n) {
        size_t colon, at, j;
        if (slen > 0 && i + slen <= n && memcmp(text + i, secret, slen) == 0) {
            put_redacted(&o, text + copied, i - copied, secret, slen);
            put(&o, MASK, sizeof MASK - 1);
            i += slen;
            copied = i;
        } else if ((j = match_password_kw(text, n, i)) != 0) {
            bool uri = i > 0 && (text[i - 1] == '?' || text[i - 1] == '&');
            while (!uri && j < n && (text[j] == ' ' || text[j] == '\t'))
                j++;
            size_t e = value_end(text, n, j, uri);
            put_redacted(&o, text + copied, j - copied, secret, slen);
            if (e > j)
                put(&o, MASK, sizeof MASK - 1);
            i = e;
            copied = i;
        } else if (match_uri_password(text, n, i, &colon, &at)) {
            put_redacted(&o, text + copied, colon + 1 - copied, secret, slen);
            put(&o, MASK, sizeof MASK - 1);
            i = at; /* '@' and the rest are copied verbatim */
            copied = i;
        } else {
            i++;
        }
    }
    put_redacted(&o, text + copied, n - copied, secret, slen);
    finish(&o);
    return o.len;
}

/* Two passes: the password forms first, then every literal occurrence of
 * the secret in the result, so that a secret straddling a keyword and its
 * value is caught as well. */
size_t pgpool__redact(char *buf, size_t size, const char *text, const char *secret)
{
    size_t n1 = mask_pass(NULL, 0, text, secret);
    if (!secret || !*secret)
        return mask_pass(buf, size, text, NULL);
    char *tmp = malloc(n1 + 1);
    if (!tmp) { /* hide everything rather than risk it */
        out o = { buf, size, 0 };
        put(&o, MASK, sizeof MASK - 1);
        finish(&o);
        return o.len;
    }
    mask_pass(tmp, n1 + 1, text, secret);
    out o = { buf, size, 0 };
    put_redacted(&o, tmp, n1, secret, strlen(secret));
    finish(&o);
    explicit_bzero(tmp, n1);
    free(tmp);
    return o.len;
}

size_t pgpool_mask_conninfo(char *buf, size_t size, const char *text)
{
    return pgpool__redact(buf, size, text, NULL);
}

/* 57P03 (cannot connect now: starting up, shutting down, recovery) and
 * 53300 (too many connections) pass; the server is there. */
int pgpool__classify_connect_error(const char *msg)
{
    static const char *const transient[] = {
        "57P03",
        "53300",
        "the database system is starting up",
        "the database system is not yet accepting connections",
        "the database system is not accepting connections",
        "too many clients already",
        "remaining connection slots are reserved",
        "too many connections for",
    };
    if (!msg)
        return 0;
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        if (strstr(msg, transient[i]))
            return 1;
    return 0;
}
