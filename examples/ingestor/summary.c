#include "summary.h"

#include <stdio.h>

void summary_count(char *out, size_t size, long long n, const char *word)
{
    snprintf(out, size, "%lld %s%s", n, word, n == 1 ? "" : "s");
}

void summary_format(char *out, size_t size, const summary_totals *t)
{
    char req[48], retries[48], transport[64], reconnects[48], refused[48];
    summary_count(req, sizeof req, t->requests, "request");
    summary_count(retries, sizeof retries, t->retries, "retry");
    if (t->retries != 1) /* "retrys" */
        snprintf(retries, sizeof retries, "%lld retries", t->retries);
    summary_count(transport, sizeof transport, t->transport_errors, "transport error");
    summary_count(reconnects, sizeof reconnects, t->reconnects, "reconnect");
    summary_count(refused, sizeof refused, t->bars_refused, "bar");
    int w = t->workers > 0 ? t->workers : 1;
    char waited[160];
    if (w == 1)
        snprintf(waited, sizeof waited, "the worker waited %.1f s for backoff and the rate limit",
                 t->waited_s);
    else
        snprintf(waited, sizeof waited,
                 "the %d workers waited %.1f s between them for backoff and the rate limit "
                 "(%.1f s each on average)",
                 w, t->waited_s, t->waited_s / w);
    snprintf(out, size,
             "%s (%s, %lld rate-limited with HTTP 429, %s, %s), %s refused\ntook %.1f s; %s\n", req,
             retries, t->rate_limited, transport, reconnects, refused, t->elapsed_s, waited);
}
