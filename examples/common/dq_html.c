#include "dq_html.h"
#include "new_york_time.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W       1200.0 /* chart width in SVG units */
#define PRICE_H 420.0
#define SCORE_H 140.0
#define PAD_L   64.0
#define PAD_R   16.0
#define PAD_T   24.0
#define PAD_B   28.0

void html_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        const char *e = *s == '&'    ? "&amp;"
                        : *s == '<'  ? "&lt;"
                        : *s == '>'  ? "&gt;"
                        : *s == '"'  ? "&quot;"
                        : *s == '\'' ? "&#39;"
                                     : NULL;
        if (e)
            fputs(e, out);
        else
            fputc(*s, out);
    }
}

int html_check_in_parts(html_series *s, dq_checker *c, dq_report *r, const dq_batch *whole)
{
    size_t n = whole->count, step = n / 200 + 1, parts = n / step + 1, k = 0;
    s->candles = whole->candles;
    s->n = n;
    s->nscores = 0;
    s->score_at = malloc(parts * sizeof *s->score_at);
    s->score_end = malloc(parts * sizeof *s->score_end);
    if (!s->score_at || !s->score_end) {
        html_series_free(s);
        return -2;
    }
    for (size_t at = 0; at < n; at += step) {
        dq_batch b = *whole;
        b.candles = whole->candles + at;
        b.rows = whole->rows ? whole->rows + at : NULL;
        b.accept = whole->accept ? whole->accept + at : NULL;
        b.errors = whole->errors ? whole->errors + at : NULL;
        b.count = n - at < step ? n - at : step;
        if (dq_check(r, c, &b) != DQ_OK) {
            html_series_free(s);
            return -1;
        }
        s->score_at[k] = dq_report_score(r);
        s->score_end[k++] = at + b.count;
    }
    s->nscores = k;
    return 0;
}

void html_series_free(html_series *s)
{
    if (!s)
        return;
    free(s->score_at);
    free(s->score_end);
    s->score_at = NULL;
    s->score_end = NULL;
    s->nscores = 0;
}

void ts_text(char *buf, size_t size, int64_t ts, int daily)
{
    int64_t day = ts >= 0 ? ts / 86400000 : -((-ts + 86399999) / 86400000);
    int64_t ms = ts - day * 86400000;
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    if (daily)
        snprintf(buf, size, "%04d-%02u-%02u", y, m, d);
    else
        snprintf(buf, size, "%04d-%02u-%02uT%02d:%02dZ", y, m, d, (int)(ms / 3600000),
                 (int)(ms / 60000 % 60));
}

void html_begin(FILE *out, const char *title)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", out);
    html_text(out, title);
    fputs("</title>\n<style>\n"
          "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}\n"
          "h1{font-size:20px}h2{font-size:17px;margin-top:32px}\n"
          "svg{display:block;background:#fafafa;border:1px solid #ddd;max-width:100%;height:auto}\n"
          ".up{fill:#2e7d32;stroke:#2e7d32}.down{fill:#c62828;stroke:#c62828}\n"
          ".sev-error{fill:#d32f2f;stroke:#d32f2f}.sev-warning{fill:#f9a825;stroke:#b77c00}\n"
          ".sev-info{fill:#1976d2;stroke:#1976d2}\n"
          ".split{stroke:#6a1b9a;stroke-dasharray:6 3}.gap{stroke:#555;stroke-dasharray:2 3}\n"
          ".axis{stroke:#bbb}.label{font-size:11px;fill:#555}\n"
          ".score{fill:none;stroke:#1565c0;stroke-width:2}\n"
          "dl.summary{display:grid;grid-template-columns:max-content max-content;gap:2px 16px}\n"
          "dl.summary dt{color:#555}dl.summary dd{margin:0;font-weight:600}\n"
          "table{border-collapse:collapse;margin-top:8px}"
          "td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}\n"
          "th{background:#f0f0f0}td:nth-child(2){white-space:nowrap}\n"
          ".legend span{margin-right:14px}.legend svg{display:inline;border:0;"
          "background:none;vertical-align:middle}\n"
          "</style>\n</head>\n<body>\n<h1>",
          out);
    html_text(out, title);
    fputs("</h1>\n", out);
}

void html_end(FILE *out)
{
    fputs("</body>\n</html>\n", out);
}

/* The candle a finding is about: by timestamp (binary search when sorted). */
static long find_candle(const html_series *s, int64_t ts)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->candles[mid].ts < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->n && s->candles[lo].ts == ts)
        return (long)lo;
    for (size_t i = 0; i < s->n; i++)
        if (s->candles[i].ts == ts)
            return (long)i;
    return -1;
}

