#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "new_york_time.h"
#include "symbol.h"
#include "textsafe.h"

/* --multiplier's value: 1 to 100000. */
static int parse_multiplier(const char *text, int *out)
{
    char *end;
    long m = strtol(text, &end, 10);
    if (*end || m < 1 || m > 100000) {
        fprintf(stderr, "ingestor: bad --multiplier '%s'\n", text);
        return CLI_USAGE;
    }
    *out = (int)m;
    return 0;
}

/* The checks on what was parsed that backfill and report share. */
static int check_common(const char *from, const char *to, const char *timespan, int argc,
                        char **argv)
{
    int y;
    unsigned m, d;
    if ((from && !ny_parse_date(from, strlen(from), &y, &m, &d)) ||
        (to && !ny_parse_date(to, strlen(to), &y, &m, &d)) ||
        (from && to && strcmp(from, to) > 0)) {
        fprintf(stderr, "ingestor: --from and --to are dates YYYY-MM-DD, from <= to\n");
        return CLI_USAGE;
    }
    static const char *const spans[] = {
        "minute", "hour", "day", "week", "month", "quarter", "year"
    };
    bool ok = false;
    for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++)
        ok |= strcmp(timespan, spans[i]) == 0;
    if (!ok) {
        fprintf(stderr, "ingestor: bad --timespan '%s'\n", timespan);
        return CLI_USAGE;
    }
    if (optind != argc) {
        fprintf(stderr, "ingestor: unexpected argument '%s'\n", argv[optind]);
        return CLI_USAGE;
    }
    return 0;
}

/* The options backfill and report share: --from, --to, --timespan,
 * --multiplier, --help. 0 when c was one of them and is fine. */
#define COMMON_OPTIONS                                                                             \
    { "from", required_argument, NULL, 'f' }, { "to", required_argument, NULL, 't' },              \
        { "timespan", required_argument, NULL, 'T' },                                              \
        { "multiplier", required_argument, NULL, 'm' }, { "help", no_argument, NULL, 'h' },        \
    {                                                                                              \
        NULL, 0, NULL, 0                                                                           \
    }

static int common_option(int c, const char **from, const char **to, const char **timespan,
                         int *multiplier)
{
    switch (c) {
    case 'f':
        *from = optarg;
        return 0;
    case 't':
        *to = optarg;
        return 0;
    case 'T':
        *timespan = optarg;
        return 0;
    case 'm':
        return parse_multiplier(optarg, multiplier);
    case 'h':
        return CLI_HELP;
    default:
        return CLI_USAGE;
    }
}

/* A symbol from the command line, or a message. */
static bool symbol_ok(const char *t)
{
    if (symbol_valid(t, strlen(t)))
        return true;
    char shown[64];
    text_escape(shown, sizeof shown, t, strlen(t));
    fprintf(stderr, "ingestor: bad symbol '%s': a symbol is %s\n", shown, SYMBOL_RULE);
    return false;
}

int cli_parse_backfill(int argc, char **argv, backfill_args *a)
{
    static const struct option opts[] = {
        { "symbols", required_argument, NULL, 's' },
        { "adjusted", required_argument, NULL, 'a' },
        { "source", required_argument, NULL, 'S' },
        COMMON_OPTIONS,
    };
    memset(a, 0, sizeof *a);
    a->timespan = "day";
    a->multiplier = 1;
    a->adjusted = true;
    a->source = "polygon";
    int c;
    optind = 0; /* a full reset of getopt's state (glibc, musl): callable again */
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': {
            char *copy = strdup(optarg), *save = NULL;
            if (!copy) {
                fprintf(stderr, "ingestor: out of memory\n");
                return CLI_USAGE;
            }
            for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (a->nsymbols == MAX_SYMBOLS) {
                    fprintf(stderr, "ingestor: more than %d symbols\n", MAX_SYMBOLS);
                    free(copy);
                    return CLI_USAGE;
                }
                if (!symbol_ok(t)) {
                    free(copy);
                    return CLI_USAGE;
                }
                snprintf(a->symbols[a->nsymbols++], 32, "%s", t);
            }
            free(copy);
            break;
        }
        case 'a':
            if (strcmp(optarg, "true") != 0 && strcmp(optarg, "false") != 0) {
                fprintf(stderr, "ingestor: --adjusted takes true or false\n");
                return CLI_USAGE;
            }
            a->adjusted = optarg[0] == 't';
            break;
        case 'S':
            a->source = optarg;
            break;
        default: {
            int rc = common_option(c, &a->from, &a->to, &a->timespan, &a->multiplier);
            if (rc != 0)
                return rc;
        }
        }
    }
    if (a->nsymbols == 0 || !a->from || !a->to) {
        fprintf(stderr, "ingestor: backfill needs --symbols, --from and --to\n");
        return CLI_USAGE;
    }
    if (strcmp(a->source, "polygon") != 0 && strncmp(a->source, "files:", 6) != 0) {
        fprintf(stderr, "ingestor: --source is polygon or files:DIR\n");
        return CLI_USAGE;
    }
    return check_common(a->from, a->to, a->timespan, argc, argv);
}

int cli_parse_report(int argc, char **argv, report_args *a)
{
    static const struct option opts[] = {
        { "symbol", required_argument, NULL, 's' },
        { "format", required_argument, NULL, 'F' },
        COMMON_OPTIONS,
    };
    memset(a, 0, sizeof *a);
    a->timespan = "day";
    a->multiplier = 1;
    a->format = REPORT_TEXT;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            if (!symbol_ok(optarg))
                return CLI_USAGE;
            snprintf(a->symbol, sizeof a->symbol, "%s", optarg);
            break;
        case 'F':
            if (strcmp(optarg, "text") == 0)
                a->format = REPORT_TEXT;
            else if (strcmp(optarg, "json") == 0)
                a->format = REPORT_JSON;
            else if (strcmp(optarg, "html") == 0)
                a->format = REPORT_HTML;
            else {
                fprintf(stderr, "ingestor: --format is text, json or html\n");
                return CLI_USAGE;
            }
            break;
        default: {
            int rc = common_option(c, &a->from, &a->to, &a->timespan, &a->multiplier);
            if (rc != 0)
                return rc;
        }
        }
    }
    if (!a->symbol[0]) {
        fprintf(stderr, "ingestor: report needs --symbol\n");
        return CLI_USAGE;
    }
    return check_common(a->from, a->to, a->timespan, argc, argv);
}
