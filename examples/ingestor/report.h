/*
 * `ingestor report`: the data-quality report of the bars stored for one
 * symbol, as text, JSON or one self-contained HTML page (the renderer of
 * `dqcheck --format html`). The stored bars are checked again with the
 * checker options the workers use, for one coherent set of findings over
 * the whole series and the score along it; the quarantined bars (never in
 * the series) and the stored quality runs are listed beside them.
 * An internal header of the program.
 */
#ifndef INGESTOR_REPORT_H
#define INGESTOR_REPORT_H

#include <stdio.h>

#include "cli.h"
#include "config.h"

/*
 * Write the report of a to out. Returns the exit status: 0; 1 when nothing
 * is stored for the symbol (a message on stderr); 69/70 when the database
 * is unavailable or its schema is behind (logged).
 */
int report_run(const ingest_config *cfg, const report_args *a, FILE *out);

#endif
