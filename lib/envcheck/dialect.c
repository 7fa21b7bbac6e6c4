/* Env files in the dialects of python-dotenv and Docker Compose, and the
 * lint that compares the three dialects on one file.
 *
 * dotenv (python-dotenv's parser and dotenv_values()):
 *  - blank lines and lines starting with '#' are skipped; "export " before a
 *    key is dropped; a key is 'quoted' or runs up to '=', '#' or a blank;
 *  - 'single quotes': \' and \\ are escapes; "double quotes": \\ \' \" \a
 *    \b \f \n \r \t \v are escapes, any other backslash is kept; quoted
 *    values may span lines; an unquoted value runs to the end of the line,
 *    cut at the first blank followed by '#', trailing blanks removed;
 *  - after the value, blanks and a '#' comment may end the line; anything
 *    else makes the statement unparseable: it is skipped to the end of its
 *    line (so is an unterminated quote);
 *  - ${NAME} and ${NAME:-default} expand in every value (quoted or not),
 *    after the escapes, from the file's earlier values, then the
 *    environment ("" when unset); a key without '=' has no value.
 * compose (compose-go's dotenv parser, as docker compose reads env_file and
 * .env):
 *  - CRLF is read as LF; blank and '#' lines skipped; "export" dropped; a
 *    key is [A-Za-z0-9_.] up to '=' or ':' (YAML style); a key alone on its
 *    line takes its value from the environment;
 *  - an unquoted value runs to the end of the line, cut at the first blank
 *    followed by '#', trailing blanks removed; 'single quotes' are literal
 *    but for \' (a quote); in "double quotes" \n \r \t \\ \" \' are
 *    escapes, any other backslash is kept; quoted values may span lines,
 *    and what follows the closing quote is read as the next statement;
 *  - $NAME, ${NAME}, ${NAME:-d}, ${NAME-d}, ${NAME:+a}, ${NAME+a} expand in
 *    unquoted and double-quoted values ($$ is a '$'), from the file's
 *    earlier values, then the environment; ${NAME:?e} and ${NAME?e} are
 *    errors when NAME is unset (or empty, with ':').
 * Every dialect: an unterminated quote ends at the end of its line, with an
 * error; values are then checked as in the systemd dialect. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct kv {
    char *key, *value;
    unsigned line; /* of the last assignment */
} kv;

/* The values assigned so far (for ${NAME}, and the comparison of the
 * dialects), each key once: a later assignment replaces the value. */
typedef struct seen {
    kv *v;
    size_t n, cap;
} seen;

static void seen_free(seen *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].key);
        envcheck__wipe_free(s->v[i].value);
    }
    free(s->v);
}

/* The index of key in s, or s->n. */
static size_t seen_index(const seen *s, const char *key)
{
    size_t i = 0;
    while (i < s->n && strcmp(s->v[i].key, key) != 0)
        i++;
    return i;
}

static const kv *seen_find(const seen *s, const char *key)
{
    size_t i = seen_index(s, key);
    return i < s->n ? &s->v[i] : NULL;
}

static int seen_set(seen *s, const char *key, const char *value, unsigned line)
{
    size_t i = seen_index(s, key);
    if (i < s->n) {
        kv *old = &s->v[i];
        char *v = envcheck__strdup(value);
        if (!v)
            return ENVCHECK_ENOMEM;
        envcheck__wipe_free(old->value);
        old->value = v;
        old->line = line;
        return 0;
    }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        kv *more = realloc(s->v, cap * sizeof *more);
        if (!more)
            return ENVCHECK_ENOMEM;
        s->v = more;
        s->cap = cap;
    }
    s->v[s->n].key = envcheck__strdup(key);
    s->v[s->n].value = envcheck__strdup(value);
    s->v[s->n].line = line;
    if (!s->v[s->n].key || !s->v[s->n].value) {
        free(s->v[s->n].key);
        envcheck__wipe_free(s->v[s->n].value);
        return ENVCHECK_ENOMEM;
    }
    s->n++;
    return 0;
}

