/*
 * One HTTP response header line, as libcurl's CURLOPT_HEADERFUNCTION hands
 * it over ("Name: value\r\n", not NUL-terminated).
 */
#ifndef EXAMPLES_HTTP_HEADER_H
#define EXAMPLES_HTTP_HEADER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * When line is the header name (case-insensitive, without the colon), copy
 * its value, trimmed, into out (cut to outlen - 1 bytes) and return true.
 */
bool http_header_value(const char *line, size_t n, const char *name, char *out, size_t outlen);

#endif
