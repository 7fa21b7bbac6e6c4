/*
 * The command line of `ingestor backfill` and `ingestor enqueue`, apart
 * from main.c so that the fuzz target (tests/fuzz/ingestor/fuzz_cli.c)
 * can reach it. An internal header of the program.
 *
 * Thread safety: cli_parse_backfill() uses getopt_long(), whose state is
 * global: one thread at a time.
 */
#ifndef INGESTOR_CLI_H
#define INGESTOR_CLI_H

#include <stdbool.h>

#define CLI_USAGE 64 /* EX_USAGE: a bad command line */
#define CLI_HELP  (-1)

#define MAX_SYMBOLS 64

typedef struct backfill_args {
    char symbols[MAX_SYMBOLS][32];
    int nsymbols;
    const char *from, *to;
    const char *timespan;
    int multiplier;
    bool adjusted;
    const char *source; /* "polygon" or "files:DIR" */
} backfill_args;

/*
 * Parse argv[0..argc) (argv[0] the command name) into *a, whose strings
 * point into argv. Returns 0; CLI_USAGE after a message on stderr; or
 * CLI_HELP for -h/--help (the caller prints the usage).
 */
int cli_parse_backfill(int argc, char **argv, backfill_args *a);

#endif
