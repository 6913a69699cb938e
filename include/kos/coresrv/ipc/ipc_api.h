/*
 * <coresrv/ipc/ipc_api.h> -- kos-ipc-shim's KasperskyOS CE headers (docs/abi.md).
 *
 * The IPC synchronization objects that interrupt CallEx / RecvEx, as the
 * SDK names them: KnIpcCreateSyncObject, KnIpcSetInterrupt,
 * KnIpcClearInterrupt (and KnHandleClose to delete one), served by the host
 * emulator and declared in kos_ipc_shim.h.
 */
#ifndef KOS_SHIM_KOS_CORESRV_IPC_IPC_API_H
#define KOS_SHIM_KOS_CORESRV_IPC_IPC_API_H

#include "../syscalls.h"

#endif /* KOS_SHIM_KOS_CORESRV_IPC_IPC_API_H */
