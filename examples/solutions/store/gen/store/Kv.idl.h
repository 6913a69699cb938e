/*
 * store/Kv.idl.h -- written by hand for examples/solutions/store, in the
 * shape nk-gen-c gives the header of an interface (sections, guards, names
 * and calls as in ctests/nkgen/echo/Echo.idl.h, which follows the
 * generated headers of public KCE 1.2 builds). Source: idl/store/Kv.idl:
 *
 *     package store.Kv
 *     import store.Types
 *     const UInt32 NotFound = 1; TableFull = 2;
 *     interface {
 *         Store(in store.Types.Key key, in SInt64 value, error UInt32 code);
 *         Fetch(in store.Types.Key key, out SInt64 value, error UInt32 code);
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
#ifndef __store__Kv__INTERFACE__
#define __store__Kv__INTERFACE__

/* The IDL's constants. */
#define store_Kv_NotFound NK_UINT32_C(1)
#define store_Kv_TableFull NK_UINT32_C(2)

/* Method ids: the declaration order, from 0. */
enum {
    store_Kv_Store_mid,
    store_Kv_Fetch_mid,
    store_Kv_Quit_mid,
    store_Kv_mid_max,
};

/* Arena bytes per parameter (a store.Types.Key, string<32>, takes 33 with
 * its NUL), per message and over the interface; handles per message. */
enum {
    store_Kv_Store_req_key_size = store_Types_Key_size,
    store_Kv_Store_req_arena_size = 33,
    store_Kv_Store_res_arena_size = 0,
    store_Kv_Store_req_handles = 0,
    store_Kv_Store_res_handles = 0,
    store_Kv_Store_err_handles = 0,
    store_Kv_Fetch_req_key_size = store_Types_Key_size,
    store_Kv_Fetch_req_arena_size = 33,
    store_Kv_Fetch_res_arena_size = 0,
    store_Kv_Fetch_req_handles = 0,
    store_Kv_Fetch_res_handles = 0,
    store_Kv_Fetch_err_handles = 0,
    store_Kv_Quit_req_arena_size = 0,
    store_Kv_Quit_res_arena_size = 0,
    store_Kv_Quit_req_handles = 0,
    store_Kv_Quit_res_handles = 0,
    store_Kv_Quit_err_handles = 0,
    store_Kv_req_arena_size = 33,
    store_Kv_res_arena_size = 0,
    store_Kv_arena_size = 33,
    store_Kv_req_handles = 0,
    store_Kv_res_handles = 0,
    store_Kv_err_handles = 0,
};

/* Store */
typedef struct __nk_packed store_Kv_Store_req {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t key;
    __nk_alignas(8) nk_sint64_t value;
} store_Kv_Store_req;

#pragma pack(push, 8) /* store_Kv_Store_res */
typedef struct store_Kv_Store_err {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_uint32_t code;
} store_Kv_Store_err;

typedef struct store_Kv_Store_res {
    union {
        struct {
            __nk_alignas(8) struct nk_message base_;
        };
        struct {
            __nk_alignas(8) struct nk_message base_;
        } res_;
        struct store_Kv_Store_err err_;
    };
} store_Kv_Store_res;
#pragma pack(pop) /* store_Kv_Store_res */

/* Fetch */
typedef struct __nk_packed store_Kv_Fetch_req {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t key;
} store_Kv_Fetch_req;

#pragma pack(push, 8) /* store_Kv_Fetch_res */
typedef struct store_Kv_Fetch_err {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_uint32_t code;
} store_Kv_Fetch_err;

typedef struct store_Kv_Fetch_res {
    union {
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(8) nk_sint64_t value;
        };
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(8) nk_sint64_t value;
        } res_;
        struct store_Kv_Fetch_err err_;
    };
} store_Kv_Fetch_res;
#pragma pack(pop) /* store_Kv_Fetch_res */

/* Quit */
typedef struct __nk_packed store_Kv_Quit_req {
    __nk_alignas(8) struct nk_message base_;
} store_Kv_Quit_req;

