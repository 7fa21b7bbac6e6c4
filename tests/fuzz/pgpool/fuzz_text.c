/*
 * libFuzzer target for libpgpool's handling of libpq's error texts:
 * pgpool__terse() (one line, LOCATION: dropped, the SQLSTATE taken out),
 * pgpool__parse_message() (a connection-string parse message with values
 * masked) and pgpool__server_gone(). The input is split at its first NUL
 * byte into a message and a connection string. Properties checked:
 *  - outputs are NUL-terminated, their length is what was returned, and a
 *    truncated call returns the same length;
 *  - a terse text has no newline, does not start with "LOCATION:", and the
 *    SQLSTATE is empty or five characters of [0-9A-Z];
 *  - a quoted token of the parse message that is not a keyword of the
 *    connection string (followed there by '=') is never shown.
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

static void check_terse(const char *msg)
{
    char st[6];
    size_t need = pgpool__terse(NULL, 0, st, msg);
    char *out = malloc(need + 1);
    if (!out)
        abort();
    if (pgpool__terse(out, need + 1, st, msg) != need || strlen(out) != need)
        abort();
    if (strchr(out, '\n') || strncmp(out, "LOCATION:", 9) == 0)
        abort();
    size_t sl = strlen(st);
    if (sl != 0 && sl != 5)
        abort();
    for (size_t i = 0; i < sl; i++)
        if (!((st[i] >= '0' && st[i] <= '9') || (st[i] >= 'A' && st[i] <= 'Z')))
            abort();
    char small[5];
    if (pgpool__terse(small, sizeof small, NULL, msg) != need || strlen(small) > 4)
        abort();
    (void)pgpool__server_gone(out, st);
    free(out);
}

static void check_parse_message(const char *msg, const char *conninfo)
{
    size_t need = pgpool__parse_message(NULL, 0, msg, conninfo);
    char *out = malloc(need + 1);
    if (!out)
        abort();
    if (pgpool__parse_message(out, need + 1, msg, conninfo) != need || strlen(out) != need)
        abort();
    /* a secret that is never a keyword of conninfo: planted in the message */
    static const char secret[] = "Zq9sEcReT";
    if (!strstr(conninfo, secret) && !strstr(msg, secret)) {
        size_t n = strlen(msg) + sizeof secret + 8;
        char *m = malloc(n);
        if (!m)
            abort();
        /* the message goes through terse first: keep it on one line */
        size_t k = 0;
        for (const char *c = msg; *c && k + 1 < n - sizeof secret - 4; c++)
            m[k++] = (*c == '"' || *c == '\n' || *c == '\r') ? ' ' : *c;
        m[k++] = ' ';
        m[k++] = '"';
        memcpy(m + k, secret, sizeof secret - 1);
        k += sizeof secret - 1;
        m[k++] = '"';
        m[k] = '\0';
        char o[600];
        pgpool__parse_message(o, sizeof o, m, conninfo);
        if (strstr(o, secret))
            abort();
        free(m);
    }
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    const uint8_t *nul = memchr(data, 0, size);
    size_t n1 = nul ? (size_t)(nul - data) : size;
    char *msg = cstr(data, n1);
    char *conninfo = nul ? cstr(nul + 1, size - n1 - 1) : cstr(data, 0);
    check_terse(msg);
    check_parse_message(msg, conninfo);
    free(msg);
    free(conninfo);
    return 0;
}
