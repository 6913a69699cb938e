/*
 * call_loop: the cost of one Call, in a tight loop, on a loopback channel of
 * the C stand-in kernel (ctests/standin/libkos_standin.c), which answers the
 * request in the calling thread.
 *
 * Built twice by mk/bench.mk from this one source:
 *   - bench/call_loop_direct: the program calls the stand-in's Call
 *     directly (no shim linked: the baseline);
 *   - bench/call_loop_shim: linked with -Wl,--wrap=Call,... and the bench
 *     wrap archive (BENCH_SHIM defined), so every Call goes through the
 *     shim's pipeline to __real_Call, the stand-in's.
 * The shim's configuration comes from the environment (KOS_SHIM_STATS,
 * KOS_SHIM_TRACE, KOS_SHIM_POLICY), so each configuration is a process.
 *
 *   call_loop ITERATIONS
 *
 * Runs ITERATIONS/10 warm-up calls, pins its thread to one CPU, then
 * runs ITERATIONS timed calls, checks
 * every return code and the response, and prints one JSON object: ns per
 * call (wall clock, and CPU time of the calling thread) and the counters that prove which layers the calls went through
 * (the stand-in's count, and with the shim its pipeline count, the policy's
 * verdict totals, the statistics' level and call count, and the trace's lost
 * records). Exit 1 on any failure.
 */
#define _GNU_SOURCE /* pthread_{get,set}affinity_np */

#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The stand-in's own functions (not part of the SDK). */
Retcode standin_loopback_create(Handle *client);
unsigned long long standin_calls(int op);

#define BENCH_IID 1
#define BENCH_MID 1

/* A small request: the constant part only, as most NK calls are. */
typedef struct {
    struct nk_message base_;
    nk_uint64_t value;
} bench_msg;

static uint64_t clock_ns(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Kept out of line so the loop is the same in both builds. */
__attribute__((noinline)) static int run(Handle h, const SMsgHdr *out, SMsgHdr *in,
                                         bench_msg *resp, unsigned long long n) {
    for (unsigned long long i = 0; i < n; i++) {
        Retcode rc = Call(h, out, in);
        if (rc != rcOk || nk_msg_get_mid(resp) != BENCH_MID) {
            fprintf(stderr, "call_loop: call %llu: rc 0x%08x mid %u\n", i, (unsigned)rc,
                    (unsigned)nk_msg_get_mid(resp));
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    char *end = NULL;
    unsigned long long n = argc == 2 ? strtoull(argv[1], &end, 10) : 0;
    if (argc != 2 || end == argv[1] || *end != '\0' || n == 0) {
        fprintf(stderr, "usage: %s ITERATIONS (a positive number)\n", argv[0]);
        return 2;
    }
    Handle h;
    if (standin_loopback_create(&h) != rcOk) {
        fprintf(stderr, "call_loop: standin_loopback_create failed\n");
        return 1;
    }
    bench_msg req, resp;
    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    nk_req_reset(&req);
    nk_msg_set_method_id(&req, BENCH_IID, BENCH_MID);
    req.value = 42;
    nk_req_reset(&resp); /* capacity, read by PackInMsg */
    /* Packed once: each response is as large as the buffer, so the sizes a
     * receive writes back into the descriptors leave the header as packed. */
    SMsgHdr out, in;
    if (PackOutMsg(&out, &req.base_, NULL) != rcOk || PackInMsg(&in, &resp.base_, NULL) != rcOk) {
        fprintf(stderr, "call_loop: PackOutMsg/PackInMsg failed\n");
        return 1;
    }

    unsigned long long warm = n / 10 + 1;
    if (run(h, &out, &in, &resp, warm) != 0) {
        return 1;
    }
    /* Run the timed loop on one CPU, the highest-numbered one allowed (CPU 0
     * takes most interrupts): migrations and CPU 0's housekeeping made runs
     * of the same binary differ by up to 2x on our 2-vCPU VM. Only this
     * thread: a trace drainer started during the warm-up keeps every CPU.
     * Best effort. */
    cpu_set_t allowed;
    if (pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed) == 0) {
        for (int cpu = CPU_SETSIZE - 1; cpu >= 0; cpu--) {
            if (CPU_ISSET(cpu, &allowed)) {
                cpu_set_t one;
                CPU_ZERO(&one);
                CPU_SET(cpu, &one);
                (void)pthread_setaffinity_np(pthread_self(), sizeof one, &one);
                break;
            }
        }
    }
    /* Wall time, and the CPU time of this thread (what the calls cost it,
     * without the time it spent preempted by other processes). */
    uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t t0 = clock_ns(CLOCK_MONOTONIC);
    if (run(h, &out, &in, &resp, n) != 0) {
        return 1;
    }
    uint64_t t1 = clock_ns(CLOCK_MONOTONIC);
    uint64_t c1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    if (resp.value != 42) {
        fprintf(stderr, "call_loop: response value %llu, want 42\n", (unsigned long long)resp.value);
        return 1;
    }
    unsigned long long total = warm + n;

    printf("{\"iterations\": %llu, \"ns_per_call\": %.3f, \"cpu_ns_per_call\": %.3f"
           ", \"standin_calls\": %llu",
           n, (double)(t1 - t0) / (double)n, (double)(c1 - c0) / (double)n, standin_calls(0));
#ifdef BENCH_SHIM
    uint64_t passed = 0;
    kos_shim_policy_stats_t ps;
    memset(&ps, 0, sizeof ps);
    if (kos_shim_calls(KOS_SHIM_OP_CALL, &passed) != rcOk ||
        kos_shim_policy_stats(&ps) != rcOk) {
        fprintf(stderr, "call_loop: kos_shim_calls/kos_shim_policy_stats failed\n");
        return 1;
    }
    kos_shim_stats_global_t sg;
    memset(&sg, 0, sizeof sg);
    if (kos_shim_stats_global(&sg) != rcOk) {
        fprintf(stderr, "call_loop: kos_shim_stats_global failed\n");
        return 1;
    }
    /* Drains the rings into the sinks and closes them: the .kst is complete. */
    kos_shim_trace_stop();
    printf(", \"shim_calls\": %llu, \"policy_rules\": %u, \"policy_allowed\": %llu"
           ", \"policy_denied\": %llu, \"trace_lost\": %llu, \"stats_level\": %u"
           ", \"stats_calls\": %llu",
           (unsigned long long)passed, (unsigned)ps.rules, (unsigned long long)ps.allowed,
           (unsigned long long)ps.denied, (unsigned long long)kos_shim_trace_lost(),
           (unsigned)sg.level, (unsigned long long)sg.calls);
    if (passed != total) {
        fprintf(stderr, "call_loop: %llu calls passed the shim, want %llu\n",
                (unsigned long long)passed, total);
        return 1;
    }
#endif
    printf(", \"total_calls\": %llu}\n", total);
    if (standin_calls(0) != total) {
        fprintf(stderr, "call_loop: the stand-in saw %llu calls, want %llu\n", standin_calls(0),
                total);
        return 1;
    }
    return 0;
}