/* NAME's value: the file's earlier one, else the environment's, else NULL. */
static const char *lookup(const seen *s, const char *name, size_t n)
{
    char key[256];
    if (n >= sizeof key)
        return NULL;
    memcpy(key, name, n);
    key[n] = '\0';
    const kv *v = seen_find(s, key);
    return v ? v->value : getenv(key);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

static int is_space(char c)
{
    return is_blank(c) || c == '\r' || c == '\n';
}

typedef struct dparser {
    const char *p, *end;
    unsigned line;
    envcheck_dialect dialect;
    envcheck__assign_fn assign;
    envcheck__lint_fn lint;
    void *ctx;
    seen vars;
    envcheck__buf value;
} dparser;

/* Advance over n characters, counting lines. */
static void advance(dparser *d, size_t n)
{
    for (size_t i = 0; i < n && d->p < d->end; i++, d->p++)
        if (*d->p == '\n' || (*d->p == '\r' && (d->p + 1 == d->end || d->p[1] != '\n')))
            d->line++;
}

static void skip_rest_of_line(dparser *d)
{
    while (d->p < d->end && *d->p != '\n' && *d->p != '\r')
        advance(d, 1);
    if (d->p < d->end && *d->p == '\r')
        advance(d, 1);
    if (d->p < d->end && *d->p == '\n')
        advance(d, 1);
}

/* The end of the quoted text at p (the opening quote), or NULL when it is
 * not closed. escapes: the quote may be escaped with a backslash (the
 * regular expression's backtracking: when no closing quote follows, the
 * last escaped quote closes instead). */
static const char *closing_quote(const char *p, const char *end, char q, int backtrack)
{
    const char *last_escaped = NULL;
    for (const char *s = p + 1; s < end; s++) {
        if (*s == '\\' && s + 1 < end && (s[1] == q || (backtrack && s[1] == '\\'))) {
            if (s[1] == q)
                last_escaped = s + 1;
            s++;
            continue;
        }
        if (*s == q)
            return s;
    }
    return backtrack ? last_escaped : NULL;
}

/* compose-go: the first quote not preceded by a backslash. */
static const char *compose_closing(const char *p, const char *end, char q)
{
    for (const char *s = p + 1; s < end; s++)
        if (*s == q && s[-1] != '\\')
            return s;
    return NULL;
}

static int lint_unterminated(dparser *d, const char *key)
{
    return d->lint(d->ctx, ENVCHECK_CODE_UNTERMINATED, key,
                   "a quoted value is not closed: it ends at the end of its line", d->line);
}

/* ${...} and $NAME expansion of text[0, n) into out. Returns 0, or 1 for a
 * compose ${NAME?err} whose NAME is unset. */
static int expand(dparser *d, const char *t, size_t n, envcheck__buf *out)
{
    for (size_t i = 0; i < n;) {
        if (t[i] != '$' || i + 1 >= n) {
            envcheck__buf_add(out, t + i, 1);
            i++;
            continue;
        }
        if (d->dialect == ENVCHECK_DIALECT_COMPOSE && t[i + 1] == '$') {
            envcheck__buf_add(out, "$", 1);
            i += 2;
            continue;
        }
        if (t[i + 1] == '{') {
            const char *close = memchr(t + i + 2, '}', n - i - 2);
            if (!close) {
                envcheck__buf_add(out, t + i, 1);
                i++;
                continue;
            }
            const char *body = t + i + 2;
            size_t blen = (size_t)(close - body), nlen = 0;
            if (d->dialect == ENVCHECK_DIALECT_DOTENV) {
                while (nlen < blen && body[nlen] != ':')
                    nlen++;
                const char *v = lookup(&d->vars, body, nlen);
                if (nlen < blen && (blen - nlen < 2 || body[nlen + 1] != '-')) {
                    envcheck__buf_add(out, t + i, 1); /* not a variable for dotenv */
                    i++;
                    continue;
                }
                if (v)
                    envcheck__buf_puts(out, v);
                else if (nlen < blen)
                    envcheck__buf_add(out, body + nlen + 2, blen - nlen - 2);
            } else {
                while (nlen < blen && body[nlen] != ':' && body[nlen] != '-' && body[nlen] != '+' &&
                       body[nlen] != '?')
                    nlen++;
                const char *v = lookup(&d->vars, body, nlen);
                int colon = nlen < blen && body[nlen] == ':';
                char op = nlen + (size_t)colon < blen ? body[nlen + (size_t)colon] : '\0';
                const char *arg = body + nlen + (size_t)colon + (op ? 1 : 0);
                size_t alen = (size_t)(close - arg);
                int unset = !v || (colon && !*v);
                if (op == '-' && unset)
                    envcheck__buf_add(out, arg, alen);
                else if (op == '+')
                    envcheck__buf_add(out, unset ? "" : arg, unset ? 0 : alen);
                else if (op == '?' && unset)
                    return 1;
                else if (v)
                    envcheck__buf_puts(out, v);
            }
            i = (size_t)(close - t) + 1;
            continue;
        }
        size_t nlen = 0;
        if (d->dialect == ENVCHECK_DIALECT_COMPOSE) {
            const char *s = t + i + 1;
            while (i + 1 + nlen < n && (s[nlen] == '_' || (s[nlen] >= 'A' && s[nlen] <= 'Z') ||
                                        (s[nlen] >= 'a' && s[nlen] <= 'z') ||
                                        (nlen && s[nlen] >= '0' && s[nlen] <= '9')))
                nlen++;
        }
        if (nlen == 0) {
            envcheck__buf_add(out, t + i, 1);
            i++;
            continue;
        }
        const char *v = lookup(&d->vars, t + i + 1, nlen);
        if (v)
            envcheck__buf_puts(out, v);
        i += 1 + nlen;
    }
    return 0;
}

/* Hand one assignment on; value is d->value. */
static int emit(dparser *d, const char *key, unsigned line)
{
    if (d->value.failed)
        return ENVCHECK_ENOMEM;
    const char *value = d->value.data ? d->value.data : "";
    int rc = d->assign(d->ctx, key, value, d->value.len, line);
    if (rc == 0)
        rc = seen_set(&d->vars, key, value, line);
    if (d->value.data)
        envcheck__wipe(d->value.data, d->value.len);
    d->value.len = 0;
    return rc;
}

/* Decode a dotenv quoted value t[0, n) into d->value. */
static void dotenv_unescape(dparser *d, const char *t, size_t n, char q)
{
    static const char from[] = "\\'\"abfnrtv", to[] = "\\'\"\a\b\f\n\r\t\v";
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '\\' && i + 1 < n) {
            const char *k = strchr(from, t[i + 1]);
            if (k && t[i + 1] && (q == '"' || t[i + 1] == '\\' || t[i + 1] == '\'')) {
                envcheck__buf_add(&d->value, &to[k - from], 1);
                i++;
                continue;
            }
        }
        envcheck__buf_add(&d->value, t + i, 1);
    }
}

