/*
 * A validating parser of the Prometheus text exposition format 0.0.4, held
 * to what the ingestor promises on top of the format: every family has
 * # HELP and # TYPE before its first sample, one TYPE and one HELP per
 * family, a family's lines are contiguous, counters end in _total (and
 * nothing else does), histograms have cumulative non-decreasing buckets
 * in increasing le order ending with le="+Inf" equal to _count, and _sum.
 */
#ifndef TESTS_INGESTOR_PROMCHECK_H
#define TESTS_INGESTOR_PROMCHECK_H

#include <stddef.h>

typedef struct prom_sample {
    char *name;   /* the sample's name (a histogram's end in _bucket, _sum, _count) */
    char *labels; /* canonical: name=value pairs sorted by name, joined by ',' ("" if none) */
    double value;
} prom_sample;

typedef struct prom_doc {
    prom_sample *samples;
    size_t n, cap;
    char err[256]; /* why the text was rejected, with its line number */
} prom_doc;

/* Parse and validate text (len bytes). Returns 0 when valid; -1 with d->err
 * set otherwise. Free with prom_free() either way. */
int prom_parse(prom_doc *d, const char *text, size_t len);

/* The value of sample name{labels} (canonical form, see prom_sample):
 * 1 and *v when present, 0 when not. */
int prom_get(const prom_doc *d, const char *name, const char *labels, double *v);

/* How many samples have this name. */
size_t prom_count(const prom_doc *d, const char *name);

void prom_free(prom_doc *d);

#endif
