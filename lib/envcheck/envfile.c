/* Env files by systemd's EnvironmentFile= rules (the state machine of
 * systemd's parse_env_file, v254 and later):
 *  - lines starting with '#' or ';' (after blanks) are comments;
 *  - KEY=VALUE, blanks around the key and before the value ignored;
 *  - unquoted values: trailing blanks removed, a backslash escapes the next
 *    character, a backslash before a newline continues the line;
 *  - "double quotes": \" \\ \` \$ are escapes, a backslash-newline continues,
 *    any other backslash is kept; 'single quotes' are literal; quoted parts
 *    and unquoted parts concatenate; newlines inside quotes are kept;
 *  - no $ expansion, no inline comments, no "export";
 *  - a line with a key but no '=' is ignored; so is an invalid name or a
 *    value with control characters or invalid UTF-8;
 *  - a quote still open at the end of the file ends at the end of the line
 *    it opened on, with an error, and the lines after it are read again
 *    (systemd would swallow the rest of the file).
 * Lint findings report each case; they never quote a value. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

enum state {
    PRE_KEY,
    KEY,
    PRE_VALUE,
    VALUE,
    VALUE_ESCAPE,
    SINGLE_QUOTE,
    DOUBLE_QUOTE,
    DOUBLE_QUOTE_ESCAPE,
    COMMENT,
};

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_nl(char c)
{
    return c == '\n' || c == '\r';
}

static int has_lower(const char *s)
{
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            return 1;
    return 0;
}

static int value_valid(const char *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
            return 0;
    }
    return envcheck__utf8_valid(v, n);
}

typedef struct parser {
    envcheck__buf key, value;
    size_t key_ws, value_ws; /* where trailing blanks start, or SIZE_MAX */
    unsigned key_line;
    envcheck__assign_fn assign;
    envcheck__lint_fn lint;
    void *ctx;
} parser;

static int push(parser *ps, int unterminated)
{
    int rc = 0;
    if (ps->key.failed || ps->value.failed)
        return ENVCHECK_ENOMEM;
    size_t klen = ps->key_ws != SIZE_MAX ? ps->key_ws : ps->key.len;
    const char *key = ps->key.data ? ps->key.data : "";
    const char *value = ps->value.data ? ps->value.data : "";
    size_t vlen = ps->value.len;
    if (ps->key.data)
        ps->key.data[klen] = '\0';
    if (!envcheck__name_valid(key, klen)) {
        const char *msg = "invalid variable name: the assignment is ignored "
                          "(names are [A-Za-z_][A-Za-z0-9_]*)";
        if (klen > 7 && strncmp(key, "export", 6) == 0 && is_ws(key[6]))
            msg = "invalid variable name: \"export\" is not supported, the assignment is ignored";
        rc = ps->lint(ps->ctx, ENVCHECK_CODE_INVALID_NAME, "", msg, ps->key_line);
    } else if (!value_valid(value, vlen)) {
        rc = ps->lint(ps->ctx, ENVCHECK_CODE_INVALID_VALUE, key,
                      "the value has control characters or invalid UTF-8: "
                      "the assignment is ignored",
                      ps->key_line);
    } else {
        if (unterminated)
            rc = ps->lint(ps->ctx, ENVCHECK_CODE_UNTERMINATED, key,
                          "a quoted value is not closed: it ends at the end of its line",
                          ps->key_line);
        if (rc == 0 && has_lower(key))
            rc = ps->lint(ps->ctx, ENVCHECK_CODE_LOWERCASE_KEY, key,
                          "the key has lowercase letters", ps->key_line);
        if (rc == 0)
            rc = ps->assign(ps->ctx, key, value, vlen, ps->key_line);
    }
    /* reset, wiping the value */
    if (ps->value.data)
        envcheck__wipe(ps->value.data, ps->value.len);
    ps->value.len = 0;
    if (ps->value.data)
        ps->value.data[0] = '\0';
    ps->key.len = 0;
    if (ps->key.data)
        ps->key.data[0] = '\0';
    return rc;
}

