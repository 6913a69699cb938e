/*
 * trace_echo: an echo client and server on the host emulator, traced to
 * .kst, JSON and CTF at once through kos_shim_trace_start, with a C sink
 * that makes IPC itself.
 *
 * Checks here: the start spec's error codes; every call the program makes
 * (TRACE_ROUNDS round trips + the Quit round trip + one Call refused after
 * the server closed) reaches the C sink exactly once and nothing is lost;
 * the sink's own Call (one per record) passes through the shim untraced and
 * without recursion (kos_shim_reentrant_calls grows by exactly that many).
 * `make trace-test` (mk/trace.mk) then reads the files this run wrote with
 * kos-ipc-trace, python3 and babeltrace2.
 *
 * Output directory: $TRACE_ECHO_DIR (default build/trace-ctest), created.
 */
#define _POSIX_C_SOURCE 200809L

#include <coresrv/syscalls.h>
#include <rtl/retcode.h>
#include <services/rtl/nk_msg.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "echo_harness.h"

#define TRACE_ROUNDS 500
#define ECHO_IID 0x0E01
#define ECHO_MID_PING 1
#define ECHO_MID_QUIT 2
#define ARENA 256
/* Handle no one owns: the sink's own Calls go there. */
#define NOBODY ((Handle)0x7777)

struct msg {
    struct nk_message base_;
    nk_ptr_t text;
    nk_uint32_t seq;
    nk_uint32_t pad;
};

/* ---- the C sink -------------------------------------------------------- */

static atomic_ulong sink_calls, sink_lost_records, sink_own_calls, sink_depth_max, sink_responses;
static atomic_int sink_depth;
static atomic_long sink_own_rc = 1;

static void sink(void *ctx, const KosShimTraceRecord *rec, const uint8_t *payload,
                 size_t payload_len)
{
    (void)ctx;
    int depth = atomic_fetch_add(&sink_depth, 1) + 1;
    if ((unsigned long)depth > atomic_load(&sink_depth_max))
        atomic_store(&sink_depth_max, (unsigned long)depth);
    if (rec->kind == KOS_SHIM_TRACE_KIND_LOST) {
        atomic_fetch_add(&sink_lost_records, rec->dropped);
    } else {
        atomic_fetch_add(&sink_calls, 1);
        CHECK_EQ((size_t)rec->payload_const + rec->payload_arena + rec->payload_resp_const +
                     rec->payload_resp_arena,
                 payload_len);
        CHECK(payload_len == 0 || payload != NULL);
        /* Only a Call/CallEx that got its response carries one. */
        if (rec->op != 0 && rec->op != 1)
            CHECK_EQ(0, rec->payload_resp_const + rec->payload_resp_arena);
        if ((rec->op == 0 || rec->op == 1) && rec->rc == rcOk && payload_len > 0) {
            CHECK(rec->payload_resp_const > 0);
            atomic_fetch_add(&sink_responses, 1);
        }
        /* IPC from inside the tracer: must go straight to the backend. */
        struct msg m;
        SMsgHdr out, in;
        struct msg r;
        echo_harness_request(&m.base_, sizeof m, ECHO_IID, ECHO_MID_PING);
        memset(&r, 0, sizeof r);
        nk_req_reset(&r);
        CHECK_RC(rcOk, PackOutMsg(&out, &m.base_, NULL));
        CHECK_RC(rcOk, PackInMsg(&in, &r.base_, NULL));
        atomic_store(&sink_own_rc, Call(NOBODY, &out, &in));
        atomic_fetch_add(&sink_own_calls, 1);
    }
    atomic_fetch_sub(&sink_depth, 1);
}

/* ---- server and client ------------------------------------------------- */

/* The server's dispatch (an echo_harness_dispatch): answer with the same
 * mid, seq and arena text; stop after Quit. */
static int echo_back(void *ctx, const struct nk_message *msg, const struct nk_arena *req_arena,
                     struct nk_message *res_msg, struct nk_arena *res_arena)
{
    (void)ctx;
    const struct msg *req = (const struct msg *)msg;
    struct msg *res = (struct msg *)res_msg;
    nk_uint32_t len = 0;
    const nk_char_t *text = nk_arena_get(nk_char_t, req_arena, &req->text, &len);
    nk_req_reset(res);
    nk_msg_set_method_id(res, ECHO_IID, nk_msg_get_mid(req));
    res->seq = req->seq;
    if (text != NULL && len > 0)
        CHECK_EQ(NK_EOK, nk_arena_store(nk_char_t, res_arena, &res->text, text, len));
    return req->base_.mid == ECHO_MID_QUIT;
}

