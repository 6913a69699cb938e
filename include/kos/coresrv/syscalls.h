/*
 * <coresrv/syscalls.h> -- kos-ipc-shim's KasperskyOS CE headers (docs/abi.md).
 *
 * The IPC system calls Call, CallEx, Recv, RecvEx and Reply with the SDK's
 * C signatures [H], and what they need: Handle, Retcode, SMsgHdr and
 * INFINITE_TIMEOUT (all bits set [B]). Linked against libkos_ipc_shim.a
 * they run through the shim's pipeline into the host kernel emulator; their
 * declarations are in kos_ipc_shim.h, generated from the library's source.
 */
#ifndef KOS_SHIM_KOS_CORESRV_SYSCALLS_H
#define KOS_SHIM_KOS_CORESRV_SYSCALLS_H

#include "../handle/handletype.h"
#include "../ipc/if_rend.h"
#include "../rtl/retcode.h"
#include "../rtl/types.h"

#define INFINITE_TIMEOUT ((rtl_uint32_t)0xFFFFFFFFu)

#ifndef KOS_SHIM_HOST
#define KOS_SHIM_HOST 1
#endif
#include "../nk/arena.h"
#include "../../kos_ipc_shim.h"

#endif /* KOS_SHIM_KOS_CORESRV_SYSCALLS_H */
