/*
 * envcheck.h — schema-driven validation of configuration from the
 * environment or env files; sensitive values are never shown.
 *
 * A program describes its configuration once, as an envcheck_schema (built
 * in code or loaded from JSON), then validates a source (the process
 * environment, an array of NAME=VALUE strings, env files) in one pass that
 * collects every problem at once into an envcheck_result. A valid result
 * hands out typed values; any result renders as a human or JSON report, and
 * the effective configuration as a dump. A sensitive variable's value never
 * appears in any message, report, dump or usage table: it shows as
 * "**********", and the library wipes its copies before freeing them.
 *
 * Thread safety: libenvcheck has no mutable global state. Functions that take
 * no handle are safe to call from any thread. A schema and a source are
 * built by one thread; once built they are only read, and any number of
 * threads may then validate against them at once. A result is immutable:
 * any number of threads may read it at once. Validating against the process
 * environment reads it with getenv(), which races with setenv()/putenv() in
 * other threads (a limit of the C library, not of this one). Custom rule
 * callbacks run on the validating thread. Distinct handles are independent.
 */
#ifndef ENVCHECK_ENVCHECK_H
#define ENVCHECK_ENVCHECK_H

#include <stddef.h>
#include <stdint.h>

#include <envcheck/version.h> /* generated: ENVCHECK_VERSION_MAJOR/MINOR/PATCH/NUMBER */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define ENVCHECK_API          __attribute__((visibility("default")))
#define ENVCHECK_NODISCARD    __attribute__((warn_unused_result))
#define ENVCHECK_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#else
#define ENVCHECK_API
#define ENVCHECK_NODISCARD
#define ENVCHECK_NONNULL(...)
#endif

/* Error codes: 0 is success, failures are negative. An invalid
 * configuration is not an error: envcheck_validate() succeeds and the
 * result holds the findings. */
typedef enum envcheck_error {
    ENVCHECK_OK = 0,
    ENVCHECK_EINVAL = -1,   /* an argument or option is out of range */
    ENVCHECK_ENOMEM = -2,   /* allocation failed; nothing was changed */
    ENVCHECK_ESCHEMA = -3,  /* the schema is wrong (bad default, duplicate name, bad JSON) */
    ENVCHECK_EIO = -4,      /* a file could not be read, or a writer callback failed */
    ENVCHECK_ENOENT = -5,   /* no variable of that name */
    ENVCHECK_ETYPE = -6,    /* the variable's type does not fit the getter */
    ENVCHECK_ENOVALUE = -7, /* the variable has no valid value (unset, or invalid) */
} envcheck_error;

/* Static text for an error code; never NULL, also for unknown codes. */
ENVCHECK_API const char *envcheck_strerror(int err);

/* Runtime version as ENVCHECK_VERSION_NUMBER (0xMMmmpp) of the library linked. */
ENVCHECK_API uint32_t envcheck_version(void);

/* The value text shown in place of every sensitive value. */
#define ENVCHECK_MASK "**********"

/* ------------------------------------------------------------------ types */

/* Variable types. The syntax each accepts is documented in docs/envcheck.md. */
typedef enum envcheck_type {
    ENVCHECK_TYPE_STRING = 0, /* any text; blank counts as missing unless allow_empty */
    ENVCHECK_TYPE_INT,        /* int64, base 10 only: [+-]digits */
    ENVCHECK_TYPE_FLOAT,      /* a finite decimal number */
    ENVCHECK_TYPE_BOOL,       /* systemd: 1 yes y true t on / 0 no n false f off */
    ENVCHECK_TYPE_ENUM,       /* one of a fixed set */
    ENVCHECK_TYPE_URL,        /* scheme://[user[:password]@]host[:port][/path...] */
    ENVCHECK_TYPE_EMAIL,      /* local@domain.tld */
    ENVCHECK_TYPE_HOST,       /* host name, IPv4 or IPv6 address */
    ENVCHECK_TYPE_PORT,       /* 1..65535 */
    ENVCHECK_TYPE_DURATION,   /* systemd time span: "2min 200ms", bare number = seconds */
    ENVCHECK_TYPE_PATH,       /* a file system path; optionally must exist */
    ENVCHECK_TYPE_LIST,       /* separated elements of element_type */
    ENVCHECK_TYPE_API_KEY,    /* non-empty token; always sensitive */
} envcheck_type;

/* The type's name as the JSON schema spells it ("int", "api_key", ...);
 * static; "unknown" for values outside the enum. */
