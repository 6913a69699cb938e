/*
 * store/Api.idl.h -- written by hand for examples/solutions/store, in the
 * shape nk-gen-c gives the header of an interface (sections, guards, names
 * and calls as in ctests/nkgen/echo/Echo.idl.h, which follows the
 * generated headers of public KCE 1.2 builds). Source: idl/store/Api.idl:
 *
 *     package store.Api
 *     import store.Types
 *     const UInt32 BadKey = 400; NoSuchKey = 404;
 *                  StorageUnavailable = 503; Full = 507;
 *     interface {
 *         Put(in store.Types.Key key, in SInt64 value, error UInt32 code);
 *         Get(in store.Types.Key key, out SInt64 value, error UInt32 code);
 *         Quit();
 *     }
 *
 * Sections, each under its own guard:
 *   RAWTYPE    size checks of the IDL's scalar types
 *   INTERFACE  constants, method ids, arena sizes and handle counts,
 *              request and response structs (a response is a union of the
 *              out-parameters, `res_`, and the error parameters, `err_`)
 *   VTABLE     the interface object: a pointer to a table of methods
 *   CLIENT     the proxy: every method packs the ids and calls
 *              nk_transport_call
 *   SERVER     request/response unions and the interface dispatcher
 * (nk-gen-c also writes a TESTS section of random message generators;
 * this solution does not use one.) Every name has an unqualified alias
 * under NK_USE_UNQUALIFIED_NAMES.
 */
#pragma GCC diagnostic push
#include <nk/transport.h>
#include <nk/types.h>

#include <store/Types.idl.h>

#ifndef ____SInt64__RAWTYPE__
#define ____SInt64__RAWTYPE__
nk_static_assert(sizeof(nk_sint64_t) == 8, bad_nk_sint64_t_size);
nk_static_assert(nk_alignof(nk_sint64_t) == 8, bad_nk_sint64_t_align);
#endif /* ____SInt64__RAWTYPE__ */

#ifndef ____UInt32__RAWTYPE__
#define ____UInt32__RAWTYPE__
nk_static_assert(sizeof(nk_uint32_t) == 4, bad_nk_uint32_t_size);
nk_static_assert(nk_alignof(nk_uint32_t) == 4, bad_nk_uint32_t_align);
#endif /* ____UInt32__RAWTYPE__ */

/* ==== INTERFACE ========================================================= */
#ifndef __store__Api__INTERFACE__
#define __store__Api__INTERFACE__

/* The IDL's constants. */
#define store_Api_BadKey NK_UINT32_C(400)
#define store_Api_NoSuchKey NK_UINT32_C(404)
#define store_Api_StorageUnavailable NK_UINT32_C(503)
#define store_Api_Full NK_UINT32_C(507)

/* Method ids: the declaration order, from 0. */
enum {
    store_Api_Put_mid,
    store_Api_Get_mid,
    store_Api_Quit_mid,
    store_Api_mid_max,
};

/* Arena bytes per parameter (a store.Types.Key, string<32>, takes 33 with
 * its NUL), per message and over the interface; handles per message. */
enum {
    store_Api_Put_req_key_size = store_Types_Key_size,
    store_Api_Put_req_arena_size = 33,
    store_Api_Put_res_arena_size = 0,
    store_Api_Put_req_handles = 0,
    store_Api_Put_res_handles = 0,
    store_Api_Put_err_handles = 0,
    store_Api_Get_req_key_size = store_Types_Key_size,
    store_Api_Get_req_arena_size = 33,
    store_Api_Get_res_arena_size = 0,
    store_Api_Get_req_handles = 0,
    store_Api_Get_res_handles = 0,
    store_Api_Get_err_handles = 0,
    store_Api_Quit_req_arena_size = 0,
    store_Api_Quit_res_arena_size = 0,
    store_Api_Quit_req_handles = 0,
    store_Api_Quit_res_handles = 0,
    store_Api_Quit_err_handles = 0,
    store_Api_req_arena_size = 33,
    store_Api_res_arena_size = 0,
    store_Api_arena_size = 33,
    store_Api_req_handles = 0,
    store_Api_res_handles = 0,
    store_Api_err_handles = 0,
};

/* Put */
typedef struct __nk_packed store_Api_Put_req {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t key;
    __nk_alignas(8) nk_sint64_t value;
} store_Api_Put_req;

