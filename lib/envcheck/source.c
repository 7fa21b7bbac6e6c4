/* Sources: layers of NAME=VALUE pairs, later layers overriding earlier ones. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

static void seterr(envcheck_source *src, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void seterr(envcheck_source *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(src->errmsg, sizeof src->errmsg, fmt, ap);
    va_end(ap);
}

int envcheck_source_new(envcheck_source **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? ENVCHECK_OK : ENVCHECK_ENOMEM;
}

void envcheck_source_free(envcheck_source *src)
{
    if (!src)
        return;
    for (size_t i = 0; i < src->n; i++) {
        free(src->entries[i].name);
        envcheck__wipe_free(src->entries[i].value);
    }
    free(src->entries);
    envcheck__index_free(&src->index);
    for (size_t i = 0; i < src->n_labels; i++)
        free(src->labels[i]);
    free(src->labels);
    for (size_t i = 0; i < src->n_lints; i++) {
        free(src->lints[i].name);
        free(src->lints[i].message);
    }
    free(src->lints);
    free(src);
}

const char *envcheck_source_errmsg(const envcheck_source *src)
{
    return src->errmsg;
}

static const char *entry_name(const void *ctx, size_t i)
{
    return ((const envcheck_source *)ctx)->entries[i].name;
}

const envcheck__entry *envcheck__source_find(const envcheck_source *src, const char *name)
{
    size_t k = envcheck__index_find(&src->index, name, entry_name, src);
    return k ? &src->entries[k - 1] : NULL;
}

int envcheck_source_get(const envcheck_source *src, const char *name, const char **value)
{
    const envcheck__entry *e = envcheck__source_find(src, name);
    if (!e)
        return ENVCHECK_ENOENT;
    *value = e->value;
    return ENVCHECK_OK;
}

/* Start a layer labelled label; returns its index or a negative error. */
static long add_label(envcheck_source *src, const char *label)
{
    char *copy = envcheck__strdup(label);
    char **more = copy ? realloc(src->labels, (src->n_labels + 1) * sizeof *more) : NULL;
    if (!more) {
        free(copy);
        return ENVCHECK_ENOMEM;
    }
    src->labels = more;
    src->labels[src->n_labels] = copy;
    return (long)src->n_labels++;
}

/* Set name to a copy of value (len bytes) in the given layer. *previous is
 * the line of an earlier assignment in the same layer, or 0. */
static int set_entry(envcheck_source *src, const char *name, size_t name_len, const char *value,
                     size_t len, size_t layer, unsigned line, unsigned *previous)
{
    char *v = envcheck__strndup(value, len);
    if (!v)
        return ENVCHECK_ENOMEM;
    char *n = envcheck__strndup(name, name_len);
    if (!n) {
        envcheck__wipe_free(v);
        return ENVCHECK_ENOMEM;
    }
    if (previous)
        *previous = 0;
    size_t k = envcheck__index_find(&src->index, n, entry_name, src);
    envcheck__entry *e = k ? &src->entries[k - 1] : NULL;
    if (e) {
        if (previous && e->layer == layer)
            *previous = e->line ? e->line : 1;
        free(n);
        envcheck__wipe_free(e->value);
        e->value = v;
        e->origin = src->labels[layer];
        e->line = line;
        e->layer = layer;
        return 0;
    }
    if (src->n == src->cap) {
        size_t cap = src->cap ? src->cap * 2 : 32;
        envcheck__entry *more = realloc(src->entries, cap * sizeof *more);
        if (!more) {
            free(n);
            envcheck__wipe_free(v);
            return ENVCHECK_ENOMEM;
        }
        src->entries = more;
        src->cap = cap;
    }
    envcheck__entry *ne = &src->entries[src->n];
    ne->name = n;
    ne->value = v;
    ne->origin = src->labels[layer];
    ne->line = line;
    ne->layer = layer;
    if (envcheck__index_insert(&src->index, n, src->n, entry_name, src) != 0) {
        free(n);
        envcheck__wipe_free(v);
        return ENVCHECK_ENOMEM;
    }
    src->n++;
    return 0;
}

int envcheck_source_add_environ(envcheck_source *src)
{
    long layer = add_label(src, "environment");
    if (layer < 0)
        return (int)layer;
    for (char **e = environ; e && *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || eq == *e)
            continue;
        int rc =
            set_entry(src, *e, (size_t)(eq - *e), eq + 1, strlen(eq + 1), (size_t)layer, 0, NULL);
        if (rc != 0)
            return rc;
    }
    return ENVCHECK_OK;
}

int envcheck_source_add_array(envcheck_source *src, const char *const *pairs, size_t n)
{
    if (n && !pairs)
        return ENVCHECK_EINVAL;
    for (size_t i = 0; i < n; i++) {
        const char *eq = pairs[i] ? strchr(pairs[i], '=') : NULL;
        if (!eq || !envcheck__name_valid(pairs[i], (size_t)(eq - pairs[i]))) {
            seterr(src, "entry %zu is not NAME=VALUE with a valid name", i);
            return ENVCHECK_EINVAL;
        }
    }
    long layer = add_label(src, "array");
    if (layer < 0)
        return (int)layer;
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(pairs[i], '=');
        int rc = set_entry(src, pairs[i], (size_t)(eq - pairs[i]), eq + 1, strlen(eq + 1),
                           (size_t)layer, 0, NULL);
        if (rc != 0)
            return rc;
    }
    return ENVCHECK_OK;
}