ENVCHECK_API const char *envcheck_type_name(envcheck_type type);

/* ---------------------------------------------------------------- schema */

/* A schema of configuration variables and rules. Opaque. Built by one
 * thread, then read-only (see the thread-safety paragraph above). */
typedef struct envcheck_schema envcheck_schema;

/*
 * Create an empty schema. On success *out is a new schema that the caller
 * owns and frees with envcheck_schema_free(). Returns ENVCHECK_OK or
 * ENVCHECK_ENOMEM; on failure *out is NULL.
 */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1) int envcheck_schema_new(envcheck_schema **out);

/* Free a schema (wiping any sensitive default). NULL is a harmless no-op.
 * Every result validated against it must be freed first. */
ENVCHECK_API void envcheck_schema_free(envcheck_schema *s);

/*
 * Text describing the last failure of a function on this schema ("" when
 * there was none). Borrowed: valid until the next call that changes the
 * schema or frees it. Never contains a sensitive value.
 */
ENVCHECK_API ENVCHECK_NONNULL(1) const char *envcheck_schema_errmsg(const envcheck_schema *s);

/* Options of one variable. Initialise with ENVCHECK_VAR_OPTIONS_INIT (an
 * optional string with no constraint), then change fields. Fields that a
 * type does not use are ignored. Every string and array is copied. */
typedef struct envcheck_var_options {
    unsigned version;          /* ENVCHECK_VAR_OPTIONS_VERSION */
    envcheck_type type;        /* default ENVCHECK_TYPE_STRING */
    int required;              /* 1: a missing or blank value is a finding; default 0 */
    const char *default_value; /* used when unset; validated like a value (a bad default is
                                  ENVCHECK_ESCHEMA); NULL: none. Not allowed with required */
    int sensitive;             /* 1: the value is never shown; default 0 (api_key: always) */
    const char *description;   /* for the usage table; NULL: none */
    const char *example;       /* for the usage table (never shown when sensitive) */
    int allow_empty;           /* string: a blank value is a value, not missing; default 0 */
    int allow_file;            /* 1: when NAME is unset, read the value from the file that
                                  NAME_FILE names (one trailing newline removed); default 0 */
    int has_min;               /* 1: min applies */
    int64_t min;               /* int, port: smallest value; duration: in nanoseconds */
    int has_max;               /* 1: max applies */
    int64_t max;               /* int, port: largest value; duration: in nanoseconds */
    double min_float;          /* float: smallest value, when has_min */
    double max_float;          /* float: largest value, when has_max */
    size_t min_length;         /* string, api_key: fewest UTF-8 code points; default 0 */
    size_t max_length;         /* string, api_key: most code points; 0: no limit */
    const char *charset;       /* string, api_key: the allowed ASCII characters, as in a
                                  regex bracket without brackets ("A-Za-z0-9_-"); NULL: any */
    const char *prefix;        /* api_key: the required prefix; NULL: none */
    const char *const *values; /* enum: the allowed values (n_values of them) */
    size_t n_values;
    int case_insensitive;       /* enum: compare ignoring ASCII case; default 0 */
    const char *const *schemes; /* url: the allowed schemes, compared ignoring case
                                   (n_schemes of them); none: any scheme */
    size_t n_schemes;
    int must_exist;             /* path: 1: the path must exist (stat succeeds) */
    char separator;             /* list: between elements; 0: ',' */
    envcheck_type element_type; /* list: the type of every element (not list); the other
                                   fields above constrain each element */
} envcheck_var_options;

#define ENVCHECK_VAR_OPTIONS_VERSION 1
#define ENVCHECK_VAR_OPTIONS_INIT                                                                  \
    {                                                                                              \
        ENVCHECK_VAR_OPTIONS_VERSION, ENVCHECK_TYPE_STRING, 0, NULL, 0, NULL, NULL, 0, 0, 0, 0, 0, \
            0, 0.0, 0.0, 0, 0, NULL, NULL, NULL, 0, 0, NULL, 0, 0, 0, ENVCHECK_TYPE_STRING         \
    }

/*
 * Add a variable named name ([A-Za-z_][A-Za-z0-9_]*, unique in the schema).
 * opts may be NULL for an optional string; it is copied, not kept. Returns
 * ENVCHECK_OK, ENVCHECK_EINVAL (bad name or version), ENVCHECK_ESCHEMA
 * (duplicate name, contradictory options, a default that fails validation;
 * see envcheck_schema_errmsg()) or ENVCHECK_ENOMEM. On failure the schema is
 * unchanged.
 */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2) int envcheck_schema_add(
    envcheck_schema *s, const char *name, const envcheck_var_options *opts);

