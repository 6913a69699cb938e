/*
 * <nk/errno.h> -- kos-ipc-shim's KasperskyOS CE headers (docs/abi.md).
 *
 * The NK runtime's error codes, values from KCE 1.2 binaries [B]; nk_err_t
 * is in <nk/types.h>.
 */
#ifndef KOS_SHIM_KOS_NK_ERRNO_H
#define KOS_SHIM_KOS_NK_ERRNO_H

#define NK_EOK 0
#define NK_EPERM (-1)
#define NK_ENOENT (-2)
#define NK_EAGAIN (-11)
#define NK_ENOMEM (-12)
#define NK_EINVAL (-22)
#define NK_ENOTEMPTY (-39)
#define NK_ENOMSG (-42)
#define NK_EBADMSG (-74)
#define NK_ENOTCONN (-107)

#endif /* KOS_SHIM_KOS_NK_ERRNO_H */
