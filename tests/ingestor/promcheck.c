/* A validating parser of the Prometheus text format 0.0.4 (promcheck.h). */
#include "promcheck.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum ftype { T_NONE, T_COUNTER, T_GAUGE, T_HISTOGRAM, T_SUMMARY, T_UNTYPED } ftype;

typedef struct fam {
    char name[128];
    ftype type;
    bool help, typed, samples;
} fam;

typedef struct parser {
    prom_doc *d;
    fam *fams;
    size_t nfams, capfams;
    long cur; /* index of the family of the last line, -1 before any */
    int line;
} parser;

__attribute__((format(printf, 2, 3))) static int fail(parser *p, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(p->d->err, sizeof p->d->err, "line %d: %s", p->line, msg);
    return -1;
}

static bool name_start(char c)
{
    return isalpha((unsigned char)c) || c == '_' || c == ':';
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == ':';
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Metric name at *s into out; advances *s. */
static bool metric_name(const char **s, char *out, size_t size)
{
    const char *q = *s;
    if (!name_start(*q))
        return false;
    size_t n = 0;
    while (name_char(*q)) {
        if (n + 1 >= size)
            return false;
        out[n++] = *q++;
    }
    out[n] = '\0';
    *s = q;
    return true;
}

/* A float as Go's ParseFloat reads the format's values: decimal with an
 * optional exponent, NaN, +Inf, -Inf, Inf. The whole token must match. */
static bool parse_float(const char *tok, double *out)
{
    if (!strcmp(tok, "NaN")) {
        *out = NAN;
        return true;
    }
    if (!strcmp(tok, "+Inf") || !strcmp(tok, "Inf")) {
        *out = INFINITY;
        return true;
    }
    if (!strcmp(tok, "-Inf")) {
        *out = -INFINITY;
        return true;
    }
    const char *q = tok;
    if (*q == '+' || *q == '-')
        q++;
    int digits = 0;
    while (isdigit((unsigned char)*q))
        q++, digits++;
    if (*q == '.') {
        q++;
        while (isdigit((unsigned char)*q))
            q++, digits++;
    }
    if (!digits)
        return false;
    if (*q == 'e' || *q == 'E') {
        q++;
        if (*q == '+' || *q == '-')
            q++;
        if (!isdigit((unsigned char)*q))
            return false;
        while (isdigit((unsigned char)*q))
            q++;
    }
    if (*q)
        return false;
    *out = strtod(tok, NULL);
    return true;
}

static bool parse_int(const char *tok)
{
    const char *q = tok;
    if (*q == '-')
        q++;
    if (!isdigit((unsigned char)*q))
        return false;
    while (isdigit((unsigned char)*q))
        q++;
    return *q == '\0';
}

static fam *find_fam(parser *p, const char *name)
{
    for (size_t i = 0; i < p->nfams; i++)
        if (!strcmp(p->fams[i].name, name))
            return &p->fams[i];
    return NULL;
}

static fam *add_fam(parser *p, const char *name)
{
    if (p->nfams == p->capfams) {
        size_t cap = p->capfams ? p->capfams * 2 : 16;
        fam *f = realloc(p->fams, cap * sizeof *f);
        if (!f)
            return NULL;
        p->fams = f;
        p->capfams = cap;
    }
    fam *f = &p->fams[p->nfams++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    return f;
}

/* Lines of one family must be contiguous. */
static int enter(parser *p, fam *f)
{
    long idx = f - p->fams;
    if (p->cur != idx && (f->help || f->typed || f->samples))
        return fail(p, "lines of family %s are not contiguous", f->name);
    p->cur = idx;
    return 0;
}

static int comment(parser *p, const char *s)
{
    /* s is after '#' */
    const char *q = s;
    if (*q != ' ' && *q != '\t')
        return 0; /* a plain comment */
    while (*q == ' ' || *q == '\t')
        q++;
    bool help = !strncmp(q, "HELP", 4) && (q[4] == ' ' || q[4] == '\t');
    bool type = !strncmp(q, "TYPE", 4) && (q[4] == ' ' || q[4] == '\t');
    if (!help && !type)
        return 0;
    q += 4;
    while (*q == ' ' || *q == '\t')
        q++;
    char name[128];
    if (!metric_name(&q, name, sizeof name))
        return fail(p, "bad metric name in %s", help ? "HELP" : "TYPE");
    if (*q && *q != ' ' && *q != '\t')
        return fail(p, "bad metric name in %s", help ? "HELP" : "TYPE");
    fam *f = find_fam(p, name);
    if (!f && !(f = add_fam(p, name)))
        return fail(p, "out of memory");
    if (enter(p, f))
        return -1;
    if (f->samples)
        return fail(p, "%s for %s after its samples", help ? "HELP" : "TYPE", name);
    if (*q)
        q++;
    if (help) {
        if (f->help)
            return fail(p, "second HELP for %s", name);
        f->help = true;
        for (; *q; q++)
            if (*q == '\\' && q[1] != '\\' && q[1] != 'n')
                return fail(p, "bad escape in HELP of %s", name);
            else if (*q == '\\')
                q++;
        return 0;
    }
    if (f->typed)
        return fail(p, "second TYPE for %s", name);
    while (*q == ' ' || *q == '\t')
        q++;
    char t[32];
    size_t n = 0;
    while (*q && *q != ' ' && *q != '\t' && n + 1 < sizeof t)
        t[n++] = *q++;
    t[n] = '\0';
    while (*q == ' ' || *q == '\t')
        q++;
    if (*q)
        return fail(p, "trailing text after TYPE of %s", name);
    if (!strcmp(t, "counter"))
        f->type = T_COUNTER;
    else if (!strcmp(t, "gauge"))
        f->type = T_GAUGE;
    else if (!strcmp(t, "histogram"))
        f->type = T_HISTOGRAM;
    else if (!strcmp(t, "summary"))
        f->type = T_SUMMARY;
    else if (!strcmp(t, "untyped"))
        f->type = T_UNTYPED;
    else
        return fail(p, "unknown type '%s' for %s", t, name);
    f->typed = true;
    if (f->type == T_COUNTER && !ends_with(name, "_total"))
        return fail(p, "counter %s does not end in _total", name);
    if (f->type != T_COUNTER && ends_with(name, "_total"))
        return fail(p, "non-counter %s ends in _total", name);
    return 0;
}

typedef struct label {
    char name[128];
    char value[512];
} label;

static int cmp_label(const void *a, const void *b)
{
    return strcmp(((const label *)a)->name, ((const label *)b)->name);
}

/* The family a sample belongs to: its own name, or a histogram's or
 * summary's with the suffix taken off. */
static fam *family_of(parser *p, const char *name, const char **suffix)
{
    *suffix = "";
    fam *f = find_fam(p, name);
    if (f && f->typed)
        return f;
    static const char *const suffixes[] = { "_bucket", "_sum", "_count" };
    for (int i = 0; i < 3; i++) {
        if (!ends_with(name, suffixes[i]))
            continue;
        char base[128];
        size_t n = strlen(name) - strlen(suffixes[i]);
        snprintf(base, sizeof base, "%.*s", (int)n, name);
        fam *g = find_fam(p, base);
        if (g && (g->type == T_HISTOGRAM || (g->type == T_SUMMARY && i > 0))) {
            *suffix = suffixes[i];
            return g;
        }
    }
    return f;
}

static int add_sample(parser *p, const char *name, const char *labels, double v)
{
    prom_doc *d = p->d;
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->samples[i].name, name) && !strcmp(d->samples[i].labels, labels))
            return fail(p, "duplicate series %s{%s}", name, labels);
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 64;
        prom_sample *s = realloc(d->samples, cap * sizeof *s);
        if (!s)
            return fail(p, "out of memory");
        d->samples = s;
        d->cap = cap;
    }
    prom_sample *s = &d->samples[d->n];
    s->name = strdup(name);
    s->labels = strdup(labels);
    s->value = v;
    if (!s->name || !s->labels) {
        free(s->name);
        free(s->labels);
        return fail(p, "out of memory");
    }
    d->n++;
    return 0;
}