/* Number of variables in the schema. */
ENVCHECK_API ENVCHECK_NONNULL(1) size_t envcheck_schema_count(const envcheck_schema *s);

/* Conditions of envcheck_schema_require_if(). */
typedef enum envcheck_condition {
    ENVCHECK_IF_SET = 0, /* the variable is set (non-blank) in the source */
    ENVCHECK_IF_TRUE,    /* its effective value (set or default) is a true bool */
    ENVCHECK_IF_FALSE,   /* its effective value is a false bool */
    ENVCHECK_IF_EQUALS,  /* its effective value equals the given text (bools compare as
                            bools, case-insensitive enums ignoring case) */
} envcheck_condition;

/*
 * Rule: when variable name meets the condition, each of the n variables in
 * required must have a value (set or default). value is used by
 * ENVCHECK_IF_EQUALS only. Names may be variables the schema does not
 * declare; they are then read from the source as untyped text. Everything is
 * copied. Returns ENVCHECK_OK, ENVCHECK_EINVAL or ENVCHECK_ENOMEM.
 */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2) int envcheck_schema_require_if(
    envcheck_schema *s, const char *name, envcheck_condition cond, const char *value,
    const char *const *required, size_t n);

/* Kinds of envcheck_schema_group_rule(). */
typedef enum envcheck_group_rule {
    ENVCHECK_ALL_OR_NONE = 0, /* all have a value, or none has */
    ENVCHECK_AT_MOST_ONE,     /* no two have a value */
    ENVCHECK_AT_LEAST_ONE,    /* one or more have a value */
} envcheck_group_rule;

/*
 * Rule over a group of n >= 2 variables (names copied; undeclared names are
 * read from the source). Returns ENVCHECK_OK, ENVCHECK_EINVAL or
 * ENVCHECK_ENOMEM.
 */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 3) int envcheck_schema_group_rule(
    envcheck_schema *s, envcheck_group_rule kind, const char *const *names, size_t n);

/*
 * Rule: a < b (or a <= b when or_equal) for two numbers or two durations.
 * Declared variables must be of type int, port, float or duration, and both
 * durations or both numbers (else ENVCHECK_ESCHEMA); an undeclared one is
 * parsed as a number (or as a duration when the other is one). The rule is
 * skipped when either has no valid value. Returns ENVCHECK_OK,
 * ENVCHECK_EINVAL, ENVCHECK_ESCHEMA or ENVCHECK_ENOMEM.
 */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2, 3) int envcheck_schema_less_than(
    envcheck_schema *s, const char *a, const char *b, int or_equal);

typedef struct envcheck_result envcheck_result;

/*
 * A custom rule: called once per validation, after every variable has been
 * parsed, with the result so far (use the getters; r is borrowed for the
 * call only). Return 0 when the rule holds; otherwise write a message into
 * msg (size bytes, NUL-terminated) and return non-zero. A sensitive value
 * that the message quotes anyway is replaced by the mask.
 */
typedef int (*envcheck_rule_fn)(const envcheck_result *r, char *msg, size_t size, void *userdata);

/*
 * Add a custom rule; its findings are attached to the name given (a
 * variable or any label). name is copied; fn and userdata are kept and must
 * stay valid while the schema is used. Returns ENVCHECK_OK, ENVCHECK_EINVAL
 * or ENVCHECK_ENOMEM.
 */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2, 3) int envcheck_schema_custom_rule(
    envcheck_schema *s, const char *name, envcheck_rule_fn fn, void *userdata);

/*
 * Add the variables and rules of a JSON schema document (len bytes at json;
 * it need not be NUL-terminated). The format is documented in
 * docs/envcheck.md. Returns ENVCHECK_OK, ENVCHECK_ESCHEMA (with the reason
 * and the variable in envcheck_schema_errmsg()) or ENVCHECK_ENOMEM; on
 * failure the schema is unchanged.
 */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2) int envcheck_schema_load_json(
    envcheck_schema *s, const char *json, size_t len);

/* As envcheck_schema_load_json() on the contents of the file at path;
 * ENVCHECK_EIO when it cannot be read. */
ENVCHECK_API ENVCHECK_NODISCARD
    ENVCHECK_NONNULL(1, 2) int envcheck_schema_load_file(envcheck_schema *s, const char *path);

/* ---------------------------------------------------------------- source */

