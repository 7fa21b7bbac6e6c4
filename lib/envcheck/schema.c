/* Schemas built in code: variables and rules. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *envcheck_type_name(envcheck_type type)
{
    switch (type) {
    case ENVCHECK_TYPE_STRING:
        return "string";
    case ENVCHECK_TYPE_INT:
        return "int";
    case ENVCHECK_TYPE_FLOAT:
        return "float";
    case ENVCHECK_TYPE_BOOL:
        return "bool";
    case ENVCHECK_TYPE_ENUM:
        return "enum";
    case ENVCHECK_TYPE_URL:
        return "url";
    case ENVCHECK_TYPE_EMAIL:
        return "email";
    case ENVCHECK_TYPE_HOST:
        return "host";
    case ENVCHECK_TYPE_PORT:
        return "port";
    case ENVCHECK_TYPE_DURATION:
        return "duration";
    case ENVCHECK_TYPE_PATH:
        return "path";
    case ENVCHECK_TYPE_LIST:
        return "list";
    case ENVCHECK_TYPE_API_KEY:
        return "api_key";
    }
    return "unknown";
}

void envcheck__schema_seterr(envcheck_schema *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
}

int envcheck_schema_new(envcheck_schema **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? ENVCHECK_OK : ENVCHECK_ENOMEM;
}

static void free_strv(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void var_free(envcheck__var *v)
{
    free(v->name);
    free(v->file_name);
    envcheck__wipe_free(v->default_value);
    free(v->description);
    if (envcheck__var_sensitive(v))
        envcheck__wipe_free(v->example);
    else
        free(v->example);
    free(v->charset_text);
    free(v->prefix);
    free_strv(v->values, v->o.n_values);
    free_strv(v->schemes, v->o.n_schemes);
    memset(v, 0, sizeof *v);
}

static void rule_free(envcheck__rule *r)
{
    free(r->name);
    free(r->name2);
    free(r->value);
    free_strv(r->names, r->n_names);
    memset(r, 0, sizeof *r);
}

static const char *var_name_at(const void *ctx, size_t i)
{
    return ((const envcheck_schema *)ctx)->vars[i].name;
}

void envcheck__schema_truncate(envcheck_schema *s, size_t n_vars, size_t n_rules)
{
    int changed = 0;
    while (s->n_vars > n_vars) {
        var_free(&s->vars[--s->n_vars]);
        changed = 1;
    }
    while (s->n_rules > n_rules)
        rule_free(&s->rules[--s->n_rules]);
    if (changed && s->index.cap) {
        /* Re-insert the survivors in place: fewer names than before, so
         * the index never needs to grow (and no allocation can fail). */
        memset(s->index.slots, 0, s->index.cap * sizeof *s->index.slots);
        s->index.count = 0;
        for (size_t i = 0; i < s->n_vars; i++)
            (void)envcheck__index_insert(&s->index, s->vars[i].name, i, var_name_at, s);
    }
}

void envcheck_schema_free(envcheck_schema *s)
{
    if (!s)
        return;
    envcheck__schema_truncate(s, 0, 0);
    free(s->vars);
    free(s->rules);
    envcheck__index_free(&s->index);
    free(s);
}

const char *envcheck_schema_errmsg(const envcheck_schema *s)
{
    return s->errmsg;
}

size_t envcheck_schema_count(const envcheck_schema *s)
{
    return s->n_vars;
}

long envcheck__schema_find(const envcheck_schema *s, const char *name)
{
    if (!s->index.cap)
        return -1;
    size_t k = envcheck__index_find(&s->index, name, var_name_at, s);
    if (!k || k > s->n_vars)
        return -1;
    return (long)(k - 1);
}

int envcheck__var_sensitive(const envcheck__var *var)
{
    return var->o.sensitive || var->o.type == ENVCHECK_TYPE_API_KEY;
}

static char **copy_strv(const char *const *v, size_t n, int *bad)
{
    *bad = 0;
    if (!n)
        return NULL;
    if (!v) {
        *bad = 1;
        return NULL;
    }
    char **c = calloc(n, sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (!v[i]) {
            *bad = 1;
            free_strv(c, n);
            return NULL;
        }
        c[i] = envcheck__strdup(v[i]);
        if (!c[i]) {
            free_strv(c, n);
            return NULL;
        }
    }
    return c;
}

