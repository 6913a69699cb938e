/*
 * echo/Echo.idl.h -- written by hand for examples/solutions/echo, in the
 * shape nk-gen-c gives the header of an interface (sections, guards, names
 * and calls as in ctests/nkgen/echo/Echo.idl.h, which follows the
 * generated headers of public KCE 1.2 builds). Source: idl/echo/Echo.idl:
 *
 *     package echo.Echo
 *     interface {
 *         Echo(in string<64> text, out string<64> answer);
 *         Add(in SInt32 a, in SInt32 b, out SInt32 sum);
 *         Quit();
 *     }
 *
 * Sections, each under its own guard:
 *   RAWTYPE    size checks of the IDL's scalar types
 *   INTERFACE  method ids, arena sizes and handle counts, request and
 *              response structs (a response is a union of the
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

#ifndef ____SInt32__RAWTYPE__
#define ____SInt32__RAWTYPE__
nk_static_assert(sizeof(nk_sint32_t) == 4, bad_nk_sint32_t_size);
nk_static_assert(nk_alignof(nk_sint32_t) == 4, bad_nk_sint32_t_align);
#endif /* ____SInt32__RAWTYPE__ */

/* ==== INTERFACE ========================================================= */
#ifndef __echo__Echo__INTERFACE__
#define __echo__Echo__INTERFACE__

/* Method ids: the declaration order, from 0. */
enum {
    echo_Echo_Echo_mid,
    echo_Echo_Add_mid,
    echo_Echo_Quit_mid,
    echo_Echo_mid_max,
};

/* Arena bytes per parameter (a string<64> takes 65 with its NUL), per
 * message and over the interface; handles per message. */
enum {
    echo_Echo_Echo_req_text_size = 65,
    echo_Echo_Echo_res_answer_size = 65,
    echo_Echo_Echo_req_arena_size = 65,
    echo_Echo_Echo_res_arena_size = 65,
    echo_Echo_Echo_req_handles = 0,
    echo_Echo_Echo_res_handles = 0,
    echo_Echo_Echo_err_handles = 0,
    echo_Echo_Add_req_arena_size = 0,
    echo_Echo_Add_res_arena_size = 0,
    echo_Echo_Add_req_handles = 0,
    echo_Echo_Add_res_handles = 0,
    echo_Echo_Add_err_handles = 0,
    echo_Echo_Quit_req_arena_size = 0,
    echo_Echo_Quit_res_arena_size = 0,
    echo_Echo_Quit_req_handles = 0,
    echo_Echo_Quit_res_handles = 0,
    echo_Echo_Quit_err_handles = 0,
    echo_Echo_req_arena_size = 65,
    echo_Echo_res_arena_size = 65,
    echo_Echo_arena_size = 65,
    echo_Echo_req_handles = 0,
    echo_Echo_res_handles = 0,
    echo_Echo_err_handles = 0,
};

/* Echo */
typedef struct __nk_packed echo_Echo_Echo_req {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t text;
} echo_Echo_Echo_req;

#pragma pack(push, 8) /* echo_Echo_Echo_res */
typedef struct echo_Echo_Echo_err {
    __nk_alignas(8) struct nk_message base_;
} echo_Echo_Echo_err;

typedef struct echo_Echo_Echo_res {
    union {
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(4) nk_ptr_t answer;
        };
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(4) nk_ptr_t answer;
        } res_;
        struct echo_Echo_Echo_err err_;
    };
} echo_Echo_Echo_res;
#pragma pack(pop) /* echo_Echo_Echo_res */

/* Add */
typedef struct __nk_packed echo_Echo_Add_req {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_sint32_t a;
    __nk_alignas(4) nk_sint32_t b;
} echo_Echo_Add_req;

#pragma pack(push, 8) /* echo_Echo_Add_res */
typedef struct echo_Echo_Add_err {
    __nk_alignas(8) struct nk_message base_;
} echo_Echo_Add_err;

typedef struct echo_Echo_Add_res {
    union {
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(4) nk_sint32_t sum;
        };
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(4) nk_sint32_t sum;
        } res_;
        struct echo_Echo_Add_err err_;
    };
} echo_Echo_Add_res;
#pragma pack(pop) /* echo_Echo_Add_res */

