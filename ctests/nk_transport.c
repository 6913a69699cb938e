/*
 * nk_transport: a client and a server written the way NK-generated code
 * and the SDK's examples use the NK transport, on the host emulator.
 *
 * The interface and entity headers (nkgen/echo/Echo.idl.h, Server.edl.h)
 * have the shape nk-gen-c gives them: the client calls through a proxy
 * (Echo_proxy_init on &transport.base, then Echo_Reverse, ...), the server
 * runs the SDK's loop nk_transport_recv -> Server_entity_dispatch ->
 * nk_transport_reply over an NkKosTransport, with an implementation object
 * per endpoint (RIIDs main 0, spare 1). The channel comes from
 * kos_host_channel_create (Einit's job on KasperskyOS).
 *
 * Checked, result by result: strings and integers both ways, routing by
 * RIID, error responses (a method failing, an unknown RIID); a response
 * answering another method refused with NK_EBADMSG; callTimeout and
 * recvTimeout (NK_EAGAIN, after the time), their sync objects (NK_EAGAIN);
 * NULL and inconsistent arguments (NK_EINVAL, no system call made);
 * NK_ENOTCONN for the server's loop and the client once the server handle
 * is closed; the TESTS generator; and that every message went through the
 * shim's pipeline: its statistics count exactly the CallEx, RecvEx and
 * Reply calls the transport made, per key.
 */
#define _POSIX_C_SOURCE 200809L
#define NK_USE_UNQUALIFIED_NAMES

#include <coresrv/ipc/ipc_api.h>
#include <coresrv/nk/transport-kos.h>
#include <rtl/retcode_hr.h>
#include <rtl/stdio.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "nkgen/echo/Server.edl.h"

nk_static_assert(sizeof(Echo_Reverse_req) == 32, Reverse_req_size);
nk_static_assert(sizeof(Echo_Reverse_res) == 32, Reverse_res_size);
nk_static_assert(sizeof(Echo_Add_req) == 32, Add_req_size);
nk_static_assert(sizeof(Echo_Add_res) == 32, Add_res_size);
nk_static_assert(sizeof(NkKosTransport) == 40, NkKosTransport_size_lp64);

/* ---- server: one implementation object per endpoint ---------------------- */

struct echo_impl {
    struct nkgen_echo_Echo base; /* first: the dispatcher passes &base */
    nk_uint32_t served;          /* Reverse and Add calls answered */
};

static nk_err_t reverse_impl(struct nkgen_echo_Echo *self, const Echo_Reverse_req *req,
                             const struct nk_arena *req_arena, Echo_Reverse_res *res,
                             struct nk_arena *res_arena)
{
    struct echo_impl *impl = (struct echo_impl *)self;
    nk_char_t out[Echo_Reverse_res_reversed_size];
    nk_uint32_t len = 0;
    const nk_char_t *text = nk_arena_get(nk_char_t, req_arena, &req->text, &len);

    if (text == RTL_NULL || len == 0 || len > sizeof out || text[len - 1] != '\0')
        return NK_EINVAL;
    for (nk_uint32_t i = 0; i + 1 < len; i++)
        out[i] = text[len - 2 - i];
    out[len - 1] = '\0';
    impl->served++;
    return nk_arena_store(nk_char_t, res_arena, &res->reversed, out, len);
}

static nk_err_t add_impl(struct nkgen_echo_Echo *self, const Echo_Add_req *req,
                         const struct nk_arena *req_arena, Echo_Add_res *res,
                         struct nk_arena *res_arena)
{
    struct echo_impl *impl = (struct echo_impl *)self;
    nk_unused(req_arena);
    nk_unused(res_arena);
    if ((req->b > 0 && req->a > INT32_MAX - req->b) || (req->b < 0 && req->a < INT32_MIN - req->b))
        return NK_EINVAL; /* the sum does not fit an SInt32 */
    res->sum = req->a + req->b;
    impl->served++;
    return NK_EOK;
}

static nk_err_t served_impl(struct nkgen_echo_Echo *self, const Echo_Served_req *req,
                            const struct nk_arena *req_arena, Echo_Served_res *res,
                            struct nk_arena *res_arena)
{
    nk_unused(req);
    nk_unused(req_arena);
    nk_unused(res_arena);
    res->count = ((struct echo_impl *)self)->served;
    return NK_EOK;
}

