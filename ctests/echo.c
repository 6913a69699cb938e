/*
 * echo: an echo service written the way KasperskyOS SDK programs are
 * written -- SDK include paths only, request/response structs that begin
 * with nk_message, strings in the arena (nk_arena_store / nk_arena_get), and
 * a server loop reset -> Recv -> dispatch on iid then mid -> Reply (the loop
 * is ctests/echo_harness.h's) -- run on Linux against the host emulator with
 * a client and a server thread.
 *
 * The client makes ECHO_ROUNDS round trips and checks every response: the
 * echoed string, its length and a checksum the server computes. Then it
 * sends an unknown method, an unknown interface and a request whose arena
 * reference points outside the arena; each gets an error response
 * (ex.err set, with the status the server chose). Finally Quit.
 */
#define _POSIX_C_SOURCE 200809L

#include <coresrv/syscalls.h>
#include <rtl/retcode.h>
#include <services/rtl/nk_msg.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "echo_harness.h"

#define ECHO_ROUNDS 10000
#define ECHO_IID 0x0E01
#define ECHO_MID_PING 1
#define ECHO_MID_QUIT 2
#define ECHO_ARENA_SIZE ECHO_HARNESS_ARENA

/* The interface as NK would generate it. */
struct echo_Ping_req {
    struct nk_message base_;
    nk_ptr_t text;
    nk_uint32_t seq;
};

struct echo_Ping_res {
    struct nk_message base_;
    nk_ptr_t text;
    nk_uint32_t seq;
    nk_uint32_t length;
    nk_uint32_t checksum;
    Retcode status; /* rcOk, or why the request was refused */
};

/* Every request the server may receive fits here. */
union echo_req {
    struct nk_message base_;
    struct echo_Ping_req ping;
};

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

/* ---- server ---------------------------------------------------------- */

struct server_ctx {
    unsigned served;  /* Ping requests answered with rcOk status */
    unsigned refused; /* requests answered with an error response */
};

static void error_response(struct echo_Ping_res *res, const struct nk_message *req, Retcode why)
{
    memset(res, 0, sizeof *res);
    nk_req_reset(res);
    nk_msg_set_method_id(res, req->iid, req->mid);
    nk_msg_set_err(res, 1);
    res->status = why;
}

/* An echo_harness_dispatch: returns 1 when the server should stop. */
static int echo_dispatch(void *arg, const struct nk_message *msg, const struct nk_arena *req_arena,
                         struct nk_message *res_msg, struct nk_arena *res_arena)
{
    struct server_ctx *ctx = arg;
    const union echo_req *req = (const union echo_req *)msg;
    struct echo_Ping_res *res = (struct echo_Ping_res *)res_msg;
    if (req->base_.iid != ECHO_IID) {
        error_response(res, &req->base_, rcInvalidArgument);
        ctx->refused++;
        return 0;
    }
    switch (req->base_.mid) {
    case ECHO_MID_PING: {
        nk_uint32_t len = 0;
        const nk_char_t *text = nk_arena_get(nk_char_t, req_arena, &req->ping.text, &len);
        if (text == NULL || len == 0 || text[len - 1] != '\0') {
            error_response(res, &req->base_, rcInvalidArgument);
            ctx->refused++;
            return 0;
        }
        memset(res, 0, sizeof *res);
        nk_req_reset(res);
        nk_msg_set_method_id(res, ECHO_IID, ECHO_MID_PING);
        res->seq = req->ping.seq;
        res->length = (nk_uint32_t)strlen(text);
        res->checksum = fnv1a(text, res->length) ^ req->ping.seq;
        res->status = nk_arena_store(nk_char_t, res_arena, &res->text, text, len) == NK_EOK
                          ? rcOk
                          : rcOutOfMemory;
        ctx->served++;
        return 0;
    }
    case ECHO_MID_QUIT:
        memset(res, 0, sizeof *res);
        nk_req_reset(res);
        nk_msg_set_method_id(res, ECHO_IID, ECHO_MID_QUIT);
        return 1;
    default:
        error_response(res, &req->base_, rcUnimplemented);
        ctx->refused++;
        return 0;
    }
}

/* ---- client ---------------------------------------------------------- */

struct client_ctx {
    Handle handle;
    unsigned round_trips;
    unsigned error_responses;
};

/* One Ping: send `text` (or, with `bad_ref`, a reference past the arena). */
static Retcode echo_ping(Handle h, nk_iid_t iid, nk_mid_t mid, const char *text, uint32_t seq,
                         int bad_ref, struct echo_Ping_res *res, char *echoed, size_t echoed_cap)
{
    struct echo_Ping_req req;
    char req_buf[ECHO_ARENA_SIZE], res_buf[ECHO_ARENA_SIZE];
    struct nk_arena req_arena, res_arena;

    echo_harness_request(&req.base_, sizeof req, iid, mid);
    req.seq = seq;
    echo_harness_arena_text(&req_arena, req_buf, sizeof req_buf, &req.text, text);
    if (bad_ref)
        req.text.offset = ECHO_ARENA_SIZE; /* outside [start, current) */
    Retcode rc = echo_harness_call(h, &req.base_, &req_arena, &res->base_, sizeof *res, &res_arena,
                                   res_buf, sizeof res_buf);
    if (rc == rcOk && !nk_msg_get_err(res) && mid == ECHO_MID_PING) {
        nk_size_t len = 0;
        const nk_char_t *got = nk_arena_get(nk_char_t, &res_arena, &res->text, &len);
        CHECK(got != NULL);
        CHECK(len <= echoed_cap);
        memcpy(echoed, got, len);
    }
    return rc;
}

