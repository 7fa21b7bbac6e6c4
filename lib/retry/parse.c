/* Retry-After (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date. */
#include <string.h>

#include "internal.h"

typedef struct cursor {
    const char *p, *end;
} cursor;

static int peek(const cursor *c)
{
    return c->p < c->end ? (unsigned char)*c->p : -1;
}

static int is_digit(int ch)
{
    return ch >= '0' && ch <= '9';
}

static int lit(cursor *c, const char *s)
{
    size_t n = strlen(s);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

/* Exactly n digits (n >= 1). */
static int digits(cursor *c, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        int ch = peek(c);
        if (!is_digit(ch))
            return 0;
        v = v * 10 + (ch - '0');
        c->p++;
    }
    *out = v;
    return 1;
}

static const char *const months[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const days_short[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char *const days_long[7] = { "Monday", "Tuesday",  "Wednesday", "Thursday",
                                          "Friday", "Saturday", "Sunday" };

static int month(cursor *c, int *out)
{
    for (int i = 0; i < 12; i++) {
        if (lit(c, months[i])) {
            *out = i + 1;
            return 1;
        }
    }
    return 0;
}

static int day_name(cursor *c, const char *const *names)
{
    for (int i = 0; i < 7; i++)
        if (lit(c, names[i]))
            return 1;
    return 0;
}

static int time_of_day(cursor *c, int *h, int *m, int *s)
{
    return digits(c, 2, h) && lit(c, ":") && digits(c, 2, m) && lit(c, ":") && digits(c, 2, s) &&
           *h <= 23 && *m <= 59 && *s <= 60;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int valid_date(int64_t y, int mo, int d)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (mo < 1 || mo > 12 || d < 1)
        return 0;
    int n = mdays[mo - 1] + (mo == 2 && is_leap(y));
    return d <= n;
}

/* Days since 1970-01-01 (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The civil year of a Unix time, for RFC 850's two-digit years. */
static int64_t year_of(int64_t unix_s)
{
    int64_t z = (unix_s >= 0 ? unix_s : unix_s - 86399) / 86400 + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    return yoe + era * 400 + (m <= 2);
}

static int parse_date(cursor *c, int64_t now_unix_s, int64_t *unix_s)
{
    int d = 0, mo = 0, y = 0, h = 0, mi = 0, s = 0;
    int64_t year;
    cursor save = *c;
    if (day_name(c, days_short) && lit(c, ", ")) {
        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        if (!(digits(c, 2, &d) && lit(c, " ") && month(c, &mo) && lit(c, " ") && digits(c, 4, &y) &&
              lit(c, " ") && time_of_day(c, &h, &mi, &s) && lit(c, " GMT")))
            return 0;
        year = y;
    } else {
        *c = save;
        if (day_name(c, days_long) && lit(c, ", ")) {
            /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
            if (!(digits(c, 2, &d) && lit(c, "-") && month(c, &mo) && lit(c, "-") &&
                  digits(c, 2, &y) && lit(c, " ") && time_of_day(c, &h, &mi, &s) && lit(c, " GMT")))
                return 0;
            /* RFC 9110: a two-digit year more than 50 years in the future is
             * the most recent past year with those digits. */
            int64_t now_year = year_of(now_unix_s);
            year = (now_year / 100) * 100 + y;
            if (year > now_year + 50)
                year -= 100;
        } else {
            *c = save;
            /* asctime: Sun Nov  6 08:49:37 1994 */
            if (!(day_name(c, days_short) && lit(c, " ") && month(c, &mo) && lit(c, " ")))
                return 0;
            if (peek(c) == ' ') {
                c->p++;
                if (!digits(c, 1, &d))
                    return 0;
            } else if (!digits(c, 2, &d)) {
                return 0;
            }
            if (!(lit(c, " ") && time_of_day(c, &h, &mi, &s) && lit(c, " ") && digits(c, 4, &y)))
                return 0;
            year = y;
        }
    }
    if (!valid_date(year, mo, d))
        return 0;
    *unix_s = days_from_civil(year, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return 1;
}

int retry_parse_retry_after(int64_t *delay_ns, const char *value, size_t len, int64_t now_unix_s)
{
    *delay_ns = 0;
    if (!value || len == 0)
        return RETRY_EINVAL;
    cursor c = { value, value + len };
    while (c.p < c.end && (*c.p == ' ' || *c.p == '\t'))
        c.p++;
    while (c.end > c.p && (c.end[-1] == ' ' || c.end[-1] == '\t'))
        c.end--;
    if (c.p == c.end)
        return RETRY_EINVAL;

    if (is_digit(peek(&c))) {
        const int64_t max_s = INT64_MAX / RETRY_NS_PER_S;
        int64_t secs = 0;
        while (is_digit(peek(&c))) {
            if (secs < max_s)
                secs = secs * 10 + (*c.p - '0');
            if (secs > max_s)
                secs = max_s;
            c.p++;
        }
        if (c.p != c.end)
            return RETRY_EINVAL;
        *delay_ns = secs * RETRY_NS_PER_S;
        return RETRY_OK;
    }

    int64_t when;
    if (!parse_date(&c, now_unix_s, &when) || c.p != c.end)
        return RETRY_EINVAL;
    if (when > now_unix_s) {
        const int64_t max_s = INT64_MAX / RETRY_NS_PER_S;
        /* when is a year 0..9999 date, so when - max_s cannot overflow. */
        int64_t diff = now_unix_s < when - max_s ? max_s : when - now_unix_s;
        *delay_ns = (diff > max_s ? max_s : diff) * RETRY_NS_PER_S;
    }
    return RETRY_OK;
}
