/*
 * store.Frontend (examples/solutions/store): serves the interface store.Api
 * at its endpoint `api` on the connection `api_connection`, and keeps
 * nothing itself: every Put and Get becomes a call to store.Storage's
 * endpoint `kv` (store.Kv) over the connection `kv_connection`, so one
 * client request crosses two IPC hops. It checks keys (an empty one is
 * BadKey, never forwarded) and maps store.Kv's error codes to store.Api's:
 * NotFound -> NoSuchKey, TableFull -> Full, a failed call or any other
 * code -> StorageUnavailable. Quit is forwarded too: the frontend stops
 * the storage, answers, then stops.
 *
 * Server side as a KasperskyOS server is written (ServiceLocatorRegister,
 * NkKosTransport, nk_transport_recv -> store_Frontend_entity_dispatch ->
 * nk_transport_reply, gen/store/Frontend.edl.h); client side as a client
 * is (ServiceLocatorConnect, ServiceLocatorGetRiid("store.Storage.kv"), a
 * second NkKosTransport, the proxy of gen/store/Kv.idl.h).
 *
 * Exit status 0 when every call to the storage worked; otherwise each
 * failure was said on stderr (and answered StorageUnavailable) and the
 * status is 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <coresrv/nk/transport-kos.h>
#include <coresrv/sl/sl_api.h>
#include <store/Frontend.edl.h>
#include <store/Kv.idl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solution.h"

/* The implementation of store.Api: the interface object first (the
 * dispatcher passes &base), then the proxy of the storage it forwards to. */
struct api_impl {
    struct store_Api base;
    struct store_Kv_proxy kv;
    unsigned long forwarded;   /* calls made to store.Storage */
    unsigned long kv_failures; /* of those, calls that failed (not error responses) */
    int quit;                  /* Quit was asked: answer it, then stop */
};

/* The key in `ptr`, if it is a string<32>; NULL otherwise. */
static const nk_char_t *key_of(const struct nk_arena *arena, const nk_ptr_t *ptr)
{
    nk_uint32_t len = 0;
    const nk_char_t *key = nk_arena_get(nk_char_t, arena, ptr, &len);
    if (key == RTL_NULL || len == 0 || len > store_Types_Key_size || key[len - 1] != '\0')
        return RTL_NULL;
    return key;
}

/* store.Api's code for a store.Kv error response's code. */
static nk_uint32_t api_code(nk_uint32_t kv_code)
{
    switch (kv_code) {
    case store_Kv_NotFound: return store_Api_NoSuchKey;
    case store_Kv_TableFull: return store_Api_Full;
    default: return store_Api_StorageUnavailable;
    }
}

static const char *api_code_name(nk_uint32_t code)
{
    switch (code) {
    case store_Api_BadKey: return "BadKey";
    case store_Api_NoSuchKey: return "NoSuchKey";
    case store_Api_StorageUnavailable: return "StorageUnavailable";
    case store_Api_Full: return "Full";
    default: return "unknown";
    }
}

static const char *kv_code_name(nk_uint32_t code)
{
    switch (code) {
    case store_Kv_NotFound: return "NotFound";
    case store_Kv_TableFull: return "TableFull";
    default: return "unknown";
    }
}

/* A call to the storage failed with `rc`: say so, count it. */
static nk_uint32_t kv_failed(struct api_impl *api, const char *what, nk_err_t rc)
{
    fprintf(stderr, "frontend: %s: the call to store.Storage failed: %s\n", what,
            solution_nk_err_name(rc));
    api->kv_failures++;
    return store_Api_StorageUnavailable;
}

/* Kv.Store(key, value): 0, or the store.Api code to answer with. */
static nk_uint32_t kv_store(struct api_impl *api, const char *what, const char *key,
                            nk_sint64_t value)
{
    store_Kv_Store_req req;
    char req_buffer[store_Kv_Store_req_arena_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buffer, req_buffer + sizeof req_buffer);
    store_Kv_Store_res res;

    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    nk_err_t rc = nk_arena_store(nk_char_t, &req_arena, &req.key, key, strlen(key) + 1);
    if (rc != NK_EOK)
        return kv_failed(api, what, rc);
    req.value = value;
    api->forwarded++;
    rc = store_Kv_Store(&api->kv.base, &req, &req_arena, &res, NK_NULL);
    if (rc != NK_EOK)
        return kv_failed(api, what, rc);
    if (nk_msg_get_err(&res)) {
        nk_uint32_t code = api_code(res.err_.code);
        printf("frontend: %s -> Kv.Store: error %u (%s) -> error %u (%s)\n", what,
               (unsigned)res.err_.code, kv_code_name(res.err_.code), (unsigned)code,
               api_code_name(code));
        return code;
    }
    printf("frontend: %s -> Kv.Store: ok\n", what);
    return 0;
}

