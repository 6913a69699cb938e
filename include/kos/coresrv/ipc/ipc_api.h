/*
 * <coresrv/ipc/ipc_api.h> -- kos-ipc-shim compatibility header, HOST PROFILE.
 *
 * Gives the IPC synchronization objects that interrupt CallEx / RecvEx:
 * KnIpcCreateSyncObject, KnIpcSetInterrupt, KnIpcClearInterrupt (and
 * KnHandleClose to delete one), as the KasperskyOS SDK names them, served by
 * the host emulator. Handles and codes are the host profile's.
 */
#ifndef KOS_SHIM_COMPAT_CORESRV_IPC_IPC_API_H
#define KOS_SHIM_COMPAT_CORESRV_IPC_IPC_API_H

#ifndef KOS_SHIM_HOST
#define KOS_SHIM_HOST 1
#endif
#include "../../../kos_ipc_shim.h"
#include "../../handle/handletype.h"
#include "../../rtl/retcode.h"

#endif /* KOS_SHIM_COMPAT_CORESRV_IPC_IPC_API_H */
