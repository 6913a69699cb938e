/*
 * store/Frontend.edl.h -- written by hand for examples/solutions/store, in the
 * shape nk-gen-c gives the header of an entity (as ctests/nkgen/echo/
 * Server.edl.h). Source: idl/store/Frontend.edl:
 *
 *     task class store.Frontend
 *     endpoints { api : store.Api }
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
 * The frontend is also a client of store.Storage: it calls through the
 * proxy of store/Kv.idl.h, which this header does not need.
 */
#pragma GCC diagnostic push
#include <nk/transport.h>
#include <nk/types.h>

#include <store/Api.idl.h>

/* ==== COMPONENT_ENDPOINTS =============================================== */
#ifndef __store__Frontend__COMPONENT_ENDPOINTS__
#define __store__Frontend__COMPONENT_ENDPOINTS__

enum {
    store_Frontend_api_iid,
    store_Frontend_iidMax,
};
enum {
    store_Frontend_iidOffset = 0,
};
enum {
    store_Frontend_securityIidMax,
};
/* The largest message of any endpoint. */
enum {
    store_Frontend_component_req_arena_size = store_Api_req_arena_size,
    store_Frontend_component_res_arena_size = store_Api_res_arena_size,
    store_Frontend_component_arena_size = store_Api_arena_size,
    store_Frontend_component_req_handles = 0,
    store_Frontend_component_res_handles = 0,
    store_Frontend_component_err_handles = 0,
};

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Frontend_api_iid store_Frontend_api_iid
#define Frontend_iidMax store_Frontend_iidMax
#define Frontend_iidOffset store_Frontend_iidOffset
#define Frontend_component_req_arena_size store_Frontend_component_req_arena_size
#define Frontend_component_res_arena_size store_Frontend_component_res_arena_size
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Frontend__COMPONENT_ENDPOINTS__ */

/* ==== TASK_ENDPOINTS ==================================================== */
#ifndef __store__Frontend__TASK_ENDPOINTS__
#define __store__Frontend__TASK_ENDPOINTS__

enum {
    store_Frontend_entity_req_arena_size = store_Frontend_component_req_arena_size,
    store_Frontend_entity_res_arena_size = store_Frontend_component_res_arena_size,
    store_Frontend_entity_arena_size = store_Frontend_component_arena_size,
    store_Frontend_entity_req_handles = store_Frontend_component_req_handles,
    store_Frontend_entity_res_handles = store_Frontend_component_res_handles,
    store_Frontend_entity_err_handles = store_Frontend_component_err_handles,
};

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Frontend_entity_req_arena_size store_Frontend_entity_req_arena_size
#define Frontend_entity_res_arena_size store_Frontend_entity_res_arena_size
#define Frontend_entity_arena_size store_Frontend_entity_arena_size
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Frontend__TASK_ENDPOINTS__ */

/* ==== COMPONENT_SERVER_TYPES ============================================ */
#ifndef __store__Frontend__COMPONENT_SERVER_TYPES__
#define __store__Frontend__COMPONENT_SERVER_TYPES__

typedef struct store_Frontend_component {
    struct store_Api *api;
} store_Frontend_component;

#endif /* __store__Frontend__COMPONENT_SERVER_TYPES__ */

/* ==== COMPONENT_SERVER_DISPATCHER ======================================= */
#ifndef __store__Frontend__COMPONENT_SERVER_DISPATCHER__
#define __store__Frontend__COMPONENT_SERVER_DISPATCHER__

static inline void store_Frontend_component_init(struct store_Frontend_component *self,
                                              struct store_Api *api)
{
    nk_assert(self != NK_NULL);
    self->api = api;
}

typedef union store_Frontend_component_req {
    struct nk_message base_;
    store_Api_req api;
} store_Frontend_component_req;

typedef union store_Frontend_component_res {
    struct nk_message base_;
    store_Api_res api;
} store_Frontend_component_res;

/* Hand `req` to the endpoint its RIID (minus the component's offset)
 * names. NK_ENOENT below the offset or for no endpoint. */
static inline nk_err_t store_Frontend_component_dispatch(struct store_Frontend_component *self,
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
    case store_Frontend_api_iid:
        return store_Api_interface_dispatch(self->api, req->iid, req, req_arena, res, res_arena);
    default:
        break;
    }
    return NK_ENOENT;
}

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Frontend_component store_Frontend_component
#define Frontend_component_init store_Frontend_component_init
#define Frontend_component_req store_Frontend_component_req
#define Frontend_component_res store_Frontend_component_res
#define Frontend_component_dispatch store_Frontend_component_dispatch
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Frontend__COMPONENT_SERVER_DISPATCHER__ */

/* ==== ENTITY_SERVER ===================================================== */
#ifndef __store__Frontend__ENTITY_SERVER__
#define __store__Frontend__ENTITY_SERVER__

/* The entity is its component, at RIID offset 0. */
#define store_Frontend_entity store_Frontend_component
#define store_Frontend_entity_req store_Frontend_component_req
#define store_Frontend_entity_res store_Frontend_component_res

static inline void store_Frontend_entity_init(struct store_Frontend_entity *self,
                                           struct store_Api *api)
{
    store_Frontend_component_init(self, api);
}

static inline nk_err_t store_Frontend_entity_dispatch(struct store_Frontend_entity *self,
                                                   const struct nk_message *req,
                                                   const struct nk_arena *req_arena,
                                                   struct nk_message *res,
                                                   struct nk_arena *res_arena)
{
    return store_Frontend_component_dispatch(self, 0, req, req_arena, res, res_arena);
}

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Frontend_entity store_Frontend_entity
#define Frontend_entity_init store_Frontend_entity_init
#define Frontend_entity_req store_Frontend_entity_req
#define Frontend_entity_res store_Frontend_entity_res
#define Frontend_entity_dispatch store_Frontend_entity_dispatch
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Frontend__ENTITY_SERVER__ */

#pragma GCC diagnostic pop
