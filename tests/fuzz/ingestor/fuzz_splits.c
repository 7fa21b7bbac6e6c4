/* libFuzzer target: polygon-replay's splits file. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    splits sp;
    char err[256];
    if (splits_parse(&sp, "fuzz.csv", (const char *)data, size, err, sizeof err) != 0) {
        if (sp.v || sp.count || !memchr(err, '\0', sizeof err))
            __builtin_trap();
        return 0;
    }
    for (size_t i = 0; i < sp.count; i++) /* every split is a usable one */
        if (!(sp.v[i].ratio > 0) || !sp.v[i].ticker[0])
            __builtin_trap();
    free(sp.v);
    return 0;
}
