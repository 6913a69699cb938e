/*
 * sdk_style: a client and a server written the way the KasperskyOS CE SDK's
 * example programs are: SDK include paths only, the request and response
 * structs laid out as nk-gen-c lays them out, strings in the arena
 * (nk_arena_store / nk_arena_get), headers filled by PackOutMsg / PackInMsg,
 * the client's Call and the server's reset -> Recv -> dispatch on mid ->
 * Reply loop. On Linux it runs against the host kernel emulator, client and
 * server as two threads of one process.
 *
 * The one host-only step, getting the channel, is in one marked place
 * (connect_host_only below): an SDK program gets its handles and the RIID
 * from the service locator, which the emulator does not offer yet.
 *
 * The server checks what Recv fills in (replyHandle, threadId) and answers
 * the thread that asked. What the client checks, response by response: the reversed string (rc,
 * ids, err, ncaps, sizes, the bytes); the empty and the longest string the
 * IDL allows; a too long string refused by nk_arena_store before any call;
 * the server's count (Stats); error responses (ex.err) for an unknown
 * method, an unknown RIID and a string reference outside the arena;
 * rcBufferTooSmall on both sides for a response arena too small; and
 * rcNotConnected once the server has closed its handle.
 */
#include <coresrv/syscalls.h>
#include <nk/arena.h>
#include <rtl/retcode_hr.h>
#include <rtl/stdio.h>
#include <services/rtl/nk_msg.h>

#include <pthread.h>
#include <string.h>

#include "check.h"

/* ---- what nk-gen-c would generate ------------------------------------------
 * From an IDL like
 *     package Echo
 *     interface {
 *         Echo(in string<256> value, out string<256> result);
 *         Stats(out UInt32 served);
 *     }
 * and an EDL whose entity Server has one endpoint, `echo`, of that
 * interface: method ids in declaration order, arena sizes (a string<256>
 * takes 257 bytes with its NUL), packed structs that begin with base_. */
enum {
    Echo_Echo_mid,
    Echo_Stats_mid,
    Echo_mid_max,
};

enum {
    Echo_Echo_req_value_size = 257,
    Echo_Echo_req_arena_size = 257,
    Echo_Echo_res_result_size = 257,
    Echo_Echo_res_arena_size = 257,
    Echo_Echo_req_handles = 0,
    Echo_Echo_res_handles = 0,
    Echo_Stats_req_arena_size = 0,
    Echo_Stats_res_arena_size = 0,
    Echo_Stats_req_handles = 0,
    Echo_Stats_res_handles = 0,
    Echo_req_arena_size = 257,
    Echo_res_arena_size = 257,
};

/* The endpoint's RIID: its number among the Server's endpoints. */
enum {
    Echo_Server_echo_iid,
    Echo_Server_iidMax,
};

typedef struct __nk_packed Echo_Echo_req {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t value;
} Echo_Echo_req;

typedef struct __nk_packed Echo_Echo_res {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t result;
} Echo_Echo_res;

typedef struct __nk_packed Echo_Stats_req {
    __nk_alignas(8) struct nk_message base_;
} Echo_Stats_req;

typedef struct __nk_packed Echo_Stats_res {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_uint32_t served;
} Echo_Stats_res;

/* Any request or response of the interface (what a dispatcher holds). */
typedef union Echo_req {
    struct nk_message base_;
    Echo_Echo_req Echo;
    Echo_Stats_req Stats;
} Echo_req;

typedef union Echo_res {
    struct nk_message base_;
    Echo_Echo_res Echo;
    Echo_Stats_res Stats;
} Echo_res;

nk_static_assert(sizeof(Echo_Echo_req) == 32, Echo_Echo_req_size);
nk_static_assert(sizeof(Echo_Echo_res) == 32, Echo_Echo_res_size);
nk_static_assert(sizeof(Echo_Stats_res) == 32, Echo_Stats_res_size);
nk_static_assert(nk_alignof(Echo_Echo_req) == 8, Echo_Echo_req_align);

/* ---- host only: the channel ------------------------------------------------
 * On KasperskyOS the server would get its handle from the service locator
 * (ServiceLocatorRegister), the client its handle with
 * ServiceLocatorConnect("echo_connection") and the RIID with
 * ServiceLocatorGetRiid(handle, "Server.echo"). The host emulator has no
 * service locator yet: kos_host_channel_create (declared by the host's
 * <coresrv/syscalls.h>) makes the channel, and the RIID is the EDL's. */
