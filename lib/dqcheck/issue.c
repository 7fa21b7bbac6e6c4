/* Issue records: the message, fields, values and threshold of each finding,
 * and the report's counts. */
#include <math.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

/* The fields of finding `code` from what was kept of its candle; with o (when
 * recording) also the threshold and the split ratio, without (when read) the
 * message. */
static void fill(dq_issue *is, int code, const dq__pending *p, const dq_options *o)
{
    const dq_candle *k = &p->k;
    const dq__pending *x = p;
    const int daily = p->daily, text = !o;
    char t1[32], t2[32];
    is->nfields = 0;
    if (o) {
        is->threshold = NAN;
        is->ratio_num = is->ratio_den = 0;
        is->suggestion = dq__code_suggestion(code);
    }
    switch (code) {
    case DQ_MIXED_SYMBOL:
        field(is, "symbol", NAN);
        if (text) {
            msg(is, "symbol %.24s in a stream of %.24s", x->symbol, x->stream_symbol);
        }
        break;
    case DQ_UNSORTED:
        field(is, "ts", (double)k->ts);
        field(is, "latest_ts", (double)x->hw);
        if (text) {
            fmt_ts(t1, sizeof t1, k->ts, daily);
            fmt_ts(t2, sizeof t2, x->hw, daily);
            msg(is, "ts %s is before the latest ts %s", t1, t2);
        }
        break;
    case DQ_DUPLICATE_TS:
        field(is, "ts", (double)k->ts);
        if (text) {
            fmt_ts(t1, sizeof t1, k->ts, daily);
            msg(is, "ts %s repeats the previous bar's", t1);
        }
        break;
    case DQ_NONFINITE: {
        const char *names[] = { "open", "high", "low", "close", "volume", "vwap", "trades" };
        double v[] = { k->open, k->high, k->low, k->close, k->volume, k->vwap, k->trades };
        for (int i = 0; i < 7; i++)
            if (i < 5 ? !isfinite(v[i]) : isinf(v[i]))
                field(is, names[i], v[i]);
        if (text) {
            msg(is, "%s is %g%s", is->fields[0], is->values[0],
                is->nfields > 1 ? " (and more)" : "");
        }
        break;
    }
    case DQ_NONPOSITIVE_PRICE: {
        const char *names[] = { "open", "high", "low", "close", "vwap" };
        double v[] = { k->open, k->high, k->low, k->close, k->vwap };
        for (int i = 0; i < 5; i++)
            if (v[i] <= 0)
                field(is, names[i], v[i]);
        if (o)
            is->threshold = 0;
        if (text) {
            msg(is, "%s %.10g <= 0", is->fields[0], is->values[0]);
        }
        break;
    }
    case DQ_NEGATIVE_VOLUME:
        if (k->volume < 0)
            field(is, "volume", k->volume);
        if (k->trades < 0)
            field(is, "trades", k->trades);
        if (o)
            is->threshold = 0;
        if (text) {
            msg(is, "%s %.10g < 0", is->fields[0], is->values[0]);
        }
        break;
    case DQ_HIGH_LT_LOW:
        field(is, "high", k->high);
        field(is, "low", k->low);
        if (text) {
            msg(is, "high %.10g < low %.10g", k->high, k->low);
        }
        break;
    case DQ_HIGH_LT_OPEN_CLOSE:
        field(is, "high", k->high);
        field(is, "open", k->open);
        field(is, "close", k->close);
        if (text) {
            msg(is, "high %.10g < max(open %.10g, close %.10g)", k->high, k->open, k->close);
        }
        break;
    case DQ_LOW_GT_OPEN_CLOSE:
        field(is, "low", k->low);
        field(is, "open", k->open);
        field(is, "close", k->close);
        if (text) {
            msg(is, "low %.10g > min(open %.10g, close %.10g)", k->low, k->open, k->close);
        }
        break;
    case DQ_VWAP_OUTSIDE_RANGE:
        field(is, "vwap", k->vwap);
        field(is, "low", k->low);
        field(is, "high", k->high);
        if (o)
            is->threshold = o->vwap_tolerance;
        if (text) {
            msg(is, "vwap %.10g outside [low %.10g, high %.10g]", k->vwap, k->low, k->high);
        }
        break;
    case DQ_ZERO_VOLUME:
        field(is, "volume", k->volume);
        field(is, "high", k->high);
        field(is, "low", k->low);
        if (text && k->high == k->low)
            msg(is, "volume 0 on a flat bar at %.10g", k->high);
        else if (text)
            msg(is, "volume 0 on a bar that moved (low %.10g, high %.10g)", k->low, k->high);
        break;
    case DQ_GAP:
        field(is, "missing", (double)x->missing);
        field(is, "ts", (double)k->ts);
        field(is, "previous_ts", (double)x->prev_ord_ts);
        if (text) {
            fmt_ts(t1, sizeof t1, x->prev_ord_ts, daily);
            fmt_ts(t2, sizeof t2, k->ts, daily);
            msg(is, "%lld expected %s missing between %s and %s", (long long)x->missing,
                daily ? (x->missing == 1 ? "session" : "sessions")
                      : (x->missing == 1 ? "bar" : "bars"),
                t1, t2);
        }
        break;
    case DQ_NON_SESSION_TS:
        field(is, "ts", (double)k->ts);
        if (!text)
            break;
        fmt_ts(t1, sizeof t1, k->ts, daily);
        if (x->intraday_outside)
            msg(is, "%s is outside the 09:30-16:00 New York session", t1);
        else
            msg(is, "%s is not a %s session (weekend or holiday)", t1,
                x->calendar == DQ_CAL_NYSE ? "NYSE" : "weekday");
        break;
    case DQ_OPEN_GAP:
        field(is, "open", k->open);
        field(is, "previous_close", x->prev_close);
        if (o)
            is->threshold = o->open_gap;
        if (text) {
            msg(is, "open %.10g is %.1f%% %s the previous close %.10g", k->open,
                fabs(x->r - 1) * 100, x->r > 1 ? "above" : "below", x->prev_close);
        }
        break;
    case DQ_RANGE:
        field(is, "high", k->high);
        field(is, "low", k->low);
        if (o)
            is->threshold = o->range;
        if (text) {
            msg(is, "(high %.10g - low %.10g) / low = %.4g > %g", k->high, k->low,
                (k->high - k->low) / k->low, is->threshold);
        }
        break;
    case DQ_POSSIBLE_SPLIT:
    case DQ_POSSIBLE_REVERSE_SPLIT:
        field(is, "open", k->open);
        field(is, "previous_close", x->prev_close);
        if (o)
            is->threshold = o->split_tolerance;
        if (o) {
            is->ratio_num = x->num;
            is->ratio_den = x->den;
        }
        if (text) {
            msg(is, "open / previous close = %.4g: looks like a %u:%u %ssplit", x->r, x->num,
                x->den, code == DQ_POSSIBLE_REVERSE_SPLIT ? "reverse " : "");
        }
        break;
    case DQ_UNIT_100X:
        field(is, "open", k->open);
        field(is, "previous_close", x->prev_close);
        if (o)
            is->threshold = o->unit_tolerance;
        if (text) {
            msg(is,
                "prices are 100x %s the series' earlier level (open %.10g, previous close %.10g)",
                x->level > 0 ? "above" : "below", k->open, x->prev_close);
        }
        break;
    case DQ_STALE_REPEAT:
        field(is, "repeats", (double)x->run);
        field(is, "close", k->close);
        field(is, "volume", k->volume);
        if (o)
            is->threshold = (double)o->stale_repeat;
        if (text) {
            msg(is, "%u identical consecutive bars (close %.10g, volume %.10g)", x->run, k->close,
                k->volume);
        }
        break;
    }
}

