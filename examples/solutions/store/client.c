/*
 * store.Client (examples/solutions/store): calls store.Frontend's endpoint
 * `api` (interface store.Api) over the connection `api_connection`: a
 * fixed list of Put and Get calls, each with the answer it must get (a
 * value, or an error response with store.Api's code), then Quit.
 *
 * Written as a KasperskyOS client is: the handle from
 * ServiceLocatorConnect, the endpoint's RIID from ServiceLocatorGetRiid,
 * an NkKosTransport on the handle and the generated proxy
 * (gen/store/Api.idl.h) over it.
 *
 * Exit status 0 when every call was answered as expected. On the first
 * failure (a call's NK_E* result, an answer other than the expected one)
 * it says what failed, still asks the frontend to Quit, and exits 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <coresrv/nk/transport-kos.h>
#include <coresrv/sl/sl_api.h>
#include <store/Api.idl.h>
#include <store/Client.edl.h>

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solution.h"

/* The layout the IDL gives (parameters after base_, each naturally
 * aligned), which the shim's payload decoder reads too. */
nk_static_assert(offsetof(store_Api_Put_req, key) == 24, Put_req_key);
nk_static_assert(offsetof(store_Api_Put_req, value) == 32, Put_req_value);
nk_static_assert(sizeof(store_Api_Put_req) == 40, Put_req_size);
nk_static_assert(offsetof(store_Api_Get_res, value) == 24, Get_res_value);
nk_static_assert(offsetof(store_Api_Get_res, err_.code) == 24, Get_err_code);

/* One call and the answer it must get: `code` 0 for a value (Get: `value`),
 * else the code of the error response. */
struct step {
    nk_mid_t mid; /* store_Api_Put_mid or store_Api_Get_mid */
    const char *key;
    nk_sint64_t value; /* Put: to store; Get: expected */
    nk_uint32_t code;
};

static const struct step steps[] = {
    {store_Api_Put_mid, "apples", 3, 0},
    {store_Api_Put_mid, "pears", 5, 0},
    {store_Api_Get_mid, "apples", 3, 0},
    {store_Api_Put_mid, "apples", 7, 0}, /* replaces 3 */
    {store_Api_Get_mid, "apples", 7, 0},
    {store_Api_Get_mid, "plums", 0, store_Api_NoSuchKey},
    {store_Api_Put_mid, "", 1, store_Api_BadKey}, /* the frontend refuses it */
    {store_Api_Put_mid, "figs", 11, 0},
    {store_Api_Put_mid, "limes", 13, 0}, /* the storage's 4 rows are taken */
    {store_Api_Put_mid, "kiwis", 17, store_Api_Full},
    {store_Api_Get_mid, "pears", 5, 0},
};

static const char *code_name(nk_uint32_t code)
{
    switch (code) {
    case store_Api_BadKey: return "BadKey";
    case store_Api_NoSuchKey: return "NoSuchKey";
    case store_Api_StorageUnavailable: return "StorageUnavailable";
    case store_Api_Full: return "Full";
    default: return "unknown";
    }
}

/* Compare the answer (`err`, `code`, `value`) with what `s` expects; print
 * it. 1 when it is the expected one. */
static int check(const struct step *s, const char *what, nk_uint32_t err, nk_uint32_t code,
                 nk_sint64_t value)
{
    if (err && code == s->code) {
        printf("client: %s -> error %u (%s), as expected\n", what, (unsigned)code,
               code_name(code));
        return 1;
    }
    if (!err && s->code == 0 && (s->mid == store_Api_Put_mid || value == s->value)) {
        if (s->mid == store_Api_Put_mid)
            printf("client: %s -> ok\n", what);
        else
            printf("client: %s -> %lld\n", what, (long long)value);
        return 1;
    }
    if (err)
        fprintf(stderr, "client: %s -> error %u (%s), expected ", what, (unsigned)code,
                code_name(code));
    else
        fprintf(stderr, "client: %s -> %lld, expected ", what, (long long)value);
    if (s->code != 0)
        fprintf(stderr, "error %u (%s)\n", (unsigned)s->code, code_name(s->code));
    else if (s->mid == store_Api_Get_mid)
        fprintf(stderr, "%lld\n", (long long)s->value);
    else
        fprintf(stderr, "ok\n");
    return 0;
}

