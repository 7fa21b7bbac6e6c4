/* libFuzzer target: the candle CSV reader shared by the example programs. */
#include <stddef.h>
#include <stdint.h>

#include "candle_csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    csv_reader *r;
    char err[256];
    if (csv_reader_open_mem(&r, "fuzz.csv", (const char *)data, size, err, sizeof err) != 0)
        return 0;
    dq_candle c;
    int rc, rows = 0;
    size_t line = csv_reader_line(r);
    while ((rc = csv_reader_next(r, &c, err, sizeof err)) != 0 && rows < 100000) {
        /* Every row, good or bad, moves forward: nothing is read twice or lost. */
        if (csv_reader_line(r) <= line || csv_reader_row(r) != (size_t)rows)
            __builtin_trap();
        line = csv_reader_line(r);
        rows++;
    }
    csv_reader_free(r);
    return 0;
}