#pragma pack(push, 8) /* store_Api_Put_res */
typedef struct store_Api_Put_err {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_uint32_t code;
} store_Api_Put_err;

typedef struct store_Api_Put_res {
    union {
        struct {
            __nk_alignas(8) struct nk_message base_;
        };
        struct {
            __nk_alignas(8) struct nk_message base_;
        } res_;
        struct store_Api_Put_err err_;
    };
} store_Api_Put_res;
#pragma pack(pop) /* store_Api_Put_res */

/* Get */
typedef struct __nk_packed store_Api_Get_req {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t key;
} store_Api_Get_req;

#pragma pack(push, 8) /* store_Api_Get_res */
typedef struct store_Api_Get_err {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_uint32_t code;
} store_Api_Get_err;

typedef struct store_Api_Get_res {
    union {
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(8) nk_sint64_t value;
        };
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(8) nk_sint64_t value;
        } res_;
        struct store_Api_Get_err err_;
    };
} store_Api_Get_res;
#pragma pack(pop) /* store_Api_Get_res */

/* Quit */
typedef struct __nk_packed store_Api_Quit_req {
    __nk_alignas(8) struct nk_message base_;
} store_Api_Quit_req;

#pragma pack(push, 8) /* store_Api_Quit_res */
typedef struct store_Api_Quit_err {
    __nk_alignas(8) struct nk_message base_;
} store_Api_Quit_err;

typedef struct store_Api_Quit_res {
    union {
        struct {
            __nk_alignas(8) struct nk_message base_;
        };
        struct {
            __nk_alignas(8) struct nk_message base_;
        } res_;
        struct store_Api_Quit_err err_;
    };
} store_Api_Quit_res;
#pragma pack(pop) /* store_Api_Quit_res */

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Api_BadKey store_Api_BadKey
#define Api_NoSuchKey store_Api_NoSuchKey
#define Api_StorageUnavailable store_Api_StorageUnavailable
#define Api_Full store_Api_Full
#define Api_Put_mid store_Api_Put_mid
#define Api_Get_mid store_Api_Get_mid
#define Api_Quit_mid store_Api_Quit_mid
#define Api_mid_max store_Api_mid_max
#define Api_Put_req_key_size store_Api_Put_req_key_size
#define Api_Get_req_key_size store_Api_Get_req_key_size
#define Api_Put_req_arena_size store_Api_Put_req_arena_size
#define Api_Get_req_arena_size store_Api_Get_req_arena_size
#define Api_req_arena_size store_Api_req_arena_size
#define Api_res_arena_size store_Api_res_arena_size
#define Api_arena_size store_Api_arena_size
#define Api_Put_req store_Api_Put_req
#define Api_Put_res store_Api_Put_res
#define Api_Get_req store_Api_Get_req
#define Api_Get_res store_Api_Get_res
#define Api_Quit_req store_Api_Quit_req
#define Api_Quit_res store_Api_Quit_res
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Api__INTERFACE__ */

/* ==== VTABLE ============================================================ */
#ifndef __store__Api__VTABLE__
#define __store__Api__VTABLE__

/* The interface object: an implementation (server side) or a proxy
 * (client side) is reached through its table of methods. */
typedef struct store_Api {
    const struct store_Api_ops *ops;
} store_Api;

typedef nk_err_t store_Api_Put_fn(struct store_Api *, const struct store_Api_Put_req *,
                                  const struct nk_arena *, struct store_Api_Put_res *,
                                  struct nk_arena *);
typedef nk_err_t store_Api_Get_fn(struct store_Api *, const struct store_Api_Get_req *,
                                  const struct nk_arena *, struct store_Api_Get_res *,
                                  struct nk_arena *);
typedef nk_err_t store_Api_Quit_fn(struct store_Api *, const struct store_Api_Quit_req *,
                                   const struct nk_arena *, struct store_Api_Quit_res *,
                                   struct nk_arena *);

typedef struct store_Api_ops {
    store_Api_Put_fn *Put;
    store_Api_Get_fn *Get;
    store_Api_Quit_fn *Quit;
} store_Api_ops;

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Api store_Api
#define Api_ops store_Api_ops
#define Api_Put_fn store_Api_Put_fn
#define Api_Get_fn store_Api_Get_fn
#define Api_Quit_fn store_Api_Quit_fn
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Api__VTABLE__ */

/* ==== CLIENT ============================================================ */
#ifndef __store__Api__CLIENT__
#define __store__Api__CLIENT__

