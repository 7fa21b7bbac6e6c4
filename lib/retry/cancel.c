/* Cancel tokens: a flag for the checks and a pipe whose read end becomes
 * readable when the flag is set, so that sleeps can wait on it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

struct retry_cancel {
    atomic_int set;
    int fd[2]; /* read end, write end; both non-blocking and close-on-exec */
};

static int nonblock_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    int fdf = fcntl(fd, F_GETFD);
    return fl >= 0 && fdf >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0 &&
           fcntl(fd, F_SETFD, fdf | FD_CLOEXEC) == 0;
}

int retry_cancel_new(retry_cancel **out)
{
    *out = NULL;
    retry_cancel *c = calloc(1, sizeof *c);
    if (!c)
        return RETRY_ENOMEM;
    if (pipe(c->fd) != 0) {
        free(c);
        return RETRY_ENOMEM;
    }
    if (!nonblock_cloexec(c->fd[0]) || !nonblock_cloexec(c->fd[1])) {
        close(c->fd[0]);
        close(c->fd[1]);
        free(c);
        return RETRY_ENOMEM;
    }
    atomic_init(&c->set, 0);
    *out = c;
    return RETRY_OK;
}

void retry_cancel_free(retry_cancel *c)
{
    if (!c)
        return;
    close(c->fd[0]);
    close(c->fd[1]);
    free(c);
}

void retry_cancel_set(retry_cancel *c)
{
    /* only async-signal-safe calls: an atomic exchange and write(2) */
    if (atomic_exchange(&c->set, 1) == 0) {
        int saved = errno;
        ssize_t n;
        do
            n = write(c->fd[1], "x", 1);
        while (n < 0 && errno == EINTR);
        errno = saved;
    }
}

int retry_cancel_is_set(const retry_cancel *c)
{
    return atomic_load(&c->set) != 0;
}

int retry_cancel_fd(const retry_cancel *c)
{
    return c->fd[0];
}

int retry__sleep_cancel(const retry_env *env, int64_t ns, const retry_cancel *c)
{
    if (!c) {
        retry__sleep(env, ns);
        return 0;
    }
    if (retry_cancel_is_set(c))
        return 1;
    if (ns <= 0)
        return 0;
    if (env->sleep_ns) {
        env->sleep_ns(ns, env->ctx);
        return retry_cancel_is_set(c);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int64_t start = (int64_t)t0.tv_sec * RETRY_NS_PER_S + (int64_t)t0.tv_nsec;
    int64_t end = retry__add_sat(start, ns);
    for (;;) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t left = end - ((int64_t)now.tv_sec * RETRY_NS_PER_S + (int64_t)now.tv_nsec);
        if (left <= 0)
            return retry_cancel_is_set(c);
        if (left < RETRY_NS_PER_MS) { /* poll counts in ms: the rest in one nanosleep */
            struct timespec req = { 0, (long)left };
            nanosleep(&req, NULL);
            continue;
        }
        int64_t ms = left / RETRY_NS_PER_MS;
        struct pollfd p = { c->fd[0], POLLIN, 0 };
        int r = poll(&p, 1, ms > 1000000 ? 1000000 : (int)ms);
        if (r > 0 || retry_cancel_is_set(c))
            return 1;
    }
}
