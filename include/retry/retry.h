/*
 * retry.h — backoff with jitter, retry policies, circuit breaker, rate
 * limiters and retry budgets.
 *
 * Thread safety: libretry has no mutable global state. Functions that take no
 * handle are safe to call from any thread. Each handle type documents its own
 * rules where it is declared; distinct handles are independent.
 */
#ifndef RETRY_RETRY_H
#define RETRY_RETRY_H

#include <stddef.h>
#include <stdint.h>

#include <retry/version.h> /* generated: RETRY_VERSION_MAJOR/MINOR/PATCH/NUMBER */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RETRY_API          __attribute__((visibility("default")))
#define RETRY_NODISCARD    __attribute__((warn_unused_result))
#define RETRY_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#else
#define RETRY_API
#define RETRY_NODISCARD
#define RETRY_NONNULL(...)
#endif

/* Error codes: 0 is success, failures are negative. */
typedef enum retry_error {
    RETRY_OK = 0,
    RETRY_EINVAL = -1, /* an argument or option is out of range */
    RETRY_ENOMEM = -2, /* allocation failed; nothing was changed */
} retry_error;

/* Static text for an error code; never NULL, also for unknown codes. */
RETRY_API const char *retry_strerror(int err);

/* Runtime version as RETRY_VERSION_NUMBER (0xMMmmpp) of the library linked. */
RETRY_API uint32_t retry_version(void);

/* A circuit breaker: the handle this library grows around. Opaque. */
typedef struct retry_breaker retry_breaker;

#ifdef __cplusplus
}
#endif

#endif /* RETRY_RETRY_H */
