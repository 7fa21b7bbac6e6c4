/*
 * dqcheck.h — data-quality checks for OHLCV candles: batch, per-candle,
 * temporal and anomaly checks, a quality score and a JSON report.
 *
 * Thread safety: libdqcheck has no mutable global state. Functions that take
 * no handle are safe to call from any thread. Each handle type documents its
 * own rules where it is declared; distinct handles are independent.
 */
#ifndef DQCHECK_DQCHECK_H
#define DQCHECK_DQCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <dqcheck/version.h> /* generated: DQ_VERSION_MAJOR/MINOR/PATCH/NUMBER */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define DQ_API          __attribute__((visibility("default")))
#define DQ_NODISCARD    __attribute__((warn_unused_result))
#define DQ_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#else
#define DQ_API
#define DQ_NODISCARD
#define DQ_NONNULL(...)
#endif

/* Error codes: 0 is success, failures are negative. */
typedef enum dq_error {
    DQ_OK = 0,
    DQ_EINVAL = -1, /* an argument or option is out of range */
    DQ_ENOMEM = -2, /* allocation failed; nothing was changed */
} dq_error;

/* Static text for an error code; never NULL, also for unknown codes. */
DQ_API const char *dq_strerror(int err);

/* Runtime version as DQ_VERSION_NUMBER (0xMMmmpp) of the library linked. */
DQ_API uint32_t dq_version(void);

/* A checker with its configuration and stream state: the handle this library
 * grows around. Opaque. */
typedef struct dq_checker dq_checker;

#ifdef __cplusplus
}
#endif

#endif /* DQCHECK_DQCHECK_H */
