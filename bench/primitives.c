/*
 * primitives: what the machine charges for the operations the shim's hot
 * paths are made of, measured in the same run as the benchmark so that its
 * figures can be read against them: a TSC read, a CLOCK_MONOTONIC read (the
 * fallback clock), a locked add on a private cache line, and a plain
 * load+store increment (what per-thread counters cost).
 *
 *   primitives ITERATIONS   -> one JSON object, ns per operation (median of 5)
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

static uint64_t ns_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static volatile uint64_t sink;
static _Alignas(64) volatile uint64_t counter;

#define MEASURE(out, n, body)                                                  \
    do {                                                                       \
        double runs[5];                                                        \
        for (int r = 0; r < 5; r++) {                                          \
            uint64_t t0 = ns_now();                                            \
            for (unsigned long i = 0; i < (n); i++) {                          \
                body;                                                          \
            }                                                                  \
            runs[r] = (double)(ns_now() - t0) / (double)(n);                   \
        }                                                                      \
        qsort(runs, 5, sizeof runs[0], cmp);                                   \
        (out) = runs[2];                                                       \
    } while (0)

int main(int argc, char **argv) {
    unsigned long n = argc == 2 ? strtoul(argv[1], NULL, 10) : 0;
    if (n == 0) {
        fprintf(stderr, "usage: %s ITERATIONS\n", argv[0]);
        return 2;
    }
    double tsc = -1, mono, locked, plain;
#if defined(__x86_64__)
    MEASURE(tsc, n, sink += __rdtsc());
#elif defined(__aarch64__)
    MEASURE(tsc, n, {
        uint64_t v;
        __asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
        sink += v;
    });
#endif
    MEASURE(mono, n, sink += ns_now());
    MEASURE(locked, n, __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
    MEASURE(plain, n, counter = counter + 1);
    printf("{\"counter_read_ns\": %.2f, \"clock_gettime_ns\": %.2f, \"locked_add_ns\": %.2f, "
           "\"plain_increment_ns\": %.2f}\n",
           tsc, mono, locked, plain);
    return 0;
}
