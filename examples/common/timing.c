#include "timing.h"

#include <errno.h>
#include <poll.h>
#include <time.h>

static int64_t read_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mono_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}

int64_t mono_ms(void)
{
    return read_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t wall_ms(void)
{
    return read_ns(CLOCK_REALTIME) / 1000000;
}

void sleep_unless_stopped(int64_t ns, const atomic_int *stop, int wake_fd)
{
    /* Steps of at most 100 ms, so that a stop flag set without a wake-up
     * (by a signal handler, say) is seen soon enough. */
    const int64_t step_max = 100000000;
    int64_t until = mono_ns() + (ns > 0 ? ns : 0);
    for (;;) {
        if (stop && atomic_load(stop))
            return;
        int64_t left = until - mono_ns();
        if (left <= 0)
            return;
        int64_t step = left < step_max ? left : step_max;
        struct pollfd pf = { wake_fd, POLLIN, 0 };
        int ms = (int)((step + 999999) / 1000000);
        int rc = poll(wake_fd >= 0 ? &pf : NULL, wake_fd >= 0 ? 1 : 0, ms);
        if (rc > 0)
            return;
        if (rc < 0 && errno != EINTR)
            return;
    }
}
