/*
 * first_report: does the first policy report of a process delay its call by
 * more than the report's own cost? (issue 16: it used to wait ~5 ms for the
 * TSC's calibration.)
 *
 * Linked like bench/call_loop_shim (--wrap, the bench wrap archive, the C
 * stand-in kernel below). The policy (KOS_SHIM_POLICY, written by
 * bench/run.py) allows iid=1 mid=1 silently and logs iid=1 mid=2; statistics
 * at `timing` and the trace, when set by the environment, make the clock a
 * user. The program
 *   1. makes WARM calls of mid 1 (configuration, policy load: no report),
 *   2. times the process's first call of mid 2: the first report,
 *   3. times REPORTS more calls of mid 2, each reported (within the policy's
 *      budget of reports per second), and as many calls of mid 1,
 * and prints one JSON object: the first report's call, the median of the
 * later reported calls (a call plus the report's own cost) and of the
 * plain calls, in ns. Reports go to stderr. Exit 1 on any failure.
 */
#define _GNU_SOURCE

#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

Retcode standin_loopback_create(Handle *client);

#define WARM 1000
/* Fewer than the policy's 20 reports per second, the first included. */
#define REPORTS 15

typedef struct {
    struct nk_message base_;
    nk_uint64_t value;
} bench_msg;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One Call of `mid`, its duration in *ns; 0 on success. */
static int timed_call(Handle h, unsigned mid, uint64_t *ns) {
    bench_msg req, resp;
    memset(&req, 0, sizeof req);
    memset(&resp, 0, sizeof resp);
    nk_req_reset(&req);
    nk_msg_set_method_id(&req, 1, mid);
    nk_req_reset(&resp);
    SMsgHdr out, in;
    if (PackOutMsg(&out, &req.base_, NULL) != rcOk || PackInMsg(&in, &resp.base_, NULL) != rcOk) {
        fprintf(stderr, "first_report: PackOutMsg/PackInMsg failed\n");
        return 1;
    }
    uint64_t t0 = now_ns();
    Retcode rc = Call(h, &out, &in);
    uint64_t t1 = now_ns();
    if (rc != rcOk || nk_msg_get_mid(&resp) != mid) {
        fprintf(stderr, "first_report: Call mid %u: rc 0x%08x\n", mid, (unsigned)rc);
        return 1;
    }
    *ns = t1 - t0;
    return 0;
}

int main(void) {
    Handle h;
    if (standin_loopback_create(&h) != rcOk) {
        fprintf(stderr, "first_report: standin_loopback_create failed\n");
        return 1;
    }
    uint64_t ns;
    for (int i = 0; i < WARM; i++) {
        if (timed_call(h, 1, &ns) != 0) {
            return 1;
        }
    }
    uint64_t first;
    if (timed_call(h, 2, &first) != 0) {
        return 1;
    }
    uint64_t reported[REPORTS], plain[REPORTS];
    for (int i = 0; i < REPORTS; i++) {
        if (timed_call(h, 2, &reported[i]) != 0 || timed_call(h, 1, &plain[i]) != 0) {
            return 1;
        }
    }
    kos_shim_policy_stats_t ps;
    memset(&ps, 0, sizeof ps);
    if (kos_shim_policy_stats(&ps) != rcOk) {
        fprintf(stderr, "first_report: kos_shim_policy_stats failed\n");
        return 1;
    }
    /* Every call of mid 2 must have been reported, or the figures mean nothing. */
    if (ps.reports != REPORTS + 1) {
        fprintf(stderr, "first_report: %llu reports, want %d (is KOS_SHIM_POLICY set?)\n",
                (unsigned long long)ps.reports, REPORTS + 1);
        return 1;
    }
    qsort(reported, REPORTS, sizeof reported[0], cmp_u64);
    qsort(plain, REPORTS, sizeof plain[0], cmp_u64);
    printf("{\"first_report_ns\": %llu, \"report_median_ns\": %llu, \"plain_median_ns\": %llu}\n",
           (unsigned long long)first, (unsigned long long)reported[REPORTS / 2],
           (unsigned long long)plain[REPORTS / 2]);
    return 0;
}
