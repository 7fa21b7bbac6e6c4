/* Parsing and checking one value of each type. Failure reasons never
 * contain the value: callers add it (or the mask) in front. */
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int envcheck__parse_int(const char *s, int64_t *out)
{
    int neg = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!is_digit(*s))
        return -1;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    int overflow = 0;
    for (; *s; s++) {
        if (!is_digit(*s))
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (limit - d) / 10)
            overflow = 1;
        else
            v = v * 10 + d;
    }
    if (overflow)
        return -2;
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1u ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return 0;
}

int envcheck__parse_float(const char *s, double *out)
{
    /* [+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)? */
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    size_t int_digits = 0, frac_digits = 0;
    while (is_digit(*p)) {
        p++;
        int_digits++;
    }
    if (*p == '.') {
        p++;
        while (is_digit(*p)) {
            p++;
            frac_digits++;
        }
    }
    if (int_digits + frac_digits == 0)
        return -1;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!is_digit(*p))
            return -1;
        while (is_digit(*p))
            p++;
    }
    if (*p)
        return -1;
    char *end = NULL;
    double d = strtod(s, &end);
    if (!end || *end) /* a locale with another decimal point */
        return -1;
    if (!isfinite(d))
        return -2;
    *out = d;
    return 0;
}

int envcheck__parse_bool(const char *s, int *out)
{
    static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
    static const char *const no[] = { "0", "no", "n", "false", "f", "off" };
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
        if (envcheck__ascii_casecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (envcheck__ascii_casecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* ---- durations (systemd.time(7)) */

#define NS_US  INT64_C(1000)
#define NS_MS  INT64_C(1000000)
#define NS_S   INT64_C(1000000000)
#define NS_MIN (60 * NS_S)
#define NS_H   (3600 * NS_S)
#define NS_D   (86400 * NS_S)
#define NS_W   (7 * NS_D)
#define NS_MON (2629800 * NS_S)
#define NS_Y   (31557600 * NS_S)

static const struct {
    const char *name;
    int64_t ns;
} units[] = {
    { "ns", 1 },           { "nsec", 1 },          { "us", NS_US },
    { "usec", NS_US },     { "\xc2\xb5s", NS_US }, { "\xce\xbcs", NS_US },
    { "ms", NS_MS },       { "msec", NS_MS },      { "s", NS_S },
    { "sec", NS_S },       { "second", NS_S },     { "seconds", NS_S },
    { "m", NS_MIN },       { "min", NS_MIN },      { "minute", NS_MIN },
    { "minutes", NS_MIN }, { "h", NS_H },          { "hr", NS_H },
    { "hour", NS_H },      { "hours", NS_H },      { "d", NS_D },
    { "day", NS_D },       { "days", NS_D },       { "w", NS_W },
    { "week", NS_W },      { "weeks", NS_W },      { "M", NS_MON },
    { "month", NS_MON },   { "months", NS_MON },   { "y", NS_Y },
    { "year", NS_Y },      { "years", NS_Y },
};

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int unit_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == 0xc2 || c == 0xb5 ||
           c == 0xce || c == 0xbc;
}

int envcheck__parse_duration(const char *s, int64_t *out)
{
    int64_t total = 0;
    int components = 0;
    const char *p = s;
    while (is_space(*p))
        p++;
    while (*p) {
        if (!is_digit(*p) && !(*p == '.' && is_digit(p[1])))
            return -1;
        uint64_t whole = 0;
        int overflow = 0;
        while (is_digit(*p)) {
            if (whole > (UINT64_MAX - 9) / 10)
                overflow = 1;
            else
                whole = whole * 10 + (uint64_t)(*p - '0');
            p++;
        }
        const char *frac = NULL;
        size_t frac_len = 0;
        if (*p == '.') {
            p++;
            frac = p;
            while (is_digit(*p)) {
                p++;
                frac_len++;
            }
        }
        while (is_space(*p))
            p++;
        const char *u = p;
        while (unit_byte((unsigned char)*p))
            p++;
        int64_t mult = NS_S;
        if (p > u) {
            size_t ulen = (size_t)(p - u);
            mult = 0;
            for (size_t k = 0; k < sizeof units / sizeof *units; k++) {
                if (strlen(units[k].name) == ulen && memcmp(units[k].name, u, ulen) == 0) {
                    mult = units[k].ns;
                    break;
                }
            }
            if (!mult)
                return -1;
        }
        if (overflow || whole > (uint64_t)INT64_MAX)
            return -2;
        int64_t part;
        if (__builtin_mul_overflow((int64_t)whole, mult, &part))
            return -2;
        int64_t scale = mult;
        for (size_t k = 0; k < frac_len && scale > 0; k++) {
            scale /= 10;
            if (__builtin_add_overflow(part, (int64_t)(frac[k] - '0') * scale, &part))
                return -2;
        }
        if (__builtin_add_overflow(total, part, &total))
            return -2;
        components++;
        while (is_space(*p))
            p++;
    }
    if (!components)
        return -1;
    *out = total;
    return 0;
}

void envcheck__format_duration(int64_t ns, char *buf, size_t size)
{
    static const struct {
        const char *name;
        int64_t ns;
    } parts[] = { { "w", NS_W }, { "d", NS_D },   { "h", NS_H },   { "min", NS_MIN },
                  { "s", NS_S }, { "ms", NS_MS }, { "us", NS_US }, { "ns", 1 } };
    if (size == 0)
        return;
    buf[0] = '\0';
    if (ns <= 0) {
        snprintf(buf, size, "%s0", ns < 0 ? "-" : "");
        return;
    }
    size_t used = 0;
    for (size_t i = 0; i < sizeof parts / sizeof *parts && ns > 0; i++) {
        int64_t n = ns / parts[i].ns;
        if (!n)
            continue;
        ns -= n * parts[i].ns;
        int w = snprintf(buf + used, size - used, "%s%lld%s", used ? " " : "", (long long)n,
                         parts[i].name);
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
    }
}

/* ---- character classes */

static void set_bit(unsigned char set[32], unsigned c)
{
    set[c >> 3] = (unsigned char)(set[c >> 3] | (1u << (c & 7)));
}

static int has_bit(const unsigned char set[32], unsigned c)
{
    return (set[c >> 3] >> (c & 7)) & 1;
}

int envcheck__charset_compile(const char *spec, unsigned char set[32])
{
    memset(set, 0, 32);
    size_t n = strlen(spec);
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)spec[i];
        if (c >= 0x80 || c < 0x20)
            return -1;
        if (i + 2 < n && spec[i + 1] == '-') {
            unsigned char hi = (unsigned char)spec[i + 2];
            if (hi >= 0x80 || hi < c)
                return -1;
            for (unsigned k = c; k <= hi; k++)
                set_bit(set, k);
            i += 2;
        } else {
            set_bit(set, c);
        }
    }
    return 0;
}

