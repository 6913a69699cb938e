/*
 * nkgen/echo/Echo.idl.h -- written by hand for this project's tests, in the
 * shape nk-gen-c gives the header of an interface (its sections, guards,
 * names and calls follow the generated headers of public KCE 1.2 builds;
 * the text is this project's). Source: Echo.idl beside this file:
 *
 *     package nkgen.echo.Echo
 *     Reverse(in string<63> text, out string<63> reversed);
 *     Add(in SInt32 a, in SInt32 b, out SInt32 sum);
 *     Served(out UInt32 count);
 *
 * Sections, each under its own guard as nk-gen-c writes them:
 *   RAWTYPE    size checks of the IDL's scalar types
 *   INTERFACE  method ids, arena sizes and handle counts, request and
 *              response structs (a response is a union of the
 *              out-parameters, `res_`, and the error parameters, `err_`)
 *   VTABLE     the interface object: a pointer to a table of methods
 *   CLIENT     the proxy: every method packs the ids and calls
 *              nk_transport_call
 *   SERVER     request/response unions and the interface dispatcher
 *   TESTS      random message generators (one here, for Reverse)
 * Every name has an unqualified alias under NK_USE_UNQUALIFIED_NAMES.
 */
#pragma GCC diagnostic push
#include <nk/transport.h>
#include <nk/types.h>

#ifndef ____SInt32__RAWTYPE__
#define ____SInt32__RAWTYPE__
nk_static_assert(sizeof(nk_sint32_t) == 4, bad_nk_sint32_t_size);
nk_static_assert(nk_alignof(nk_sint32_t) == 4, bad_nk_sint32_t_align);
#endif /* ____SInt32__RAWTYPE__ */

#ifndef ____UInt32__RAWTYPE__
#define ____UInt32__RAWTYPE__
nk_static_assert(sizeof(nk_uint32_t) == 4, bad_nk_uint32_t_size);
nk_static_assert(nk_alignof(nk_uint32_t) == 4, bad_nk_uint32_t_align);
#endif /* ____UInt32__RAWTYPE__ */

/* ==== INTERFACE ========================================================= */
#ifndef __nkgen_echo__Echo__INTERFACE__
#define __nkgen_echo__Echo__INTERFACE__

/* Method ids: the declaration order, from 0. */
enum {
    nkgen_echo_Echo_Reverse_mid,
    nkgen_echo_Echo_Add_mid,
    nkgen_echo_Echo_Served_mid,
    nkgen_echo_Echo_mid_max,
};

/* Arena bytes per parameter (a string<63> takes 64 with its NUL), per
 * message and over the interface; handles per message. */
enum {
    nkgen_echo_Echo_Reverse_req_text_size = 64,
    nkgen_echo_Echo_Reverse_res_reversed_size = 64,
    nkgen_echo_Echo_Reverse_req_arena_size = 64,
    nkgen_echo_Echo_Reverse_res_arena_size = 64,
    nkgen_echo_Echo_Reverse_req_handles = 0,
    nkgen_echo_Echo_Reverse_res_handles = 0,
    nkgen_echo_Echo_Reverse_err_handles = 0,
    nkgen_echo_Echo_Add_req_arena_size = 0,
    nkgen_echo_Echo_Add_res_arena_size = 0,
    nkgen_echo_Echo_Add_req_handles = 0,
    nkgen_echo_Echo_Add_res_handles = 0,
    nkgen_echo_Echo_Add_err_handles = 0,
    nkgen_echo_Echo_Served_req_arena_size = 0,
    nkgen_echo_Echo_Served_res_arena_size = 0,
    nkgen_echo_Echo_Served_req_handles = 0,
    nkgen_echo_Echo_Served_res_handles = 0,
    nkgen_echo_Echo_Served_err_handles = 0,
    nkgen_echo_Echo_req_arena_size = 64,
    nkgen_echo_Echo_res_arena_size = 64,
    nkgen_echo_Echo_arena_size = 64,
    nkgen_echo_Echo_req_handles = 0,
    nkgen_echo_Echo_res_handles = 0,
    nkgen_echo_Echo_err_handles = 0,
};

