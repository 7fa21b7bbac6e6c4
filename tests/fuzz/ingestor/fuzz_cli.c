/* libFuzzer target: the command line of `ingestor backfill` and `enqueue`
 * (examples/ingestor/cli.c). Input: the arguments, NUL-separated. */
#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nytime.h"
#include "symbol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    backfill_args a;
    opterr = 0; /* no message per unknown option */
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
