/*
 * sl_host: the service locator on the host emulator, as a KasperskyOS
 * client and server use it: the server takes its end of "echo_connection"
 * with ServiceLocatorRegister, the client (started first) waits in
 * ServiceLocatorConnect until it has, and asks ServiceLocatorGetRiid for
 * "echo.Server.main", which the emulator finds in the descriptions under
 * KOS_SHIM_IDL_PATH (examples/idl/echo/Server.edl: RIID 0).
 *
 * Checks: the handles and RIID work for a round trip; bad arguments,
 * a taken name, an unknown endpoint and a server handle give
 * INVALID_HANDLE / INVALID_RIID; the statistics name the learned
 * connection and endpoint.
 */
#define _POSIX_C_SOURCE 200809L

#include <coresrv/sl/sl_api.h>
#include <coresrv/syscalls.h>
#include <nk/arena.h>
#include <rtl/retcode.h>
#include <services/rtl/nk_msg.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "echo_harness.h"

typedef struct __nk_packed {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t text;
} Text_msg;

enum { MID_ECHO, MID_UPPER, MID_QUIT };

static int dispatch(void *ctx, const struct nk_message *req, const struct nk_arena *req_arena,
                    struct nk_message *res, struct nk_arena *res_arena)
{
    (void)ctx;
    nk_uint32_t n = 0;
    const char *text = nk_arena_get(char, req_arena, &((const Text_msg *)req)->text, &n);
    CHECK(text != NULL);
    nk_msg_set_method_id(res, req->iid, req->mid);
    nk_msg_set_size(res, sizeof(Text_msg));
    CHECK_EQ(NK_EOK,
             nk_arena_store(char, res_arena, &((Text_msg *)res)->text, text, strlen(text) + 1));
    return req->mid == MID_QUIT;
}

static void *server_main(void *arg)
{
    (void)arg;
    struct timespec nap = {0, 50 * 1000 * 1000};
    nanosleep(&nap, NULL); /* the client asks first and waits */
    ServiceId id = 12345;
    Handle h = ServiceLocatorRegister("echo_connection", NULL, 0, &id);
    CHECK(h != INVALID_HANDLE);
    CHECK_EQ(h, id);
    CHECK_EQ(INVALID_HANDLE, ServiceLocatorRegister("echo_connection", NULL, 0, NULL));
    CHECK_EQ(INVALID_RIID, ServiceLocatorGetRiid(h, "echo.Server.main"));
    echo_harness_server s = {h, sizeof(Text_msg), sizeof(Text_msg), dispatch, NULL};
    echo_harness_serve(&s);
    return NULL;
}

static void call(Handle h, nk_iid_t riid, nk_mid_t mid, const char *text)
{
    Text_msg req, res;
    char buf[64], res_buf[64];
    struct nk_arena arena, res_arena;
    echo_harness_request(&req.base_, sizeof req, riid, mid);
    echo_harness_arena_text(&arena, buf, sizeof buf, &req.text, text);
    CHECK_RC(rcOk, echo_harness_call(h, &req.base_, &arena, &res.base_, sizeof res, &res_arena,
                                     res_buf, sizeof res_buf));
    nk_uint32_t n = 0;
    const char *answer = nk_arena_get(char, &res_arena, &res.text, &n);
    CHECK(answer != NULL && strcmp(answer, text) == 0);
}

int main(void)
{
    CHECK_EQ(0, setenv("KOS_SHIM_IDL_PATH", "examples/idl", 1));
    unsetenv("KOS_SHIM_EDL");
    unsetenv("KOS_SHIM_NAMES");
    CHECK_RC(rcOk, kos_shim_stats_set_level(KOS_SHIM_STATS_LEVEL_COUNT));

    CHECK_EQ(INVALID_HANDLE, ServiceLocatorRegister(NULL, NULL, 0, NULL));
    CHECK_EQ(INVALID_HANDLE, ServiceLocatorRegister("", NULL, 0, NULL));
    CHECK_EQ(INVALID_HANDLE, ServiceLocatorConnect(NULL));
    CHECK_EQ(INVALID_RIID, ServiceLocatorGetRiid(INVALID_HANDLE, "echo.Server.main"));

    pthread_t server;
    CHECK_EQ(0, pthread_create(&server, NULL, server_main, NULL));
    Handle h = ServiceLocatorConnect("echo_connection");
    CHECK(h != INVALID_HANDLE);
    nk_iid_t riid = ServiceLocatorGetRiid(h, "echo.Server.main");
    CHECK_EQ(0, riid);
    CHECK_EQ(0, ServiceLocatorGetRiid(h, "Server.main")); /* known now: loaded by name */
    CHECK_EQ(INVALID_RIID, ServiceLocatorGetRiid(h, "echo.Server.nope"));
    CHECK_EQ(INVALID_RIID, ServiceLocatorGetRiid(h, "nosuch.Entity.main"));
    CHECK_EQ(INVALID_RIID, ServiceLocatorGetRiid(h, NULL));
    call(h, riid, MID_ECHO, "hello");
    call(h, riid, MID_UPPER, "again");
    call(h, riid, MID_QUIT, "bye");
    CHECK_EQ(0, pthread_join(server, NULL));

    /* The statistics name what the locator answered. */
    char path[] = "/tmp/sl_host-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_RC(rcOk, kos_shim_stats_write(fd, KOS_SHIM_FORMAT_JSON));
    FILE *f = fdopen(fd, "r");
    CHECK(f != NULL);
    rewind(f);
    char json[16384];
    size_t n = fread(json, 1, sizeof json - 1, f);
    json[n] = 0;
    fclose(f);
    unlink(path);
    CHECK(strstr(json, "\"connection\":\"echo_connection\"") != NULL);
    if (!strstr(json, "\"endpoint\":\"Server.main\"")) fprintf(stderr, "%s\n", json);
    CHECK(strstr(json, "\"endpoint\":\"Server.main\"") != NULL);
    printf("sl_host: registered, connected before the server, RIID 0 from the descriptions, 3 "
           "round trips, names in the statistics\n");
    return 0;
}
