/* libFuzzer target: the ingestor's parser of Polygon aggregates pages. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "polygon_page.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    polygon_page page;
    memset(&page, 0, sizeof page);
    char err[256], msg[128];
    /* Twice through the same page object: the parser reuses its arrays. */
    for (int i = 0; i < 2; i++) {
        if (polygon_page_parse(&page, (const char *)data, size, err, sizeof err) == 0) {
            for (size_t k = 0; k < page.count; k++)
                if (page.bars[k].ts < 0)
                    __builtin_trap();
        }
    }
    polygon_error_message((const char *)data, size, msg, sizeof msg);
    polygon_page_free(&page);
    return 0;
}
