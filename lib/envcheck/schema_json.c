/* Schemas loaded from JSON (format: docs/envcheck.md). */
#include "internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIST 4096

static const char *const var_keys[] = {
    "name",
    "type",
    "required",
    "default",
    "sensitive",
    "description",
    "example",
    "allow_empty",
    "file",
    "min",
    "max",
    "min_length",
    "max_length",
    "charset",
    "prefix",
    "values",
    "case_insensitive",
    "schemes",
    "must_exist",
    "separator",
    "element",
};

static int type_from_name(const char *s, envcheck_type *t)
{
    for (int i = 0; i <= ENVCHECK_TYPE_API_KEY; i++) {
        if (strcmp(s, envcheck_type_name((envcheck_type)i)) == 0) {
            *t = (envcheck_type)i;
            return 0;
        }
    }
    if (strcmp(s, "integer") == 0 || strcmp(s, "int64") == 0) {
        *t = ENVCHECK_TYPE_INT;
        return 0;
    }
    if (strcmp(s, "boolean") == 0) {
        *t = ENVCHECK_TYPE_BOOL;
        return 0;
    }
    return -1;
}

/* Check an object's keys: all known, none twice. */
static int check_keys(envcheck_schema *s, const cJSON *obj, const char *const *keys, size_t n,
                      const char *where)
{
    for (const cJSON *c = obj->child; c; c = c->next) {
        size_t k = 0;
        while (k < n && strcmp(c->string, keys[k]) != 0)
            k++;
        if (k == n) {
            envcheck__schema_seterr(s, "%s: unknown key \"%.64s\"", where, c->string);
            return -1;
        }
        for (const cJSON *d = obj->child; d != c; d = d->next) {
            if (strcmp(d->string, c->string) == 0) {
                envcheck__schema_seterr(s, "%s: key \"%.64s\" appears twice", where, c->string);
                return -1;
            }
        }
    }
    return 0;
}

static int get_bool(envcheck_schema *s, const cJSON *obj, const char *key, int *out,
                    const char *where)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    if (!cJSON_IsBool(v)) {
        envcheck__schema_seterr(s, "%s: \"%s\" must be true or false", where, key);
        return -1;
    }
    *out = cJSON_IsTrue(v) ? 1 : 0;
    return 0;
}

static int get_string(envcheck_schema *s, const cJSON *obj, const char *key, const char **out,
                      const char *where)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsString(v)) {
        envcheck__schema_seterr(s, "%s: \"%s\" must be a string", where, key);
        return -1;
    }
    *out = v->valuestring;
    return 0;
}

static int get_size(envcheck_schema *s, const cJSON *obj, const char *key, size_t *out,
                    const char *where)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (!(d >= 0 && d <= 1e9 && d == floor(d))) {
        envcheck__schema_seterr(s, "%s: \"%s\" must be a whole number from 0", where, key);
        return -1;
    }
    *out = (size_t)d;
    return 0;
}

/* An array of strings; *out is malloc'd (pointers borrowed from the JSON). */
static int get_strings(envcheck_schema *s, const cJSON *obj, const char *key, const char ***out,
                       size_t *n, const char *where)
{
    *out = NULL;
    *n = 0;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    int count = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (count < 0 || count > MAX_LIST) {
        envcheck__schema_seterr(s, "%s: \"%s\" must be an array of strings", where, key);
        return -1;
    }
    const char **list = calloc((size_t)count + 1, sizeof *list);
    if (!list)
        return ENVCHECK_ENOMEM;
    size_t i = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        if (!cJSON_IsString(c)) {
            free(list);
            envcheck__schema_seterr(s, "%s: \"%s\" must be an array of strings", where, key);
            return -1;
        }
        list[i++] = c->valuestring;
    }
    *out = list;
    *n = i;
    return 0;
}

