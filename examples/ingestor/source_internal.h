/* The common shape of the sources (source_polygon.c, source_files.c). */
#ifndef INGESTOR_SOURCE_INTERNAL_H
#define INGESTOR_SOURCE_INTERNAL_H

#include "source.h"

typedef struct source_ops {
    const char *name;
    int (*begin)(source *s, const job_spec *job, char *err, size_t errlen);
    int (*next)(source *s, const polygon_page **page, char *err, size_t errlen);
    void (*destroy)(source *s);
} source_ops;

struct source {
    const source_ops *ops;
};

#endif
