/*
 * A growable string for the example programs. Appends never fail
 * visibly: an allocation failure is remembered, later appends do nothing,
 * and strbuf_take() reports it by returning NULL, so that a caller checks
 * once, at the end.
 */
#ifndef EXAMPLES_STRBUF_H
#define EXAMPLES_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct strbuf {
    char *p;    /* NUL-terminated once anything was appended; may be NULL */
    size_t len; /* bytes, without the NUL */
    size_t cap;
    bool failed; /* an allocation failed: the content is incomplete */
} strbuf;

#define STRBUF_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, false                                                                          \
    }

/* Room for n more bytes (and the NUL) at p + len, for a caller that writes
 * there and then adds to len; false when an allocation failed. */
bool strbuf_reserve(strbuf *b, size_t n);

void strbuf_add(strbuf *b, const char *s, size_t n);
void strbuf_puts(strbuf *b, const char *s);
__attribute__((format(printf, 2, 3))) void strbuf_printf(strbuf *b, const char *fmt, ...);

/* The string, owned by the caller ("" when empty); NULL (and the buffer
 * freed) when an allocation failed. The buffer is empty afterwards. */
char *strbuf_take(strbuf *b);

/* Free the content; the buffer is empty afterwards. NULL-safe. */
void strbuf_free(strbuf *b);

#endif