/* min/max: a number, or text in the type's own syntax. */
static int get_bound(envcheck_schema *s, const cJSON *obj, const char *key, envcheck_type t,
                     int *has, int64_t *i, double *f, const char *where)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v)
        return 0;
    *has = 1;
    if (t == ENVCHECK_TYPE_FLOAT) {
        if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
            *f = v->valuedouble;
            return 0;
        }
        if (cJSON_IsString(v) && envcheck__parse_float(v->valuestring, f) == 0)
            return 0;
    } else if (t == ENVCHECK_TYPE_DURATION) {
        if (cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 9.2e9) {
            *i = (int64_t)llround(v->valuedouble * 1e9);
            return 0;
        }
        if (cJSON_IsString(v) && envcheck__parse_duration(v->valuestring, i) == 0)
            return 0;
    } else if (t == ENVCHECK_TYPE_INT || t == ENVCHECK_TYPE_PORT) {
        if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
            fabs(v->valuedouble) < 9.2e18) {
            *i = (int64_t)v->valuedouble;
            return 0;
        }
        if (cJSON_IsString(v) && envcheck__parse_int(v->valuestring, i) == 0)
            return 0;
    } else {
        envcheck__schema_seterr(s,
                                "%s: \"%s\" applies to int, port, float and duration only (use "
                                "min_length/max_length for text)",
                                where, key);
        return -1;
    }
    envcheck__schema_seterr(s, "%s: \"%s\" is not a valid %s bound", where, key,
                            envcheck_type_name(t));
    return -1;
}

