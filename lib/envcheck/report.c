/* Output: the report of a result, the dump of the effective configuration
 * and the usage table of a schema, as text or JSON, through a writer. */
#include "internal.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int emit(envcheck_write_fn fn, void *ud, envcheck__buf *b)
{
    if (b->failed) {
        envcheck__buf_wipe(b);
        return ENVCHECK_ENOMEM;
    }
    int rc = ENVCHECK_OK;
    if (b->len && fn(b->data, b->len, ud) != 0)
        rc = ENVCHECK_EIO;
    envcheck__buf_wipe(b);
    return rc;
}

static int emit_json(envcheck_write_fn fn, void *ud, cJSON *root)
{
    if (!root)
        return ENVCHECK_ENOMEM;
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return ENVCHECK_ENOMEM;
    size_t n = strlen(text);
    int rc = fn(text, n, ud) != 0 ? ENVCHECK_EIO : ENVCHECK_OK;
    envcheck__wipe(text, n);
    cJSON_free(text);
    return rc;
}

static void pad(envcheck__buf *b, size_t used, size_t width)
{
    for (size_t i = used; i < width; i++)
        envcheck__buf_add(b, " ", 1);
}

/* ---- report */

static const char *const group_titles[] = { "Missing", "Invalid", "Rules", "Warnings (env files)" };

static int report_text(const envcheck_result *r, envcheck_write_fn fn, void *ud)
{
    envcheck__buf b = { NULL, 0, 0, 0 };
    size_t problems = r->n_findings - r->group_count[ENVCHECK_GROUP_LINT];
    size_t warnings = r->group_count[ENVCHECK_GROUP_LINT];
    if (problems == 0) {
        envcheck__buf_printf(&b, "envcheck: the configuration is valid (%zu variable%s checked)",
                             r->schema->n_vars, r->schema->n_vars == 1 ? "" : "s");
    } else {
        envcheck__buf_printf(&b, "envcheck: %zu problem%s: %zu missing, %zu invalid, %zu rule%s",
                             problems, problems == 1 ? "" : "s", r->group_count[0],
                             r->group_count[1], r->group_count[2],
                             r->group_count[2] == 1 ? "" : "s");
    }
    if (warnings)
        envcheck__buf_printf(&b, "%s%zu env-file warning%s", problems ? "; " : "; ", warnings,
                             warnings == 1 ? "" : "s");
    envcheck__buf_puts(&b, "\n");
    size_t width = 0;
    for (size_t i = 0; i < r->n_findings; i++) {
        size_t n = strlen(r->findings[i].pub.name);
        if (!n)
            n = 1;
        if (n > width)
            width = n;
    }
    if (width > 40)
        width = 40;
    int group = -1;
    for (size_t i = 0; i < r->n_findings; i++) {
        const envcheck_finding *f = &r->findings[i].pub;
        if ((int)f->group != group) {
            group = (int)f->group;
            envcheck__buf_printf(&b, "\n%s:\n", group_titles[group]);
        }
        const char *name = f->name[0] ? f->name : "-";
        envcheck__buf_printf(&b, "  %s", name);
        pad(&b, strlen(name), width);
        envcheck__buf_puts(&b, "  ");
        if (f->file && f->line)
            envcheck__buf_printf(&b, "%s:%u: ", f->file, f->line);
        envcheck__buf_printf(&b, "%s\n", f->message);
    }
    return emit(fn, ud, &b);
}

