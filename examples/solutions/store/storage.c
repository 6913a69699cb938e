/*
 * store.Storage (examples/solutions/store): keeps a table of four
 * (key, value) rows and serves it as the interface store.Kv at its
 * endpoint `kv` on the connection `kv_connection`, until Quit.
 *
 * Written as a KasperskyOS server is: the handle from
 * ServiceLocatorRegister, an NkKosTransport on it, an implementation
 * object, and the loop nk_transport_recv -> store_Storage_entity_dispatch
 * -> nk_transport_reply over the generated entity header
 * (gen/store/Storage.edl.h). Failures the interface describes are error
 * responses with store.Kv's codes: NotFound, TableFull.
 */
#define _POSIX_C_SOURCE 200809L

#include <coresrv/nk/transport-kos.h>
#include <coresrv/sl/sl_api.h>
#include <store/Storage.edl.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "solution.h"

enum { ROWS = 4 };

/* The implementation of store.Kv: the interface object first (the
 * dispatcher passes &base), then the table. */
struct kv_impl {
    struct store_Kv base;
    struct {
        char key[store_Types_Key_size]; /* "" when the row is free */
        nk_sint64_t value;
    } rows[ROWS];
    int quit; /* Quit was asked: answer it, then stop */
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

/* The row holding `key`, or -1. */
static int row_of(const struct kv_impl *kv, const char *key)
{
    for (int i = 0; i < ROWS; i++)
        if (kv->rows[i].key[0] != '\0' && strcmp(kv->rows[i].key, key) == 0)
            return i;
    return -1;
}

static nk_err_t kv_impl_Store(struct store_Kv *self, const struct store_Kv_Store_req *req,
                              const struct nk_arena *req_arena, struct store_Kv_Store_res *res,
                              struct nk_arena *res_arena)
{
    struct kv_impl *kv = (struct kv_impl *)self;
    const nk_char_t *key = key_of(req_arena, &req->key);

    nk_unused(res_arena);
    if (key == RTL_NULL || key[0] == '\0')
        return NK_EINVAL; /* the frontend sends only keys it checked */
    int row = row_of(kv, key);
    for (int i = 0; row < 0 && i < ROWS; i++)
        if (kv->rows[i].key[0] == '\0')
            row = i;
    if (row < 0) {
        printf("storage: Store(\"%s\", %lld): table full\n", key, (long long)req->value);
        nk_msg_set_err(res, 1);
        res->err_.code = store_Kv_TableFull;
        return NK_EOK;
    }
    snprintf(kv->rows[row].key, sizeof kv->rows[row].key, "%s", key);
    kv->rows[row].value = req->value;
    printf("storage: Store(\"%s\", %lld): row %d\n", key, (long long)req->value, row);
    return NK_EOK;
}

static nk_err_t kv_impl_Fetch(struct store_Kv *self, const struct store_Kv_Fetch_req *req,
                              const struct nk_arena *req_arena, struct store_Kv_Fetch_res *res,
                              struct nk_arena *res_arena)
{
    struct kv_impl *kv = (struct kv_impl *)self;
    const nk_char_t *key = key_of(req_arena, &req->key);