static int load_var(envcheck_schema *s, const cJSON *obj, size_t idx)
{
    char where[160];
    snprintf(where, sizeof where, "variables[%zu]", idx);
    if (!cJSON_IsObject(obj)) {
        envcheck__schema_seterr(s, "%s: must be an object", where);
        return ENVCHECK_ESCHEMA;
    }
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(obj, "name");
    if (!cJSON_IsString(jn)) {
        envcheck__schema_seterr(s, "%s: \"name\" (a string) is required", where);
        return ENVCHECK_ESCHEMA;
    }
    const char *name = jn->valuestring;
    snprintf(where, sizeof where, "variables[%zu] (%.100s)", idx, name);
    if (check_keys(s, obj, var_keys, sizeof var_keys / sizeof *var_keys, where) != 0)
        return ENVCHECK_ESCHEMA;

    envcheck_var_options o = ENVCHECK_VAR_OPTIONS_INIT;
    const char *type = NULL, *element = NULL, *sep = NULL;
    if (get_string(s, obj, "type", &type, where) != 0)
        return ENVCHECK_ESCHEMA;
    if (type && type_from_name(type, &o.type) != 0) {
        envcheck__schema_seterr(s, "%s: unknown type \"%.64s\"", where, type);
        return ENVCHECK_ESCHEMA;
    }
    if (get_string(s, obj, "element", &element, where) != 0)
        return ENVCHECK_ESCHEMA;
    if (element && (type_from_name(element, &o.element_type) != 0 ||
                    o.element_type == ENVCHECK_TYPE_LIST || o.type != ENVCHECK_TYPE_LIST)) {
        envcheck__schema_seterr(s, "%s: \"element\" is a type other than list, for lists only",
                                where);
        return ENVCHECK_ESCHEMA;
    }
    envcheck_type t = o.type == ENVCHECK_TYPE_LIST ? o.element_type : o.type;

    char numbuf[64];
    const cJSON *def = cJSON_GetObjectItemCaseSensitive(obj, "default");
    if (def && !cJSON_IsNull(def)) {
        if (cJSON_IsString(def)) {
            o.default_value = def->valuestring;
        } else if (cJSON_IsBool(def)) {
            o.default_value = cJSON_IsTrue(def) ? "true" : "false";
        } else if (cJSON_IsNumber(def) && isfinite(def->valuedouble)) {
            double d = def->valuedouble;
            if (d == floor(d) && fabs(d) < 9.2e18)
                snprintf(numbuf, sizeof numbuf, "%lld", (long long)d);
            else {
                /* the shortest of %.15g/%.17g that reads back the same */
                snprintf(numbuf, sizeof numbuf, "%.15g", d);
                if (strtod(numbuf, NULL) != d)
                    snprintf(numbuf, sizeof numbuf, "%.17g", d);
            }
            o.default_value = numbuf;
        } else {
            envcheck__schema_seterr(s, "%s: \"default\" must be a string, number or boolean",
                                    where);
            return ENVCHECK_ESCHEMA;
        }
    }
    if (get_bool(s, obj, "required", &o.required, where) ||
        get_bool(s, obj, "sensitive", &o.sensitive, where) ||
        get_bool(s, obj, "allow_empty", &o.allow_empty, where) ||
        get_bool(s, obj, "file", &o.allow_file, where) ||
        get_bool(s, obj, "case_insensitive", &o.case_insensitive, where) ||
        get_bool(s, obj, "must_exist", &o.must_exist, where) ||
        get_string(s, obj, "description", &o.description, where) ||
        get_string(s, obj, "example", &o.example, where) ||
        get_string(s, obj, "charset", &o.charset, where) ||
        get_string(s, obj, "prefix", &o.prefix, where) ||
        get_string(s, obj, "separator", &sep, where) ||
        get_size(s, obj, "min_length", &o.min_length, where) ||
        get_size(s, obj, "max_length", &o.max_length, where) ||
        get_bound(s, obj, "min", t, &o.has_min, &o.min, &o.min_float, where) ||
        get_bound(s, obj, "max", t, &o.has_max, &o.max, &o.max_float, where))
        return ENVCHECK_ESCHEMA;
    if (sep) {
        if (strlen(sep) != 1) {
            envcheck__schema_seterr(s, "%s: \"separator\" must be one character", where);
            return ENVCHECK_ESCHEMA;
        }
        o.separator = sep[0];
    }
    const char **values = NULL, **schemes = NULL;
    int rc = get_strings(s, obj, "values", &values, &o.n_values, where);
    if (rc == 0)
        rc = get_strings(s, obj, "schemes", &schemes, &o.n_schemes, where);
    if (rc != 0) {
        free(values);
        free(schemes);
        return rc < -1 ? rc : ENVCHECK_ESCHEMA;
    }
    o.values = values;
    o.schemes = schemes;
    rc = envcheck_schema_add(s, name, &o);
    free(values);
    free(schemes);
    if (rc == ENVCHECK_EINVAL || rc == ENVCHECK_ESCHEMA) {
        char inner[ENVCHECK__ERRMSG_SIZE];
        memcpy(inner, s->errmsg, sizeof inner);
        envcheck__schema_seterr(s, "variables[%zu]: %s", idx, inner);
        return ENVCHECK_ESCHEMA;
    }
    return rc;
}

static int name_list(envcheck_schema *s, const cJSON *v, const char ***out, size_t *n,
                     const char *where, size_t min)
{
    *out = NULL;
    *n = 0;
    int count = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (count < (int)min || count > MAX_LIST) {
        envcheck__schema_seterr(s, "%s: expects an array of at least %zu names", where, min);
        return ENVCHECK_ESCHEMA;
    }
    const char **list = calloc((size_t)count + 1, sizeof *list);
    if (!list)
        return ENVCHECK_ENOMEM;
    size_t i = 0;
    for (const cJSON *c = v->child; c; c = c->next) {
        if (!cJSON_IsString(c)) {
            free(list);
            envcheck__schema_seterr(s, "%s: expects an array of names", where);
            return ENVCHECK_ESCHEMA;
        }
        list[i++] = c->valuestring;
    }
    *out = list;
    *n = i;
    return 0;
}

static int wrap_rule_error(envcheck_schema *s, int rc, const char *where)
{
    if (rc == ENVCHECK_EINVAL || rc == ENVCHECK_ESCHEMA) {
        char inner[ENVCHECK__ERRMSG_SIZE];
        memcpy(inner, s->errmsg, sizeof inner);
        envcheck__schema_seterr(s, "%s: %s", where, inner);
        return ENVCHECK_ESCHEMA;
    }
    return rc;
}