static void connect_host_only(Handle *client, Handle *server, nk_iid_t *riid)
{
    CHECK_RC(rcOk, kos_host_channel_create(client, server));
    *riid = Echo_Server_echo_iid;
}

/* ---- server ----------------------------------------------------------------- */

struct server {
    Handle handle;
    nk_uint32_t served;   /* Echo requests answered */
    nk_uint32_t refused;  /* error responses sent */
    Retcode last_reply;   /* the last Reply's result other than rcOk */
    Retcode recv_result;  /* why the loop ended */
};

/* Reverse the `len` bytes of a NUL-terminated string into `out` (with NUL). */
static void reverse(const nk_char_t *s, nk_uint32_t len, nk_char_t *out)
{
    for (nk_uint32_t i = 0; i + 1 < len; i++)
        out[i] = s[len - 2 - i];
    out[len - 1] = '\0';
}

/* An error response: the request's ids, ex.err set, no out-parameters. */
static void error_response(Echo_res *res, const Echo_req *req, struct server *s)
{
    nk_req_reset(&res->base_);
    nk_msg_set_method_id(res, nk_msg_get_iid(req), nk_msg_get_mid(req));
    nk_msg_set_err(res, 1);
    s->refused++;
}

/* The dispatcher: one request in, one response out. */
static void dispatch(struct server *s, const Echo_req *req, const SMsgHdr *in,
                     const struct nk_arena *req_arena, Echo_res *res, struct nk_arena *res_arena)
{
    nk_char_t reversed[Echo_Echo_res_result_size];

    if (nk_msg_get_iid(req) != Echo_Server_echo_iid || nk_msg_get_ncaps(req) != 0) {
        error_response(res, req, s);
        return;
    }
    switch (nk_msg_get_mid(req)) {
    case Echo_Echo_mid: {
        /* What arrived must be a whole request of this method. */
        CHECK_EQ(sizeof(Echo_Echo_req), in->indirDescs[0].size);
        nk_uint32_t len = 0;
        const nk_char_t *value = nk_arena_get(nk_char_t, req_arena, &req->Echo.value, &len);
        if (value == RTL_NULL || len == 0 || len > Echo_Echo_req_value_size ||
            value[len - 1] != '\0') {
            error_response(res, req, s);
            return;
        }
        reverse(value, len, reversed);
        nk_req_reset(&res->Echo);
        nk_msg_set_method_id(&res->Echo, Echo_Server_echo_iid, Echo_Echo_mid);
        nk_msg_set_ncaps(&res->Echo, Echo_Echo_res_handles);
        CHECK_EQ(NK_EOK, nk_arena_store(nk_char_t, res_arena, &res->Echo.result, reversed, len));
        s->served++;
        return;
    }
    case Echo_Stats_mid:
        CHECK_EQ(sizeof(Echo_Stats_req), in->indirDescs[0].size);
        nk_req_reset(&res->Stats);
        nk_msg_set_method_id(&res->Stats, Echo_Server_echo_iid, Echo_Stats_mid);
        res->Stats.served = s->served;
        return;
    default:
        error_response(res, req, s);
        return;
    }
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    Echo_req req;
    Echo_res res;
    char req_buffer[Echo_req_arena_size], res_buffer[Echo_res_arena_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buffer, req_buffer + sizeof req_buffer);
    struct nk_arena res_arena = NK_ARENA_INITIALIZER(res_buffer, res_buffer + sizeof res_buffer);
    SMsgHdr in, out;

    for (;;) {
        nk_req_reset(&req);
        nk_arena_reset(&req_arena);
        nk_arena_reset(&res_arena);
        CHECK_RC(rcOk, PackInMsg(&in, &req.base_, &req_arena));
        Retcode rc = Recv(s->handle, &in);
        if (rc != rcOk) {
            s->recv_result = rc; /* the handle was closed: stop */
            return NULL;
        }
        /* What the kernel says about the request: the handle to reply on
         * and the asking thread (never 0, which Reply reads as "oldest"). */
        CHECK_EQ(s->handle, in.replyHandle);
        CHECK(in.threadId != 0);
        /* The arena bytes that arrived (the emulator reports them in
         * descriptor 1; the NK transport will do this step later). */
        req_arena.current = (char *)req_arena.start + in.indirDescs[1].size;

        memset(&res, 0, sizeof res);
        dispatch(s, &req, &in, &req_arena, &res, &res_arena);
        CHECK_RC(rcOk, PackOutMsg(&out, &res.base_, &res_arena));
        out.threadId = in.threadId; /* answer the thread that asked */
        rc = Reply(s->handle, &out);
        if (rc != rcOk)
            s->last_reply = rc;
    }
}

