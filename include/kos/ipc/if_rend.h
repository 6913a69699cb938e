/*
 * <ipc/if_rend.h> -- kos-ipc-shim compatibility header, HOST PROFILE.
 *
 * Gives `SMsgHdr`, the message header the IPC system calls take, as the
 * KasperskyOS SDK header of this path does. Its fields are the host
 * profile's (the SDK's are not public): treat it as opaque and bind it with
 * PackOutMsg / PackInMsg (<services/rtl/nk_msg.h>).
 */
#ifndef KOS_SHIM_COMPAT_IPC_IF_REND_H
#define KOS_SHIM_COMPAT_IPC_IF_REND_H

#ifndef KOS_SHIM_HOST
#define KOS_SHIM_HOST 1
#endif
#include "../../kos_ipc_shim.h"

#endif /* KOS_SHIM_COMPAT_IPC_IF_REND_H */
