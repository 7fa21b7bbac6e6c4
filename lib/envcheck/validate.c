/* One validation pass: every variable, then every rule, then the lint of
 * the source's env files; findings sorted and grouped. */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *envcheck_group_name(envcheck_group group)
{
    switch (group) {
    case ENVCHECK_GROUP_MISSING:
        return "missing";
    case ENVCHECK_GROUP_INVALID:
        return "invalid";
    case ENVCHECK_GROUP_RULES:
        return "rules";
    case ENVCHECK_GROUP_LINT:
        return "lint";
    }
    return "unknown";
}

const char *envcheck_code_name(envcheck_code code)
{
    static const char *const names[] = {
        "missing",   "empty",         "parse",        "range",         "length",
        "charset",   "prefix",        "enum",         "url",           "scheme",
        "path",      "file",          "conflict",     "rule",          "duplicate_key",
        "no_equals", "lowercase_key", "invalid_name", "invalid_value", "unterminated_quote",
        "dialect",   "syntax",
    };
    if ((unsigned)code < sizeof names / sizeof *names)
        return names[code];
    return "unknown";
}

/* ---- findings */

static int add_finding(envcheck_result *r, envcheck_group group, envcheck_code code,
                       const char *name, const char *file, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

static int add_finding(envcheck_result *r, envcheck_group group, envcheck_code code,
                       const char *name, const char *file, unsigned line, const char *fmt, ...)
{
    if (r->n_findings == r->cap_findings) {
        size_t cap = r->cap_findings ? r->cap_findings * 2 : 8;
        envcheck__finding *more = realloc(r->findings, cap * sizeof *more);
        if (!more)
            return ENVCHECK_ENOMEM;
        r->findings = more;
        r->cap_findings = cap;
    }
    envcheck__buf b = { NULL, 0, 0, 0 };
    va_list ap;
    va_start(ap, fmt);
    envcheck__buf_vprintf(&b, fmt, ap);
    va_end(ap);
    char *msg = envcheck__buf_take(&b);
    char *n = envcheck__strdup(name);
    char *f = file ? envcheck__strdup(file) : NULL;
    if (!msg || !n || (file && !f)) {
        free(msg);
        free(n);
        free(f);
        return ENVCHECK_ENOMEM;
    }
    envcheck__finding *fd = &r->findings[r->n_findings];
    fd->pub.group = group;
    fd->pub.code = code;
    fd->pub.name = fd->name = n;
    fd->pub.message = fd->message = msg;
    fd->pub.file = fd->file = f;
    fd->pub.line = line;
    fd->seq = r->n_findings;
    r->n_findings++;
    r->group_count[group]++;
    return 0;
}

static int cmp_findings(const void *pa, const void *pb)
{
    const envcheck__finding *a = pa, *b = pb;
    if (a->pub.group != b->pub.group)
        return a->pub.group < b->pub.group ? -1 : 1;
    if (a->pub.group == ENVCHECK_GROUP_LINT) {
        int c = strcmp(a->pub.file ? a->pub.file : "", b->pub.file ? b->pub.file : "");
        if (c)
            return c;
        if (a->pub.line != b->pub.line)
            return a->pub.line < b->pub.line ? -1 : 1;
    }
    int c = strcmp(a->pub.name, b->pub.name);
    if (c)
        return c;
    c = strcmp(a->pub.file ? a->pub.file : "", b->pub.file ? b->pub.file : "");
    if (c)
        return c;
    if (a->pub.line != b->pub.line)
        return a->pub.line < b->pub.line ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* ---- showing values */

/* Append the value as it may be shown: the mask for a sensitive variable,
 * else quoted, with URL passwords masked. */
static void show_value_q(envcheck__buf *b, const envcheck__var *var, const char *text, int quote)
{
    if (envcheck__var_sensitive(var)) {
        envcheck__buf_puts(b, ENVCHECK_MASK);
        return;
    }
    envcheck_type t = var->o.type;
    if (t == ENVCHECK_TYPE_URL ||
        (t == ENVCHECK_TYPE_LIST && var->o.element_type == ENVCHECK_TYPE_URL)) {
        envcheck__buf m = { NULL, 0, 0, 0 };
        if (t == ENVCHECK_TYPE_URL) {
            envcheck__url_append_masked(&m, text);
        } else {
            char sep = var->o.separator ? var->o.separator : ',';
            const char *p = text;
            for (;;) {
                const char *end = strchr(p, sep);
                size_t n = end ? (size_t)(end - p) : strlen(p);
                char *item = envcheck__strndup(p, n);
                if (!item) {
                    m.failed = 1;
                    break;
                }
                envcheck__url_append_masked(&m, item);
                envcheck__wipe_free(item);
                if (!end)
                    break;
                envcheck__buf_add(&m, &sep, 1);
                p = end + 1;
            }
        }
        char *masked = envcheck__buf_take(&m);
        if (masked && quote)
            envcheck__buf_quote(b, masked, 200);
        else if (masked)
            envcheck__buf_puts(b, masked);
        else
            envcheck__buf_puts(b, ENVCHECK_MASK);
        envcheck__wipe_free(masked);
        return;
    }
    if (quote)
        envcheck__buf_quote(b, text, 200);
    else
        envcheck__buf_puts(b, text);
}

static void show_value(envcheck__buf *b, const envcheck__var *var, const char *text)
{
    show_value_q(b, var, text, 1);
}

/* The shown value of result variable i (for reports and dumps). */
void envcheck__result_show(envcheck__buf *b, const envcheck_result *r, size_t i, int quote)
{
    show_value_q(b, &r->schema->vars[i], r->vars[i].v.text ? r->vars[i].v.text : "", quote);
}

static int invalid(envcheck_result *r, const envcheck__var *var, const char *text, int is_default,
                   const envcheck__fail *f)
{
    envcheck__buf b = { NULL, 0, 0, 0 };
    if (is_default)
        envcheck__buf_puts(&b, "the default ");
    show_value(&b, var, text);
    char *shown = envcheck__buf_take(&b);
    if (!shown)
        return ENVCHECK_ENOMEM;
    int rc = add_finding(r, ENVCHECK_GROUP_INVALID, f->code, var->name, NULL, 0, "%s %s", shown,
                         f->reason);
    envcheck__wipe_free(shown);
    return rc;
}

/* ---- reading a variable */

typedef struct raw {
    const char *value;
    char *owned; /* a NAME_FILE's contents */
    const char *origin;
    unsigned line;
} raw;

static void lookup(const envcheck_source *src, const char *name, raw *out)
{
    memset(out, 0, sizeof *out);
    if (!src) {
        out->value = getenv(name);
        out->origin = "environment";
        return;
    }
    const envcheck__entry *e = envcheck__source_find(src, name);
    if (e) {
        out->value = e->value;
        out->origin = e->origin;
        out->line = e->line;
    }
}

static int set_origin(envcheck__rvar *rv, const char *origin, unsigned line)
{
    if (line) {
        size_t n = strlen(origin) + 16;
        rv->origin = malloc(n);
        if (rv->origin)
            snprintf(rv->origin, n, "%s:%u", origin, line);
    } else {
        rv->origin = envcheck__strdup(origin);
    }
    return rv->origin ? 0 : ENVCHECK_ENOMEM;
}

static int read_var_file(envcheck_result *r, const envcheck__var *var, const char *path, raw *out)
{
    char *data = NULL;
    size_t len = 0;
    int e = envcheck__read_regular_file(path, &data, &len);
    if (e == ENOMEM)
        return ENVCHECK_ENOMEM;
    if (e == ENVCHECK__ENOTREG) {
        int rc = add_finding(r, ENVCHECK_GROUP_INVALID, ENVCHECK_CODE_FILE, var->name, path, 0,
                             "%s names a FIFO, a device or a socket, not a regular file",
                             var->file_name);
        return rc ? rc : 1;
    }
    if (e != 0) {
        char why[128];
        if (strerror_r(e, why, sizeof why) != 0)
            snprintf(why, sizeof why, "error %d", e);
        int rc = add_finding(r, ENVCHECK_GROUP_INVALID, ENVCHECK_CODE_FILE, var->name, path, 0,
                             "%s names a file that cannot be read: %s", var->file_name, why);
        return rc ? rc : 1;
    }
    if (memchr(data, '\0', len)) {
        envcheck__wipe(data, len);
        free(data);
        int rc = add_finding(r, ENVCHECK_GROUP_INVALID, ENVCHECK_CODE_FILE, var->name, path, 0,
                             "%s names a file that contains a NUL byte", var->file_name);
        return rc ? rc : 1;
    }
    if (len && data[len - 1] == '\n') {
        data[--len] = '\0';
        if (len && data[len - 1] == '\r')
            data[--len] = '\0';
    }
    out->owned = data;
    out->value = data;
    return 0;
}

static int check_var(envcheck_result *r, const envcheck_source *src, size_t i)
{
    const envcheck__var *var = &r->schema->vars[i];
    envcheck__rvar *rv = &r->vars[i];
    int allow_blank = var->o.type == ENVCHECK_TYPE_STRING && var->o.allow_empty;
    raw v;
    lookup(src, var->name, &v);
    int rc = 0;
    if (var->o.allow_file) {
        raw f;
        lookup(src, var->file_name, &f);
        int have_value = v.value && (allow_blank || !envcheck__is_blank(v.value));
        if (f.value && !envcheck__is_blank(f.value)) {
            if (have_value) {
                rv->state = ENVCHECK__INVALID;
                return add_finding(r, ENVCHECK_GROUP_INVALID, ENVCHECK_CODE_CONFLICT, var->name,
                                   NULL, 0, "both %s and %s are set; set only one", var->name,
                                   var->file_name);
            }
            char *path = envcheck__strdup(f.value);
            if (!path)
                return ENVCHECK_ENOMEM;
            rc = read_var_file(r, var, path, &v);
            if (rc != 0) {
                free(path);
                if (rc > 0)
                    rv->state = ENVCHECK__INVALID;
                return rc > 0 ? 0 : rc;
            }
            size_t n = strlen(path) + 8;
            rv->origin = malloc(n);
            if (rv->origin)
                snprintf(rv->origin, n, "file %s", path);
            free(path);
            if (!rv->origin) {
                envcheck__wipe(v.owned, strlen(v.owned));
                free(v.owned);
                return ENVCHECK_ENOMEM;
            }
        }
    }
    int is_default = 0;
    if (v.value && !allow_blank && envcheck__is_blank(v.value)) {
        /* blank counts as missing */
        if (var->o.required) {
            rv->state = ENVCHECK__UNSET;
            rc = add_finding(r, ENVCHECK_GROUP_MISSING, ENVCHECK_CODE_EMPTY, var->name, NULL, 0,
                             "required but set to a blank value");
            goto out;
        }
        if (v.owned) {
            envcheck__wipe(v.owned, strlen(v.owned));
            free(v.owned);
            v.owned = NULL;
        }
        v.value = NULL;
    }
    if (!v.value) {
        if (var->o.required) {
            if (var->description)
                rc = add_finding(r, ENVCHECK_GROUP_MISSING, ENVCHECK_CODE_MISSING, var->name, NULL,
                                 0, "required but not set (%s)", var->description);
            else
                rc = add_finding(r, ENVCHECK_GROUP_MISSING, ENVCHECK_CODE_MISSING, var->name, NULL,
                                 0, "required but not set");
            goto out;
        }
        if (!var->default_value)
            goto out;
        v.value = var->default_value;
        is_default = 1;
        free(rv->origin);
        rv->origin = NULL;
    } else {
        rv->present = 1;
    }
    if (!rv->origin) {
        rc = set_origin(rv, is_default ? "default" : v.origin, is_default ? 0 : v.line);
        if (rc != 0)
            goto out;
    }
    envcheck__fail f;
    rc = envcheck__parse_value(var, v.value, &rv->v, &f);
    if (rc == 0) {
        rv->state = is_default ? ENVCHECK__DEFAULT : ENVCHECK__SET;
    } else if (rc == -1) {
        rv->state = ENVCHECK__INVALID;
        rv->v.text = envcheck__strdup(v.value); /* kept for masking custom messages */
        rc = rv->v.text ? invalid(r, var, v.value, is_default, &f) : ENVCHECK_ENOMEM;
    }
out:
    if (v.owned) {
        envcheck__wipe(v.owned, strlen(v.owned));
        free(v.owned);
    }
    return rc;
}

/* ---- rules */

typedef struct effective {
    int declared;
    const envcheck__var *var;
    const envcheck__rvar *rv;
    const char *text; /* NULL: no value */
    int present;      /* set in the source, non-blank */
} effective;

static void get_effective(const envcheck_result *r, const envcheck_source *src, const char *name,
                          effective *e)
{
    memset(e, 0, sizeof *e);
    long i = envcheck__schema_find(r->schema, name);
    if (i >= 0) {
        e->declared = 1;
        e->var = &r->schema->vars[i];
        e->rv = &r->vars[i];
        e->present = e->rv->present;
        e->text = e->rv->state != ENVCHECK__UNSET ? e->rv->v.text : NULL;
        if (e->rv->state != ENVCHECK__UNSET && !e->text)
            e->text = ""; /* invalid file contents etc.: it has a value */
        return;
    }
    raw v;
    lookup(src, name, &v);
    if (v.value && !envcheck__is_blank(v.value)) {
        e->text = v.value;
        e->present = 1;
    }
}

static char *join_names(char *const *names, size_t n)
{
    envcheck__buf b = { NULL, 0, 0, 0 };
    for (size_t i = 0; i < n; i++) {
        if (i)
            envcheck__buf_puts(&b, ", ");
        envcheck__buf_puts(&b, names[i]);
    }
    return envcheck__buf_take(&b);
}

static int condition_holds(const envcheck__rule *rule, const effective *e)
{
    int b;
    switch (rule->cond) {
    case ENVCHECK_IF_SET:
        return e->present;
    case ENVCHECK_IF_TRUE:
    case ENVCHECK_IF_FALSE:
        if (!e->text)
            return 0;
        if (e->declared && e->var->o.type == ENVCHECK_TYPE_BOOL) {
            if (e->rv->state != ENVCHECK__SET && e->rv->state != ENVCHECK__DEFAULT)
                return 0;
            b = e->rv->v.u.b;
        } else if (envcheck__parse_bool(e->text, &b) != 0) {
            return 0;
        }
        return rule->cond == ENVCHECK_IF_TRUE ? b : !b;
    case ENVCHECK_IF_EQUALS:
        if (!e->text)
            return 0;
        if (e->declared && (e->rv->state == ENVCHECK__SET || e->rv->state == ENVCHECK__DEFAULT)) {
            if (e->var->o.type == ENVCHECK_TYPE_BOOL) {
                int want;
                return envcheck__parse_bool(rule->value, &want) == 0 && want == e->rv->v.u.b;
            }
            if (e->var->o.type == ENVCHECK_TYPE_ENUM && e->var->o.case_insensitive)
                return envcheck__ascii_casecmp(e->text, rule->value) == 0;
        }
        return strcmp(e->text, rule->value) == 0;
    }
    return 0;
}

static int rule_require_if(envcheck_result *r, const envcheck_source *src,
                           const envcheck__rule *rule)
{
    effective c;
    get_effective(r, src, rule->name, &c);
    if (!condition_holds(rule, &c))
        return 0;
    char because[256];
    switch (rule->cond) {
    case ENVCHECK_IF_SET:
        snprintf(because, sizeof because, "%s is set", rule->name);
        break;
    case ENVCHECK_IF_TRUE:
        snprintf(because, sizeof because, "%s is true", rule->name);
        break;
    case ENVCHECK_IF_FALSE:
        snprintf(because, sizeof because, "%s is false", rule->name);
        break;
    case ENVCHECK_IF_EQUALS:
        if (c.declared && envcheck__var_sensitive(c.var))
            snprintf(because, sizeof because, "%s has the value that requires it", rule->name);
        else
            snprintf(because, sizeof because, "%s is \"%.160s\"", rule->name, rule->value);
        break;
    }
    for (size_t i = 0; i < rule->n_names; i++) {
        effective e;
        get_effective(r, src, rule->names[i], &e);
        if (e.text)
            continue;
        int rc = add_finding(r, ENVCHECK_GROUP_RULES, ENVCHECK_CODE_RULE, rule->names[i], NULL, 0,
                             "required because %s", because);
        if (rc)
            return rc;
    }
    return 0;
}

static int rule_group(envcheck_result *r, const envcheck_source *src, const envcheck__rule *rule)
{
    size_t n = rule->n_names, have = 0;
    int *has = calloc(n, sizeof *has);
    if (!has)
        return ENVCHECK_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        effective e;
        get_effective(r, src, rule->names[i], &e);
        has[i] = e.text != NULL;
        have += (size_t)has[i];
    }
    char *list = join_names(rule->names, n);
    int rc = list ? 0 : ENVCHECK_ENOMEM;
    for (size_t i = 0; i < n && rc == 0; i++) {
        switch (rule->group) {
        case ENVCHECK_ALL_OR_NONE:
            if (have && have < n && !has[i])
                rc = add_finding(r, ENVCHECK_GROUP_RULES, ENVCHECK_CODE_RULE, rule->names[i], NULL,
                                 0, "required: %s must be set all together or not at all", list);
            break;
        case ENVCHECK_AT_MOST_ONE:
            if (have > 1 && has[i])
                rc = add_finding(r, ENVCHECK_GROUP_RULES, ENVCHECK_CODE_RULE, rule->names[i], NULL,
                                 0, "conflicts: at most one of %s may be set", list);
            break;
        case ENVCHECK_AT_LEAST_ONE:
            if (have == 0 && i == 0)
                rc = add_finding(r, ENVCHECK_GROUP_RULES, ENVCHECK_CODE_RULE, rule->names[i], NULL,
                                 0, "missing: at least one of %s must be set", list);
            break;
        }
    }
    free(list);
    free(has);
    return rc;
}

typedef struct num {
    int ok;     /* 1: a number; 0: no value; -1: not comparable */
    int is_int; /* i valid */
    int64_t i;
    double f;
    int shown; /* may be shown */
} num;

static void get_num(const envcheck_result *r, const envcheck_source *src, const char *name,
                    int duration, num *out)
{
    memset(out, 0, sizeof *out);
    effective e;
    get_effective(r, src, name, &e);
    if (!e.text)
        return;
    if (e.declared) {
        if (e.rv->state != ENVCHECK__SET && e.rv->state != ENVCHECK__DEFAULT)
            return; /* invalid: already reported */
        out->ok = 1;
        out->shown = !envcheck__var_sensitive(e.var);
        if (e.var->o.type == ENVCHECK_TYPE_FLOAT) {
            out->f = e.rv->v.u.f;
        } else {
            out->is_int = 1;
            out->i = e.rv->v.u.i;
            out->f = (double)out->i;
        }
        return;
    }
    out->shown = 1; /* undeclared: it cannot be marked sensitive */
    if (duration) {
        if (envcheck__parse_duration(e.text, &out->i) == 0) {
            out->ok = 1;
            out->is_int = 1;
            out->f = (double)out->i;
        } else {
            out->ok = -1;
        }
    } else if (envcheck__parse_int(e.text, &out->i) == 0) {
        out->ok = 1;
        out->is_int = 1;
        out->f = (double)out->i;
    } else if (envcheck__parse_float(e.text, &out->f) == 0) {
        out->ok = 1;
    } else {
        out->ok = -1;
    }
}

static void format_num(const num *n, int duration, char *buf, size_t size)
{
    if (duration)
        envcheck__format_duration(n->i, buf, size);
    else if (n->is_int)
        snprintf(buf, size, "%lld", (long long)n->i);
    else
        snprintf(buf, size, "%.17g", n->f);
}

static int rule_less(envcheck_result *r, const envcheck_source *src, const envcheck__rule *rule)
{
    long ia = envcheck__schema_find(r->schema, rule->name),
         ib = envcheck__schema_find(r->schema, rule->name2);
    int duration = (ia >= 0 && r->schema->vars[ia].o.type == ENVCHECK_TYPE_DURATION) ||
                   (ib >= 0 && r->schema->vars[ib].o.type == ENVCHECK_TYPE_DURATION);
    num a, b;
    get_num(r, src, rule->name, duration, &a);
    get_num(r, src, rule->name2, duration, &b);
    const char *op = rule->or_equal ? "<=" : "<";
    if (a.ok < 0 || b.ok < 0) {
        const char *bad = a.ok < 0 ? rule->name : rule->name2;
        return add_finding(r, ENVCHECK_GROUP_RULES, ENVCHECK_CODE_RULE, bad, NULL, 0,
                           "cannot be compared (%s %s %s): not a %s", rule->name, op, rule->name2,
                           duration ? "duration" : "number");
    }
    if (!a.ok || !b.ok)
        return 0;
    int holds;
    if (a.is_int && b.is_int)
        holds = rule->or_equal ? a.i <= b.i : a.i < b.i;
    else
        holds = rule->or_equal ? a.f <= b.f : a.f < b.f;
    if (holds)
        return 0;
    char sa[64], sb[64];
    format_num(&a, duration, sa, sizeof sa);
    format_num(&b, duration, sb, sizeof sb);
    if (!a.shown || !b.shown)
        return add_finding(r, ENVCHECK_GROUP_RULES, ENVCHECK_CODE_RULE, rule->name, NULL, 0,
                           "must be %s %s", rule->or_equal ? "at most" : "less than", rule->name2);
    return add_finding(r, ENVCHECK_GROUP_RULES, ENVCHECK_CODE_RULE, rule->name, NULL, 0,
                       "must be %s %s (%s %s %s)", rule->or_equal ? "at most" : "less than",
                       rule->name2, sa, rule->or_equal ? ">" : ">=", sb);
}

/* Replace every copy of a sensitive value in msg by the mask. */
static char *scrub(const envcheck_result *r, const char *msg)
{
    envcheck__buf b = { NULL, 0, 0, 0 };
    envcheck__buf_puts(&b, msg);
    for (size_t i = 0; i < r->schema->n_vars; i++) {
        const envcheck__var *var = &r->schema->vars[i];
        const char *secret = r->vars[i].v.text;
        if (!envcheck__var_sensitive(var) || !secret || strlen(secret) < 4 || !b.data)
            continue;
        size_t sl = strlen(secret);
        envcheck__buf out = { NULL, 0, 0, 0 };
        const char *p = b.data;
        const char *hit;
        while ((hit = strstr(p, secret)) != NULL) {
            envcheck__buf_add(&out, p, (size_t)(hit - p));
            envcheck__buf_puts(&out, ENVCHECK_MASK);
            p = hit + sl;
        }
        envcheck__buf_puts(&out, p);
        envcheck__buf_wipe(&b);
        b = out;
    }
    return envcheck__buf_take(&b);
}

static int rule_custom(envcheck_result *r, const envcheck__rule *rule)
{
    char msg[512];
    msg[0] = '\0';
    if (!rule->fn(r, msg, sizeof msg, rule->userdata))
        return 0;
    msg[sizeof msg - 1] = '\0';
    if (!msg[0])
        snprintf(msg, sizeof msg, "the custom rule does not hold");
    char *clean = scrub(r, msg);
    envcheck__wipe(msg, sizeof msg);
    if (!clean)
        return ENVCHECK_ENOMEM;
    int rc =
        add_finding(r, ENVCHECK_GROUP_RULES, ENVCHECK_CODE_RULE, rule->name, NULL, 0, "%s", clean);
    envcheck__wipe_free(clean);
    return rc;
}

/* ---- the pass */

int envcheck_validate(envcheck_result **out, const envcheck_schema *s, const envcheck_source *src)
{
    *out = NULL;
    envcheck_result *r = calloc(1, sizeof *r);
    if (!r)
        return ENVCHECK_ENOMEM;
    r->schema = s;
    r->vars = calloc(s->n_vars ? s->n_vars : 1, sizeof *r->vars);
    if (!r->vars) {
        free(r);
        return ENVCHECK_ENOMEM;
    }
    int rc = 0;
    for (size_t i = 0; i < s->n_vars && rc == 0; i++)
        rc = check_var(r, src, i);
    for (size_t i = 0; i < s->n_rules && rc == 0; i++) {
        const envcheck__rule *rule = &s->rules[i];
        switch (rule->kind) {
        case ENVCHECK__RULE_REQUIRE_IF:
            rc = rule_require_if(r, src, rule);
            break;
        case ENVCHECK__RULE_GROUP:
            rc = rule_group(r, src, rule);
            break;
        case ENVCHECK__RULE_LESS:
            rc = rule_less(r, src, rule);
            break;
        case ENVCHECK__RULE_CUSTOM:
            rc = rule_custom(r, rule);
            break;
        }
    }
    for (size_t i = 0; src && i < src->n_lints && rc == 0; i++) {
        const envcheck__lint *l = &src->lints[i];
        /* A quote left open or a statement that cannot be parsed loses what
         * the file meant: an error, not a warning. */
        envcheck_group g = l->code == ENVCHECK_CODE_UNTERMINATED || l->code == ENVCHECK_CODE_SYNTAX
                               ? ENVCHECK_GROUP_INVALID
                               : ENVCHECK_GROUP_LINT;
        rc = add_finding(r, g, l->code, l->name, l->file, l->line, "%s", l->message);
    }
    /* Defence in depth: no message quotes a sensitive value, whatever
     * produced it (another variable that holds the same text, say). */
    for (size_t i = 0; i < r->n_findings && rc == 0; i++) {
        if (r->findings[i].pub.group == ENVCHECK_GROUP_LINT)
            continue;
        char *clean = scrub(r, r->findings[i].message);
        if (!clean) {
            rc = ENVCHECK_ENOMEM;
            break;
        }
        if (strcmp(clean, r->findings[i].message) != 0) {
            envcheck__wipe_free(r->findings[i].message);
            r->findings[i].message = clean;
            r->findings[i].pub.message = clean;
        } else {
            free(clean);
        }
    }
    if (rc != 0) {
        envcheck_result_free(r);
        return rc < 0 ? rc : ENVCHECK_ENOMEM;
    }
    if (r->n_findings > 1)
        qsort(r->findings, r->n_findings, sizeof *r->findings, cmp_findings);
    *out = r;
    return ENVCHECK_OK;
}

void envcheck_result_free(envcheck_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->schema->n_vars; i++) {
        envcheck__value_clear(&r->vars[i].v);
        free(r->vars[i].origin);
    }
    free(r->vars);
    for (size_t i = 0; i < r->n_findings; i++) {
        free(r->findings[i].name);
        free(r->findings[i].message);
        free(r->findings[i].file);
    }
    free(r->findings);
    free(r);
}

