/*
 * <rtl/types.h> -- kos-ipc-shim's KasperskyOS CE headers (docs/abi.md).
 *
 * The runtime library's fixed-width types (rtl_uint32_t, rtl_size_t, ...)
 * and RTL_NULL, which the other SDK-path headers here use. The rtl_* names
 * are the SDK's; which SDK header defines them is not public, so this file
 * is where this project puts them.
 */
#ifndef KOS_SHIM_KOS_RTL_TYPES_H
#define KOS_SHIM_KOS_RTL_TYPES_H

#include <stddef.h>
#include <stdint.h>

typedef uint8_t rtl_uint8_t;
typedef uint16_t rtl_uint16_t;
typedef uint32_t rtl_uint32_t;
typedef uint64_t rtl_uint64_t;
typedef int8_t rtl_int8_t;
typedef int16_t rtl_int16_t;
typedef int32_t rtl_int32_t;
typedef int64_t rtl_int64_t;
typedef size_t rtl_size_t;
typedef char rtl_char_t;
typedef int rtl_bool;

#ifndef RTL_NULL
#ifdef __cplusplus
#define RTL_NULL nullptr
#else
#define RTL_NULL ((void *)0)
#endif
#endif

#ifndef rtl_true
#define rtl_true 1
#define rtl_false 0
#endif

#endif /* KOS_SHIM_KOS_RTL_TYPES_H */