static Retcode ping(Handle h, nk_mid_t mid, uint32_t seq, const char *text)
{
    struct msg req, res;
    char req_buf[ARENA], res_buf[ARENA];
    struct nk_arena req_arena, res_arena;

    echo_harness_request(&req.base_, sizeof req, ECHO_IID, mid);
    req.seq = seq;
    echo_harness_arena_text(&req_arena, req_buf, sizeof req_buf, &req.text, text);
    Retcode rc = echo_harness_call(h, &req.base_, &req_arena, &res.base_, sizeof res, &res_arena,
                                   res_buf, sizeof res_buf);
    if (rc == rcOk)
        CHECK_EQ(seq, res.seq);
    return rc;
}

static void *client_main(void *arg)
{
    Handle h = *(Handle *)arg;
    char text[64];
    for (uint32_t i = 0; i < TRACE_ROUNDS; i++) {
        snprintf(text, sizeof text, "ping %u", (unsigned)i);
        CHECK_RC(rcOk, ping(h, ECHO_MID_PING, i, text));
    }
    CHECK_RC(rcOk, ping(h, ECHO_MID_QUIT, TRACE_ROUNDS, "quit"));
    return NULL;
}

int main(void)
{
    const char *dir = getenv("TRACE_ECHO_DIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "build/trace-ctest";
    char spec[1024];
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "trace_echo: cannot create %s\n", dir);
        return 1;
    }

    /* Spec errors leave tracing off. */
    CHECK_RC(rcInvalidArgument, kos_shim_trace_start(NULL));
    CHECK_RC(rcInvalidArgument, kos_shim_trace_start(""));
    CHECK_RC(rcInvalidArgument, kos_shim_trace_start("bogus:x"));
    CHECK_RC(rcInvalidArgument, kos_shim_trace_start("file:"));
    CHECK_RC(rcInvalidArgument, kos_shim_trace_start("off,stderr"));
    CHECK_RC(rcFail, kos_shim_trace_start("file:/nonexistent-dir/x.kst"));

    CHECK_RC(rcOk, kos_shim_trace_set_sink(sink, NULL));
    snprintf(spec, sizeof spec, "file:%s/trace_echo.kst,json:%s/trace_echo.json,ctf:%s/trace_echo.ctf",
             dir, dir, dir);
    uint64_t reentrant_before = 0;
    CHECK_RC(rcOk, kos_shim_reentrant_calls(&reentrant_before));
    CHECK_RC(rcOk, kos_shim_trace_start(spec));

    Handle server = INVALID_HANDLE, client = INVALID_HANDLE;
    echo_harness_channel("trace.Echo", &server, &client);
    echo_harness_server loop = {server, sizeof(struct msg), sizeof(struct msg), echo_back, NULL};
    echo_harness_run_pair(&loop, client_main, &client);
    CHECK_RC(rcOk, KnHandleClose(server));
    CHECK_RC(rcNotConnected, ping(client, ECHO_MID_PING, 9999, "late"));
    CHECK_RC(rcOk, KnHandleClose(client));

    CHECK_RC(rcOk, kos_shim_trace_stop());
    const unsigned long expected = 3ul * (TRACE_ROUNDS + 1) + 1;
    CHECK_EQ(expected, atomic_load(&sink_calls));
    CHECK_EQ(0, atomic_load(&sink_lost_records));
    CHECK_EQ(0, kos_shim_trace_lost());
    /* With payload capture, every Call that got its response carries it:
     * the TRACE_ROUNDS pings and Quit. */
    const char *capture = getenv("KOS_SHIM_TRACE_PAYLOAD");
    CHECK_EQ(capture && atoi(capture) > 0 ? TRACE_ROUNDS + 1ul : 0ul, atomic_load(&sink_responses));
    /* One untraced Call per record, none nested inside another. */
    CHECK_EQ(expected, atomic_load(&sink_own_calls));
    CHECK_EQ(1, atomic_load(&sink_depth_max));
    CHECK(atomic_load(&sink_own_rc) != rcOk);
    uint64_t reentrant_after = 0;
    CHECK_RC(rcOk, kos_shim_reentrant_calls(&reentrant_after));
    CHECK_EQ(expected, reentrant_after - reentrant_before);

    /* Stopped: calls are no longer traced. */
    unsigned long before = atomic_load(&sink_calls);
    CHECK_RC(rcOk, kos_shim_trace_flush());
    CHECK_EQ(before, atomic_load(&sink_calls));
    CHECK_RC(rcOk, kos_shim_trace_set_sink(NULL, NULL));

    printf("trace_echo: %lu calls traced, 0 lost, the sink's %lu own Calls untraced\n",
           atomic_load(&sink_calls), atomic_load(&sink_own_calls));
    return 0;
}