int envcheck_result_valid(const envcheck_result *r)
{
    return r->n_findings == r->group_count[ENVCHECK_GROUP_LINT];
}

size_t envcheck_result_count(const envcheck_result *r)
{
    return r->n_findings;
}

size_t envcheck_result_count_group(const envcheck_result *r, envcheck_group group)
{
    if ((unsigned)group > ENVCHECK_GROUP_LINT)
        return 0;
    return r->group_count[group];
}

const envcheck_finding *envcheck_result_finding(const envcheck_result *r, size_t i)
{
    return i < r->n_findings ? &r->findings[i].pub : NULL;
}

/* ---- getters */

static int getter(const envcheck_result *r, const char *name, const envcheck__var **var,
                  const envcheck__rvar **rv)
{
    long i = envcheck__schema_find(r->schema, name);
    if (i < 0)
        return ENVCHECK_ENOENT;
    *var = &r->schema->vars[i];
    *rv = &r->vars[i];
    return 0;
}

static int has_value(const envcheck__rvar *rv)
{
    return rv->state == ENVCHECK__SET || rv->state == ENVCHECK__DEFAULT;
}

int envcheck_get_string(const envcheck_result *r, const char *name, const char **out)
{
    const envcheck__var *var;
    const envcheck__rvar *rv;
    int rc = getter(r, name, &var, &rv);
    if (rc)
        return rc;
    if (!has_value(rv))
        return ENVCHECK_ENOVALUE;
    *out = rv->v.text;
    return ENVCHECK_OK;
}

