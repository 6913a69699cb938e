/*
 * <coresrv/sl/sl_api.h>: the service locator, as KasperskyOS components
 * call it (shared/kos-abi.md, "Ids and generated names"). A server takes
 * its end of a connection from init.yaml with
 * ServiceLocatorRegister("conn", NULL, 0, &id), a client its end with
 * ServiceLocatorConnect("conn"), and the RIID to put in its requests with
 * ServiceLocatorGetRiid(handle, "Entity.endpoint").
 *
 * The SDK's declarations of Register's second and third arguments are not
 * public; programs pass NULL, 0 as the public examples do. In host builds
 * the emulator implements the three (src/host/locator.rs); on KasperskyOS
 * the SDK's libkos does, and the shim's optional wrappers
 * (src/locator_wrap.c) learn names from what it answers.
 */
#ifndef KOS_SHIM_KOS_CORESRV_SL_SL_API_H
#define KOS_SHIM_KOS_CORESRV_SL_SL_API_H

#include <coresrv/syscalls.h>
#include <nk/types.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef rtl_uint32_t ServiceId;

/* The server end of `connection` (INVALID_HANDLE when unknown or taken);
 * *id, if not NULL, gets the service's number. */
Handle ServiceLocatorRegister(const char *connection, const void *services, rtl_size_t count,
                              ServiceId *id);
/* The client end of `connection` (INVALID_HANDLE when unknown). */
Handle ServiceLocatorConnect(const char *connection);
/* The RIID of "Entity.endpoint" for requests on a client handle
 * (INVALID_RIID when unknown). */
nk_iid_t ServiceLocatorGetRiid(Handle handle, const char *endpoint);

#ifdef __cplusplus
}
#endif

#endif
