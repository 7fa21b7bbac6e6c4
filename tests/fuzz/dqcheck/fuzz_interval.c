/* libFuzzer target: dq_interval_parse ("N/unit"). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dqcheck/dqcheck.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    dq_interval iv = { 7, DQ_UNIT_SECOND };
    if (dq_interval_parse(&iv, text) == DQ_OK) {
        /* an accepted interval is a sane one, and its canonical spelling
         * parses back to the same interval */
        if (iv.multiplier < 1 || iv.unit < DQ_UNIT_SECOND || iv.unit > DQ_UNIT_DAY)
            __builtin_trap();
        static const char *const units[] = { "", "second", "minute", "hour", "day" };
        char again[64];
        snprintf(again, sizeof again, "%u/%s", iv.multiplier, units[iv.unit]);
        dq_interval back = { 0, DQ_UNIT_SECOND };
        if (dq_interval_parse(&back, again) != DQ_OK || back.multiplier != iv.multiplier ||
            back.unit != iv.unit)
            __builtin_trap();
    } else if (iv.multiplier != 7 || iv.unit != DQ_UNIT_SECOND) {
        __builtin_trap(); /* *out unchanged on failure */
    }
    free(text);
    return 0;
}