/* Reverse */
typedef struct __nk_packed nkgen_echo_Echo_Reverse_req {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_ptr_t text;
} nkgen_echo_Echo_Reverse_req;

#pragma pack(push, 8) /* nkgen_echo_Echo_Reverse_res */
typedef struct nkgen_echo_Echo_Reverse_err {
    __nk_alignas(8) struct nk_message base_;
} nkgen_echo_Echo_Reverse_err;

typedef struct nkgen_echo_Echo_Reverse_res {
    union {
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(4) nk_ptr_t reversed;
        };
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(4) nk_ptr_t reversed;
        } res_;
        struct nkgen_echo_Echo_Reverse_err err_;
    };
} nkgen_echo_Echo_Reverse_res;
#pragma pack(pop) /* nkgen_echo_Echo_Reverse_res */

/* Add */
typedef struct __nk_packed nkgen_echo_Echo_Add_req {
    __nk_alignas(8) struct nk_message base_;
    __nk_alignas(4) nk_sint32_t a;
    __nk_alignas(4) nk_sint32_t b;
} nkgen_echo_Echo_Add_req;

#pragma pack(push, 8) /* nkgen_echo_Echo_Add_res */
typedef struct nkgen_echo_Echo_Add_err {
    __nk_alignas(8) struct nk_message base_;
} nkgen_echo_Echo_Add_err;

typedef struct nkgen_echo_Echo_Add_res {
    union {
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(4) nk_sint32_t sum;
        };
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(4) nk_sint32_t sum;
        } res_;
        struct nkgen_echo_Echo_Add_err err_;
    };
} nkgen_echo_Echo_Add_res;
#pragma pack(pop) /* nkgen_echo_Echo_Add_res */

/* Served */
typedef struct __nk_packed nkgen_echo_Echo_Served_req {
    __nk_alignas(8) struct nk_message base_;
} nkgen_echo_Echo_Served_req;

#pragma pack(push, 8) /* nkgen_echo_Echo_Served_res */
typedef struct nkgen_echo_Echo_Served_err {
    __nk_alignas(8) struct nk_message base_;
} nkgen_echo_Echo_Served_err;

typedef struct nkgen_echo_Echo_Served_res {
    union {
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(4) nk_uint32_t count;
        };
        struct {
            __nk_alignas(8) struct nk_message base_;
            __nk_alignas(4) nk_uint32_t count;
        } res_;
        struct nkgen_echo_Echo_Served_err err_;
    };
} nkgen_echo_Echo_Served_res;
#pragma pack(pop) /* nkgen_echo_Echo_Served_res */

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Echo_Reverse_mid nkgen_echo_Echo_Reverse_mid
#define Echo_Add_mid nkgen_echo_Echo_Add_mid
#define Echo_Served_mid nkgen_echo_Echo_Served_mid
#define Echo_mid_max nkgen_echo_Echo_mid_max
#define Echo_Reverse_req_text_size nkgen_echo_Echo_Reverse_req_text_size
#define Echo_Reverse_res_reversed_size nkgen_echo_Echo_Reverse_res_reversed_size
#define Echo_Reverse_req_arena_size nkgen_echo_Echo_Reverse_req_arena_size
#define Echo_Reverse_res_arena_size nkgen_echo_Echo_Reverse_res_arena_size
#define Echo_req_arena_size nkgen_echo_Echo_req_arena_size
#define Echo_res_arena_size nkgen_echo_Echo_res_arena_size
#define Echo_arena_size nkgen_echo_Echo_arena_size
#define Echo_Reverse_req nkgen_echo_Echo_Reverse_req
#define Echo_Reverse_res nkgen_echo_Echo_Reverse_res
#define Echo_Add_req nkgen_echo_Echo_Add_req
#define Echo_Add_res nkgen_echo_Echo_Add_res
#define Echo_Served_req nkgen_echo_Echo_Served_req
#define Echo_Served_res nkgen_echo_Echo_Served_res
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __nkgen_echo__Echo__INTERFACE__ */

/* ==== VTABLE ============================================================ */
#ifndef __nkgen_echo__Echo__VTABLE__
#define __nkgen_echo__Echo__VTABLE__

/* The interface object: an implementation (server side) or a proxy
 * (client side) is reached through its table of methods. */