/* ---- client ----------------------------------------------------------------- */

/* Echo(value) -> result, through Call; returns Call's result. On rcOk the
 * response's ids, ex fields and sizes are checked and the result is copied
 * to `result` (NUL-terminated) or, for an error response, *err is 1. */
static Retcode echo_call(Handle h, nk_iid_t riid, nk_mid_t mid, const char *value,
                         nk_size_t res_arena_size, char *result, nk_uint32_t *err)
{
    Echo_Echo_req req;
    char req_buffer[Echo_Echo_req_arena_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buffer, req_buffer + sizeof req_buffer);
    Echo_Echo_res res;
    char res_buffer[Echo_Echo_res_arena_size];
    struct nk_arena res_arena;
    SMsgHdr out, in;

    CHECK(res_arena_size <= sizeof res_buffer);
    nk_arena_init(&res_arena, res_buffer, res_buffer + res_arena_size);
    memset(&req, 0, sizeof req);
    nk_req_reset(&req);
    nk_msg_set_method_id(&req, riid, mid);
    nk_msg_set_ncaps(&req, Echo_Echo_req_handles);
    if (value != NULL) {
        CHECK_EQ(NK_EOK, nk_arena_store(nk_char_t, &req_arena, &req.value, value,
                                        strlen(value) + 1));
    } else {
        /* A malformed request: a reference past the bytes in the arena. */
        CHECK_EQ(NK_EOK, nk_arena_store(nk_char_t, &req_arena, &req.value, "x", 2));
        req.value.offset = 16;
    }
    memset(&res, 0, sizeof res);
    nk_req_reset(&res);
    CHECK_RC(rcOk, PackOutMsg(&out, &req.base_, &req_arena));
    CHECK_RC(rcOk, PackInMsg(&in, &res.base_, &res_arena));
    Retcode rc = Call(h, &out, &in);
    if (rc != rcOk)
        return rc;
    res_arena.current = (char *)res_arena.start + in.indirDescs[1].size;

    /* The transport refuses a response that does not answer the request. */
    CHECK_EQ(riid, nk_msg_get_iid(&res));
    CHECK_EQ(mid, nk_msg_get_mid(&res));
    CHECK_EQ(0, nk_msg_get_ncaps(&res));
    *err = nk_msg_get_err(&res);
    if (*err) {
        CHECK_EQ(sizeof(struct nk_message), nk_msg_get_size(&res));
        CHECK_EQ(0, in.indirDescs[1].size);
        return rc;
    }
    CHECK_EQ(sizeof res, nk_msg_get_size(&res));
    CHECK_EQ(sizeof res, in.indirDescs[0].size);
    nk_uint32_t len = 0;
    const nk_char_t *got = nk_arena_get(nk_char_t, &res_arena, &res.result, &len);
    CHECK(got != RTL_NULL);
    CHECK(len >= 1 && len <= Echo_Echo_res_result_size);
    CHECK_EQ(len, in.indirDescs[1].size);
    CHECK_EQ('\0', got[len - 1]);
    memcpy(result, got, len);
    return rc;
}

static nk_uint32_t stats_call(Handle h, nk_iid_t riid)
{
    Echo_Stats_req req;
    Echo_Stats_res res;
    SMsgHdr out, in;

    memset(&req, 0, sizeof req);
    nk_req_reset(&req);
    nk_msg_set_method_id(&req, riid, Echo_Stats_mid);
    nk_msg_set_ncaps(&req, Echo_Stats_req_handles);
    memset(&res, 0, sizeof res);
    nk_req_reset(&res);
    CHECK_RC(rcOk, PackOutMsg(&out, &req.base_, NK_NULL));
    CHECK_RC(rcOk, PackInMsg(&in, &res.base_, NK_NULL));
    CHECK_RC(rcOk, Call(h, &out, &in));
    CHECK_EQ(Echo_Stats_mid, nk_msg_get_mid(&res));
    CHECK_EQ(0, nk_msg_get_err(&res));
    CHECK_EQ(sizeof res, in.indirDescs[0].size);
    return res.served;
}

/* Echo `value` and check that the result is its reverse. */
static void echo_ok(Handle h, nk_iid_t riid, const char *value)
{
    char result[Echo_Echo_res_result_size], want[Echo_Echo_res_result_size];
    nk_uint32_t err = 1;
    size_t len = strlen(value) + 1;
    CHECK_RC(rcOk, echo_call(h, riid, Echo_Echo_mid, value, Echo_Echo_res_arena_size, result,
                             &err));
    CHECK_EQ(0, err);
    reverse(value, (nk_uint32_t)len, want);
    CHECK_EQ(0, strcmp(want, result));
    rtl_printf("Echo(\"%.20s%s\") -> \"%.20s%s\" (%zu bytes)\n", value, len > 21 ? "..." : "",
               result, len > 21 ? "..." : "", len);
}

