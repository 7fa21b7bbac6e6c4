#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array_grow.h"
#include "read_file.h"

char *read_file(const char *path, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int failed = 0;
    for (;;) {
        if (array_grow(&buf, &cap, n + 65537, 1) != 0) {
            failed = ENOMEM;
            break;
        }
        n += fread(buf + n, 1, cap - n - 1, f);
        if (ferror(f))
            failed = errno ? errno : EIO;
        if (failed || feof(f))
            break;
    }
    if (f != stdin)
        fclose(f);
    if (failed) {
        free(buf);
        errno = failed;
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}