/* The first 24 bytes of s, as the message shows them. */
static void copy_symbol(char dst[25], const char *s)
{
    size_t n = strnlen(s, 24);
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Record the findings of one candle; returns its worst severity. Each issue
 * record gets its fields now and its message when it is first read. */
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
            dq__pending *p = &r->pending[r->nissues];
            dq_issue *is = &r->issues[r->nissues++];
            is->code = (dq_code)code;
            is->severity = (dq_severity)sev;
            is->index = index;
            is->row = row;
            is->ts = k->ts;
            p->k = *k;
            p->hw = x->hw;
            p->missing = x->missing;
            p->prev_ord_ts = x->prev_ord_ts;
            p->r = x->r;
            p->prev_close = x->prev_close;
            p->num = x->num;
            p->den = x->den;
            p->run = x->run;
            p->level = x->level;
            p->intraday_outside = (unsigned char)x->intraday_outside;
            p->daily = c->o.interval.unit == DQ_UNIT_DAY;
            p->calendar = (unsigned char)c->o.calendar;
            if (code == DQ_MIXED_SYMBOL) {
                copy_symbol(p->symbol, x->symbol ? x->symbol : "?");
                copy_symbol(p->stream_symbol, c->st.symbol);
            }
            atomic_store_explicit(&p->state, DQ__MSG_PENDING, memory_order_relaxed);
            fill(is, code, p, &c->o);
        }
    }
    *errors = err;
    return worst;
}

const dq_issue *dq__issue_ready(const dq_report *r, size_t i)
{
    dq_issue *is = &r->issues[i];
    dq__pending *p = &r->pending[i];
    unsigned char s = atomic_load_explicit(&p->state, memory_order_acquire);
    if (s == DQ__MSG_READY)
        return is;
    unsigned char expect = DQ__MSG_PENDING;
    if (atomic_compare_exchange_strong_explicit(&p->state, &expect, DQ__MSG_WRITING,
                                                memory_order_acquire, memory_order_acquire)) {
        is->message[0] = '\0';
        fill(is, is->code, p, NULL);
        atomic_store_explicit(&p->state, DQ__MSG_READY, memory_order_release);
    } else {
        /* another reader is writing it: a few hundred nanoseconds */
        while (atomic_load_explicit(&p->state, memory_order_acquire) != DQ__MSG_READY)
            sched_yield();
    }
    return is;
}
