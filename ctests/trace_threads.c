/*
 * trace_threads: an echo client thread and server thread with names
 * (pthread_setname_np), for the thread names and the time order of traces.
 *
 * The server names itself before its first Recv; the client is named by
 * main after pthread_create (as programs often do) and waits for that
 * before its first Call. Checks here: every round trip echoes its seq.
 * `make trace-test` (scripts/trace-test.sh) runs it with KOS_SHIM_TRACE
 * set to .kst, stderr, JSON and CTF and checks that each output names the
 * threads `echo.client` and `echo.server`, that the CTF has one event
 * class per operation and that the text export is in time order.
 */
#define _GNU_SOURCE /* pthread_setname_np */

#include <coresrv/syscalls.h>
#include <rtl/retcode.h>
#include <services/rtl/nk_msg.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "echo_harness.h"

#define ROUNDS 200
#define ECHO_IID 0x0E01
#define ECHO_MID_PING 1
#define ECHO_MID_QUIT 2
#define ARENA 64

struct msg {
    struct nk_message base_;
    nk_ptr_t text;
    nk_uint32_t seq;
    nk_uint32_t pad;
};

/* Set by main once it named the client thread. */
static atomic_int client_named;

/* The server's dispatch: answer with the same mid and seq; stop after Quit. */
static int echo_back(void *ctx, const struct nk_message *msg, const struct nk_arena *req_arena,
                     struct nk_message *res_msg, struct nk_arena *res_arena)
{
    (void)ctx;
    (void)req_arena;
    (void)res_arena;
    const struct msg *req = (const struct msg *)msg;
    struct msg *res = (struct msg *)res_msg;
    nk_req_reset(res);
    nk_msg_set_method_id(res, ECHO_IID, nk_msg_get_mid(req));
    res->seq = req->seq;
    return req->base_.mid == ECHO_MID_QUIT;
}

static void *server_main(void *arg)
{
    CHECK_EQ(0, pthread_setname_np(pthread_self(), "echo.server"));
    return echo_harness_serve(arg);
}

static void ping(Handle h, nk_mid_t mid, uint32_t seq)
{
    struct msg req, res;
    char req_buf[ARENA], res_buf[ARENA];
    struct nk_arena req_arena, res_arena;

    echo_harness_request(&req.base_, sizeof req, ECHO_IID, mid);
    req.seq = seq;
    echo_harness_arena_text(&req_arena, req_buf, sizeof req_buf, &req.text, "ping");
    CHECK_RC(rcOk, echo_harness_call(h, &req.base_, &req_arena, &res.base_, sizeof res,
                                     &res_arena, res_buf, sizeof res_buf));
    CHECK_EQ(seq, res.seq);
}

static void *client_main(void *arg)
{
    Handle h = *(Handle *)arg;
    while (!atomic_load(&client_named))
        sched_yield();
    for (uint32_t i = 0; i < ROUNDS; i++)
        ping(h, ECHO_MID_PING, i);
    ping(h, ECHO_MID_QUIT, ROUNDS);
    return NULL;
}

int main(void)
{
    Handle server = INVALID_HANDLE, client = INVALID_HANDLE;
    echo_harness_channel("threads.Echo", &server, &client);
    echo_harness_server loop = {server, sizeof(struct msg), sizeof(struct msg), echo_back, NULL};
    pthread_t st, ct;
    CHECK_EQ(0, pthread_create(&st, NULL, server_main, &loop));
    CHECK_EQ(0, pthread_create(&ct, NULL, client_main, &client));
    CHECK_EQ(0, pthread_setname_np(ct, "echo.client"));
    atomic_store(&client_named, 1);
    CHECK_EQ(0, pthread_join(ct, NULL));
    CHECK_EQ(0, pthread_join(st, NULL));
    CHECK_RC(rcOk, KnHandleClose(server));
    CHECK_RC(rcOk, KnHandleClose(client));
    printf("trace_threads: %d round trips between echo.client and echo.server\n", ROUNDS + 1);
    return 0;
}
