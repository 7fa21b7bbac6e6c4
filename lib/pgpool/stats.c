/* Statistics rendering: Prometheus text and sizing advice. Pure functions
 * of a pgpool_stats snapshot. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

typedef struct sbuf {
    char *buf;
    size_t size, len;
} sbuf;

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char *dst = NULL;
    size_t room = 0;
    if (b->size > 0 && b->len < b->size) {
        dst = b->buf + b->len;
        room = b->size - b->len;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len += (size_t)n;
}

static size_t sb_done(sbuf *b)
{
    if (b->size > 0 && b->len >= b->size)
        b->buf[b->size - 1] = '\0';
    else if (b->size > 0 && b->len == 0)
        b->buf[0] = '\0';
    return b->len;
}

/* A label value with \, " and newline escaped, cut to 127 bytes. */
static void escape_label(char *out, size_t size, const char *in)
{
    size_t o = 0;
    for (; *in && o + 3 < size; in++) {
        if (*in == '\\' || *in == '"') {
            out[o++] = '\\';
            out[o++] = *in;
        } else if (*in == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = *in;
        }
    }
    out[o] = '\0';
}

static void counter(sbuf *b, const char *name, const char *help, const char *lbl, uint64_t v)
{
    sb_printf(b, "# HELP pgpool_%s %s\n# TYPE pgpool_%s counter\npgpool_%s{pool=\"%s\"} %llu\n",
              name, help, name, name, lbl, (unsigned long long)v);
}

static void gauge(sbuf *b, const char *name, const char *help, const char *lbl, uint64_t v)
{
    sb_printf(b, "# HELP pgpool_%s %s\n# TYPE pgpool_%s gauge\npgpool_%s{pool=\"%s\"} %llu\n", name,
              help, name, name, lbl, (unsigned long long)v);
}

static void histogram(sbuf *b, const char *name, const char *help, const char *lbl,
                      const uint64_t *h, int64_t sum_ns, uint64_t count)
{
    sb_printf(b, "# HELP pgpool_%s %s\n# TYPE pgpool_%s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int i = 0; i < PGPOOL_HIST_BUCKETS; i++) {
        cum += h[i];
        if (i == PGPOOL_HIST_BUCKETS - 1)
            sb_printf(b, "pgpool_%s_bucket{pool=\"%s\",le=\"+Inf\"} %llu\n", name, lbl,
                      (unsigned long long)cum);
        else
            sb_printf(b, "pgpool_%s_bucket{pool=\"%s\",le=\"%g\"} %llu\n", name, lbl,
                      pgpool_hist_bound(i), (unsigned long long)cum);
    }
    sb_printf(b, "pgpool_%s_sum{pool=\"%s\"} %.9f\npgpool_%s_count{pool=\"%s\"} %llu\n", name, lbl,
              (double)sum_ns / 1e9, name, lbl, (unsigned long long)count);
}

