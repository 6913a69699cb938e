/*
 * <coresrv/syscalls.h> -- kos-ipc-shim compatibility header, HOST PROFILE.
 *
 * Gives the IPC system calls Call, CallEx, Recv, RecvEx and Reply with the
 * KasperskyOS SDK's C signatures, plus what they need (Handle, Retcode,
 * SMsgHdr, INFINITE_TIMEOUT). Linked against libkos_ipc_shim.a they run
 * through the shim's pipeline into the host kernel emulator. Values
 * (rc codes, INVALID_HANDLE, INFINITE_TIMEOUT) are the host profile's.
 */
#ifndef KOS_SHIM_COMPAT_CORESRV_SYSCALLS_H
#define KOS_SHIM_COMPAT_CORESRV_SYSCALLS_H

#ifndef KOS_SHIM_HOST
#define KOS_SHIM_HOST 1
#endif
#include "../../kos_ipc_shim.h"
#include "../handle/handletype.h"
#include "../ipc/if_rend.h"
#include "../rtl/retcode.h"

#endif /* KOS_SHIM_COMPAT_CORESRV_SYSCALLS_H */
