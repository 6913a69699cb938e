/*
 * <nk/types.h> -- kos-ipc-shim's KasperskyOS CE headers (docs/abi.md).
 *
 * The NK runtime's types and the message header every IPC message starts
 * with. Sources (shared/kos-abi.md): struct nk_message, nk_handle_desc_t,
 * nk_ptr_t and the id widths from DWARF of KCE 1.2 programs [D];
 * INVALID_RIID [B]. The helper names (nk_req_reset, nk_msg_set_method_id,
 * nk_msg_set_ncaps, nk_static_assert, nk_alignof, __nk_packed,
 * __nk_alignas, nk_assert, nk_unused, nk_array_size, NK_NULL, NK_TRUE,
 * NK_FALSE) are the ones NK-generated
 * code and the SDK's examples use; their bodies are this project's.
 */
#ifndef KOS_SHIM_KOS_NK_TYPES_H
#define KOS_SHIM_KOS_NK_TYPES_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "../rtl/types.h"
#include "errno.h"

/* Fixed-width types. */
typedef uint8_t nk_uint8_t;
typedef uint16_t nk_uint16_t;
typedef uint32_t nk_uint32_t;
typedef uint64_t nk_uint64_t;
typedef int8_t nk_sint8_t;
typedef int16_t nk_sint16_t;
typedef int32_t nk_sint32_t;
typedef int64_t nk_sint64_t;
typedef int8_t nk_int8_t;
typedef int16_t nk_int16_t;
typedef int32_t nk_int32_t;
typedef int64_t nk_int64_t;
typedef char nk_char_t;
typedef size_t nk_size_t;
typedef nk_uint8_t nk_bool_t;
#define NK_TRUE ((nk_bool_t)1)
#define NK_FALSE ((nk_bool_t)0)
/* NK_EOK or a negative NK_E* code (<nk/errno.h>); `int` is this project's choice. */
typedef int nk_err_t;

#define NK_UINT8_C(v) UINT8_C(v)
#define NK_UINT16_C(v) UINT16_C(v)
#define NK_UINT32_C(v) UINT32_C(v)
#define NK_UINT64_C(v) UINT64_C(v)
#define NK_SINT8_C(v) INT8_C(v)
#define NK_SINT16_C(v) INT16_C(v)
#define NK_SINT32_C(v) INT32_C(v)
#define NK_SINT64_C(v) INT64_C(v)

/* Interface (RIID) and method ids: 16-bit [D]. */
typedef nk_uint16_t nk_iid_t;
typedef nk_uint16_t nk_mid_t;

/* What ServiceLocatorGetRiid answers for an unknown endpoint [B]. */
#define INVALID_RIID ((nk_iid_t)0xFFFFu)

#ifdef __cplusplus
#define NK_NULL nullptr
#define nk_static_assert(cond, name) static_assert(cond, #name)
#define nk_alignof(type) alignof(type)
#define __nk_alignas(n) alignas(n)
#else
#define NK_NULL ((void *)0)
#define nk_static_assert(cond, name) _Static_assert(cond, #name)
#define nk_alignof(type) _Alignof(type)
#define __nk_alignas(n) _Alignas(n)
#endif
#define __nk_packed __attribute__((__packed__))
#define nk_assert(cond) assert(cond)
#define nk_unused(x) ((void)(x))
/* The number of elements of an array (not a pointer). */
#define nk_array_size(a) (sizeof(a) / sizeof((a)[0]))

/* A handle carried by a message (16 bytes [D]). */
typedef struct nk_handle_desc {
    nk_uint32_t handle;
    nk_uint32_t rights;
    nk_uint64_t badge;
} nk_handle_desc_t;

/* A reference into the arena: `size` bytes at `offset` from its start [D]. */
typedef struct nk_ptr {
    nk_uint32_t offset;
    nk_uint32_t size;
} nk_ptr_t;

/*
 * The header of a message's constant part (24 bytes, aligned to 8 [D]).
 * ex.size_ex is the size of the whole constant part, this header included;
 * ex.ncaps the number of handles it carries; ex.err marks an error response.
 * GCC and Clang put the bit-fields from bit 0 up: size_ex in bits 0..27,
 * ncaps in 28..30, err in 31 [D].
 */
typedef struct nk_message {
    nk_iid_t iid;
    nk_mid_t mid;
    struct {
        nk_uint32_t size_ex : 28;
        nk_uint32_t ncaps : 3;
        nk_uint32_t err : 1;
    } ex;
    nk_handle_desc_t self;
} nk_message;

/*
 * The message helpers. Each takes a pointer to a struct nk_message or to
 * any NK-generated request/response whose first member is `base_` (a
 * struct nk_message): the cast below reaches that first member.
 */
#define KOS_SHIM_NK_BASE(m) ((struct nk_message *)(void *)(m))
#define KOS_SHIM_NK_CBASE(m) ((const struct nk_message *)(const void *)(m))

static inline void kos_shim_nk_msg_reset(struct nk_message *m, size_t size)
{
    m->ex.size_ex = (nk_uint32_t)size;
    m->ex.ncaps = 0;
    m->ex.err = 0;
}

/* Prepare a message of this type: size_ex = sizeof(*m), ncaps and err 0.
 * Ids and parameters are left as they are. */
#define nk_req_reset(m) kos_shim_nk_msg_reset(KOS_SHIM_NK_BASE(m), sizeof(*(m)))
/* Address the message to method `mid` of the interface at RIID `riid`. */
#define nk_msg_set_method_id(m, riid, mid_)                                    \
    (KOS_SHIM_NK_BASE(m)->iid = (nk_iid_t)(riid),                              \
     KOS_SHIM_NK_BASE(m)->mid = (nk_mid_t)(mid_))
/* The number of handles the message carries. */
#define nk_msg_set_ncaps(m, n) (KOS_SHIM_NK_BASE(m)->ex.ncaps = (nk_uint32_t)(n))
/* Mark the message as an error response (1) or not (0). */
#define nk_msg_set_err(m, e) (KOS_SHIM_NK_BASE(m)->ex.err = (nk_uint32_t)((e) != 0))
/* The constant part's size in bytes. */
#define nk_msg_set_size(m, s) (KOS_SHIM_NK_BASE(m)->ex.size_ex = (nk_uint32_t)(s))
#define nk_msg_get_iid(m) (KOS_SHIM_NK_CBASE(m)->iid)
#define nk_msg_get_mid(m) (KOS_SHIM_NK_CBASE(m)->mid)
#define nk_msg_get_size(m) ((nk_uint32_t)KOS_SHIM_NK_CBASE(m)->ex.size_ex)
#define nk_msg_get_ncaps(m) ((nk_uint32_t)KOS_SHIM_NK_CBASE(m)->ex.ncaps)
#define nk_msg_get_err(m) ((nk_uint32_t)KOS_SHIM_NK_CBASE(m)->ex.err)

#endif /* KOS_SHIM_KOS_NK_TYPES_H */