static int report_json(const envcheck_result *r, envcheck_write_fn fn, void *ud)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *summary = cJSON_CreateObject();
    cJSON *list = cJSON_CreateArray();
    if (!root || !summary || !list) {
        cJSON_Delete(root);
        cJSON_Delete(summary);
        cJSON_Delete(list);
        return ENVCHECK_ENOMEM;
    }
    cJSON_AddBoolToObject(root, "valid", envcheck_result_valid(r));
    for (int g = 0; g < 4; g++)
        cJSON_AddNumberToObject(summary, envcheck_group_name((envcheck_group)g),
                                (double)r->group_count[g]);
    cJSON_AddItemToObject(root, "summary", summary);
    cJSON_AddItemToObject(root, "findings", list);
    int oom = 0;
    for (size_t i = 0; i < r->n_findings; i++) {
        const envcheck_finding *f = &r->findings[i].pub;
        cJSON *o = cJSON_CreateObject();
        if (!o) {
            oom = 1;
            break;
        }
        cJSON_AddItemToArray(list, o);
        oom |= !cJSON_AddStringToObject(o, "group", envcheck_group_name(f->group));
        oom |= !cJSON_AddStringToObject(o, "code", envcheck_code_name(f->code));
        oom |= !cJSON_AddStringToObject(o, "name", f->name);
        oom |= !cJSON_AddStringToObject(o, "message", f->message);
        if (f->file)
            oom |= !cJSON_AddStringToObject(o, "file", f->file);
        if (f->line)
            oom |= !cJSON_AddNumberToObject(o, "line", f->line);
    }
    if (oom) {
        cJSON_Delete(root);
        return ENVCHECK_ENOMEM;
    }
    return emit_json(fn, ud, root);
}

int envcheck_result_write_report(const envcheck_result *r, envcheck_format format,
                                 envcheck_write_fn fn, void *userdata)
{
    if (format == ENVCHECK_FORMAT_TEXT)
        return report_text(r, fn, userdata);
    if (format == ENVCHECK_FORMAT_JSON)
        return report_json(r, fn, userdata);
    return ENVCHECK_EINVAL;
}

/* ---- dump */

static const char *state_name(envcheck__state st)
{
    switch (st) {
    case ENVCHECK__SET:
        return "set";
    case ENVCHECK__DEFAULT:
        return "default";
    case ENVCHECK__INVALID:
        return "invalid";
    case ENVCHECK__UNSET:
        break;
    }
    return "unset";
}

static int dump_text(const envcheck_result *r, envcheck_write_fn fn, void *ud)
{
    const envcheck_schema *s = r->schema;
    char **shown = calloc(s->n_vars ? s->n_vars : 1, sizeof *shown);
    if (!shown)
        return ENVCHECK_ENOMEM;
    size_t wname = 4, wvalue = 5;
    int oom = 0;
    for (size_t i = 0; i < s->n_vars; i++) {
        envcheck__buf v = { NULL, 0, 0, 0 };
        if (r->vars[i].state == ENVCHECK__UNSET)
            envcheck__buf_puts(&v, "(unset)");
        else
            envcheck__result_show(&v, r, i, 1);
        if (r->vars[i].state == ENVCHECK__INVALID)
            envcheck__buf_puts(&v, " (invalid)");
        shown[i] = envcheck__buf_take(&v);
        if (!shown[i]) {
            oom = 1;
            break;
        }
        size_t n = strlen(s->vars[i].name), m = strlen(shown[i]);
        if (n > wname)
            wname = n;
        if (m > wvalue)
            wvalue = m;
    }
    if (wvalue > 60)
        wvalue = 60;
    envcheck__buf b = { NULL, 0, 0, 0 };
    if (!oom) {
        envcheck__buf_puts(&b, "NAME");
        pad(&b, 4, wname + 2);
        envcheck__buf_puts(&b, "VALUE");
        pad(&b, 5, wvalue + 2);
        envcheck__buf_puts(&b, "SOURCE\n");
        for (size_t i = 0; i < s->n_vars; i++) {
            envcheck__buf_puts(&b, s->vars[i].name);
            pad(&b, strlen(s->vars[i].name), wname + 2);
            envcheck__buf_puts(&b, shown[i]);
            pad(&b, strlen(shown[i]), wvalue + 2);
            envcheck__buf_printf(&b, "%s\n", r->vars[i].origin ? r->vars[i].origin : "-");
        }
    }
    for (size_t i = 0; i < s->n_vars; i++)
        envcheck__wipe_free(shown[i]);
    free(shown);
    if (oom) {
        envcheck__buf_wipe(&b);
        return ENVCHECK_ENOMEM;
    }
    return emit(fn, ud, &b);
}

