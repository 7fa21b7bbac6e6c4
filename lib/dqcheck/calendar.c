/* Civil dates, the NYSE holiday rules, US daylight-saving time and the
 * per-day session tables the checker uses on its hot path. */
#include <stdlib.h>

#include "internal.h"

/* Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian). */
int64_t dq__days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void dq__civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

int dq__weekday(int64_t day)
{
    int64_t w = (day + 4) % 7; /* 1970-01-01 was a Thursday */
    return (int)(w < 0 ? w + 7 : w);
}

/* The n-th (1-based) weekday wd of month m, or the last one when n == 0. */
static int64_t nth_weekday(int y, unsigned m, int wd, int n)
{
    if (n > 0) {
        int64_t first = dq__days_from_civil(y, m, 1);
        int delta = (wd - dq__weekday(first) + 7) % 7;
        return first + delta + 7 * (n - 1);
    }
    int64_t last = dq__days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1) - 1;
    int delta = (dq__weekday(last) - wd + 7) % 7;
    return last - delta;
}

/* Gregorian Easter Sunday (anonymous algorithm, Meeus/Jones/Butcher). */
static int64_t easter(int y)
{
    int a = y % 19, b = y / 100, c = y % 100, d = b / 4, e = b % 4;
    int f = (b + 8) / 25, g = (b - f + 1) / 3;
    int h = (19 * a + b - d - g + 15) % 30;
    int i = c / 4, k = c % 4;
    int l = (32 + 2 * e + 2 * i - h - k) % 7;
    int m = (a + 11 * h + 22 * l) / 451;
    int month = (h + l - 7 * m + 114) / 31;
    int day = ((h + l - 7 * m + 114) % 31) + 1;
    return dq__days_from_civil(y, (unsigned)month, (unsigned)day);
}

/* A fixed-date holiday observed on Friday when on Saturday and on Monday
 * when on Sunday. */
static int64_t observed(int64_t day)
{
    int wd = dq__weekday(day);
    if (wd == 6)
        return day - 1;
    if (wd == 0)
        return day + 1;
    return day;
}

/* Unscheduled full-day closures since 1971 (weekdays only). */
static const struct {
    short y;
    unsigned char m, d;
} specials[] = {
    { 1972, 12, 28 }, /* President Truman's funeral */
    { 1973, 1, 25 },  /* President Johnson's funeral */
    { 1977, 7, 14 },  /* New York City blackout */
    { 1985, 9, 27 },  /* Hurricane Gloria */
    { 1994, 4, 27 },  /* President Nixon's funeral */
    { 2001, 9, 11 },  /* September 11 attacks, through 2001-09-14 */
    { 2001, 9, 12 },  { 2001, 9, 13 },
    { 2001, 9, 14 },  { 2004, 6, 11 }, /* President Reagan's funeral */
    { 2007, 1, 2 },                    /* President Ford's funeral */
    { 2012, 10, 29 },                  /* Hurricane Sandy, through 2012-10-30 */
    { 2012, 10, 30 }, { 2018, 12, 5 }, /* President G. H. W. Bush's funeral */
    { 2025, 1, 9 },                    /* President Carter's funeral */
};

