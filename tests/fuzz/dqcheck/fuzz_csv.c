/* libFuzzer target: the dqcheck tool's CSV reader, then the checker. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dqr_data d;
    dqr_init(&d);
    int rc = dqr_read_csv(&d, "fuzz.csv", (const char *)data, size, "FUZZ");
    if (rc == 0) {
        for (size_t i = 0; i < d.nbad; i++)
            if (d.bad[i].line < 2)
                abort(); /* a data row is never line 1 (the header) */
        fuzz_check_all(&d);
    } else if (rc == -1 && d.err[0] == '\0') {
        abort(); /* unreadable input always says why */
    }
    dqr_free(&d);
    return 0;
}
