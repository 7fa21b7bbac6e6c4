#include <string.h>
#include <strings.h>

#include "http_header.h"

bool http_header_value(const char *line, size_t n, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    if (n <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0 || outlen == 0)
        return false;
    const char *v = line + nl + 1;
    size_t len = strnlen(v, n - nl - 1); /* a NUL ends the value, as in C */
    while (len && (*v == ' ' || *v == '\t'))
        v++, len--;
    if (len >= outlen)
        len = outlen - 1;
    /* after the cut, so that a cut value ends without a blank too */
    while (len &&
           (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    memcpy(out, v, len);
    out[len] = '\0';
    return true;
}
