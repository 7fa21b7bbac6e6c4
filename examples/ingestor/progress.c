#include <stdio.h>
#include <string.h>

#include "log.h"
#include "new_york_time.h"
#include "progress.h"
#include "timing.h"

static double now_s(void)
{
    return (double)mono_ns() / 1e9;
}

int64_t progress_estimate_bars(const char *from, const char *to, const char *timespan,
                               int multiplier)
{
    int y1, y2;
    unsigned m1, d1, m2, d2;
    if (!ny_parse_date(from, 10, &y1, &m1, &d1) || !ny_parse_date(to, 10, &y2, &m2, &d2))
        return 0;
    double days = (double)(days_from_civil(y2, m2, d2) - days_from_civil(y1, m1, d1) + 1);
    double sessions = days * 252.0 / 365.25;
    double per_session = 1;
    if (strcmp(timespan, "minute") == 0)
        per_session = 390.0 / multiplier;
    else if (strcmp(timespan, "hour") == 0)
        per_session = 7.0 / multiplier;
    else if (strcmp(timespan, "day") == 0)
        per_session = 1.0 / multiplier;
    else
        return 0;
    return (int64_t)(sessions * per_session);
}

void progress_start(progress *p, int symbols, int64_t bars_expected, bool tty)
{
    memset(p, 0, sizeof *p);
    p->tty = tty;
    p->symbols_total = symbols;
    p->bars_expected = bars_expected;
    p->started = p->last_print = now_s();
    pthread_mutex_init(&p->lock, NULL);
}

void progress_symbol(progress *p, const char *symbol)
{
    pthread_mutex_lock(&p->lock);
    snprintf(p->current, sizeof p->current, "%s", symbol);
    pthread_mutex_unlock(&p->lock);
}

static void show(progress *p, bool force)
{
    double t = now_s();
    if (!force && t - p->last_print < (p->tty ? 0.2 : 10.0))
        return;
    p->last_print = t;
    double elapsed = t - p->started;
    double rate = elapsed > 0 ? (double)p->bars / elapsed : 0;
    char eta[32] = "?";
    if (p->bars_expected > p->bars && rate > 0) {
        long s = (long)((double)(p->bars_expected - p->bars) / rate);
        snprintf(eta, sizeof eta, "%ld:%02ld", s / 60, s % 60);
    } else if (p->bars_expected && p->bars >= p->bars_expected) {
        snprintf(eta, sizeof eta, "0:00");
    }
    char wait[48] = "";
    if (p->waiting_until > t)
        snprintf(wait, sizeof wait, ", waiting for rate limit (%.1f s)", p->waiting_until - t);
    if (p->tty) {
        int width = 24, filled = 0;
        if (p->bars_expected > 0)
            filled = (int)((double)width * (double)p->bars / (double)p->bars_expected);
        if (filled > width)
            filled = width;
        char bar[32];
        memset(bar, '#', (size_t)filled);
        memset(bar + filled, '.', (size_t)(width - filled));
        bar[width] = '\0';
        fprintf(stderr,
                "\r[%s] %d/%d symbols  %-8s page %lld  %lld bars  %.0f bars/s  ETA %s%s \033[K",
                bar, p->symbols_done, p->symbols_total, p->current, (long long)p->pages,
                (long long)p->bars, rate, eta, wait);
        fflush(stderr);
    } else {
        log_msg(LOG_LEVEL_INFO,
                "progress: %d/%d symbols, %lld pages, %lld bars, %.0f bars/s, ETA %s%s",
                p->symbols_done, p->symbols_total, (long long)p->pages, (long long)p->bars, rate,
                eta, wait);
    }
}

void progress_page(progress *p, int64_t bars)
{
    pthread_mutex_lock(&p->lock);
    p->pages++;
    p->bars += bars;
    show(p, false);
    pthread_mutex_unlock(&p->lock);
}

void progress_symbol_done(progress *p)
{
    pthread_mutex_lock(&p->lock);
    p->symbols_done++;
    show(p, p->tty);
    pthread_mutex_unlock(&p->lock);
}

void progress_waiting(progress *p, int64_t wait_ns)
{
    pthread_mutex_lock(&p->lock);
    double t = now_s(), until = t + (double)wait_ns / 1e9;
    /* the first worker to wait since the last one's turn; a log line at most every 10 s */
    bool news = p->waiting_until < t && (p->tty || t - p->waiting_logged >= 10.0);
    if (until > p->waiting_until)
        p->waiting_until = until;
    if (news)
        p->waiting_logged = t;
    show(p, news);
    pthread_mutex_unlock(&p->lock);
}

void progress_end(progress *p)
{
    if (p->tty) {
        show(p, true);
        fputc('\n', stderr);
    }
    pthread_mutex_destroy(&p->lock);
}
