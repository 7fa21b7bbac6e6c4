/* libFuzzer target: polygon-replay's CSV loader (store_load_buffer): every
 * series sorted, without repeated times, its rendered texts back to back. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    store st;
    char err[256];
    if (store_load_buffer(&st, "FUZZ-raw-daily.csv", (const char *)data, size, err, sizeof err) !=
        0)
        return 0;
    size_t total = 0;
    for (size_t i = 0; i < st.count; i++) {
        const series *se = &st.series[i];
        if (store_find(&st, se->symbol) != se)
            __builtin_trap();
        for (int w = 0; w < 2; w++) { /* raw, adjusted */
            const view *v = &se->views[w];
            for (size_t k = 0; k < se->count; k++) {
                if (k > 0 && v->bars[k].ts <= v->bars[k - 1].ts)
                    __builtin_trap();
                if (v->text_off[k + 1] <= v->text_off[k] || v->text[v->text_off[k]] != '{' ||
                    v->text[v->text_off[k + 1] - 1] != ',')
                    __builtin_trap();
                if (series_lower_bound(se, v->bars[k].ts) != k)
                    __builtin_trap();
            }
        }
        total += se->count;
    }
    if (total != st.total_bars)
        __builtin_trap();
    store_free(&st);
    return 0;
}