static int parse_dotenv_statement(dparser *d)
{
    unsigned line = d->line;
    if (d->end - d->p > 7 && memcmp(d->p, "export", 6) == 0 && is_blank(d->p[6])) {
        advance(d, 6);
        while (d->p < d->end && is_blank(*d->p))
            advance(d, 1);
    }
    char key[256];
    size_t klen = 0;
    if (d->p < d->end && *d->p == '\'') {
        const char *q = memchr(d->p + 1, '\'', (size_t)(d->end - d->p - 1));
        if (!q || q == d->p + 1)
            return 1;
        klen = (size_t)(q - d->p - 1);
        if (klen >= sizeof key)
            return 1;
        memcpy(key, d->p + 1, klen);
        advance(d, klen + 2);
    } else {
        while (d->p + klen < d->end && d->p[klen] != '=' && d->p[klen] != '#' &&
               !is_space(d->p[klen]))
            klen++;
        if (klen == 0 || klen >= sizeof key)
            return 1;
        memcpy(key, d->p, klen);
        advance(d, klen);
    }
    key[klen] = '\0';
    while (d->p < d->end && is_blank(*d->p))
        advance(d, 1);
    int has_value = d->p < d->end && *d->p == '=';
    d->value.len = 0;
    if (has_value) {
        advance(d, 1);
        while (d->p < d->end && is_blank(*d->p))
            advance(d, 1);
        char q = d->p < d->end ? *d->p : '\0';
        if (q == '\'' || q == '"') {
            const char *close = closing_quote(d->p, d->end, q, 1);
            if (!close)
                return 2;
            size_t n = (size_t)(close - d->p - 1);
            envcheck__buf tmp = { NULL, 0, 0, 0 };
            dotenv_unescape(d, d->p + 1, n, q);
            expand(d, d->value.data ? d->value.data : "", d->value.len, &tmp);
            if (d->value.data)
                envcheck__wipe(d->value.data, d->value.len);
            d->value.len = 0;
            envcheck__buf_add(&d->value, tmp.data ? tmp.data : "", tmp.len);
            envcheck__buf_wipe(&tmp);
            advance(d, n + 2);
        } else {
            const char *s = d->p;
            while (d->p < d->end && *d->p != '\n' && *d->p != '\r')
                advance(d, 1);
            size_t n = (size_t)(d->p - s);
            for (size_t i = 1; i < n; i++) { /* cut at blanks followed by '#' */
                if (s[i] == '#' && is_blank(s[i - 1])) {
                    n = i;
                    break;
                }
            }
            while (n > 0 && is_space(s[n - 1]))
                n--;
            expand(d, s, n, &d->value);
        }
    }
    /* an optional comment, then the end of the line */
    while (d->p < d->end && is_blank(*d->p))
        advance(d, 1);
    if (d->p < d->end && *d->p == '#')
        while (d->p < d->end && *d->p != '\n' && *d->p != '\r')
            advance(d, 1);
    if (d->p < d->end && *d->p != '\n' && *d->p != '\r')
        return 1;
    skip_rest_of_line(d);
    if (!has_value)
        return d->lint(d->ctx, ENVCHECK_CODE_NO_EQUALS, "",
                       "a key without '=': it has no value and is ignored", line)
                   ? -1
                   : 0;
    return emit(d, key, line) ? -1 : 0;
}

