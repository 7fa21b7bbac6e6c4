/*
 * The ingestor's log: levels, text or JSON lines on standard error, and a
 * last line of defence for secrets — every registered secret (the API key,
 * the database password) is replaced by ********** in every message. A
 * message is one line: control characters are escaped.
 */
#ifndef INGESTOR_LOG_H
#define INGESTOR_LOG_H

#include <stdbool.h>
#include <stdio.h>

typedef enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARNING = 2,
    LOG_LEVEL_ERROR = 3
} log_level;

/* Configure once, before threads start. out is borrowed (stderr usually). */
void log_setup(log_level min, bool json, FILE *out);

/* Register a secret to mask (copied; ignored when shorter than 4 bytes). */
void log_add_secret(const char *secret);

/* Forget the secrets (wiping the copies). */
void log_clear_secrets(void);

bool log_enabled(log_level level);

__attribute__((format(printf, 2, 3))) void log_msg(log_level level, const char *fmt, ...);

/*
 * Copy text into out with the registered secrets masked (in every form, and
 * a cut secret's start at its end), bytes that are not UTF-8 replaced, cut
 * to outlen on a character boundary (text_mask of textsafe.h). Every text
 * that came from elsewhere goes through this before it is cut, stored,
 * printed or sent.
 */
void log_scrub(const char *text, char *out, size_t outlen);

#endif