static int dump_json(const envcheck_result *r, envcheck_write_fn fn, void *ud)
{
    const envcheck_schema *s = r->schema;
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return ENVCHECK_ENOMEM;
    int oom = 0;
    for (size_t i = 0; i < s->n_vars && !oom; i++) {
        cJSON *o = cJSON_AddObjectToObject(root, s->vars[i].name);
        if (!o) {
            oom = 1;
            break;
        }
        const envcheck__rvar *rv = &r->vars[i];
        if (rv->state == ENVCHECK__UNSET) {
            oom |= !cJSON_AddNullToObject(o, "value");
        } else {
            envcheck__buf v = { NULL, 0, 0, 0 };
            envcheck__result_show(&v, r, i, 0);
            char *text = envcheck__buf_take(&v);
            oom |= !text || !cJSON_AddStringToObject(o, "value", text);
            envcheck__wipe_free(text);
        }
        oom |= !cJSON_AddStringToObject(o, "state", state_name(rv->state));
        if (rv->origin)
            oom |= !cJSON_AddStringToObject(o, "source", rv->origin);
        else
            oom |= !cJSON_AddNullToObject(o, "source");
        oom |= !cJSON_AddBoolToObject(o, "sensitive", envcheck__var_sensitive(&s->vars[i]));
    }
    if (oom) {
        cJSON_Delete(root);
        return ENVCHECK_ENOMEM;
    }
    return emit_json(fn, ud, root);
}

int envcheck_result_write_dump(const envcheck_result *r, envcheck_format format,
                               envcheck_write_fn fn, void *userdata)
{
    if (format == ENVCHECK_FORMAT_TEXT)
        return dump_text(r, fn, userdata);
    if (format == ENVCHECK_FORMAT_JSON)
        return dump_json(r, fn, userdata);
    return ENVCHECK_EINVAL;
}

/* ---- usage */

static char *type_text(const envcheck__var *var)
{
    envcheck__buf b = { NULL, 0, 0, 0 };
    if (var->o.type == ENVCHECK_TYPE_LIST)
        envcheck__buf_printf(&b, "list<%s>", envcheck_type_name(var->o.element_type));
    else
        envcheck__buf_puts(&b, envcheck_type_name(var->o.type));
    return envcheck__buf_take(&b);
}

static char *default_text(const envcheck__var *var)
{
    envcheck__buf b = { NULL, 0, 0, 0 };
    if (!var->default_value)
        envcheck__buf_puts(&b, "-");
    else if (envcheck__is_blank(var->default_value))
        envcheck__buf_puts(&b, "\"\"");
    else
        envcheck__var_show_default(&b, var);
    return envcheck__buf_take(&b);
}

static char *description_text(const envcheck__var *var)
{
    envcheck__buf b = { NULL, 0, 0, 0 };
    if (var->description)
        envcheck__buf_puts(&b, var->description);
    envcheck_type t = var->o.type == ENVCHECK_TYPE_LIST ? var->o.element_type : var->o.type;
    if (t == ENVCHECK_TYPE_ENUM) {
        envcheck__buf_puts(&b, b.len ? " (one of: " : "one of: ");
        for (size_t i = 0; i < var->o.n_values; i++)
            envcheck__buf_printf(&b, "%s%s", i ? ", " : "", var->values[i]);
        if (var->description)
            envcheck__buf_puts(&b, ")");
    }
    if (var->example && !envcheck__var_sensitive(var))
        envcheck__buf_printf(&b, "%sexample: %s", b.len ? "; " : "", var->example);
    if (!b.len)
        envcheck__buf_puts(&b, "");
    return envcheck__buf_take(&b);
}

