/* Host names, IP addresses, host:port pairs and e-mail addresses: the
 * syntax that values of type host, url and email share. */
#include "internal.h"

#include <arpa/inet.h>
#include <string.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int ipv4_valid(const char *s, size_t n)
{
    int parts = 0;
    size_t i = 0;
    while (i <= n) {
        size_t start = i;
        unsigned v = 0;
        while (i < n && is_digit(s[i])) {
            v = v * 10 + (unsigned)(s[i] - '0');
            if (v > 255)
                return 0;
            i++;
        }
        size_t len = i - start;
        if (len == 0 || (len > 1 && s[start] == '0'))
            return 0;
        parts++;
        if (i == n)
            break;
        if (s[i] != '.' || parts == 4)
            return 0;
        i++;
    }
    return parts == 4;
}

static int hostname_valid(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return 0;
    size_t i = 0, label_start = 0;
    int last_label_numeric = 1;
    while (i <= n) {
        if (i == n || s[i] == '.') {
            size_t len = i - label_start;
            if (len == 0 || len > 63)
                return 0;
            if (s[label_start] == '-' || s[i - 1] == '-')
                return 0;
            last_label_numeric = 1;
            for (size_t k = label_start; k < i; k++)
                if (!is_digit(s[k]))
                    last_label_numeric = 0;
            label_start = i + 1;
            i++;
            continue;
        }
        if (!is_alnum(s[i]) && s[i] != '-')
            return 0;
        i++;
    }
    /* An all-numeric last label would be a malformed IPv4 address. */
    return !last_label_numeric;
}

static int ipv6_valid(const char *s, size_t n)
{
    char tmp[64];
    unsigned char addr[16];
    if (n == 0 || n >= sizeof tmp)
        return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return inet_pton(AF_INET6, tmp, addr) == 1;
}

int envcheck__host_valid(const char *s, size_t n)
{
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
        return ipv6_valid(s + 1, n - 2);
    if (memchr(s, ':', n))
        return ipv6_valid(s, n);
    return ipv4_valid(s, n) || hostname_valid(s, n);
}

int envcheck__email_valid(const char *s)
{
    const char *at = strrchr(s, '@');
    if (!at)
        return 0;
    size_t local = (size_t)(at - s), total = strlen(s);
    if (local == 0 || local > 64 || total > 254)
        return 0;
    static const char specials[] = "!#$%&'*+/=?^_`{|}~-";
    for (size_t i = 0; i < local; i++) {
        char c = s[i];
        if (c == '.') {
            if (i == 0 || i == local - 1 || s[i - 1] == '.')
                return 0;
        } else if (!is_alnum(c) && !strchr(specials, c)) {
            return 0;
        }
    }
    const char *domain = at + 1;
    size_t dlen = strlen(domain);
    if (!memchr(domain, '.', dlen))
        return 0;
    return hostname_valid(domain, dlen);
}

int envcheck__host_port_valid(const char *s, size_t n, const char **reason)
{
    size_t host_len = n;
    const char *port = NULL;
    size_t port_len = 0;
    if (n && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close) {
            *reason = "unclosed [ in the host";
            return -1;
        }
        host_len = (size_t)(close - s) + 1;
        if (host_len < n) {
            if (s[host_len] != ':') {
                *reason = "text after the IPv6 address";
                return -1;
            }
            port = s + host_len + 1;
            port_len = n - host_len - 1;
        }
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon) {
            host_len = (size_t)(colon - s);
            port = colon + 1;
            port_len = n - host_len - 1;
        }
    }
    if (host_len == 0) {
        *reason = "no host";
        return -1;
    }
    if (!envcheck__host_valid(s, host_len)) {
        *reason = "the host is not a host name or IP address";
        return -1;
    }
    if (port) {
        unsigned v = 0;
        if (port_len == 0 || port_len > 5) {
            *reason = "the port is not a number from 1 to 65535";
            return -1;
        }
        for (size_t i = 0; i < port_len; i++) {
            if (!is_digit(port[i])) {
                *reason = "the port is not a number from 1 to 65535";
                return -1;
            }
            v = v * 10 + (unsigned)(port[i] - '0');
        }
        if (v < 1 || v > 65535) {
            *reason = "the port is not a number from 1 to 65535";
            return -1;
        }
    }
    return 0;
}