static int typed(const envcheck_result *r, const char *name, const envcheck__rvar **rv, int t1,
                 int t2, int t3)
{
    const envcheck__var *var;
    int rc = getter(r, name, &var, rv);
    if (rc)
        return rc;
    int t = (int)var->o.type;
    if (t != t1 && t != t2 && t != t3)
        return ENVCHECK_ETYPE;
    if (!has_value(*rv))
        return ENVCHECK_ENOVALUE;
    return 0;
}

int envcheck_get_int(const envcheck_result *r, const char *name, int64_t *out)
{
    const envcheck__rvar *rv;
    int rc = typed(r, name, &rv, ENVCHECK_TYPE_INT, ENVCHECK_TYPE_PORT, -1);
    if (rc == 0)
        *out = rv->v.u.i;
    return rc;
}

int envcheck_get_float(const envcheck_result *r, const char *name, double *out)
{
    const envcheck__rvar *rv;
    int rc = typed(r, name, &rv, ENVCHECK_TYPE_FLOAT, ENVCHECK_TYPE_INT, ENVCHECK_TYPE_PORT);
    if (rc == 0) {
        const envcheck__var *var = &r->schema->vars[envcheck__schema_find(r->schema, name)];
        *out = var->o.type == ENVCHECK_TYPE_FLOAT ? rv->v.u.f : (double)rv->v.u.i;
    }
    return rc;
}