/* Make the call `s` describes through `api`; 1 when answered as expected. */
static int call(struct store_Api *api, const struct step *s)
{
    char key_buffer[store_Types_Key_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(key_buffer, key_buffer + sizeof key_buffer);
    char what[store_Types_Key_size + 40];
    nk_err_t rc;
    long long t0;

    if (s->mid == store_Api_Put_mid) {
        store_Api_Put_req req;
        store_Api_Put_res res;
        snprintf(what, sizeof what, "Put(\"%s\", %lld)", s->key, (long long)s->value);
        memset(&req, 0, sizeof req);
        memset(&res, 0, sizeof res);
        req.value = s->value;
        t0 = solution_now_ms();
        rc = nk_arena_store(nk_char_t, &req_arena, &req.key, s->key, strlen(s->key) + 1);
        if (rc == NK_EOK)
            rc = store_Api_Put(api, &req, &req_arena, &res, NK_NULL);
        if (rc == NK_EOK)
            return check(s, what, nk_msg_get_err(&res),
                         nk_msg_get_err(&res) ? res.err_.code : 0, 0);
    } else {
        store_Api_Get_req req;
        store_Api_Get_res res;
        snprintf(what, sizeof what, "Get(\"%s\")", s->key);
        memset(&req, 0, sizeof req);
        memset(&res, 0, sizeof res);
        t0 = solution_now_ms();
        rc = nk_arena_store(nk_char_t, &req_arena, &req.key, s->key, strlen(s->key) + 1);
        if (rc == NK_EOK)
            rc = store_Api_Get(api, &req, &req_arena, &res, NK_NULL);
        if (rc == NK_EOK)
            return check(s, what, nk_msg_get_err(&res),
                         nk_msg_get_err(&res) ? res.err_.code : 0,
                         nk_msg_get_err(&res) ? 0 : res.value);
    }
    fprintf(stderr, "client: %s failed: %s after %lld ms\n", what, solution_nk_err_name(rc),
            solution_now_ms() - t0);
    return 0;
}

/* Quit(): the frontend stops the storage, answers, then stops. */
static int call_quit(struct store_Api *api)
{
    store_Api_Quit_req req;
    store_Api_Quit_res res;

    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    long long t0 = solution_now_ms();
    nk_err_t rc = store_Api_Quit(api, &req, NK_NULL, &res, NK_NULL);
    if (rc != NK_EOK) {
        fprintf(stderr, "client: Quit() failed: %s after %lld ms\n", solution_nk_err_name(rc),
                solution_now_ms() - t0);
        return 0;
    }
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

    /* The client end of the connection init.yaml gives it to
     * store.Frontend, and the RIID of the endpoint it calls there. */
    Handle handle = ServiceLocatorConnect("api_connection");
    if (handle == INVALID_HANDLE) {
        fprintf(stderr, "client: ServiceLocatorConnect(\"api_connection\") failed\n");
        return EXIT_FAILURE;
    }
    nk_iid_t riid = ServiceLocatorGetRiid(handle, "store.Frontend.api");
    if (riid == INVALID_RIID) {
        fprintf(stderr, "client: ServiceLocatorGetRiid(\"store.Frontend.api\") failed\n");
        return EXIT_FAILURE;
    }
    NkKosTransport transport;
    nk_err_t rc = NkKosTransport_Init(&transport, handle, NK_NULL, 0);
    if (rc != NK_EOK) {
        fprintf(stderr, "client: NkKosTransport_Init failed: %s\n", solution_nk_err_name(rc));
        return EXIT_FAILURE;
    }
    struct store_Api_proxy proxy;
    store_Api_proxy_init(&proxy, &transport.base, riid);
    printf("client: connected to store.Frontend.api (RIID %u)\n", (unsigned)riid);

    for (size_t i = 0; i < nk_array_size(steps); i++) {
        if (!call(&proxy.base, &steps[i])) {
            call_quit(&proxy.base); /* best effort: let the others report */
            fprintf(stderr, "client: stopped at the first failure\n");
            return EXIT_FAILURE;
        }
    }
    if (!call_quit(&proxy.base))
        return EXIT_FAILURE;
    printf("client: %zu calls and Quit, all answered as expected\n", nk_array_size(steps));
    return EXIT_SUCCESS;
}