static int dup_opt(const char *in, char **out)
{
    *out = NULL;
    if (!in)
        return 0;
    *out = envcheck__strdup(in);
    return *out ? 0 : -1;
}

int envcheck_schema_add(envcheck_schema *s, const char *name, const envcheck_var_options *opts)
{
    static const envcheck_var_options defaults = ENVCHECK_VAR_OPTIONS_INIT;
    if (!opts)
        opts = &defaults;
    s->errmsg[0] = '\0';
    if (opts->version < 1 || opts->version > ENVCHECK_VAR_OPTIONS_VERSION) {
        envcheck__schema_seterr(s, "%s: unsupported options version %u", name, opts->version);
        return ENVCHECK_EINVAL;
    }
    if (!envcheck__name_valid(name, strlen(name))) {
        envcheck__schema_seterr(s, "invalid variable name (names are [A-Za-z_][A-Za-z0-9_]*)");
        return ENVCHECK_EINVAL;
    }
    if ((unsigned)opts->type > ENVCHECK_TYPE_API_KEY ||
        (opts->type == ENVCHECK_TYPE_LIST &&
         ((unsigned)opts->element_type > ENVCHECK_TYPE_API_KEY ||
          opts->element_type == ENVCHECK_TYPE_LIST))) {
        envcheck__schema_seterr(s, "%s: invalid type", name);
        return ENVCHECK_EINVAL;
    }
    if (envcheck__schema_find(s, name) >= 0) {
        envcheck__schema_seterr(s, "%s: declared twice", name);
        return ENVCHECK_ESCHEMA;
    }
    envcheck_type t = opts->type == ENVCHECK_TYPE_LIST ? opts->element_type : opts->type;
    if (opts->required && opts->default_value) {
        envcheck__schema_seterr(
            s, "%s: required and a default at once (a default makes it optional)", name);
        return ENVCHECK_ESCHEMA;
    }
    if (t == ENVCHECK_TYPE_ENUM && opts->n_values == 0) {
        envcheck__schema_seterr(s, "%s: an enum needs at least one value", name);
        return ENVCHECK_ESCHEMA;
    }
    if (t == ENVCHECK_TYPE_FLOAT &&
        ((opts->has_min && !isfinite(opts->min_float)) ||
         (opts->has_max && !isfinite(opts->max_float)) ||
         (opts->has_min && opts->has_max && opts->min_float > opts->max_float))) {
        envcheck__schema_seterr(s, "%s: min and max must be finite with min <= max", name);
        return ENVCHECK_ESCHEMA;
    }
    if (t != ENVCHECK_TYPE_FLOAT && opts->has_min && opts->has_max && opts->min > opts->max) {
        envcheck__schema_seterr(s, "%s: min is greater than max", name);
        return ENVCHECK_ESCHEMA;
    }
    if (opts->max_length && opts->min_length > opts->max_length) {
        envcheck__schema_seterr(s, "%s: min_length is greater than max_length", name);
        return ENVCHECK_ESCHEMA;
    }
    if (opts->type == ENVCHECK_TYPE_LIST && (opts->separator == ' ' || opts->separator == '\t')) {
        envcheck__schema_seterr(s, "%s: a list separator cannot be a blank", name);
        return ENVCHECK_ESCHEMA;
    }

    envcheck__var v;
    memset(&v, 0, sizeof v);
    v.o = *opts;
    int bad_values = 0, bad_schemes = 0;
    size_t nlen = strlen(name);
    v.name = envcheck__strdup(name);
    v.file_name = malloc(nlen + 6);
    if (v.file_name)
        snprintf(v.file_name, nlen + 6, "%s_FILE", name);
    int oom = !v.name || !v.file_name || dup_opt(opts->default_value, &v.default_value) ||
              dup_opt(opts->description, &v.description) || dup_opt(opts->example, &v.example) ||
              dup_opt(opts->charset, &v.charset_text) || dup_opt(opts->prefix, &v.prefix);
    if (!oom && t == ENVCHECK_TYPE_ENUM) {
        v.values = copy_strv(opts->values, opts->n_values, &bad_values);
        oom = !v.values && !bad_values;
    } else {
        v.o.n_values = 0;
    }
    if (!oom && t == ENVCHECK_TYPE_URL && opts->n_schemes) {
        v.schemes = copy_strv(opts->schemes, opts->n_schemes, &bad_schemes);
        oom = !v.schemes && !bad_schemes;
    } else {
        v.o.n_schemes = 0;
    }
    if (bad_values)
        v.o.n_values = 0;
    if (bad_schemes)
        v.o.n_schemes = 0;
    v.o.values = NULL;
    v.o.schemes = NULL;
    v.o.default_value = v.default_value;
    v.o.description = v.description;
    v.o.example = v.example;
    v.o.charset = v.charset_text;
    v.o.prefix = v.prefix;
    if (oom) {
        var_free(&v);
        return ENVCHECK_ENOMEM;
    }
    if (bad_values || bad_schemes) {
        var_free(&v);
        envcheck__schema_seterr(s, "%s: a NULL in values or schemes", name);
        return ENVCHECK_EINVAL;
    }
    if (v.charset_text && envcheck__charset_compile(v.charset_text, v.charset) != 0) {
        var_free(&v);
        envcheck__schema_seterr(s, "%s: invalid charset (ASCII ranges such as A-Za-z0-9_-)", name);
        return ENVCHECK_ESCHEMA;
    }
    if (v.default_value) {
        /* A default is validated like a value; existence of a path is
         * checked when validating, on the machine that runs. */
        envcheck__var check = v;
        check.o.must_exist = 0;
        envcheck__value val;
        envcheck__fail f;
        int blank = envcheck__is_blank(v.default_value) &&
                    !(v.o.type == ENVCHECK_TYPE_STRING && v.o.allow_empty);
        int rc = blank ? -1 : envcheck__parse_value(&check, v.default_value, &val, &f);
        if (rc == ENVCHECK_ENOMEM) {
            var_free(&v);
            return rc;
        }
        if (rc != 0) {
            envcheck__buf b = { NULL, 0, 0, 0 };
            if (envcheck__var_sensitive(&v))
                envcheck__buf_puts(&b, ENVCHECK_MASK);
            else if (v.o.type == ENVCHECK_TYPE_URL)
                envcheck__url_append_masked(&b, v.default_value);
            else
                envcheck__buf_quote(&b, v.default_value, 64);
            char *shown = envcheck__buf_take(&b);
            envcheck__schema_seterr(s, "%s: the default %s %s", name, shown ? shown : ENVCHECK_MASK,
                                    blank ? "is blank" : f.reason);
            envcheck__wipe_free(shown);
            var_free(&v);
            return ENVCHECK_ESCHEMA;
        }
        envcheck__value_clear(&val);
    }
    if (s->n_vars == s->cap_vars) {
        size_t cap = s->cap_vars ? s->cap_vars * 2 : 16;
        envcheck__var *more = realloc(s->vars, cap * sizeof *more);
        if (!more) {
            var_free(&v);
            return ENVCHECK_ENOMEM;
        }
        s->vars = more;
        s->cap_vars = cap;
    }
    s->vars[s->n_vars] = v;
    if (envcheck__index_insert(&s->index, v.name, s->n_vars, var_name_at, s) != 0) {
        var_free(&s->vars[s->n_vars]);
        return ENVCHECK_ENOMEM;
    }
    s->n_vars++;
    return ENVCHECK_OK;
}

