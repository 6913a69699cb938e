/*
 * <services/rtl/nk_msg.h> -- kos-ipc-shim compatibility header, HOST PROFILE.
 *
 * Gives the NK message types (`nk_message`, `nk_ptr_t`, `nk_arena`,
 * NK_MSG_KIND_*), PackOutMsg / PackInMsg and the arena helpers
 * (nk_arena_init, nk_arena_reset, nk_arena_store, nk_arena_get), as the
 * KasperskyOS SDK header of this path names them. Field order and sizes are
 * the host profile's: nk_message is 24 bytes, aligned to 8.
 */
#ifndef KOS_SHIM_COMPAT_SERVICES_RTL_NK_MSG_H
#define KOS_SHIM_COMPAT_SERVICES_RTL_NK_MSG_H

#ifndef KOS_SHIM_HOST
#define KOS_SHIM_HOST 1
#endif
#include "../../../kos_ipc_shim.h"
#include "../../ipc/if_rend.h"
#include "../../rtl/retcode.h"

#endif /* KOS_SHIM_COMPAT_SERVICES_RTL_NK_MSG_H */
