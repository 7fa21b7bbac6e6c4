/* The split / reverse-split ratio candidates and their matching. */
#include <math.h>

#include "internal.h"

typedef struct ratio_candidate {
    unsigned num, den; /* num:den as written: "4:1", "3:2", "1:10" */
    double r;          /* expected open / previous close */
} ratio_candidate;

static const ratio_candidate forward[] = {
    { 3, 2, 2.0 / 3 },   { 2, 1, 1.0 / 2 },   { 5, 2, 2.0 / 5 },   { 3, 1, 1.0 / 3 },
    { 4, 1, 1.0 / 4 },   { 5, 1, 1.0 / 5 },   { 6, 1, 1.0 / 6 },   { 7, 1, 1.0 / 7 },
    { 8, 1, 1.0 / 8 },   { 10, 1, 1.0 / 10 }, { 15, 1, 1.0 / 15 }, { 20, 1, 1.0 / 20 },
    { 25, 1, 1.0 / 25 }, { 30, 1, 1.0 / 30 }, { 40, 1, 1.0 / 40 }, { 50, 1, 1.0 / 50 },
};
static const ratio_candidate reverse[] = {
    { 1, 2, 2 },   { 1, 3, 3 },   { 1, 4, 4 },   { 1, 5, 5 },   { 1, 6, 6 },
    { 1, 8, 8 },   { 1, 10, 10 }, { 1, 12, 12 }, { 1, 15, 15 }, { 1, 20, 20 },
    { 1, 25, 25 }, { 1, 30, 30 }, { 1, 40, 40 }, { 1, 50, 50 },
};

/* Returns 1 (forward) or 2 (reverse) with the best candidate, or 0. */
int dq__classify_split(double r, double tol, unsigned *num, unsigned *den)
{
    const ratio_candidate *set = r < 1 ? forward : reverse;
    size_t n = r < 1 ? sizeof forward / sizeof forward[0] : sizeof reverse / sizeof reverse[0];
    double best = tol;
    int found = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(r / set[i].r - 1.0);
        if (e <= best) {
            best = e;
            *num = set[i].num;
            *den = set[i].den;
            found = 1;
        }
    }
    return found ? (r < 1 ? 1 : 2) : 0;
}
