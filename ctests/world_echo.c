/*
 * world_echo: the SDK-style echo service of echo.c split into two
 * processes, joined by a host world (KOS_HOST_WORLD): the server process
 * registers its connection with kos_host_server_register and serves with
 * the harness's reset -> Recv -> dispatch -> Reply loop; the client process
 * connects with kos_host_connect (waiting for the registration, as listed
 * in KOS_HOST_CONNECTIONS) and makes WORLD_ROUNDS checked round trips.
 * Neither side calls anything world-specific: only the environment says
 * that the other end lives in another process.
 *
 * Then the server process ends (after Quit it closes its handle and
 * exits): a later Call returns rcNotConnected.
 */
#define _POSIX_C_SOURCE 200809L

#include <coresrv/syscalls.h>
#include <rtl/retcode.h>
#include <services/rtl/nk_msg.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "echo_harness.h"

#define WORLD_ROUNDS 2000
#define WORLD_IID 0x0E02
#define WORLD_MID_PING 1
#define WORLD_MID_QUIT 2

struct ping_req {
    struct nk_message base_;
    nk_ptr_t text;
    nk_uint32_t seq;
};

struct ping_res {
    struct nk_message base_;
    nk_ptr_t text;
    nk_uint32_t seq;
    nk_uint32_t pid; /* the server's process: not the client's */
};

/* Echo the text and sequence number; Quit stops the loop. */
static int dispatch(void *ctx, const struct nk_message *msg, const struct nk_arena *req_arena,
                    struct nk_message *res_msg, struct nk_arena *res_arena)
{
    unsigned *served = ctx;
    const struct ping_req *req = (const struct ping_req *)msg;
    struct ping_res *res = (struct ping_res *)res_msg;
    nk_req_reset(res);
    nk_msg_set_method_id(res, WORLD_IID, msg->mid);
    if (msg->mid == WORLD_MID_QUIT)
        return 1;
    nk_uint32_t len = 0;
    const nk_char_t *text = nk_arena_get(nk_char_t, req_arena, &req->text, &len);
    CHECK(text != NULL && len > 0 && text[len - 1] == '\0');
    CHECK_EQ(NK_EOK, nk_arena_store(nk_char_t, res_arena, &res->text, text, len));
    res->seq = req->seq;
    res->pid = (nk_uint32_t)getpid();
    (*served)++;
    return 0;
}

static int server_process(void)
{
    Handle h = INVALID_HANDLE;
    unsigned served = 0;
    CHECK_EQ(0, setenv("KOS_HOST_ENTITY", "echo.Server", 1));
    CHECK_RC(rcOk, kos_host_server_register("echo.Echo", &h));
    echo_harness_server loop = {h, sizeof(struct ping_req), sizeof(struct ping_res), dispatch,
                                &served};
    echo_harness_serve(&loop);
    CHECK_EQ(WORLD_ROUNDS, served);
    CHECK_RC(rcOk, KnHandleClose(h));
    return 0;
}

static Retcode ping(Handle h, nk_mid_t mid, const char *text, uint32_t seq, struct ping_res *res,
                    char *echoed, size_t cap)
{
    struct ping_req req;
    char req_buf[ECHO_HARNESS_ARENA], res_buf[ECHO_HARNESS_ARENA];
    struct nk_arena req_arena, res_arena;
    echo_harness_request(&req.base_, sizeof req, WORLD_IID, mid);
    req.seq = seq;
    echo_harness_arena_text(&req_arena, req_buf, sizeof req_buf, &req.text, text);
    Retcode rc = echo_harness_call(h, &req.base_, &req_arena, &res->base_, sizeof *res, &res_arena,
                                   res_buf, sizeof res_buf);
    if (rc == rcOk && mid == WORLD_MID_PING) {
        nk_size_t len = 0;
        const nk_char_t *got = nk_arena_get(nk_char_t, &res_arena, &res->text, &len);
        CHECK(got != NULL && len <= cap);
        memcpy(echoed, got, len);
    }
    return rc;
}

int main(void)
{
    char world[64];
    snprintf(world, sizeof world, "kos-world-echo-%d", (int)getpid());
    CHECK_EQ(0, setenv("KOS_HOST_WORLD", world, 1));
    CHECK_EQ(0, setenv("KOS_HOST_CONNECTIONS", "echo.Echo=echo.Server", 1));
    pid_t server = fork();
    CHECK(server >= 0);
    if (server == 0)
        _Exit(server_process());

    CHECK_EQ(0, setenv("KOS_HOST_ENTITY", "echo.Client", 1));
    Handle h = INVALID_HANDLE;
    CHECK_RC(rcOk, kos_host_connect("echo.Echo", &h));
    struct ping_res res;
    char text[300], echoed[ECHO_HARNESS_ARENA];
    unsigned ok = 0;
    for (uint32_t i = 0; i < WORLD_ROUNDS; i++) {
        size_t n = i % 257;
        for (size_t k = 0; k < n; k++)
            text[k] = (char)('a' + (i + k * 5) % 26);
        text[n] = '\0';
        memset(echoed, 0, sizeof echoed);
        CHECK_RC(rcOk, ping(h, WORLD_MID_PING, text, i, &res, echoed, sizeof echoed));
        CHECK_EQ(0, nk_msg_get_err(&res));
        CHECK_EQ(i, res.seq);
        CHECK_EQ(server, res.pid);
        CHECK_MEM(text, echoed, n + 1);
        ok++;
    }
    CHECK_RC(rcOk, ping(h, WORLD_MID_QUIT, "", 0, &res, echoed, sizeof echoed));
    int status = 0;
    CHECK_EQ(server, waitpid(server, &status, 0));
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* The server process is gone: calls on its channel are refused. */
    CHECK_RC(rcNotConnected, ping(h, WORLD_MID_PING, "late", 0, &res, echoed, sizeof echoed));
    CHECK_RC(rcOk, KnHandleClose(h));
    char path[80];
    snprintf(path, sizeof path, "/%s", world);
    CHECK_EQ(0, shm_unlink(path));
    printf("world_echo: %u round trips between two processes ok\n", ok);
    return 0;
}
