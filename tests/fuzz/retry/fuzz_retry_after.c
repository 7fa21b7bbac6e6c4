/* libFuzzer target for retry_parse_retry_after(): the first 8 bytes pick
 * "now", the rest is the field value. Checks the documented contract. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <retry/retry.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t now = INT64_C(1700000000);
    if (size >= 8 && data[0] == 0xff) {
        uint64_t u;
        memcpy(&u, data, 8);
        now = (int64_t)(u >> 8) - (INT64_C(1) << 54);
        data += 8;
        size -= 8;
    }
    /* an exact-size copy so that any read past len is caught by ASan */
    char *value = malloc(size ? size : 1);
    if (!value)
        return 0;
    if (size)
        memcpy(value, data, size);
    int64_t delay = -1;
    int rc = retry_parse_retry_after(&delay, size ? value : NULL, size, now);
    if (rc != RETRY_OK && rc != RETRY_EINVAL)
        abort();
    if (delay < 0 || (rc == RETRY_EINVAL && delay != 0))
        abort();
    free(value);
    return 0;
}
