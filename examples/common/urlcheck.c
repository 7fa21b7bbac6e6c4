#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "urlcheck.h"

bool url_same_origin(const char *url, const char *origin)
{
    size_t n = strlen(origin);
    return n > 0 && strncmp(url, origin, n) == 0 && (url[n] == '/' || url[n] == '\0');
}

bool url_password(const char *url, char *out, size_t size)
{
    out[0] = '\0';
    const char *p = url ? strstr(url, "://") : NULL;
    if (!p)
        return false;
    p += 3;
    const char *at = strchr(p, '@');
    const char *slash = strchr(p, '/');
    if (!at || (slash && slash < at))
        return false;
    const char *colon = memchr(p, ':', (size_t)(at - p));
    if (!colon || colon + 1 == at)
        return false;
    snprintf(out, size, "%.*s", (int)(at - colon - 1), colon + 1);
    return true;
}

bool url_plain_http_remote(const char *url)
{
    if (strncasecmp(url, "http://", 7) != 0)
        return false;
    const char *host = url + 7;
    const char *at = strchr(host, '@');
    size_t span = strcspn(host, "/?#");
    if (at && (size_t)(at - host) < span)
        host = at + 1;
    size_t len = strcspn(host, "/?#");
    if (len >= 5 && strncmp(host, "[::1]", 5) == 0 && (len == 5 || host[5] == ':'))
        return false;
    size_t hl = strcspn(host, ":/?#");
    if (hl == 9 && strncasecmp(host, "localhost", 9) == 0)
        return false;
    if (hl >= 4 && strncmp(host, "127.", 4) == 0) {
        for (size_t i = 4; i < hl; i++)
            if (!((host[i] >= '0' && host[i] <= '9') || host[i] == '.'))
                return true;
        return false;
    }
    return true;
}
