/*
 * stress: STRESS_CLIENTS client threads make STRESS_CALLS calls each on one
 * channel served by STRESS_SERVERS server threads. Every reply must belong
 * to its request: it carries the caller's id and per-thread sequence number,
 * a value computed from both, and the request's arena payload echoed back.
 * Clients 0..3 share one client handle, the others have their own.
 */
#define _POSIX_C_SOURCE 200809L

#include <coresrv/syscalls.h>
#include <rtl/retcode.h>
#include <services/rtl/nk_msg.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "echo_harness.h"

#define STRESS_CLIENTS 8
#define STRESS_SERVERS 2
#define STRESS_CALLS 10000
#define SHARED_HANDLE_CLIENTS 4
#define IID 0x5757
#define MID_WORK 1
#define MID_QUIT 2
#define PAYLOAD 32

struct work_req {
    struct nk_message base_;
    nk_uint32_t client;
    nk_uint32_t seq;
    nk_ptr_t payload;
};

struct work_res {
    struct nk_message base_;
    nk_uint32_t client;
    nk_uint32_t seq;
    nk_uint32_t value;
    nk_uint32_t server;
    nk_ptr_t payload;
};

static uint32_t work_value(uint32_t client, uint32_t seq)
{
    uint32_t x = client * 0x9E3779B9u ^ seq * 0x85EBCA6Bu;
    x ^= x >> 15;
    return x * 0xC2B2AE35u;
}

static size_t make_payload(char *buf, uint32_t client, uint32_t seq)
{
    int n = snprintf(buf, PAYLOAD, "c%u-s%u", (unsigned)client, (unsigned)seq);
    CHECK(n > 0 && n < PAYLOAD);
    return (size_t)n + 1;
}

struct server_ctx {
    pthread_t thread;
    echo_harness_server loop; /* its ctx: this server_ctx */
    uint32_t id;
    unsigned served[STRESS_CLIENTS];
    unsigned total;
};

/* The servers' dispatch (an echo_harness_dispatch): check the request,
 * answer it with the value and the payload echoed; stop after Quit. */
static int work_dispatch(void *arg, const struct nk_message *msg, const struct nk_arena *req_arena,
                         struct nk_message *res_msg, struct nk_arena *res_arena)
{
    struct server_ctx *ctx = arg;
    const struct work_req *req = (const struct work_req *)msg;
    struct work_res *res = (struct work_res *)res_msg;
    char expect[PAYLOAD];

    CHECK_EQ(IID, nk_msg_get_iid(req));
    nk_req_reset(res);
    nk_msg_set_method_id(res, IID, nk_msg_get_mid(req));
    int quit = req->base_.mid == MID_QUIT;
    if (!quit) {
        CHECK_EQ(MID_WORK, req->base_.mid);
        CHECK(req->client < STRESS_CLIENTS);
        nk_uint32_t len = 0;
        const nk_char_t *p = nk_arena_get(nk_char_t, req_arena, &req->payload, &len);
        CHECK(p != NULL);
        CHECK_EQ(make_payload(expect, req->client, req->seq), len);
        CHECK_MEM(expect, p, len);
        res->client = req->client;
        res->seq = req->seq;
        res->value = work_value(req->client, req->seq);
        res->server = ctx->id;
        CHECK_EQ(NK_EOK, nk_arena_store(nk_char_t, res_arena, &res->payload, p, len));
        ctx->served[req->client]++;
        ctx->total++;
    }
    return quit;
}

struct client_ctx {
    pthread_t thread;
    Handle handle;
    uint32_t id;
    unsigned matched;
    unsigned by_server[STRESS_SERVERS];
};

static Retcode work_call(Handle h, nk_mid_t mid, uint32_t client, uint32_t seq,
                         struct work_res *res, char *res_buf)
{
    struct work_req req;
    char req_buf[PAYLOAD];
    struct nk_arena req_arena, res_arena;

    echo_harness_request(&req.base_, sizeof req, IID, mid);
    req.client = client;
    req.seq = seq;
    nk_arena_init(&req_arena, req_buf, req_buf + sizeof req_buf);
    char payload[PAYLOAD];
    size_t len = make_payload(payload, client, seq);
    CHECK_EQ(NK_EOK, nk_arena_store(nk_char_t, &req_arena, &req.payload, payload, len));
    Retcode rc = echo_harness_call(h, &req.base_, &req_arena, &res->base_, sizeof *res, &res_arena,
                                   res_buf, PAYLOAD);
    if (rc == rcOk && mid == MID_WORK) {
        nk_size_t got_len = 0;
        const nk_char_t *got = nk_arena_get(nk_char_t, &res_arena, &res->payload, &got_len);
        CHECK(got != NULL);
        CHECK_EQ(len, got_len);
        CHECK_MEM(payload, got, len);
    }
    return rc;
}

