/*
 * echo.Server (examples/solutions/echo): serves the interface echo.Echo at
 * its endpoint `main` on the connection `echo_connection`, until a client
 * asks Quit.
 *
 * Written as a KasperskyOS server is: the handle from
 * ServiceLocatorRegister, an NkKosTransport on it, an implementation
 * object per endpoint, and the loop nk_transport_recv ->
 * echo_Server_entity_dispatch -> nk_transport_reply over the generated
 * entity header (gen/echo/Server.edl.h). It prints each request it
 * received and, at the end, how many of each method.
 *
 * Host-only test hook: ECHO_SERVER_DIE_AFTER=N makes the server kill
 * itself (SIGKILL) when its Nth request has arrived, before answering it
 * (scripts/solutions-kill-test.sh).
 */
#define _POSIX_C_SOURCE 200809L

#include <coresrv/nk/transport-kos.h>
#include <coresrv/sl/sl_api.h>
#include <echo/Server.edl.h>

#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "solution.h"

/* The implementation of echo.Echo: the interface object first (the
 * dispatcher passes &base), then what the methods keep. */
struct echo_impl {
    struct echo_Echo base;
    int quit; /* Quit was asked: answer it, then stop */
};

static nk_err_t echo_impl_Echo(struct echo_Echo *self, const struct echo_Echo_Echo_req *req,
                               const struct nk_arena *req_arena, struct echo_Echo_Echo_res *res,
                               struct nk_arena *res_arena)
{
    nk_uint32_t len = 0;
    const nk_char_t *text = nk_arena_get(nk_char_t, req_arena, &req->text, &len);

    nk_unused(self);
    if (text == RTL_NULL || len == 0 || len > echo_Echo_Echo_req_text_size ||
        text[len - 1] != '\0')
        return NK_EINVAL; /* not a string<64> */
    printf("server: Echo(\"%s\")\n", text);
    return nk_arena_store(nk_char_t, res_arena, &res->answer, text, len);
}

static nk_err_t echo_impl_Add(struct echo_Echo *self, const struct echo_Echo_Add_req *req,
                              const struct nk_arena *req_arena, struct echo_Echo_Add_res *res,
                              struct nk_arena *res_arena)
{
    int64_t sum = (int64_t)req->a + req->b;

    nk_unused(self);
    nk_unused(req_arena);
    nk_unused(res_arena);
    printf("server: Add(%d, %d)\n", (int)req->a, (int)req->b);
    if (sum < INT32_MIN || sum > INT32_MAX) {
        nk_msg_set_err(res, 1); /* the sum does not fit an SInt32 */
        return NK_EOK;
    }
    res->sum = (nk_sint32_t)sum;
    return NK_EOK;
}

static nk_err_t echo_impl_Quit(struct echo_Echo *self, const struct echo_Echo_Quit_req *req,
                               const struct nk_arena *req_arena, struct echo_Echo_Quit_res *res,
                               struct nk_arena *res_arena)
{
    nk_unused(req);
    nk_unused(req_arena);
    nk_unused(res);
    nk_unused(res_arena);
    printf("server: Quit()\n");
    ((struct echo_impl *)self)->quit = 1;
    return NK_EOK;
}

/* ECHO_SERVER_DIE_AFTER as a request count; 0 when unset or not a number. */
static unsigned long die_after(void)
{
    const char *v = getenv("ECHO_SERVER_DIE_AFTER");
    char *end = NULL;
    unsigned long n = v ? strtoul(v, &end, 10) : 0;
    return v && *v && *end == '\0' ? n : 0;
}

int main(void)
{
    static const struct echo_Echo_ops ops = {
        .Echo = echo_impl_Echo,
        .Add = echo_impl_Add,
        .Quit = echo_impl_Quit,
    };
    static struct echo_impl impl = {.base = {&ops}};
    unsigned long received = 0, by_method[echo_Echo_mid_max + 1] = {0}, refused = 0;
    unsigned long die = die_after();

    solution_line_buffered();

    /* The server end of the connection init.yaml gives echo.Client. */
    Handle handle = ServiceLocatorRegister("echo_connection", NULL, 0, NULL);
    if (handle == INVALID_HANDLE) {
        fprintf(stderr, "server: ServiceLocatorRegister(\"echo_connection\") failed\n");
        return EXIT_FAILURE;
    }
    NkKosTransport transport;
    nk_err_t rc = NkKosTransport_Init(&transport, handle, NK_NULL, 0);
    if (rc != NK_EOK) {
        fprintf(stderr, "server: NkKosTransport_Init failed: %s\n", solution_nk_err_name(rc));
        return EXIT_FAILURE;
    }

    echo_Server_entity entity;
    echo_Server_entity_init(&entity, &impl.base);

    echo_Server_entity_req req;
    char req_buffer[echo_Server_entity_req_arena_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buffer, req_buffer + sizeof req_buffer);
    echo_Server_entity_res res;
    char res_buffer[echo_Server_entity_res_arena_size];
    struct nk_arena res_arena = NK_ARENA_INITIALIZER(res_buffer, res_buffer + sizeof res_buffer);

    memset(&res, 0, sizeof res);
    while (!impl.quit) {
        nk_req_reset(&req);
        nk_arena_reset(&req_arena);
        nk_arena_reset(&res_arena);
        rc = nk_transport_recv(&transport.base, &req.base_, &req_arena);
        if (rc != NK_EOK) {
            fprintf(stderr, "server: nk_transport_recv failed: %s\n", solution_nk_err_name(rc));
            return EXIT_FAILURE;
        }
        received++;
        nk_mid_t mid = nk_msg_get_mid(&req.base_);
        by_method[mid < echo_Echo_mid_max ? mid : echo_Echo_mid_max]++;
        if (die != 0 && received == die) {
            printf("server: request %lu received; ECHO_SERVER_DIE_AFTER=%lu: SIGKILL to myself\n",
                   received, die);
            kill(getpid(), SIGKILL);
        }
        rc = echo_Server_entity_dispatch(&entity, &req.base_, &req_arena, &res.base_,
                                         &res_arena);
        if (rc != NK_EOK) {
            /* Not a request of echo.Echo at `main`, or not a valid one:
             * answer with an error response (ex.err, no parameters). */
            printf("server: request iid=%u mid=%u refused: %s\n",
                   (unsigned)nk_msg_get_iid(&req.base_), (unsigned)mid,
                   solution_nk_err_name(rc));
            nk_arena_reset(&res_arena);
            nk_req_reset(&res.base_);
            nk_msg_set_method_id(&res.base_, nk_msg_get_iid(&req.base_), mid);
            nk_msg_set_err(&res.base_, 1);
            refused++;
        }
        if (impl.quit) /* said before the answer lets the client go */
            printf("server: received %lu requests: Echo %lu, Add %lu, Quit %lu, other %lu; "
                   "refused %lu\n",
                   received, by_method[echo_Echo_Echo_mid], by_method[echo_Echo_Add_mid],
                   by_method[echo_Echo_Quit_mid], by_method[echo_Echo_mid_max], refused);
        rc = nk_transport_reply(&transport.base, &res.base_, &res_arena);
        if (rc != NK_EOK) {
            fprintf(stderr, "server: nk_transport_reply failed: %s\n", solution_nk_err_name(rc));
            return EXIT_FAILURE;
        }
    }

    return EXIT_SUCCESS;
}