typedef struct nkgen_echo_Echo {
    const struct nkgen_echo_Echo_ops *ops;
} nkgen_echo_Echo;

typedef nk_err_t nkgen_echo_Echo_Reverse_fn(struct nkgen_echo_Echo *,
                                            const struct nkgen_echo_Echo_Reverse_req *,
                                            const struct nk_arena *,
                                            struct nkgen_echo_Echo_Reverse_res *,
                                            struct nk_arena *);
typedef nk_err_t nkgen_echo_Echo_Add_fn(struct nkgen_echo_Echo *,
                                        const struct nkgen_echo_Echo_Add_req *,
                                        const struct nk_arena *,
                                        struct nkgen_echo_Echo_Add_res *, struct nk_arena *);
typedef nk_err_t nkgen_echo_Echo_Served_fn(struct nkgen_echo_Echo *,
                                           const struct nkgen_echo_Echo_Served_req *,
                                           const struct nk_arena *,
                                           struct nkgen_echo_Echo_Served_res *,
                                           struct nk_arena *);

typedef struct nkgen_echo_Echo_ops {
    nkgen_echo_Echo_Reverse_fn *Reverse;
    nkgen_echo_Echo_Add_fn *Add;
    nkgen_echo_Echo_Served_fn *Served;
} nkgen_echo_Echo_ops;

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Echo nkgen_echo_Echo
#define Echo_ops nkgen_echo_Echo_ops
#define Echo_Reverse_fn nkgen_echo_Echo_Reverse_fn
#define Echo_Add_fn nkgen_echo_Echo_Add_fn
#define Echo_Served_fn nkgen_echo_Echo_Served_fn
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __nkgen_echo__Echo__VTABLE__ */

/* ==== CLIENT ============================================================ */
#ifndef __nkgen_echo__Echo__CLIENT__
#define __nkgen_echo__Echo__CLIENT__

/* The proxy: the interface object, the transport it calls through and the
 * RIID of the server's endpoint. */
typedef struct nkgen_echo_Echo_proxy {
    struct nkgen_echo_Echo base;
    struct nk_transport *transport;
    nk_iid_t iid;
} nkgen_echo_Echo_proxy;

/* Each proxy method: make both messages this method's (sizes, ids, handle
 * counts), then one round trip through the transport. */
static inline nk_err_t nkgen_echo_Echo_Reverse_proxy(struct nkgen_echo_Echo_proxy *self,
                                                     struct nkgen_echo_Echo_Reverse_req *req,
                                                     const struct nk_arena *req_arena,
                                                     struct nkgen_echo_Echo_Reverse_res *res,
                                                     struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && req != NK_NULL && res != NK_NULL);
    nk_req_reset(req);
    nk_msg_set_method_id(req, self->iid, nkgen_echo_Echo_Reverse_mid);
    nk_msg_set_ncaps(req, nkgen_echo_Echo_Reverse_req_handles);
    nk_req_reset(res);
    nk_msg_set_method_id(res, self->iid, nkgen_echo_Echo_Reverse_mid);
    nk_msg_set_ncaps(res, nkgen_echo_Echo_Reverse_res_handles);
    return nk_transport_call(self->transport, &req->base_, req_arena, &res->base_, res_arena);
}

static inline nk_err_t nkgen_echo_Echo_Add_proxy(struct nkgen_echo_Echo_proxy *self,
                                                 struct nkgen_echo_Echo_Add_req *req,
                                                 const struct nk_arena *req_arena,
                                                 struct nkgen_echo_Echo_Add_res *res,
                                                 struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && req != NK_NULL && res != NK_NULL);
    nk_req_reset(req);
    nk_msg_set_method_id(req, self->iid, nkgen_echo_Echo_Add_mid);
    nk_msg_set_ncaps(req, nkgen_echo_Echo_Add_req_handles);
    nk_req_reset(res);
    nk_msg_set_method_id(res, self->iid, nkgen_echo_Echo_Add_mid);
    nk_msg_set_ncaps(res, nkgen_echo_Echo_Add_res_handles);
    return nk_transport_call(self->transport, &req->base_, req_arena, &res->base_, res_arena);
}