static int load_rule(envcheck_schema *s, const cJSON *obj, size_t idx)
{
    char where[64];
    snprintf(where, sizeof where, "rules[%zu]", idx);
    if (!cJSON_IsObject(obj) || !obj->child) {
        envcheck__schema_seterr(s, "%s: must be a non-empty object", where);
        return ENVCHECK_ESCHEMA;
    }
    const cJSON *cond = cJSON_GetObjectItemCaseSensitive(obj, "if");
    if (cond) {
        static const char *const keys[] = { "if", "require" };
        static const char *const cond_keys[] = { "name", "is", "equals" };
        if (check_keys(s, obj, keys, 2, where) != 0)
            return ENVCHECK_ESCHEMA;
        if (!cJSON_IsObject(cond) || check_keys(s, cond, cond_keys, 3, where) != 0) {
            if (!cJSON_IsObject(cond))
                envcheck__schema_seterr(s, "%s: \"if\" must be an object", where);
            return ENVCHECK_ESCHEMA;
        }
        const cJSON *jn = cJSON_GetObjectItemCaseSensitive(cond, "name");
        const cJSON *is = cJSON_GetObjectItemCaseSensitive(cond, "is");
        const cJSON *eq = cJSON_GetObjectItemCaseSensitive(cond, "equals");
        envcheck_condition c = ENVCHECK_IF_SET;
        const char *value = NULL;
        if (!cJSON_IsString(jn) || (is && eq) || (!is && !eq)) {
            envcheck__schema_seterr(s, "%s: \"if\" needs \"name\" and one of \"is\" or \"equals\"",
                                    where);
            return ENVCHECK_ESCHEMA;
        }
        if (is) {
            const char *w = cJSON_IsString(is) ? is->valuestring : "";
            if (cJSON_IsTrue(is) || strcmp(w, "true") == 0)
                c = ENVCHECK_IF_TRUE;
            else if (cJSON_IsFalse(is) || strcmp(w, "false") == 0)
                c = ENVCHECK_IF_FALSE;
            else if (strcmp(w, "set") == 0)
                c = ENVCHECK_IF_SET;
            else {
                envcheck__schema_seterr(s, "%s: \"is\" is \"set\", \"true\" or \"false\"", where);
                return ENVCHECK_ESCHEMA;
            }
        } else {
            if (!cJSON_IsString(eq)) {
                envcheck__schema_seterr(s, "%s: \"equals\" must be a string", where);
                return ENVCHECK_ESCHEMA;
            }
            c = ENVCHECK_IF_EQUALS;
            value = eq->valuestring;
        }
        const char **names = NULL;
        size_t n = 0;
        const cJSON *req = cJSON_GetObjectItemCaseSensitive(obj, "require");
        int rc = name_list(s, req, &names, &n, where, 1);
        if (rc != 0)
            return rc;
        rc = envcheck_schema_require_if(s, jn->valuestring, c, value, names, n);
        free(names);
        return wrap_rule_error(s, rc, where);
    }
    if (obj->child->next) {
        envcheck__schema_seterr(s, "%s: one rule per object", where);
        return ENVCHECK_ESCHEMA;
    }
    const char *kind = obj->child->string;
    const char **names = NULL;
    size_t n = 0;
    int rc;
    if (strcmp(kind, "all_or_none") == 0 || strcmp(kind, "at_most_one") == 0 ||
        strcmp(kind, "at_least_one") == 0) {
        envcheck_group_rule g = kind[1] == 'l'   ? ENVCHECK_ALL_OR_NONE
                                : kind[3] == 'm' ? ENVCHECK_AT_MOST_ONE
                                                 : ENVCHECK_AT_LEAST_ONE;
        rc = name_list(s, obj->child, &names, &n, where, 2);
        if (rc != 0)
            return rc;
        rc = envcheck_schema_group_rule(s, g, names, n);
    } else if (strcmp(kind, "less_than") == 0 || strcmp(kind, "less_equal") == 0 ||
               strcmp(kind, "less_than_or_equal") == 0) {
        rc = name_list(s, obj->child, &names, &n, where, 2);
        if (rc != 0)
            return rc;
        if (n != 2) {
            free(names);
            envcheck__schema_seterr(s, "%s: \"%s\" takes exactly two names", where, kind);
            return ENVCHECK_ESCHEMA;
        }
        rc = envcheck_schema_less_than(s, names[0], names[1], strcmp(kind, "less_than") != 0);
    } else {
        envcheck__schema_seterr(s, "%s: unknown rule \"%.64s\"", where, kind);
        return ENVCHECK_ESCHEMA;
    }
    free(names);
    return wrap_rule_error(s, rc, where);
}

