/*
 * libretry hot paths against same-run references (docs/design.md section 6).
 * One JSON object per line on stdout, a table on stderr. Every figure is the
 * median of RUNS runs interleaved with RUNS runs of its reference (the order
 * alternating from pair to pair), so that a slow phase of the machine lands
 * on both sides; "runs" gives the number of pairs.
 *
 * One thread: ns per call from the thread's CPU time (CLOCK_THREAD_CPUTIME_ID,
 * which leaves out the time other processes hold the core), against an
 * uncontended pthread_mutex_lock + unlock pair; ratio = reference / value
 * (1.0 = as cheap as the pair). Measured twice: in a process that has only
 * ever had one thread (glibc then leaves the lock prefix off its mutex) and
 * again after threads have run (what a program sharing the handles pays).
 * The bound lines give the cost of what the success path through a GCRA
 * limiter and a breaker cannot avoid: one CLOCK_MONOTONIC read (the
 * limiter's exact time) and three atomic read-modify-writes (the limiter's
 * theoretical arrival time, the breaker's admitted-calls count and its
 * success count), each alone and all four together.
 *
 * Shared breaker: 1, 2, 4, 8 threads calling acquire + record on one breaker,
 * in operations per microsecond (wall time), against the same threads doing
 * an atomic increment of one shared counter; ratio = value / reference. The
 * same runs give the process's CPU time per operation (ratio = reference /
 * value), which contention raises and other tenants of the machine do not.
 *
 * BENCH_QUICK=1 in the environment runs a tenth of the calls (a smoke run).
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <retry/retry.h>

#define RUNS 7

static double now_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return v[n / 2];
}

static retry_breaker *brk;
static retry_limiter *lim;    /* GCRA: the runs' limiter */
static retry_limiter *bucket; /* token bucket */
static retry_budget *bud;
static retry_policy pol;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t shared_counter;
static volatile uint64_t sink;

static int succeed(retry_call *call, void *ud)
{
    (void)call;
    (void)ud;
    return 0;
}

typedef enum op_kind {
    OP_MUTEX,
    OP_ATOMIC_INC, /* one shared counter */
    OP_CLOCK,      /* one CLOCK_MONOTONIC read */
    OP_CMPXCHG,    /* one successful lock cmpxchg on a private word */
    OP_FLOOR,      /* one CLOCK_MONOTONIC read + three lock cmpxchg */
    OP_BREAKER,
    OP_LIMITER,
    OP_BUCKET,
    OP_RUN,        /* limiter + breaker */
    OP_RUN_BUDGET, /* limiter + breaker + budget */
} op_kind;

static void do_ops(op_kind k, long n)
{
    uint64_t acc = 0;
    _Atomic uint64_t word = 0;
    for (long i = 0; i < n; i++) {
        switch (k) {
        case OP_MUTEX:
            pthread_mutex_lock(&mu);
            acc++;
            pthread_mutex_unlock(&mu);
            break;
        case OP_ATOMIC_INC:
            atomic_fetch_add_explicit(&shared_counter, 1, memory_order_relaxed);
            acc++;
            break;
        case OP_CLOCK: {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            acc += (uint64_t)ts.tv_nsec;
            break;
        }
        case OP_CMPXCHG: {
            uint64_t old = atomic_load_explicit(&word, memory_order_relaxed);
            acc += atomic_compare_exchange_strong(&word, &old, old + 1);
            break;
        }
        case OP_FLOOR: {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            acc += (uint64_t)ts.tv_nsec;
            for (int j = 0; j < 3; j++) {
                uint64_t old = atomic_load_explicit(&word, memory_order_relaxed);
                acc += atomic_compare_exchange_strong(&word, &old, old + 1);
            }
            break;
        }
        case OP_BREAKER: {
            retry_permit p;
            if (retry_breaker_acquire(brk, &p, NULL) == RETRY_OK) {
                retry_breaker_record(brk, &p, RETRY_OUTCOME_SUCCESS);
                acc++;
            }
            break;
        }
        case OP_LIMITER:
            acc += retry_limiter_try_acquire(lim, 1) == RETRY_OK;
            break;
        case OP_BUCKET:
            acc += retry_limiter_try_acquire(bucket, 1) == RETRY_OK;
            break;
        case OP_RUN: {
            retry_result r;
            acc += retry_run(&r, &pol, lim, brk, NULL, succeed, NULL) == RETRY_OK;
            break;
        }
        case OP_RUN_BUDGET: {
            retry_result r;
            acc += retry_run(&r, &pol, lim, brk, bud, succeed, NULL) == RETRY_OK;
            break;
        }
        }
    }
    sink += acc;
}

