/*
 * Shared parts of the echo-style C tests (echo, stress, trace_echo): the
 * server loop, the client's request set-up and Call, and the host stand-in
 * for Einit that names a channel and connects to it.
 *
 * The server loop is the SDK's: reset -> Recv -> dispatch -> Reply, with
 * the request and the response each in a buffer that begins with
 * nk_message (the KCE layout, <nk/types.h>) and an arena of
 * ECHO_HARNESS_ARENA bytes (<nk/arena.h>). Each test supplies
 * only its dispatch function. Any failure of the loop's own steps ends the
 * test through check.h.
 */
#ifndef KOS_SHIM_CTESTS_ECHO_HARNESS_H
#define KOS_SHIM_CTESTS_ECHO_HARNESS_H

#include <pthread.h>
#include <string.h>

#include <coresrv/syscalls.h>
#include <rtl/retcode.h>
#include <nk/arena.h>
#include <services/rtl/nk_msg.h>

#include "check.h"

/* Largest request or response struct the server loop holds, in bytes. */
#define ECHO_HARNESS_MSG_MAX 256
/* The server's request and response arenas, in bytes each. */
#define ECHO_HARNESS_ARENA 512

/*
 * A test's dispatch step. `req` is the received request (its struct starts
 * with nk_message), `req_arena` its arena with the received bytes in use;
 * `res` is a zeroed response buffer of the server's res_size bytes and
 * `res_arena` an empty arena: fill them in (ids, ex.size_ex with
 * nk_msg_set_size or nk_req_reset, ex.err with nk_msg_set_err for an error
 * response). Return 1 to stop the loop after this reply, 0 to go on.
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

/* After a receive through `hdr` (packed with PackInMsg on `arena`): the
 * arena's bytes in use are the ones that arrived. The emulator reports
 * them in descriptor 1's size (this project's convention; the NK transport
 * will do this step later). */
static inline void echo_harness_arena_received(struct nk_arena *arena, const SMsgHdr *hdr)
{
    CHECK(hdr->indirDescs[1].size <= nk_arena_capacity(arena));
    arena->current = (char *)arena->start + hdr->indirDescs[1].size;
}

/* The server loop (a pthread start routine; `arg` is an echo_harness_server):
 * reset -> Recv -> dispatch -> Reply until dispatch returns 1. The reply
 * names the thread whose request it answers (threadId from the Recv header),
 * as the NK transport does. */
static inline void *echo_harness_serve(void *arg)
{
    const echo_harness_server *s = arg;
    _Alignas(8) unsigned char req_msg[ECHO_HARNESS_MSG_MAX], res_msg[ECHO_HARNESS_MSG_MAX];
    char req_buf[ECHO_HARNESS_ARENA], res_buf[ECHO_HARNESS_ARENA];
    struct nk_message *req = (struct nk_message *)req_msg, *res = (struct nk_message *)res_msg;
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buf, req_buf + sizeof req_buf);
    struct nk_arena res_arena = NK_ARENA_INITIALIZER(res_buf, res_buf + sizeof res_buf);
    SMsgHdr in, out;

    CHECK(s->req_size >= sizeof *req && s->req_size <= sizeof req_msg);
    CHECK(s->res_size >= sizeof *res && s->res_size <= sizeof res_msg);
    for (;;) {
        /* reset (as nk_req_reset does for a typed request): ex.size_ex is
         * the capacity PackInMsg gives the receive */
        memset(req, 0, s->req_size);
        nk_msg_set_size(req, s->req_size);
        nk_arena_reset(&req_arena);
        CHECK_RC(rcOk, PackInMsg(&in, req, &req_arena));
        CHECK_RC(rcOk, Recv(s->handle, &in));
        CHECK_EQ(nk_msg_get_size(req), in.indirDescs[0].size);
        echo_harness_arena_received(&req_arena, &in);
        memset(res, 0, s->res_size);
        nk_arena_reset(&res_arena);
        int quit = s->dispatch(s->ctx, req, &req_arena, res, &res_arena);
        CHECK_RC(rcOk, PackOutMsg(&out, res, &res_arena));
        out.threadId = in.threadId;
        CHECK_RC(rcOk, Reply(s->handle, &out));
        if (quit)
            return NULL;
    }
}

/* Zero a request struct of `size` bytes and fill in its nk_message:
 * ex.size_ex = size, addressed to method `mid` of interface `iid`. */
static inline void echo_harness_request(struct nk_message *req, size_t size, nk_iid_t iid,
                                        nk_mid_t mid)
{
    memset(req, 0, size);
    nk_msg_set_size(req, size);
    nk_msg_set_method_id(req, iid, mid);
}

/* Make `arena` an empty arena on `buf` (`size` bytes) and store the string
 * `text` with its NUL there, referenced by `ref`. */
static inline void echo_harness_arena_text(struct nk_arena *arena, char *buf, size_t size,
                                           nk_ptr_t *ref, const char *text)
{
    nk_arena_init(arena, buf, buf + size);
    CHECK_EQ(NK_EOK, nk_arena_store(nk_char_t, arena, ref, text, strlen(text) + 1));
}

/* Call on `h`: send `req` with its (already filled) arena; receive into the
 * zeroed `res` of capacity `res_size` and `res_arena`, made here on
 * `res_buf` of `res_buf_size` bytes; on rcOk the response's arena bytes
 * are in use in `res_arena`. Returns Call's result. */
static inline Retcode echo_harness_call(Handle h, const struct nk_message *req,
                                        struct nk_arena *req_arena, struct nk_message *res,
                                        size_t res_size, struct nk_arena *res_arena,
                                        char *res_buf, size_t res_buf_size)
{
    SMsgHdr out, in;
    memset(res, 0, res_size);
    nk_msg_set_size(res, res_size);
    nk_arena_init(res_arena, res_buf, res_buf + res_buf_size);
    CHECK_RC(rcOk, PackOutMsg(&out, req, req_arena));
    CHECK_RC(rcOk, PackInMsg(&in, res, res_arena));
    Retcode rc = Call(h, &out, &in);
    if (rc == rcOk) {
        CHECK_EQ(nk_msg_get_size(res), in.indirDescs[0].size);
        echo_harness_arena_received(res_arena, &in);
    }
    return rc;
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