#pragma pack(push, 8) /* store_Kv_Quit_res */
typedef struct store_Kv_Quit_err {
    __nk_alignas(8) struct nk_message base_;
} store_Kv_Quit_err;

typedef struct store_Kv_Quit_res {
    union {
        struct {
            __nk_alignas(8) struct nk_message base_;
        };
        struct {
            __nk_alignas(8) struct nk_message base_;
        } res_;
        struct store_Kv_Quit_err err_;
    };
} store_Kv_Quit_res;
#pragma pack(pop) /* store_Kv_Quit_res */

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Kv_NotFound store_Kv_NotFound
#define Kv_TableFull store_Kv_TableFull
#define Kv_Store_mid store_Kv_Store_mid
#define Kv_Fetch_mid store_Kv_Fetch_mid
#define Kv_Quit_mid store_Kv_Quit_mid
#define Kv_mid_max store_Kv_mid_max
#define Kv_Store_req_key_size store_Kv_Store_req_key_size
#define Kv_Fetch_req_key_size store_Kv_Fetch_req_key_size
#define Kv_Store_req_arena_size store_Kv_Store_req_arena_size
#define Kv_Fetch_req_arena_size store_Kv_Fetch_req_arena_size
#define Kv_req_arena_size store_Kv_req_arena_size
#define Kv_res_arena_size store_Kv_res_arena_size
#define Kv_arena_size store_Kv_arena_size
#define Kv_Store_req store_Kv_Store_req
#define Kv_Store_res store_Kv_Store_res
#define Kv_Fetch_req store_Kv_Fetch_req
#define Kv_Fetch_res store_Kv_Fetch_res
#define Kv_Quit_req store_Kv_Quit_req
#define Kv_Quit_res store_Kv_Quit_res
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Kv__INTERFACE__ */

/* ==== VTABLE ============================================================ */
#ifndef __store__Kv__VTABLE__
#define __store__Kv__VTABLE__

/* The interface object: an implementation (server side) or a proxy
 * (client side) is reached through its table of methods. */
typedef struct store_Kv {
    const struct store_Kv_ops *ops;
} store_Kv;

typedef nk_err_t store_Kv_Store_fn(struct store_Kv *, const struct store_Kv_Store_req *,
                                  const struct nk_arena *, struct store_Kv_Store_res *,
                                  struct nk_arena *);
typedef nk_err_t store_Kv_Fetch_fn(struct store_Kv *, const struct store_Kv_Fetch_req *,
                                  const struct nk_arena *, struct store_Kv_Fetch_res *,
                                  struct nk_arena *);
typedef nk_err_t store_Kv_Quit_fn(struct store_Kv *, const struct store_Kv_Quit_req *,
                                   const struct nk_arena *, struct store_Kv_Quit_res *,
                                   struct nk_arena *);

typedef struct store_Kv_ops {
    store_Kv_Store_fn *Store;
    store_Kv_Fetch_fn *Fetch;
    store_Kv_Quit_fn *Quit;
} store_Kv_ops;

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Kv store_Kv
#define Kv_ops store_Kv_ops
#define Kv_Store_fn store_Kv_Store_fn
#define Kv_Fetch_fn store_Kv_Fetch_fn
#define Kv_Quit_fn store_Kv_Quit_fn
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Kv__VTABLE__ */

/* ==== CLIENT ============================================================ */
#ifndef __store__Kv__CLIENT__
#define __store__Kv__CLIENT__

/* The proxy: the interface object, the transport it calls through and the
 * RIID of the server's endpoint. */
typedef struct store_Kv_proxy {
    struct store_Kv base;
    struct nk_transport *transport;
    nk_iid_t iid;
} store_Kv_proxy;

/* Each proxy method: make both messages this method's (sizes, ids, handle
 * counts), then one round trip through the transport. */
