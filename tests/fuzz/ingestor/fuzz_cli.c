/* libFuzzer target: the command lines of `ingestor backfill`, `enqueue` and
 * `report` (examples/ingestor/cli.c). Input: the arguments, NUL-separated;
 * a first argument "report" selects the parser of `report`. */
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "new_york_time.h"
#include "symbol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What `report` accepts can be run: a valid symbol, dates in order, a
 * known format. */
static void check_report(int argc, char **argv)
{
    report_args a;
    int rc = cli_parse_report(argc, argv, &a);
    if (rc == 0) {
        int y;
        unsigned m, d;
        if (!symbol_valid(a.symbol, strlen(a.symbol)) || a.multiplier < 1 ||
            (a.format != REPORT_TEXT && a.format != REPORT_JSON && a.format != REPORT_HTML) ||
            (a.from && !ny_parse_date(a.from, strlen(a.from), &y, &m, &d)) ||
            (a.to && !ny_parse_date(a.to, strlen(a.to), &y, &m, &d)) ||
            (a.from && a.to && strcmp(a.from, a.to) > 0))
            __builtin_trap();
    } else if (rc != CLI_USAGE && rc != CLI_HELP) {
        __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[66];
    int argc = 0;
    argv[argc++] = (char *)"backfill";
    for (size_t i = 0; i <= size && argc < 65;) {
        argv[argc++] = text + i;
        i += strlen(text + i) + 1;
    }
    argv[argc] = NULL;
    opterr = 0; /* no message per unknown option */
    if (argc > 1 && strcmp(argv[1], "report") == 0) {
        check_report(argc - 1, argv + 1);
        free(text);
        return 0;
    }
    backfill_args a;
    int rc = cli_parse_backfill(argc, argv, &a);
    if (rc == 0) {
        /* what is accepted can be run: valid symbols, dates, a span */
        if (a.nsymbols < 1 || a.nsymbols > MAX_SYMBOLS || !a.from || !a.to ||
            strcmp(a.from, a.to) > 0 || a.multiplier < 1)
            __builtin_trap();
        for (int i = 0; i < a.nsymbols; i++)
            if (!symbol_valid(a.symbols[i], strlen(a.symbols[i])))
                __builtin_trap();
        int y;
        unsigned m, d;
        if (!ny_parse_date(a.from, strlen(a.from), &y, &m, &d) ||
            !ny_parse_date(a.to, strlen(a.to), &y, &m, &d))
            __builtin_trap();
    } else if (rc != CLI_USAGE && rc != CLI_HELP) {
        __builtin_trap();
    }
    free(text);
    return 0;
}
