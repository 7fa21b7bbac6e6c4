/* A whole file in memory, for the readers that need all of it at once. */
#ifndef EXAMPLES_READ_FILE_H
#define EXAMPLES_READ_FILE_H

#include <stddef.h>

/*
 * The bytes of path ("-": standard input), NUL-terminated (the NUL not
 * counted in *len). Returns a buffer the caller frees, or NULL with errno
 * set.
 */
char *read_file(const char *path, size_t *len);

#endif
