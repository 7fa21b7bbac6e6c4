/* Memory, wiping, strings, a growable buffer and a name index. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void envcheck__wipe(void *p, size_t n)
{
    if (p && n)
        explicit_bzero(p, n);
}

void envcheck__wipe_free(char *s)
{
    if (!s)
        return;
    envcheck__wipe(s, strlen(s));
    free(s);
}

char *envcheck__strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *envcheck__strdup(const char *s)
{
    return envcheck__strndup(s, strlen(s));
}

static int is_alpha(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int envcheck__name_valid(const char *s, size_t n)
{
    if (n == 0 || n > 1024)
        return 0;
    if (!(is_alpha((unsigned char)s[0]) || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(is_alpha(c) || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

int envcheck__utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t need;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1fu;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0fu;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07u;
        } else {
            return 0;
        }
        if (n - i - 1 < need)
            return 0;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3fu);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += need + 1;
    }
    return 1;
}

size_t envcheck__utf8_count(const char *s, size_t n)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            count++;
    return count;
}

int envcheck__is_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 0;
    return 1;
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int envcheck__ascii_casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int d = lower((unsigned char)*a) - lower((unsigned char)*b);
        if (d || !*a)
            return d;
    }
}

/* ---- buffer */

static int buf_reserve(envcheck__buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *d = malloc(cap);
    if (!d) {
        b->failed = 1;
        return -1;
    }
    if (b->data) {
        memcpy(d, b->data, b->len);
        /* The old block may have held a value: wipe it before freeing. */
        envcheck__wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void envcheck__buf_add(envcheck__buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void envcheck__buf_puts(envcheck__buf *b, const char *s)
{
    envcheck__buf_add(b, s, strlen(s));
}

void envcheck__buf_vprintf(envcheck__buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || buf_reserve(b, (size_t)n) != 0)
        return;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

void envcheck__buf_printf(envcheck__buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    envcheck__buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void envcheck__buf_quote(envcheck__buf *b, const char *s, size_t max)
{
    envcheck__buf_add(b, "\"", 1);
    size_t n = strlen(s);
    size_t shown = n > max ? max : n;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            envcheck__buf_add(b, e, 2);
        } else if (c < 0x20 || c == 0x7f) {
            envcheck__buf_printf(b, "\\x%02x", c);
        } else {
            envcheck__buf_add(b, (const char *)&s[i], 1);
        }
    }
    envcheck__buf_add(b, "\"", 1);
    if (shown < n)
        envcheck__buf_puts(b, "...");
}

char *envcheck__buf_take(envcheck__buf *b)
{
    if (b->failed) {
        envcheck__buf_wipe(b);
        return NULL;
    }
    if (!b->data && buf_reserve(b, 0) != 0)
        return NULL;
    if (!b->data) {
        b->failed = 1;
        return NULL;
    }
    b->data[b->len] = '\0';
    char *d = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void envcheck__buf_wipe(envcheck__buf *b)
{
    if (b->data) {
        envcheck__wipe(b->data, b->cap);
        free(b->data);
    }
    b->data = NULL;
    b->len = b->cap = 0;
}

/* ---- index */

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211u;
    }
    return h;
}

static int index_grow(envcheck__index *ix, envcheck__name_at at, const void *ctx)
{
    size_t cap = ix->cap ? ix->cap * 2 : 16;
    size_t *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return ENVCHECK_ENOMEM;
    for (size_t k = 0; k < ix->cap; k++) {
        if (!ix->slots[k])
            continue;
        size_t j = (size_t)hash_name(at(ctx, ix->slots[k] - 1)) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = ix->slots[k];
    }
    free(ix->slots);
    ix->slots = slots;
    ix->cap = cap;
    return 0;
}

int envcheck__index_insert(envcheck__index *ix, const char *name, size_t i, envcheck__name_at at,
                           const void *ctx)
{
    if ((ix->count + 1) * 2 > ix->cap && index_grow(ix, at, ctx) != 0)
        return ENVCHECK_ENOMEM;
    size_t j = (size_t)hash_name(name) & (ix->cap - 1);
    while (ix->slots[j]) {
        if (strcmp(at(ctx, ix->slots[j] - 1), name) == 0) {
            ix->slots[j] = i + 1; /* replace */
            return 0;
        }
        j = (j + 1) & (ix->cap - 1);
    }
    ix->slots[j] = i + 1;
    ix->count++;
    return 0;
}

size_t envcheck__index_find(const envcheck__index *ix, const char *name, envcheck__name_at at,
                            const void *ctx)
{
    if (!ix->cap)
        return 0;
    size_t j = (size_t)hash_name(name) & (ix->cap - 1);
    while (ix->slots[j]) {
        if (strcmp(at(ctx, ix->slots[j] - 1), name) == 0)
            return ix->slots[j];
        j = (j + 1) & (ix->cap - 1);
    }
    return 0;
}

void envcheck__index_free(envcheck__index *ix)
{
    free(ix->slots);
    ix->slots = NULL;
    ix->cap = ix->count = 0;
}

/* ---- files */

static int read_file(const char *path, char **data, size_t *len, int regular_only)
{
    *data = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO without a writer returns at once */
    int fd = open(path, O_RDONLY | O_CLOEXEC | (regular_only ? O_NONBLOCK : 0));
    if (fd < 0)
        return errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return e;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return EISDIR;
    }
    if (regular_only && !S_ISREG(st.st_mode)) {
        close(fd);
        return ENVCHECK__ENOTREG;
    }
    envcheck__buf b = { NULL, 0, 0, 0 };
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            envcheck__wipe(chunk, sizeof chunk);
            envcheck__buf_wipe(&b);
            return e;
        }
        if (n == 0)
            break;
        if (b.len + (size_t)n > ENVCHECK__MAX_FILE_SIZE) {
            close(fd);
            envcheck__wipe(chunk, sizeof chunk);
            envcheck__buf_wipe(&b);
            return EFBIG;
        }
        envcheck__buf_add(&b, chunk, (size_t)n);
    }
    close(fd);
    envcheck__wipe(chunk, sizeof chunk);
    size_t n = b.len;
    char *d = envcheck__buf_take(&b);
    if (!d)
        return ENOMEM;
    *data = d;
    *len = n;
    return 0;
}

int envcheck__read_file(const char *path, char **data, size_t *len)
{
    return read_file(path, data, len, 0);
}

int envcheck__read_regular_file(const char *path, char **data, size_t *len)
{
    return read_file(path, data, len, 1);
}