static int usage_text(const envcheck_schema *s, envcheck_write_fn fn, void *ud)
{
    size_t n = s->n_vars;
    char **cols = calloc(n * 3 + 1, sizeof *cols);
    if (!cols)
        return ENVCHECK_ENOMEM;
    size_t wname = 4, wtype = 4, wdef = 7;
    int oom = 0;
    for (size_t i = 0; i < n; i++) {
        cols[3 * i] = type_text(&s->vars[i]);
        cols[3 * i + 1] = default_text(&s->vars[i]);
        cols[3 * i + 2] = description_text(&s->vars[i]);
        if (!cols[3 * i] || !cols[3 * i + 1] || !cols[3 * i + 2]) {
            oom = 1;
            break;
        }
        size_t l = strlen(s->vars[i].name);
        if (l > wname)
            wname = l;
        if (strlen(cols[3 * i]) > wtype)
            wtype = strlen(cols[3 * i]);
        if (strlen(cols[3 * i + 1]) > wdef)
            wdef = strlen(cols[3 * i + 1]);
    }
    if (wdef > 40)
        wdef = 40;
    envcheck__buf b = { NULL, 0, 0, 0 };
    if (!oom) {
        envcheck__buf_puts(&b, "NAME");
        pad(&b, 4, wname + 2);
        envcheck__buf_puts(&b, "TYPE");
        pad(&b, 4, wtype + 2);
        envcheck__buf_puts(&b, "DEFAULT");
        pad(&b, 7, wdef + 2);
        envcheck__buf_puts(&b, "REQUIRED  DESCRIPTION\n");
        for (size_t i = 0; i < n; i++) {
            const envcheck__var *v = &s->vars[i];
            envcheck__buf_puts(&b, v->name);
            pad(&b, strlen(v->name), wname + 2);
            envcheck__buf_puts(&b, cols[3 * i]);
            pad(&b, strlen(cols[3 * i]), wtype + 2);
            envcheck__buf_puts(&b, cols[3 * i + 1]);
            pad(&b, strlen(cols[3 * i + 1]), wdef + 2);
            const char *req = v->o.required ? "yes" : "no";
            envcheck__buf_puts(&b, req);
            if (cols[3 * i + 2][0]) {
                pad(&b, strlen(req), 10);
                envcheck__buf_puts(&b, cols[3 * i + 2]);
            }
            envcheck__buf_puts(&b, "\n");
        }
    }
    for (size_t i = 0; i < n * 3; i++)
        envcheck__wipe_free(cols[i]);
    free(cols);
    if (oom) {
        envcheck__buf_wipe(&b);
        return ENVCHECK_ENOMEM;
    }
    return emit(fn, ud, &b);
}

static int usage_json(const envcheck_schema *s, envcheck_write_fn fn, void *ud)
{
    cJSON *root = cJSON_CreateArray();
    if (!root)
        return ENVCHECK_ENOMEM;
    int oom = 0;
    for (size_t i = 0; i < s->n_vars && !oom; i++) {
        const envcheck__var *v = &s->vars[i];
        cJSON *o = cJSON_CreateObject();
        if (!o) {
            oom = 1;
            break;
        }
        cJSON_AddItemToArray(root, o);
        char *type = type_text(v);
        oom |= !type || !cJSON_AddStringToObject(o, "name", v->name) ||
               !cJSON_AddStringToObject(o, "type", type);
        free(type);
        if (v->default_value) {
            envcheck__buf b = { NULL, 0, 0, 0 };
            envcheck__var_show_default(&b, v);
            char *d = envcheck__buf_take(&b);
            oom |= !d || !cJSON_AddStringToObject(o, "default", d);
            envcheck__wipe_free(d);
        } else {
            oom |= !cJSON_AddNullToObject(o, "default");
        }
        oom |= !cJSON_AddBoolToObject(o, "required", v->o.required);
        oom |= !cJSON_AddBoolToObject(o, "sensitive", envcheck__var_sensitive(v));
        if (v->description)
            oom |= !cJSON_AddStringToObject(o, "description", v->description);
        if (v->example && !envcheck__var_sensitive(v))
            oom |= !cJSON_AddStringToObject(o, "example", v->example);
    }
    if (oom) {
        cJSON_Delete(root);
        return ENVCHECK_ENOMEM;
    }
    return emit_json(fn, ud, root);
}

int envcheck_schema_write_usage(const envcheck_schema *s, envcheck_format format,
                                envcheck_write_fn fn, void *userdata)
{
    if (format == ENVCHECK_FORMAT_TEXT)
        return usage_text(s, fn, userdata);
    if (format == ENVCHECK_FORMAT_JSON)
        return usage_json(s, fn, userdata);
    return ENVCHECK_EINVAL;
}
