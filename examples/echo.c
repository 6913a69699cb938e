/*
 * Echo example: a KasperskyOS-style client and server, built for Linux with
 * kos-ipc-shim and its host kernel emulator (`make demo`).
 *
 * The code uses only the SDK's include paths and calls: requests and
 * responses begin with nk_message, strings travel in the arena, the server
 * loop is reset -> Recv -> dispatch -> Reply, the client uses Call. The only
 * host-specific lines are the two kos_host_* calls that stand in for what
 * Einit does on KasperskyOS (creating the channel between the processes).
 *
 * Build by hand:
 *   cc -std=c11 -Iinclude/kos examples/echo.c target/release/libkos_ipc_shim.a \
 *      -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o echo
 */
#include <coresrv/syscalls.h>
#include <rtl/retcode.h>
#include <services/rtl/nk_msg.h>

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define ECHO_IID 1
#define ECHO_MID_ECHO 1  /* answer the text as it is */
#define ECHO_MID_UPPER 2 /* answer the text in capitals */
#define ECHO_MID_QUIT 3  /* stop the server */
#define TEXT_MAX 128

struct echo_req {
    struct nk_message base_;
    nk_ptr_t text;
};

struct echo_res {
    struct nk_message base_;
    nk_ptr_t text;
    Retcode status;
};

static const char *method_name(nk_mid_t mid)
{
    switch (mid) {
    case ECHO_MID_ECHO: return "Echo";
    case ECHO_MID_UPPER: return "Upper";
    case ECHO_MID_QUIT: return "Quit";
    default: return "unknown";
    }
}

/* ---- server ---- */

struct server_stats {
    unsigned received, answered, refused;
};

static void *server(void *arg)
{
    Handle h = *(Handle *)arg;
    static struct server_stats stats;
    struct echo_req req;
    struct echo_res res;
    char in_buf[TEXT_MAX], out_buf[TEXT_MAX], text[TEXT_MAX];
    struct nk_arena in_arena, out_arena;
    SMsgHdr in, out;

    nk_arena_init(&in_arena, in_buf, sizeof in_buf);
    nk_arena_init(&out_arena, out_buf, sizeof out_buf);
    for (;;) {
        /* reset */
        memset(&req, 0, sizeof req);
        req.base_.size = sizeof req;
        nk_arena_reset(&in_arena);
        nk_arena_reset(&out_arena);
        if (PackInMsg(&in, &req.base_, &in_arena) != rcOk)
            break;
        /* Recv */
        Retcode rc = Recv(h, &in);
        if (rc != rcOk) {
            printf("  server: Recv failed: 0x%08x\n", (unsigned)rc);
            break;
        }
        stats.received++;
        /* dispatch */
        memset(&res, 0, sizeof res);
        res.base_ = (struct nk_message){.iid = req.base_.iid, .mid = req.base_.mid,
                                        .size = sizeof res, .kind = NK_MSG_KIND_RESPONSE};
        rtl_size_t len = 0;
        const char *s = nk_arena_get(&in_arena, &req.text, &len);
        if (req.base_.iid != ECHO_IID || s == NULL || len == 0 || len > TEXT_MAX ||
            s[len - 1] != '\0') {
            res.base_.kind = NK_MSG_KIND_ERROR;
            res.status = rcInvalidArgument;
        } else if (req.base_.mid == ECHO_MID_ECHO || req.base_.mid == ECHO_MID_UPPER) {
            for (size_t i = 0; i < len; i++)
                text[i] = req.base_.mid == ECHO_MID_UPPER ? (char)toupper((unsigned char)s[i])
                                                          : s[i];
            res.status = nk_arena_store(&out_arena, &res.text, text, len);
        } else if (req.base_.mid == ECHO_MID_QUIT) {
            res.status = nk_arena_store(&out_arena, &res.text, "stopping", sizeof "stopping");
        } else {
            res.base_.kind = NK_MSG_KIND_ERROR;
            res.status = rcUnimplemented;
        }
        printf("  server: received %s(\"%s\"), answering %s\n", method_name(req.base_.mid),
               s ? s : "", res.base_.kind == NK_MSG_KIND_ERROR ? "with an error" : "it");
        if (res.base_.kind == NK_MSG_KIND_ERROR)
            stats.refused++;
        else
            stats.answered++;
        /* Reply */
        if (PackOutMsg(&out, &res.base_, &out_arena) != rcOk || Reply(h, &out) != rcOk)
            break;
        if (req.base_.mid == ECHO_MID_QUIT)
            break;
    }
    return &stats;
}