/*
 * A source of NAME=VALUE pairs in layers: each layer added overrides the
 * layers added before it (so add env files first and the environment last
 * for "the real environment wins"). Values are copied and wiped when the
 * source is freed. Opaque; built by one thread, then read-only.
 */
typedef struct envcheck_source envcheck_source;

/* Create an empty source. The caller owns *out; free with
 * envcheck_source_free(). Returns ENVCHECK_OK or ENVCHECK_ENOMEM. */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1) int envcheck_source_new(envcheck_source **out);

/* Free a source, wiping every value. NULL is a harmless no-op. Every result
 * validated against it may outlive it. */
ENVCHECK_API void envcheck_source_free(envcheck_source *src);

/* Text of the last failure on this source ("" when none). Borrowed: valid
 * until the next call that changes or frees the source. */
ENVCHECK_API ENVCHECK_NONNULL(1) const char *envcheck_source_errmsg(const envcheck_source *src);

/* Add a snapshot of the process environment as a layer. Returns ENVCHECK_OK
 * or ENVCHECK_ENOMEM. */
ENVCHECK_API
ENVCHECK_NODISCARD ENVCHECK_NONNULL(1) int envcheck_source_add_environ(envcheck_source *src);

/*
 * Add n "NAME=VALUE" strings as a layer (later entries override earlier
 * ones). Returns ENVCHECK_OK, ENVCHECK_EINVAL (an entry without '=' or with
 * an invalid name; nothing added) or ENVCHECK_ENOMEM.
 */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1) int envcheck_source_add_array(
    envcheck_source *src, const char *const *pairs, size_t n);

/*
 * Parse an env file by systemd's EnvironmentFile= rules (docs/envcheck.md)
 * and add it as a layer. Lint findings (duplicate key, key without '=',
 * lowercase key, invalid name, invalid value) and errors (a quote left open,
 * which ends at the end of its line) carry path:line and appear in every
 * result validated against this source. Returns ENVCHECK_OK, ENVCHECK_EIO
 * (unreadable; see errmsg) or ENVCHECK_ENOMEM. The same as
 * envcheck_source_add_file_dialect(src, path, ENVCHECK_DIALECT_SYSTEMD).
 */
ENVCHECK_API ENVCHECK_NODISCARD
    ENVCHECK_NONNULL(1, 2) int envcheck_source_add_file(envcheck_source *src, const char *path);

/* As envcheck_source_add_file() on len bytes of text at data; label names
 * it in findings (copied). Returns ENVCHECK_OK or ENVCHECK_ENOMEM. */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2) int envcheck_source_add_buffer(
    envcheck_source *src, const char *label, const char *data, size_t len);

/* The env-file dialects (docs/envcheck.md, "Dialects"). */
typedef enum envcheck_dialect {
    ENVCHECK_DIALECT_SYSTEMD = 0, /* systemd EnvironmentFile= */
    ENVCHECK_DIALECT_DOTENV,      /* python-dotenv (dotenv_values, with interpolation) */
    ENVCHECK_DIALECT_COMPOSE,     /* Docker Compose env_file and .env (compose-go) */
} envcheck_dialect;

/* The static name of a dialect ("systemd", "dotenv", "compose"), or
 * "unknown". */
ENVCHECK_API const char *envcheck_dialect_name(envcheck_dialect dialect);

/* The dialect named name into *out. Returns ENVCHECK_OK or ENVCHECK_EINVAL
 * (another name; *out unchanged). */
ENVCHECK_API ENVCHECK_NODISCARD
    ENVCHECK_NONNULL(1, 2) int envcheck_dialect_parse(const char *name, envcheck_dialect *out);

/*
 * As envcheck_source_add_file(), read by the rules of dialect. Besides that
 * dialect's findings, a lint finding (ENVCHECK_CODE_DIALECT) marks every
 * variable that another dialect would set to another value or not at all.
 * ${NAME} in the dotenv and compose dialects expands from the file's earlier
 * values, then the process environment (getenv()). Returns ENVCHECK_OK,
 * ENVCHECK_EINVAL (unknown dialect), ENVCHECK_EIO or ENVCHECK_ENOMEM.
 */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2) int envcheck_source_add_file_dialect(
    envcheck_source *src, const char *path, envcheck_dialect dialect);

/* As envcheck_source_add_buffer(), read by the rules of dialect, with the
 * lint of envcheck_source_add_file_dialect(). Returns ENVCHECK_OK,
 * ENVCHECK_EINVAL or ENVCHECK_ENOMEM. */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2) int envcheck_source_add_buffer_dialect(
    envcheck_source *src, const char *label, const char *data, size_t len,
    envcheck_dialect dialect);