static int sample(parser *p, const char *s)
{
    const char *q = s;
    char name[128];
    if (!metric_name(&q, name, sizeof name))
        return fail(p, "bad metric name");
    label labels[16];
    size_t nl = 0;
    if (*q == '{') {
        q++;
        for (;;) {
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q == '}')
                break;
            if (nl == 16)
                return fail(p, "too many labels");
            label *l = &labels[nl];
            size_t n = 0;
            if (!isalpha((unsigned char)*q) && *q != '_')
                return fail(p, "bad label name");
            while (isalnum((unsigned char)*q) || *q == '_') {
                if (n + 1 >= sizeof l->name)
                    return fail(p, "label name too long");
                l->name[n++] = *q++;
            }
            l->name[n] = '\0';
            if (!strncmp(l->name, "__", 2))
                return fail(p, "reserved label name %s", l->name);
            for (size_t i = 0; i < nl; i++)
                if (!strcmp(labels[i].name, l->name))
                    return fail(p, "label %s given twice", l->name);
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q++ != '=')
                return fail(p, "expected '=' after label %s", l->name);
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q++ != '"')
                return fail(p, "expected '\"' to open the value of %s", l->name);
            n = 0;
            for (;;) {
                if (!*q)
                    return fail(p, "unterminated value of label %s", l->name);
                if (*q == '"')
                    break;
                char c = *q++;
                if (c == '\\') {
                    c = *q++;
                    if (c == 'n')
                        c = '\n';
                    else if (c != '\\' && c != '"')
                        return fail(p, "bad escape in the value of label %s", l->name);
                }
                if (n + 1 >= sizeof l->value)
                    return fail(p, "label value too long");
                l->value[n++] = c;
            }
            l->value[n] = '\0';
            q++; /* the closing quote */
            nl++;
            while (*q == ' ' || *q == '\t')
                q++;
            if (*q == ',') {
                q++;
                continue;
            }
            if (*q != '}')
                return fail(p, "expected ',' or '}' after label %s", l->name);
            break;
        }
        q++; /* '}' */
    }
    if (*q != ' ' && *q != '\t')
        return fail(p, "expected a blank before the value of %s", name);
    while (*q == ' ' || *q == '\t')
        q++;
    char tok[64], ts[64];
    size_t n = 0;
    while (*q && *q != ' ' && *q != '\t') {
        if (n + 1 >= sizeof tok)
            return fail(p, "value too long");
        tok[n++] = *q++;
    }
    tok[n] = '\0';
    double v;
    if (!parse_float(tok, &v))
        return fail(p, "bad value '%s' of %s", tok, name);
    while (*q == ' ' || *q == '\t')
        q++;
    if (*q) {
        n = 0;
        while (*q && *q != ' ' && *q != '\t') {
            if (n + 1 >= sizeof ts)
                return fail(p, "timestamp too long");
            ts[n++] = *q++;
        }
        ts[n] = '\0';
        if (!parse_int(ts))
            return fail(p, "bad timestamp '%s' of %s", ts, name);
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q)
            return fail(p, "trailing text after the sample %s", name);
    }

    const char *suffix;
    fam *f = family_of(p, name, &suffix);
    if (!f || !f->typed)
        return fail(p, "sample %s before (or without) its TYPE", name);
    if (!f->help)
        return fail(p, "sample %s before (or without) its HELP", name);
    if (enter(p, f))
        return -1;
    f->samples = true;
    bool has_le = false;
    for (size_t i = 0; i < nl; i++)
        has_le |= !strcmp(labels[i].name, "le");
    if (f->type == T_HISTOGRAM) {
        if (!*suffix)
            return fail(p, "histogram sample %s without _bucket, _sum or _count", name);
        if ((strcmp(suffix, "_bucket") == 0) != has_le)
            return fail(p, "%s: le belongs on _bucket samples and only there", name);
        if (!strcmp(suffix, "_bucket") || !strcmp(suffix, "_count"))
            if (!(v >= 0) || v != floor(v) || isinf(v))
                return fail(p, "%s: count %s is not a non-negative integer", name, tok);
    }
    if (f->type == T_COUNTER && !(v >= 0))
        return fail(p, "counter %s has value %s", name, tok);

    qsort(labels, nl, sizeof labels[0], cmp_label);
    char canon[2048] = "";
    size_t o = 0;
    for (size_t i = 0; i < nl && o < sizeof canon; i++)
        o += (size_t)snprintf(canon + o, sizeof canon - o, "%s%s=%s", i ? "," : "", labels[i].name,
                              labels[i].value);
    if (o >= sizeof canon)
        return fail(p, "labels too long");
    return add_sample(p, name, canon, v);
}

