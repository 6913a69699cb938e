/*
 * <handle/handletype.h> -- kos-ipc-shim's KasperskyOS CE headers (docs/abi.md).
 *
 * Handle (32-bit unsigned [D]) and INVALID_HANDLE (all bits set [B]).
 */
#ifndef KOS_SHIM_KOS_HANDLE_HANDLETYPE_H
#define KOS_SHIM_KOS_HANDLE_HANDLETYPE_H

#include "../rtl/types.h"

typedef rtl_uint32_t Handle;

#define INVALID_HANDLE ((Handle)0xFFFFFFFFu)

#endif /* KOS_SHIM_KOS_HANDLE_HANDLETYPE_H */
