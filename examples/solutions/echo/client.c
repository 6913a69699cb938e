/*
 * echo.Client (examples/solutions/echo): calls echo.Server's endpoint
 * `main` (interface echo.Echo) over the connection `echo_connection`: a
 * fixed set of Echo and Add calls, each answer checked, then Quit.
 *
 * Written as a KasperskyOS client is: the handle from
 * ServiceLocatorConnect, the endpoint's RIID from ServiceLocatorGetRiid,
 * an NkKosTransport on the handle and the generated proxy
 * (gen/echo/Echo.idl.h) over it.
 *
 * Exit status 0 when every call was answered as expected. On the first
 * failure (a call's NK_E* result, an error response, a wrong answer) it
 * says what failed and how long that call took, still asks the server to
 * Quit (so it can report what it received), and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <coresrv/nk/transport-kos.h>
#include <coresrv/sl/sl_api.h>
#include <echo/Client.edl.h>
#include <echo/Echo.idl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solution.h"

/* Say that `what` failed with `rc` after the call started at `t0`. */
static int failed(const char *what, nk_err_t rc, long long t0)
{
    fprintf(stderr, "client: %s failed: %s after %lld ms\n", what, solution_nk_err_name(rc),
           solution_now_ms() - t0);
    return 0;
}

/* Echo(text): the answer must be the text. 1 when it is. */
static int call_echo(struct echo_Echo *echo, const char *text)
{
    echo_Echo_Echo_req req;
    char req_buffer[echo_Echo_Echo_req_arena_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buffer, req_buffer + sizeof req_buffer);
    echo_Echo_Echo_res res;
    char res_buffer[echo_Echo_Echo_res_arena_size];
    struct nk_arena res_arena = NK_ARENA_INITIALIZER(res_buffer, res_buffer + sizeof res_buffer);
    char what[echo_Echo_Echo_req_text_size + 16];

    snprintf(what, sizeof what, "Echo(\"%s\")", text);
    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    long long t0 = solution_now_ms();
    nk_err_t rc = nk_arena_store(nk_char_t, &req_arena, &req.text, text, strlen(text) + 1);
    if (rc == NK_EOK)
        rc = echo_Echo_Echo(echo, &req, &req_arena, &res, &res_arena);
    if (rc != NK_EOK)
        return failed(what, rc, t0);
    if (nk_msg_get_err(&res)) {
        fprintf(stderr, "client: %s: error response\n", what);
        return 0;
    }
    nk_uint32_t len = 0;
    const nk_char_t *answer = nk_arena_get(nk_char_t, &res_arena, &res.answer, &len);
    if (answer == RTL_NULL || len == 0 || answer[len - 1] != '\0' || strcmp(answer, text) != 0) {
        fprintf(stderr, "client: %s: answered \"%.*s\", expected the text back\n", what,
               answer ? (int)len : 0, answer ? answer : "");
        return 0;
    }
    printf("client: %s -> \"%s\"\n", what, answer);
    return 1;
}

/* Add(a, b): the sum must be a + b. 1 when it is. */
static int call_add(struct echo_Echo *echo, nk_sint32_t a, nk_sint32_t b)
{
    echo_Echo_Add_req req;
    echo_Echo_Add_res res;
    char what[64];

    snprintf(what, sizeof what, "Add(%d, %d)", (int)a, (int)b);
    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    req.a = a;
    req.b = b;
    long long t0 = solution_now_ms();
    nk_err_t rc = echo_Echo_Add(echo, &req, NK_NULL, &res, NK_NULL); /* no arena */
    if (rc != NK_EOK)
        return failed(what, rc, t0);
    if (nk_msg_get_err(&res)) {
        fprintf(stderr, "client: %s: error response\n", what);
        return 0;
    }
    if (res.sum != a + b) {
        fprintf(stderr, "client: %s: answered %d, expected %d\n", what, (int)res.sum, (int)(a + b));
        return 0;
    }
    printf("client: %s -> %d\n", what, (int)res.sum);
    return 1;
}

/* Quit(): the server answers, then stops. 1 when it answered. */
static int call_quit(struct echo_Echo *echo)
{
    echo_Echo_Quit_req req;
    echo_Echo_Quit_res res;

    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    long long t0 = solution_now_ms();
    nk_err_t rc = echo_Echo_Quit(echo, &req, NK_NULL, &res, NK_NULL);
    if (rc != NK_EOK)
        return failed("Quit()", rc, t0);
    if (nk_msg_get_err(&res)) {
        fprintf(stderr, "client: Quit(): error response\n");
        return 0;
    }
    printf("client: Quit() -> answered\n");
    return 1;
}

int main(void)
{
    solution_line_buffered();

    /* The client end of the connection init.yaml gives it to echo.Server,
     * and the RIID of the endpoint it calls there. */
    Handle handle = ServiceLocatorConnect("echo_connection");
    if (handle == INVALID_HANDLE) {
        fprintf(stderr, "client: ServiceLocatorConnect(\"echo_connection\") failed\n");
        return EXIT_FAILURE;
    }
    nk_iid_t riid = ServiceLocatorGetRiid(handle, "echo.Server.main");
    if (riid == INVALID_RIID) {
        fprintf(stderr, "client: ServiceLocatorGetRiid(\"echo.Server.main\") failed\n");
        return EXIT_FAILURE;
    }
    NkKosTransport transport;
    nk_err_t rc = NkKosTransport_Init(&transport, handle, NK_NULL, 0);
    if (rc != NK_EOK) {
        fprintf(stderr, "client: NkKosTransport_Init failed: %s\n", solution_nk_err_name(rc));
        return EXIT_FAILURE;
    }
    struct echo_Echo_proxy proxy;
    echo_Echo_proxy_init(&proxy, &transport.base, riid);
    printf("client: connected to echo.Server.main (RIID %u)\n", (unsigned)riid);

    int ok = call_echo(&proxy.base, "hello, KasperskyOS") &&
             call_add(&proxy.base, 40, 2) &&
             call_echo(&proxy.base, "two processes, one channel") &&
             call_add(&proxy.base, -7, 7);
    if (!ok) {
        call_quit(&proxy.base); /* best effort: let the server report */
        fprintf(stderr, "client: stopped at the first failure\n");
        return EXIT_FAILURE;
    }
    if (!call_quit(&proxy.base))
        return EXIT_FAILURE;
    printf("client: 5 calls, all answered as expected\n");
    return EXIT_SUCCESS;
}