/* The canonical labels of s without its le pair, into out. */
static void without_le(const char *labels, char *out, size_t size)
{
    out[0] = '\0';
    size_t o = 0;
    const char *q = labels;
    while (*q) {
        const char *end = strchr(q, ',');
        size_t n = end ? (size_t)(end - q) : strlen(q);
        if (strncmp(q, "le=", 3) != 0 && o < size)
            o += (size_t)snprintf(out + o, size - o, "%s%.*s", o ? "," : "", (int)n, q);
        q += n;
        if (*q == ',')
            q++;
    }
}

static const char *le_of(const char *labels)
{
    const char *q = strstr(labels, "le=");
    while (q && q != labels && q[-1] != ',')
        q = strstr(q + 1, "le=");
    return q ? q + 3 : NULL;
}

/* Histogram rules, once every line is in. */
static int histograms(parser *p)
{
    prom_doc *d = p->d;
    p->line = 0;
    for (size_t fi = 0; fi < p->nfams; fi++) {
        fam *f = &p->fams[fi];
        if (f->type != T_HISTOGRAM)
            continue;
        char bucket[160], sum[160], count[160];
        snprintf(bucket, sizeof bucket, "%s_bucket", f->name);
        snprintf(sum, sizeof sum, "%s_sum", f->name);
        snprintf(count, sizeof count, "%s_count", f->name);
        /* every label set of _count: its buckets, in order */
        size_t groups = 0;
        for (size_t i = 0; i < d->n; i++) {
            if (strcmp(d->samples[i].name, count) != 0)
                continue;
            groups++;
            const char *set = d->samples[i].labels;
            double prev_le = -INFINITY, prev = 0, inf = -1;
            size_t nb = 0;
            for (size_t j = 0; j < d->n; j++) {
                if (strcmp(d->samples[j].name, bucket) != 0)
                    continue;
                char rest[2048];
                without_le(d->samples[j].labels, rest, sizeof rest);
                if (strcmp(rest, set) != 0)
                    continue;
                char letok[64];
                const char *le = le_of(d->samples[j].labels);
                size_t n = le ? strcspn(le, ",") : 0;
                snprintf(letok, sizeof letok, "%.*s", (int)n, le ? le : "");
                double lev;
                if (!parse_float(letok, &lev) || isnan(lev))
                    return fail(p, "%s{%s}: le \"%s\" is not a number", bucket, set, letok);
                if (!(lev > prev_le))
                    return fail(p, "%s{%s}: le %s not above the previous bound", bucket, set,
                                letok);
                if (d->samples[j].value < prev)
                    return fail(p, "%s{%s}: bucket le=%s count %g below the previous %g", bucket,
                                set, letok, d->samples[j].value, prev);
                prev_le = lev;
                prev = d->samples[j].value;
                if (isinf(lev))
                    inf = d->samples[j].value;
                nb++;
            }
            if (nb == 0 || inf < 0)
                return fail(p, "%s{%s}: no le=\"+Inf\" bucket", f->name, set);
            if (!isinf(prev_le))
                return fail(p, "%s{%s}: a bucket after le=\"+Inf\"", f->name, set);
            if (inf != d->samples[i].value)
                return fail(p, "%s{%s}: +Inf bucket %g differs from _count %g", f->name, set, inf,
                            d->samples[i].value);
            double sv;
            if (!prom_get(d, sum, set, &sv))
                return fail(p, "%s{%s}: no _sum", f->name, set);
        }
        /* buckets and sums without a _count */
        for (size_t i = 0; i < d->n; i++) {
            char rest[2048];
            if (!strcmp(d->samples[i].name, bucket))
                without_le(d->samples[i].labels, rest, sizeof rest);
            else if (!strcmp(d->samples[i].name, sum))
                snprintf(rest, sizeof rest, "%s", d->samples[i].labels);
            else
                continue;
            double cv;
            if (!prom_get(d, count, rest, &cv))
                return fail(p, "%s{%s}: no _count", f->name, rest);
        }
        if (f->samples && groups == 0)
            return fail(p, "histogram %s has no _count", f->name);
    }
    return 0;
}

