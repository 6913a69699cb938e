/*
 * <rtl/stdio.h> -- kos-ipc-shim's KasperskyOS CE headers (docs/abi.md).
 *
 * The runtime library's printing functions, as the SDK's examples call
 * them; on Linux they are the C library's.
 */
#ifndef KOS_SHIM_KOS_RTL_STDIO_H
#define KOS_SHIM_KOS_RTL_STDIO_H

#include <stdio.h>

#define rtl_printf printf
#define rtl_snprintf snprintf
#define rtl_vsnprintf vsnprintf
#define rtl_fprintf fprintf

#endif /* KOS_SHIM_KOS_RTL_STDIO_H */