/* Look a name up: *value is borrowed, valid until the source is freed.
 * Returns ENVCHECK_OK or ENVCHECK_ENOENT. */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2, 3) int envcheck_source_get(
    const envcheck_source *src, const char *name, const char **value);

/* ------------------------------------------------------------ validation */

/* Findings are grouped, and sorted by group, then name, then file and line. */
typedef enum envcheck_group {
    ENVCHECK_GROUP_MISSING = 0, /* required and unset or blank */
    ENVCHECK_GROUP_INVALID,     /* a value that fails its type or constraints */
    ENVCHECK_GROUP_RULES,       /* a cross-variable rule that does not hold */
    ENVCHECK_GROUP_LINT,        /* env-file warnings: they do not make a result invalid */
} envcheck_group;

typedef enum envcheck_code {
    ENVCHECK_CODE_MISSING = 0,   /* required, not set */
    ENVCHECK_CODE_EMPTY,         /* required, set but blank */
    ENVCHECK_CODE_PARSE,         /* not of the variable's type */
    ENVCHECK_CODE_RANGE,         /* outside min/max, or not finite */
    ENVCHECK_CODE_LENGTH,        /* too short or too long */
    ENVCHECK_CODE_CHARSET,       /* a character outside the allowed class */
    ENVCHECK_CODE_PREFIX,        /* api_key without its prefix */
    ENVCHECK_CODE_ENUM,          /* not one of the allowed values */
    ENVCHECK_CODE_URL,           /* not a URL with scheme and host */
    ENVCHECK_CODE_SCHEME,        /* a URL scheme that is not allowed */
    ENVCHECK_CODE_PATH,          /* the path does not exist */
    ENVCHECK_CODE_FILE,          /* NAME_FILE cannot be read */
    ENVCHECK_CODE_CONFLICT,      /* both NAME and NAME_FILE are set */
    ENVCHECK_CODE_RULE,          /* a rule does not hold */
    ENVCHECK_CODE_DUPLICATE_KEY, /* lint: a key assigned twice in one file */
    ENVCHECK_CODE_NO_EQUALS,     /* lint: a line without '=' (ignored) */
    ENVCHECK_CODE_LOWERCASE_KEY, /* lint: a key with lowercase letters */
    ENVCHECK_CODE_INVALID_NAME,  /* lint: not [A-Za-z_][A-Za-z0-9_]* (ignored) */
    ENVCHECK_CODE_INVALID_VALUE, /* lint: control characters or bad UTF-8 (ignored) */
    ENVCHECK_CODE_UNTERMINATED,  /* error: a quote left open; the value ends with its line */
    ENVCHECK_CODE_DIALECT,       /* lint: another dialect reads the assignment differently */
    ENVCHECK_CODE_SYNTAX,        /* error: a statement the dialect cannot parse (ignored) */
} envcheck_code;

/* Static names of groups ("missing", "invalid", "rules", "lint") and codes
 * ("missing", "duplicate_key", ...); "unknown" outside the enums. */
ENVCHECK_API const char *envcheck_group_name(envcheck_group group);
ENVCHECK_API const char *envcheck_code_name(envcheck_code code);

/* One finding. Every pointer is borrowed from the result and valid until it
 * is freed. The message never contains a sensitive value. */
typedef struct envcheck_finding {
    envcheck_group group;
    envcheck_code code;
    const char *name;    /* the variable ("" for a lint finding without a usable name) */
    const char *message; /* what is wrong, without the name */
    const char *file;    /* the env file or NAME_FILE path; NULL when none */
    unsigned line;       /* the line in file; 0 when none */
} envcheck_finding;

/*
 * Validate src (NULL: the process environment, read with getenv()) against
 * the schema, collecting every finding. On success *out is a new result that
 * the caller owns and frees with envcheck_result_free(); it borrows the
 * schema, which must stay alive and unchanged until then. An invalid
 * configuration still returns ENVCHECK_OK: see envcheck_result_valid().
 * Returns ENVCHECK_OK or ENVCHECK_ENOMEM; on failure *out is NULL.
 */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2) int envcheck_validate(
    envcheck_result **out, const envcheck_schema *s, const envcheck_source *src);

/* Free a result, wiping every value it holds. NULL is a harmless no-op. */
ENVCHECK_API void envcheck_result_free(envcheck_result *r);