static inline nk_err_t store_Kv_Store_proxy(struct store_Kv_proxy *self,
                                           struct store_Kv_Store_req *req,
                                           const struct nk_arena *req_arena,
                                           struct store_Kv_Store_res *res,
                                           struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && req != NK_NULL && res != NK_NULL);
    nk_req_reset(req);
    nk_msg_set_method_id(req, self->iid, store_Kv_Store_mid);
    nk_msg_set_ncaps(req, store_Kv_Store_req_handles);
    nk_req_reset(res);
    nk_msg_set_method_id(res, self->iid, store_Kv_Store_mid);
    nk_msg_set_ncaps(res, store_Kv_Store_res_handles);
    return nk_transport_call(self->transport, &req->base_, req_arena, &res->base_, res_arena);
}

static inline nk_err_t store_Kv_Fetch_proxy(struct store_Kv_proxy *self,
                                           struct store_Kv_Fetch_req *req,
                                           const struct nk_arena *req_arena,
                                           struct store_Kv_Fetch_res *res,
                                           struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && req != NK_NULL && res != NK_NULL);
    nk_req_reset(req);
    nk_msg_set_method_id(req, self->iid, store_Kv_Fetch_mid);
    nk_msg_set_ncaps(req, store_Kv_Fetch_req_handles);
    nk_req_reset(res);
    nk_msg_set_method_id(res, self->iid, store_Kv_Fetch_mid);
    nk_msg_set_ncaps(res, store_Kv_Fetch_res_handles);
    return nk_transport_call(self->transport, &req->base_, req_arena, &res->base_, res_arena);
}

static inline nk_err_t store_Kv_Quit_proxy(struct store_Kv_proxy *self,
                                            struct store_Kv_Quit_req *req,
                                            const struct nk_arena *req_arena,
                                            struct store_Kv_Quit_res *res,
                                            struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && req != NK_NULL && res != NK_NULL);
    nk_req_reset(req);
    nk_msg_set_method_id(req, self->iid, store_Kv_Quit_mid);
    nk_msg_set_ncaps(req, store_Kv_Quit_req_handles);
    nk_req_reset(res);
    nk_msg_set_method_id(res, self->iid, store_Kv_Quit_mid);
    nk_msg_set_ncaps(res, store_Kv_Quit_res_handles);
    return nk_transport_call(self->transport, &req->base_, req_arena, &res->base_, res_arena);
}

/* Point the proxy at `transport` and the endpoint `iid`. The method table
 * holds the proxy methods, cast to the interface's method types (the
 * first parameter is the proxy, whose first member is the interface). */
static inline void store_Kv_proxy_init(struct store_Kv_proxy *self,
                                        struct nk_transport *transport, nk_iid_t iid)
{
    static const struct store_Kv_ops proxy_ops = {
        (store_Kv_Store_fn *)&store_Kv_Store_proxy,
        (store_Kv_Fetch_fn *)&store_Kv_Fetch_proxy,
        (store_Kv_Quit_fn *)&store_Kv_Quit_proxy,
    };
    nk_assert(self != NK_NULL);
    self->base.ops = &proxy_ops;
    self->transport = transport;
    self->iid = iid;
}

/* The interface's methods, for any object (proxy or implementation). */
static inline nk_err_t store_Kv_Store(struct store_Kv *self, struct store_Kv_Store_req *req,
                                     const struct nk_arena *req_arena,
                                     struct store_Kv_Store_res *res, struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && self->ops != NK_NULL && self->ops->Store != NK_NULL);
    return self->ops->Store(self, req, req_arena, res, res_arena);
}

static inline nk_err_t store_Kv_Fetch(struct store_Kv *self, struct store_Kv_Fetch_req *req,
                                     const struct nk_arena *req_arena,
                                     struct store_Kv_Fetch_res *res, struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && self->ops != NK_NULL && self->ops->Fetch != NK_NULL);
    return self->ops->Fetch(self, req, req_arena, res, res_arena);
}

