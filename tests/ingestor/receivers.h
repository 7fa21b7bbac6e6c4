/*
 * Alert receivers for tests, on loopback: a webhook receiver
 * (libmicrohttpd, in-process) that records every request, and a plain-text
 * SMTP sink (no STARTTLS) that records every message. Both run on threads
 * of their own; read their fields under their lock. Failures to start are
 * cmocka failures.
 */
#ifndef TESTS_INGESTOR_RECEIVERS_H
#define TESTS_INGESTOR_RECEIVERS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

/* ------------------------------------------------------------ webhook */

#define HOOK_MAX_REQ 64

typedef struct hook {
    struct MHD_Daemon *d;
    int port;
    char url[256]; /* http://127.0.0.1:PORT/services/TOKEN */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int script[8]; /* statuses for the first requests; then 200 */
    int nscript;
    int retry_after_zero; /* send Retry-After: 0 with 429 / 503 */
    int stall;            /* block the handler while set */
    int stalled;          /* requests that reached the stall */
    int requests;
    char *body[HOOK_MAX_REQ];
    int status[HOOK_MAX_REQ];
    char ctype[HOOK_MAX_REQ][64];
} hook;

/* Start a receiver on a free loopback port; token is the URL's last part. */
hook *hook_start(const char *token);

/* Requests received so far, and requests that reached the stall. */
int hook_requests(hook *h);
int hook_stalled(hook *h);

/* Let stalled requests (and later ones) through. */
void hook_release(hook *h);

void hook_stop(hook *h);

/* ---------------------------------------------------------- SMTP sink */

#define SINK_MAX_MSG 32

typedef struct smtp_sink {
    int fd, port;
    pthread_t thread;
    atomic_int stop;
    int offer_auth;
    pthread_mutex_t lock;
    int connections;
    int mails; /* MAIL FROM commands seen */
    int messages;
    char mail_from[256];
    char rcpt[8][256];
    int nrcpt;
    char auth[256]; /* decoded AUTH PLAIN */
    size_t auth_len;
    char *data;              /* the last message, dot-unstuffed */
    char *all[SINK_MAX_MSG]; /* every message, in order (the first SINK_MAX_MSG) */
} smtp_sink;

/* Start a sink on a free loopback port; offer_auth: announce AUTH PLAIN. */
smtp_sink *sink_start(int offer_auth);

void sink_stop(smtp_sink *s);

/* Messages received so far. */
int sink_messages(smtp_sink *s);

/* A copy of the last message (caller frees); fails the test when there is none. */
char *sink_last_message(smtp_sink *s);

/*
 * Check the last mail transaction: AUTH PLAIN with user and password (the
 * one place a password may go), MAIL FROM from and RCPT TO the addresses of
 * rcpt (NULL-terminated), in order; as sent, e.g. "<ops@example.com>".
 */
void sink_expect_envelope(smtp_sink *s, const char *user, const char *password, const char *from,
                          const char *const *rcpt);

/* ------------------------------------------------------------ helpers */

/* Decode base64 (stops at '=', skips other characters); the byte count. */
size_t b64_decode(const char *in, char *out, size_t cap);

/* The value of header name in a CRLF message, unfolded ("" when absent). */
void mail_header(const char *msg, const char *name, char *out, size_t n);

#endif