/* ---- client ---- */

static Retcode call(Handle h, nk_mid_t mid, const char *text, char *answer, Retcode *status)
{
    struct echo_req req = {.base_ = {.iid = ECHO_IID, .mid = mid, .size = sizeof req,
                                     .kind = NK_MSG_KIND_REQUEST}};
    struct echo_res res = {.base_ = {.size = sizeof res}};
    char req_buf[TEXT_MAX], res_buf[TEXT_MAX];
    struct nk_arena req_arena, res_arena;
    SMsgHdr out, in;

    nk_arena_init(&req_arena, req_buf, sizeof req_buf);
    nk_arena_init(&res_arena, res_buf, sizeof res_buf);
    Retcode rc = nk_arena_store(&req_arena, &req.text, text, strlen(text) + 1);
    if (rc == rcOk)
        rc = PackOutMsg(&out, &req.base_, &req_arena);
    if (rc == rcOk)
        rc = PackInMsg(&in, &res.base_, &res_arena);
    if (rc == rcOk)
        rc = Call(h, &out, &in);
    if (rc != rcOk)
        return rc;
    *status = res.base_.kind == NK_MSG_KIND_ERROR ? res.status : rcOk;
    rtl_size_t len = 0;
    const char *s = nk_arena_get(&res_arena, &res.text, &len);
    snprintf(answer, TEXT_MAX, "%.*s", s ? (int)len : 0, s ? s : "");
    return rcOk;
}

int main(void)
{
    Handle server_handle, client_handle;
    pthread_t thread;
    void *result;
    static const struct {
        nk_mid_t mid;
        const char *text;
    } requests[] = {
        {ECHO_MID_ECHO, "hello, KasperskyOS"},
        {ECHO_MID_UPPER, "make me loud"},
        {ECHO_MID_ECHO, "the shim saw this call"},
        {9, "a method the server does not have"},
        {ECHO_MID_QUIT, "bye"},
    };
    unsigned sent = 0, answered = 0, errors = 0;

    /* Host stand-in for Einit: a named channel and a client handle on it. */
    if (kos_host_server_register("demo.Echo", &server_handle) != rcOk ||
        kos_host_connect("demo.Echo", &client_handle) != rcOk) {
        fprintf(stderr, "echo demo: could not set up the channel\n");
        return 1;
    }
    printf("echo demo: server thread on handle %u, client on handle %u\n",
           (unsigned)server_handle, (unsigned)client_handle);
    if (pthread_create(&thread, NULL, server, &server_handle) != 0)
        return 1;

    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        char answer[TEXT_MAX];
        Retcode status = rcOk;
        printf("client: %s(\"%s\")\n", method_name(requests[i].mid), requests[i].text);
        Retcode rc = call(client_handle, requests[i].mid, requests[i].text, answer, &status);
        sent++;
        if (rc != rcOk) {
            printf("client: Call failed: 0x%08x\n", (unsigned)rc);
            return 1;
        }
        if (status != rcOk) {
            printf("client:   -> error response, status 0x%08x%s\n", (unsigned)status,
                   status == rcUnimplemented ? " (rcUnimplemented)" : "");
            errors++;
        } else {
            printf("client:   -> \"%s\"\n", answer);
            answered++;
        }
    }
    pthread_join(thread, &result);
    const struct server_stats *st = result;

    /* After the server handle is closed, calls fail with rcNotConnected. */
    KnHandleClose(server_handle);
    char answer[TEXT_MAX];
    Retcode status;
    Retcode late = call(client_handle, ECHO_MID_ECHO, "anyone there?", answer, &status);
    printf("client: Echo after the server closed -> %s\n",
           late == rcNotConnected ? "rcNotConnected" : "unexpected result");
    KnHandleClose(client_handle);

    printf("echo demo: %u requests sent, %u answered, %u refused; the server received %u\n",
           sent, answered, errors, st->received);
    return late == rcNotConnected && st->received == sent && errors == 1 ? 0 : 1;
}
