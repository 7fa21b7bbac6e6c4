/* libpq's error texts made terse (one line, no LOCATION:, the SQLSTATE taken
 * out), and the classification of connect errors that say the server went
 * away. Pure functions: see the fuzz target tests/fuzz/pgpool/fuzz_text.c. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "internal.h"

typedef struct out {
    char *buf;
    size_t size, len;
} out;

static void put_char(out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_text(out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put_char(o, s[i]);
}

static void finish(out *o)
{
    if (o->size == 0)
        return;
    o->buf[o->len < o->size ? o->len : o->size - 1] = '\0';
}

static bool is_sqlstate_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z');
}

static bool starts_with(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

/* In a line, "SEVERITY:  XXXXX:  " (verbose libpq): the offset of XXXXX, or
 * -1. Severity is an upper-case word (localised ones are not recognised). */
static long find_sqlstate(const char *line, size_t n)
{
    static const char *const sev[] = { "FATAL:", "PANIC:", "ERROR:", "WARNING:", "NOTICE:" };
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < sizeof sev / sizeof sev[0]; k++) {
            if (!starts_with(line + i, n - i, sev[k]))
                continue;
            if (i > 0 && isalpha((unsigned char)line[i - 1]))
                continue;
            size_t j = i + strlen(sev[k]);
            while (j < n && line[j] == ' ')
                j++;
            if (j + 6 <= n && line[j + 5] == ':') {
                bool ok = true;
                for (size_t m = 0; m < 5; m++)
                    ok = ok && is_sqlstate_char(line[j + m]);
                if (ok)
                    return (long)j;
            }
        }
    }
    return -1;
}

size_t pgpool__terse(char *buf, size_t size, char *sqlstate, const char *msg)
{
    out o = { buf, size, 0 };
    if (sqlstate)
        sqlstate[0] = '\0';
    if (!msg)
        msg = "";
    bool first_line = true;
    const char *p = msg;
    while (*p) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *line = p;
        p = e ? e + 1 : p + n;
        /* leading blanks (libpq indents continuation lines with a tab) */
        while (n > 0 && (*line == ' ' || *line == '\t' || *line == '\r')) {
            line++;
            n--;
        }
        while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
            n--;
        if (n == 0 || starts_with(line, n, "LOCATION:"))
            continue;
        long st = find_sqlstate(line, n);
        if (!first_line)
            put_text(&o, "; ", 2);
        first_line = false;
        bool blank = false;
        for (size_t i = 0; i < n; i++) {
            if (st >= 0 && i == (size_t)st) {
                if (sqlstate && !sqlstate[0]) {
                    memcpy(sqlstate, line + i, 5);
                    sqlstate[5] = '\0';
                }
                i += 5; /* the ':' too; the blanks after it fold into one */
                blank = true;
                continue;
            }
            char c = line[i];
            if (c == ' ' || c == '\t' || c == '\r') {
                blank = true;
                continue;
            }
            if (blank)
                put_char(&o, ' ');
            blank = false;
            put_char(&o, (unsigned char)c < 0x20 ? ' ' : c);
        }
    }
    finish(&o);
    return o.len;
}

/* Is the token (n bytes) in conninfo followed there by optional blanks and
 * '=' (a keyword position, never a value)? */
static bool is_keyword_in(const char *conninfo, const char *tok, size_t n)
{
    if (n == 0 || !conninfo)
        return false;
    for (const char *c = conninfo; *c; c++) {
        if (strncmp(c, tok, n) != 0)
            continue;
        if (c > conninfo && (isalnum((unsigned char)c[-1]) || c[-1] == '_'))
            continue;
        const char *after = c + n;
        while (*after == ' ')
            after++;
        if (*after == '=')
            return true;
    }
    return false;
}

size_t pgpool__parse_message(char *buf, size_t size, const char *msg, const char *conninfo)
{
    char terse[512];
    pgpool__terse(terse, sizeof terse, NULL, msg);
    out o = { buf, size, 0 };
    const char *p = terse;
    while (*p) {
        if (*p != '"') {
            put_char(&o, *p++);
            continue;
        }
        const char *end = strchr(p + 1, '"');
        if (!end) { /* an unterminated quote: hide the rest */
            put_text(&o, "\"**********", 11);
            break;
        }
        size_t n = (size_t)(end - p - 1);
        put_char(&o, '"');
        if ((n == 1 && ispunct((unsigned char)p[1])) ||
            (n > 0 && n < 64 && is_keyword_in(conninfo, p + 1, n)))
            put_text(&o, p + 1, n);
        else if (n > 0)
            put_text(&o, "**********", 10);
        put_char(&o, '"');
        p = end + 1;
    }
    finish(&o);
    return o.len;
}

int pgpool__server_gone(const char *msg, const char *sqlstate)
{
    if (sqlstate && (strcmp(sqlstate, "57P01") == 0 || strcmp(sqlstate, "57P02") == 0 ||
                     strcmp(sqlstate, "57P03") == 0))
        return 1;
    static const char *const gone[] = {
        "Connection refused",
        "No such file or directory", /* the Unix socket is gone */
        "server closed the connection unexpectedly",
        "the database system is starting up",
        "the database system is shutting down",
        "the database system is in recovery mode",
    };
    if (!msg)
        return 0;
    for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++)
        if (strstr(msg, gone[i]))
            return 1;
    return 0;
}
