/* libFuzzer target: the dqcheck tool's Polygon aggregates JSON reader, then
 * the checker. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dqr_data d;
    dqr_init(&d);
    int rc = dqr_read_polygon(&d, "fuzz.json", (const char *)data, size, NULL);
    if (rc == 0)
        fuzz_check_all(&d);
    else if (rc == -1 && d.err[0] == '\0')
        abort();
    dqr_free(&d);
    return 0;
}
