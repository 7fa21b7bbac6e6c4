#include "source_internal.h"

int source_begin(source *s, const job_spec *job, char *err, size_t errlen)
{
    return s->ops->begin(s, job, err, errlen);
}

int source_next(source *s, const polygon_page **page, char *err, size_t errlen)
{
    return s->ops->next(s, page, err, errlen);
}

const char *source_name(const source *s)
{
    return s->ops->name;
}

void source_free(source *s)
{
    if (s)
        s->ops->destroy(s);
}