/* The proxy: the interface object, the transport it calls through and the
 * RIID of the server's endpoint. */
typedef struct store_Api_proxy {
    struct store_Api base;
    struct nk_transport *transport;
    nk_iid_t iid;
} store_Api_proxy;

/* Each proxy method: make both messages this method's (sizes, ids, handle
 * counts), then one round trip through the transport. */
static inline nk_err_t store_Api_Put_proxy(struct store_Api_proxy *self,
                                           struct store_Api_Put_req *req,
                                           const struct nk_arena *req_arena,
                                           struct store_Api_Put_res *res,
                                           struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && req != NK_NULL && res != NK_NULL);
    nk_req_reset(req);
    nk_msg_set_method_id(req, self->iid, store_Api_Put_mid);
    nk_msg_set_ncaps(req, store_Api_Put_req_handles);
    nk_req_reset(res);
    nk_msg_set_method_id(res, self->iid, store_Api_Put_mid);
    nk_msg_set_ncaps(res, store_Api_Put_res_handles);
    return nk_transport_call(self->transport, &req->base_, req_arena, &res->base_, res_arena);
}

static inline nk_err_t store_Api_Get_proxy(struct store_Api_proxy *self,
                                           struct store_Api_Get_req *req,
                                           const struct nk_arena *req_arena,
                                           struct store_Api_Get_res *res,
                                           struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && req != NK_NULL && res != NK_NULL);
    nk_req_reset(req);
    nk_msg_set_method_id(req, self->iid, store_Api_Get_mid);
    nk_msg_set_ncaps(req, store_Api_Get_req_handles);
    nk_req_reset(res);
    nk_msg_set_method_id(res, self->iid, store_Api_Get_mid);
    nk_msg_set_ncaps(res, store_Api_Get_res_handles);
    return nk_transport_call(self->transport, &req->base_, req_arena, &res->base_, res_arena);
}

static inline nk_err_t store_Api_Quit_proxy(struct store_Api_proxy *self,
                                            struct store_Api_Quit_req *req,
                                            const struct nk_arena *req_arena,
                                            struct store_Api_Quit_res *res,
                                            struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && req != NK_NULL && res != NK_NULL);
    nk_req_reset(req);
    nk_msg_set_method_id(req, self->iid, store_Api_Quit_mid);
    nk_msg_set_ncaps(req, store_Api_Quit_req_handles);
    nk_req_reset(res);
    nk_msg_set_method_id(res, self->iid, store_Api_Quit_mid);
    nk_msg_set_ncaps(res, store_Api_Quit_res_handles);
    return nk_transport_call(self->transport, &req->base_, req_arena, &res->base_, res_arena);
}

/* Point the proxy at `transport` and the endpoint `iid`. The method table
 * holds the proxy methods, cast to the interface's method types (the
 * first parameter is the proxy, whose first member is the interface). */
static inline void store_Api_proxy_init(struct store_Api_proxy *self,
                                        struct nk_transport *transport, nk_iid_t iid)
{
    static const struct store_Api_ops proxy_ops = {
        (store_Api_Put_fn *)&store_Api_Put_proxy,
        (store_Api_Get_fn *)&store_Api_Get_proxy,
        (store_Api_Quit_fn *)&store_Api_Quit_proxy,
    };
    nk_assert(self != NK_NULL);
    self->base.ops = &proxy_ops;
    self->transport = transport;
    self->iid = iid;
}

/* The interface's methods, for any object (proxy or implementation). */
static inline nk_err_t store_Api_Put(struct store_Api *self, struct store_Api_Put_req *req,
                                     const struct nk_arena *req_arena,
                                     struct store_Api_Put_res *res, struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && self->ops != NK_NULL && self->ops->Put != NK_NULL);
    return self->ops->Put(self, req, req_arena, res, res_arena);
}

static inline nk_err_t store_Api_Get(struct store_Api *self, struct store_Api_Get_req *req,
                                     const struct nk_arena *req_arena,
                                     struct store_Api_Get_res *res, struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && self->ops != NK_NULL && self->ops->Get != NK_NULL);
    return self->ops->Get(self, req, req_arena, res, res_arena);
}