/* Kv.Fetch(key) into *value: 0, or the store.Api code to answer with. */
static nk_uint32_t kv_fetch(struct api_impl *api, const char *what, const char *key,
                            nk_sint64_t *value)
{
    store_Kv_Fetch_req req;
    char req_buffer[store_Kv_Fetch_req_arena_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buffer, req_buffer + sizeof req_buffer);
    store_Kv_Fetch_res res;

    memset(&req, 0, sizeof req);
    memset(&res, 0, sizeof res);
    nk_err_t rc = nk_arena_store(nk_char_t, &req_arena, &req.key, key, strlen(key) + 1);
    if (rc != NK_EOK)
        return kv_failed(api, what, rc);
    api->forwarded++;
    rc = store_Kv_Fetch(&api->kv.base, &req, &req_arena, &res, NK_NULL);
    if (rc != NK_EOK)
        return kv_failed(api, what, rc);
    if (nk_msg_get_err(&res)) {
        nk_uint32_t code = api_code(res.err_.code);
        printf("frontend: %s -> Kv.Fetch: error %u (%s) -> error %u (%s)\n", what,
               (unsigned)res.err_.code, kv_code_name(res.err_.code), (unsigned)code,
               api_code_name(code));
        return code;
    }
    *value = res.value;
    printf("frontend: %s -> Kv.Fetch: %lld\n", what, (long long)res.value);
    return 0;
}

static nk_err_t api_impl_Put(struct store_Api *self, const struct store_Api_Put_req *req,
                             const struct nk_arena *req_arena, struct store_Api_Put_res *res,
                             struct nk_arena *res_arena)
{
    struct api_impl *api = (struct api_impl *)self;
    const nk_char_t *key = key_of(req_arena, &req->key);
    char what[store_Types_Key_size + 40];

    nk_unused(res_arena);
    if (key == RTL_NULL)
        return NK_EINVAL; /* not a string<32>: the message is malformed */
    snprintf(what, sizeof what, "Put(\"%s\", %lld)", key, (long long)req->value);
    nk_uint32_t code = store_Api_BadKey;
    if (key[0] == '\0')
        printf("frontend: %s -> error %u (BadKey), not forwarded\n", what, (unsigned)code);
    else
        code = kv_store(api, what, key, req->value);
    if (code != 0) {
        nk_msg_set_err(res, 1);
        res->err_.code = code;
    }
    return NK_EOK;
}

static nk_err_t api_impl_Get(struct store_Api *self, const struct store_Api_Get_req *req,
                             const struct nk_arena *req_arena, struct store_Api_Get_res *res,
                             struct nk_arena *res_arena)
{
    struct api_impl *api = (struct api_impl *)self;
    const nk_char_t *key = key_of(req_arena, &req->key);
    char what[store_Types_Key_size + 16];

    nk_unused(res_arena);
    if (key == RTL_NULL)
        return NK_EINVAL;
    snprintf(what, sizeof what, "Get(\"%s\")", key);
    nk_uint32_t code = store_Api_BadKey;
    nk_sint64_t value = 0;
    if (key[0] == '\0')
        printf("frontend: %s -> error %u (BadKey), not forwarded\n", what, (unsigned)code);
    else
        code = kv_fetch(api, what, key, &value);
    if (code != 0) {
        nk_msg_set_err(res, 1);
        res->err_.code = code;
    } else {
        res->value = value;
    }
    return NK_EOK;
}

static nk_err_t api_impl_Quit(struct store_Api *self, const struct store_Api_Quit_req *req,
                              const struct nk_arena *req_arena, struct store_Api_Quit_res *res,
                              struct nk_arena *res_arena)
{
    struct api_impl *api = (struct api_impl *)self;
    store_Kv_Quit_req kv_req;
    store_Kv_Quit_res kv_res;

    nk_unused(req);
    nk_unused(req_arena);
    nk_unused(res);
    nk_unused(res_arena);
    memset(&kv_req, 0, sizeof kv_req);
    memset(&kv_res, 0, sizeof kv_res);
    api->forwarded++;
    nk_err_t rc = store_Kv_Quit(&api->kv.base, &kv_req, NK_NULL, &kv_res, NK_NULL);
    if (rc != NK_EOK)
        kv_failed(api, "Quit()", rc);
    else if (nk_msg_get_err(&kv_res))
        kv_failed(api, "Quit()", NK_EINVAL); /* Kv's Quit has no error response */
    else
        printf("frontend: Quit() -> Kv.Quit: ok\n");
    api->quit = 1;
    return NK_EOK;
}