/* ---- rules */

static envcheck__rule *new_rule(envcheck_schema *s)
{
    if (s->n_rules == s->cap_rules) {
        size_t cap = s->cap_rules ? s->cap_rules * 2 : 8;
        envcheck__rule *more = realloc(s->rules, cap * sizeof *more);
        if (!more)
            return NULL;
        s->rules = more;
        s->cap_rules = cap;
    }
    envcheck__rule *r = &s->rules[s->n_rules];
    memset(r, 0, sizeof *r);
    return r;
}

static int names_valid(envcheck_schema *s, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!names[i] || !envcheck__name_valid(names[i], strlen(names[i]))) {
            envcheck__schema_seterr(s, "rule: name %zu is not a valid variable name", i + 1);
            return 0;
        }
    }
    return 1;
}

int envcheck_schema_require_if(envcheck_schema *s, const char *name, envcheck_condition cond,
                               const char *value, const char *const *required, size_t n)
{
    s->errmsg[0] = '\0';
    if ((unsigned)cond > ENVCHECK_IF_EQUALS || (cond == ENVCHECK_IF_EQUALS && !value) || n == 0 ||
        !required) {
        envcheck__schema_seterr(s, "require_if: bad condition or empty list");
        return ENVCHECK_EINVAL;
    }
    if (!names_valid(s, &name, 1) || !names_valid(s, required, n))
        return ENVCHECK_EINVAL;
    envcheck__rule *r = new_rule(s);
    if (!r)
        return ENVCHECK_ENOMEM;
    int bad = 0;
    r->kind = ENVCHECK__RULE_REQUIRE_IF;
    r->cond = cond;
    r->name = envcheck__strdup(name);
    r->value = cond == ENVCHECK_IF_EQUALS ? envcheck__strdup(value) : NULL;
    r->names = copy_strv(required, n, &bad);
    r->n_names = n;
    if (!r->name || !r->names || (cond == ENVCHECK_IF_EQUALS && !r->value)) {
        rule_free(r);
        return ENVCHECK_ENOMEM;
    }
    s->n_rules++;
    return ENVCHECK_OK;
}

