/*
 * nkgen/echo/Server.edl.h -- written by hand for this project's tests, in
 * the shape nk-gen-c gives the header of an entity (sections, guards, names
 * and calls as in the generated headers of public KCE 1.2 builds; the text
 * is this project's). Source: Server.edl beside this file:
 *
 *     task class nkgen.echo.Server
 *     endpoints { main : nkgen.echo.Echo   spare : nkgen.echo.Echo }
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
 * A server's loop (README, "The NK transport"):
 *     nk_req_reset(&req); nk_arena_reset(&req_arena); nk_arena_reset(&res_arena);
 *     nk_transport_recv(&transport.base, &req.base_, &req_arena);
 *     nkgen_echo_Server_entity_dispatch(&entity, &req.base_, &req_arena, &res.base_, &res_arena);
 *     nk_transport_reply(&transport.base, &res.base_, &res_arena);
 */
#pragma GCC diagnostic push
#include <nk/transport.h>
#include <nk/types.h>

#include "Echo.idl.h"

/* ==== COMPONENT_ENDPOINTS =============================================== */
#ifndef __nkgen_echo__Server__COMPONENT_ENDPOINTS__
#define __nkgen_echo__Server__COMPONENT_ENDPOINTS__

enum {
    nkgen_echo_Server_main_iid,
    nkgen_echo_Server_spare_iid,
    nkgen_echo_Server_iidMax,
};
enum {
    nkgen_echo_Server_iidOffset = 0,
};
enum {
    nkgen_echo_Server_securityIidMax,
};
/* The largest message of any endpoint. */
enum {
    nkgen_echo_Server_component_req_arena_size = nkgen_echo_Echo_req_arena_size,
    nkgen_echo_Server_component_res_arena_size = nkgen_echo_Echo_res_arena_size,
    nkgen_echo_Server_component_arena_size = nkgen_echo_Echo_arena_size,
    nkgen_echo_Server_component_req_handles = 0,
    nkgen_echo_Server_component_res_handles = 0,
    nkgen_echo_Server_component_err_handles = 0,
};

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Server_main_iid nkgen_echo_Server_main_iid
#define Server_spare_iid nkgen_echo_Server_spare_iid
#define Server_iidMax nkgen_echo_Server_iidMax
#define Server_iidOffset nkgen_echo_Server_iidOffset
#define Server_component_req_arena_size nkgen_echo_Server_component_req_arena_size
#define Server_component_res_arena_size nkgen_echo_Server_component_res_arena_size
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __nkgen_echo__Server__COMPONENT_ENDPOINTS__ */

/* ==== TASK_ENDPOINTS ==================================================== */
#ifndef __nkgen_echo__Server__TASK_ENDPOINTS__
#define __nkgen_echo__Server__TASK_ENDPOINTS__

enum {
    nkgen_echo_Server_entity_req_arena_size = nkgen_echo_Server_component_req_arena_size,
    nkgen_echo_Server_entity_res_arena_size = nkgen_echo_Server_component_res_arena_size,
    nkgen_echo_Server_entity_arena_size = nkgen_echo_Server_component_arena_size,
    nkgen_echo_Server_entity_req_handles = nkgen_echo_Server_component_req_handles,
    nkgen_echo_Server_entity_res_handles = nkgen_echo_Server_component_res_handles,
    nkgen_echo_Server_entity_err_handles = nkgen_echo_Server_component_err_handles,
};

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Server_entity_req_arena_size nkgen_echo_Server_entity_req_arena_size
#define Server_entity_res_arena_size nkgen_echo_Server_entity_res_arena_size
#define Server_entity_arena_size nkgen_echo_Server_entity_arena_size
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __nkgen_echo__Server__TASK_ENDPOINTS__ */

/* ==== COMPONENT_SERVER_TYPES ============================================ */
#ifndef __nkgen_echo__Server__COMPONENT_SERVER_TYPES__
#define __nkgen_echo__Server__COMPONENT_SERVER_TYPES__

