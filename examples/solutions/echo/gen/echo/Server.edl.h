/*
 * echo/Server.edl.h -- written by hand for examples/solutions/echo, in the
 * shape nk-gen-c gives the header of an entity (as ctests/nkgen/echo/
 * Server.edl.h). Source: idl/echo/Server.edl:
 *
 *     task class echo.Server
 *     endpoints { main : echo.Echo }
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

#include <echo/Echo.idl.h>

/* ==== COMPONENT_ENDPOINTS =============================================== */
#ifndef __echo__Server__COMPONENT_ENDPOINTS__
#define __echo__Server__COMPONENT_ENDPOINTS__

enum {
    echo_Server_main_iid,
    echo_Server_iidMax,
};
enum {
    echo_Server_iidOffset = 0,
};
enum {
    echo_Server_securityIidMax,
};
/* The largest message of any endpoint. */
enum {
    echo_Server_component_req_arena_size = echo_Echo_req_arena_size,
    echo_Server_component_res_arena_size = echo_Echo_res_arena_size,
    echo_Server_component_arena_size = echo_Echo_arena_size,
    echo_Server_component_req_handles = 0,
    echo_Server_component_res_handles = 0,
    echo_Server_component_err_handles = 0,
};

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Server_main_iid echo_Server_main_iid
#define Server_iidMax echo_Server_iidMax
#define Server_iidOffset echo_Server_iidOffset
#define Server_component_req_arena_size echo_Server_component_req_arena_size
#define Server_component_res_arena_size echo_Server_component_res_arena_size
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __echo__Server__COMPONENT_ENDPOINTS__ */

/* ==== TASK_ENDPOINTS ==================================================== */
#ifndef __echo__Server__TASK_ENDPOINTS__
#define __echo__Server__TASK_ENDPOINTS__

enum {
    echo_Server_entity_req_arena_size = echo_Server_component_req_arena_size,
    echo_Server_entity_res_arena_size = echo_Server_component_res_arena_size,
    echo_Server_entity_arena_size = echo_Server_component_arena_size,
    echo_Server_entity_req_handles = echo_Server_component_req_handles,
    echo_Server_entity_res_handles = echo_Server_component_res_handles,
    echo_Server_entity_err_handles = echo_Server_component_err_handles,
};

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Server_entity_req_arena_size echo_Server_entity_req_arena_size
#define Server_entity_res_arena_size echo_Server_entity_res_arena_size
#define Server_entity_arena_size echo_Server_entity_arena_size
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __echo__Server__TASK_ENDPOINTS__ */

/* ==== COMPONENT_SERVER_TYPES ============================================ */
#ifndef __echo__Server__COMPONENT_SERVER_TYPES__
#define __echo__Server__COMPONENT_SERVER_TYPES__

typedef struct echo_Server_component {
    struct echo_Echo *main;
} echo_Server_component;

#endif /* __echo__Server__COMPONENT_SERVER_TYPES__ */

/* ==== COMPONENT_SERVER_DISPATCHER ======================================= */
#ifndef __echo__Server__COMPONENT_SERVER_DISPATCHER__
#define __echo__Server__COMPONENT_SERVER_DISPATCHER__

static inline void echo_Server_component_init(struct echo_Server_component *self,
                                              struct echo_Echo *main)
{
    nk_assert(self != NK_NULL);
    self->main = main;
}

typedef union echo_Server_component_req {
    struct nk_message base_;
    echo_Echo_req main;
} echo_Server_component_req;

typedef union echo_Server_component_res {
    struct nk_message base_;
    echo_Echo_res main;
} echo_Server_component_res;

/* Hand `req` to the endpoint its RIID (minus the component's offset)
 * names. NK_ENOENT below the offset or for no endpoint. */
static inline nk_err_t echo_Server_component_dispatch(struct echo_Server_component *self,
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
    case echo_Server_main_iid:
        return echo_Echo_interface_dispatch(self->main, req->iid, req, req_arena, res, res_arena);
    default:
        break;
    }
    return NK_ENOENT;
}

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Server_component echo_Server_component
#define Server_component_init echo_Server_component_init
#define Server_component_req echo_Server_component_req
#define Server_component_res echo_Server_component_res
#define Server_component_dispatch echo_Server_component_dispatch
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __echo__Server__COMPONENT_SERVER_DISPATCHER__ */

/* ==== ENTITY_SERVER ===================================================== */
#ifndef __echo__Server__ENTITY_SERVER__
#define __echo__Server__ENTITY_SERVER__

/* The entity is its component, at RIID offset 0. */
#define echo_Server_entity echo_Server_component
#define echo_Server_entity_req echo_Server_component_req
#define echo_Server_entity_res echo_Server_component_res

static inline void echo_Server_entity_init(struct echo_Server_entity *self,
                                           struct echo_Echo *main)
{
    echo_Server_component_init(self, main);
}

static inline nk_err_t echo_Server_entity_dispatch(struct echo_Server_entity *self,
                                                   const struct nk_message *req,
                                                   const struct nk_arena *req_arena,
                                                   struct nk_message *res,
                                                   struct nk_arena *res_arena)
{
    return echo_Server_component_dispatch(self, 0, req, req_arena, res, res_arena);
}

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Server_entity echo_Server_entity
#define Server_entity_init echo_Server_entity_init
#define Server_entity_req echo_Server_entity_req
#define Server_entity_res echo_Server_entity_res
#define Server_entity_dispatch echo_Server_entity_dispatch
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __echo__Server__ENTITY_SERVER__ */

#pragma GCC diagnostic pop
