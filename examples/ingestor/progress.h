/*
 * Progress of a backfill: a one-line bar redrawn on a terminal (symbols,
 * pages, bars, bars/s, ETA), or a log line every few seconds otherwise.
 * The workers of a backfill share one: every function takes its lock.
 */
#ifndef INGESTOR_PROGRESS_H
#define INGESTOR_PROGRESS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct progress {
    pthread_mutex_t lock;
    bool tty;
    int symbols_total, symbols_done;
    int64_t bars_expected; /* an estimate from the date ranges; 0 when unknown */
    int64_t bars, pages;
    double started, last_print;
    char current[32];                     /* the symbol a worker started last */
    double waiting_until, waiting_logged; /* a worker waits for the rate limit until then */
} progress;

/* tty: draw a bar on standard error; else log every 10 s. */
void progress_start(progress *p, int symbols, int64_t bars_expected, bool tty);
void progress_symbol(progress *p, const char *symbol);
void progress_page(progress *p, int64_t bars);
void progress_symbol_done(progress *p);
/* A worker waits wait_ns for its turn in the rate limit: shown at once. */
void progress_waiting(progress *p, int64_t wait_ns);
/* Draw the final state and release the lock. */
void progress_end(progress *p);

/* Trading sessions in a date range, roughly (252 a year), for the ETA. */
int64_t progress_estimate_bars(const char *from, const char *to, const char *timespan,
                               int multiplier);

#endif
