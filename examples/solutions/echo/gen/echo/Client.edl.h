/*
 * echo/Client.edl.h -- written by hand for examples/solutions/echo, in the
 * shape nk-gen-c gives the header of an entity (as ctests/nkgen/echo/
 * Server.edl.h). Source: idl/echo/Client.edl:
 *
 *     task class echo.Client
 *
 * The client serves no endpoint: its header holds the endpoint counts
 * (none) and no dispatcher. What it calls is described by the server's
 * interface header (echo/Echo.idl.h: the proxy) and found at run time:
 * ServiceLocatorConnect for the handle, ServiceLocatorGetRiid for the RIID.
 */
#pragma GCC diagnostic push
#include <nk/transport.h>
#include <nk/types.h>

/* ==== COMPONENT_ENDPOINTS =============================================== */
#ifndef __echo__Client__COMPONENT_ENDPOINTS__
#define __echo__Client__COMPONENT_ENDPOINTS__

enum {
    echo_Client_iidMax,
};
enum {
    echo_Client_iidOffset = 0,
};
enum {
    echo_Client_securityIidMax,
};

#ifdef NK_USE_UNQUALIFIED_NAMES
#define Client_iidMax echo_Client_iidMax
#define Client_iidOffset echo_Client_iidOffset
#endif /* NK_USE_UNQUALIFIED_NAMES */

#endif /* __echo__Client__COMPONENT_ENDPOINTS__ */

#pragma GCC diagnostic pop
