/*
 * <coresrv/nk/transport-kos.h> -- kos-ipc-shim's KasperskyOS CE headers
 * (docs/abi.md and docs/emulator.md).
 *
 * NkKosTransport: the NK transport over the IPC system calls. Its layout is
 * the SDK's (DWARF of KCE 1.2 programs [D], 40 bytes on 64-bit targets):
 * the struct nk_transport proxies are given (`&transport.base`), the IPC
 * handle, the reply handle and client thread of the last received request,
 * the receive and call timeouts (milliseconds, INFINITE_TIMEOUT: none) and
 * the IPC sync objects that interrupt them (INVALID_HANDLE: none). It calls
 * CallEx, RecvEx and Reply, as the SDK's does [B].
 *
 *     NkKosTransport transport;
 *     NkKosTransport_Init(&transport, handle, NK_NULL, 0);
 *     pkg_Iface_proxy_init(&proxy, &transport.base, riid);
 *
 * NkKosTransport_Init is the SDK's name and argument list (its examples
 * pass NK_NULL, 0 as the last two; they are ignored here). The SDK's way
 * to set the timeouts and sync objects is not public: the four
 * NkKosTransport_Set* functions below are this project's names (or set the
 * fields). The functions behind the operations, and which NK_E* code each
 * system call result becomes, are described in kos_ipc_shim.h
 * (kos_host_transport_call, _recv, _reply) and docs/emulator.md.
 */
#ifndef KOS_SHIM_KOS_CORESRV_NK_TRANSPORT_KOS_H
#define KOS_SHIM_KOS_CORESRV_NK_TRANSPORT_KOS_H

#include <stddef.h>

#include "../../handle/handletype.h"
#include "../../ipc/if_rend.h"
#include "../../nk/transport.h"
#include "../syscalls.h"

typedef struct NkKosTransport {
    struct nk_transport base;
    Handle handle;          /* client or server IPC handle */
    Handle reply_handle;    /* where the last received request came in */
    Tid thread;             /* the client thread that sent it */
    rtl_uint32_t recvTimeout; /* RecvEx's mdelay */
    rtl_uint32_t callTimeout; /* CallEx's mdelay */
    Handle callSyncHandle;  /* CallEx's syncHandle */
    Handle recvSyncHandle;  /* RecvEx's syncHandle */
} NkKosTransport;

nk_static_assert(offsetof(NkKosTransport, handle) == sizeof(void *), NkKosTransport_handle);
nk_static_assert(offsetof(NkKosTransport, reply_handle) == sizeof(void *) + 4,
                 NkKosTransport_reply_handle);
nk_static_assert(offsetof(NkKosTransport, thread) == sizeof(void *) + 8, NkKosTransport_thread);
nk_static_assert(offsetof(NkKosTransport, recvTimeout) == sizeof(void *) + 12,
                 NkKosTransport_recvTimeout);
nk_static_assert(offsetof(NkKosTransport, callTimeout) == sizeof(void *) + 16,
                 NkKosTransport_callTimeout);
nk_static_assert(offsetof(NkKosTransport, callSyncHandle) == sizeof(void *) + 20,
                 NkKosTransport_callSyncHandle);
nk_static_assert(offsetof(NkKosTransport, recvSyncHandle) == sizeof(void *) + 24,
                 NkKosTransport_recvSyncHandle);
#if defined(__LP64__) || defined(_LP64)
nk_static_assert(sizeof(NkKosTransport) == 40, NkKosTransport_size);
#endif

/* This project's setters (see above): how long the transport's calls and
 * receives wait, and the sync objects that interrupt them. */
static inline void NkKosTransport_SetCallTimeout(NkKosTransport *transport, rtl_uint32_t mdelay)
{
    transport->callTimeout = mdelay;
}
static inline void NkKosTransport_SetRecvTimeout(NkKosTransport *transport, rtl_uint32_t mdelay)
{
    transport->recvTimeout = mdelay;
}
static inline void NkKosTransport_SetCallSyncHandle(NkKosTransport *transport, Handle sync)
{
    transport->callSyncHandle = sync;
}
static inline void NkKosTransport_SetRecvSyncHandle(NkKosTransport *transport, Handle sync)
{
    transport->recvSyncHandle = sync;
}

/* NkKosTransport_Init and the operations (kos_host_transport_*). */
#ifndef KOS_SHIM_HOST
#define KOS_SHIM_HOST 1
#endif
#include "../../../kos_ipc_shim.h"

#endif /* KOS_SHIM_KOS_CORESRV_NK_TRANSPORT_KOS_H */