int main(void)
{
    Handle client = INVALID_HANDLE, server_handle = INVALID_HANDLE;
    nk_iid_t riid = INVALID_RIID;
    struct server server;
    pthread_t thread;
    char longest[Echo_Echo_req_value_size], too_long[Echo_Echo_req_value_size + 1];
    char result[Echo_Echo_res_result_size];
    nk_uint32_t err = 0;

    connect_host_only(&client, &server_handle, &riid);
    CHECK(riid != INVALID_RIID);
    memset(&server, 0, sizeof server);
    server.handle = server_handle;
    server.last_reply = rcOk;
    CHECK_EQ(0, pthread_create(&thread, NULL, server_main, &server));

    /* Echo: an ordinary string, the empty one, the longest the IDL allows. */
    echo_ok(client, riid, "hello, KasperskyOS");
    echo_ok(client, riid, "");
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 2] = 'z';
    longest[sizeof longest - 1] = '\0';
    echo_ok(client, riid, longest);

    /* One byte more does not fit the request's arena: refused before any call. */
    Echo_Echo_req req;
    char req_buffer[Echo_Echo_req_arena_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buffer, req_buffer + sizeof req_buffer);
    memset(too_long, 'b', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    nk_err_t stored = nk_arena_store(nk_char_t, &req_arena, &req.value, too_long, sizeof too_long);
    CHECK_EQ(NK_ENOMEM, stored);
    CHECK_EQ(0, nk_arena_size(&req_arena));
    rtl_printf("nk_arena_store of %zu bytes into %d: %d (NK_ENOMEM)\n", sizeof too_long,
               Echo_Echo_req_arena_size, stored);

    /* Stats: what the server answered so far. */
    nk_uint32_t served = stats_call(client, riid);
    CHECK_EQ(3, served);
    rtl_printf("Stats() -> served %u\n", (unsigned)served);

    /* Error responses: unknown method, unknown RIID, a reference outside the arena. */
    CHECK_RC(rcOk, echo_call(client, riid, Echo_mid_max, "x", Echo_Echo_res_arena_size, result,
                             &err));
    CHECK_EQ(1, err);
    CHECK_RC(rcOk, echo_call(client, Echo_Server_iidMax, Echo_Echo_mid, "x",
                             Echo_Echo_res_arena_size, result, &err));
    CHECK_EQ(1, err);
    CHECK_RC(rcOk, echo_call(client, riid, Echo_Echo_mid, NULL, Echo_Echo_res_arena_size, result,
                             &err));
    CHECK_EQ(1, err);
    rtl_printf("error responses (ex.err): unknown method, unknown RIID, bad reference\n");

    /* A response arena too small for the result: both sides are told. */
    Retcode small = echo_call(client, riid, Echo_Echo_mid, "does not fit", 4, result, &err);
    CHECK_RC(rcBufferTooSmall, small);
    CHECK_EQ(4, stats_call(client, riid)); /* the server did answer it */
    CHECK_RC(rcBufferTooSmall, server.last_reply);
    rtl_printf("response arena of 4 bytes: Call " RETCODE_HR_FMT ", Reply " RETCODE_HR_FMT "\n",
               RETCODE_HR_PARAMS(small), RETCODE_HR_PARAMS(server.last_reply));

    /* The server closes its handle: its Recv ends, later calls fail. */
    CHECK_RC(rcOk, KnHandleClose(server_handle));
    CHECK_EQ(0, pthread_join(thread, NULL));
    CHECK_RC(rcNotConnected, server.recv_result);
    Retcode late = echo_call(client, riid, Echo_Echo_mid, "anyone?", Echo_Echo_res_arena_size,
                             result, &err);
    CHECK_RC(rcNotConnected, late);
    CHECK_RC(rcOk, KnHandleClose(client));
    rtl_printf("after the server closed: Call " RETCODE_HR_FMT "\n", RETCODE_HR_PARAMS(late));

    CHECK_EQ(4, server.served);
    CHECK_EQ(3, server.refused);
    rtl_printf("sdk_style: 4 Echo calls answered (0 to 256 chars), 3 error responses, "
               "NK_ENOMEM, rcBufferTooSmall, rcNotConnected ok\n");
    return 0;
}