size_t pgpool_stats_prometheus(char *buf, size_t size, const pgpool_stats *st, const char *label)
{
    sbuf b = { buf, size, 0 };
    char lbl[128];
    escape_label(lbl, sizeof lbl, label ? label : "default");
    sb_printf(&b,
              "# HELP pgpool_connections Connections by state.\n"
              "# TYPE pgpool_connections gauge\n"
              "pgpool_connections{pool=\"%s\",state=\"idle\"} %u\n"
              "pgpool_connections{pool=\"%s\",state=\"in_use\"} %u\n"
              "pgpool_connections{pool=\"%s\",state=\"connecting\"} %u\n",
              lbl, st->idle, lbl, st->in_use, lbl, st->connecting);
    gauge(&b, "waiters", "Acquires waiting for a connection.", lbl, st->waiters);
    gauge(&b, "max_size", "Configured pool size.", lbl, st->max_size);
    gauge(&b, "max_overflow", "Configured overflow beyond max_size.", lbl, st->max_overflow);
    gauge(&b, "min_idle", "Configured minimum of idle connections.", lbl, st->min_idle);
    sb_printf(&b, "# HELP pgpool_health Health state (1 for the current one).\n"
                  "# TYPE pgpool_health gauge\n");
    for (int s = PGPOOL_UP; s <= PGPOOL_DOWN; s++)
        sb_printf(&b, "pgpool_health{pool=\"%s\",state=\"%s\"} %d\n", lbl,
                  pgpool_health_state_name(s), (int)st->health == s);
    counter(&b, "acquires_total", "Successful acquires.", lbl, st->acquires);
    counter(&b, "acquire_waits_total", "Acquires that had to wait.", lbl, st->waits);
    counter(&b, "acquire_timeouts_total", "Acquires that failed: pool exhausted.", lbl,
            st->timeouts);
    counter(&b, "acquire_connect_errors_total", "Acquires that failed: database unreachable.", lbl,
            st->connect_errors);
    counter(&b, "overflow_acquires_total", "Acquires served beyond max_size.", lbl,
            st->overflow_acquires);
    counter(&b, "connect_attempts_total", "Connects started.", lbl, st->connect_attempts);
    counter(&b, "connect_failures_total", "Connects that failed.", lbl, st->connect_failures);
    counter(&b, "connections_created_total", "Connections opened.", lbl, st->created);
    sb_printf(&b, "# HELP pgpool_connections_closed_total Connections closed, by reason.\n"
                  "# TYPE pgpool_connections_closed_total counter\n");
    for (int r = 0; r < PGPOOL_CLOSE_REASON_COUNT; r++)
        sb_printf(&b, "pgpool_connections_closed_total{pool=\"%s\",reason=\"%s\"} %llu\n", lbl,
                  pgpool_close_reason_name(r), (unsigned long long)st->closed[r]);
    counter(&b, "leaks_total", "Checkouts held longer than leak_threshold.", lbl, st->leaks);
    counter(&b, "validations_total", "Validation queries run.", lbl, st->validations);
    sb_printf(&b,
              "# HELP pgpool_releases_total Releases, by the transaction state returned in.\n"
              "# TYPE pgpool_releases_total counter\n"
              "pgpool_releases_total{pool=\"%s\",txn=\"idle\"} %llu\n"
              "pgpool_releases_total{pool=\"%s\",txn=\"in_transaction\"} %llu\n"
              "pgpool_releases_total{pool=\"%s\",txn=\"failed\"} %llu\n",
              lbl, (unsigned long long)st->returned_idle, lbl,
              (unsigned long long)st->returned_in_txn, lbl,
              (unsigned long long)st->returned_failed);
    counter(&b, "rollbacks_total", "ROLLBACKs run by the pool on release.", lbl, st->rollbacks);
    counter(&b, "resets_total", "Reset statements run on release.", lbl, st->resets);
    uint64_t nwait = 0;
    for (int i = 0; i < PGPOOL_HIST_BUCKETS; i++)
        nwait += st->wait_hist[i];
    histogram(&b, "acquire_wait_seconds", "Time from acquire to connection.", lbl, st->wait_hist,
              st->wait_sum_ns, nwait);
    histogram(&b, "connection_usage_seconds", "Time a connection was held per checkout.", lbl,
              st->usage_hist, st->usage_sum_ns, st->usage_count);
    if (st->version >= 2) {
        counter(&b, "acquire_warmup_waits_total",
                "Acquires that waited before min_idle was first reached.", lbl, st->warmup_waits);
        sb_printf(&b,
                  "# HELP pgpool_validation_results_total Validation queries and pings, by "
                  "outcome.\n"
                  "# TYPE pgpool_validation_results_total counter\n"
                  "pgpool_validation_results_total{pool=\"%s\",result=\"ok\"} %llu\n"
                  "pgpool_validation_results_total{pool=\"%s\",result=\"failed\"} %llu\n"
                  "pgpool_validation_results_total{pool=\"%s\",result=\"timeout\"} %llu\n",
                  lbl, (unsigned long long)st->validations_ok, lbl,
                  (unsigned long long)st->validations_failed, lbl,
                  (unsigned long long)st->validation_timeouts);
        uint64_t nconn = 0;
        for (int i = 0; i < PGPOOL_HIST_BUCKETS; i++)
            nconn += st->connect_hist[i];
        histogram(&b, "connect_seconds", "Time a successful connect took.", lbl, st->connect_hist,
                  st->connect_sum_ns, nconn);
    }
    return sb_done(&b);
}

