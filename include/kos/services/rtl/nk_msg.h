/*
 * <services/rtl/nk_msg.h> -- kos-ipc-shim's KasperskyOS CE headers (docs/abi.md).
 *
 * PackOutMsg / PackInMsg, which point an SMsgHdr at a message's constant
 * part and arena (the SDK's semantics [B]: descriptor 0 is the constant
 * part with ex.size_ex bytes, descriptor 1 the arena's buffer with its
 * used bytes when sending, its capacity when receiving), with the NK types
 * and helpers they take. Declared in kos_ipc_shim.h (host builds).
 */
#ifndef KOS_SHIM_KOS_SERVICES_RTL_NK_MSG_H
#define KOS_SHIM_KOS_SERVICES_RTL_NK_MSG_H

#include "../../coresrv/syscalls.h"
#include "../../nk/arena.h"
#include "../../nk/errno.h"
#include "../../nk/types.h"

#endif /* KOS_SHIM_KOS_SERVICES_RTL_NK_MSG_H */
