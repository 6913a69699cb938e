/*
 * The idle fast path of the wrap archive (src/layers.rs): while every layer
 * is off, calls go straight to __real_Call (no validation: the kernel checks,
 * here the stand-in), still counted by kos_shim_calls; turning a layer on at
 * run time puts calls back on the full pipeline at once, turning it off
 * again takes them off. A call with a NULL header tells which path ran: the
 * fast path hands it to the stand-in (which rejects it, counted there), the
 * full path rejects it before forwarding. Built with --wrap against the stand-in's loopback
 * channel (answered in the calling thread), no_std wrap archive.
 */
#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>

#include <stdio.h>
#include <string.h>

Retcode standin_loopback_create(Handle *client);
unsigned long long standin_calls(int op);

typedef struct {
    struct nk_message base_;
    nk_uint64_t value;
} msg_t;

static Handle h;

static Retcode call(unsigned mid) {
    msg_t req, res;
    SMsgHdr out, in;
    memset(&req, 0, sizeof req);
    nk_req_reset(&req);
    nk_msg_set_method_id(&req, 7, mid);
    memset(&res, 0, sizeof res);
    nk_req_reset(&res);
    if (PackOutMsg(&out, &req.base_, NULL) != rcOk || PackInMsg(&in, &res.base_, NULL) != rcOk) {
        return rcFail;
    }
    return Call(h, &out, &in);
}

static unsigned long long shim_calls(void) {
    uint64_t n = 0;
    return kos_shim_calls(KOS_SHIM_OP_CALL, &n) == rcOk ? n : ~0ULL;
}

static unsigned long long stats_calls(void) {
    kos_shim_stats_global_t g = {0};
    return kos_shim_stats_global(&g) == rcOk ? g.calls_by_op[KOS_SHIM_OP_CALL] : ~0ULL;
}

/* n calls of method mid, each must return want; how many did not. */
static unsigned calls(unsigned n, unsigned mid, Retcode want) {
    unsigned bad = 0;
    for (unsigned i = 0; i < n; i++) {
        bad += call(mid) != want;
    }
    return bad;
}

int main(void) {
    if (standin_loopback_create(&h) != rcOk) {
        return 1;
    }
    unsigned bad = 0;
    /* 1. Every layer off: 100 calls on the fast path, and one with a NULL
     *    header, which the stand-in (the kernel) rejects itself. */
    bad += kos_shim_stats_set_level(KOS_SHIM_STATS_LEVEL_OFF) != rcOk;
    bad += calls(100, 1, rcOk);
    bad += Call(h, NULL, NULL) != rcInvalidArgument;
    printf("off:    standin=%llu shim=%llu stats=%llu\n", standin_calls(0), shim_calls(),
           stats_calls());
    /* 2. Statistics on: the lean path counts per key. */
    bad += kos_shim_stats_set_level(KOS_SHIM_STATS_LEVEL_COUNT) != rcOk;
    bad += calls(50, 1, rcOk);
    printf("count:  standin=%llu shim=%llu stats=%llu\n", standin_calls(0), shim_calls(),
           stats_calls());
    /* 2b. The lean path's checks: a request that fails them is refused
     *     before the stand-in; a bad receive header beside a good request
     *     is the kernel's to reject (as on the idle fast path). Both counted. */
    {
        msg_t req;
        SMsgHdr out;
        memset(&req, 0, sizeof req);
        nk_req_reset(&req);
        nk_msg_set_method_id(&req, 7, 1);
        bad += PackOutMsg(&out, &req.base_, NULL) != rcOk;
        unsigned long long s0 = standin_calls(0);
        bad += Call(h, NULL, NULL) != rcInvalidArgument;
        bad += standin_calls(0) != s0;
        bad += Call(h, &out, NULL) != rcInvalidArgument;
        bad += standin_calls(0) != s0 + 1;
    }
    printf("lean:   standin=%llu shim=%llu stats=%llu\n", standin_calls(0), shim_calls(),
           stats_calls());
    /* 3. Statistics off, a policy denying method 2: the lean path again; the
     *    denied calls never reach the stand-in. */
    bad += kos_shim_stats_set_level(KOS_SHIM_STATS_LEVEL_OFF) != rcOk;
    static const char policy[] = "deny call mid=2\nallow any\n";
    char err[128] = "";
    bad += kos_shim_policy_load(policy, sizeof policy - 1, err, sizeof err) != rcOk;
    bad += calls(10, 2, rcSecurityDisallow);
    bad += calls(10, 1, rcOk);
    /* A NULL request is refused by the shim: it never reaches the stand-in. */
    bad += Call(h, NULL, NULL) != rcInvalidArgument;
    printf("policy: standin=%llu shim=%llu stats=%llu\n", standin_calls(0), shim_calls(),
           stats_calls());
    /* 4. The policy cleared: fast again, method 2 goes through. */
    bad += kos_shim_policy_clear() != rcOk;
    bad += calls(10, 2, rcOk);
    bad += Call(h, NULL, NULL) != rcInvalidArgument; /* reaches the stand-in again */
    printf("clear:  standin=%llu shim=%llu stats=%llu\n", standin_calls(0), shim_calls(),
           stats_calls());
    printf("fastpath: %s\n", bad == 0 ? "ok" : "FAILED");
    return bad != 0;
}