static void *client_main(void *arg)
{
    struct client_ctx *ctx = arg;
    struct work_res res;
    char res_buf[PAYLOAD];

    for (uint32_t seq = 0; seq < STRESS_CALLS; seq++) {
        CHECK_RC(rcOk, work_call(ctx->handle, MID_WORK, ctx->id, seq, &res, res_buf));
        CHECK_EQ(0, nk_msg_get_err(&res));
        CHECK_EQ(MID_WORK, nk_msg_get_mid(&res));
        CHECK_EQ(ctx->id, res.client);
        CHECK_EQ(seq, res.seq);
        CHECK_EQ(work_value(ctx->id, seq), res.value);
        CHECK(res.server < STRESS_SERVERS);
        ctx->by_server[res.server]++;
        ctx->matched++;
    }
    return NULL;
}

int main(void)
{
    struct server_ctx servers[STRESS_SERVERS];
    struct client_ctx clients[STRESS_CLIENTS];
    Handle server = INVALID_HANDLE, shared = INVALID_HANDLE;

    /* Host only: Einit's job on KasperskyOS. */
    echo_harness_channel("stress.Work", &server, &shared);

    memset(servers, 0, sizeof servers);
    memset(clients, 0, sizeof clients);
    for (uint32_t s = 0; s < STRESS_SERVERS; s++) {
        servers[s].loop = (echo_harness_server){server, sizeof(struct work_req),
                                                sizeof(struct work_res), work_dispatch, &servers[s]};
        servers[s].id = s;
        CHECK_EQ(0, pthread_create(&servers[s].thread, NULL, echo_harness_serve, &servers[s].loop));
    }
    for (uint32_t c = 0; c < STRESS_CLIENTS; c++) {
        clients[c].id = c;
        if (c < SHARED_HANDLE_CLIENTS)
            clients[c].handle = shared;
        else
            CHECK_RC(rcOk, kos_host_connect("stress.Work", &clients[c].handle));
        CHECK_EQ(0, pthread_create(&clients[c].thread, NULL, client_main, &clients[c]));
    }

    unsigned matched = 0, by_server[STRESS_SERVERS] = {0};
    for (uint32_t c = 0; c < STRESS_CLIENTS; c++) {
        CHECK_EQ(0, pthread_join(clients[c].thread, NULL));
        CHECK_EQ(STRESS_CALLS, clients[c].matched);
        matched += clients[c].matched;
        for (uint32_t s = 0; s < STRESS_SERVERS; s++)
            by_server[s] += clients[c].by_server[s];
    }

    /* One Quit per server thread: each stops after answering one. */
    struct work_res res;
    char res_buf[PAYLOAD];
    for (uint32_t s = 0; s < STRESS_SERVERS; s++)
        CHECK_RC(rcOk, work_call(shared, MID_QUIT, 0, 0, &res, res_buf));
    unsigned served = 0;
    for (uint32_t s = 0; s < STRESS_SERVERS; s++) {
        CHECK_EQ(0, pthread_join(servers[s].thread, NULL));
        CHECK_EQ(by_server[s], servers[s].total);
        served += servers[s].total;
        printf("server %u answered %u calls\n", (unsigned)s, servers[s].total);
    }
    for (uint32_t c = 0; c < STRESS_CLIENTS; c++) {
        unsigned per_client = 0;
        for (uint32_t s = 0; s < STRESS_SERVERS; s++)
            per_client += servers[s].served[c];
        CHECK_EQ(STRESS_CALLS, per_client);
    }
    CHECK_EQ(STRESS_CLIENTS * STRESS_CALLS, matched);
    CHECK_EQ(matched, served);

    CHECK_RC(rcOk, KnHandleClose(server));
    CHECK_RC(rcOk, KnHandleClose(shared));
    for (uint32_t c = SHARED_HANDLE_CLIENTS; c < STRESS_CLIENTS; c++)
        CHECK_RC(rcOk, KnHandleClose(clients[c].handle));

    printf("stress: %d clients x %d calls, %u replies matched, %u served by %d servers\n",
           STRESS_CLIENTS, STRESS_CALLS, matched, served, STRESS_SERVERS);
    return 0;
}