static const char *sev_class(int sev)
{
    return sev == DQ_SEVERITY_ERROR     ? "sev-error"
           : sev == DQ_SEVERITY_WARNING ? "sev-warning"
                                        : "sev-info";
}

void html_section(FILE *out, const html_series *s, const dq_report *r)
{
    const char *sym = dq_report_symbol(r)[0] ? dq_report_symbol(r) : "(no symbol)";
    fputs("<section class=\"symbol\" data-symbol=\"", out);
    html_text(out, sym);
    fputs("\">\n<h2>", out);
    html_text(out, sym);
    fputs(" &middot; ", out);
    html_text(out, s->source);
    fputs("</h2>\n<p class=\"legend\">Candles: green up, red down (logarithmic price "
          "scale). A marker above a bar for each finding:",
          out);
    static const char *const sev[] = { "error", "warning", "info" };
    for (int k = 0; k < 3; k++)
        fprintf(out,
                " <span><svg width=\"12\" height=\"12\"><circle class=\"sev-%s\" cx=\"6\" "
                "cy=\"6\" r=\"4\"/></svg> %s</span>",
                sev[k], sev[k]);
    fputs(" Dashed lines: possible splits (purple), missing bars (grey).</p>\n", out);

    /* price scale: logarithmic, so that a squeeze does not flatten the rest */
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < s->n; i++) {
        const dq_candle *c = &s->candles[i];
        if (isfinite(c->low) && c->low > 0 && c->low < lo)
            lo = c->low;
        if (isfinite(c->high) && c->high > 0 && c->high > hi)
            hi = c->high;
    }
    if (!(lo < hi)) {
        lo = 1;
        hi = 10;
    }
    double llo = log(lo), lhi = log(hi);
    double plot_w = W - PAD_L - PAD_R, plot_h = PRICE_H - PAD_T - PAD_B;
    double step = s->n ? plot_w / (double)s->n : plot_w;
    double body_w = step * 0.7 < 1 ? 1 : step * 0.7;
#define X(i)  (PAD_L + ((double)(i) + 0.5) * step)
#define Y(pr) (PAD_T + (lhi - log(pr)) / (lhi - llo) * plot_h)

    fprintf(out,
            "<svg id=\"chart\" class=\"chart\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
            "height=\"%.0f\" role=\"img\" "
            "aria-label=\"candlestick chart, logarithmic price scale\">\n",
            W, PRICE_H, W, PRICE_H);
    /* axis: five price levels, and the first date of each month (daily) */
    for (int k = 0; k <= 4; k++) {
        double pr = exp(llo + (lhi - llo) * k / 4.0);
        double y = Y(pr);
        fprintf(out,
                "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                "<text class=\"label\" x=\"4\" y=\"%.1f\">%.4g</text>\n",
                PAD_L, y, W - PAD_R, y, y + 4, pr);
    }
    char prev_month[8] = "";
    for (size_t i = 0; i < s->n; i++) {
        char d[32];
        ts_text(d, sizeof d, s->candles[i].ts, s->daily);
        if (strncmp(d, prev_month, 7) != 0) {
            memcpy(prev_month, d, 7);
            prev_month[7] = '\0';
            fprintf(out, "<text class=\"label\" x=\"%.1f\" y=\"%.1f\">%.7s</text>\n", X(i),
                    PRICE_H - 8, d);
        }
    }
    for (size_t i = 0; i < s->n; i++) {
        const dq_candle *c = &s->candles[i];
        if (!(c->low > 0 && c->high > 0 && c->open > 0 && c->close > 0 && isfinite(c->high) &&
              isfinite(c->low) && isfinite(c->open) && isfinite(c->close)))
            continue; /* nothing drawable: its finding is in the table */
        char d[32];
        ts_text(d, sizeof d, c->ts, s->daily);
        int up = c->close >= c->open;
        double y0 = Y(up ? c->close : c->open), y1 = Y(up ? c->open : c->close);
        fprintf(out,
                "<g class=\"candle %s\" data-date=\"%s\"><title>%s O %.6g H %.6g L %.6g C %.6g"
                "</title><line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\"/>"
                "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/></g>\n",
                up ? "up" : "down", d, d, c->open, c->high, c->low, c->close, X(i), Y(c->high),
                X(i), Y(c->low), X(i) - body_w / 2, y0, body_w, y1 - y0 < 0.8 ? 0.8 : y1 - y0);
    }
    /* markers: one per finding; splits and gaps as vertical lines too */
    size_t ni = dq_report_issue_count(r);
    for (size_t k = 0; k < ni; k++) {
        const dq_issue *is = dq_report_issue(r, k);
        long i = find_candle(s, is->ts);
        if (i < 0)
            continue;
        const dq_candle *c = &s->candles[i];
        char d[32];
        ts_text(d, sizeof d, is->ts, s->daily);
        const char *code = dq_code_name(is->code);
        if (is->code == DQ_POSSIBLE_SPLIT || is->code == DQ_POSSIBLE_REVERSE_SPLIT ||
            is->code == DQ_GAP)
            fprintf(out,
                    "<line class=\"marker-line %s\" data-code=\"%s\" data-date=\"%s\" x1=\"%.2f\" "
                    "y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\"/>\n",
                    is->code == DQ_GAP ? "gap" : "split", code, d, X(i) - step / 2, PAD_T,
                    X(i) - step / 2, PRICE_H - PAD_B);
        double top = c->high > 0 && isfinite(c->high) ? Y(c->high) : PAD_T;
        fprintf(out,
                "<circle class=\"marker %s\" data-code=\"%s\" data-date=\"%s\" cx=\"%.2f\" "
                "cy=\"%.2f\" r=\"%.1f\"><title>%s %s: ",
                sev_class(is->severity), code, d, X(i), top - 8 - 3.0 * (double)(k % 3), 4.0, d,
                code);
        html_text(out, is->message);
        fputs("</title></circle>\n", out);
    }
    fputs("</svg>\n", out);

    /* the score over the series */
    fprintf(out,
            "<svg id=\"score\" class=\"score-chart\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
            "height=\"%.0f\" role=\"img\" "
            "aria-label=\"quality score over the series\">\n",
            W, SCORE_H, W, SCORE_H);
    double smin = 1.0;
    for (size_t k = 0; k < s->nscores; k++)
        if (s->score_at[k] < smin)
            smin = s->score_at[k];
    smin = smin > 0.99 ? 0.99 : floor(smin * 100) / 100;
    double sh = SCORE_H - PAD_T - PAD_B;
