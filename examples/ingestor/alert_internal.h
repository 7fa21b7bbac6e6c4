/*
 * Internals of alert.c reachable from the fuzz target
 * (tests/fuzz/ingestor/fuzz_alert.c): the webhook URL check and the secrets
 * it registers, the address check, and the e-mail text. Not part of the
 * module's interface (alert.h); nothing here touches the network.
 *
 * Thread safety: each call works on state of its own.
 */
#ifndef INGESTOR_ALERT_INTERNAL_H
#define INGESTOR_ALERT_INTERNAL_H

#include <stddef.h>

/*
 * Check url as ALERT_WEBHOOK_URL is checked; on ALERT_OK write its
 * scheme://host[:port] into origin (size bytes) and set *scrubbed to text
 * with the URL's secrets masked (malloc'ed, the caller frees). Returns
 * ALERT_OK, ALERT_EINVAL or ALERT_ENOMEM (*scrubbed NULL then).
 */
int alert_internal_webhook(const char *url, const char *text, char *origin, size_t size,
                           char **scrubbed);

/* Whether s is accepted as one e-mail address (no controls, blanks, <>,;"). */
int alert_internal_address_ok(const char *s);

/* The e-mail message (its header fields, one per line, a blank line, then
 * the text before libcurl's quoted-printable encoding; CRLF) of an alert with this key,
 * title and body, from and to the given header values; malloc'ed (the
 * caller frees), NULL when out of memory or key is not a valid key. */
char *alert_internal_email(const char *from, const char *to, const char *key, const char *title,
                           const char *body);

#endif
