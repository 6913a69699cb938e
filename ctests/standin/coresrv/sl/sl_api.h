/*
 * A stand-in for the SDK's <coresrv/sl/sl_api.h>, for the interposition
 * tests only (never installed): the three service locator functions as
 * public KasperskyOS programs call them, implemented by the stand-in libkos
 * (ctests/standin/libkos_standin.c). The SDK's own declarations of the
 * second and third arguments of ServiceLocatorRegister are not public; the
 * programs here pass NULL, 0 as public examples do, and the shim passes
 * both on untouched whatever their types.
 */
#ifndef KOS_SHIM_STANDIN_SL_API_H
#define KOS_SHIM_STANDIN_SL_API_H

#include <coresrv/syscalls.h>
#include <nk/types.h>

typedef rtl_uint32_t ServiceId;

/* The server end of `connection` (INVALID_HANDLE when unknown); *id, if
 * not NULL, gets the service's number. */
Handle ServiceLocatorRegister(const char *connection, const void *services, rtl_size_t count,
                              ServiceId *id);
/* The client end of `connection` (INVALID_HANDLE when unknown). */
Handle ServiceLocatorConnect(const char *connection);
/* The RIID of "Entity.endpoint" on a client handle (INVALID_RIID when unknown). */
nk_iid_t ServiceLocatorGetRiid(Handle handle, const char *endpoint);

#endif
