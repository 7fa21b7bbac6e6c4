/* URLs: scheme://[user[:password]@]host[:port][,host[:port]...][/path][?query][#fragment],
 * and showing them with the password masked. */
#include "internal.h"

#include <string.h>

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int envcheck__url_parse(const char *s, envcheck__url_parts *p, const char **reason)
{
    memset(p, 0, sizeof *p);
    for (const char *c = s; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u <= 0x20 || u == 0x7f) {
            *reason = "it contains whitespace or control characters";
            return -1;
        }
    }
    size_t i = 0;
    if (!is_alpha(s[0])) {
        *reason = "no scheme";
        return -1;
    }
    while (is_alpha(s[i]) || is_digit(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.')
        i++;
    if (strncmp(s + i, "://", 3) != 0) {
        *reason = "no scheme (scheme://host...)";
        return -1;
    }
    p->scheme_len = i;
    size_t a = i + 3;
    size_t end = a + strcspn(s + a, "/?#");
    /* userinfo: up to the last '@' of the authority */
    size_t host_start = a;
    for (size_t k = a; k < end; k++)
        if (s[k] == '@')
            host_start = k + 1;
    if (host_start > a) {
        const char *colon = memchr(s + a, ':', host_start - 1 - a);
        if (colon) {
            p->has_pass = 1;
            p->pass_off = (size_t)(colon - s) + 1;
            p->pass_len = host_start - 1 - p->pass_off;
        }
    }
    p->host_off = host_start;
    p->host_len = end - host_start;
    if (p->host_len == 0) {
        *reason = "no host";
        return -1;
    }
    /* a comma-separated host list (libpq's multi-host URLs) */
    size_t k = host_start;
    while (k <= end) {
        size_t next = k;
        while (next < end && s[next] != ',')
            next++;
        if (envcheck__host_port_valid(s + k, next - k, reason) != 0)
            return -1;
        k = next + 1;
    }
    return 0;
}

static int secret_param(const char *k, size_t n)
{
    static const char *const names[] = { "password",     "passwd",      "pwd",     "pass",
                                         "secret",       "token",       "api_key", "apikey",
                                         "access_token", "sslpassword", "key" };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (strlen(names[i]) != n)
            continue;
        size_t j = 0;
        for (; j < n; j++) {
            char c = k[j];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c + 32);
            if (c != names[i][j])
                break;
        }
        if (j == n)
            return 1;
    }
    return 0;
}

void envcheck__url_append_masked(envcheck__buf *b, const char *s)
{
    /* Best effort, also for text that is not a valid URL: everything
     * between the userinfo's first ':' and the authority's last '@' is the
     * password, and so are password-like query parameters. */
    const char *sep = strstr(s, "://");
    size_t a = sep ? (size_t)(sep - s) + 3 : 0;
    if (sep && strcspn(s, "/?#") < (size_t)(sep - s))
        a = 0;
    size_t end = a + strcspn(s + a, "/?#");
    size_t at = 0;
    for (size_t k = a; k < end; k++)
        if (s[k] == '@')
            at = k + 1;
    if (!at) {
        /* A password with an unencoded '/', '?' or '#' ends the authority
         * early ("u:pa/ss@host"): when the authority has a ':' and an '@'
         * follows, mask up to the last '@' of the whole text (over-masking
         * a path with an '@' is the safe mistake). */
        const char *last = strrchr(s + a, '@');
        const char *colon = last ? memchr(s + a, ':', (size_t)(last - (s + a))) : NULL;
        if (last && colon && (size_t)(colon - s) < end) {
            at = (size_t)(last - s) + 1;
            end = at + strcspn(s + at, "/?#");
        }
    }
    size_t pos = 0;
    if (at) {
        const char *colon = memchr(s + a, ':', at - 1 - a);
        if (colon) {
            size_t off = (size_t)(colon - s) + 1;
            envcheck__buf_add(b, s, off);
            envcheck__buf_puts(b, ENVCHECK_MASK);
            pos = at - 1;
        }
    }
    const char *q = strchr(s + end, '?');
    if (!q) {
        envcheck__buf_puts(b, s + pos);
        return;
    }
    size_t qoff = (size_t)(q - s) + 1;
    envcheck__buf_add(b, s + pos, qoff - pos);
    const char *p = s + qoff;
    while (*p && *p != '#') {
        size_t len = strcspn(p, "&#");
        const char *eq = memchr(p, '=', len);
        if (eq && secret_param(p, (size_t)(eq - p))) {
            envcheck__buf_add(b, p, (size_t)(eq - p) + 1);
            envcheck__buf_puts(b, ENVCHECK_MASK);
        } else {
            envcheck__buf_add(b, p, len);
        }
        p += len;
        if (*p == '&') {
            envcheck__buf_add(b, "&", 1);
            p++;
        }
    }
    envcheck__buf_puts(b, p);
}