/* Quit */
typedef struct __nk_packed echo_Echo_Quit_req {
    __nk_alignas(8) struct nk_message base_;
} echo_Echo_Quit_req;

#pragma pack(push, 8) /* echo_Echo_Quit_res */
typedef struct echo_Echo_Quit_err {
    __nk_alignas(8) struct nk_message base_;
} echo_Echo_Quit_err;

typedef struct echo_Echo_Quit_res {
    union {
        struct {
            __nk_alignas(8) struct nk_message base_;
        };
        struct {
            __nk_alignas(8) struct nk_message base_;
        } res_;
        struct echo_Echo_Quit_err err_;
    };
} echo_Echo_Quit_res;
#pragma pack(pop) /* echo_Echo_Quit_res */

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Echo_Echo_mid echo_Echo_Echo_mid
#define Echo_Add_mid echo_Echo_Add_mid
#define Echo_Quit_mid echo_Echo_Quit_mid
#define Echo_mid_max echo_Echo_mid_max
#define Echo_Echo_req_text_size echo_Echo_Echo_req_text_size
#define Echo_Echo_res_answer_size echo_Echo_Echo_res_answer_size
#define Echo_Echo_req_arena_size echo_Echo_Echo_req_arena_size
#define Echo_Echo_res_arena_size echo_Echo_Echo_res_arena_size
#define Echo_req_arena_size echo_Echo_req_arena_size
#define Echo_res_arena_size echo_Echo_res_arena_size
#define Echo_arena_size echo_Echo_arena_size
#define Echo_Echo_req echo_Echo_Echo_req
#define Echo_Echo_res echo_Echo_Echo_res
#define Echo_Add_req echo_Echo_Add_req
#define Echo_Add_res echo_Echo_Add_res
#define Echo_Quit_req echo_Echo_Quit_req
#define Echo_Quit_res echo_Echo_Quit_res
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __echo__Echo__INTERFACE__ */

/* ==== VTABLE ============================================================ */
#ifndef __echo__Echo__VTABLE__
#define __echo__Echo__VTABLE__

/* The interface object: an implementation (server side) or a proxy
 * (client side) is reached through its table of methods. */
typedef struct echo_Echo {
    const struct echo_Echo_ops *ops;
} echo_Echo;

typedef nk_err_t echo_Echo_Echo_fn(struct echo_Echo *, const struct echo_Echo_Echo_req *,
                                   const struct nk_arena *, struct echo_Echo_Echo_res *,
                                   struct nk_arena *);
typedef nk_err_t echo_Echo_Add_fn(struct echo_Echo *, const struct echo_Echo_Add_req *,
                                  const struct nk_arena *, struct echo_Echo_Add_res *,
                                  struct nk_arena *);
typedef nk_err_t echo_Echo_Quit_fn(struct echo_Echo *, const struct echo_Echo_Quit_req *,
                                   const struct nk_arena *, struct echo_Echo_Quit_res *,
                                   struct nk_arena *);

typedef struct echo_Echo_ops {
    echo_Echo_Echo_fn *Echo;
    echo_Echo_Add_fn *Add;
    echo_Echo_Quit_fn *Quit;
} echo_Echo_ops;

#ifdef NK_USE_UNQUALIFIED_NAMES
/* No alias `Echo` for the interface type: it would rename the method Echo
 * (the ops member and the union members above). */
#define Echo_ops echo_Echo_ops
#define Echo_Echo_fn echo_Echo_Echo_fn
#define Echo_Add_fn echo_Echo_Add_fn
#define Echo_Quit_fn echo_Echo_Quit_fn
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __echo__Echo__VTABLE__ */

/* ==== CLIENT ============================================================ */
#ifndef __echo__Echo__CLIENT__
#define __echo__Echo__CLIENT__

/* The proxy: the interface object, the transport it calls through and the
 * RIID of the server's endpoint. */
typedef struct echo_Echo_proxy {
    struct echo_Echo base;
    struct nk_transport *transport;
    nk_iid_t iid;
} echo_Echo_proxy;

/* Each proxy method: make both messages this method's (sizes, ids, handle
 * counts), then one round trip through the transport. */