/* ---- one value */

void envcheck__value_clear(envcheck__value *v)
{
    envcheck__wipe_free(v->text);
    for (size_t i = 0; i < v->n_items; i++)
        envcheck__value_clear(&v->items[i]);
    free(v->items);
    memset(v, 0, sizeof *v);
}

static int fail(envcheck__fail *f, envcheck_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(envcheck__fail *f, envcheck_code code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    f->code = code;
    vsnprintf(f->reason, sizeof f->reason, fmt, ap);
    va_end(ap);
    return -1;
}

static int check_int_range(const envcheck__var *var, int64_t v, envcheck__fail *f, int duration)
{
    const envcheck_var_options *o = &var->o;
    if ((o->has_min && v < o->min) || (o->has_max && v > o->max)) {
        char lo[64], hi[64];
        if (duration) {
            envcheck__format_duration(o->min, lo, sizeof lo);
            envcheck__format_duration(o->max, hi, sizeof hi);
        } else {
            snprintf(lo, sizeof lo, "%lld", (long long)o->min);
            snprintf(hi, sizeof hi, "%lld", (long long)o->max);
        }
        if (o->has_min && o->has_max)
            return fail(f, ENVCHECK_CODE_RANGE, "is out of range: must be between %s and %s", lo,
                        hi);
        if (o->has_min)
            return fail(f, ENVCHECK_CODE_RANGE, "is out of range: must be at least %s", lo);
        return fail(f, ENVCHECK_CODE_RANGE, "is out of range: must be at most %s", hi);
    }
    return 0;
}

static int check_text(const envcheck__var *var, const char *s, envcheck__fail *f)
{
    const envcheck_var_options *o = &var->o;
    size_t n = strlen(s);
    /* An API key is one token: a blank or a control character (CR/LF would
     * end an HTTP header line and start another) is never part of one. */
    if (o->type == ENVCHECK_TYPE_API_KEY)
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c <= ' ' || c == 0x7f)
                return fail(f, ENVCHECK_CODE_CHARSET, "contains whitespace or a control character");
        }
    if (o->prefix && strncmp(s, var->prefix, strlen(var->prefix)) != 0)
        return fail(f, ENVCHECK_CODE_PREFIX, "does not start with the prefix \"%s\"", var->prefix);
    size_t cps = envcheck__utf8_count(s, n);
    if (cps < o->min_length)
        return fail(f, ENVCHECK_CODE_LENGTH, "is too short: at least %zu characters",
                    o->min_length);
    if (o->max_length && cps > o->max_length)
        return fail(f, ENVCHECK_CODE_LENGTH, "is too long: at most %zu characters", o->max_length);
    if (var->charset_text) {
        for (size_t i = 0; i < n; i++) {
            if (!has_bit(var->charset, (unsigned char)s[i]))
                return fail(f, ENVCHECK_CODE_CHARSET, "contains a character outside [%s]",
                            var->charset_text);
        }
    }
    return 0;
}

