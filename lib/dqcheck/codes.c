/* Names, default severities and suggestions of the check codes. */
#include <strings.h>

#include "internal.h"

static const struct {
    const char *name;
    dq_severity sev;
    const char *suggestion;
} codes[DQ_CODE_COUNT] = {
    [DQ_MIXED_SYMBOL] = { "MIXED_SYMBOL", DQ_SEVERITY_ERROR,
                          "split the batch by symbol before checking; a stream holds one symbol" },
    [DQ_UNSORTED] = { "UNSORTED", DQ_SEVERITY_ERROR,
                      "sort the bars by timestamp, or re-fetch the range in order" },
    [DQ_DUPLICATE_TS] = { "DUPLICATE_TS", DQ_SEVERITY_ERROR,
                          "drop the repeated bar or keep the newest version of it" },
    [DQ_NONFINITE] = { "NONFINITE", DQ_SEVERITY_ERROR,
                       "the vendor sent NaN or infinity; re-fetch the bar" },
    [DQ_NONPOSITIVE_PRICE] = { "NONPOSITIVE_PRICE", DQ_SEVERITY_ERROR,
                               "prices must be positive; re-fetch the bar or drop it" },
    [DQ_NEGATIVE_VOLUME] = { "NEGATIVE_VOLUME", DQ_SEVERITY_ERROR,
                             "volume and trade counts cannot be negative; re-fetch the bar" },
    [DQ_HIGH_LT_LOW] = { "HIGH_LT_LOW", DQ_SEVERITY_ERROR,
                         "the vendor swapped or corrupted high/low; re-fetch the bar" },
    [DQ_HIGH_LT_OPEN_CLOSE] = { "HIGH_LT_OPEN_CLOSE", DQ_SEVERITY_ERROR,
                                "high must bound open and close; re-fetch the bar" },
    [DQ_LOW_GT_OPEN_CLOSE] = { "LOW_GT_OPEN_CLOSE", DQ_SEVERITY_ERROR,
                               "low must bound open and close; re-fetch the bar" },
    [DQ_VWAP_OUTSIDE_RANGE] = { "VWAP_OUTSIDE_RANGE", DQ_SEVERITY_WARNING,
                                "vwap should lie within [low, high]; check the vendor's vwap "
                                "or ignore it" },
    [DQ_ZERO_VOLUME] = { "ZERO_VOLUME", DQ_SEVERITY_WARNING,
                         "no volume: a halted or illiquid bar; confirm against another source" },
    [DQ_GAP] = { "GAP", DQ_SEVERITY_WARNING,
                 "expected bars are missing; backfill the range or confirm a halt" },
    [DQ_NON_SESSION_TS] = { "NON_SESSION_TS", DQ_SEVERITY_WARNING,
                            "bar outside the exchange's sessions; check the timestamp's time "
                            "zone or the calendar" },
    [DQ_OPEN_GAP] = { "OPEN_GAP", DQ_SEVERITY_WARNING,
                      "large opening gap; confirm with news or another source before trusting" },
    [DQ_RANGE] = { "RANGE", DQ_SEVERITY_WARNING,
                   "very wide bar; confirm the high and low with another source" },
    [DQ_POSSIBLE_SPLIT] = { "POSSIBLE_SPLIT", DQ_SEVERITY_WARNING,
                            "compare with the corporate-action calendar; store adjusted prices or "
                            "the split factor" },
    [DQ_POSSIBLE_REVERSE_SPLIT] = { "POSSIBLE_REVERSE_SPLIT", DQ_SEVERITY_WARNING,
                                    "compare with the corporate-action calendar; store adjusted "
                                    "prices or the split factor" },
    [DQ_UNIT_100X] = { "UNIT_100X", DQ_SEVERITY_WARNING,
                       "the vendor switched units (pence/pounds, cents/dollars); rescale by 100" },
    [DQ_STALE_REPEAT] = { "STALE_REPEAT", DQ_SEVERITY_WARNING,
                          "identical bars repeat: a stale feed; re-fetch or mark the symbol "
                          "inactive" },
};

const char *dq_code_name(int code)
{
    if (code < 0 || code >= DQ_CODE_COUNT)
        return NULL;
    return codes[code].name;
}

int dq_code_from_name(const char *name)
{
    for (int i = 0; i < DQ_CODE_COUNT; i++)
        if (strcasecmp(name, codes[i].name) == 0)
            return i;
    return DQ_EINVAL;
}

dq_severity dq_code_default_severity(int code)
{
    if (code < 0 || code >= DQ_CODE_COUNT)
        return DQ_SEVERITY_OFF;
    return codes[code].sev;
}

const char *dq__code_suggestion(int code)
{
    if (code < 0 || code >= DQ_CODE_COUNT)
        return "";
    return codes[code].suggestion;
}

const char *dq_severity_name(int severity)
{
    switch (severity) {
    case DQ_SEVERITY_DEFAULT:
        return "default";
    case DQ_SEVERITY_OFF:
        return "off";
    case DQ_SEVERITY_INFO:
        return "info";
    case DQ_SEVERITY_WARNING:
        return "warning";
    case DQ_SEVERITY_ERROR:
        return "error";
    }
    return NULL;
}

int dq_severity_from_name(const char *name)
{
    for (int s = DQ_SEVERITY_OFF; s <= DQ_SEVERITY_ERROR; s++)
        if (strcasecmp(name, dq_severity_name(s)) == 0)
            return s;
    return DQ_EINVAL;
}

const char *dq__interval_unit_name(dq_unit u)
{
    switch (u) {
    case DQ_UNIT_SECOND:
        return "second";
    case DQ_UNIT_MINUTE:
        return "minute";
    case DQ_UNIT_HOUR:
        return "hour";
    case DQ_UNIT_DAY:
        return "day";
    }
    return "?";
}

int dq_interval_parse(dq_interval *out, const char *text)
{
    unsigned long mult = 0;
    const char *p = text;
    if (*p < '0' || *p > '9')
        return DQ_EINVAL;
    while (*p >= '0' && *p <= '9') {
        mult = mult * 10 + (unsigned long)(*p - '0');
        if (mult > 1000000)
            return DQ_EINVAL;
        p++;
    }
    if (mult == 0 || *p != '/')
        return DQ_EINVAL;
    p++;
    static const struct {
        const char *name;
        dq_unit unit;
    } units[] = { { "second", DQ_UNIT_SECOND }, { "seconds", DQ_UNIT_SECOND },
                  { "minute", DQ_UNIT_MINUTE }, { "minutes", DQ_UNIT_MINUTE },
                  { "hour", DQ_UNIT_HOUR },     { "hours", DQ_UNIT_HOUR },
                  { "day", DQ_UNIT_DAY },       { "days", DQ_UNIT_DAY } };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (strcasecmp(p, units[i].name) == 0) {
            out->multiplier = (unsigned)mult;
            out->unit = units[i].unit;
            return DQ_OK;
        }
    }
    return DQ_EINVAL;
}
