/*
 * Small checks on URLs the example programs are handed: whether a URL a
 * server sent stays on the configured origin, the password of a connection
 * URL (to mask it), and whether a base URL is plain http to another host.
 */
#ifndef EXAMPLES_URLCHECK_H
#define EXAMPLES_URLCHECK_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Does url start with origin (scheme://host[:port], no path), followed by
 * a path or nothing? "http://h:1@evil/", "http://h:10" and "http://h.evil"
 * do not stay on the origin "http://h:1" or "http://h".
 */
bool url_same_origin(const char *url, const char *origin);

/*
 * The password of scheme://user:password@host/... into out (size > 0,
 * cut to fit), as written in the URL. false (out "") when it has none.
 */
bool url_password(const char *url, char *out, size_t size);

/* Is url plain http:// to a host other than localhost, 127.x.x.x or [::1]? */
bool url_plain_http_remote(const char *url);

#endif