static int parse_scalar(const envcheck__var *var, envcheck_type type, const char *s,
                        envcheck__value *v, envcheck__fail *f)
{
    const envcheck_var_options *o = &var->o;
    int rc;
    switch (type) {
    case ENVCHECK_TYPE_STRING:
    case ENVCHECK_TYPE_API_KEY:
        return check_text(var, s, f);
    case ENVCHECK_TYPE_INT:
        rc = envcheck__parse_int(s, &v->u.i);
        if (rc == -1)
            return fail(f, ENVCHECK_CODE_PARSE, "is not a base-10 integer");
        if (rc == -2)
            return fail(f, ENVCHECK_CODE_RANGE, "is out of range for a 64-bit integer");
        return check_int_range(var, v->u.i, f, 0);
    case ENVCHECK_TYPE_PORT:
        rc = envcheck__parse_int(s, &v->u.i);
        if (rc != 0 || *s == '+' || *s == '-' || v->u.i < 1 || v->u.i > 65535)
            return fail(f, ENVCHECK_CODE_PARSE, "is not a port number (1-65535)");
        return check_int_range(var, v->u.i, f, 0);
    case ENVCHECK_TYPE_FLOAT:
        rc = envcheck__parse_float(s, &v->u.f);
        if (rc == -1)
            return fail(f, ENVCHECK_CODE_PARSE, "is not a decimal number");
        if (rc == -2)
            return fail(f, ENVCHECK_CODE_RANGE, "is not a finite number");
        if ((o->has_min && v->u.f < o->min_float) || (o->has_max && v->u.f > o->max_float)) {
            if (o->has_min && o->has_max)
                return fail(f, ENVCHECK_CODE_RANGE,
                            "is out of range: must be between %.17g and %.17g", o->min_float,
                            o->max_float);
            if (o->has_min)
                return fail(f, ENVCHECK_CODE_RANGE, "is out of range: must be at least %.17g",
                            o->min_float);
            return fail(f, ENVCHECK_CODE_RANGE, "is out of range: must be at most %.17g",
                        o->max_float);
        }
        return 0;
    case ENVCHECK_TYPE_BOOL:
        if (envcheck__parse_bool(s, &v->u.b) != 0)
            return fail(f, ENVCHECK_CODE_PARSE,
                        "is not a boolean (1 yes y true t on / 0 no n false f off)");
        return 0;
    case ENVCHECK_TYPE_ENUM: {
        for (size_t i = 0; i < o->n_values; i++) {
            int eq = o->case_insensitive ? envcheck__ascii_casecmp(s, var->values[i]) == 0
                                         : strcmp(s, var->values[i]) == 0;
            if (eq) {
                v->u.e = i;
                return 0;
            }
        }
        envcheck__buf b = { NULL, 0, 0, 0 };
        for (size_t i = 0; i < o->n_values; i++) {
            if (i)
                envcheck__buf_puts(&b, ", ");
            envcheck__buf_puts(&b, var->values[i]);
        }
        char *list = envcheck__buf_take(&b);
        if (!list)
            return ENVCHECK_ENOMEM;
        fail(f, ENVCHECK_CODE_ENUM, "is not one of: %s%s", list,
             o->case_insensitive ? " (any case)" : "");
        free(list);
        return -1;
    }
    case ENVCHECK_TYPE_URL: {
        envcheck__url_parts p;
        const char *why = NULL;
        if (envcheck__url_parse(s, &p, &why) != 0)
            return fail(f, ENVCHECK_CODE_URL, "is not a valid URL: %s", why);
        if (o->n_schemes) {
            for (size_t i = 0; i < o->n_schemes; i++) {
                if (strlen(var->schemes[i]) == p.scheme_len &&
                    strncmp(s, var->schemes[i], p.scheme_len) == 0)
                    return 0;
                /* compare ignoring case */
                size_t k = 0;
                for (; k < p.scheme_len; k++) {
                    char a = s[k], b = var->schemes[i][k];
                    if (a >= 'A' && a <= 'Z')
                        a = (char)(a + 32);
                    if (b >= 'A' && b <= 'Z')
                        b = (char)(b + 32);
                    if (a != b)
                        break;
                }
                if (k == p.scheme_len && var->schemes[i][k] == '\0')
                    return 0;
            }
            envcheck__buf b = { NULL, 0, 0, 0 };
            for (size_t i = 0; i < o->n_schemes; i++) {
                if (i)
                    envcheck__buf_puts(&b, ", ");
                envcheck__buf_puts(&b, var->schemes[i]);
            }
            char *list = envcheck__buf_take(&b);
            if (!list)
                return ENVCHECK_ENOMEM;
            fail(f, ENVCHECK_CODE_SCHEME, "has a scheme that is not allowed (allowed: %s)", list);
            free(list);
            return -1;
        }
        return 0;
    }
    case ENVCHECK_TYPE_EMAIL:
        if (!envcheck__email_valid(s))
            return fail(f, ENVCHECK_CODE_PARSE, "is not an e-mail address");
        return 0;
    case ENVCHECK_TYPE_HOST:
        if (!envcheck__host_valid(s, strlen(s)))
            return fail(f, ENVCHECK_CODE_PARSE, "is not a host name or IP address");
        return 0;
    case ENVCHECK_TYPE_DURATION:
        rc = envcheck__parse_duration(s, &v->u.i);
        if (rc == -1)
            return fail(f, ENVCHECK_CODE_PARSE,
                        "is not a duration (systemd syntax such as \"2min 200ms\"; "
                        "units us ms s min h d w; a bare number is seconds)");
        if (rc == -2)
            return fail(f, ENVCHECK_CODE_RANGE, "is too long a duration");
        return check_int_range(var, v->u.i, f, 1);
    case ENVCHECK_TYPE_PATH: {
        if (o->must_exist) {
            struct stat st;
            if (stat(s, &st) != 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                    return fail(f, ENVCHECK_CODE_PATH, "does not exist");
                return fail(f, ENVCHECK_CODE_PATH, "cannot be accessed");
            }
        }
        return 0;
    }
    case ENVCHECK_TYPE_LIST:
        break;
    }
    return fail(f, ENVCHECK_CODE_PARSE, "has an unknown type");
}

