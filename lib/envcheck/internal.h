/* Private declarations shared by the sources of libenvcheck. */
#ifndef ENVCHECK_INTERNAL_H
#define ENVCHECK_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <envcheck/envcheck.h>

#define EC_ERRMSG_SIZE 512
/* Largest NAME_FILE and env file read, and the largest JSON schema file. */
#define EC_MAX_FILE_SIZE (16u * 1024u * 1024u)

/* ---- util.c: memory, wiping, strings, a growable buffer, a name index */

void ec_wipe(void *p, size_t n);
/* Wipe the string's bytes, then free it. NULL is fine. */
void ec_wipe_free(char *s);
char *ec_strdup(const char *s);
char *ec_strndup(const char *s, size_t n);
int ec_name_valid(const char *s, size_t n);
int ec_utf8_valid(const char *s, size_t n);
size_t ec_utf8_count(const char *s, size_t n);
int ec_is_blank(const char *s);
int ec_ascii_casecmp(const char *a, const char *b);

typedef struct ec_buf {
    char *data;
    size_t len, cap;
    int failed; /* an allocation failed: further appends are ignored */
} ec_buf;

void ec_buf_add(ec_buf *b, const char *s, size_t n);
void ec_buf_puts(ec_buf *b, const char *s);
void ec_buf_printf(ec_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ec_buf_vprintf(ec_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Append s quoted with control characters escaped, at most max bytes of it. */
void ec_buf_quote(ec_buf *b, const char *s, size_t max);
/* Take the text (NUL-terminated) out of the buffer; NULL when it failed. */
char *ec_buf_take(ec_buf *b);
/* Free the text, wiping it. */
void ec_buf_wipe(ec_buf *b);

/* Open-addressing hash from names to indices. */
typedef struct ec_index {
    size_t *slots; /* index + 1, 0 = empty */
    size_t cap;    /* power of two */
    size_t count;
} ec_index;

/* name_at(ctx, i) returns the name of index i. */
typedef const char *(*ec_name_at)(const void *ctx, size_t i);
int ec_index_insert(ec_index *ix, const char *name, size_t i, ec_name_at at, const void *ctx);
/* Returns index + 1, or 0 when not found. */
size_t ec_index_find(const ec_index *ix, const char *name, ec_name_at at, const void *ctx);
void ec_index_free(ec_index *ix);

/* Read a whole file; *len excludes the NUL that ends it. Returns 0 or an
 * errno value. The caller frees with ec_wipe_free(). */
int ec_read_file(const char *path, char **data, size_t *len);

/* The same for a regular file only: a FIFO, a device or a socket (whose
 * read could block for ever or never end) gives EC_ENOTREG, unread. */
#define EC_ENOTREG (-1)
int ec_read_regular_file(const char *path, char **data, size_t *len);

/* ---- schema.c */

typedef struct ec_var {
    char *name;
    char *file_name;        /* NAME_FILE */
    envcheck_var_options o; /* pointers below replace the caller's */
    char *default_value, *description, *example, *charset_text, *prefix;
    char **values;
    char **schemes;
    unsigned char charset[32]; /* bit set of allowed bytes when charset_text */
} ec_var;

typedef enum ec_rule_kind {
    EC_RULE_REQUIRE_IF,
    EC_RULE_GROUP,
    EC_RULE_LESS,
    EC_RULE_CUSTOM,
} ec_rule_kind;

typedef struct ec_rule {
    ec_rule_kind kind;
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
} ec_rule;

struct envcheck_schema {
    ec_var *vars;
    size_t n_vars, cap_vars;
    ec_rule *rules;
    size_t n_rules, cap_rules;
    ec_index index;
    char errmsg[EC_ERRMSG_SIZE];
};

void ec_schema_seterr(envcheck_schema *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Index of the variable, or -1. */
long ec_schema_find(const envcheck_schema *s, const char *name);
/* Drop variables and rules added after the given counts. */
void ec_schema_truncate(envcheck_schema *s, size_t n_vars, size_t n_rules);

/* ---- types.c: parsing of one value */

typedef struct ec_value {
    char *text; /* owned, wiped when freed */
    union {
        int64_t i; /* int, port, duration (ns) */
        double f;  /* float */
        int b;     /* bool */
        size_t e;  /* enum index */
    } u;
    struct ec_value *items; /* list elements */
    size_t n_items;
} ec_value;

void ec_value_clear(ec_value *v);

/* A failure to parse: the code and a reason that never contains the value. */
typedef struct ec_fail {
    envcheck_code code;
    char reason[256];
} ec_fail;

/* Parse text as var's type into v (v->text is set to a copy on success).
 * Returns 0, -1 on a finding (fail filled) or ENVCHECK_ENOMEM. */
int ec_parse_value(const ec_var *var, const char *text, ec_value *v, ec_fail *fail);

int ec_parse_int(const char *s, int64_t *out);      /* 0, -1 syntax, -2 overflow */
int ec_parse_float(const char *s, double *out);     /* 0, -1 syntax, -2 not finite */
int ec_parse_bool(const char *s, int *out);         /* 0, -1 */
int ec_parse_duration(const char *s, int64_t *out); /* 0, -1 syntax, -2 overflow */
void ec_format_duration(int64_t ns, char *buf, size_t size);
int ec_host_valid(const char *s, size_t n);
int ec_charset_compile(const char *spec, unsigned char set[32]);

/* ---- url.c */

typedef struct ec_url_parts {
    size_t scheme_len;
    size_t host_off, host_len; /* the whole authority's host list */
    size_t pass_off, pass_len; /* pass_len 0 with pass_off 0: no password */
    int has_pass;
} ec_url_parts;

/* Returns 0, or -1 with a static reason. */
int ec_url_parse(const char *s, ec_url_parts *p, const char **reason);
/* Append s with the password (and password-like query values) masked. */
void ec_url_append_masked(ec_buf *b, const char *s);

/* ---- envfile.c */

typedef struct ec_lint {
    envcheck_code code;
    char *name;
    char *message;
    char *file;
    unsigned line;
} ec_lint;

/* Called for each assignment parsed: value is NUL-terminated, len bytes. */
typedef int (*ec_assign_fn)(void *ctx, const char *name, const char *value, size_t len,
                            unsigned line);
typedef int (*ec_lint_fn)(void *ctx, envcheck_code code, const char *name, const char *message,
                          unsigned line);
int ec_envfile_parse(const char *data, size_t len, ec_assign_fn assign, ec_lint_fn lint, void *ctx);

/* ---- dialect.c */

/* Parse by dialect's rules (systemd: ec_envfile_parse). */
int ec_envfile_parse_dialect(const char *data, size_t len, envcheck_dialect dialect,
                             ec_assign_fn assign, ec_lint_fn lint, void *ctx);
/* Report (ENVCHECK_CODE_DIALECT) every variable another dialect reads
 * differently from dialect. */
int ec_envfile_lint_dialects(const char *data, size_t len, envcheck_dialect dialect,
                             ec_lint_fn lint, void *ctx);

/* ---- source.c */

typedef struct ec_entry {
    char *name;
    char *value;
    const char *origin; /* borrowed from the source's labels */
    unsigned line;      /* in an env file; 0 otherwise */
    size_t layer;
} ec_entry;

struct envcheck_source {
    ec_entry *entries;
    size_t n, cap;
    ec_index index;
    char **labels; /* one per layer */
    size_t n_labels;
    ec_lint *lints;
    size_t n_lints, cap_lints;
    char errmsg[EC_ERRMSG_SIZE];
};

const ec_entry *ec_source_find(const envcheck_source *src, const char *name);

/* ---- validate.c */

typedef enum ec_state {
    EC_UNSET = 0,
    EC_SET,
    EC_DEFAULT,
    EC_INVALID,
} ec_state;

typedef struct ec_rvar {
    ec_state state;
    int present; /* set (non-blank) in the source */
    ec_value v;
    char *origin; /* "environment", "FILE:LINE", "default", "file PATH" */
} ec_rvar;

typedef struct ec_finding {
    envcheck_finding pub;
    char *name, *message, *file; /* owned; pub points at them */
    size_t seq;
} ec_finding;

struct envcheck_result {
    const envcheck_schema *schema;
    ec_rvar *vars;
    ec_finding *findings;
    size_t n_findings, cap_findings;
    size_t group_count[4];
};

int ec_var_sensitive(const ec_var *var);
/* Append result variable i's value as it may be shown: the mask for a
 * sensitive variable, else (quoted when quote) with URL passwords masked. */
void ec_result_show(ec_buf *b, const envcheck_result *r, size_t i, int quote);
/* Append a schema variable's default as it may be shown (unquoted). */
void ec_var_show_default(ec_buf *b, const ec_var *var);

#endif /* ENVCHECK_INTERNAL_H */
