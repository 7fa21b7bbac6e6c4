#define _GNU_SOURCE
#include "hostname.h"

#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

bool host_fqdn(char *out, size_t size)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "localhost");
    snprintf(out, size, "%s", host);
    if (strchr(host, '.'))
        return true;
    struct addrinfo hints = { .ai_flags = AI_CANONNAME, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return false;
    bool ok = res && res->ai_canonname && strchr(res->ai_canonname, '.');
    if (ok)
        snprintf(out, size, "%s", res->ai_canonname);
    freeaddrinfo(res);
    return ok;
}
