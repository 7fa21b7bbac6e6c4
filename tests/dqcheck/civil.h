/* Civil dates as days since 1970-01-01, for the libdqcheck tests and
 * benchmarks (header-only, no test framework: the benchmarks include it too). */
#ifndef DQCHECK_TEST_CIVIL_H
#define DQCHECK_TEST_CIVIL_H

#include <stdint.h>

#define DAY_MS  INT64_C(86400000)
#define HOUR_MS INT64_C(3600000)

static inline int64_t days_from_civil(int y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int64_t)era * 146097 + (int64_t)doe - 719468;
}

#endif
