/*
 * <nk/transport.h> -- kos-ipc-shim's KasperskyOS CE headers (docs/abi.md).
 *
 * The generic NK transport every NK-generated header includes: a transport
 * is one pointer to a table of operations (struct nk_transport and
 * nk_transport_ops, five function pointers call, recv, reply, send, wait:
 * DWARF of KCE 1.2 programs [D]). Generated proxies keep a
 * `struct nk_transport *` and send through nk_transport_call; servers loop
 * over nk_transport_recv -> <Entity>_entity_dispatch -> nk_transport_reply.
 * The argument order of the three is the one generated code and the SDK's
 * examples use; which pointers are const, and the NK_EINVAL for a NULL
 * transport or missing operation, are this project's.
 *
 * The send and wait slots keep the layout; their signatures are not public,
 * so they are typed as bare function pointers here and no wrapper calls them.
 *
 * The one implementation here is NkKosTransport (<coresrv/nk/transport-kos.h>).
 */
#ifndef KOS_SHIM_KOS_NK_TRANSPORT_H
#define KOS_SHIM_KOS_NK_TRANSPORT_H

#include "types.h"

struct nk_arena;
struct nk_transport;

typedef nk_err_t nk_transport_call_fn(struct nk_transport *transport,
                                      const struct nk_message *req,
                                      const struct nk_arena *req_arena,
                                      struct nk_message *res, struct nk_arena *res_arena);
typedef nk_err_t nk_transport_recv_fn(struct nk_transport *transport, struct nk_message *req,
                                      struct nk_arena *req_arena);
typedef nk_err_t nk_transport_reply_fn(struct nk_transport *transport,
                                       const struct nk_message *res,
                                       const struct nk_arena *res_arena);

typedef struct nk_transport_ops {
    nk_transport_call_fn *call;   /* send a request, wait for its response */
    nk_transport_recv_fn *recv;   /* wait for a request */
    nk_transport_reply_fn *reply; /* answer the request received last */
    void (*send)(void);           /* signature not public; NULL here */
    void (*wait)(void);           /* signature not public; NULL here */
} nk_transport_ops;

typedef struct nk_transport {
    const struct nk_transport_ops *ops;
} nk_transport;

nk_static_assert(sizeof(struct nk_transport) == sizeof(void *), nk_transport_size);
nk_static_assert(sizeof(struct nk_transport_ops) == 5 * sizeof(void *), nk_transport_ops_size);
nk_static_assert(offsetof(struct nk_transport_ops, reply) == 2 * sizeof(void *),
                 nk_transport_ops_reply);
nk_static_assert(offsetof(struct nk_transport_ops, wait) == 4 * sizeof(void *),
                 nk_transport_ops_wait);

/* Send `req` (its arena: the bytes in use of `req_arena`) and wait for the
 * response in `res` and `res_arena`. NK_EOK or an NK_E* code. */
static inline nk_err_t nk_transport_call(struct nk_transport *transport,
                                         const struct nk_message *req,
                                         const struct nk_arena *req_arena,
                                         struct nk_message *res, struct nk_arena *res_arena)
{
    if (transport == NK_NULL || transport->ops == NK_NULL || transport->ops->call == NK_NULL)
        return NK_EINVAL;
    return transport->ops->call(transport, req, req_arena, res, res_arena);
}

/* Wait for a request in `req` (capacity: its ex.size_ex) and `req_arena`. */
static inline nk_err_t nk_transport_recv(struct nk_transport *transport, struct nk_message *req,
                                         struct nk_arena *req_arena)
{
    if (transport == NK_NULL || transport->ops == NK_NULL || transport->ops->recv == NK_NULL)
        return NK_EINVAL;
    return transport->ops->recv(transport, req, req_arena);
}

/* Answer the request the last nk_transport_recv received with `res`. */
static inline nk_err_t nk_transport_reply(struct nk_transport *transport,
                                          const struct nk_message *res,
                                          const struct nk_arena *res_arena)
{
    if (transport == NK_NULL || transport->ops == NK_NULL || transport->ops->reply == NK_NULL)
        return NK_EINVAL;
    return transport->ops->reply(transport, res, res_arena);
}

/* struct nk_arena and its macros: generated code uses both with the transport. */
#include "arena.h"

#endif /* KOS_SHIM_KOS_NK_TRANSPORT_H */
