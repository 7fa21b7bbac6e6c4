/*
 * pgpool.h — a thread-safe libpq connection pool.
 *
 * Thread safety: libpgpool has no mutable global state. Functions that take
 * no handle are safe to call from any thread. Each handle type documents its
 * own rules where it is declared; distinct handles are independent.
 */
#ifndef PGPOOL_PGPOOL_H
#define PGPOOL_PGPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <pgpool/version.h> /* generated: PGPOOL_VERSION_MAJOR/MINOR/PATCH/NUMBER */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define PGPOOL_API          __attribute__((visibility("default")))
#define PGPOOL_NODISCARD    __attribute__((warn_unused_result))
#define PGPOOL_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#else
#define PGPOOL_API
#define PGPOOL_NODISCARD
#define PGPOOL_NONNULL(...)
#endif

/* Error codes: 0 is success, failures are negative. */
typedef enum pgpool_error {
    PGPOOL_OK = 0,
    PGPOOL_EINVAL = -1, /* an argument or option is out of range */
    PGPOOL_ENOMEM = -2, /* allocation failed; nothing was changed */
} pgpool_error;

/* Static text for an error code; never NULL, also for unknown codes. */
PGPOOL_API const char *pgpool_strerror(int err);

/* Runtime version as PGPOOL_VERSION_NUMBER (0xMMmmpp) of the library linked. */
PGPOOL_API uint32_t pgpool_version(void);

/* A pool of libpq connections: the handle this library grows around. Opaque. */
typedef struct pgpool pgpool;

#ifdef __cplusplus
}
#endif

#endif /* PGPOOL_PGPOOL_H */
