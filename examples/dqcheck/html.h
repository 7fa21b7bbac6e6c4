/*
 * dqcheck's HTML report: one self-contained page per symbol (inline SVG and
 * CSS, no script, no network fetch) with an OHLC candlestick chart whose
 * flagged bars carry a marker coloured by severity, split and gap lines,
 * the quality score over the series, the summary counts and the table of
 * findings with their suggestions. Every text from the input (the symbol,
 * messages quoting it) is HTML-escaped.
 */
#ifndef DQCHECK_HTML_H
#define DQCHECK_HTML_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <dqcheck/dqcheck.h>

/* One series as checked: candles in the order received, and the report's
 * score after each prefix (score_at[k] after candles [0, score_end[k])). */
typedef struct html_series {
    const char *source; /* the file name, shown in the title */
    const dq_candle *candles;
    size_t n;
    const double *score_at;
    const size_t *score_end;
    size_t nscores;
    int daily; /* dates rather than date-times */
} html_series;

/* The UTC date (daily) or date and minute of ts (Unix ms) as text. */
void ts_text(char *buf, size_t size, int64_t ts, int daily);

/* The head of the page (once per output). */
void html_begin(FILE *out, const char *title);

/* One symbol's section: chart, score, summary, findings. */
void html_section(FILE *out, const html_series *s, const dq_report *r);

/* The end of the page. */
void html_end(FILE *out);

#endif
