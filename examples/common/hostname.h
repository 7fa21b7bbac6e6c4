/*
 * The host's fully qualified domain name, for mail headers (From,
 * Message-ID) that must carry a domain rather than a bare host name.
 */
#ifndef EXAMPLES_HOSTNAME_H
#define EXAMPLES_HOSTNAME_H

#include <stdbool.h>
#include <stddef.h>

/*
 * The host name (gethostname) when it already holds a dot, else the
 * canonical name the resolver gives for it (getaddrinfo with
 * AI_CANONNAME: /etc/hosts or DNS) when that holds a dot, into out (size >
 * 0, cut to fit). Returns true for such a qualified name; false leaves the
 * bare host name ("localhost" when there is none) in out. Blocks on the
 * resolver; call it at start-up.
 */
bool host_fqdn(char *out, size_t size);

#endif