static int parse_compose_statement(dparser *d)
{
    unsigned line = d->line;
    if (d->end - d->p >= 6 && memcmp(d->p, "export", 6) == 0) {
        advance(d, 6);
        while (d->p < d->end && is_blank(*d->p))
            advance(d, 1);
    }
    char key[256];
    size_t klen = 0, i = 0;
    int inherited = 0;
    for (; d->p + i < d->end; i++) {
        char c = d->p[i];
        if (is_blank(c) || c == '\r')
            continue;
        if (c == '=' || c == ':' || c == '\n') {
            inherited = c == '\n';
            break;
        }
        if (!(c == '_' || c == '.' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || (unsigned char)c >= 0x80))
            return 1;
    }
    if (d->p + i == d->end)
        inherited = 1;
    klen = i;
    while (klen > 0 && is_space(d->p[klen - 1]))
        klen--;
    if (klen == 0 || klen >= sizeof key || memchr(d->p, ' ', klen))
        return 1;
    memcpy(key, d->p, klen);
    key[klen] = '\0';
    advance(d, i < (size_t)(d->end - d->p) ? i + 1 : i);
    if (inherited) {
        const char *v = getenv(key);
        if (!v)
            return 0;
        d->value.len = 0;
        envcheck__buf_puts(&d->value, v);
        return emit(d, key, line) ? -1 : 0;
    }
    while (d->p < d->end && is_blank(*d->p))
        advance(d, 1);
    d->value.len = 0;
    char q = d->p < d->end ? *d->p : '\0';
    if (q == '\'' || q == '"') {
        const char *close = compose_closing(d->p, d->end, q);
        if (!close)
            return 2;
        size_t n = (size_t)(close - d->p - 1);
        const char *t = d->p + 1;
        if (q == '\'') {
            for (size_t k = 0; k < n; k++) {
                if (t[k] == '\\' && k + 1 < n && t[k + 1] == '\'')
                    k++;
                envcheck__buf_add(&d->value, t + k, 1);
            }
        } else {
            static const char from[] = "nrt\\\"'", to[] = "\n\r\t\\\"'";
            envcheck__buf tmp = { NULL, 0, 0, 0 };
            for (size_t k = 0; k < n; k++) {
                const char *e = t[k] == '\\' && k + 1 < n ? strchr(from, t[k + 1]) : NULL;
                if (e && t[k + 1]) {
                    envcheck__buf_add(&tmp, &to[e - from], 1);
                    k++;
                } else {
                    envcheck__buf_add(&tmp, t + k, 1);
                }
            }
            int err = expand(d, tmp.data ? tmp.data : "", tmp.len, &d->value);
            envcheck__buf_wipe(&tmp);
            if (err)
                return 3;
        }
        advance(d, n + 2);
    } else {
        const char *s = d->p;
        while (d->p < d->end && *d->p != '\n')
            advance(d, 1);
        size_t n = (size_t)(d->p - s);
        for (size_t k = 1; k < n; k++) { /* cut at a blank followed by '#' */
            if (s[k] == '#' && is_blank(s[k - 1])) {
                n = k;
                break;
            }
        }
        while (n > 0 && is_space(s[n - 1]))
            n--;
        if (expand(d, s, n, &d->value))
            return 3;
    }
    return emit(d, key, line) ? -1 : 0;
}

