/* The report: counts, issue records, score. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

int dq_report_new(dq_report **out, const dq_report_options *opts)
{
    *out = NULL;
    dq_report_options o = DQ_REPORT_OPTIONS_INIT;
    if (opts) {
        if (opts->version != DQ_REPORT_OPTIONS_VERSION)
            return DQ_EINVAL;
        o = *opts;
    }
    if (o.fail_on < DQ_SEVERITY_OFF || o.fail_on > DQ_SEVERITY_ERROR)
        return DQ_EINVAL;
    if (o.max_issues > SIZE_MAX / (sizeof(dq_issue) + sizeof(dq__pending)))
        return DQ_EINVAL;
    dq_report *r = calloc(1, sizeof *r);
    if (!r)
        return DQ_ENOMEM;
    r->o = o;
    if (o.max_issues) {
        r->issues = malloc(o.max_issues * sizeof *r->issues);
        r->pending = malloc(o.max_issues * sizeof *r->pending);
        if (!r->issues || !r->pending) {
            free(r->issues);
            free(r->pending);
            free(r);
            return DQ_ENOMEM;
        }
    }
    *out = r;
    return DQ_OK;
}

void dq_report_free(dq_report *r)
{
    if (!r)
        return;
    free(r->issues);
    free(r->pending);
    free(r);
}

void dq_report_reset(dq_report *r)
{
    dq_report_options o = r->o;
    dq_issue *issues = r->issues;
    dq__pending *pending = r->pending;
    memset(r, 0, sizeof *r);
    r->o = o;
    r->issues = issues;
    r->pending = pending;
}

const char *dq_report_symbol(const dq_report *r)
{
    return r->symbol;
}

uint64_t dq_report_candles(const dq_report *r)
{
    return r->candles;
}

uint64_t dq_report_accepted(const dq_report *r)
{
    return r->candles - r->rejected;
}

uint64_t dq_report_rejected(const dq_report *r)
{
    return r->rejected;
}

uint64_t dq_report_fast_candles(const dq_report *r)
{
    return r->fast;
}

uint64_t dq_report_count(const dq_report *r, dq_severity sev)
{
    if (sev < DQ_SEVERITY_INFO || sev > DQ_SEVERITY_ERROR)
        return 0;
    return r->count[sev];
}

int dq_report_totals(const dq_report *r, int code, uint64_t *evaluated, uint64_t *failed)
{
    if (code < 0 || code >= DQ_CODE_COUNT)
        return DQ_EINVAL;
    if (evaluated)
        *evaluated = r->evaluated[code];
    if (failed)
        *failed = r->failed[code];
    return DQ_OK;
}

double dq_report_score(const dq_report *r)
{
    if (r->candles == 0)
        return 1.0;
    double s = 1.0 - ((double)r->rejected + 0.1 * (double)r->warned) / (double)r->candles;
    return s < 0 ? 0 : s;
}

int dq_report_passed(const dq_report *r)
{
    if (r->o.fail_on == DQ_SEVERITY_OFF)
        return 1;
    for (int s = (int)r->o.fail_on; s <= DQ_SEVERITY_ERROR; s++)
        if (r->count[s])
            return 0;
    return 1;
}

int dq_report_truncated(const dq_report *r)
{
    return r->findings > r->nissues;
}

size_t dq_report_issue_count(const dq_report *r)
{
    return r->nissues;
}

const dq_issue *dq_report_issue(const dq_report *r, size_t i)
{
    return i < r->nissues ? dq__issue_ready(r, i) : NULL;
}

void dq_string_free(char *s)
{
    free(s);
}
