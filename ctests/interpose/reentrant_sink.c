/*
 * Re-entrancy through a C trace sink that performs IPC itself (as a sink
 * writing to a file does on KasperskyOS, where file output is IPC). Built
 * with --wrap against the stand-in libkos and the no_std wrap archive, on the
 * host and for aarch64 under qemu: it exercises the no_std guard.
 *
 * The client makes OUTER Calls (traced). kos_shim_trace_flush() hands their
 * records to the sink on this thread, inside the shim; for each outer Call
 * record the sink makes one inner Call. Each inner call must reach the
 * stand-in exactly once, be counted as re-entrant and not pass the pipeline
 * (no trace record, no recursion).
 */
#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define OUTER 3
#define IID 0x33
#define MID_OUTER 1
#define MID_INNER 2
#define MID_QUIT 3

unsigned long long standin_calls(int op); /* the stand-in's counter */

typedef struct {
    struct nk_message base_;
    nk_uint64_t value;
} msg_t;

static Handle client_h, server_h;
static unsigned sink_inner, sink_failed, sink_records;

static void *server(void *arg) {
    (void)arg;
    for (;;) {
        msg_t req, res;
        SMsgHdr in, out;
        memset(&req, 0, sizeof req);
        nk_req_reset(&req);
        if (PackInMsg(&in, &req.base_, NULL) != rcOk || Recv(server_h, &in) != rcOk) {
            return (void *)1;
        }
        res = req; /* same ids and size */
        res.value = req.value + 1;
        if (PackOutMsg(&out, &res.base_, NULL) != rcOk) {
            return (void *)1;
        }
        out.threadId = in.threadId;
        if (Reply(server_h, &out) != rcOk) {
            return (void *)1;
        }
        if (nk_msg_get_mid(&req) == MID_QUIT) {
            return NULL;
        }
    }
}

static Retcode call(unsigned mid, uint64_t value) {
    msg_t req, res;
    SMsgHdr out, in;
    memset(&req, 0, sizeof req);
    nk_req_reset(&req);
    nk_msg_set_method_id(&req, IID, mid);
    req.value = value;
    memset(&res, 0, sizeof res);
    nk_req_reset(&res);
    if (PackOutMsg(&out, &req.base_, NULL) != rcOk || PackInMsg(&in, &res.base_, NULL) != rcOk) {
        return rcInvalidArgument;
    }
    Retcode rc = Call(client_h, &out, &in);
    if (rc == rcOk && res.value != value + 1) {
        return rcFail;
    }
    return rc;
}

static void sink(void *ctx, const KosShimTraceRecord *r, const uint8_t *payload, size_t len) {
    (void)ctx;
    (void)payload;
    (void)len;
    sink_records++;
    if (r->kind == KOS_SHIM_TRACE_KIND_CALL && r->op == 0 && r->mid == MID_OUTER) {
        sink_inner++;
        if (call(MID_INNER, 100) != rcOk) {
            sink_failed++;
        }
    }
    if (r->kind == KOS_SHIM_TRACE_KIND_CALL && r->op == 0 && r->mid == MID_INNER) {
        /* The sink's own Call must never be traced (the server thread's
         * Recv/Reply of it are: that thread is not inside the shim). */
        sink_failed++;
    }
}

static kos_shim_stats_global_t shim(void) {
    kos_shim_stats_global_t g = {0};
    if (kos_shim_stats_global(&g) != rcOk) {
        g.calls = ~0ULL;
    }
    return g;
}

int main(void) {
    pthread_t t;
    if (kos_host_channel_create(&client_h, &server_h) != rcOk ||
        pthread_create(&t, NULL, server, NULL) != 0) {
        return 1;
    }
    if (kos_shim_trace_set_sink(sink, NULL) != rcOk || kos_shim_trace_start("sink") != rcOk) {
        printf("reentrant_sink: tracing did not start\n");
        return 1;
    }
    for (unsigned i = 0; i < OUTER; i++) {
        if (call(MID_OUTER, i) != rcOk) {
            printf("reentrant_sink: outer call %u failed\n", i);
            return 1;
        }
    }
    kos_shim_trace_flush();
    kos_shim_trace_stop();
    if (call(MID_QUIT, 0) != rcOk) {
        return 1;
    }
    void *server_rc = NULL;
    pthread_join(t, &server_rc);
    kos_shim_stats_global_t g = shim();
    printf("reentrant_sink: outer=%u inner=%u failed=%u standin_call=%llu shim_call=%llu "
           "reentrant=%llu server=%s\n",
           OUTER, sink_inner, sink_failed, standin_calls(0),
           (unsigned long long)g.calls_by_op[KOS_SHIM_OP_CALL], (unsigned long long)g.reentrant,
           server_rc == NULL ? "ok" : "failed");
    return 0;
}