typedef struct file_ctx {
    envcheck_source *src;
    size_t layer;
} file_ctx;

static int add_lint(envcheck_source *src, size_t layer, envcheck_code code, const char *name,
                    const char *message, unsigned line)
{
    if (src->n_lints == src->cap_lints) {
        size_t cap = src->cap_lints ? src->cap_lints * 2 : 8;
        envcheck__lint *more = realloc(src->lints, cap * sizeof *more);
        if (!more)
            return ENVCHECK_ENOMEM;
        src->lints = more;
        src->cap_lints = cap;
    }
    envcheck__lint *l = &src->lints[src->n_lints];
    l->name = envcheck__strdup(name);
    l->message = envcheck__strdup(message);
    if (!l->name || !l->message) {
        free(l->name);
        free(l->message);
        return ENVCHECK_ENOMEM;
    }
    l->code = code;
    l->file = src->labels[layer];
    l->line = line;
    src->n_lints++;
    return 0;
}

static int on_lint(void *ctx, envcheck_code code, const char *name, const char *message,
                   unsigned line)
{
    file_ctx *fc = ctx;
    return add_lint(fc->src, fc->layer, code, name, message, line);
}

static int on_assign(void *ctx, const char *name, const char *value, size_t len, unsigned line)
{
    file_ctx *fc = ctx;
    unsigned previous = 0;
    int rc = set_entry(fc->src, name, strlen(name), value, len, fc->layer, line, &previous);
    if (rc != 0 || !previous)
        return rc;
    char msg[128];
    snprintf(msg, sizeof msg, "the key is also assigned on line %u; the last assignment wins",
             previous);
    return add_lint(fc->src, fc->layer, ENVCHECK_CODE_DUPLICATE_KEY, name, msg, line);
}

static const char *const dialect_names[] = { "systemd", "dotenv", "compose" };

const char *envcheck_dialect_name(envcheck_dialect dialect)
{
    return (unsigned)dialect < 3 ? dialect_names[dialect] : "unknown";
}

int envcheck_dialect_parse(const char *name, envcheck_dialect *out)
{
    for (unsigned i = 0; i < 3; i++) {
        if (strcmp(name, dialect_names[i]) == 0) {
            *out = (envcheck_dialect)i;
            return ENVCHECK_OK;
        }
    }
    return ENVCHECK_EINVAL;
}

int envcheck_source_add_buffer_dialect(envcheck_source *src, const char *label, const char *data,
                                       size_t len, envcheck_dialect dialect)
{
    if ((len && !data) || (unsigned)dialect > ENVCHECK_DIALECT_COMPOSE) {
        seterr(src, "%s: %s", label, (unsigned)dialect > 2 ? "unknown dialect" : "no data");
        return ENVCHECK_EINVAL;
    }
    long layer = add_label(src, label);
    if (layer < 0)
        return (int)layer;
    file_ctx fc = { src, (size_t)layer };
    int rc =
        envcheck__envfile_parse_dialect(data ? data : "", len, dialect, on_assign, on_lint, &fc);
    if (rc == 0)
        rc = envcheck__envfile_lint_dialects(data ? data : "", len, dialect, on_lint, &fc);
    if (rc != 0)
        seterr(src, "%s: %s", label, envcheck_strerror(rc));
    return rc;
}

int envcheck_source_add_buffer(envcheck_source *src, const char *label, const char *data,
                               size_t len)
{
    return envcheck_source_add_buffer_dialect(src, label, data, len, ENVCHECK_DIALECT_SYSTEMD);
}

int envcheck_source_add_file_dialect(envcheck_source *src, const char *path,
                                     envcheck_dialect dialect)
{
    if ((unsigned)dialect > ENVCHECK_DIALECT_COMPOSE) {
        seterr(src, "%s: unknown dialect", path);
        return ENVCHECK_EINVAL;
    }
    char *data = NULL;
    size_t len = 0;
    int e = envcheck__read_file(path, &data, &len);
    if (e != 0) {
        char why[128];
        if (strerror_r(e, why, sizeof why) != 0)
            snprintf(why, sizeof why, "error %d", e);
        seterr(src, "%s: %s", path, why);
        return e == ENOMEM ? ENVCHECK_ENOMEM : ENVCHECK_EIO;
    }
    int rc = envcheck_source_add_buffer_dialect(src, path, data, len, dialect);
    envcheck__wipe(data, len);
    free(data);
    return rc;
}

int envcheck_source_add_file(envcheck_source *src, const char *path)
{
    return envcheck_source_add_file_dialect(src, path, ENVCHECK_DIALECT_SYSTEMD);
}
