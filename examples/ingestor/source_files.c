#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array_grow.h"
#include "candle_csv.h"
#include "read_file.h"
#include "source_internal.h"
#include "symbol.h"

/* Bars of the job's symbol from every file in a directory: CSV files (the
 * symbol from a symbol column, else the file name up to its first '-', '_'
 * or '.') and saved Polygon pages (*.json, the symbol from "ticker"). */
typedef struct files_source {
    source base;
    char dir[1024];
    int page_limit;
    dq_candle *bars;
    size_t count, cap, next;
    polygon_page page; /* the view handed out */
} files_source;

static int push(files_source *fs, const dq_candle *b, char *err, size_t errlen)
{
    if (array_grow(&fs->bars, &fs->cap, fs->count + 1, sizeof *fs->bars) != 0) {
        snprintf(err, errlen, "out of memory");
        return SOURCE_FAIL;
    }
    fs->bars[fs->count++] = *b;
    return 0;
}

static bool in_range(const job_spec *job, int64_t t)
{
    return t >= job->from_ms && t <= job->to_ms;
}

static int load_csv(files_source *fs, const char *path, const char *name, const job_spec *job,
                    char *err, size_t errlen)
{
    csv_reader *r;
    if (csv_reader_open(&r, path, err, errlen) != 0)
        return SOURCE_FATAL;
    char file_symbol[SYMBOL_MAX + 1];
    symbol_from_file_name(file_symbol, sizeof file_symbol, name);
    bool by_name = strcasecmp(file_symbol, job->symbol) == 0;
    if (!csv_reader_has_symbol(r) && !by_name) {
        csv_reader_free(r);
        return 0;
    }
    dq_candle c;
    int rc;
    /* A malformed row fails the job with its file and line: bars must never
     * vanish silently. */
    while ((rc = csv_reader_next(r, &c, err, errlen)) > 0) {
        const char *sym = csv_reader_symbol(r);
        if ((*sym ? strcmp(sym, job->symbol) == 0 : by_name) && in_range(job, c.ts) &&
            (rc = push(fs, &c, err, errlen)) != 0)
            break;
    }
    csv_reader_free(r);
    return rc < 0 ? SOURCE_FATAL : rc;
}

static int load_json(files_source *fs, const char *path, const job_spec *job, char *err,
                     size_t errlen)
{
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return SOURCE_FATAL;
    }
    polygon_page page = { 0 };
    char perr[256];
    int rc = polygon_page_parse(&page, text, len, perr, sizeof perr);
    free(text);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", path, perr);
        rc = SOURCE_FATAL;
    }
    for (size_t i = 0; rc == 0 && strcmp(page.ticker, job->symbol) == 0 && i < page.count; i++)
        if (in_range(job, page.bars[i].ts))
            rc = push(fs, &page.bars[i], err, errlen);
    polygon_page_free(&page);
    return rc;
}

static int cmp_bar(const void *a, const void *b)
{
    int64_t x = ((const dq_candle *)a)->ts, y = ((const dq_candle *)b)->ts;
    return (x > y) - (x < y);
}

static int files_begin(source *s, const job_spec *job, char *err, size_t errlen)
{
    files_source *fs = (files_source *)s;
    fs->count = fs->next = 0;
    if (!symbol_valid(job->symbol, strlen(job->symbol))) {
        snprintf(err, errlen, "invalid symbol: not %s", SYMBOL_RULE);
        return SOURCE_FATAL;
    }
    DIR *d = opendir(fs->dir);
    if (!d) {
        snprintf(err, errlen, "%s: cannot open the directory", fs->dir);
        return SOURCE_FATAL;
    }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        size_t n = strlen(name);
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", fs->dir, name);
        if (name[0] == '.')
            continue;
        if (n > 4 && strcasecmp(name + n - 4, ".csv") == 0)
            rc = load_csv(fs, path, name, job, err, errlen);
        else if (n > 5 && strcasecmp(name + n - 5, ".json") == 0)
            rc = load_json(fs, path, job, err, errlen);
    }
    closedir(d);
    if (rc != 0)
        return rc;
    /* mergesort semantics are not needed: equal times are duplicates, and
     * validation reports them (DUPLICATE_TS) rather than this reader
     * choosing one silently. */
    qsort(fs->bars, fs->count, sizeof *fs->bars, cmp_bar);
    return 0;
}

static int files_next(source *s, const polygon_page **page, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    files_source *fs = (files_source *)s;
    if (fs->next >= fs->count)
        return SOURCE_END;
    size_t n = fs->count - fs->next;
    if (n > (size_t)fs->page_limit)
        n = (size_t)fs->page_limit;
    fs->page.bars = fs->bars + fs->next;
    fs->page.count = n;
    fs->next += n;
    *page = &fs->page;
    return SOURCE_PAGE;
}

static void files_destroy(source *s)
{
    files_source *fs = (files_source *)s;
    free(fs->bars);
    free(fs);
}

static const source_ops files_ops = { "files", files_begin, files_next, files_destroy };

int source_files_new(source **out, const char *dir, int page_limit)
{
    *out = NULL;
    files_source *fs = calloc(1, sizeof *fs);
    if (!fs)
        return -1;
    fs->base.ops = &files_ops;
    snprintf(fs->dir, sizeof fs->dir, "%s", dir);
    fs->page_limit = page_limit > 0 ? page_limit : 50000;
    *out = &fs->base;
    return 0;
}