    nk_unused(res_arena);
    if (key == RTL_NULL || key[0] == '\0')
        return NK_EINVAL;
    int row = row_of(kv, key);
    if (row < 0) {
        printf("storage: Fetch(\"%s\"): not found\n", key);
        nk_msg_set_err(res, 1);
        res->err_.code = store_Kv_NotFound;
        return NK_EOK;
    }
    res->value = kv->rows[row].value;
    printf("storage: Fetch(\"%s\"): row %d, %lld\n", key, row, (long long)res->value);
    return NK_EOK;
}

static nk_err_t kv_impl_Quit(struct store_Kv *self, const struct store_Kv_Quit_req *req,
                             const struct nk_arena *req_arena, struct store_Kv_Quit_res *res,
                             struct nk_arena *res_arena)
{
    nk_unused(req);
    nk_unused(req_arena);
    nk_unused(res);
    nk_unused(res_arena);
    printf("storage: Quit()\n");
    ((struct kv_impl *)self)->quit = 1;
    return NK_EOK;
}

int main(void)
{
    static const struct store_Kv_ops ops = {
        .Store = kv_impl_Store,
        .Fetch = kv_impl_Fetch,
        .Quit = kv_impl_Quit,
    };
    static struct kv_impl impl = {.base = {&ops}};
    unsigned long received = 0, by_method[store_Kv_mid_max + 1] = {0}, refused = 0;

    solution_line_buffered();

    /* The server end of the connection init.yaml gives store.Frontend. */
    Handle handle = ServiceLocatorRegister("kv_connection", NULL, 0, NULL);
    if (handle == INVALID_HANDLE) {
        fprintf(stderr, "storage: ServiceLocatorRegister(\"kv_connection\") failed\n");
        return EXIT_FAILURE;
    }
    NkKosTransport transport;
    nk_err_t rc = NkKosTransport_Init(&transport, handle, NK_NULL, 0);
    if (rc != NK_EOK) {
        fprintf(stderr, "storage: NkKosTransport_Init failed: %s\n", solution_nk_err_name(rc));
        return EXIT_FAILURE;
    }

    store_Storage_entity entity;
    store_Storage_entity_init(&entity, &impl.base);

    store_Storage_entity_req req;
    char req_buffer[store_Storage_entity_req_arena_size];
    struct nk_arena req_arena = NK_ARENA_INITIALIZER(req_buffer, req_buffer + sizeof req_buffer);
    /* No response of store.Kv has an arena (res_arena_size 0): the
     * dispatcher and the reply get none (NK_NULL). */
    nk_static_assert(store_Storage_entity_res_arena_size == 0, kv_responses_have_no_arena);
    store_Storage_entity_res res;

    memset(&res, 0, sizeof res);
    while (!impl.quit) {
        nk_req_reset(&req);
        nk_arena_reset(&req_arena);
        rc = nk_transport_recv(&transport.base, &req.base_, &req_arena);
        if (rc != NK_EOK) {
            fprintf(stderr, "storage: nk_transport_recv failed: %s\n", solution_nk_err_name(rc));
            return EXIT_FAILURE;
        }
        received++;
        nk_mid_t mid = nk_msg_get_mid(&req.base_);
        by_method[mid < store_Kv_mid_max ? mid : store_Kv_mid_max]++;
        rc = store_Storage_entity_dispatch(&entity, &req.base_, &req_arena, &res.base_, NK_NULL);
        if (rc != NK_EOK) {
            /* Not a request of store.Kv at `kv`, or not a valid one:
             * answer with an error response without parameters. */
            printf("storage: request iid=%u mid=%u refused: %s\n",
                   (unsigned)nk_msg_get_iid(&req.base_), (unsigned)mid,
                   solution_nk_err_name(rc));
            nk_req_reset(&res.base_);
            nk_msg_set_method_id(&res.base_, nk_msg_get_iid(&req.base_), mid);
            nk_msg_set_err(&res.base_, 1);
            refused++;
        }
        if (impl.quit) { /* said before the answer lets the frontend go */
            int kept = 0;
            for (int i = 0; i < ROWS; i++)
                kept += impl.rows[i].key[0] != '\0';
            printf("storage: received %lu requests: Store %lu, Fetch %lu, Quit %lu, other %lu; "
                   "refused %lu; %d keys kept\n",
                   received, by_method[store_Kv_Store_mid], by_method[store_Kv_Fetch_mid],
                   by_method[store_Kv_Quit_mid], by_method[store_Kv_mid_max], refused, kept);
        }
        rc = nk_transport_reply(&transport.base, &res.base_, NK_NULL);
        if (rc != NK_EOK) {
            fprintf(stderr, "storage: nk_transport_reply failed: %s\n",
                    solution_nk_err_name(rc));
            return EXIT_FAILURE;
        }
    }

    return EXIT_SUCCESS;
}
