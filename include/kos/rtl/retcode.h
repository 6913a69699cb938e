/*
 * <rtl/retcode.h> -- kos-ipc-shim compatibility header, HOST PROFILE.
 *
 * The KasperskyOS SDK header of this path defines Retcode, the rc* codes and
 * MAKE_RETCODE / RC_GET_CODE. This one gives the same names with the host
 * profile's values (from include/kos_ipc_shim.h), so C code written for the
 * SDK compiles on Linux with `-Iinclude/kos` and runs against the host
 * emulator. The numbers are NOT the SDK's: the public SDK material does not
 * fix the bit layout or the values.
 *
 * Host profile layout of a Retcode (signed 32-bit, rcOk == 0):
 *   bits 28..30 customer (3 bits), 24..27 space, 16..23 facility, 0..15 code;
 *   `desc` is documentation only and takes no bits.
 */
#ifndef KOS_SHIM_COMPAT_RTL_RETCODE_H
#define KOS_SHIM_COMPAT_RTL_RETCODE_H

/* The compatibility headers are the host profile: declare its exports too. */
#ifndef KOS_SHIM_HOST
#define KOS_SHIM_HOST 1
#endif
#include "../../kos_ipc_shim.h"

/* Compose a return code (host profile layout; mirrors abi::make_retcode). */
#define MAKE_RETCODE(customer, space, facility, code, desc)                    \
    ((Retcode)((((uint32_t)(customer) & 0x7u) << 28) |                        \
               (((uint32_t)(space) & 0xFu) << 24) |                           \
               (((uint32_t)(facility) & 0xFFu) << 16) |                       \
               ((uint32_t)(code) & 0xFFFFu)))

/* The code field of a return code (mirrors abi::rc_get_code). */
#define RC_GET_CODE(rc) ((uint32_t)(rc) & 0xFFFFu)

#endif /* KOS_SHIM_COMPAT_RTL_RETCODE_H */