static const struct nkgen_echo_Echo_ops impl_ops = {reverse_impl, add_impl, served_impl};

struct server {
    NkKosTransport transport;
    Server_entity entity;
    struct echo_impl main, spare;
    unsigned received, replied, refused; /* refused: error responses sent */
    nk_err_t stop;                       /* why the loop ended */
};

/* Set by the client: answer the next request as another method. */
static atomic_int answer_wrong_method;

static void *server_main(void *arg)
{
    struct server *s = arg;
    Server_entity_req req;
    char req_buffer[Server_entity_req_arena_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buffer, req_buffer + sizeof req_buffer);
    Server_entity_res res;
    char res_buffer[Server_entity_res_arena_size];
    struct nk_arena res_arena = NK_ARENA_INITIALIZER(res_buffer, res_buffer + sizeof res_buffer);

    memset(&res, 0, sizeof res);
    for (;;) {
        nk_req_reset(&req);
        nk_arena_reset(&req_arena);
        nk_arena_reset(&res_arena);
        nk_err_t rc = nk_transport_recv(&s->transport.base, &req.base_, &req_arena);
        if (rc != NK_EOK) {
            s->stop = rc;
            return NULL;
        }
        s->received++;
        rc = Server_entity_dispatch(&s->entity, &req.base_, &req_arena, &res.base_, &res_arena);
        if (rc != NK_EOK) {
            /* The generated dispatcher leaves the failure to the program:
             * answer with an error response (ex.err, no out-parameters). */
            nk_arena_reset(&res_arena);
            nk_req_reset(&res.base_);
            nk_msg_set_method_id(&res.base_, nk_msg_get_iid(&req.base_),
                                 nk_msg_get_mid(&req.base_));
            nk_msg_set_err(&res.base_, 1);
            s->refused++;
        }
        if (atomic_exchange(&answer_wrong_method, 0))
            res.base_.mid ^= 1;
        CHECK_EQ(NK_EOK, nk_transport_reply(&s->transport.base, &res.base_, &res_arena));
        s->replied++;
    }
}

/* ---- client: the generated methods, through a proxy ---------------------- */

/* Reverse(text) into `out` (64 bytes); *err is the response's ex.err. */
static nk_err_t reverse(struct nkgen_echo_Echo *echo, const char *text, char *out,
                        nk_uint32_t *err)
{
    Echo_Reverse_req req;
    char req_buffer[Echo_Reverse_req_arena_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buffer, req_buffer + sizeof req_buffer);
    Echo_Reverse_res res;
    char res_buffer[Echo_Reverse_res_arena_size];
    struct nk_arena res_arena = NK_ARENA_INITIALIZER(res_buffer, res_buffer + sizeof res_buffer);

    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    CHECK_EQ(NK_EOK, nk_arena_store(nk_char_t, &req_arena, &req.text, text, strlen(text) + 1));
    nk_err_t rc = Echo_Reverse(echo, &req, &req_arena, &res, &res_arena);
    if (rc != NK_EOK)
        return rc;
    *err = nk_msg_get_err(&res);
    if (*err)
        return rc;
    nk_uint32_t len = 0;
    const nk_char_t *got = nk_arena_get(nk_char_t, &res_arena, &res.reversed, &len);
    CHECK(got != RTL_NULL);
    CHECK(len >= 1 && len <= Echo_Reverse_res_reversed_size && got[len - 1] == '\0');
    CHECK_EQ(len, nk_arena_size(&res_arena)); /* the arena holds what arrived */
    memcpy(out, got, len);
    return rc;
}

static nk_err_t add(struct nkgen_echo_Echo *echo, nk_sint32_t a, nk_sint32_t b, nk_sint32_t *sum,
                    nk_uint32_t *err)
{
    Echo_Add_req req;
    Echo_Add_res res;
    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    req.a = a;
    req.b = b;
    nk_err_t rc = Echo_Add(echo, &req, NK_NULL, &res, NK_NULL); /* no arenas */
    if (rc == NK_EOK) {
        *err = nk_msg_get_err(&res);
        *sum = res.sum;
    }
    return rc;
}

