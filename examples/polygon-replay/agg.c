#include <math.h>
#include <string.h>

#include "agg.h"
#include "new_york_time.h"

#define MINUTE_MS INT64_C(60000)
#define HOUR_MS   (60 * MINUTE_MS)
#define DAY_MS    (24 * HOUR_MS)

bool span_parse(const char *name, enum span *out)
{
    static const char *const names[] = { "second", "minute", "hour",    "day",
                                         "week",   "month",  "quarter", "year" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (enum span)i;
            return true;
        }
    }
    return false;
}

/* The New York midnight that starts day number `days`. */
static int64_t midnight_of_day(int64_t days)
{
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    return ny_midnight_ms(y, m, d);
}

static int64_t day_of_ms(int64_t ms)
{
    int y;
    unsigned m, d;
    ny_date_of_ms(ms, &y, &m, &d);
    return days_from_civil(y, m, d);
}

/* Minutes and hours: on the wall clock of t's New York day. The clocks
 * change at 02:00, so from then on the wall clock is the elapsed time plus
 * the hour the day gained (a 23-hour day) or minus the hour it lost. */
static void clock_window(int64_t width, int64_t t, int64_t *start, int64_t *end)
{
    int64_t day = day_of_ms(t);
    int64_t midnight = midnight_of_day(day), next = midnight_of_day(day + 1);
    int64_t shift = DAY_MS - (next - midnight); /* +1 h in spring, -1 h in autumn */
    int64_t elapsed = t - midnight;
    int64_t wall = elapsed >= 2 * HOUR_MS ? elapsed + shift : elapsed;
    int64_t ws = wall / width * width, we = ws + width < DAY_MS ? ws + width : DAY_MS;
    /* back from the wall clock to elapsed time */
    int64_t from_wall[2], w[2] = { ws, we };
    for (int i = 0; i < 2; i++) {
        if (shift > 0)
            from_wall[i] =
                w[i] >= 3 * HOUR_MS ? w[i] - shift : (w[i] < 2 * HOUR_MS ? w[i] : 2 * HOUR_MS);
        else
            from_wall[i] = w[i] >= 2 * HOUR_MS ? w[i] - shift : w[i];
    }
    *start = midnight + from_wall[0];
    *end = we == DAY_MS ? next : midnight + from_wall[1];
}

void agg_window(enum span sp, int64_t mult, int64_t anchor, int64_t t, int64_t *start, int64_t *end)
{
    if (mult < 1)
        mult = 1;
    if (sp == SPAN_SECOND || sp == SPAN_MINUTE || sp == SPAN_HOUR) {
        int64_t unit = sp == SPAN_SECOND ? 1000 : sp == SPAN_MINUTE ? MINUTE_MS : HOUR_MS;
        int64_t width = mult > DAY_MS / unit ? DAY_MS : mult * unit;
        clock_window(width, t, start, end);
        return;
    }
    /* Windows longer than ten million days or a million months cover any
     * data; the bound keeps the arithmetic in range. */
    int64_t day = day_of_ms(t), a = day_of_ms(anchor);
    if (sp == SPAN_DAY || sp == SPAN_WEEK) {
        int64_t len = sp == SPAN_DAY ? 1 : 7, m = mult > 10000000 ? 10000000 : mult;
        if (sp == SPAN_WEEK) { /* day 0, 1970-01-01, was a Thursday */
            a -= ((a % 7) + 7 + 4) % 7;
            day -= ((day % 7) + 7 + 4) % 7;
        }
        int64_t k = (day - a) / (len * m);
        *start = midnight_of_day(a + k * len * m);
        *end = midnight_of_day(a + (k + 1) * len * m);
        return;
    }
    int64_t unit = sp == SPAN_MONTH ? 1 : sp == SPAN_QUARTER ? 3 : 12;
    int64_t m = mult > 1000000 ? 1000000 : mult;
    int y;
    unsigned mo, d;
    ny_date_of_ms(anchor, &y, &mo, &d);
    int64_t am = ((int64_t)y * 12 + mo - 1) / unit * unit;
    ny_date_of_ms(t, &y, &mo, &d);
    int64_t tm = (int64_t)y * 12 + mo - 1;
    int64_t sm = am + (tm - am) / (unit * m) * unit * m, em = sm + unit * m;
    *start = ny_midnight_ms((int)(sm / 12), (unsigned)(sm % 12) + 1, 1);
    *end = ny_midnight_ms((int)(em / 12), (unsigned)(em % 12) + 1, 1);
}

size_t agg_bars(const dq_candle *in, size_t n, enum span sp, int64_t mult, int64_t anchor,
                dq_candle *out)
{
    size_t count = 0;
    int64_t end = INT64_MIN;
    double vwv = 0; /* the window's sum of vw x v */
    for (size_t k = 0; k < n; k++) {
        const dq_candle *b = &in[k];
        if (count == 0 || b->ts >= end) {
            if (count > 0 && !isnan(out[count - 1].vwap))
                out[count - 1].vwap = out[count - 1].volume > 0 ? vwv / out[count - 1].volume : NAN;
            int64_t start;
            agg_window(sp, mult, anchor, b->ts, &start, &end);
            out[count++] = *b;
            out[count - 1].ts = start;
            vwv = isnan(b->vwap) ? 0 : b->vwap * b->volume;
            continue;
        }
        dq_candle *a = &out[count - 1];
        a->high = b->high > a->high ? b->high : a->high;
        a->low = b->low < a->low ? b->low : a->low;
        a->close = b->close;
        a->volume += b->volume;
        if (isnan(b->vwap))
            a->vwap = NAN;
        else
            vwv += b->vwap * b->volume;
        a->trades += b->trades; /* NAN (absent) stays NAN */
    }
    if (count > 0 && !isnan(out[count - 1].vwap))
        out[count - 1].vwap = out[count - 1].volume > 0 ? vwv / out[count - 1].volume : NAN;
    return count;
}
