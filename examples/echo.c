/*
 * Echo example: a KasperskyOS-style client and server, built for Linux with
 * kos-ipc-shim and its host kernel emulator (`make demo`).
 *
 * The code is written as a KasperskyOS CE SDK program is: SDK include paths
 * only; request and response structs laid out as nk-gen-c lays them out
 * (base_, a struct nk_message, first); nk_req_reset and
 * nk_msg_set_method_id to address a message; strings stored in the arena
 * with nk_arena_store and read with nk_arena_get; headers filled by
 * PackOutMsg / PackInMsg; the client's Call and the server's
 * reset -> Recv -> dispatch -> Reply loop. The one host-specific step is
 * marked "host only": the channel, which on KasperskyOS comes from the init
 * description through the service locator.
 *
 * Build by hand:
 *   cc -std=c11 -Iinclude/kos examples/echo.c target/release/libkos_ipc_shim.a \
 *      -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o echo
 */
#include <coresrv/syscalls.h>
#include <nk/arena.h>
#include <rtl/retcode_hr.h>
#include <rtl/stdio.h>
#include <services/rtl/nk_msg.h>

#include <ctype.h>
#include <pthread.h>
#include <string.h>

/* ---- the interface, as nk-gen-c would generate it --------------------------
 * from examples/idl/echo/Echo.idl (served as endpoint `main` of the entity
 * echo.Server, examples/idl/echo/Server.edl):
 *     package echo.Echo
 *     interface {
 *         Echo(in string<127> text, out string<127> answer, error SInt32 status);
 *         Upper(in string<127> text, out string<127> answer, error SInt32 status);
 *         Quit(in string<127> text, out string<127> answer, error SInt32 status);
 *     }
 * Methods are numbered from 0 in declaration order. Every method has the
 * same request (the text in the arena) and response: the answer in the
 * arena, or in an error response (ex.err) the status saying why. */
enum {
    echo_Echo_Echo_mid,  /* answer the text as it is */
    echo_Echo_Upper_mid, /* answer the text in capitals */
    echo_Echo_Quit_mid,  /* stop the server */
};

enum {
    echo_Echo_text_size = 128, /* string<127> and its NUL */
    echo_Echo_req_arena_size = 128,
    echo_Echo_res_arena_size = 128,
};

typedef struct __nk_packed echo_Echo_req {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t text;
} echo_Echo_req;

/* The response: the out-parameters, or (ex.err set) the error parameters. */
typedef struct echo_Echo_res {
    union {
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(4) nk_ptr_t answer;
        };
        struct echo_Echo_err {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(4) nk_sint32_t status; /* why the request failed */
        } err_;
    };
} echo_Echo_res;

static const char *method_name(nk_mid_t mid)
{
    switch (mid) {
    case echo_Echo_Echo_mid: return "Echo";
    case echo_Echo_Upper_mid: return "Upper";
    case echo_Echo_Quit_mid: return "Quit";
    default: return "unknown";
    }
}

/* ---- host only ---------------------------------------------------------------
 * On KasperskyOS, Einit connects the two processes as the init description
 * says; the server registers with the service locator, the client gets its
 * handle with ServiceLocatorConnect and the interface's RIID with
 * ServiceLocatorGetRiid. The host emulator names a channel instead
 * (kos_host_server_register / kos_host_connect), and the RIID is fixed:
 * `main` is echo.Server's first (and only) endpoint. */
#define ECHO_RIID 0

static int connect_host_only(Handle *server, Handle *client, nk_iid_t *riid)
{
    *riid = ECHO_RIID;
    return kos_host_server_register("demo.Echo", server) == rcOk &&
           kos_host_connect("demo.Echo", client) == rcOk;
}

/* ---- server ---------------------------------------------------------------- */

struct server_stats {
    unsigned received, answered, refused;
};

