/*
 * Shared parts of the echo-style C tests (echo, stress, trace_echo): the
 * server loop, the client's request set-up and Call, and the host stand-in
 * for Einit that names a channel and connects to it.
 *
 * The server loop is the SDK's: reset -> Recv -> dispatch -> Reply, with
 * the request and the response each in a buffer that begins with
 * nk_message and an arena of ECHO_HARNESS_ARENA bytes. Each test supplies
 * only its dispatch function. Any failure of the loop's own steps ends the
 * test through check.h.
 */
#ifndef KOS_SHIM_CTESTS_ECHO_HARNESS_H
#define KOS_SHIM_CTESTS_ECHO_HARNESS_H

#include <pthread.h>
#include <string.h>

#include <coresrv/syscalls.h>
#include <rtl/retcode.h>
#include <services/rtl/nk_msg.h>

#include "check.h"

/* Largest request or response struct the server loop holds, in bytes. */
#define ECHO_HARNESS_MSG_MAX 256
/* The server's request and response arenas, in bytes each. */
#define ECHO_HARNESS_ARENA 512

/*
 * A test's dispatch step. `req` is the received request (its struct starts
 * with nk_message), `req_arena` its arena; `res` is a zeroed response
 * buffer of the server's res_size bytes and `res_arena` an empty arena:
 * fill them in (including res->size and res->kind). Return 1 to stop the
 * loop after this reply, 0 to go on.
 */
typedef int (*echo_harness_dispatch)(void *ctx, const struct nk_message *req,
                                     const struct nk_arena *req_arena, struct nk_message *res,
                                     struct nk_arena *res_arena);

/* One server thread's loop: what it serves and how. */
typedef struct {
    Handle handle;
    size_t req_size; /* request capacity, <= ECHO_HARNESS_MSG_MAX */
    size_t res_size; /* response struct size, <= ECHO_HARNESS_MSG_MAX */
    echo_harness_dispatch dispatch;
    void *ctx; /* passed to dispatch */
} echo_harness_server;

/* The server loop (a pthread start routine; `arg` is an echo_harness_server):
 * reset -> Recv -> dispatch -> Reply until dispatch returns 1. */
static inline void *echo_harness_serve(void *arg)
{
    const echo_harness_server *s = arg;
    _Alignas(8) unsigned char req_msg[ECHO_HARNESS_MSG_MAX], res_msg[ECHO_HARNESS_MSG_MAX];
    char req_buf[ECHO_HARNESS_ARENA], res_buf[ECHO_HARNESS_ARENA];
    struct nk_message *req = (struct nk_message *)req_msg, *res = (struct nk_message *)res_msg;
    struct nk_arena req_arena, res_arena;
    SMsgHdr in, out;

    CHECK(s->req_size >= sizeof *req && s->req_size <= sizeof req_msg);
    CHECK(s->res_size >= sizeof *res && s->res_size <= sizeof res_msg);
    nk_arena_init(&req_arena, req_buf, sizeof req_buf);
    nk_arena_init(&res_arena, res_buf, sizeof res_buf);
    for (;;) {
        /* reset (like NK's nk_req_reset): the size field is the capacity */
        memset(req, 0, s->req_size);
        req->size = (nk_uint32_t)s->req_size;
        nk_arena_reset(&req_arena);
        CHECK_RC(rcOk, PackInMsg(&in, req, &req_arena));
        CHECK_RC(rcOk, Recv(s->handle, &in));
        memset(res, 0, s->res_size);
        nk_arena_reset(&res_arena);
        int quit = s->dispatch(s->ctx, req, &req_arena, res, &res_arena);
        CHECK_RC(rcOk, PackOutMsg(&out, res, &res_arena));
        CHECK_RC(rcOk, Reply(s->handle, &out));
        if (quit)
            return NULL;
    }
}

/* Zero a request struct of `size` bytes and fill in its nk_message:
 * (iid, mid), its own size, kind NK_MSG_KIND_REQUEST. */
static inline void echo_harness_request(struct nk_message *req, size_t size, nk_iid_t iid,
                                        nk_mid_t mid)
{
    memset(req, 0, size);
    req->iid = iid;
    req->mid = mid;
    req->size = (nk_uint32_t)size;
    req->kind = NK_MSG_KIND_REQUEST;
}

/* Initialise `arena` on `buf` (`size` bytes) and store the string `text`
 * with its NUL there, referenced by `ref`. */
static inline void echo_harness_arena_text(struct nk_arena *arena, char *buf, size_t size,
                                           nk_ptr_t *ref, const char *text)
{
    nk_arena_init(arena, buf, size);
    CHECK_RC(rcOk, nk_arena_store(arena, ref, text, strlen(text) + 1));
}

/* Call on `h`: send `req` with its (already filled) arena; receive into the
 * zeroed `res` of capacity `res_size` and `res_arena`, initialised here on
 * `res_buf` of `res_buf_size` bytes. Returns Call's result. */
static inline Retcode echo_harness_call(Handle h, const struct nk_message *req,
                                        struct nk_arena *req_arena, struct nk_message *res,
                                        size_t res_size, struct nk_arena *res_arena,
                                        char *res_buf, size_t res_buf_size)
{
    SMsgHdr out, in;
    memset(res, 0, res_size);
    res->size = (nk_uint32_t)res_size;
    nk_arena_init(res_arena, res_buf, res_buf_size);
    CHECK_RC(rcOk, PackOutMsg(&out, req, req_arena));
    CHECK_RC(rcOk, PackInMsg(&in, res, res_arena));
    return Call(h, &out, &in);
}

/* Host only (Einit's job on KasperskyOS): register `name` for the server
 * and connect a client handle to it. */
static inline void echo_harness_channel(const char *name, Handle *server, Handle *client)
{
    CHECK_RC(rcOk, kos_host_server_register(name, server));
    CHECK_RC(rcOk, kos_host_connect(name, client));
}

/* Run one server loop and one client thread (`client_main(client_arg)`)
 * and wait for both: the client first, then the server it stopped. */
static inline void echo_harness_run_pair(echo_harness_server *server,
                                         void *(*client_main)(void *), void *client_arg)
{
    pthread_t st, ct;
    CHECK_EQ(0, pthread_create(&st, NULL, echo_harness_serve, server));
    CHECK_EQ(0, pthread_create(&ct, NULL, client_main, client_arg));
    CHECK_EQ(0, pthread_join(ct, NULL));
    CHECK_EQ(0, pthread_join(st, NULL));
}

#endif /* KOS_SHIM_CTESTS_ECHO_HARNESS_H */
