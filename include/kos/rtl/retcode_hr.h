/*
 * <rtl/retcode_hr.h> -- kos-ipc-shim's KasperskyOS CE headers (docs/abi.md).
 *
 * Printing a Retcode the way the SDK's examples do:
 *     rtl_printf("failed: " RETCODE_HR_FMT "\n", RETCODE_HR_PARAMS(rc));
 * The macro names are the SDK's; the text they produce ("rcTimeout
 * (0x90000014)") is this project's.
 */
#ifndef KOS_SHIM_KOS_RTL_RETCODE_HR_H
#define KOS_SHIM_KOS_RTL_RETCODE_HR_H

#include "retcode.h"

/* The name of a code from the SDK's table, or "unknown". */
static inline const char *kos_shim_retcode_hr_name(Retcode rc)
{
    static const char *const names[] = {
        "rcOk", "rcInvalidArgument", "rcNotConnected", "rcOutOfMemory",
        "rcBufferTooSmall", "rcInternalError", "rcTransferError",
        "rcReceiveError", "rcSourceFault", "rcTargetFault", "rcIpcInterrupt",
        "rcRestart", "", "rcFail", "rcNoCapability", "rcNotReady",
        "rcUnimplemented", "rcBufferTooLarge", "rcBusy", "rcResourceNotFound",
        "rcTimeout", "rcSecurityDisallow", "rcFutexWouldBlock", "rcAbort",
        "rcInvalidThreadState", "rcAlreadyExists", "rcInvalidOperation",
        "rcHandleRevoked", "rcQuotaExceeded", "rcDeviceNotFound", "rcOverflow",
    };
    unsigned n = (unsigned)rc & ~0x90000000u;
    if (rc == rcOk)
        return names[0];
    if (((unsigned)rc & 0xF0000000u) != 0x90000000u || n == 0 || n == 0x0C ||
        n >= sizeof(names) / sizeof(names[0]))
        return "unknown";
    return names[n];
}

#define RETCODE_HR_FMT "%s (0x%08x)"
#define RETCODE_HR_PARAMS(rc) kos_shim_retcode_hr_name(rc), (unsigned)(rc)

#endif /* KOS_SHIM_KOS_RTL_RETCODE_HR_H */
