/*
 * dqcheck — check OHLCV candle files (CSV, Polygon aggregates JSON) with
 * libdqcheck and print a report per symbol.
 *
 *   dqcheck [options] FILE...
 *
 * Exit status: 0 when nothing reaches the --fail-on level, 1 when something
 * does (a finding or a malformed row), 2 when an input is unreadable.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dqcheck/dqcheck.h>

#include "dq_html.h"
#include "read_file.h"
#include "reader.h"
#include "symbol.h"
#include "textsafe.h"

/* The exit statuses (see usage()): nothing reached --fail-on, something did,
 * an input was unreadable or the command line wrong. */
enum { STATUS_PASS = 0, STATUS_FAIL = 1, STATUS_ERROR = 2 };

static void usage(FILE *to)
{
    fputs("usage: dqcheck [options] FILE...\n"
          "Check OHLCV candles in CSV files or Polygon aggregates JSON pages.\n"
          "\n"
          "  --interval N/UNIT     bar interval: 1/day (default), 5/minute, 1/hour, ...\n"
          "  --calendar CAL        nyse (default), weekdays or 24x7\n"
          "  --format FMT          text (default), json (one report per symbol per line) or\n"
          "                        html (one self-contained page: chart, score, findings)\n"
          "  --fail-on LEVEL       error (default), warning, info or never\n"
          "  --max-issues N        issue records kept per report (default 1000)\n"
          "  --symbol SYM          symbol for files without a symbol column or ticker\n"
          "  --open-gap X          OPEN_GAP threshold (default 0.2)\n"
          "  --range X             RANGE threshold (default 0.3)\n"
          "  --split-tolerance X   split ratio tolerance (default 0.05)\n"
          "  --unit-tolerance X    UNIT_100X tolerance (default 0.1)\n"
          "  --vwap-tolerance X    VWAP_OUTSIDE_RANGE slack (default 0.001)\n"
          "  --stale-repeat N      STALE_REPEAT run length (default 5)\n"
          "  --severity CODE=LEVEL set a check's severity (off, info, warning, error)\n"
          "  --off CODE            turn a check off (same as --severity CODE=off)\n"
          "  --help, --version\n"
          "\n"
          "Exit status: 0 nothing reached --fail-on, 1 something did (or a row was\n"
          "malformed), 2 an input was unreadable.\n",
          to);
}