int envcheck_schema_load_json(envcheck_schema *s, const char *json, size_t len)
{
    s->errmsg[0] = '\0';
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) {
        envcheck__schema_seterr(s, "the schema is not valid JSON");
        return ENVCHECK_ESCHEMA;
    }
    size_t n_vars = s->n_vars, n_rules = s->n_rules;
    int rc = 0;
    static const char *const top[] = { "variables", "rules", "description", "$schema" };
    if (!cJSON_IsObject(root)) {
        envcheck__schema_seterr(s, "the schema must be a JSON object");
        rc = ENVCHECK_ESCHEMA;
    } else if (check_keys(s, root, top, 4, "schema") != 0) {
        rc = ENVCHECK_ESCHEMA;
    }
    const cJSON *vars = rc ? NULL : cJSON_GetObjectItemCaseSensitive(root, "variables");
    const cJSON *rules = rc ? NULL : cJSON_GetObjectItemCaseSensitive(root, "rules");
    if (rc == 0 && ((vars && !cJSON_IsArray(vars)) || (rules && !cJSON_IsArray(rules)))) {
        envcheck__schema_seterr(s, "\"variables\" and \"rules\" must be arrays");
        rc = ENVCHECK_ESCHEMA;
    }
    size_t i = 0;
    for (const cJSON *c = vars ? vars->child : NULL; c && rc == 0; c = c->next)
        rc = load_var(s, c, i++);
    i = 0;
    for (const cJSON *c = rules ? rules->child : NULL; c && rc == 0; c = c->next)
        rc = load_rule(s, c, i++);
    /* Defaults may be secrets: wipe the parsed strings before freeing. */
    for (const cJSON *c = vars ? vars->child : NULL; c; c = c->next) {
        cJSON *d = cJSON_GetObjectItemCaseSensitive(c, "default");
        if (cJSON_IsString(d) && d->valuestring)
            envcheck__wipe(d->valuestring, strlen(d->valuestring));
    }
    cJSON_Delete(root);
    if (rc != 0) {
        char keep[ENVCHECK__ERRMSG_SIZE];
        memcpy(keep, s->errmsg, sizeof keep);
        envcheck__schema_truncate(s, n_vars, n_rules);
        memcpy(s->errmsg, keep, sizeof keep);
    }
    return rc;
}

int envcheck_schema_load_file(envcheck_schema *s, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    int e = envcheck__read_file(path, &data, &len);
    if (e != 0) {
        char why[128];
        if (strerror_r(e, why, sizeof why) != 0)
            snprintf(why, sizeof why, "error %d", e);
        envcheck__schema_seterr(s, "%s: %s", path, why);
        return e == ENOMEM ? ENVCHECK_ENOMEM : ENVCHECK_EIO;
    }
    int rc = envcheck_schema_load_json(s, data, len);
    if (rc != 0) {
        char inner[ENVCHECK__ERRMSG_SIZE];
        memcpy(inner, s->errmsg, sizeof inner);
        envcheck__schema_seterr(s, "%s: %s", path, inner);
    }
    envcheck__wipe(data, len);
    free(data);
    return rc;
}
