/* What the differential tests of the Polygon page parser share (header-only):
 * whether the fast path and the cJSON path read one body the same way. */
#ifndef TESTS_INGESTOR_PAGE_DIFF_H
#define TESTS_INGESTOR_PAGE_DIFF_H

#include <stdio.h>
#include <string.h>

#include "polygon_page.h"

/*
 * Parse body with polygon_page_parse_fast into *fast and with
 * polygon_page_parse_all_cjson into *slow (both zero-initialised once by the
 * caller, reused). Returns 1 when the fast path left the body to cJSON, 0
 * when both read it the same (return code, error text, every bar bit for
 * bit, tickers, next_url, ticker, status, message), -1 with what differs in
 * why otherwise.
 */
static inline int page_diff(polygon_page *fast, polygon_page *slow, const char *body, size_t len,
                            char *why, size_t whylen)
{
    char ef[256] = "", es[256] = "";
    int rf = polygon_page_parse_fast(fast, body, len, ef, sizeof ef);
    int rs = polygon_page_parse_all_cjson(slow, body, len, es, sizeof es);
    if (rf == 1)
        return fast->count == 0 ? 1 : (snprintf(why, whylen, "left to cJSON with bars"), -1);
    if (rf != rs || (rf != 0 && strcmp(ef, es) != 0)) {
        snprintf(why, whylen, "returns %d \"%s\", cJSON %d \"%s\"", rf, ef, rs, es);
        return -1;
    }
    if (fast->count != slow->count) {
        snprintf(why, whylen, "%zu bars, cJSON %zu", fast->count, slow->count);
        return -1;
    }
    for (size_t i = 0; i < fast->count; i++) {
        if (memcmp(&fast->bars[i], &slow->bars[i], sizeof fast->bars[i]) != 0 ||
            strcmp(fast->tickers[i], slow->tickers[i]) != 0) {
            const dq_candle *a = &fast->bars[i], *b = &slow->bars[i];
            snprintf(why, whylen,
                     "bar %zu: ts %lld o %.17g h %.17g l %.17g c %.17g v %.17g vw %.17g n %.17g "
                     "T \"%s\"; cJSON ts %lld o %.17g h %.17g l %.17g c %.17g v %.17g vw %.17g "
                     "n %.17g T \"%s\"",
                     i, (long long)a->ts, a->open, a->high, a->low, a->close, a->volume, a->vwap,
                     a->trades, fast->tickers[i], (long long)b->ts, b->open, b->high, b->low,
                     b->close, b->volume, b->vwap, b->trades, slow->tickers[i]);
            return -1;
        }
    }
    const char *nf = fast->next_url ? fast->next_url : "(none)";
    const char *ns = slow->next_url ? slow->next_url : "(none)";
    if (strcmp(nf, ns) != 0 || strcmp(fast->ticker, slow->ticker) != 0 ||
        strcmp(fast->status, slow->status) != 0 || strcmp(fast->message, slow->message) != 0) {
        snprintf(why, whylen,
                 "next_url/ticker/status/message \"%s\" \"%s\" \"%s\" \"%s\", cJSON "
                 "\"%s\" \"%s\" \"%s\" \"%s\"",
                 nf, fast->ticker, fast->status, fast->message, ns, slow->ticker, slow->status,
                 slow->message);
        return -1;
    }
    return 0;
}

#endif