/* Fill `res` for `req`: the answer in `res_arena`, or an error response. */
static void dispatch(const echo_Echo_req *req, const struct nk_arena *req_arena,
                     echo_Echo_res *res, struct nk_arena *res_arena, const nk_char_t **text)
{
    nk_char_t answer[echo_Echo_text_size];
    nk_uint32_t len = 0;
    const nk_char_t *s = nk_arena_get(nk_char_t, req_arena, &req->text, &len);
    *text = s;

    nk_req_reset(res);
    nk_msg_set_method_id(res, nk_msg_get_iid(req), nk_msg_get_mid(req));
    Retcode status = rcOk;
    if (nk_msg_get_iid(req) != ECHO_RIID || s == RTL_NULL || len == 0 ||
        len > echo_Echo_text_size || s[len - 1] != '\0') {
        status = rcInvalidArgument;
    } else if (nk_msg_get_mid(req) == echo_Echo_Echo_mid ||
               nk_msg_get_mid(req) == echo_Echo_Upper_mid) {
        for (nk_uint32_t i = 0; i < len; i++)
            answer[i] = nk_msg_get_mid(req) == echo_Echo_Upper_mid
                            ? (nk_char_t)toupper((unsigned char)s[i])
                            : s[i];
        if (nk_arena_store(nk_char_t, res_arena, &res->answer, answer, len) != NK_EOK)
            status = rcBufferTooSmall;
    } else if (nk_msg_get_mid(req) == echo_Echo_Quit_mid) {
        if (nk_arena_store(nk_char_t, res_arena, &res->answer, "stopping", sizeof "stopping") !=
            NK_EOK)
            status = rcBufferTooSmall;
    } else {
        status = rcUnimplemented;
    }
    if (status != rcOk) {
        /* The error response carries the status instead of the answer. */
        nk_arena_reset(res_arena);
        nk_msg_set_err(res, 1);
        res->err_.status = status;
    }
}

static void *server(void *arg)
{
    Handle h = *(Handle *)arg;
    static struct server_stats stats;
    echo_Echo_req req;
    echo_Echo_res res;
    char req_buffer[echo_Echo_req_arena_size], res_buffer[echo_Echo_res_arena_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buffer, req_buffer + sizeof req_buffer);
    struct nk_arena res_arena = NK_ARENA_INITIALIZER(res_buffer, res_buffer + sizeof res_buffer);
    SMsgHdr in, out;

    for (;;) {
        /* reset */
        nk_req_reset(&req);
        nk_arena_reset(&req_arena);
        nk_arena_reset(&res_arena);
        if (PackInMsg(&in, &req.base_, &req_arena) != rcOk)
            break;
        /* Recv */
        Retcode rc = Recv(h, &in);
        if (rc != rcOk) {
            rtl_printf("  server: Recv failed: " RETCODE_HR_FMT "\n", RETCODE_HR_PARAMS(rc));
            break;
        }
        /* The arena bytes that arrived: the emulator reports them in
         * descriptor 1 (the NK transport will do this step later). */
        req_arena.current = (char *)req_arena.start + in.indirDescs[1].size;
        stats.received++;
        /* dispatch */
        const nk_char_t *text = RTL_NULL;
        memset(&res, 0, sizeof res);
        dispatch(&req, &req_arena, &res, &res_arena, &text);
        rtl_printf("  server: received %s(\"%s\"), answering %s\n",
                   method_name(nk_msg_get_mid(&req)), text ? text : "",
                   nk_msg_get_err(&res) ? "with an error" : "it");
        if (nk_msg_get_err(&res))
            stats.refused++;
        else
            stats.answered++;
        /* Reply, to the thread that asked */
        if (PackOutMsg(&out, &res.base_, &res_arena) != rcOk)
            break;
        out.threadId = in.threadId;
        if (Reply(h, &out) != rcOk)
            break;
        if (nk_msg_get_mid(&req) == echo_Echo_Quit_mid)
            break;
    }
    return &stats;
}

/* ---- client ---------------------------------------------------------------- */

/* Call method `mid` with `text`; the answer goes to `answer`, the server's
 * status (rcOk, or why it sent an error response) to `status`. */