static int parse_list(const envcheck__var *var, const char *s, envcheck__value *v,
                      envcheck__fail *f)
{
    char sep = var->o.separator ? var->o.separator : ',';
    size_t n = 1;
    for (const char *p = s; *p; p++)
        if (*p == sep)
            n++;
    v->items = calloc(n, sizeof *v->items);
    if (!v->items)
        return ENVCHECK_ENOMEM;
    v->n_items = n;
    const char *p = s;
    for (size_t i = 0; i < n; i++) {
        const char *end = strchr(p, sep);
        if (!end)
            end = p + strlen(p);
        const char *a = p, *b = end;
        while (a < b && (*a == ' ' || *a == '\t'))
            a++;
        while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
            b--;
        if (a == b)
            return fail(f, ENVCHECK_CODE_PARSE, "has an empty element %zu", i + 1);
        char *item = envcheck__strndup(a, (size_t)(b - a));
        if (!item)
            return ENVCHECK_ENOMEM;
        int rc = parse_scalar(var, var->o.element_type, item, &v->items[i], f);
        if (rc != 0) {
            envcheck__wipe_free(item);
            if (rc == -1) {
                char reason[sizeof f->reason];
                memcpy(reason, f->reason, sizeof reason);
                snprintf(f->reason, sizeof f->reason, "(element %zu) %.200s", i + 1, reason);
            }
            return rc;
        }
        if (var->o.element_type == ENVCHECK_TYPE_ENUM) {
            envcheck__wipe_free(item);
            item = envcheck__strdup(var->values[v->items[i].u.e]);
            if (!item)
                return ENVCHECK_ENOMEM;
        }
        v->items[i].text = item;
        p = *end ? end + 1 : end;
    }
    return 0;
}

int envcheck__parse_value(const envcheck__var *var, const char *text, envcheck__value *v,
                          envcheck__fail *f)
{
    memset(v, 0, sizeof *v);
    int rc;
    if (var->o.type == ENVCHECK_TYPE_LIST)
        rc = parse_list(var, text, v, f);
    else
        rc = parse_scalar(var, var->o.type, text, v, f);
    if (rc != 0) {
        envcheck__value_clear(v);
        return rc;
    }
    if (var->o.type == ENVCHECK_TYPE_ENUM)
        v->text = envcheck__strdup(var->values[v->u.e]);
    else
        v->text = envcheck__strdup(text);
    if (!v->text) {
        envcheck__value_clear(v);
        return ENVCHECK_ENOMEM;
    }
    return 0;
}