static inline nk_err_t echo_Echo_Echo_proxy(struct echo_Echo_proxy *self,
                                            struct echo_Echo_Echo_req *req,
                                            const struct nk_arena *req_arena,
                                            struct echo_Echo_Echo_res *res,
                                            struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && req != NK_NULL && res != NK_NULL);
    nk_req_reset(req);
    nk_msg_set_method_id(req, self->iid, echo_Echo_Echo_mid);
    nk_msg_set_ncaps(req, echo_Echo_Echo_req_handles);
    nk_req_reset(res);
    nk_msg_set_method_id(res, self->iid, echo_Echo_Echo_mid);
    nk_msg_set_ncaps(res, echo_Echo_Echo_res_handles);
    return nk_transport_call(self->transport, &req->base_, req_arena, &res->base_, res_arena);
}

static inline nk_err_t echo_Echo_Add_proxy(struct echo_Echo_proxy *self,
                                           struct echo_Echo_Add_req *req,
                                           const struct nk_arena *req_arena,
                                           struct echo_Echo_Add_res *res,
                                           struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && req != NK_NULL && res != NK_NULL);
    nk_req_reset(req);
    nk_msg_set_method_id(req, self->iid, echo_Echo_Add_mid);
    nk_msg_set_ncaps(req, echo_Echo_Add_req_handles);
    nk_req_reset(res);
    nk_msg_set_method_id(res, self->iid, echo_Echo_Add_mid);
    nk_msg_set_ncaps(res, echo_Echo_Add_res_handles);
    return nk_transport_call(self->transport, &req->base_, req_arena, &res->base_, res_arena);
}

static inline nk_err_t echo_Echo_Quit_proxy(struct echo_Echo_proxy *self,
                                            struct echo_Echo_Quit_req *req,
                                            const struct nk_arena *req_arena,
                                            struct echo_Echo_Quit_res *res,
                                            struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && req != NK_NULL && res != NK_NULL);
    nk_req_reset(req);
    nk_msg_set_method_id(req, self->iid, echo_Echo_Quit_mid);
    nk_msg_set_ncaps(req, echo_Echo_Quit_req_handles);
    nk_req_reset(res);
    nk_msg_set_method_id(res, self->iid, echo_Echo_Quit_mid);
    nk_msg_set_ncaps(res, echo_Echo_Quit_res_handles);
    return nk_transport_call(self->transport, &req->base_, req_arena, &res->base_, res_arena);
}

/* Point the proxy at `transport` and the endpoint `iid`. The method table
 * holds the proxy methods, cast to the interface's method types (the
 * first parameter is the proxy, whose first member is the interface). */
static inline void echo_Echo_proxy_init(struct echo_Echo_proxy *self,
                                        struct nk_transport *transport, nk_iid_t iid)
{
    static const struct echo_Echo_ops proxy_ops = {
        (echo_Echo_Echo_fn *)&echo_Echo_Echo_proxy,
        (echo_Echo_Add_fn *)&echo_Echo_Add_proxy,
        (echo_Echo_Quit_fn *)&echo_Echo_Quit_proxy,
    };
    nk_assert(self != NK_NULL);
    self->base.ops = &proxy_ops;
    self->transport = transport;
    self->iid = iid;
}

/* The interface's methods, for any object (proxy or implementation). */
static inline nk_err_t echo_Echo_Echo(struct echo_Echo *self, struct echo_Echo_Echo_req *req,
                                      const struct nk_arena *req_arena,
                                      struct echo_Echo_Echo_res *res,
                                      struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && self->ops != NK_NULL && self->ops->Echo != NK_NULL);
    return self->ops->Echo(self, req, req_arena, res, res_arena);
}

static inline nk_err_t echo_Echo_Add(struct echo_Echo *self, struct echo_Echo_Add_req *req,
                                     const struct nk_arena *req_arena,
                                     struct echo_Echo_Add_res *res, struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && self->ops != NK_NULL && self->ops->Add != NK_NULL);
    return self->ops->Add(self, req, req_arena, res, res_arena);
}