static void *client_main(void *arg)
{
    struct client_ctx *ctx = arg;
    struct echo_Ping_res res;
    char text[300], echoed[ECHO_ARENA_SIZE];

    for (uint32_t i = 0; i < ECHO_ROUNDS; i++) {
        /* Lengths 0..256, contents that change with i. */
        size_t n = i % 257;
        for (size_t k = 0; k < n; k++)
            text[k] = (char)('a' + (i + k * 7) % 26);
        text[n] = '\0';
        memset(echoed, 0, sizeof echoed);
        CHECK_RC(rcOk, echo_ping(ctx->handle, ECHO_IID, ECHO_MID_PING, text, i, 0, &res, echoed,
                                 sizeof echoed));
        CHECK_EQ(0, nk_msg_get_err(&res));
        CHECK_EQ(ECHO_IID, nk_msg_get_iid(&res));
        CHECK_EQ(ECHO_MID_PING, nk_msg_get_mid(&res));
        CHECK_EQ(sizeof res, nk_msg_get_size(&res));
        CHECK_EQ(0, nk_msg_get_ncaps(&res));
        CHECK_RC(rcOk, res.status);
        CHECK_EQ(i, res.seq);
        CHECK_EQ(n, res.length);
        CHECK_EQ(n + 1, res.text.size);
        CHECK_EQ(fnv1a(text, n) ^ i, res.checksum);
        CHECK_MEM(text, echoed, n + 1);
        ctx->round_trips++;
    }

    /* Unknown method, unknown interface, reference outside the arena. */
    CHECK_RC(rcOk, echo_ping(ctx->handle, ECHO_IID, 77, "x", 1, 0, &res, echoed, sizeof echoed));
    CHECK_EQ(1, nk_msg_get_err(&res));
    CHECK_EQ(77, nk_msg_get_mid(&res));
    CHECK_RC(rcUnimplemented, res.status);
    ctx->error_responses++;

    CHECK_RC(rcOk, echo_ping(ctx->handle, 0x0BAD, ECHO_MID_PING, "x", 2, 0, &res, echoed,
                             sizeof echoed));
    CHECK_EQ(1, nk_msg_get_err(&res));
    CHECK_EQ(0x0BAD, nk_msg_get_iid(&res));
    CHECK_RC(rcInvalidArgument, res.status);
    ctx->error_responses++;

    CHECK_RC(rcOk, echo_ping(ctx->handle, ECHO_IID, ECHO_MID_PING, "x", 3, 1, &res, echoed,
                             sizeof echoed));
    CHECK_EQ(1, nk_msg_get_err(&res));
    CHECK_RC(rcInvalidArgument, res.status);
    ctx->error_responses++;

    CHECK_RC(rcOk, echo_ping(ctx->handle, ECHO_IID, ECHO_MID_QUIT, "", 4, 0, &res, echoed,
                             sizeof echoed));
    CHECK_EQ(0, nk_msg_get_err(&res));
    CHECK_EQ(ECHO_MID_QUIT, nk_msg_get_mid(&res));
    return NULL;
}

int main(void)
{
    struct server_ctx server = {0};
    struct client_ctx client = {0};
    Handle server_handle = INVALID_HANDLE;

    /* Host only: on KasperskyOS, Einit creates the channel from the init
     * description; here the host emulator's name service stands in. */
    echo_harness_channel("echo.Echo", &server_handle, &client.handle);
    echo_harness_server loop = {server_handle, sizeof(union echo_req),
                                sizeof(struct echo_Ping_res), echo_dispatch, &server};
    echo_harness_run_pair(&loop, client_main, &client);

    CHECK_EQ(ECHO_ROUNDS, client.round_trips);
    CHECK_EQ(ECHO_ROUNDS, server.served);
    CHECK_EQ(3, client.error_responses);
    CHECK_EQ(3, server.refused);

    /* The server is gone: its name is free and new calls are refused. */
    CHECK_RC(rcOk, KnHandleClose(server_handle));
    struct echo_Ping_res res;
    char echoed[ECHO_ARENA_SIZE];
    CHECK_RC(rcNotConnected, echo_ping(client.handle, ECHO_IID, ECHO_MID_PING, "late", 5, 0, &res,
                                       echoed, sizeof echoed));
    Handle again = INVALID_HANDLE;
    CHECK_RC(rcNotConnected, kos_host_connect("echo.Echo", &again));
    CHECK_RC(rcOk, KnHandleClose(client.handle));

    printf("echo: %u round trips ok, %u error responses ok\n", client.round_trips,
           client.error_responses);
    return 0;
}