static inline nk_err_t nkgen_echo_Echo_Served_proxy(struct nkgen_echo_Echo_proxy *self,
                                                    struct nkgen_echo_Echo_Served_req *req,
                                                    const struct nk_arena *req_arena,
                                                    struct nkgen_echo_Echo_Served_res *res,
                                                    struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && req != NK_NULL && res != NK_NULL);
    nk_req_reset(req);
    nk_msg_set_method_id(req, self->iid, nkgen_echo_Echo_Served_mid);
    nk_msg_set_ncaps(req, nkgen_echo_Echo_Served_req_handles);
    nk_req_reset(res);
    nk_msg_set_method_id(res, self->iid, nkgen_echo_Echo_Served_mid);
    nk_msg_set_ncaps(res, nkgen_echo_Echo_Served_res_handles);
    return nk_transport_call(self->transport, &req->base_, req_arena, &res->base_, res_arena);
}

/* Point the proxy at `transport` and the endpoint `iid`. The method table
 * holds the proxy methods, cast to the interface's method types (the
 * first parameter is the proxy, whose first member is the interface). */
static inline void nkgen_echo_Echo_proxy_init(struct nkgen_echo_Echo_proxy *self,
                                              struct nk_transport *transport, nk_iid_t iid)
{
    static const struct nkgen_echo_Echo_ops proxy_ops = {
        (nkgen_echo_Echo_Reverse_fn *)&nkgen_echo_Echo_Reverse_proxy,
        (nkgen_echo_Echo_Add_fn *)&nkgen_echo_Echo_Add_proxy,
        (nkgen_echo_Echo_Served_fn *)&nkgen_echo_Echo_Served_proxy,
    };
    nk_assert(self != NK_NULL);
    self->base.ops = &proxy_ops;
    self->transport = transport;
    self->iid = iid;
}

/* The interface's methods, for any object (proxy or implementation). */
static inline nk_err_t nkgen_echo_Echo_Reverse(struct nkgen_echo_Echo *self,
                                               struct nkgen_echo_Echo_Reverse_req *req,
                                               const struct nk_arena *req_arena,
                                               struct nkgen_echo_Echo_Reverse_res *res,
                                               struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && self->ops != NK_NULL && self->ops->Reverse != NK_NULL);
    return self->ops->Reverse(self, req, req_arena, res, res_arena);
}

static inline nk_err_t nkgen_echo_Echo_Add(struct nkgen_echo_Echo *self,
                                           struct nkgen_echo_Echo_Add_req *req,
                                           const struct nk_arena *req_arena,
                                           struct nkgen_echo_Echo_Add_res *res,
                                           struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && self->ops != NK_NULL && self->ops->Add != NK_NULL);
    return self->ops->Add(self, req, req_arena, res, res_arena);
}

static inline nk_err_t nkgen_echo_Echo_Served(struct nkgen_echo_Echo *self,
                                              struct nkgen_echo_Echo_Served_req *req,
                                              const struct nk_arena *req_arena,
                                              struct nkgen_echo_Echo_Served_res *res,
                                              struct nk_arena *res_arena)
{
    nk_assert(self != NK_NULL && self->ops != NK_NULL && self->ops->Served != NK_NULL);
    return self->ops->Served(self, req, req_arena, res, res_arena);
}

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Echo_proxy nkgen_echo_Echo_proxy
#define Echo_proxy_init nkgen_echo_Echo_proxy_init
#define Echo_Reverse nkgen_echo_Echo_Reverse
#define Echo_Add nkgen_echo_Echo_Add
#define Echo_Served nkgen_echo_Echo_Served
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __nkgen_echo__Echo__CLIENT__ */

/* ==== SERVER ============================================================ */
#ifndef __nkgen_echo__Echo__SERVER__
#define __nkgen_echo__Echo__SERVER__

/* Room for any request or response of the interface. */
typedef union nkgen_echo_Echo_req {
    struct nk_message base_;
    struct nkgen_echo_Echo_Reverse_req Reverse;
    struct nkgen_echo_Echo_Add_req Add;
    struct nkgen_echo_Echo_Served_req Served;
} nkgen_echo_Echo_req;