static int cmp_day(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

size_t dq__nyse_closures(int y, int64_t *out, size_t max)
{
    int64_t tmp[32];
    size_t n = 0;
    /* New Year's Day: Sunday -> Monday; a Saturday is not made up on Friday
     * (NYSE rule: the year-end close is not moved). */
    int64_t ny = dq__days_from_civil(y, 1, 1);
    if (dq__weekday(ny) == 0)
        tmp[n++] = ny + 1;
    else if (dq__weekday(ny) != 6)
        tmp[n++] = ny;
    if (y >= 1998)
        tmp[n++] = nth_weekday(y, 1, 1, 3); /* Martin Luther King Jr. Day */
    tmp[n++] = nth_weekday(y, 2, 1, 3);     /* Washington's Birthday */
    tmp[n++] = easter(y) - 2;               /* Good Friday */
    tmp[n++] = nth_weekday(y, 5, 1, 0);     /* Memorial Day */
    if (y >= 2022)
        tmp[n++] = observed(dq__days_from_civil(y, 6, 19)); /* Juneteenth */
    tmp[n++] = observed(dq__days_from_civil(y, 7, 4));      /* Independence Day */
    tmp[n++] = nth_weekday(y, 9, 1, 1);                     /* Labor Day */
    if (y == 1972 || y == 1976 || y == 1980)                /* presidential Election Day */
        tmp[n++] = nth_weekday(y, 11, 1, 1) + 1;
    tmp[n++] = nth_weekday(y, 11, 4, 4);                 /* Thanksgiving */
    tmp[n++] = observed(dq__days_from_civil(y, 12, 25)); /* Christmas */
    for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
        if (specials[i].y == y)
            tmp[n++] = dq__days_from_civil(y, specials[i].m, specials[i].d);
    qsort(tmp, n, sizeof tmp[0], cmp_day);
    size_t k = 0;
    for (size_t i = 0; i < n && k < max; i++)
        if (k == 0 || out[k - 1] != tmp[i])
            out[k++] = tmp[i];
    return k;
}

void dq__us_dst(int y, int64_t *start, int64_t *end)
{
    if (y >= 2007) { /* Energy Policy Act of 2005 */
        *start = nth_weekday(y, 3, 0, 2);
        *end = nth_weekday(y, 11, 0, 1);
    } else if (y >= 1987) {
        *start = nth_weekday(y, 4, 0, 1);
        *end = nth_weekday(y, 10, 0, 0);
    } else if (y == 1974) { /* emergency year-round DST */
        *start = dq__days_from_civil(1974, 1, 6);
        *end = nth_weekday(y, 10, 0, 0);
    } else if (y == 1975) {
        *start = dq__days_from_civil(1975, 2, 23);
        *end = nth_weekday(y, 10, 0, 0);
    } else {
        *start = nth_weekday(y, 4, 0, 0);
        *end = nth_weekday(y, 10, 0, 0);
    }
}

int dq__caltab_build(dq__caltab *t, dq_calendar cal, int with_starts)
{
    t->start = NULL;
    t->nsessions = 0;
    int64_t d0 = dq__days_from_civil(DQ__CAL_FIRST_YEAR, 1, 1);
    int64_t d1 = dq__days_from_civil(DQ__CAL_LAST_YEAR + 1, 1, 1);
    t->day0 = d0;
    t->ndays = d1 - d0;
    t->e = malloc((size_t)t->ndays * sizeof *t->e);
    if (!t->e)
        return DQ_ENOMEM;
    int32_t cum = 0;
    for (int y = DQ__CAL_FIRST_YEAR; y <= DQ__CAL_LAST_YEAR; y++) {
        int64_t closed[32];
        size_t nclosed = cal == DQ_CAL_NYSE ? dq__nyse_closures(y, closed, 32) : 0;
        int64_t ds, de;
        dq__us_dst(y, &ds, &de);
        int64_t y0 = dq__days_from_civil(y, 1, 1), y1 = dq__days_from_civil(y + 1, 1, 1);
        size_t ci = 0;
        for (int64_t d = y0; d < y1; d++) {
            int wd = dq__weekday(d);
            int sess = cal == DQ_CAL_24X7 || (wd != 0 && wd != 6);
            while (ci < nclosed && closed[ci] < d)
                ci++;
            if (ci < nclosed && closed[ci] == d)
                sess = 0;
            int dst = d >= ds && d < de;
            t->e[d - d0] = (int32_t)((uint32_t)cum << 2 | (uint32_t)sess << 1 | (uint32_t)dst);
            cum += sess;
        }
    }
    if (with_starts) {
        t->start = malloc((size_t)(cum > 0 ? cum : 1) * sizeof *t->start);
        if (!t->start) {
            dq__caltab_free(t);
            return DQ_ENOMEM;
        }
        for (int64_t i = 0; i < t->ndays; i++)
            if (t->e[i] & 2)
                t->start[t->nsessions++] = (d0 + i) * DQ__DAY_MS;
    }
    return DQ_OK;
}

void dq__caltab_free(dq__caltab *t)
{
    free(t->e);
    free(t->start);
    t->e = NULL;
    t->start = NULL;
}

int dq_calendar_is_session(dq_calendar cal, int64_t day)
{
    if (cal == DQ_CAL_24X7)
        return 1;
    if (cal != DQ_CAL_NYSE && cal != DQ_CAL_WEEKDAYS)
        return DQ_EINVAL;
    int wd = dq__weekday(day);
    if (cal == DQ_CAL_WEEKDAYS)
        return wd != 0 && wd != 6;
    int y;
    unsigned m, d;
    dq__civil_from_days(day, &y, &m, &d);
    if (y < DQ__CAL_FIRST_YEAR || y > DQ__CAL_LAST_YEAR)
        return DQ_EINVAL;
    if (wd == 0 || wd == 6)
        return 0;
    int64_t closed[32];
    size_t n = dq__nyse_closures(y, closed, 32);
    for (size_t i = 0; i < n; i++)
        if (closed[i] == day)
            return 0;
    return 1;
}