#define SY(v) (PAD_T + (1.0 - (v)) / (1.0 - smin) * sh)
    fprintf(out,
            "<text class=\"label\" x=\"4\" y=\"%.1f\">1.00</text><text class=\"label\" x=\"4\" "
            "y=\"%.1f\">%.2f</text><text class=\"label\" x=\"%.1f\" y=\"14\">quality score "
            "after each part of the series</text>\n",
            SY(1.0) + 4, SY(smin) + 4, smin, PAD_L);
    fputs("<polyline class=\"score\" points=\"", out);
    for (size_t k = 0; k < s->nscores; k++)
        fprintf(out, "%s%.1f,%.1f", k ? " " : "", X(s->score_end[k] ? s->score_end[k] - 1 : 0),
                SY(s->score_at[k]));
    fputs("\"/>\n</svg>\n", out);
#undef SY
#undef X
#undef Y

    /* summary */
    fprintf(out,
            "<dl class=\"summary\" id=\"summary\">"
            "<dt>candles</dt><dd id=\"n-candles\">%llu</dd>"
            "<dt>accepted</dt><dd>%llu</dd><dt>rejected</dt><dd>%llu</dd>"
            "<dt>score</dt><dd>%.4f</dd>"
            "<dt>errors</dt><dd>%llu</dd><dt>warnings</dt><dd>%llu</dd><dt>info</dt><dd>%llu</dd>"
            "<dt>result</dt><dd>%s</dd></dl>\n",
            (unsigned long long)dq_report_candles(r), (unsigned long long)dq_report_accepted(r),
            (unsigned long long)dq_report_rejected(r), dq_report_score(r),
            (unsigned long long)dq_report_count(r, DQ_SEVERITY_ERROR),
            (unsigned long long)dq_report_count(r, DQ_SEVERITY_WARNING),
            (unsigned long long)dq_report_count(r, DQ_SEVERITY_INFO),
            dq_report_passed(r) ? "PASS" : "FAIL");

    /* findings */
    fputs("<table id=\"findings\"><thead><tr><th>row</th><th>date</th><th>code</th>"
          "<th>severity</th><th>finding</th><th>suggestion</th></tr></thead><tbody>\n",
          out);
    for (size_t k = 0; k < ni; k++) {
        const dq_issue *is = dq_report_issue(r, k);
        char d[32];
        ts_text(d, sizeof d, is->ts, s->daily);
        fprintf(out, "<tr class=\"%s\"><td>%lld</td><td>%s</td><td>%s</td><td>%s</td><td>",
                sev_class(is->severity), (long long)is->row, d, dq_code_name(is->code),
                dq_severity_name(is->severity));
        html_text(out, is->message);
        fputs("</td><td>", out);
        html_text(out, is->suggestion);
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table>\n", out);
    if (dq_report_truncated(r))
        fprintf(out, "<p>Only the first %zu findings are listed; raise --max-issues.</p>\n", ni);
    fputs("</section>\n", out);
}
