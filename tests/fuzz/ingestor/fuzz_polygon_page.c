/* libFuzzer target: the ingestor's parser of Polygon aggregates pages. Its
 * fast path must read every body it takes exactly as the cJSON path does. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "page_diff.h"
#include "polygon_page.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    polygon_page page, fast, slow;
    memset(&page, 0, sizeof page);
    memset(&fast, 0, sizeof fast);
    memset(&slow, 0, sizeof slow);
    char err[256], msg[128], why[1024];
    /* Twice through the same page objects: the parsers reuse their arrays. */
    for (int i = 0; i < 2; i++) {
        if (polygon_page_parse(&page, (const char *)data, size, err, sizeof err) == 0) {
            for (size_t k = 0; k < page.count; k++)
                if (page.bars[k].ts < 0)
                    __builtin_trap();
        }
        if (page_diff(&fast, &slow, (const char *)data, size, why, sizeof why) < 0) {
            fprintf(stderr, "the fast path and cJSON differ: %s\n", why);
            __builtin_trap();
        }
    }
    polygon_error_message((const char *)data, size, msg, sizeof msg);
    polygon_page_free(&page);
    polygon_page_free(&fast);
    polygon_page_free(&slow);
    return 0;
}
