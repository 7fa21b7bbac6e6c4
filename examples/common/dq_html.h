/*
 * The data-quality HTML report of dqcheck (`--format html`) and of
 * `ingestor report`: one self-contained page, a section per symbol (inline SVG and
 * CSS, no script, no network fetch) with an OHLC candlestick chart whose
 * flagged bars carry a marker coloured by severity, split and gap lines,
 * the quality score over the series, the summary counts and the table of
 * findings with their suggestions. Every text from the input (the symbol,
 * messages quoting it) is HTML-escaped.
 */
#ifndef EXAMPLES_DQ_HTML_H
#define EXAMPLES_DQ_HTML_H

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
    double *score_at;
    size_t *score_end;
    size_t nscores;
    int daily; /* dates rather than date-times */
} html_series;

/*
 * Check whole with c into r in about 200 consecutive parts, noting the
 * report's score after each: the findings are those of one call over the
 * whole batch. Fills *s (candles borrowed from whole, the score arrays
 * allocated: html_series_free); s->source and s->daily are left to the
 * caller. 0; -1 when the checker fails (dq_checker_errmsg(c)); -2 out of
 * memory.
 */
int html_check_in_parts(html_series *s, dq_checker *c, dq_report *r, const dq_batch *whole);

/* The score arrays of html_check_in_parts (NULL-safe). */
void html_series_free(html_series *s);

/* The UTC date (daily) or date and minute of ts (Unix ms) as text. */
void ts_text(char *buf, size_t size, int64_t ts, int daily);

/* s with & < > " ' escaped, for text and attribute values. */
void html_text(FILE *out, const char *s);

/* The head of the page (once per output). */
void html_begin(FILE *out, const char *title);

/* One symbol's section: chart, score, summary, findings. */
void html_section(FILE *out, const html_series *s, const dq_report *r);

/* The end of the page. */
void html_end(FILE *out);

#endif