typedef struct nkgen_echo_Server_component {
    struct nkgen_echo_Echo *main;
    struct nkgen_echo_Echo *spare;
} nkgen_echo_Server_component;

#endif /* __nkgen_echo__Server__COMPONENT_SERVER_TYPES__ */

/* ==== COMPONENT_SERVER_DISPATCHER ======================================= */
#ifndef __nkgen_echo__Server__COMPONENT_SERVER_DISPATCHER__
#define __nkgen_echo__Server__COMPONENT_SERVER_DISPATCHER__

static inline void nkgen_echo_Server_component_init(struct nkgen_echo_Server_component *self,
                                                    struct nkgen_echo_Echo *main,
                                                    struct nkgen_echo_Echo *spare)
{
    nk_assert(self != NK_NULL);
    self->main = main;
    self->spare = spare;
}

typedef union nkgen_echo_Server_component_req {
    struct nk_message base_;
    nkgen_echo_Echo_req main;
    nkgen_echo_Echo_req spare;
} nkgen_echo_Server_component_req;

typedef union nkgen_echo_Server_component_res {
    struct nk_message base_;
    nkgen_echo_Echo_res main;
    nkgen_echo_Echo_res spare;
} nkgen_echo_Server_component_res;

/* Hand `req` to the endpoint its RIID (minus the component's offset)
 * names. NK_ENOENT below the offset or for no endpoint. */
static inline nk_err_t nkgen_echo_Server_component_dispatch(struct nkgen_echo_Server_component *self,
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
    case nkgen_echo_Server_main_iid:
        return nkgen_echo_Echo_interface_dispatch(self->main, req->iid, req, req_arena, res,
                                                  res_arena);
    case nkgen_echo_Server_spare_iid:
        return nkgen_echo_Echo_interface_dispatch(self->spare, req->iid, req, req_arena, res,
                                                  res_arena);
    default:
        break;
    }
    return NK_ENOENT;
}

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Server_component nkgen_echo_Server_component
#define Server_component_init nkgen_echo_Server_component_init
#define Server_component_req nkgen_echo_Server_component_req
#define Server_component_res nkgen_echo_Server_component_res
#define Server_component_dispatch nkgen_echo_Server_component_dispatch
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __nkgen_echo__Server__COMPONENT_SERVER_DISPATCHER__ */

/* ==== ENTITY_SERVER ===================================================== */
#ifndef __nkgen_echo__Server__ENTITY_SERVER__
#define __nkgen_echo__Server__ENTITY_SERVER__

/* The entity is its component, at RIID offset 0. */
#define nkgen_echo_Server_entity nkgen_echo_Server_component
#define nkgen_echo_Server_entity_req nkgen_echo_Server_component_req
#define nkgen_echo_Server_entity_res nkgen_echo_Server_component_res

static inline void nkgen_echo_Server_entity_init(struct nkgen_echo_Server_entity *self,
                                                 struct nkgen_echo_Echo *main,
                                                 struct nkgen_echo_Echo *spare)
{
    nkgen_echo_Server_component_init(self, main, spare);
}

static inline nk_err_t nkgen_echo_Server_entity_dispatch(struct nkgen_echo_Server_entity *self,
                                                         const struct nk_message *req,
                                                         const struct nk_arena *req_arena,
                                                         struct nk_message *res,
                                                         struct nk_arena *res_arena)
{
    return nkgen_echo_Server_component_dispatch(self, 0, req, req_arena, res, res_arena);
}

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Server_entity nkgen_echo_Server_entity
#define Server_entity_init nkgen_echo_Server_entity_init
#define Server_entity_req nkgen_echo_Server_entity_req
#define Server_entity_res nkgen_echo_Server_entity_res
#define Server_entity_dispatch nkgen_echo_Server_entity_dispatch
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __nkgen_echo__Server__ENTITY_SERVER__ */

#pragma GCC diagnostic pop