static int parse_num(const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < 0) {
        fprintf(stderr, "dqcheck: %s: not a non-negative number: %s\n", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

typedef struct tool {
    dq_options opts;
    dq_report_options ropts;
    int json;
    int html; /* one HTML page for all files (--format html) */
    const char *symbol;
    int worst; /* exit status so far */
} tool;

/* Text from the input (file names, symbols, fields quoted in messages) for
 * the terminal: control characters escaped, cut to size. */
static const char *shown(char *buf, size_t size, const char *s)
{
    text_escape(buf, size, s, strlen(s));
    return buf;
}

static void print_text(const char *path, const dq_report *r, int daily)
{
    char sym[160], msg[1024];
    uint64_t n = dq_report_candles(r);
    printf("%s: %s %s: %llu candles, %llu accepted, %llu rejected, score %.4f, "
           "%llu errors, %llu warnings, %llu info: %s\n",
           path,
           dq_report_symbol(r)[0] ? shown(sym, sizeof sym, dq_report_symbol(r)) : "(no symbol)",
           daily ? "daily" : "intraday", (unsigned long long)n,
           (unsigned long long)dq_report_accepted(r), (unsigned long long)dq_report_rejected(r),
           dq_report_score(r), (unsigned long long)dq_report_count(r, DQ_SEVERITY_ERROR),
           (unsigned long long)dq_report_count(r, DQ_SEVERITY_WARNING),
           (unsigned long long)dq_report_count(r, DQ_SEVERITY_INFO),
           dq_report_passed(r) ? "PASS" : "FAIL");
    size_t ni = dq_report_issue_count(r);
    if (ni)
        printf("  %6s  %-17s  %-22s  %-8s  %s\n", "row", "ts", "code", "severity", "message");
    for (size_t i = 0; i < ni; i++) {
        const dq_issue *is = dq_report_issue(r, i);
        char t[32];
        ts_text(t, sizeof t, is->ts, daily);
        printf("  %6lld  %-17s  %-22s  %-8s  %s\n", (long long)is->row, t, dq_code_name(is->code),
               dq_severity_name(is->severity), shown(msg, sizeof msg, is->message));
        printf("  %6s  %-17s  %-22s  %-8s  -> %s\n", "", "", "", "",
               shown(msg, sizeof msg, is->suggestion));
    }
    if (dq_report_truncated(r))
        printf("  (truncated: %zu of the findings shown; raise --max-issues)\n", ni);
}

/* Check whole in parts (the score over the series), then write the
 * symbol's HTML section. */
static int check_in_parts(tool *t, const char *path, dq_checker *c, dq_report *r,
                          const dq_batch *whole)
{
    html_series s = { .source = path, .daily = t->opts.interval.unit == DQ_UNIT_DAY };
    int rc = html_check_in_parts(&s, c, r, whole);
    if (rc == -2)
        fprintf(stderr, "dqcheck: out of memory\n");
    else if (rc != 0)
        fprintf(stderr, "dqcheck: %s: %s\n", path, dq_checker_errmsg(c));
    else
        html_section(stdout, &s, r);
    html_series_free(&s);
    return rc == 0 ? 0 : -1;
}

static int check_file(tool *t, const char *path)
{
    char spath[1024], smsg[1024];
    shown(spath, sizeof spath, path);
    size_t len = 0;
    char *buf = read_file(path, &len);
    if (!buf) {
        fprintf(stderr, "dqcheck: %s: %s\n", spath, strerror(errno));
        return STATUS_ERROR;
    }
    char defsym[64];
    if (t->symbol)
        snprintf(defsym, sizeof defsym, "%s", t->symbol);
    else
        symbol_from_file_name(defsym, sizeof defsym, path);
    dqr_data d;
    dqr_init(&d);
    int rc = dqr_read_auto(&d, path, buf, len, defsym);
    free(buf);
    if (rc == -2) {
        fprintf(stderr, "dqcheck: %s: out of memory\n", spath);
        dqr_free(&d);
        return STATUS_ERROR;
    }
    if (rc != 0) {
        fprintf(stderr, "dqcheck: %s\n", shown(smsg, sizeof smsg, d.err));
        dqr_free(&d);
        return STATUS_ERROR;
    }
    int status = STATUS_PASS;
    for (size_t i = 0; i < d.nbad; i++) {
        if (d.bad[i].line > 0)
            fprintf(stderr, "dqcheck: %s:%ld: malformed row %lld: %s\n", spath, d.bad[i].line,
                    (long long)d.bad[i].row, shown(smsg, sizeof smsg, d.bad[i].msg));
        else
            fprintf(stderr, "dqcheck: %s: malformed row %lld: %s\n", spath, (long long)d.bad[i].row,
                    shown(smsg, sizeof smsg, d.bad[i].msg));
        if (t->ropts.fail_on != DQ_SEVERITY_OFF)
            status = STATUS_FAIL;
    }
    dq_candle *cs = malloc((d.n ? d.n : 1) * sizeof *cs);
    int64_t *rows = malloc((d.n ? d.n : 1) * sizeof *rows);
    if (!cs || !rows) {
        free(cs);
        free(rows);
        dqr_free(&d);
        fprintf(stderr, "dqcheck: %s: out of memory\n", spath);
        return STATUS_ERROR;
    }
    int daily = t->opts.interval.unit == DQ_UNIT_DAY;
    /* One checker and one report, reset per symbol: the checker's calendar
     * table is built once per file, not once per symbol. */
    dq_checker *c = NULL;
    dq_report *r = NULL;
    if (dq_checker_new(&c, &t->opts) != DQ_OK || dq_report_new(&r, &t->ropts) != DQ_OK) {
        fprintf(stderr, "dqcheck: cannot create a checker\n");
        status = STATUS_ERROR;
        d.nsym = 0;
    }
    for (size_t s = 0; s < d.nsym; s++) {
        size_t m = 0;
        for (size_t i = 0; i < d.n; i++)
            if (d.sym[i] == s) {
                cs[m] = d.candles[i];
                rows[m] = d.rows[i];
                m++;
            }
        dq_checker_reset(c);
        dq_report_reset(r);
        dq_batch b = DQ_BATCH_INIT;
        b.symbol = d.symbols[s];
        b.candles = cs;
        b.count = m;
        b.rows = rows;
        if (t->html) {
            /* in parts, for the score over the series: the findings are
             * those of one call over the whole series */
            if (check_in_parts(t, path, c, r, &b) != 0) {
                status = STATUS_ERROR;
                continue;
            }
        } else if (dq_check(r, c, &b) != DQ_OK) {
            fprintf(stderr, "dqcheck: %s: %s\n", spath, dq_checker_errmsg(c));
            status = STATUS_ERROR;
            continue;
        }
        if (t->html) {
            /* printed by check_in_parts */
        } else if (t->json) {
            char *js = NULL;
            if (dq_report_to_json(&js, r) != DQ_OK) {
                fprintf(stderr, "dqcheck: out of memory\n");
                status = STATUS_ERROR;
            } else {
                puts(js);
                dq_string_free(js);
            }
        } else {
            print_text(spath, r, daily);
        }
        if (!dq_report_passed(r) && status < STATUS_FAIL)
            status = STATUS_FAIL;
    }
    dq_checker_free(c);
    dq_report_free(r);
    free(cs);
    free(rows);
    dqr_free(&d);
    return status;
}

int main(int argc, char **argv)
{
    tool t = { .opts = DQ_OPTIONS_INIT, .ropts = DQ_REPORT_OPTIONS_INIT };
    enum {
        O_INTERVAL = 256,
        O_CALENDAR,
        O_FORMAT,
        O_FAIL_ON,
        O_MAX_ISSUES,
        O_SYMBOL,
        O_OPEN_GAP,
        O_RANGE,
        O_SPLIT_TOL,
        O_UNIT_TOL,
        O_VWAP_TOL,
        O_STALE,
        O_SEVERITY,
        O_OFF,
        O_HELP,
        O_VERSION
    };
    static const struct option longopts[] = {
        { "interval", required_argument, NULL, O_INTERVAL },
        { "calendar", required_argument, NULL, O_CALENDAR },
        { "format", required_argument, NULL, O_FORMAT },
        { "fail-on", required_argument, NULL, O_FAIL_ON },
        { "max-issues", required_argument, NULL, O_MAX_ISSUES },
        { "symbol", required_argument, NULL, O_SYMBOL },
        { "open-gap", required_argument, NULL, O_OPEN_GAP },
        { "range", required_argument, NULL, O_RANGE },
        { "split-tolerance", required_argument, NULL, O_SPLIT_TOL },
        { "unit-tolerance", required_argument, NULL, O_UNIT_TOL },
        { "vwap-tolerance", required_argument, NULL, O_VWAP_TOL },
        { "stale-repeat", required_argument, NULL, O_STALE },
        { "severity", required_argument, NULL, O_SEVERITY },
        { "off", required_argument, NULL, O_OFF },
        { "help", no_argument, NULL, O_HELP },
        { "version", no_argument, NULL, O_VERSION },
        { NULL, 0, NULL, 0 },
    };
    int ch;
    double v;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (ch) {
        case O_INTERVAL:
            if (dq_interval_parse(&t.opts.interval, optarg) != DQ_OK) {
                fprintf(stderr, "dqcheck: --interval: expected N/UNIT (1/day, 5/minute): %s\n",
                        optarg);
                return STATUS_ERROR;
            }
            break;
        case O_CALENDAR:
            if (strcmp(optarg, "nyse") == 0)
                t.opts.calendar = DQ_CAL_NYSE;
            else if (strcmp(optarg, "weekdays") == 0)
                t.opts.calendar = DQ_CAL_WEEKDAYS;
            else if (strcmp(optarg, "24x7") == 0)
                t.opts.calendar = DQ_CAL_24X7;
            else {
                fprintf(stderr, "dqcheck: --calendar: nyse, weekdays or 24x7: %s\n", optarg);
                return STATUS_ERROR;
            }
            break;
        case O_FORMAT:
            t.json = strcmp(optarg, "json") == 0;
            t.html = strcmp(optarg, "html") == 0;
            if (!t.json && !t.html && strcmp(optarg, "text") != 0) {
                fprintf(stderr, "dqcheck: --format: text, json or html: %s\n", optarg);
                return STATUS_ERROR;
            }
            break;
        case O_FAIL_ON:
            if (strcmp(optarg, "never") == 0)
                t.ropts.fail_on = DQ_SEVERITY_OFF;
            else {
                int s = dq_severity_from_name(optarg);
                if (s < DQ_SEVERITY_INFO) {
                    fprintf(stderr, "dqcheck: --fail-on: error, warning, info or never: %s\n",
                            optarg);
                    return STATUS_ERROR;
                }
                t.ropts.fail_on = (dq_severity)s;
            }
            break;
        case O_MAX_ISSUES: {
            char *end;
            errno = 0;
            unsigned long long n = strtoull(optarg, &end, 10);
            if (end == optarg || *end || errno || n > 100000000ULL || optarg[0] == '-') {
                fprintf(stderr, "dqcheck: --max-issues: not a count: %s\n", optarg);
                return STATUS_ERROR;
            }
            t.ropts.max_issues = (size_t)n;
            break;
        }
        case O_SYMBOL:
            t.symbol = optarg;
            break;
        case O_OPEN_GAP:
        case O_RANGE:
        case O_SPLIT_TOL:
        case O_UNIT_TOL:
        case O_VWAP_TOL: {
            double *field[] = { &t.opts.open_gap, &t.opts.range, &t.opts.split_tolerance,
                                &t.opts.unit_tolerance, &t.opts.vwap_tolerance };
            if (parse_num(longopts[ch - O_INTERVAL].name, optarg, field[ch - O_OPEN_GAP]) != 0)
                return STATUS_ERROR;
            break;
        }
        case O_STALE:
            if (parse_num(longopts[ch - O_INTERVAL].name, optarg, &v) != 0)
                return STATUS_ERROR;
            t.opts.stale_repeat = v > 1e6 ? 1000000u : (unsigned)v;
            break;
        case O_SEVERITY:
        case O_OFF: {
            char name[64];
            const char *level = "off";
            if (ch == O_SEVERITY) {
                const char *eq = strchr(optarg, '=');
                if (!eq || (size_t)(eq - optarg) >= sizeof name) {
                    fprintf(stderr, "dqcheck: --severity: expected CODE=LEVEL: %s\n", optarg);
                    return STATUS_ERROR;
                }
                memcpy(name, optarg, (size_t)(eq - optarg));
                name[eq - optarg] = '\0';
                level = eq + 1;
            } else {
                snprintf(name, sizeof name, "%s", optarg);
            }
            int code = dq_code_from_name(name);
            int sev = dq_severity_from_name(level);
            if (code < 0 || sev < 0) {
                fprintf(stderr, "dqcheck: unknown check code or level: %s\n", optarg);
                return STATUS_ERROR;
            }
            t.opts.severity[code] = (unsigned char)sev;
            if (code == DQ_ZERO_VOLUME)
                t.opts.zero_volume_flat_severity = (unsigned char)sev;
            break;
        }
        case O_HELP:
        case 'h':
            usage(stdout);
            return 0;
        case O_VERSION:
            printf("dqcheck (libdqcheck %s)\n", DQ_VERSION_STRING);
            return 0;
        default:
            usage(stderr);
            return STATUS_ERROR;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return STATUS_ERROR;
    }
    dq_checker *probe = NULL;
    if (dq_checker_new(&probe, &t.opts) != DQ_OK) {
        fprintf(stderr, "dqcheck: invalid thresholds (tolerances: split < 0.2, unit < 0.5; "
                        "stale-repeat >= 2)\n");
        return STATUS_ERROR;
    }
    dq_checker_free(probe);
    int status = STATUS_PASS;
    if (t.html)
        html_begin(stdout, "dqcheck report");
    for (int i = optind; i < argc; i++) {
        int s = check_file(&t, argv[i]);
        if (s > status)
            status = s;
    }
    if (t.html)
        html_end(stdout);
    fflush(stdout);
    return status;
}