int envcheck__envfile_parse(const char *data, size_t len, envcheck__assign_fn assign,
                            envcheck__lint_fn lint, void *ctx)
{
    parser ps = { { NULL, 0, 0, 0 }, { NULL, 0, 0, 0 }, SIZE_MAX, SIZE_MAX, 1, assign, lint, ctx };
    enum state st = PRE_KEY;
    unsigned line = 1;
    int rc = 0;
    size_t i = 0;
    /* The first newline inside the open quote: where the value's text, its
     * length then and the line. */
    size_t q_nl = SIZE_MAX, q_len = 0;
    unsigned q_line = 0;
again:
    for (; i < len && rc == 0; i++) {
        char c = data[i];
        if (c == '\0') {
            rc = lint(ctx, ENVCHECK_CODE_INVALID_VALUE, "",
                      "a NUL byte: the rest of the file is ignored", line);
            break;
        }
        switch (st) {
        case PRE_KEY:
            if (c == '#' || c == ';') {
                st = COMMENT;
            } else if (c == '=') {
                /* an empty key: ignored as an invalid name (as systemd does) */
                st = PRE_VALUE;
                ps.key_ws = SIZE_MAX;
                ps.value_ws = SIZE_MAX;
                ps.key_line = line;
            } else if (!is_ws(c)) {
                st = KEY;
                ps.key_ws = SIZE_MAX;
                ps.key_line = line;
                envcheck__buf_add(&ps.key, &c, 1);
            }
            break;
        case KEY:
            if (is_nl(c)) {
                st = PRE_KEY;
                rc = lint(ctx, ENVCHECK_CODE_NO_EQUALS, "", "a line without '=': it is ignored",
                          ps.key_line);
                ps.key.len = 0;
            } else if (c == '=') {
                st = PRE_VALUE;
                ps.value_ws = SIZE_MAX;
            } else {
                if (!is_ws(c))
                    ps.key_ws = SIZE_MAX;
                else if (ps.key_ws == SIZE_MAX)
                    ps.key_ws = ps.key.len;
                envcheck__buf_add(&ps.key, &c, 1);
            }
            break;
        case PRE_VALUE:
            if (is_nl(c)) {
                st = PRE_KEY;
                rc = push(&ps, 0);
            } else if (c == '\'') {
                st = SINGLE_QUOTE;
                q_nl = SIZE_MAX;
            } else if (c == '"') {
                st = DOUBLE_QUOTE;
                q_nl = SIZE_MAX;
            } else if (c == '\\') {
                st = VALUE_ESCAPE;
            } else if (!is_ws(c)) {
                st = VALUE;
                envcheck__buf_add(&ps.value, &c, 1);
            }
            break;
        case VALUE:
            if (is_nl(c)) {
                st = PRE_KEY;
                if (ps.value_ws != SIZE_MAX) {
                    ps.value.len = ps.value_ws;
                    ps.value.data[ps.value.len] = '\0';
                }
                rc = push(&ps, 0);
            } else if (c == '\\') {
                st = VALUE_ESCAPE;
                ps.value_ws = SIZE_MAX;
            } else {
                if (!is_ws(c))
                    ps.value_ws = SIZE_MAX;
                else if (ps.value_ws == SIZE_MAX)
                    ps.value_ws = ps.value.len;
                envcheck__buf_add(&ps.value, &c, 1);
            }
            break;
        case VALUE_ESCAPE:
            st = VALUE;
            if (!is_nl(c))
                envcheck__buf_add(&ps.value, &c, 1);
            break;
        case SINGLE_QUOTE:
            if (c == '\'')
                st = PRE_VALUE;
            else
                envcheck__buf_add(&ps.value, &c, 1);
            break;
        case DOUBLE_QUOTE:
            if (c == '"')
                st = PRE_VALUE;
            else if (c == '\\')
                st = DOUBLE_QUOTE_ESCAPE;
            else
                envcheck__buf_add(&ps.value, &c, 1);
            break;
        case DOUBLE_QUOTE_ESCAPE:
            st = DOUBLE_QUOTE;
            if (c == '"' || c == '\\' || c == '`' || c == '$') {
                envcheck__buf_add(&ps.value, &c, 1);
            } else if (c != '\n') {
                envcheck__buf_add(&ps.value, "\\", 1);
                envcheck__buf_add(&ps.value, &c, 1);
            }
            break;
        case COMMENT:
            if (is_nl(c))
                st = PRE_KEY;
            break;
        }
        if (c == '\n' && q_nl == SIZE_MAX &&
            (st == SINGLE_QUOTE || st == DOUBLE_QUOTE || st == DOUBLE_QUOTE_ESCAPE)) {
            q_nl = i;
            q_len = ps.value.len > 0 && ps.value.data[ps.value.len - 1] == '\n' ? ps.value.len - 1
                                                                                : ps.value.len;
            if (q_len > 0 && ps.value.data[q_len - 1] == '\r')
                q_len--;
            q_line = line;
        }
        if (c == '\n')
            line++;
    }
    if (rc == 0 && q_nl != SIZE_MAX &&
        (st == SINGLE_QUOTE || st == DOUBLE_QUOTE || st == DOUBLE_QUOTE_ESCAPE)) {
        /* The quote never closes: the value ends with its first line, and
         * the lines after it are read as they are. */
        if (!ps.value.failed) {
            ps.value.len = q_len;
            if (ps.value.data)
                ps.value.data[q_len] = '\0';
        }
        rc = push(&ps, 1);
        i = q_nl + 1;
        line = q_line + 1;
        q_nl = SIZE_MAX;
        st = PRE_KEY;
        goto again;
    }
    if (rc == 0) {
        switch (st) {
        case KEY:
            rc = lint(ctx, ENVCHECK_CODE_NO_EQUALS, "", "a line without '=': it is ignored",
                      ps.key_line);
            break;
        case VALUE:
            if (ps.value_ws != SIZE_MAX) {
                ps.value.len = ps.value_ws;
                ps.value.data[ps.value.len] = '\0';
            }
            rc = push(&ps, 0);
            break;
        case PRE_VALUE:
        case VALUE_ESCAPE:
            rc = push(&ps, 0);
            break;
        case SINGLE_QUOTE:
        case DOUBLE_QUOTE:
        case DOUBLE_QUOTE_ESCAPE:
            rc = push(&ps, 1);
            break;
        case PRE_KEY:
        case COMMENT:
            break;
        }
    }
    if (rc == 0 && (ps.key.failed || ps.value.failed))
        rc = ENVCHECK_ENOMEM;
    envcheck__buf_wipe(&ps.key);
    envcheck__buf_wipe(&ps.value);
    return rc;
}