int envcheck_get_bool(const envcheck_result *r, const char *name, int *out)
{
    const envcheck__rvar *rv;
    int rc = typed(r, name, &rv, ENVCHECK_TYPE_BOOL, -1, -1);
    if (rc == 0)
        *out = rv->v.u.b;
    return rc;
}

int envcheck_get_duration(const envcheck_result *r, const char *name, int64_t *out)
{
    const envcheck__rvar *rv;
    int rc = typed(r, name, &rv, ENVCHECK_TYPE_DURATION, -1, -1);
    if (rc == 0)
        *out = rv->v.u.i;
    return rc;
}

int envcheck_get_enum(const envcheck_result *r, const char *name, size_t *out)
{
    const envcheck__rvar *rv;
    int rc = typed(r, name, &rv, ENVCHECK_TYPE_ENUM, -1, -1);
    if (rc == 0)
        *out = rv->v.u.e;
    return rc;
}

int envcheck_get_list_count(const envcheck_result *r, const char *name, size_t *out)
{
    const envcheck__rvar *rv;
    int rc = typed(r, name, &rv, ENVCHECK_TYPE_LIST, -1, -1);
    if (rc == 0)
        *out = rv->v.n_items;
    return rc;
}

int envcheck_get_list_string(const envcheck_result *r, const char *name, size_t i, const char **out)
{
    const envcheck__rvar *rv;
    int rc = typed(r, name, &rv, ENVCHECK_TYPE_LIST, -1, -1);
    if (rc)
        return rc;
    if (i >= rv->v.n_items)
        return ENVCHECK_EINVAL;
    *out = rv->v.items[i].text;
    return ENVCHECK_OK;
}

int envcheck_get_list_int(const envcheck_result *r, const char *name, size_t i, int64_t *out)
{
    const envcheck__rvar *rv;
    int rc = typed(r, name, &rv, ENVCHECK_TYPE_LIST, -1, -1);
    if (rc)
        return rc;
    const envcheck__var *var = &r->schema->vars[envcheck__schema_find(r->schema, name)];
    if (var->o.element_type != ENVCHECK_TYPE_INT && var->o.element_type != ENVCHECK_TYPE_PORT)
        return ENVCHECK_ETYPE;
    if (i >= rv->v.n_items)
        return ENVCHECK_EINVAL;
    *out = rv->v.items[i].u.i;
    return ENVCHECK_OK;
}

void envcheck__var_show_default(envcheck__buf *b, const envcheck__var *var)
{
    show_value_q(b, var, var->default_value ? var->default_value : "", 0);
}
