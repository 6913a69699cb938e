/*
 * <rtl/retcode.h> -- kos-ipc-shim's KasperskyOS CE headers (docs/abi.md).
 *
 * Retcode and the rc* codes with the SDK's values. Sources (see
 * shared/kos-abi.md and src/abi.rs): Retcode is `int` [D]; rcOk is 0 and
 * every error is 0x90000000 | n, n from the SDK's table of code names [B]
 * (KCE 1.2 binaries); the field positions of RC_GET_* [B].
 *
 * Names the public material spells out are the SDK's (rcInvalidArgument,
 * rcNotConnected, rcOutOfMemory, rcBufferTooSmall, rcIpcInterrupt, rcFail,
 * rcNoCapability, rcNotReady, rcUnimplemented, rcBufferTooLarge, rcBusy,
 * rcResourceNotFound, rcTimeout, rcSecurityDisallow, rcAlreadyExists,
 * rcHandleRevoked); the other names spell the table's descriptions in
 * this project's words. Number 0x0C is unused in the SDK's table.
 */
#ifndef KOS_SHIM_KOS_RTL_RETCODE_H
#define KOS_SHIM_KOS_RTL_RETCODE_H

typedef int Retcode;

/* The SDK's error space: bit 31 and bit 28 set, the code in bits 0..15. */
#define KOS_SHIM_RC(n) ((Retcode)(0x90000000u | (unsigned)(n)))

#define rcOk ((Retcode)0)
#define rcInvalidArgument KOS_SHIM_RC(0x01)
#define rcNotConnected KOS_SHIM_RC(0x02)
#define rcOutOfMemory KOS_SHIM_RC(0x03)
#define rcBufferTooSmall KOS_SHIM_RC(0x04)
#define rcInternalError KOS_SHIM_RC(0x05)
#define rcTransferError KOS_SHIM_RC(0x06)
#define rcReceiveError KOS_SHIM_RC(0x07)
#define rcSourceFault KOS_SHIM_RC(0x08)
#define rcTargetFault KOS_SHIM_RC(0x09)
#define rcIpcInterrupt KOS_SHIM_RC(0x0A)
#define rcRestart KOS_SHIM_RC(0x0B)
#define rcFail KOS_SHIM_RC(0x0D)
#define rcNoCapability KOS_SHIM_RC(0x0E)
#define rcNotReady KOS_SHIM_RC(0x0F)
#define rcUnimplemented KOS_SHIM_RC(0x10)
#define rcBufferTooLarge KOS_SHIM_RC(0x11)
#define rcBusy KOS_SHIM_RC(0x12)
#define rcResourceNotFound KOS_SHIM_RC(0x13)
#define rcTimeout KOS_SHIM_RC(0x14)
#define rcSecurityDisallow KOS_SHIM_RC(0x15)
#define rcFutexWouldBlock KOS_SHIM_RC(0x16)
#define rcAbort KOS_SHIM_RC(0x17)
#define rcInvalidThreadState KOS_SHIM_RC(0x18)
#define rcAlreadyExists KOS_SHIM_RC(0x19)
#define rcInvalidOperation KOS_SHIM_RC(0x1A)
#define rcHandleRevoked KOS_SHIM_RC(0x1B)
#define rcQuotaExceeded KOS_SHIM_RC(0x1C)
#define rcDeviceNotFound KOS_SHIM_RC(0x1D)
#define rcOverflow KOS_SHIM_RC(0x1E)

/* Decoding a code as the SDK does [B]. */
#define RC_GET_CODE(rc) ((unsigned)(rc) & 0xFFFFu)
#define RC_GET_FACILITY(rc) (((unsigned)(rc) >> 16) & 0x7Fu)
#define RC_GET_SPACE(rc) (((unsigned)(rc) >> 23) & 0x1Fu)
#define RC_GET_CUSTOMER(rc) (((unsigned)(rc) >> 29) & 0x1u)

#endif /* KOS_SHIM_KOS_RTL_RETCODE_H */