typedef union nkgen_echo_Echo_res {
    struct nk_message base_;
    struct nkgen_echo_Echo_Reverse_res Reverse;
    struct nkgen_echo_Echo_Add_res Add;
    struct nkgen_echo_Echo_Served_res Served;
} nkgen_echo_Echo_res;

/* Serve `req` if it is addressed to `iid`: call the implementation's
 * method for its mid. On success the response becomes that method's (size,
 * handle count); whatever the outcome, it carries the request's ids.
 * NK_ENOENT for another iid or an unknown mid, else the method's result. */
static inline nk_err_t nkgen_echo_Echo_interface_dispatch(struct nkgen_echo_Echo *impl,
                                                          nk_iid_t iid,
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
    case nkgen_echo_Echo_Reverse_mid: {
        struct nkgen_echo_Echo_Reverse_res *out = (struct nkgen_echo_Echo_Reverse_res *)res;
        rc = impl->ops->Reverse(impl, (const struct nkgen_echo_Echo_Reverse_req *)req, req_arena,
                                out, res_arena);
        if (rc == NK_EOK) {
            nk_req_reset(&out->res_);
            nk_msg_set_ncaps(out, nkgen_echo_Echo_Reverse_res_handles);
        }
        break;
    }
    case nkgen_echo_Echo_Add_mid: {
        struct nkgen_echo_Echo_Add_res *out = (struct nkgen_echo_Echo_Add_res *)res;
        rc = impl->ops->Add(impl, (const struct nkgen_echo_Echo_Add_req *)req, req_arena, out,
                            res_arena);
        if (rc == NK_EOK) {
            nk_req_reset(&out->res_);
            nk_msg_set_ncaps(out, nkgen_echo_Echo_Add_res_handles);
        }
        break;
    }
    case nkgen_echo_Echo_Served_mid: {
        struct nkgen_echo_Echo_Served_res *out = (struct nkgen_echo_Echo_Served_res *)res;
        rc = impl->ops->Served(impl, (const struct nkgen_echo_Echo_Served_req *)req, req_arena,
                               out, res_arena);
        if (rc == NK_EOK) {
            nk_req_reset(&out->res_);
            nk_msg_set_ncaps(out, nkgen_echo_Echo_Served_res_handles);
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
#define Echo_req nkgen_echo_Echo_req
#define Echo_res nkgen_echo_Echo_res
#define Echo_interface_dispatch nkgen_echo_Echo_interface_dispatch
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __nkgen_echo__Echo__SERVER__ */

/* ==== TESTS ============================================================= */
#ifndef __nkgen_echo__Echo__TESTS__
#define __nkgen_echo__Echo__TESTS__

/* A random Reverse response for fuzzing the client: `reversed` gets a
 * random length, and one time in two one byte more than the IDL allows
 * (then *failure says a correct receiver must refuse the message). */
static inline nk_err_t nkgen_echo_Echo_Reverse_test_res(struct nkgen_echo_Echo_Reverse_res *msg,
                                                        struct nk_arena *arena,
                                                        int (*rand)(void), nk_bool_t *failure)
{
    struct {
        const int weight;
        nk_bool_t chosen;
    } too_long[] = {{1, NK_FALSE}, {2, NK_FALSE}};
    nk_size_t n = nk_array_size(too_long);
    int pick = rand() % too_long[n - 1].weight;

    *failure = NK_FALSE;
    for (nk_size_t i = 0; i < n; i++) {
        if (too_long[i].weight > pick) {
            too_long[i].chosen = NK_TRUE;
            break;
        }
    }
    nk_size_t len = too_long[0].chosen ? nkgen_echo_Echo_Reverse_res_reversed_size + 1
                                       : (nk_size_t)rand() %
                                             (nkgen_echo_Echo_Reverse_res_reversed_size + 1);
    if (len > nkgen_echo_Echo_Reverse_res_reversed_size)
        *failure = NK_TRUE;
    nk_uint8_t *bytes = nk_arena_alloc(nk_uint8_t, arena, &msg->reversed, len);
    if (bytes == NK_NULL)
        return NK_EINVAL;
    for (nk_size_t i = 0; i < len; i++)
        bytes[i] = (nk_uint8_t)rand();
    return NK_EOK;
}

#endif /* __nkgen_echo__Echo__TESTS__ */

#pragma GCC diagnostic pop
