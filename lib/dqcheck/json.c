/* dq_report_to_json(): the report as one line of JSON (cJSON). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "internal.h"

static cJSON *num_or_null(double v)
{
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static int add(cJSON *obj, const char *key, cJSON *item)
{
    if (!item)
        return -1;
    cJSON_AddItemToObject(obj, key, item);
    return 0;
}

static cJSON *build(const dq_report *r)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    char interval[48] = "";
    if (r->have_interval)
        snprintf(interval, sizeof interval, "%u/%s", r->interval.multiplier,
                 dq__interval_unit_name(r->interval.unit));
    double score = round(dq_report_score(r) * 10000.0) / 10000.0;
    int bad = 0;
    bad |= add(root, "version", cJSON_CreateNumber(1));
    bad |= add(root, "symbol", cJSON_CreateString(r->symbol));
    bad |= add(root, "interval", cJSON_CreateString(interval));
    bad |= add(root, "candles", cJSON_CreateNumber((double)r->candles));
    bad |= add(root, "accepted", cJSON_CreateNumber((double)(r->candles - r->rejected)));
    bad |= add(root, "rejected", cJSON_CreateNumber((double)r->rejected));
    bad |= add(root, "score", cJSON_CreateNumber(score));
    bad |= add(root, "passed", cJSON_CreateBool(dq_report_passed(r)));
    cJSON *counts = cJSON_CreateObject();
    bad |= add(root, "counts", counts);
    if (counts) {
        bad |= add(counts, "error", cJSON_CreateNumber((double)r->count[DQ_SEVERITY_ERROR]));
        bad |= add(counts, "warning", cJSON_CreateNumber((double)r->count[DQ_SEVERITY_WARNING]));
        bad |= add(counts, "info", cJSON_CreateNumber((double)r->count[DQ_SEVERITY_INFO]));
    }
    bad |= add(root, "truncated", cJSON_CreateBool(dq_report_truncated(r)));
    cJSON *checks = cJSON_CreateArray();
    bad |= add(root, "checks", checks);
    for (int code = 0; checks && code < DQ_CODE_COUNT; code++) {
        if (!(r->enabled & (1u << code)))
            continue;
        cJSON *c = cJSON_CreateObject();
        if (!c) {
            bad = -1;
            break;
        }
        cJSON_AddItemToArray(checks, c);
        bad |= add(c, "code", cJSON_CreateString(dq_code_name(code)));
        int sev = r->sev[code];
        if (sev == DQ_SEVERITY_OFF || sev == DQ_SEVERITY_DEFAULT)
            sev = (int)dq_code_default_severity(code); /* ZERO_VOLUME on flat bars only */
        bad |= add(c, "severity", cJSON_CreateString(dq_severity_name(sev)));
        bad |= add(c, "evaluated", cJSON_CreateNumber((double)r->evaluated[code]));
        bad |= add(c, "failed", cJSON_CreateNumber((double)r->failed[code]));
    }
    cJSON *issues = cJSON_CreateArray();
    bad |= add(root, "issues", issues);
    for (size_t i = 0; issues && i < r->nissues; i++) {
        const dq_issue *is = dq__issue_ready(r, i);
        cJSON *o = cJSON_CreateObject();
        if (!o) {
            bad = -1;
            break;
        }
        cJSON_AddItemToArray(issues, o);
        bad |= add(o, "code", cJSON_CreateString(dq_code_name((int)is->code)));
        bad |= add(o, "severity", cJSON_CreateString(dq_severity_name((int)is->severity)));
        bad |= add(o, "index", cJSON_CreateNumber((double)is->index));
        bad |= add(o, "row", cJSON_CreateNumber((double)is->row));
        bad |= add(o, "ts", cJSON_CreateNumber((double)is->ts));
        cJSON *fields = cJSON_CreateArray(), *values = cJSON_CreateArray();
        bad |= add(o, "fields", fields);
        bad |= add(o, "values", values);
        for (unsigned f = 0; fields && values && f < is->nfields; f++) {
            cJSON *fs = cJSON_CreateString(is->fields[f]), *vs = num_or_null(is->values[f]);
            if (!fs || !vs) {
                cJSON_Delete(fs);
                cJSON_Delete(vs);
                bad = -1;
                break;
            }
            cJSON_AddItemToArray(fields, fs);
            cJSON_AddItemToArray(values, vs);
        }
        bad |= add(o, "threshold", num_or_null(is->threshold));
        bad |= add(o, "message", cJSON_CreateString(is->message));
        bad |= add(o, "suggestion", cJSON_CreateString(is->suggestion ? is->suggestion : ""));
    }
    if (bad) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int dq_report_to_json(char **out, const dq_report *r)
{
    *out = NULL;
    cJSON *root = build(r);
    if (!root)
        return DQ_ENOMEM;
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return DQ_ENOMEM;
    /* Hand out memory from our own allocator, so that dq_string_free()
     * is right whatever cJSON's hooks are. */
    size_t len = strlen(text);
    char *copy = malloc(len + 1);
    if (copy)
        memcpy(copy, text, len + 1);
    cJSON_free(text);
    if (!copy)
        return DQ_ENOMEM;
    *out = copy;
    return DQ_OK;
}
