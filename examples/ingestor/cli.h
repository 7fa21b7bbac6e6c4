/*
 * The command lines of `ingestor backfill`, `enqueue` and `report`, apart
 * from main.c so that the fuzz target (tests/fuzz/ingestor/fuzz_cli.c)
 * can reach it. An internal header of the program.
 *
 * Thread safety: the parsers use getopt_long(), whose state is
 * global: one thread at a time.
 */
#ifndef INGESTOR_CLI_H
#define INGESTOR_CLI_H

#include <stdbool.h>
#include <sysexits.h>

#define CLI_USAGE EX_USAGE /* a bad command line */
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

enum { REPORT_TEXT, REPORT_JSON, REPORT_HTML };

typedef struct report_args {
    char symbol[32];
    const char *from, *to; /* NULL: unbounded */
    const char *timespan;
    int multiplier;
    int format; /* REPORT_TEXT, REPORT_JSON or REPORT_HTML */
} report_args;

/*
 * Parse the command line of `ingestor report` (argv[0] the command name)
 * into *a, whose strings point into argv: --symbol S (required, a valid
 * symbol), --from/--to YYYY-MM-DD (optional, from <= to), --timespan,
 * --multiplier, --format text|json|html. Returns as cli_parse_backfill().
 */
int cli_parse_report(int argc, char **argv, report_args *a);

#endif