static inline nk_err_t echo_Echo_Quit(struct echo_Echo *self, struct echo_Echo_Quit_req *req,
                                      const struct nk_arena *req_arena,
                                      struct echo_Echo_Quit_res *res,
                                      struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && self->ops != NK_NULL && self->ops->Quit != NK_NULL);
    return self->ops->Quit(self, req, req_arena, res, res_arena);
}

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Echo_proxy echo_Echo_proxy
#define Echo_proxy_init echo_Echo_proxy_init
#define Echo_Echo echo_Echo_Echo
#define Echo_Add echo_Echo_Add
#define Echo_Quit echo_Echo_Quit
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __echo__Echo__CLIENT__ */

/* ==== SERVER ============================================================ */
#ifndef __echo__Echo__SERVER__
#define __echo__Echo__SERVER__

/* Room for any request or response of the interface. */
typedef union echo_Echo_req {
    struct nk_message base_;
    struct echo_Echo_Echo_req Echo;
    struct echo_Echo_Add_req Add;
    struct echo_Echo_Quit_req Quit;
} echo_Echo_req;

typedef union echo_Echo_res {
    struct nk_message base_;
    struct echo_Echo_Echo_res Echo;
    struct echo_Echo_Add_res Add;
    struct echo_Echo_Quit_res Quit;
} echo_Echo_res;

/* Serve `req` if it is addressed to `iid`: call the implementation's
 * method for its mid, with the response prepared as that method's (ids,
 * size, no error). An implementation answers with an error response by
 * nk_msg_set_err(res, 1) and filling res->err_, returning NK_EOK; the
 * response is then sized as the error parameters. Whatever the outcome,
 * the response carries the request's ids. NK_ENOENT for another iid or an
 * unknown mid, else the method's result. */
static inline nk_err_t echo_Echo_interface_dispatch(struct echo_Echo *impl, nk_iid_t iid,
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
    case echo_Echo_Echo_mid: {
        struct echo_Echo_Echo_res *out = (struct echo_Echo_Echo_res *)res;
        nk_req_reset(&out->res_);
        rc = impl->ops->Echo(impl, (const struct echo_Echo_Echo_req *)req, req_arena, out,
                             res_arena);
        if (rc == NK_EOK && nk_msg_get_err(out)) {
            nk_req_reset(&out->err_);
            nk_msg_set_err(out, 1);
            nk_msg_set_ncaps(out, echo_Echo_Echo_err_handles);
        } else if (rc == NK_EOK) {
            nk_req_reset(&out->res_);
            nk_msg_set_ncaps(out, echo_Echo_Echo_res_handles);
        }
        break;
    }
    case echo_Echo_Add_mid: {
        struct echo_Echo_Add_res *out = (struct echo_Echo_Add_res *)res;
        nk_req_reset(&out->res_);
        rc = impl->ops->Add(impl, (const struct echo_Echo_Add_req *)req, req_arena, out,
                            res_arena);
        if (rc == NK_EOK && nk_msg_get_err(out)) {
            nk_req_reset(&out->err_);
            nk_msg_set_err(out, 1);
            nk_msg_set_ncaps(out, echo_Echo_Add_err_handles);
        } else if (rc == NK_EOK) {
            nk_req_reset(&out->res_);
            nk_msg_set_ncaps(out, echo_Echo_Add_res_handles);
        }
        break;
    }
    case echo_Echo_Quit_mid: {
        struct echo_Echo_Quit_res *out = (struct echo_Echo_Quit_res *)res;
        nk_req_reset(&out->res_);
        rc = impl->ops->Quit(impl, (const struct echo_Echo_Quit_req *)req, req_arena, out,
                             res_arena);
        if (rc == NK_EOK && nk_msg_get_err(out)) {
            nk_req_reset(&out->err_);
            nk_msg_set_err(out, 1);
            nk_msg_set_ncaps(out, echo_Echo_Quit_err_handles);
        } else if (rc == NK_EOK) {
            nk_req_reset(&out->res_);
            nk_msg_set_ncaps(out, echo_Echo_Quit_res_handles);
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
#define Echo_req echo_Echo_req
#define Echo_res echo_Echo_res
#define Echo_interface_dispatch echo_Echo_interface_dispatch
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __echo__Echo__SERVER__ */

#pragma GCC diagnostic pop
