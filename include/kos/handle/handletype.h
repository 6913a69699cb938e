/*
 * <handle/handletype.h> -- kos-ipc-shim compatibility header, HOST PROFILE.
 *
 * Gives `Handle` (32-bit unsigned) and `INVALID_HANDLE` (host profile value:
 * all bits set), as the KasperskyOS SDK header of this path names them. The
 * value of INVALID_HANDLE is the host profile's, not necessarily the SDK's.
 */
#ifndef KOS_SHIM_COMPAT_HANDLE_HANDLETYPE_H
#define KOS_SHIM_COMPAT_HANDLE_HANDLETYPE_H

#ifndef KOS_SHIM_HOST
#define KOS_SHIM_HOST 1
#endif
#include "../../kos_ipc_shim.h"

#endif /* KOS_SHIM_COMPAT_HANDLE_HANDLETYPE_H */
