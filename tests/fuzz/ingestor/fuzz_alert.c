/* libFuzzer target: the alerts' webhook URL check and secret masking,
 * address check, and e-mail text (examples/ingestor/alert.c through
 * alert_internal.h). Input: URL, text, address, key, title and body,
 * separated by newlines (the last one may hold newlines itself). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "alert_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const headers[] = { "Date",
                                       "From",
                                       "To",
                                       "Subject",
                                       "Message-ID",
                                       "MIME-Version",
                                       "Content-Type",
                                       "Content-Transfer-Encoding",
                                       "Auto-Submitted",
                                       "X-Ingestor-Alert-Key",
                                       NULL };

/* Every header line is one of ours or a folded continuation, ends with CRLF
 * and is at most 998 bytes long; the text's lines end with CRLF (libcurl
 * encodes the text quoted-printable, so their length does not matter). */
static void check_email(const char *m)
{
    const char *end = strstr(m, "\r\n\r\n");
    if (!end)
        __builtin_trap();
    for (const char *line = m; *line;) {
        const char *nl = strstr(line, "\r\n");
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        if ((line < end && len > 998) || memchr(line, '\n', len) || memchr(line, '\r', len))
            __builtin_trap();
        if (line < end && line[0] != ' ') {
            int known = 0;
            for (int i = 0; headers[i]; i++) {
                size_t hl = strlen(headers[i]);
                known |= strncmp(line, headers[i], hl) == 0 && line[hl] == ':';
            }
            if (!known)
                __builtin_trap();
        }
        if (!nl)
            break;
        line = nl + 2;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *f[6] = { "", "", "", "k", "", "" };
    char *p = text;
    for (int i = 0; i < 6 && p; i++) {
        f[i] = p;
        p = i < 5 ? strchr(p, '\n') : NULL;
        if (p)
            *p++ = '\0';
    }
    char origin[256];
    char *scrubbed = NULL;
    if (alert_internal_webhook(f[0], f[1], origin, sizeof origin, &scrubbed) == ALERT_OK) {
        /* the origin is scheme://host[:port]: no user information, no path */
        const char *host = strstr(origin, "://");
        if (!host || strpbrk(host + 3, "@/?#") || !host[3])
            __builtin_trap();
        /* the whole URL never survives the masking (when it is long enough
         * to be told apart from the mask) */
        if (strlen(f[0]) >= 12 && strstr(scrubbed, f[0]))
            __builtin_trap();
        free(scrubbed);
    }
    int addr = alert_internal_address_ok(f[2]);
    if (addr && (strpbrk(f[2], " <>,;\"\r\n") || !strchr(f[2], '@')))
        __builtin_trap();
    char *m = alert_internal_email("ingestor@example.org", "ops@example.org", f[3], f[4], f[5]);
    if (m) {
        check_email(m);
        free(m);
    }
    free(text);
    return 0;
}