static Retcode call(Handle h, nk_iid_t riid, nk_mid_t mid, const char *text, char *answer,
                    Retcode *status)
{
    echo_Echo_req req;
    echo_Echo_res res;
    char req_buffer[echo_Echo_req_arena_size], res_buffer[echo_Echo_res_arena_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buffer, req_buffer + sizeof req_buffer);
    struct nk_arena res_arena = NK_ARENA_INITIALIZER(res_buffer, res_buffer + sizeof res_buffer);
    SMsgHdr out, in;

    memset(&req, 0, sizeof req);
    nk_req_reset(&req);
    nk_msg_set_method_id(&req, riid, mid);
    if (nk_arena_store(nk_char_t, &req_arena, &req.text, text, strlen(text) + 1) != NK_EOK)
        return rcBufferTooLarge;
    memset(&res, 0, sizeof res);
    nk_req_reset(&res);
    Retcode rc = PackOutMsg(&out, &req.base_, &req_arena);
    if (rc == rcOk)
        rc = PackInMsg(&in, &res.base_, &res_arena);
    if (rc == rcOk)
        rc = Call(h, &out, &in);
    if (rc != rcOk)
        return rc;
    res_arena.current = (char *)res_arena.start + in.indirDescs[1].size;
    *status = nk_msg_get_err(&res) ? res.err_.status : rcOk;
    nk_uint32_t len = 0;
    const nk_char_t *s =
        *status == rcOk ? nk_arena_get(nk_char_t, &res_arena, &res.answer, &len) : RTL_NULL;
    rtl_snprintf(answer, echo_Echo_text_size, "%.*s", s ? (int)len : 0, s ? s : "");
    return rcOk;
}

int main(void)
{
    Handle server_handle, client_handle;
    nk_iid_t riid;
    pthread_t thread;
    void *result;
    static const struct {
        nk_mid_t mid;
        const char *text;
    } requests[] = {
        {echo_Echo_Echo_mid, "hello, KasperskyOS"},
        {echo_Echo_Upper_mid, "make me loud"},
        {echo_Echo_Echo_mid, "the shim saw this call"},
        {9, "a method the server does not have"},
        {echo_Echo_Quit_mid, "bye"},
    };
    unsigned sent = 0, answered = 0, errors = 0;

    if (!connect_host_only(&server_handle, &client_handle, &riid)) {
        rtl_fprintf(stderr, "echo demo: could not set up the channel\n");
        return 1;
    }
    rtl_printf("echo demo: server thread on handle %u, client on handle %u\n",
               (unsigned)server_handle, (unsigned)client_handle);
    if (pthread_create(&thread, NULL, server, &server_handle) != 0)
        return 1;

    for (size_t i = 0; i < sizeof requests / sizeof requests[0]; i++) {
        char answer[echo_Echo_text_size];
        Retcode status = rcOk;
        rtl_printf("client: %s(\"%s\")\n", method_name(requests[i].mid), requests[i].text);
        Retcode rc = call(client_handle, riid, requests[i].mid, requests[i].text, answer, &status);
        sent++;
        if (rc != rcOk) {
            rtl_printf("client: Call failed: " RETCODE_HR_FMT "\n", RETCODE_HR_PARAMS(rc));
            return 1;
        }
        if (status != rcOk) {
            rtl_printf("client:   -> error response, status " RETCODE_HR_FMT "\n",
                       RETCODE_HR_PARAMS(status));
            errors++;
        } else {
            rtl_printf("client:   -> \"%s\"\n", answer);
            answered++;
        }
    }
    pthread_join(thread, &result);
    const struct server_stats *st = result;

    /* After the server handle is closed, calls fail with rcNotConnected. */
    KnHandleClose(server_handle);
    char answer[echo_Echo_text_size];
    Retcode status;
    Retcode late = call(client_handle, riid, echo_Echo_Echo_mid, "anyone there?", answer, &status);
    rtl_printf("client: Echo after the server closed -> " RETCODE_HR_FMT "\n",
               RETCODE_HR_PARAMS(late));
    KnHandleClose(client_handle);

    rtl_printf("echo demo: %u requests sent, %u answered, %u refused; the server received %u\n",
               sent, answered, errors, st->received);
    return late == rcNotConnected && st->received == sent && errors == 1 ? 0 : 1;
}
