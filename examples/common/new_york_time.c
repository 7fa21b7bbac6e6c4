#include <stddef.h>

#include "new_york_time.h"

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* Day number of the n-th (1-based) Sunday of a month, or the last when n=0. */
static int64_t nth_sunday(int y, unsigned m, int n)
{
    if (n == 0) {
        unsigned nm = m == 12 ? 1 : m + 1;
        int ny = m == 12 ? y + 1 : y;
        int64_t last = days_from_civil(ny, nm, 1) - 1;
        int64_t wd = (last + 4) % 7; /* 1970-01-01 was a Thursday: 0 = Sunday */
        return last - wd;
    }
    int64_t first = days_from_civil(y, m, 1);
    int64_t wd = (first + 4) % 7;
    int64_t sunday = first + (7 - wd) % 7;
    return sunday + 7 * (n - 1);
}

bool ny_is_dst_at_midnight(int y, unsigned m, unsigned d)
{
    int64_t day = days_from_civil(y, m, d);
    int64_t start, end;
    if (y >= 2007) {
        start = nth_sunday(y, 3, 2);
        end = nth_sunday(y, 11, 1);
    } else if (y >= 1987) {
        start = nth_sunday(y, 4, 1);
        end = nth_sunday(y, 10, 0);
    } else if (y >= 1967) {
        start = nth_sunday(y, 4, 0);
        end = nth_sunday(y, 10, 0);
    } else {
        return false;
    }
    /* Clocks change at 02:00, so midnight of the start Sunday is still
     * standard time and midnight of the end Sunday is still daylight time. */
    return day > start && day <= end;
}

int64_t ny_midnight_ms(int y, unsigned m, unsigned d)
{
    int64_t day = days_from_civil(y, m, d);
    int64_t offset_h = ny_is_dst_at_midnight(y, m, d) ? 4 : 5;
    return (day * 86400 + offset_h * 3600) * 1000;
}

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

bool ny_parse_date(const char *s, size_t len, int *y, unsigned *m, unsigned *d)
{
    int yy, mm, dd;
    if (len != 10 || s[4] != '-' || s[7] != '-')
        return false;
    if (!digits(s, 4, &yy) || !digits(s + 5, 2, &mm) || !digits(s + 8, 2, &dd))
        return false;
    if (mm < 1 || mm > 12 || dd < 1)
        return false;
    static const unsigned char mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (dd > mdays[mm - 1])
        return false;
    bool leap = (yy % 4 == 0 && yy % 100 != 0) || yy % 400 == 0;
    if (mm == 2 && dd == 29 && !leap)
        return false;
    *y = yy;
    *m = (unsigned)mm;
    *d = (unsigned)dd;
    return true;
}

void ny_date_of_ms(int64_t ms, int *y, unsigned *m, unsigned *d)
{
    /* Try the UTC date and the one before: New York is 4 or 5 hours behind. */
    int64_t sec = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int64_t utc_day = sec >= 0 ? sec / 86400 : (sec - 86399) / 86400;
    for (int64_t day = utc_day + 1; day >= utc_day - 1; day--) {
        int yy;
        unsigned mm, dd;
        civil_from_days(day, &yy, &mm, &dd);
        if (ny_midnight_ms(yy, mm, dd) <= ms) {
            *y = yy;
            *m = mm;
            *d = dd;
            return;
        }
    }
    civil_from_days(utc_day, y, m, d);
}