static double pct(uint64_t a, uint64_t b)
{
    return b ? 100.0 * (double)a / (double)b : 0.0;
}

/* The rules are documented in docs/pgpool.md ("Advice"). */
size_t pgpool_advice(char *buf, size_t size, const pgpool_stats *st)
{
    sbuf b = { buf, size, 0 };
    int n = 0;
    const uint64_t min_sample = 100;
    uint64_t releases = st->returned_idle + st->returned_in_txn + st->returned_failed;
    uint64_t attempts = st->acquires + st->timeouts + st->connect_errors;
    /* waits while the pool warmed up (before min_idle was first reached)
     * say nothing about its size */
    uint64_t waits = st->waits;
    if (st->version >= 2 && st->warmup_waits <= waits)
        waits -= st->warmup_waits;
    if (st->timeouts > 0 && attempts > 0) {
        sb_printf(&b,
                  "raise max_size (or max_overflow): %llu of %llu acquires (%.1f%%) timed out "
                  "with the pool exhausted (rule: any timeout)\n",
                  (unsigned long long)st->timeouts, (unsigned long long)attempts,
                  pct(st->timeouts, attempts));
        n++;
    }
    if (st->acquires >= min_sample && pct(waits, st->acquires) > 10.0) {
        sb_printf(&b,
                  "raise max_size: %.1f%% of %llu acquires waited for a connection "
                  "(rule: > 10%% of at least %llu, warm-up waits left out)\n",
                  pct(waits, st->acquires), (unsigned long long)st->acquires,
                  (unsigned long long)min_sample);
        n++;
    }
    if (st->acquires >= min_sample && pct(st->overflow_acquires, st->acquires) > 5.0) {
        sb_printf(&b,
                  "raise max_size to cover the overflow: %.1f%% of %llu acquires used an overflow "
                  "connection, each opened and closed again (rule: > 5%%)\n",
                  pct(st->overflow_acquires, st->acquires), (unsigned long long)st->acquires);
        n++;
    }
    if (st->waiters == 0 && st->in_use == 0 && st->idle > 2 * st->min_idle + 2 &&
        st->acquires >= min_sample && pct(waits, st->acquires) < 1.0) {
        sb_printf(&b,
                  "lower max_size or idle_timeout: %u connections idle, far above min_idle %u, "
                  "and fewer than 1%% of acquires waited (rule: idle > 2 x min_idle + 2)\n",
                  st->idle, st->min_idle);
        n++;
    }
    if (st->leaks > 0) {
        sb_printf(&b,
                  "find the holder: %llu checkout(s) were held past leak_threshold; the LEAK "
                  "event names the connection (rule: any leak)\n",
                  (unsigned long long)st->leaks);
        n++;
    }
    if (releases >= min_sample && pct(st->returned_in_txn + st->returned_failed, releases) > 1.0) {
        sb_printf(&b,
                  "end transactions before release: %.1f%% of %llu releases came back inside a "
                  "transaction and the pool rolled them back (rule: > 1%%)\n",
                  pct(st->returned_in_txn + st->returned_failed, releases),
                  (unsigned long long)releases);
        n++;
    }
    if (st->health != PGPOOL_UP || st->connect_errors > 0) {
        sb_printf(&b,
                  "check the database: health is %s, %llu of %llu connects failed, %llu acquires "
                  "failed to reach it (rule: not up, or any connect error)\n",
                  pgpool_health_state_name((int)st->health),
                  (unsigned long long)st->connect_failures,
                  (unsigned long long)st->connect_attempts, (unsigned long long)st->connect_errors);
        n++;
    }
    if (n == 0)
        sb_printf(&b,
                  "no change: %llu acquires, %.1f%% waited, no timeouts, no leaks, %u idle for "
                  "min_idle %u\n",
                  (unsigned long long)st->acquires, pct(waits, st->acquires), st->idle,
                  st->min_idle);
    return sb_done(&b);
}
