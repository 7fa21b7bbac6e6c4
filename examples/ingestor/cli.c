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
        { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },
        { "timespan", required_argument, NULL, 'T' },
        { "multiplier", required_argument, NULL, 'm' },
        { "adjusted", required_argument, NULL, 'a' },
        { "source", required_argument, NULL, 'S' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
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
        case 'f':
            a->from = optarg;
            break;
        case 't':
            a->to = optarg;
            break;
        case 'T':
            a->timespan = optarg;
            break;
        case 'm':
            if (parse_multiplier(optarg, &a->multiplier) != 0)
                return CLI_USAGE;
            break;
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
        case 'h':
            return CLI_HELP;
        default:
            return CLI_USAGE;
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
        { "from", required_argument, NULL, 'f' },
        { "to", required_argument, NULL, 't' },
        { "timespan", required_argument, NULL, 'T' },
        { "multiplier", required_argument, NULL, 'm' },
        { "format", required_argument, NULL, 'F' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
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
        case 'f':
            a->from = optarg;
            break;
        case 't':
            a->to = optarg;
            break;
        case 'T':
            a->timespan = optarg;
            break;
        case 'm':
            if (parse_multiplier(optarg, &a->multiplier) != 0)
                return CLI_USAGE;
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
        case 'h':
            return CLI_HELP;
        default:
            return CLI_USAGE;
        }
    }
    if (!a->symbol[0]) {
        fprintf(stderr, "ingestor: report needs --symbol\n");
        return CLI_USAGE;
    }
    return check_common(a->from, a->to, a->timespan, argc, argv);
    return 0;
}
