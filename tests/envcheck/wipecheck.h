/* Forced into a test-only build of libenvcheck's sources (-include): every
 * free and realloc of the library goes through the checks of test_wipe.c,
 * which look for the test's secrets in the memory given back. */
#ifndef EC_WIPECHECK_H
#define EC_WIPECHECK_H

#include <stddef.h>
#include <stdlib.h>

/* Frees p (owned by the caller) after looking for secrets in its bytes. */
void ec_test_checked_free(void *p);
/* As realloc(p, n); the old block goes through ec_test_checked_free(). */
void *ec_test_checked_realloc(void *p, size_t n);

#define free(p)       ec_test_checked_free(p)
#define realloc(p, n) ec_test_checked_realloc(p, n)

#endif
