/*
 * store/Storage.edl.h -- written by hand for examples/solutions/store, in the
 * shape nk-gen-c gives the header of an entity (as ctests/nkgen/echo/
 * Server.edl.h). Source: idl/store/Storage.edl:
 *
 *     task class store.Storage
 *     endpoints { kv : store.Kv }
 *
 * nk-gen-c repeats here the sections of every interface the entity uses,
 * under the same guards; including the interface's header has the same
 * effect. Then, each under its guard:
 *   COMPONENT_ENDPOINTS          RIIDs (endpoint order, from 0), arena sizes
 *   TASK_ENDPOINTS               the same sizes under the entity's names
 *   COMPONENT_SERVER_TYPES       the component: one interface object per
 *                                endpoint
 *   COMPONENT_SERVER_DISPATCHER  _component_init, request/response unions,
 *                                _component_dispatch (switch on the RIID)
 *   ENTITY_SERVER                _entity_init, _entity_dispatch: the
 *                                component at RIID offset 0
 */
#pragma GCC diagnostic push
#include <nk/transport.h>
#include <nk/types.h>

#include <store/Kv.idl.h>

/* ==== COMPONENT_ENDPOINTS =============================================== */
#ifndef __store__Storage__COMPONENT_ENDPOINTS__
#define __store__Storage__COMPONENT_ENDPOINTS__

enum {
    store_Storage_kv_iid,
    store_Storage_iidMax,
};
enum {
    store_Storage_iidOffset = 0,
};
enum {
    store_Storage_securityIidMax,
};
/* The largest message of any endpoint. */
enum {
    store_Storage_component_req_arena_size = store_Kv_req_arena_size,
    store_Storage_component_res_arena_size = store_Kv_res_arena_size,
    store_Storage_component_arena_size = store_Kv_arena_size,
    store_Storage_component_req_handles = 0,
    store_Storage_component_res_handles = 0,
    store_Storage_component_err_handles = 0,
};

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Storage_kv_iid store_Storage_kv_iid
#define Storage_iidMax store_Storage_iidMax
#define Storage_iidOffset store_Storage_iidOffset
#define Storage_component_req_arena_size store_Storage_component_req_arena_size
#define Storage_component_res_arena_size store_Storage_component_res_arena_size
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Storage__COMPONENT_ENDPOINTS__ */

/* ==== TASK_ENDPOINTS ==================================================== */
#ifndef __store__Storage__TASK_ENDPOINTS__
#define __store__Storage__TASK_ENDPOINTS__

enum {
    store_Storage_entity_req_arena_size = store_Storage_component_req_arena_size,
    store_Storage_entity_res_arena_size = store_Storage_component_res_arena_size,
    store_Storage_entity_arena_size = store_Storage_component_arena_size,
    store_Storage_entity_req_handles = store_Storage_component_req_handles,
    store_Storage_entity_res_handles = store_Storage_component_res_handles,
    store_Storage_entity_err_handles = store_Storage_component_err_handles,
};

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Storage_entity_req_arena_size store_Storage_entity_req_arena_size
#define Storage_entity_res_arena_size store_Storage_entity_res_arena_size
#define Storage_entity_arena_size store_Storage_entity_arena_size
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Storage__TASK_ENDPOINTS__ */

/* ==== COMPONENT_SERVER_TYPES ============================================ */
#ifndef __store__Storage__COMPONENT_SERVER_TYPES__
#define __store__Storage__COMPONENT_SERVER_TYPES__

typedef struct store_Storage_component {
    struct store_Kv *kv;
} store_Storage_component;

#endif /* __store__Storage__COMPONENT_SERVER_TYPES__ */

/* ==== COMPONENT_SERVER_DISPATCHER ======================================= */
#ifndef __store__Storage__COMPONENT_SERVER_DISPATCHER__
#define __store__Storage__COMPONENT_SERVER_DISPATCHER__

static inline void store_Storage_component_init(struct store_Storage_component *self,
                                              struct store_Kv *kv)
{
    nk_assert(self != NK_NULL);
    self->kv = kv;
}

typedef union store_Storage_component_req {
    struct nk_message base_;
    store_Kv_req kv;
} store_Storage_component_req;

typedef union store_Storage_component_res {
    struct nk_message base_;
    store_Kv_res kv;
} store_Storage_component_res;

/* Hand `req` to the endpoint its RIID (minus the component's offset)
 * names. NK_ENOENT below the offset or for no endpoint. */
static inline nk_err_t store_Storage_component_dispatch(struct store_Storage_component *self,
                                                      nk_iid_t iidOffset,
                                                      const struct nk_message *req,
                                                      const struct nk_arena *req_arena,
                                                      struct nk_message *res,
                                                      struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && req != NK_NULL && res != NK_NULL);
    if (req->iid < iidOffset)
        return NK_ENOENT;
    switch (req->iid - iidOffset) {
    case store_Storage_kv_iid:
        return store_Kv_interface_dispatch(self->kv, req->iid, req, req_arena, res, res_arena);
    default:
        break;
    }
    return NK_ENOENT;
}

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Storage_component store_Storage_component
#define Storage_component_init store_Storage_component_init
#define Storage_component_req store_Storage_component_req
#define Storage_component_res store_Storage_component_res
#define Storage_component_dispatch store_Storage_component_dispatch
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Storage__COMPONENT_SERVER_DISPATCHER__ */

/* ==== ENTITY_SERVER ===================================================== */
#ifndef __store__Storage__ENTITY_SERVER__
#define __store__Storage__ENTITY_SERVER__

/* The entity is its component, at RIID offset 0. */
#define store_Storage_entity store_Storage_component
#define store_Storage_entity_req store_Storage_component_req
#define store_Storage_entity_res store_Storage_component_res

static inline void store_Storage_entity_init(struct store_Storage_entity *self,
                                           struct store_Kv *kv)
{
    store_Storage_component_init(self, kv);
}

static inline nk_err_t store_Storage_entity_dispatch(struct store_Storage_entity *self,
                                                   const struct nk_message *req,
                                                   const struct nk_arena *req_arena,
                                                   struct nk_message *res,
                                                   struct nk_arena *res_arena)
{
    return store_Storage_component_dispatch(self, 0, req, req_arena, res, res_arena);
}

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Storage_entity store_Storage_entity
#define Storage_entity_init store_Storage_entity_init
#define Storage_entity_req store_Storage_entity_req
#define Storage_entity_res store_Storage_entity_res
#define Storage_entity_dispatch store_Storage_entity_dispatch
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Storage__ENTITY_SERVER__ */

#pragma GCC diagnostic pop
