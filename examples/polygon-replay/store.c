#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "candle_csv.h"
#include "store.h"

static series *find_or_add(store *s, const char *symbol)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->series[i].symbol, symbol) == 0)
            return &s->series[i];
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        series *p = realloc(s->series, cap * sizeof *p);
        if (!p)
            return NULL;
        s->series = p;
        s->cap = cap;
    }
    series *se = &s->series[s->count++];
    memset(se, 0, sizeof *se);
    snprintf(se->symbol, sizeof se->symbol, "%s", symbol);
    return se;
}

static int push(series *se, const csv_candle *c)
{
    if (se->count == se->cap) {
        size_t cap = se->cap ? se->cap * 2 : 1024;
        bar *p = realloc(se->bars, cap * sizeof *p);
        if (!p)
            return -1;
        se->bars = p;
        se->cap = cap;
    }
    se->bars[se->count++] = (bar){ .t = c->ts_ms,
                                   .o = c->open,
                                   .h = c->high,
                                   .l = c->low,
                                   .c = c->close,
                                   .v = c->volume,
                                   .vw = c->vwap,
                                   .n = c->trades };
    return 0;
}

static void symbol_from_file(const char *name, char *out, size_t size)
{
    size_t i = 0;
    for (; name[i] && name[i] != '-' && name[i] != '_' && name[i] != '.' && i + 1 < size; i++)
        out[i] = (char)toupper((unsigned char)name[i]);
    out[i] = '\0';
}

static int load_file(store *s, const char *dir, const char *name, char *err, size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    csv_reader *r;
    if (csv_reader_open(&r, path, err, errlen) != 0)
        return -1;
    char file_symbol[32];
    symbol_from_file(name, file_symbol, sizeof file_symbol);
    series *last = NULL;
    csv_candle c;
    int rc;
    while ((rc = csv_reader_next(r, &c, err, errlen)) != 0) {
        if (rc < 0) {
            /* The replay serves what it was given: a bad row is an error. */
            csv_reader_free(r);
            return -1;
        }
        const char *sym = c.symbol[0] ? c.symbol : file_symbol;
        if (!last || strcmp(last->symbol, sym) != 0)
            last = find_or_add(s, sym);
        if (!last || push(last, &c) != 0) {
            snprintf(err, errlen, "%s: out of memory", path);
            csv_reader_free(r);
            return -1;
        }
    }
    csv_reader_free(r);
    return 0;
}

static int cmp_bar(const void *a, const void *b)
{
    int64_t x = ((const bar *)a)->t, y = ((const bar *)b)->t;
    return (x > y) - (x < y);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int store_load_dir(store *s, const char *dir, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: cannot open directory", dir);
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".csv") != 0 || e->d_name[0] == '.')
            continue;
        char **p = realloc(names, (n + 1) * sizeof *names);
        if (!p || !(p[n] = strdup(e->d_name))) {
            names = p ? p : names;
            rc = -1;
            snprintf(err, errlen, "out of memory");
            break;
        }
        names = p;
        n++;
    }
    closedir(d);
    if (rc == 0)
        qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = load_file(s, dir, names[i], err, errlen);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc != 0) {
        store_free(s);
        return -1;
    }
    for (size_t i = 0; i < s->count; i++) {
        series *se = &s->series[i];
        qsort(se->bars, se->count, sizeof *se->bars, cmp_bar);
        size_t out = 0;
        for (size_t k = 0; k < se->count; k++) /* keep the first of equal times */
            if (out == 0 || se->bars[k].t != se->bars[out - 1].t)
                se->bars[out++] = se->bars[k];
        se->count = out;
        s->total_bars += out;
    }
    return 0;
}

const series *store_find(const store *s, const char *symbol)
{
    for (size_t i = 0; i < s->count; i++)
        if (strcmp(s->series[i].symbol, symbol) == 0)
            return &s->series[i];
    return NULL;
}

size_t series_lower_bound(const series *se, int64_t ms)
{
    size_t lo = 0, hi = se->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (se->bars[mid].t < ms)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void store_free(store *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->series[i].bars);
    free(s->series);
    memset(s, 0, sizeof *s);
}
