/*
 * Room for one more element in a growable array: the one way the example
 * programs grow their arrays.
 */
#ifndef EXAMPLES_ARRAY_GROW_H
#define EXAMPLES_ARRAY_GROW_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Make *array (a pointer to elements of elem_size bytes, passed as its
 * address) hold at least need elements; *cap is its capacity, doubled (from
 * at least 16) as needed. Returns 0, or -1 when out of memory (then *array
 * and *cap are unchanged and still owned by the caller).
 */
static inline int array_grow(void *array, size_t *cap, size_t need, size_t elem_size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    if (n > SIZE_MAX / elem_size)
        return -1;
    void *old;
    memcpy(&old, array, sizeof old);
    void *p = realloc(old, n * elem_size);
    if (!p)
        return -1;
    memcpy(array, &p, sizeof p);
    *cap = n;
    return 0;
}

#endif