typedef struct targ {
    op_kind k;
    long n;
    pthread_barrier_t *go;
} targ;

static void *thread_main(void *arg)
{
    targ *t = arg;
    pthread_barrier_wait(t->go);
    do_ops(t->k, t->n);
    return NULL;
}

/* ns per call on this thread, from its CPU time, one run */
static double single_once(op_kind k, long n)
{
    double t0 = now_s(CLOCK_THREAD_CPUTIME_ID);
    do_ops(k, n);
    return (now_s(CLOCK_THREAD_CPUTIME_ID) - t0) * 1e9 / (double)n;
}

/* operations per microsecond with `threads` threads, wall time, one run;
 * *cpu_ns: the process's CPU time per operation in that run */
static double multi_once(op_kind k, int threads, long n_per_thread, double *cpu_ns)
{
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, (unsigned)threads + 1);
    pthread_t th[8];
    targ a[8];
    for (int i = 0; i < threads; i++) {
        a[i] = (targ){ k, n_per_thread, &go };
        pthread_create(&th[i], NULL, thread_main, &a[i]);
    }
    double c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
    pthread_barrier_wait(&go);
    double t0 = now_s(CLOCK_MONOTONIC);
    for (int i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    double ops = (double)n_per_thread * threads;
    double v = ops / ((now_s(CLOCK_MONOTONIC) - t0) * 1e6);
    *cpu_ns = (now_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e9 / ops;
    pthread_barrier_destroy(&go);
    return v;
}

/* RUNS pairs of the reference and case k, interleaved; medians. threads 0:
 * this thread, CPU time; otherwise that many threads, wall time, and in
 * cpu[0] (reference) and cpu[1] the medians of CPU time per operation. A
 * reference that cannot be measured ends the benchmark with an error. */
static void pairs(op_kind ref_k, op_kind k, int threads, long n, double *ref, double *val,
                  double cpu[2])
{
    double rv[RUNS], vv[RUNS], rc[RUNS], vc[RUNS];
    if (threads == 0) { /* warm up */
        do_ops(ref_k, n / 10);
        do_ops(k, n / 10);
    }
    for (int r = 0; r < RUNS; r++) {
        for (int side = 0; side < 2; side++) {
            int is_ref = (side == 0) == (r % 2 == 0);
            op_kind kk = is_ref ? ref_k : k;
            double c = 0;
            double x = threads == 0 ? single_once(kk, n) : multi_once(kk, threads, n, &c);
            *(is_ref ? &rv[r] : &vv[r]) = x;
            *(is_ref ? &rc[r] : &vc[r]) = c;
        }
    }
    *ref = median(rv, RUNS);
    *val = median(vv, RUNS);
    if (cpu) {
        cpu[0] = median(rc, RUNS);
        cpu[1] = median(vc, RUNS);
    }
    if (!(*ref > 0) || !isfinite(*ref) || !(*val > 0) || !isfinite(*val)) {
        fprintf(stderr, "bench-retry: the reference or the value could not be measured\n");
        exit(1);
    }
}

static void emit(const char *bench, const char *cas, const char *metric, double value,
                 const char *ref, double ref_value, double ratio)
{
    printf("{\"bench\":\"%s\",\"case\":\"%s\",\"metric\":\"%s\",\"value\":%.4g,"
           "\"reference\":\"%s\",\"reference_value\":%.4g,\"ratio\":%.3f,\"runs\":%d}\n",
           bench, cas, metric, value, ref, ref_value, ratio, RUNS);
    fflush(stdout);
}

typedef struct one_case {
    op_kind k;
    const char *bench, *cas;
} one_case;

static const one_case single_cases[] = {
    { OP_RUN, "retry_run", "success path, limiter+breaker" },
    { OP_RUN_BUDGET, "retry_run", "success path, limiter+breaker+budget" },
    { OP_BREAKER, "retry_breaker", "acquire+record CLOSED" },
    { OP_LIMITER, "retry_limiter", "GCRA try_acquire" },
    { OP_BUCKET, "retry_limiter", "token bucket try_acquire" },
    { OP_CLOCK, "retry_bound", "one CLOCK_MONOTONIC read" },
    { OP_CMPXCHG, "retry_bound", "one lock cmpxchg" },
    { OP_FLOOR, "retry_bound", "one CLOCK_MONOTONIC read + three lock cmpxchg" },
};

static void single_thread(long n, const char *process)
{
    for (size_t i = 0; i < sizeof single_cases / sizeof single_cases[0]; i++) {
        const one_case *c = &single_cases[i];
        double ref, v;
        pairs(OP_MUTEX, c->k, 0, n, &ref, &v, NULL);
        char name[160];
        snprintf(name, sizeof name, "%s, 1 thread, %s", c->cas, process);
        emit(c->bench, name, "ns_per_call", v, "mutex_lock_unlock", ref, ref / v);
        fprintf(stderr, "%-72s %7.1f ns/call  (mutex pair %5.1f ns, ratio %.3f)\n", name, v, ref,
                ref / v);
    }
}

int main(void)
{
    /* limiters that are never the bottleneck: we measure the bookkeeping */
    retry_limiter_options lo = RETRY_LIMITER_OPTIONS_INIT;
    lo.kind = RETRY_LIMITER_GCRA;
    lo.rate = 1e9; /* GCRA counts whole nanoseconds */
    lo.burst = 1000000;
    retry_limiter_options bko = RETRY_LIMITER_OPTIONS_INIT;
    bko.rate = 1e12;
    bko.burst = 1000000;
    retry_breaker_options bo = RETRY_BREAKER_OPTIONS_INIT; /* count window 100, slow calls on */
    retry_budget_options go = RETRY_BUDGET_OPTIONS_INIT;   /* Finagle 20 % */
    if (retry_limiter_new(&lim, &lo) || retry_limiter_new(&bucket, &bko) ||
        retry_breaker_new(&brk, &bo) || retry_budget_new(&bud, &go)) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    pol = (retry_policy)RETRY_POLICY_INIT;

    const char *quick = getenv("BENCH_QUICK");
    const long n = quick && *quick && strcmp(quick, "0") != 0 ? 200000 : 2000000;

    single_thread(n, "single-threaded process");

    const int thread_counts[] = { 1, 2, 4, 8 };
    for (int t = 0; t < 4; t++) {
        int th = thread_counts[t];
        double ref, v, cpu[2];
        pairs(OP_ATOMIC_INC, OP_BREAKER, th, n / th, &ref, &v, cpu);
        char name[128];
        snprintf(name, sizeof name, "one breaker shared by %d thread%s, acquire+record", th,
                 th == 1 ? "" : "s");
        emit("retry_breaker", name, "ops_per_us", v, "shared_atomic_increment", ref, v / ref);
        fprintf(stderr, "%-72s %7.2f ops/us   (atomic increment %6.1f ops/us, ratio %.3f)\n", name,
                v, ref, v / ref);
        /* the same runs in CPU time per operation: what contention costs,
         * without the time other processes held the cores */
        snprintf(name, sizeof name, "one breaker shared by %d thread%s, acquire+record, CPU time",
                 th, th == 1 ? "" : "s");
        emit("retry_breaker", name, "cpu_ns_per_op", cpu[1], "shared_atomic_increment", cpu[0],
             cpu[0] / cpu[1]);
        fprintf(stderr, "%-72s %7.1f ns CPU  (atomic increment %5.1f ns CPU, ratio %.3f)\n", name,
                cpu[1], cpu[0], cpu[0] / cpu[1]);
    }

    single_thread(n, "multi-threaded process");

    retry_breaker_free(brk);
    retry_limiter_free(lim);
    retry_limiter_free(bucket);
    retry_budget_free(bud);
    return 0;
}
