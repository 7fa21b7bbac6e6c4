/*
 * Calendar arithmetic for America/New_York without the tz database: civil
 * dates to days since the epoch, and the UTC instant of a New York midnight,
 * where Polygon stamps daily bars. US DST rules since 1967 are built in.
 */
#ifndef EXAMPLES_NEW_YORK_TIME_H
#define EXAMPLES_NEW_YORK_TIME_H

#include <stdbool.h>
#include <stdint.h>

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

/* The inverse: the civil date of a day number. */
void civil_from_days(int64_t days, int *y, unsigned *m, unsigned *d);

/* Whether New York observes daylight time at local midnight of y-m-d. */
bool ny_is_dst_at_midnight(int y, unsigned m, unsigned d);

/* Unix milliseconds of 00:00 America/New_York on y-m-d. */
int64_t ny_midnight_ms(int y, unsigned m, unsigned d);

/*
 * Parse "YYYY-MM-DD" (exactly; the date must exist) into y, m, d.
 * Returns true on success.
 */
bool ny_parse_date(const char *s, size_t len, int *y, unsigned *m, unsigned *d);

/* The New York calendar date that contains the instant ms. */
void ny_date_of_ms(int64_t ms, int *y, unsigned *m, unsigned *d);

#endif