static nk_uint32_t served(struct nkgen_echo_Echo *echo)
{
    Echo_Served_req req;
    Echo_Served_res res;
    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    CHECK_EQ(NK_EOK, Echo_Served(echo, &req, NK_NULL, &res, NK_NULL));
    CHECK_EQ(0, nk_msg_get_err(&res));
    CHECK_EQ(sizeof res.res_, nk_msg_get_size(&res));
    return res.count;
}

static double ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static int fixed_rand(void)
{
    return 5;
}

/* The statistics row of (op, handle, iid, mid), or NULL. */
static const kos_shim_stats_entry *row(const kos_shim_stats_entry *rows, size_t n, uint32_t op,
                                       Handle h, nk_iid_t iid, nk_mid_t mid)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].op == op && rows[i].handle == h && rows[i].iid == iid && rows[i].mid == mid)
            return &rows[i];
    return NULL;
}

int main(void)
{
    static struct server s;
    Handle client = INVALID_HANDLE, server_handle = INVALID_HANDLE;
    pthread_t thread;
    char text[Echo_Reverse_res_reversed_size];
    nk_uint32_t err = 0;
    nk_sint32_t sum = 0;
    unsigned einval = 0, eagain = 0;

    CHECK_RC(rcOk, kos_shim_stats_set_level(KOS_SHIM_STATS_LEVEL_COUNT));
    CHECK_RC(rcOk, kos_shim_stats_reset());

    /* The server: its transport on the server handle, the entity over two
     * implementation objects, the SDK's loop in a thread. */
    CHECK_RC(rcOk, kos_host_channel_create(&client, &server_handle));
    CHECK_EQ(NK_EOK, NkKosTransport_Init(&s.transport, server_handle, NK_NULL, 0));
    s.main.base.ops = &impl_ops;
    s.spare.base.ops = &impl_ops;
    Server_entity_init(&s.entity, &s.main.base, &s.spare.base);
    CHECK_EQ(0, pthread_create(&thread, NULL, server_main, &s));

    /* The client: one transport, a proxy per endpoint. */
    NkKosTransport transport;
    struct Echo_proxy main_proxy, spare_proxy;
    CHECK_EQ(NK_EOK, NkKosTransport_Init(&transport, client, NK_NULL, 0));
    CHECK_EQ(INFINITE_TIMEOUT, transport.callTimeout);
    CHECK_EQ(INVALID_HANDLE, transport.callSyncHandle);
    Echo_proxy_init(&main_proxy, &transport.base, Server_main_iid);
    Echo_proxy_init(&spare_proxy, &transport.base, Server_spare_iid);

    CHECK_EQ(NK_EOK, reverse(&main_proxy.base, "hello, NK", text, &err));
    CHECK_EQ(0, err);
    CHECK_EQ(0, strcmp(text, "KN ,olleh"));
    CHECK_EQ(NK_EOK, reverse(&main_proxy.base, "", text, &err));
    CHECK_EQ(0, strcmp(text, ""));
    CHECK_EQ(NK_EOK, add(&main_proxy.base, 40, 2, &sum, &err));
    CHECK_EQ(0, err);
    CHECK_EQ(42, sum);
    CHECK_EQ(NK_EOK, add(&spare_proxy.base, -7, 7, &sum, &err));
    CHECK_EQ(0, sum);
    CHECK_EQ(3, served(&main_proxy.base)); /* routed by RIID */
    CHECK_EQ(1, served(&spare_proxy.base));
    rtl_printf("Reverse(\"hello, NK\") -> \"KN ,olleh\", Add(40, 2) -> 42, Served 3 + 1\n");

    /* Error responses: the method fails; the RIID names no endpoint. */
    CHECK_EQ(NK_EOK, add(&main_proxy.base, INT32_MAX, 1, &sum, &err));
    CHECK_EQ(1, err);
    struct Echo_proxy nowhere;
    Echo_proxy_init(&nowhere, &transport.base, Server_iidMax);
    CHECK_EQ(NK_EOK, add(&nowhere.base, 1, 1, &sum, &err));
    CHECK_EQ(1, err);

    /* A response that answers another method is refused. */
    atomic_store(&answer_wrong_method, 1);
    CHECK_EQ(NK_EBADMSG, reverse(&main_proxy.base, "x", text, &err));
    rtl_printf("error responses: a failing method, an unknown RIID; another method's "
               "response: NK_EBADMSG\n");

    /* Timeouts and sync objects, on a channel nobody serves. */
    Handle lonely_client, lonely_server, sync;
    CHECK_RC(rcOk, kos_host_channel_create(&lonely_client, &lonely_server));
    CHECK_RC(rcOk, KnIpcCreateSyncObject(&sync));
    NkKosTransport lonely, listener;
    struct Echo_proxy lonely_proxy;
    CHECK_EQ(NK_EOK, NkKosTransport_Init(&lonely, lonely_client, NK_NULL, 0));
    CHECK_EQ(NK_EOK, NkKosTransport_Init(&listener, lonely_server, NK_NULL, 0));
    Echo_proxy_init(&lonely_proxy, &lonely.base, Server_main_iid);
    struct timespec t0;
    NkKosTransport_SetCallTimeout(&lonely, 30);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(NK_EAGAIN, add(&lonely_proxy.base, 1, 2, &sum, &err));
    CHECK(ms_since(&t0) >= 25.0);
    eagain++;
    NkKosTransport_SetRecvTimeout(&listener, 30);
    Echo_req lonely_req;
    nk_req_reset(&lonely_req);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CHECK_EQ(NK_EAGAIN, nk_transport_recv(&listener.base, &lonely_req.base_, NK_NULL));
    CHECK(ms_since(&t0) >= 25.0);
    eagain++;
    CHECK_RC(rcOk, KnIpcSetInterrupt(sync));
    NkKosTransport_SetCallTimeout(&lonely, INFINITE_TIMEOUT);
    NkKosTransport_SetCallSyncHandle(&lonely, sync);
    CHECK_EQ(NK_EAGAIN, add(&lonely_proxy.base, 1, 2, &sum, &err));
    eagain++;
    NkKosTransport_SetRecvTimeout(&listener, INFINITE_TIMEOUT);
    NkKosTransport_SetRecvSyncHandle(&listener, sync);
    CHECK_EQ(NK_EAGAIN, nk_transport_recv(&listener.base, &lonely_req.base_, NK_NULL));
    eagain++;
    rtl_printf("callTimeout, recvTimeout (30 ms) and their sync objects: NK_EAGAIN\n");

    /* Bad arguments: NK_EINVAL, and no system call. */
    Echo_Served_req req;
    Echo_Served_res res;
    memset(&req, 0, sizeof req);
    nk_req_reset(&req);
    nk_req_reset(&res);
    char buf[16];
    struct nk_arena backwards = NK_ARENA_INITIALIZER(buf + 8, buf); /* end before start */
    struct nk_transport bare = {NK_NULL};
    static const struct nk_transport_ops copied_ops = {
        kos_host_transport_call, kos_host_transport_recv, kos_host_transport_reply, NK_NULL,
        NK_NULL};
    struct nk_transport foreign = {&copied_ops}; /* not set up by NkKosTransport_Init */
    struct Echo_proxy unbound;
    Echo_proxy_init(&unbound, NK_NULL, Server_main_iid);
    const nk_err_t bad[] = {
        NkKosTransport_Init(NK_NULL, client, NK_NULL, 0),
        nk_transport_call(NK_NULL, &req.base_, NK_NULL, &res.base_, NK_NULL),
        nk_transport_call(&bare, &req.base_, NK_NULL, &res.base_, NK_NULL),
        nk_transport_call(&foreign, &req.base_, NK_NULL, &res.base_, NK_NULL),
        nk_transport_call(&transport.base, NK_NULL, NK_NULL, &res.base_, NK_NULL),
        nk_transport_call(&transport.base, &req.base_, NK_NULL, NK_NULL, NK_NULL),
        nk_transport_call(&transport.base, &req.base_, &backwards, &res.base_, NK_NULL),
        nk_transport_recv(&listener.base, NK_NULL, NK_NULL),
        nk_transport_reply(&listener.base, NK_NULL, NK_NULL),
        nk_transport_reply(&listener.base, &res.base_, NK_NULL), /* nothing received */
        Echo_Served(&unbound.base, &req, NK_NULL, &res, NK_NULL),
    };
    for (size_t i = 0; i < nk_array_size(bad); i++) {
        if (bad[i] != NK_EINVAL)
            fprintf(stderr, "bad argument case %zu: %d\n", i, bad[i]);
        CHECK_EQ(NK_EINVAL, bad[i]);
        einval++;
    }
    rtl_printf("NULL or inconsistent arguments: NK_EINVAL x%u\n", einval);

    /* The generator of random responses (TESTS section) fills the arena. */
    Echo_Reverse_res random_res;
    char random_buffer[Echo_Reverse_res_arena_size];
    struct nk_arena random_arena =
        NK_ARENA_INITIALIZER(random_buffer, random_buffer + sizeof random_buffer);
    nk_bool_t failure = NK_TRUE;
    CHECK_EQ(NK_EOK, nkgen_echo_Echo_Reverse_test_res(&random_res, &random_arena, fixed_rand,
                                                      &failure));
    CHECK_EQ(NK_FALSE, failure);
    CHECK_EQ(5, random_res.reversed.size);
    CHECK_EQ(5, nk_arena_size(&random_arena));

    /* The server handle closes: its loop ends, the client is not connected. */
    CHECK_RC(rcOk, KnHandleClose(server_handle));
    CHECK_EQ(0, pthread_join(thread, NULL));
    CHECK_EQ(NK_ENOTCONN, s.stop);
    CHECK_EQ(NK_ENOTCONN, add(&main_proxy.base, 1, 1, &sum, &err));
    CHECK_EQ(9, s.received);
    CHECK_EQ(9, s.replied);
    CHECK_EQ(2, s.refused);
    rtl_printf("server handle closed: the loop's recv and the next call: NK_ENOTCONN\n");

    /* Every message went through the shim: 12 CallEx (9 served, 2 on the
     * lonely channel, 1 after the close), 12 RecvEx (9 requests, 2 on the
     * lonely channel, the loop's last), 9 Reply; nothing else. */
    kos_shim_stats_global_t g;
    CHECK_RC(rcOk, kos_shim_stats_global(&g));
    CHECK_EQ(0, g.calls_by_op[KOS_SHIM_OP_CALL]);
    CHECK_EQ(12, g.calls_by_op[KOS_SHIM_OP_CALLEX]);
    CHECK_EQ(0, g.calls_by_op[KOS_SHIM_OP_RECV]);
    CHECK_EQ(12, g.calls_by_op[KOS_SHIM_OP_RECVEX]);
    CHECK_EQ(9, g.calls_by_op[KOS_SHIM_OP_REPLY]);
    kos_shim_stats_entry rows[64];
    size_t n = 0;
    CHECK_RC(rcOk, kos_shim_stats_snapshot(rows, 64, &n));
    /* Reverse on main: three CallEx, all rcOk for the kernel (the third's
     * response was refused by the transport, not by the IPC). */
    const kos_shim_stats_entry *r =
        row(rows, n, KOS_SHIM_OP_CALLEX, client, Server_main_iid, Echo_Reverse_mid);
    CHECK(r != NULL);
    CHECK_EQ(3, r->calls);
    CHECK_EQ(3, r->ok);
    r = row(rows, n, KOS_SHIM_OP_RECVEX, server_handle, Server_spare_iid, Echo_Add_mid);
    CHECK(r != NULL);
    CHECK_EQ(1, r->calls);
    r = row(rows, n, KOS_SHIM_OP_CALLEX, lonely_client, Server_main_iid, Echo_Add_mid);
    CHECK(r != NULL);
    CHECK_EQ(2, r->calls);
    CHECK_EQ(1, r->rc[kos_shim_stats_rc_slot(rcTimeout)]);
    CHECK_EQ(1, r->rc[kos_shim_stats_rc_slot(rcIpcInterrupt)]);

    for (Handle h = 0; h < 3; h++)
        CHECK_RC(rcOk, KnHandleClose(h == 0 ? lonely_client : h == 1 ? lonely_server : sync));
    CHECK_RC(rcOk, KnHandleClose(client));
    rtl_printf("nk_transport: 9 calls through generated proxies and dispatch (2 error "
               "responses), NK_EBADMSG, NK_EAGAIN x%u, NK_EINVAL x%u, NK_ENOTCONN; the shim "
               "counted 12 CallEx, 12 RecvEx, 9 Reply\n",
               eagain, einval);
    return 0;
}
