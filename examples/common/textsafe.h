/*
 * Text that came from elsewhere (a server's error message, a stored row),
 * made safe to cut, store, print, encode or send: secrets masked in every
 * form they can take, valid UTF-8, and control characters escaped for
 * terminals and line-oriented logs.
 *
 * A text_masker is immutable once made: one may be shared by threads.
 */
#ifndef EXAMPLES_TEXTSAFE_H
#define EXAMPLES_TEXTSAFE_H

#include <stddef.h>

/* The shortest tail of a text that is masked as the start of a cut secret. */
#define TEXT_MASK_MIN_PREFIX 4

typedef struct text_masker text_masker;

/*
 * A masker of the n secrets of secrets (NULL entries and empty strings are
 * skipped; each is copied), replaced by mask (copied). Each secret is also
 * masked in its JSON-escaped and URL-encoded forms, and with its %XX
 * escapes decoded (a password as written in a connection URL). Returns NULL
 * when out of memory. Free with text_masker_free (which wipes the copies).
 */
text_masker *text_masker_new(const char *const *secrets, size_t n, const char *mask);

/* Overwrite the NUL-terminated s with zeros, then free it; NULL is accepted.
 * For copies of secrets. */
void text_wipe_free(char *s);

/* Free m and wipe its copies of the secrets; NULL is accepted. */
void text_masker_free(text_masker *m);

/*
 * Copy text into out (size > 0 bytes; always NUL-terminated):
 *  - every secret of m (may be NULL: none), in any of its forms, becomes
 *    the mask, and so does a tail of text of at least TEXT_MASK_MIN_PREFIX
 *    bytes that is the start of one (a secret cut before text got here);
 *  - each byte that is not part of a valid UTF-8 character becomes U+FFFD;
 *  - then the result is cut to size - 1 bytes on a character boundary.
 * Masking comes before the cut, so a cut never leaves part of a secret.
 * Returns the length of the result before the cut (> size - 1: it was cut).
 */
size_t text_mask(const text_masker *m, char *out, size_t size, const char *text);

/*
 * Copy text (len bytes; a NUL inside is shown, not an end) into out (size
 * > 0; always NUL-terminated) for a terminal or a log line: control
 * characters (below 0x20, 0x7f) and bytes that are not UTF-8 become \n, \r,
 * \t, \e or \xHH and a backslash is doubled, so that the text can neither
 * start a line nor drive a terminal; valid UTF-8 stays readable. Cut on a
 * character and escape boundary when out is too small. Returns the length
 * written.
 */
size_t text_escape(char *out, size_t size, const char *text, size_t len);

#endif