int main(void)
{
    static const struct store_Api_ops ops = {
        .Put = api_impl_Put,
        .Get = api_impl_Get,
        .Quit = api_impl_Quit,
    };
    static struct api_impl impl = {.base = {&ops}};
    unsigned long received = 0, by_method[store_Api_mid_max + 1] = {0}, refused = 0;

    solution_line_buffered();

    /* The client side first: the connection to store.Storage, the RIID of
     * its endpoint `kv`, a transport and the proxy. */
    Handle kv_handle = ServiceLocatorConnect("kv_connection");
    if (kv_handle == INVALID_HANDLE) {
        fprintf(stderr, "frontend: ServiceLocatorConnect(\"kv_connection\") failed\n");
        return EXIT_FAILURE;
    }
    nk_iid_t kv_riid = ServiceLocatorGetRiid(kv_handle, "store.Storage.kv");
    if (kv_riid == INVALID_RIID) {
        fprintf(stderr, "frontend: ServiceLocatorGetRiid(\"store.Storage.kv\") failed\n");
        return EXIT_FAILURE;
    }
    NkKosTransport kv_transport;
    nk_err_t rc = NkKosTransport_Init(&kv_transport, kv_handle, NK_NULL, 0);
    if (rc != NK_EOK) {
        fprintf(stderr, "frontend: NkKosTransport_Init (kv) failed: %s\n",
                solution_nk_err_name(rc));
        return EXIT_FAILURE;
    }
    store_Kv_proxy_init(&impl.kv, &kv_transport.base, kv_riid);
    printf("frontend: connected to store.Storage.kv (RIID %u)\n", (unsigned)kv_riid);

    /* Then the server side: the connection init.yaml gives store.Client. */
    Handle handle = ServiceLocatorRegister("api_connection", NULL, 0, NULL);
    if (handle == INVALID_HANDLE) {
        fprintf(stderr, "frontend: ServiceLocatorRegister(\"api_connection\") failed\n");
        return EXIT_FAILURE;
    }
    NkKosTransport transport;
    rc = NkKosTransport_Init(&transport, handle, NK_NULL, 0);
    if (rc != NK_EOK) {
        fprintf(stderr, "frontend: NkKosTransport_Init (api) failed: %s\n",
                solution_nk_err_name(rc));
        return EXIT_FAILURE;
    }

    store_Frontend_entity entity;
    store_Frontend_entity_init(&entity, &impl.base);

    store_Frontend_entity_req req;
    char req_buffer[store_Frontend_entity_req_arena_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buffer, req_buffer + sizeof req_buffer);
    /* No response of store.Api has an arena (res_arena_size 0): the
     * dispatcher and the reply get none (NK_NULL). */
    nk_static_assert(store_Frontend_entity_res_arena_size == 0, api_responses_have_no_arena);
    store_Frontend_entity_res res;

    memset(&res, 0, sizeof res);
    while (!impl.quit) {
        nk_req_reset(&req);
        nk_arena_reset(&req_arena);
        rc = nk_transport_recv(&transport.base, &req.base_, &req_arena);
        if (rc != NK_EOK) {
            fprintf(stderr, "frontend: nk_transport_recv failed: %s\n",
                    solution_nk_err_name(rc));
            return EXIT_FAILURE;
        }
        received++;
        nk_mid_t mid = nk_msg_get_mid(&req.base_);
        by_method[mid < store_Api_mid_max ? mid : store_Api_mid_max]++;
        rc = store_Frontend_entity_dispatch(&entity, &req.base_, &req_arena, &res.base_,
                                            NK_NULL);
        if (rc != NK_EOK) {
            /* Not a request of store.Api at `api`, or not a valid one:
             * answer with an error response without parameters. */
            printf("frontend: request iid=%u mid=%u refused: %s\n",
                   (unsigned)nk_msg_get_iid(&req.base_), (unsigned)mid,
                   solution_nk_err_name(rc));
            nk_req_reset(&res.base_);
            nk_msg_set_method_id(&res.base_, nk_msg_get_iid(&req.base_), mid);
            nk_msg_set_err(&res.base_, 1);
            refused++;
        }
        if (impl.quit) /* said before the answer lets the client go */
            printf("frontend: received %lu requests: Put %lu, Get %lu, Quit %lu, other %lu; "
                   "refused %lu; %lu calls to store.Storage, %lu failed\n",
                   received, by_method[store_Api_Put_mid], by_method[store_Api_Get_mid],
                   by_method[store_Api_Quit_mid], by_method[store_Api_mid_max], refused,
                   impl.forwarded, impl.kv_failures);
        rc = nk_transport_reply(&transport.base, &res.base_, NK_NULL);
        if (rc != NK_EOK) {
            fprintf(stderr, "frontend: nk_transport_reply failed: %s\n",
                    solution_nk_err_name(rc));
            return EXIT_FAILURE;
        }
    }

    return impl.kv_failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
