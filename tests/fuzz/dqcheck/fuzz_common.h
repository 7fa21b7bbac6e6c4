/* Shared by the dqcheck fuzz targets: run whatever a reader produced
 * through the checker and the JSON report, per symbol, as the tool does. */
#ifndef DQCHECK_FUZZ_COMMON_H
#define DQCHECK_FUZZ_COMMON_H

#include <stdlib.h>

#include <dqcheck/dqcheck.h>

#include "reader.h"

static void fuzz_check_all(const dqr_data *d)
{
    dq_checker *c = NULL;
    dq_report *r = NULL;
    dq_report_options ro = DQ_REPORT_OPTIONS_INIT;
    ro.max_issues = 16;
    if (dq_checker_new(&c, NULL) != DQ_OK || dq_report_new(&r, &ro) != DQ_OK)
        abort();
    for (size_t i = 0; i < d->n; i++) {
        dq_batch b = DQ_BATCH_INIT;
        b.symbol = d->symbols[d->sym[i]];
        b.candles = &d->candles[i];
        b.count = 1;
        b.rows = &d->rows[i];
        if (dq_check(r, c, &b) != DQ_OK)
            abort();
    }
    char *json = NULL;
    if (dq_report_to_json(&json, r) != DQ_OK)
        abort();
    dq_string_free(json);
    if (dq_report_accepted(r) + dq_report_rejected(r) != d->n)
        abort();
    dq_report_free(r);
    dq_checker_free(c);
}

#endif