/* 1 when the result has no finding outside the lint group, else 0. */
ENVCHECK_API ENVCHECK_NONNULL(1) int envcheck_result_valid(const envcheck_result *r);

/* Number of findings, in all groups or in one. */
ENVCHECK_API ENVCHECK_NONNULL(1) size_t envcheck_result_count(const envcheck_result *r);
ENVCHECK_API ENVCHECK_NONNULL(1) size_t
    envcheck_result_count_group(const envcheck_result *r, envcheck_group group);

/* Finding i (0 <= i < count) in sorted order; borrowed, valid until the
 * result is freed; NULL when i is out of range. */
ENVCHECK_API
ENVCHECK_NONNULL(1)
const envcheck_finding *envcheck_result_finding(const envcheck_result *r, size_t i);

/* --------------------------------------------------------------- getters */

/*
 * Typed getters. Each returns ENVCHECK_OK, ENVCHECK_ENOENT (the schema has
 * no such variable), ENVCHECK_ETYPE (the variable is of another type) or
 * ENVCHECK_ENOVALUE (unset without default, or invalid); *out is written on
 * ENVCHECK_OK only. Strings are borrowed, valid until the result is freed,
 * and are the real values, also for sensitive variables: handle them with
 * care.
 */
/* Any type: the effective text (an enum's canonical spelling). */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2, 3) int envcheck_get_string(
    const envcheck_result *r, const char *name, const char **out);
/* int, port. */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2,
                                                 3) int envcheck_get_int(const envcheck_result *r,
                                                                         const char *name,
                                                                         int64_t *out);
/* float, int, port. */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2,
                                                 3) int envcheck_get_float(const envcheck_result *r,
                                                                           const char *name,
                                                                           double *out);
/* bool: 1 or 0. */
ENVCHECK_API
ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2, 3) int envcheck_get_bool(const envcheck_result *r,
                                                                   const char *name, int *out);
/* duration, in nanoseconds. */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2, 3) int envcheck_get_duration(
    const envcheck_result *r, const char *name, int64_t *out);
/* enum: the index of the value among the schema's values. */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2,
                                                 3) int envcheck_get_enum(const envcheck_result *r,
                                                                          const char *name,
                                                                          size_t *out);
/* list: the number of elements. */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2, 3) int envcheck_get_list_count(
    const envcheck_result *r, const char *name, size_t *out);
/* list: element i as text (ENVCHECK_EINVAL when i is out of range). */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2, 4) int envcheck_get_list_string(
    const envcheck_result *r, const char *name, size_t i, const char **out);
/* list of int or port: element i (ENVCHECK_EINVAL when out of range). */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 2, 4) int envcheck_get_list_int(
    const envcheck_result *r, const char *name, size_t i, int64_t *out);

/* ---------------------------------------------------------------- output */

/* Receives output text in pieces (not NUL-terminated), synchronously, on the
 * calling thread. data is borrowed for the call only. Return 0 to go on,
 * non-zero to stop (the writer then returns ENVCHECK_EIO). */
typedef int (*envcheck_write_fn)(const char *data, size_t len, void *userdata);

typedef enum envcheck_format {
    ENVCHECK_FORMAT_TEXT = 0, /* aligned, for people */
    ENVCHECK_FORMAT_JSON,     /* one JSON document, no trailing newline */
} envcheck_format;

/*
 * The report of a result: every finding, grouped (missing, invalid, rules,
 * lint), names first. Returns ENVCHECK_OK, ENVCHECK_EINVAL (bad format),
 * ENVCHECK_ENOMEM or ENVCHECK_EIO (the writer stopped).
 */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 3) int envcheck_result_write_report(
    const envcheck_result *r, envcheck_format format, envcheck_write_fn fn, void *userdata);

/*
 * The effective configuration: every schema variable with its shown value
 * (sensitive ones masked, URL passwords masked) and where it came from.
 * Returns as envcheck_result_write_report().
 */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 3) int envcheck_result_write_dump(
    const envcheck_result *r, envcheck_format format, envcheck_write_fn fn, void *userdata);

/*
 * The usage table: NAME TYPE DEFAULT REQUIRED DESCRIPTION (sensitive
 * defaults masked). Returns as envcheck_result_write_report().
 */
ENVCHECK_API ENVCHECK_NODISCARD ENVCHECK_NONNULL(1, 3) int envcheck_schema_write_usage(
    const envcheck_schema *s, envcheck_format format, envcheck_write_fn fn, void *userdata);

#ifdef __cplusplus
}
#endif

#endif /* ENVCHECK_ENVCHECK_H */
