/*
 * Time for the example programs: the monotonic clock (for intervals and
 * deadlines; never goes back) and a sleep that ends early when the program
 * is asked to stop.
 */
#ifndef EXAMPLES_TIMING_H
#define EXAMPLES_TIMING_H

#include <stdatomic.h>
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds and in milliseconds. */
int64_t mono_ns(void);
int64_t mono_ms(void);

/* CLOCK_REALTIME in Unix milliseconds. */
int64_t wall_ms(void);

/*
 * Sleep for ns nanoseconds, or less: within 100 ms of *stop being set
 * (stop may be NULL), and at once when wake_fd (-1: none) becomes readable
 * (a retry_cancel's descriptor, say). Interrupted sleeps resume.
 */
void sleep_unless_stopped(int64_t ns, const atomic_int *stop, int wake_fd);

#endif
