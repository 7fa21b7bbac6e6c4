/*
 * Aggregation of a series' bars into larger windows, as the aggregates
 * endpoint's multiplier and timespan ask, with Polygon's boundaries in New
 * York time:
 *   minute, hour   multiples of the span on the wall clock since the New York
 *                  midnight (5/minute: 09:30, 09:35, ...); a window never
 *                  crosses a midnight
 *   day            `multiplier` calendar days, counted from the day of `from`
 *   week           weeks from Sunday; month, quarter (Jan, Apr, Jul, Oct),
 *                  year: calendar units; `multiplier` of them counted from
 *                  the one that holds `from`
 * Each window is stamped with its start (a New York midnight from day on).
 * Open is the first bar's, close the last's, high and low the extremes,
 * volume and trades the sums, vwap the volume-weighted mean of the bars'
 * vwaps; vw and n only when every bar of the window has them.
 */
#ifndef POLYGON_REPLAY_AGG_H
#define POLYGON_REPLAY_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* The span named name ("minute", ...). Returns false for another name. */
bool span_parse(const char *name, enum span *out);

/* The window [*start, *end) of span x mult that holds t, for a request
 * whose range starts at anchor (Unix ms). */
void agg_window(enum span sp, int64_t mult, int64_t anchor, int64_t t, int64_t *start,
                int64_t *end);

/* Aggregate the n bars of in (sorted by time, all >= anchor) into out,
 * which has room for n; returns the number of windows written. */
size_t agg_bars(const dq_candle *in, size_t n, enum span sp, int64_t mult, int64_t anchor,
                dq_candle *out);

#endif