int envcheck_schema_group_rule(envcheck_schema *s, envcheck_group_rule kind,
                               const char *const *names, size_t n)
{
    s->errmsg[0] = '\0';
    if ((unsigned)kind > ENVCHECK_AT_LEAST_ONE || n < 2) {
        envcheck__schema_seterr(s, "group rule: bad kind or fewer than two names");
        return ENVCHECK_EINVAL;
    }
    if (!names_valid(s, names, n))
        return ENVCHECK_EINVAL;
    envcheck__rule *r = new_rule(s);
    if (!r)
        return ENVCHECK_ENOMEM;
    int bad = 0;
    r->kind = ENVCHECK__RULE_GROUP;
    r->group = kind;
    r->names = copy_strv(names, n, &bad);
    r->n_names = n;
    if (!r->names) {
        rule_free(r);
        return ENVCHECK_ENOMEM;
    }
    s->n_rules++;
    return ENVCHECK_OK;
}

/* 1 number, 2 duration, 0 not comparable, -1 undeclared */
static int comparable(const envcheck_schema *s, const char *name)
{
    long i = envcheck__schema_find(s, name);
    if (i < 0)
        return -1;
    switch (s->vars[i].o.type) {
    case ENVCHECK_TYPE_INT:
    case ENVCHECK_TYPE_PORT:
    case ENVCHECK_TYPE_FLOAT:
        return 1;
    case ENVCHECK_TYPE_DURATION:
        return 2;
    default:
        return 0;
    }
}

int envcheck_schema_less_than(envcheck_schema *s, const char *a, const char *b, int or_equal)
{
    s->errmsg[0] = '\0';
    const char *pair[2] = { a, b };
    if (!names_valid(s, pair, 2))
        return ENVCHECK_EINVAL;
    int ka = comparable(s, a), kb = comparable(s, b);
    if (ka == 0 || kb == 0 || (ka > 0 && kb > 0 && ka != kb)) {
        envcheck__schema_seterr(
            s, "%s %s %s: compares numbers with numbers or durations with durations", a,
            or_equal ? "<=" : "<", b);
        return ENVCHECK_ESCHEMA;
    }
    envcheck__rule *r = new_rule(s);
    if (!r)
        return ENVCHECK_ENOMEM;
    r->kind = ENVCHECK__RULE_LESS;
    r->or_equal = or_equal ? 1 : 0;
    r->name = envcheck__strdup(a);
    r->name2 = envcheck__strdup(b);
    if (!r->name || !r->name2) {
        rule_free(r);
        return ENVCHECK_ENOMEM;
    }
    s->n_rules++;
    return ENVCHECK_OK;
}

int envcheck_schema_custom_rule(envcheck_schema *s, const char *name, envcheck_rule_fn fn,
                                void *userdata)
{
    s->errmsg[0] = '\0';
    if (!*name) {
        envcheck__schema_seterr(s, "custom rule: empty name");
        return ENVCHECK_EINVAL;
    }
    envcheck__rule *r = new_rule(s);
    if (!r)
        return ENVCHECK_ENOMEM;
    r->kind = ENVCHECK__RULE_CUSTOM;
    r->name = envcheck__strdup(name);
    r->fn = fn;
    r->userdata = userdata;
    if (!r->name) {
        rule_free(r);
        return ENVCHECK_ENOMEM;
    }
    s->n_rules++;
    return ENVCHECK_OK;
}
