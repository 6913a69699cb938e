/*
 * store/Client.edl.h -- written by hand for examples/solutions/store, in the
 * shape nk-gen-c gives the header of an entity (as ctests/nkgen/echo/
 * Server.edl.h). Source: idl/store/Client.edl:
 *
 *     task class store.Client
 *
 * The client serves no endpoint: its header holds the endpoint counts
 * (none) and no dispatcher. What it calls is described by the server's
 * interface header (store/Api.idl.h: the proxy) and found at run time:
 * ServiceLocatorConnect for the handle, ServiceLocatorGetRiid for the RIID.
 */
#pragma GCC diagnostic push
#include <nk/transport.h>
#include <nk/types.h>

/* ==== COMPONENT_ENDPOINTS =============================================== */
#ifndef __store__Client__COMPONENT_ENDPOINTS__
#define __store__Client__COMPONENT_ENDPOINTS__

enum {
    store_Client_iidMax,
};
enum {
    store_Client_iidOffset = 0,
};
enum {
    store_Client_securityIidMax,
};

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Client_iidMax store_Client_iidMax
#define Client_iidOffset store_Client_iidOffset
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __store__Client__COMPONENT_ENDPOINTS__ */

#pragma GCC diagnostic pop
