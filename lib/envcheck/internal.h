/* Private declarations shared by the sources of libenvcheck. */
#ifndef ENVCHECK_INTERNAL_H
#define ENVCHECK_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <envcheck/envcheck.h>

#define ENVCHECK__ERRMSG_SIZE 512
/* Largest NAME_FILE and env file read, and the largest JSON schema file. */
#define ENVCHECK__MAX_FILE_SIZE (16u * 1024u * 1024u)

/* ---- util.c: memory, wiping, strings, a growable buffer, a name index */

void envcheck__wipe(void *p, size_t n);
/* Wipe the string's bytes, then free it. NULL is fine. */
void envcheck__wipe_free(char *s);
char *envcheck__strdup(const char *s);
char *envcheck__strndup(const char *s, size_t n);
int envcheck__name_valid(const char *s, size_t n);
int envcheck__utf8_valid(const char *s, size_t n);
size_t envcheck__utf8_count(const char *s, size_t n);
int envcheck__is_blank(const char *s);
int envcheck__ascii_casecmp(const char *a, const char *b);

typedef struct envcheck__buf {
    char *data;
    size_t len, cap;
    int failed; /* an allocation failed: further appends are ignored */
} envcheck__buf;

void envcheck__buf_add(envcheck__buf *b, const char *s, size_t n);
void envcheck__buf_puts(envcheck__buf *b, const char *s);
void envcheck__buf_printf(envcheck__buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void envcheck__buf_vprintf(envcheck__buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Append s quoted with control characters escaped, at most max bytes of it. */
void envcheck__buf_quote(envcheck__buf *b, const char *s, size_t max);
/* Take the text (NUL-terminated) out of the buffer; NULL when it failed. */
char *envcheck__buf_take(envcheck__buf *b);
/* Free the text, wiping it. */
void envcheck__buf_wipe(envcheck__buf *b);

/* Open-addressing hash from names to indices. */
typedef struct envcheck__index {
    size_t *slots; /* index + 1, 0 = empty */
    size_t cap;    /* power of two */
    size_t count;
} envcheck__index;

/* name_at(ctx, i) returns the name of index i. */
typedef const char *(*envcheck__name_at)(const void *ctx, size_t i);
int envcheck__index_insert(envcheck__index *ix, const char *name, size_t i, envcheck__name_at at,
                           const void *ctx);
/* Returns index + 1, or 0 when not found. */
size_t envcheck__index_find(const envcheck__index *ix, const char *name, envcheck__name_at at,
                            const void *ctx);
void envcheck__index_free(envcheck__index *ix);

/* Read a whole file; *len excludes the NUL that ends it. Returns 0 or an
 * errno value. The caller frees with envcheck__wipe_free(). */
int envcheck__read_file(const char *path, char **data, size_t *len);

/* The same for a regular file only: a FIFO, a device or a socket (whose
 * read could block for ever or never end) gives ENVCHECK__ENOTREG, unread. */
#define ENVCHECK__ENOTREG (-1)
int envcheck__read_regular_file(const char *path, char **data, size_t *len);

/* ---- schema.c */

typedef struct envcheck__var {
    char *name;
    char *file_name;        /* NAME_FILE */
    envcheck_var_options o; /* pointers below replace the caller's */
    char *default_value, *description, *example, *charset_text, *prefix;
    char **values;
    char **schemes;
    unsigned char charset[32]; /* bit set of allowed bytes when charset_text */
} envcheck__var;

typedef enum envcheck__rule_kind {
    ENVCHECK__RULE_REQUIRE_IF,
    ENVCHECK__RULE_GROUP,
    ENVCHECK__RULE_LESS,
    ENVCHECK__RULE_CUSTOM,
} envcheck__rule_kind;

typedef struct envcheck__rule {
    envcheck__rule_kind kind;
    char *name;  /* require_if: the condition variable; less: a; custom: label */
    char *name2; /* less: b */
    char *value; /* require_if equals */
    envcheck_condition cond;
    envcheck_group_rule group;
    int or_equal;
    char **names;
    size_t n_names;
    envcheck_rule_fn fn;
    void *userdata;
} envcheck__rule;

struct envcheck_schema {
    envcheck__var *vars;
    size_t n_vars, cap_vars;
    envcheck__rule *rules;
    size_t n_rules, cap_rules;
    envcheck__index index;
    char errmsg[ENVCHECK__ERRMSG_SIZE];
};

void envcheck__schema_seterr(envcheck_schema *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Index of the variable, or -1. */
long envcheck__schema_find(const envcheck_schema *s, const char *name);
/* Drop variables and rules added after the given counts. */
void envcheck__schema_truncate(envcheck_schema *s, size_t n_vars, size_t n_rules);

/* ---- types.c: parsing of one value */

typedef struct envcheck__value {
    char *text; /* owned, wiped when freed */
    union {
        int64_t i; /* int, port, duration (ns) */
        double f;  /* float */
        int b;     /* bool */
        size_t e;  /* enum index */
    } u;
    struct envcheck__value *items; /* list elements */
    size_t n_items;
} envcheck__value;

void envcheck__value_clear(envcheck__value *v);

/* A failure to parse: the code and a reason that never contains the value. */
typedef struct envcheck__fail {
    envcheck_code code;
    char reason[256];
} envcheck__fail;

/* Parse text as var's type into v (v->text is set to a copy on success).
 * Returns 0, -1 on a finding (fail filled) or ENVCHECK_ENOMEM. */
int envcheck__parse_value(const envcheck__var *var, const char *text, envcheck__value *v,
                          envcheck__fail *fail);

int envcheck__parse_int(const char *s, int64_t *out);      /* 0, -1 syntax, -2 overflow */
int envcheck__parse_float(const char *s, double *out);     /* 0, -1 syntax, -2 not finite */
int envcheck__parse_bool(const char *s, int *out);         /* 0, -1 */
int envcheck__parse_duration(const char *s, int64_t *out); /* 0, -1 syntax, -2 overflow */
void envcheck__format_duration(int64_t ns, char *buf, size_t size);
int envcheck__charset_compile(const char *spec, unsigned char set[32]);

/* ---- host.c */

int envcheck__host_valid(const char *s, size_t n);
/* host[:port], the host a name, an IPv4 or an [IPv6] address, the port
 * 1..65535. Returns 0, or -1 with a static reason. */
int envcheck__host_port_valid(const char *s, size_t n, const char **reason);
int envcheck__email_valid(const char *s);

/* ---- url.c */

typedef struct envcheck__url_parts {
    size_t scheme_len;
    size_t host_off, host_len; /* the whole authority's host list */
    size_t pass_off, pass_len; /* pass_len 0 with pass_off 0: no password */
    int has_pass;
} envcheck__url_parts;

/* Returns 0, or -1 with a static reason. */
int envcheck__url_parse(const char *s, envcheck__url_parts *p, const char **reason);
/* Append s with the password (and password-like query values) masked. */
void envcheck__url_append_masked(envcheck__buf *b, const char *s);

/* ---- envfile.c */

typedef struct envcheck__lint {
    envcheck_code code;
    char *name;
    char *message;
    char *file;
    unsigned line;
} envcheck__lint;

/* Called for each assignment parsed: value is NUL-terminated, len bytes. */
typedef int (*envcheck__assign_fn)(void *ctx, const char *name, const char *value, size_t len,
                                   unsigned line);
typedef int (*envcheck__lint_fn)(void *ctx, envcheck_code code, const char *name,
                                 const char *message, unsigned line);
int envcheck__envfile_parse(const char *data, size_t len, envcheck__assign_fn assign,
                            envcheck__lint_fn lint, void *ctx);

/* ---- dialect.c */

/* Parse by dialect's rules (systemd: envcheck__envfile_parse). */
int envcheck__envfile_parse_dialect(const char *data, size_t len, envcheck_dialect dialect,
                                    envcheck__assign_fn assign, envcheck__lint_fn lint, void *ctx);
/* Report (ENVCHECK_CODE_DIALECT) every variable another dialect reads
 * differently from dialect. */
int envcheck__envfile_lint_dialects(const char *data, size_t len, envcheck_dialect dialect,
                                    envcheck__lint_fn lint, void *ctx);

/* ---- source.c */

typedef struct envcheck__entry {
    char *name;
    char *value;
    const char *origin; /* borrowed from the source's labels */
    unsigned line;      /* in an env file; 0 otherwise */
    size_t layer;
} envcheck__entry;

struct envcheck_source {
    envcheck__entry *entries;
    size_t n, cap;
    envcheck__index index;
    char **labels; /* one per layer */
    size_t n_labels;
    envcheck__lint *lints;
    size_t n_lints, cap_lints;
    char errmsg[ENVCHECK__ERRMSG_SIZE];
};

const envcheck__entry *envcheck__source_find(const envcheck_source *src, const char *name);

/* ---- validate.c */

typedef enum envcheck__state {
    ENVCHECK__UNSET = 0,
    ENVCHECK__SET,
    ENVCHECK__DEFAULT,
    ENVCHECK__INVALID,
} envcheck__state;

typedef struct envcheck__rvar {
    envcheck__state state;
    int present; /* set (non-blank) in the source */
    envcheck__value v;
    char *origin; /* "environment", "FILE:LINE", "default", "file PATH" */
} envcheck__rvar;

typedef struct envcheck__finding {
    envcheck_finding pub;
    char *name, *message, *file; /* owned; pub points at them */
    size_t seq;
} envcheck__finding;

struct envcheck_result {
    const envcheck_schema *schema;
    envcheck__rvar *vars;
    envcheck__finding *findings;
    size_t n_findings, cap_findings;
    size_t group_count[4];
};

int envcheck__var_sensitive(const envcheck__var *var);
/* Append result variable i's value as it may be shown: the mask for a
 * sensitive variable, else (quoted when quote) with URL passwords masked. */
void envcheck__result_show(envcheck__buf *b, const envcheck_result *r, size_t i, int quote);
/* Append a schema variable's default as it may be shown (unquoted). */
void envcheck__var_show_default(envcheck__buf *b, const envcheck__var *var);

#endif /* ENVCHECK_INTERNAL_H */
