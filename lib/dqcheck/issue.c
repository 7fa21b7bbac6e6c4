/* Issue records: the message, fields, values and threshold of each finding,
 * and the report's counts. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

static void fmt_ts(char *buf, size_t size, int64_t ts, int daily)
{
    int64_t day = dq__floordiv(ts, DQ__DAY_MS);
    int64_t ms = ts - day * DQ__DAY_MS;
    int y;
    unsigned m, d;
    dq__civil_from_days(day, &y, &m, &d);
    if (daily)
        snprintf(buf, size, "%04d-%02u-%02u", y, m, d);
    else
        snprintf(buf, size, "%04d-%02u-%02uT%02d:%02d:%02dZ", y, m, d, (int)(ms / DQ__HOUR_MS),
                 (int)(ms / 60000 % 60), (int)(ms / 1000 % 60));
}

__attribute__((format(printf, 2, 3))) static void msg(dq_issue *is, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(is->message, sizeof is->message, fmt, ap);
    va_end(ap);
}

static void field(dq_issue *is, const char *name, double v)
{
    if (is->nfields < 4) {
        is->fields[is->nfields] = name;
        is->values[is->nfields] = v;
        is->nfields++;
    }
}

static void fill(dq_issue *is, const dq_checker *c, int code, const dq_candle *k,
                 const dq__finding_ctx *x)
{
    const dq_options *o = &c->o;
    int daily = o->interval.unit == DQ_UNIT_DAY;
    char t1[32], t2[32];
    is->nfields = 0;
    is->threshold = NAN;
    is->ratio_num = is->ratio_den = 0;
    is->message[0] = '\0';
    switch (code) {
    case DQ_MIXED_SYMBOL:
        field(is, "symbol", NAN);
        msg(is, "symbol %.24s in a stream of %.24s", x->symbol ? x->symbol : "?", c->st.symbol);
        break;
    case DQ_UNSORTED:
        field(is, "ts", (double)k->ts);
        field(is, "latest_ts", (double)x->hw);
        fmt_ts(t1, sizeof t1, k->ts, daily);
        fmt_ts(t2, sizeof t2, x->hw, daily);
        msg(is, "ts %s is before the latest ts %s", t1, t2);
        break;
    case DQ_DUPLICATE_TS:
        field(is, "ts", (double)k->ts);
        fmt_ts(t1, sizeof t1, k->ts, daily);
        msg(is, "ts %s repeats the previous bar's", t1);
        break;
    case DQ_NONFINITE: {
        const char *names[] = { "open", "high", "low", "close", "volume", "vwap", "trades" };
        double v[] = { k->open, k->high, k->low, k->close, k->volume, k->vwap, k->trades };
        for (int i = 0; i < 7; i++)
            if (i < 5 ? !isfinite(v[i]) : isinf(v[i]))
                field(is, names[i], v[i]);
        msg(is, "%s is %g%s", is->fields[0], is->values[0], is->nfields > 1 ? " (and more)" : "");
        break;
    }
    case DQ_NONPOSITIVE_PRICE: {
        const char *names[] = { "open", "high", "low", "close", "vwap" };
        double v[] = { k->open, k->high, k->low, k->close, k->vwap };
        for (int i = 0; i < 5; i++)
            if (v[i] <= 0)
                field(is, names[i], v[i]);
        is->threshold = 0;
        msg(is, "%s %.10g <= 0", is->fields[0], is->values[0]);
        break;
    }
    case DQ_NEGATIVE_VOLUME:
        if (k->volume < 0)
            field(is, "volume", k->volume);
        if (k->trades < 0)
            field(is, "trades", k->trades);
        is->threshold = 0;
        msg(is, "%s %.10g < 0", is->fields[0], is->values[0]);
        break;
    case DQ_HIGH_LT_LOW:
        field(is, "high", k->high);
        field(is, "low", k->low);
        msg(is, "high %.10g < low %.10g", k->high, k->low);
        break;
    case DQ_HIGH_LT_OPEN_CLOSE:
        field(is, "high", k->high);
        field(is, "open", k->open);
        field(is, "close", k->close);
        msg(is, "high %.10g < max(open %.10g, close %.10g)", k->high, k->open, k->close);
        break;
    case DQ_LOW_GT_OPEN_CLOSE:
        field(is, "low", k->low);
        field(is, "open", k->open);
        field(is, "close", k->close);
        msg(is, "low %.10g > min(open %.10g, close %.10g)", k->low, k->open, k->close);
        break;
    case DQ_VWAP_OUTSIDE_RANGE:
        field(is, "vwap", k->vwap);
        field(is, "low", k->low);
        field(is, "high", k->high);
        is->threshold = o->vwap_tolerance;
        msg(is, "vwap %.10g outside [low %.10g, high %.10g]", k->vwap, k->low, k->high);
        break;
    case DQ_ZERO_VOLUME:
        field(is, "volume", k->volume);
        field(is, "high", k->high);
        field(is, "low", k->low);
        if (k->high == k->low)
            msg(is, "volume 0 on a flat bar at %.10g", k->high);
        else
            msg(is, "volume 0 on a bar that moved (low %.10g, high %.10g)", k->low, k->high);
        break;
    case DQ_GAP:
        field(is, "missing", (double)x->missing);
        field(is, "ts", (double)k->ts);
        field(is, "previous_ts", (double)x->prev_ord_ts);
        fmt_ts(t1, sizeof t1, x->prev_ord_ts, daily);
        fmt_ts(t2, sizeof t2, k->ts, daily);
        msg(is, "%lld expected %s missing between %s and %s", (long long)x->missing,
            daily ? (x->missing == 1 ? "session" : "sessions") : (x->missing == 1 ? "bar" : "bars"),
            t1, t2);
        break;
    case DQ_NON_SESSION_TS:
        field(is, "ts", (double)k->ts);
        fmt_ts(t1, sizeof t1, k->ts, daily);
        if (x->intraday_outside)
            msg(is, "%s is outside the 09:30-16:00 New York session", t1);
        else
            msg(is, "%s is not a %s session (weekend or holiday)", t1,
                o->calendar == DQ_CAL_NYSE ? "NYSE" : "weekday");
        break;
    case DQ_OPEN_GAP:
        field(is, "open", k->open);
        field(is, "previous_close", x->prev_close);
        is->threshold = o->open_gap;
        msg(is, "open %.10g is %.1f%% %s the previous close %.10g", k->open, fabs(x->r - 1) * 100,
            x->r > 1 ? "above" : "below", x->prev_close);
        break;
    case DQ_RANGE:
        field(is, "high", k->high);
        field(is, "low", k->low);
        is->threshold = o->range;
        msg(is, "(high %.10g - low %.10g) / low = %.4g > %g", k->high, k->low,
            (k->high - k->low) / k->low, o->range);
        break;
    case DQ_POSSIBLE_SPLIT:
    case DQ_POSSIBLE_REVERSE_SPLIT:
        field(is, "open", k->open);
        field(is, "previous_close", x->prev_close);
        is->threshold = o->split_tolerance;
        is->ratio_num = x->num;
        is->ratio_den = x->den;
        msg(is, "open / previous close = %.4g: looks like a %u:%u %ssplit", x->r, x->num, x->den,
            code == DQ_POSSIBLE_REVERSE_SPLIT ? "reverse " : "");
        break;
    case DQ_UNIT_100X:
        field(is, "open", k->open);
        field(is, "previous_close", x->prev_close);
        is->threshold = o->unit_tolerance;
        msg(is, "prices are 100x %s the series' earlier level (open %.10g, previous close %.10g)",
            x->level > 0 ? "above" : "below", k->open, x->prev_close);
        break;
    case DQ_STALE_REPEAT:
        field(is, "repeats", (double)x->run);
        field(is, "close", k->close);
        field(is, "volume", k->volume);
        is->threshold = (double)o->stale_repeat;
        msg(is, "%u identical consecutive bars (close %.10g, volume %.10g)", x->run, k->close,
            k->volume);
        break;
    }
    is->suggestion = dq__code_suggestion(code);
}

/* Record the findings of one candle; returns its worst severity. */
int dq__record(dq_report *r, const dq_checker *c, uint32_t fails, const dq_candle *k, size_t index,
               int64_t row, const dq__finding_ctx *x, uint32_t *errors)
{
    int worst = 0;
    uint32_t err = 0;
    while (fails) {
        int code = __builtin_ctz(fails);
        fails &= fails - 1;
        int sev = c->sev[code];
        if (code == DQ_ZERO_VOLUME && k->high == k->low)
            sev = c->zv_flat;
        if (sev == DQ_SEVERITY_OFF)
            continue;
        r->failed[code]++;
        r->count[sev]++;
        r->findings++;
        if (sev > worst)
            worst = sev;
        if (sev == DQ_SEVERITY_ERROR)
            err |= 1u << code;
        if (r->nissues < r->o.max_issues) {
            dq_issue *is = &r->issues[r->nissues++];
            is->code = (dq_code)code;
            is->severity = (dq_severity)sev;
            is->index = index;
            is->row = row;
            is->ts = k->ts;
            fill(is, c, code, k, x);
        }
    }
    *errors = err;
    return worst;
}