static inline nk_err_t store_Api_Quit(struct store_Api *self, struct store_Api_Quit_req *req,
                                      const struct nk_arena *req_arena,
                                      struct store_Api_Quit_res *res,
                                      struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && self->ops != NK_NULL && self->ops->Quit != NK_NULL);
    return self->ops->Quit(self, req, req_arena, res, res_arena);
}

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Api_proxy store_Api_proxy
#define Api_proxy_init store_Api_proxy_init
#define Api_Put store_Api_Put
#define Api_Get store_Api_Get
#define Api_Quit store_Api_Quit
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Api__CLIENT__ */

/* ==== SERVER ============================================================ */
#ifndef __store__Api__SERVER__
#define __store__Api__SERVER__

/* Room for any request or response of the interface. */
typedef union store_Api_req {
    struct nk_message base_;
    struct store_Api_Put_req Put;
    struct store_Api_Get_req Get;
    struct store_Api_Quit_req Quit;
} store_Api_req;

typedef union store_Api_res {
    struct nk_message base_;
    struct store_Api_Put_res Put;
    struct store_Api_Get_res Get;
    struct store_Api_Quit_res Quit;
} store_Api_res;

/* Serve `req` if it is addressed to `iid`: call the implementation's
 * method for its mid, with the response prepared as that method's (ids,
 * size, no error). An implementation answers with an error response by
 * nk_msg_set_err(res, 1) and filling res->err_, returning NK_EOK; the
 * response is then sized as the error parameters. Whatever the outcome,
 * the response carries the request's ids. NK_ENOENT for another iid or an
 * unknown mid, else the method's result. */
static inline nk_err_t store_Api_interface_dispatch(struct store_Api *impl, nk_iid_t iid,
                                                    const struct nk_message *req,
                                                    const struct nk_arena *req_arena,
                                                    struct nk_message *res,
                                                    struct nk_arena *res_arena)
{
    nk_err_t rc = NK_ENOENT;

    nk_assert(impl != NK_NULL && req != NK_NULL && res != NK_NULL);
    if (req->iid != iid)
        return rc;
    nk_iid_t req_iid = req->iid;
    nk_mid_t req_mid = req->mid;
    switch (req->mid) {
    case store_Api_Put_mid: {
        struct store_Api_Put_res *out = (struct store_Api_Put_res *)res;
        nk_req_reset(&out->res_);
        rc = impl->ops->Put(impl, (const struct store_Api_Put_req *)req, req_arena, out,
                            res_arena);
        if (rc == NK_EOK && nk_msg_get_err(out)) {
            nk_req_reset(&out->err_);
            nk_msg_set_err(out, 1);
            nk_msg_set_ncaps(out, store_Api_Put_err_handles);
        } else if (rc == NK_EOK) {
            nk_req_reset(&out->res_);
            nk_msg_set_ncaps(out, store_Api_Put_res_handles);
        }
        break;
    }
    case store_Api_Get_mid: {
        struct store_Api_Get_res *out = (struct store_Api_Get_res *)res;
        nk_req_reset(&out->res_);
        rc = impl->ops->Get(impl, (const struct store_Api_Get_req *)req, req_arena, out,
                            res_arena);
        if (rc == NK_EOK && nk_msg_get_err(out)) {
            nk_req_reset(&out->err_);
            nk_msg_set_err(out, 1);
            nk_msg_set_ncaps(out, store_Api_Get_err_handles);
        } else if (rc == NK_EOK) {
            nk_req_reset(&out->res_);
            nk_msg_set_ncaps(out, store_Api_Get_res_handles);
        }
        break;
    }
    case store_Api_Quit_mid: {
        struct store_Api_Quit_res *out = (struct store_Api_Quit_res *)res;
        nk_req_reset(&out->res_);
        rc = impl->ops->Quit(impl, (const struct store_Api_Quit_req *)req, req_arena, out,
                             res_arena);
        if (rc == NK_EOK && nk_msg_get_err(out)) {
            nk_req_reset(&out->err_);
            nk_msg_set_err(out, 1);
            nk_msg_set_ncaps(out, store_Api_Quit_err_handles);
        } else if (rc == NK_EOK) {
            nk_req_reset(&out->res_);
            nk_msg_set_ncaps(out, store_Api_Quit_res_handles);
        }
        break;
    }
    default:
        break;
    }
    res->iid = req_iid;
    res->mid = req_mid;
    return rc;
}

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Api_req store_Api_req
#define Api_res store_Api_res
#define Api_interface_dispatch store_Api_interface_dispatch
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Api__SERVER__ */

#pragma GCC diagnostic pop
