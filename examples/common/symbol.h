/*
 * Ticker symbols, wherever they come from (the command line, the symbols
 * table, the configuration, a job row), are checked by symbol_valid() before
 * they name a file or go into a URL; url_path_segment() encodes them there.
 *
 * The grammar follows Polygon's tickers (AAPL, BRK.A, BRK-B, X:BTCUSD,
 * C:EURUSD, I:SPX, O:SPY251219C00650000):
 *
 *   symbol = [ prefix ":" ] body            at most SYMBOL_MAX bytes
 *   prefix = 1 to 3 of A-Z                  the market (X crypto, C forex, I indices, O options)
 *   body   = alnum *( alnum / "." / "-" )   no "..", no "." or "-" at the end
 *
 * Everything else is refused: '/', '?', '#', '%', whitespace, control and
 * non-ASCII bytes, a second ':', an empty or overlong symbol.
 *
 * Thread safety: pure functions of their arguments.
 */
#ifndef EXAMPLES_SYMBOL_H
#define EXAMPLES_SYMBOL_H

#include <stdbool.h>
#include <stddef.h>

/* Longest symbol in bytes (the ingestor keeps symbols in char[32]). */
#define SYMBOL_MAX 31

/* The rule above in one line, for error messages. */
#define SYMBOL_RULE                                                                                \
    "a ticker: letters, digits, '.' and '-' after an optional market prefix such as X: (at "       \
    "most 31 characters)"

/* Whether s (len bytes; a NUL inside is refused) is a symbol of the grammar. */
bool symbol_valid(const char *s, size_t len);

/*
 * Percent-encode s (len bytes) as one URL path segment into out (size
 * bytes, NUL-terminated): A-Z a-z 0-9 - . _ ~ and ':' stay, every other byte
 * becomes %XX, so that '/', '?', '#' and '%' cannot change the URL's
 * structure. Returns the length written, or -1 when out is too small (out
 * is then "").
 */
int url_path_segment(char *out, size_t size, const char *s, size_t len);

/* The same with only A-Z a-z 0-9 - . _ ~ and the bytes of also_keep kept. */
int percent_encode(char *out, size_t size, const char *s, size_t len, const char *also_keep);

/* The symbol a data file's name stands for: the base name of path up to its
 * first '-', '_' or '.', upper-cased ("data/aapl-2012-raw.csv": "AAPL"),
 * into out (size bytes, NUL-terminated, cut to fit). */
void symbol_from_file_name(char *out, size_t size, const char *path);

#endif