static inline nk_err_t store_Kv_Quit(struct store_Kv *self, struct store_Kv_Quit_req *req,
                                      const struct nk_arena *req_arena,
                                      struct store_Kv_Quit_res *res,
                                      struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && self->ops != NK_NULL && self->ops->Quit != NK_NULL);
    return self->ops->Quit(self, req, req_arena, res, res_arena);
}

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Kv_proxy store_Kv_proxy
#define Kv_proxy_init store_Kv_proxy_init
#define Kv_Store store_Kv_Store
#define Kv_Fetch store_Kv_Fetch
#define Kv_Quit store_Kv_Quit
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Kv__CLIENT__ */

/* ==== SERVER ============================================================ */
#ifndef __store__Kv__SERVER__
#define __store__Kv__SERVER__

/* Room for any request or response of the interface. */
typedef union store_Kv_req {
    struct nk_message base_;
    struct store_Kv_Store_req Store;
    struct store_Kv_Fetch_req Fetch;
    struct store_Kv_Quit_req Quit;
} store_Kv_req;

typedef union store_Kv_res {
    struct nk_message base_;
    struct store_Kv_Store_res Store;
    struct store_Kv_Fetch_res Fetch;
    struct store_Kv_Quit_res Quit;
} store_Kv_res;

/* Serve `req` if it is addressed to `iid`: call the implementation's
 * method for its mid, with the response prepared as that method's (ids,
 * size, no error). An implementation answers with an error response by
 * nk_msg_set_err(res, 1) and filling res->err_, returning NK_EOK; the
 * response is then sized as the error parameters. Whatever the outcome,
 * the response carries the request's ids. NK_ENOENT for another iid or an
 * unknown mid, else the method's result. */
static inline nk_err_t store_Kv_interface_dispatch(struct store_Kv *impl, nk_iid_t iid,
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
    case store_Kv_Store_mid: {
        struct store_Kv_Store_res *out = (struct store_Kv_Store_res *)res;
        nk_req_reset(&out->res_);
        rc = impl->ops->Store(impl, (const struct store_Kv_Store_req *)req, req_arena, out,
                            res_arena);
        if (rc == NK_EOK && nk_msg_get_err(out)) {
            nk_req_reset(&out->err_);
            nk_msg_set_err(out, 1);
            nk_msg_set_ncaps(out, store_Kv_Store_err_handles);
        } else if (rc == NK_EOK) {
            nk_req_reset(&out->res_);
            nk_msg_set_ncaps(out, store_Kv_Store_res_handles);
        }
        break;
    }
    case store_Kv_Fetch_mid: {
        struct store_Kv_Fetch_res *out = (struct store_Kv_Fetch_res *)res;
        nk_req_reset(&out->res_);
        rc = impl->ops->Fetch(impl, (const struct store_Kv_Fetch_req *)req, req_arena, out,
                            res_arena);
        if (rc == NK_EOK && nk_msg_get_err(out)) {
            nk_req_reset(&out->err_);
            nk_msg_set_err(out, 1);
            nk_msg_set_ncaps(out, store_Kv_Fetch_err_handles);
        } else if (rc == NK_EOK) {
            nk_req_reset(&out->res_);
            nk_msg_set_ncaps(out, store_Kv_Fetch_res_handles);
        }
        break;
    }
    case store_Kv_Quit_mid: {
        struct store_Kv_Quit_res *out = (struct store_Kv_Quit_res *)res;
        nk_req_reset(&out->res_);
        rc = impl->ops->Quit(impl, (const struct store_Kv_Quit_req *)req, req_arena, out,
                             res_arena);
        if (rc == NK_EOK && nk_msg_get_err(out)) {
            nk_req_reset(&out->err_);
            nk_msg_set_err(out, 1);
            nk_msg_set_ncaps(out, store_Kv_Quit_err_handles);
        } else if (rc == NK_EOK) {
            nk_req_reset(&out->res_);
            nk_msg_set_ncaps(out, store_Kv_Quit_res_handles);
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
#define Kv_req store_Kv_req
#define Kv_res store_Kv_res
#define Kv_interface_dispatch store_Kv_interface_dispatch
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Kv__SERVER__ */

#pragma GCC diagnostic pop