/* Values as the systemd dialect checks them: the same names and values are
 * accepted in every dialect. */
typedef struct checked {
    envcheck__assign_fn assign;
    envcheck__lint_fn lint;
    void *ctx;
} checked;

static int check_assign(void *ctx, const char *name, const char *value, size_t len, unsigned line)
{
    checked *c = ctx;
    size_t n = strlen(name);
    if (!envcheck__name_valid(name, n))
        return c->lint(c->ctx, ENVCHECK_CODE_INVALID_NAME, "",
                       "invalid variable name: the assignment is ignored "
                       "(names are [A-Za-z_][A-Za-z0-9_]*)",
                       line);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)value[i];
        if ((ch < 0x20 && ch != '\t' && ch != '\n') || ch == 0x7f)
            return c->lint(c->ctx, ENVCHECK_CODE_INVALID_VALUE, name,
                           "the value has control characters or invalid UTF-8: "
                           "the assignment is ignored",
                           line);
    }
    if (!envcheck__utf8_valid(value, len))
        return c->lint(c->ctx, ENVCHECK_CODE_INVALID_VALUE, name,
                       "the value has control characters or invalid UTF-8: "
                       "the assignment is ignored",
                       line);
    for (const char *s = name; *s; s++) {
        if (*s >= 'a' && *s <= 'z') {
            int rc = c->lint(c->ctx, ENVCHECK_CODE_LOWERCASE_KEY, name,
                             "the key has lowercase letters", line);
            if (rc)
                return rc;
            break;
        }
    }
    return c->assign(c->ctx, name, value, len, line);
}

static int check_lint(void *ctx, envcheck_code code, const char *name, const char *message,
                      unsigned line)
{
    checked *c = ctx;
    return c->lint(c->ctx, code, name, message, line);
}

