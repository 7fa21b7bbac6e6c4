/*
 * The "exponential backoff and jitter" contention experiment (Marc Brooker,
 * AWS Architecture Blog, 2015), in simulated time with retry_backoff_delay().
 *
 * Model: N clients all start at t = 0 and each must make one successful
 * optimistic-concurrency write to one shared resource. A call started at t
 * reads the version at t and commits at t + L; it succeeds only when no
 * other commit happened after its read (first committer wins), otherwise it
 * backs off with the strategy under test and tries again. L = 10 ms,
 * exponential backoff base 10 ms, multiplier 2, cap 1 s, unlimited attempts.
 * Each (N, strategy) is averaged over SEEDS runs of the PRNG.
 *
 * Prints one JSON line per (N, strategy, metric) with no jitter as the
 * reference (ratio = reference / value: above 1 means fewer calls or an
 * earlier finish than no jitter), a table on stderr, and, when given a path,
 * a gnuplot data file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <retry/retry.h>

#define MAXN  100
#define SEEDS 200
#define L_NS  (10 * RETRY_NS_PER_MS)

typedef struct outcome {
    double calls, completion_ms;
} outcome;

static uint64_t xs(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static double unit(uint64_t *s)
{
    return (double)(xs(s) >> 11) * 0x1.0p-53;
}

static outcome simulate(int n, retry_jitter jitter, uint64_t seed)
{
    retry_backoff b = RETRY_BACKOFF_INIT;
    b.base_ns = 10 * RETRY_NS_PER_MS;
    b.cap_ns = RETRY_NS_PER_S;
    b.jitter = jitter;
    int64_t next[MAXN], prev[MAXN];
    uint32_t attempt[MAXN];
    int done[MAXN];
    for (int i = 0; i < n; i++) {
        next[i] = 0;
        prev[i] = 0;
        attempt[i] = 0;
        done[i] = 0;
    }
    uint64_t rng = seed * 0x9e3779b97f4a7c15u + 1;
    int64_t last_commit = -1, finish = 0;
    long calls = 0;
    for (int left = n; left > 0;) {
        int k = -1;
        for (int i = 0; i < n; i++) /* earliest call first; ties by index */
            if (!done[i] && (k < 0 || next[i] < next[k]))
                k = i;
        int64_t t = next[k];
        calls++;
        if (last_commit <= t) { /* nobody committed since our read */
            last_commit = t + L_NS;
            done[k] = 1;
            left--;
            if (t + L_NS > finish)
                finish = t + L_NS;
        } else {
            attempt[k]++;
            int64_t d = retry_backoff_delay(&b, attempt[k], prev[k], unit(&rng));
            prev[k] = d;
            next[k] = t + L_NS + d; /* the failure is known when the commit fails */
        }
    }
    outcome o = { (double)calls, (double)finish / 1e6 };
    return o;
}

int main(int argc, char **argv)
{
    const retry_jitter strategies[] = { RETRY_JITTER_NONE, RETRY_JITTER_FULL, RETRY_JITTER_EQUAL,
                                        RETRY_JITTER_DECORRELATED };
    const char *names[] = { "none", "full", "equal", "decorrelated" };
    FILE *dat = argc > 1 ? fopen(argv[1], "w") : NULL;
    if (dat)
        fprintf(dat, "# N calls(none full equal decorrelated) completion_ms(same order)\n");
    fprintf(stderr, "%4s | %-36s | %-40s\n", "N", "total calls: none/full/equal/decorr",
            "completion ms: none/full/equal/decorr");
    for (int n = 10; n <= 100; n += 10) {
        outcome avg[4];
        for (int s = 0; s < 4; s++) {
            avg[s].calls = avg[s].completion_ms = 0;
            for (int seed = 1; seed <= SEEDS; seed++) {
                outcome o = simulate(n, strategies[s], (uint64_t)seed);
                avg[s].calls += o.calls / SEEDS;
                avg[s].completion_ms += o.completion_ms / SEEDS;
            }
        }
        for (int s = 0; s < 4; s++) {
            printf("{\"bench\":\"jitter_sim\",\"case\":\"N=%d %s\",\"metric\":\"calls\","
                   "\"value\":%.1f,\"reference\":\"no_jitter\",\"reference_value\":%.1f,"
                   "\"ratio\":%.3f}\n",
                   n, names[s], avg[s].calls, avg[0].calls, avg[0].calls / avg[s].calls);
            printf("{\"bench\":\"jitter_sim\",\"case\":\"N=%d %s\",\"metric\":\"completion_ms\","
                   "\"value\":%.1f,\"reference\":\"no_jitter\",\"reference_value\":%.1f,"
                   "\"ratio\":%.3f}\n",
                   n, names[s], avg[s].completion_ms, avg[0].completion_ms,
                   avg[0].completion_ms / avg[s].completion_ms);
        }
        fprintf(stderr, "%4d | %7.0f %7.0f %7.0f %7.0f          | %8.0f %8.0f %8.0f %8.0f\n", n,
                avg[0].calls, avg[1].calls, avg[2].calls, avg[3].calls, avg[0].completion_ms,
                avg[1].completion_ms, avg[2].completion_ms, avg[3].completion_ms);
        if (dat)
            fprintf(dat, "%d %.1f %.1f %.1f %.1f %.1f %.1f %.1f %.1f\n", n, avg[0].calls,
                    avg[1].calls, avg[2].calls, avg[3].calls, avg[0].completion_ms,
                    avg[1].completion_ms, avg[2].completion_ms, avg[3].completion_ms);
    }
    if (dat)
        fclose(dat);
    return 0;
}