int prom_parse(prom_doc *d, const char *text, size_t len)
{
    memset(d, 0, sizeof *d);
    parser p = { d, NULL, 0, 0, -1, 0 };
    int rc = 0;
    if (len > 0 && text[len - 1] != '\n') {
        p.line = 0;
        rc = fail(&p, "the text does not end with a newline");
    }
    size_t at = 0;
    while (rc == 0 && at < len) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        p.line++;
        char *line = malloc(n + 1);
        if (!line) {
            rc = fail(&p, "out of memory");
            break;
        }
        memcpy(line, text + at, n);
        line[n] = '\0';
        if (strlen(line) != n)
            rc = fail(&p, "NUL byte in the line");
        else if (n == 0)
            rc = 0; /* empty lines are ignored */
        else if (line[0] == '#')
            rc = comment(&p, line + 1);
        else
            rc = sample(&p, line);
        free(line);
        at += n + 1;
    }
    if (rc == 0)
        rc = histograms(&p);
    /* A family with HELP and TYPE but no samples is valid (no jobs yet). */
    free(p.fams);
    return rc;
}

int prom_get(const prom_doc *d, const char *name, const char *labels, double *v)
{
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->samples[i].name, name) && !strcmp(d->samples[i].labels, labels)) {
            *v = d->samples[i].value;
            return 1;
        }
    return 0;
}

size_t prom_count(const prom_doc *d, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++)
        n += !strcmp(d->samples[i].name, name);
    return n;
}

void prom_free(prom_doc *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->samples[i].name);
        free(d->samples[i].labels);
    }
    free(d->samples);
    d->samples = NULL;
    d->n = d->cap = 0;
}