static int parse_other(const char *data, size_t len, envcheck_dialect dialect,
                       envcheck__assign_fn assign, envcheck__lint_fn lint, void *ctx)
{
    checked chk = { assign, lint, ctx };
    char *copy = NULL;
    if (dialect == ENVCHECK_DIALECT_COMPOSE) { /* compose reads CRLF as LF */
        copy = malloc(len + 1);
        if (!copy)
            return ENVCHECK_ENOMEM;
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
            if (!(data[i] == '\r' && i + 1 < len && data[i + 1] == '\n'))
                copy[n++] = data[i];
        data = copy;
        len = n;
    }
    dparser d = { data,           data + len,       1, dialect, check_assign, check_lint, &chk,
                  { NULL, 0, 0 }, { NULL, 0, 0, 0 } };
    const char *nul = memchr(data, '\0', len);
    if (nul)
        d.end = nul;
    int rc = 0;
    while (rc == 0) {
        while (d.p < d.end && is_space(*d.p))
            advance(&d, 1);
        if (d.p >= d.end)
            break;
        if (*d.p == '#') {
            skip_rest_of_line(&d);
            continue;
        }
        const char *start = d.p;
        unsigned line = d.line;
        int r = dialect == ENVCHECK_DIALECT_DOTENV ? parse_dotenv_statement(&d)
                                                   : parse_compose_statement(&d);
        if (r < 0) {
            rc = d.value.failed ? ENVCHECK_ENOMEM : -1;
            break;
        }
        if (r == 0)
            continue;
        /* Not parseable: report it, go on at the next line. */
        d.p = start;
        d.line = line;
        const char *msg = r == 2   ? "a quoted value is not closed: it ends at the end of its line"
                          : r == 3 ? "a required variable of ${NAME?...} is unset: the assignment "
                                     "is ignored"
                                   : "a statement this dialect cannot parse: the line is ignored";
        if (r == 2) {
            /* the value up to the end of its line, as the error says */
            rc = lint_unterminated(&d, "");
        } else {
            rc = lint(ctx, ENVCHECK_CODE_SYNTAX, "", msg, line);
        }
        skip_rest_of_line(&d);
    }
    if (nul && rc == 0)
        rc = lint(ctx, ENVCHECK_CODE_INVALID_VALUE, "",
                  "a NUL byte: the rest of the file is ignored", d.line);
    if (rc == -1)
        rc = ENVCHECK_ENOMEM;
    seen_free(&d.vars);
    envcheck__buf_wipe(&d.value);
    if (copy) {
        envcheck__wipe(copy, len);
        free(copy);
    }
    return rc;
}

int envcheck__envfile_parse_dialect(const char *data, size_t len, envcheck_dialect dialect,
                                    envcheck__assign_fn assign, envcheck__lint_fn lint, void *ctx)
{
    if (dialect == ENVCHECK_DIALECT_SYSTEMD)
        return envcheck__envfile_parse(data, len, assign, lint, ctx);
    return parse_other(data, len, dialect, assign, lint, ctx);
}

/* ---- the lint that compares the dialects */

static int collect(void *ctx, const char *name, const char *value, size_t len, unsigned line)
{
    (void)len;
    return seen_set(ctx, name, value, line);
}

static int ignore_lint(void *ctx, envcheck_code code, const char *name, const char *message,
                       unsigned line)
{
    (void)ctx;
    (void)code;
    (void)name;
    (void)message;
    (void)line;
    return 0;
}

static const char *const dialect_names[] = { "systemd", "dotenv", "compose" };

int envcheck__envfile_lint_dialects(const char *data, size_t len, envcheck_dialect dialect,
                                    envcheck__lint_fn lint, void *ctx)
{
    seen r[3];
    memset(r, 0, sizeof r);
    int rc = 0;
    for (int k = 0; k < 3 && rc == 0; k++)
        rc = envcheck__envfile_parse_dialect(data, len, (envcheck_dialect)k, collect, ignore_lint,
                                             &r[k]);
    const seen *mine = &r[dialect];
    for (int k = 0; k < 3 && rc == 0; k++) {
        if (k == (int)dialect)
            continue;
        const seen *other = &r[k];
        for (size_t i = 0; i < mine->n && rc == 0; i++) {
            const kv *o = seen_find(other, mine->v[i].key);
            char msg[160];
            if (!o)
                snprintf(msg, sizeof msg, "the %s dialect does not set this variable",
                         dialect_names[k]);
            else if (strcmp(o->value, mine->v[i].value) != 0)
                snprintf(msg, sizeof msg, "the %s dialect reads another value (line %u)",
                         dialect_names[k], o->line);
            else
                continue;
            rc = lint(ctx, ENVCHECK_CODE_DIALECT, mine->v[i].key, msg, mine->v[i].line);
        }
        for (size_t i = 0; i < other->n && rc == 0; i++) {
            if (seen_find(mine, other->v[i].key))
                continue;
            char msg[160];
            snprintf(msg, sizeof msg, "the %s dialect sets this variable, the %s dialect does not",
                     dialect_names[k], dialect_names[dialect]);
            rc = lint(ctx, ENVCHECK_CODE_DIALECT, other->v[i].key, msg, other->v[i].line);
        }
    }
    for (int k = 0; k < 3; k++)
        seen_free(&r[k]);
    return rc;
}
