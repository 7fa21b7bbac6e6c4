/*
 * envcheck.h — schema-driven validation of configuration from the
 * environment or env files; sensitive values are never shown.
 *
 * Thread safety: libenvcheck has no mutable global state. Functions that take
 * no handle are safe to call from any thread. Each handle type documents its
 * own rules where it is declared; distinct handles are independent.
 */
#ifndef ENVCHECK_ENVCHECK_H
#define ENVCHECK_ENVCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <envcheck/version.h> /* generated: ENVCHECK_VERSION_MAJOR/MINOR/PATCH/NUMBER */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ENVCHECK_API          __attribute__((visibility("default")))
#define ENVCHECK_NODISCARD    __attribute__((warn_unused_result))
#define ENVCHECK_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#else
#define ENVCHECK_API
#define ENVCHECK_NODISCARD
#define ENVCHECK_NONNULL(...)
#endif

/* Error codes: 0 is success, failures are negative. */
typedef enum envcheck_error {
    ENVCHECK_OK = 0,
    ENVCHECK_EINVAL = -1, /* an argument or option is out of range */
    ENVCHECK_ENOMEM = -2, /* allocation failed; nothing was changed */
} envcheck_error;

/* Static text for an error code; never NULL, also for unknown codes. */
ENVCHECK_API const char *envcheck_strerror(int err);

/* Runtime version as ENVCHECK_VERSION_NUMBER (0xMMmmpp) of the library linked. */
ENVCHECK_API uint32_t envcheck_version(void);

/* A schema of configuration variables and rules: the handle this library
 * grows around. Opaque. */
typedef struct envcheck_schema envcheck_schema;

#ifdef __cplusplus
}
#endif

#endif /* ENVCHECK_ENVCHECK_H */
