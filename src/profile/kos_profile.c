/*
 * ABI profile bridge: the only C the Rust core calls to read a message
 * header, compiled against the headers that define the ABI — a real SDK's
 * (feature sdk-profile, KOS_SDK_SYSROOT) or our host compatibility headers
 * (include/kos, for the agreement test). The Rust core then never needs
 * SMsgHdr's layout: it hands the caller's pointer here and gets ids, sizes
 * and buffer addresses back.
 *
 * Checks (each failure returns the SDK's rcInvalidArgument), the same as the
 * Rust host profile in src/msg.rs: header non-NULL and aligned, bound in the
 * right direction; constant part non-NULL, 8-aligned, between
 * sizeof(nk_message) and the maximum size; an outgoing constant part's size
 * field equals the bound size; an arena, if any, is aligned, all-NULL or
 * start <= current <= end with start non-NULL, at most the maximum size.
 */
#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>
#include <rtl/retcode.h>

#include <stddef.h>
#include <stdint.h>

#include "kos_profile_fields.h"

/* Mirrors kos_ipc_shim::msg::MsgInfo (checked from Rust: size and offsets). */
typedef struct kos_shim_profile_info {
    uint16_t iid;
    uint16_t mid;
    uint16_t kind;
    uint16_t ncaps;
    uint32_t const_size;
    uint32_t arena_size;
} kos_shim_profile_info_t;

/* Where a bound header's buffers are. */
typedef struct kos_shim_profile_buffers {
    uint8_t *msg;
    size_t msg_size;
    uint8_t *arena;
    size_t arena_used;
    size_t arena_cap;
} kos_shim_profile_buffers_t;

#define ALIGNED(p, type) (((uintptr_t)(p) % _Alignof(type)) == 0)

/* Arena in use / capacity; 0 when valid, -1 when malformed. */
static int check_arena(const struct nk_arena *a, size_t *used, size_t *cap) {
    *used = 0;
    *cap = 0;
    if (a == NULL) {
        return 0;
    }
    if (!ALIGNED(a, struct nk_arena)) {
        return -1;
    }
    uintptr_t start = (uintptr_t)KOS_PROFILE_ARENA_START(a);
    uintptr_t cur = (uintptr_t)KOS_PROFILE_ARENA_CURRENT(a);
    uintptr_t end = (uintptr_t)KOS_PROFILE_ARENA_END(a);
    if (start == 0 && cur == 0 && end == 0) {
        return 0;
    }
    if (start == 0 || cur < start || end < cur || end - start > KOS_PROFILE_ARENA_MAX_SIZE) {
        return -1;
    }
    *used = cur - start;
    *cap = end - start;
    return 0;
}

static int check_const(const nk_message *m, size_t size) {
    if (m == NULL || !ALIGNED(m, nk_message) || size < sizeof(nk_message) ||
        size > KOS_PROFILE_MSG_MAX_SIZE) {
        return -1;
    }
    return 0;
}

static void fill_info(const nk_message *m, uint32_t const_size, size_t arena_used,
                      kos_shim_profile_info_t *info) {
    info->iid = (uint16_t)KOS_PROFILE_MSG_IID(m);
    info->mid = (uint16_t)KOS_PROFILE_MSG_MID(m);
    info->kind = (uint16_t)KOS_PROFILE_MSG_KIND(m);
    info->ncaps = (uint16_t)KOS_PROFILE_MSG_NCAPS(m);
    info->const_size = const_size;
    info->arena_size = (uint32_t)arena_used;
}

/* Validate an outgoing header; on rcOk fill *info. */
Retcode kos_shim_profile_out(const SMsgHdr *h, kos_shim_profile_info_t *info);
Retcode kos_shim_profile_out(const SMsgHdr *h, kos_shim_profile_info_t *info) {
    if (h == NULL || !ALIGNED(h, SMsgHdr) || info == NULL || !KOS_PROFILE_HDR_IS_OUT(h)) {
        return rcInvalidArgument;
    }
    const nk_message *m = KOS_PROFILE_HDR_MSG(h);
    size_t size = KOS_PROFILE_HDR_MSG_SIZE(h);
    if (check_const(m, size) != 0 || (size_t)KOS_PROFILE_MSG_SIZE(m) != size) {
        return rcInvalidArgument;
    }
    size_t used, cap;
    if (check_arena(KOS_PROFILE_HDR_ARENA(h), &used, &cap) != 0) {
        return rcInvalidArgument;
    }
    fill_info(m, (uint32_t)KOS_PROFILE_MSG_SIZE(m), used, info);
    return rcOk;
}

/* Validate a receive header. */
Retcode kos_shim_profile_in(const SMsgHdr *h);
Retcode kos_shim_profile_in(const SMsgHdr *h) {
    if (h == NULL || !ALIGNED(h, SMsgHdr) || !KOS_PROFILE_HDR_IS_IN(h)) {
        return rcInvalidArgument;
    }
    size_t used, cap;
    if (check_const(KOS_PROFILE_HDR_MSG(h), KOS_PROFILE_HDR_MSG_SIZE(h)) != 0 ||
        check_arena(KOS_PROFILE_HDR_ARENA(h), &used, &cap) != 0) {
        return rcInvalidArgument;
    }
    return rcOk;
}

/* Ids and sizes of what a validated receive header's buffers now hold. */
void kos_shim_profile_in_info(const SMsgHdr *h, kos_shim_profile_info_t *info);
void kos_shim_profile_in_info(const SMsgHdr *h, kos_shim_profile_info_t *info) {
    const nk_message *m = KOS_PROFILE_HDR_MSG(h);
    size_t cap = KOS_PROFILE_HDR_MSG_SIZE(h);
    size_t size = (size_t)KOS_PROFILE_MSG_SIZE(m);
    size_t used = 0, arena_cap = 0;
    if (check_arena(KOS_PROFILE_HDR_ARENA(h), &used, &arena_cap) != 0) {
        used = 0;
    }
    fill_info(m, (uint32_t)(size < cap ? size : cap), used, info);
}

/* Buffer addresses and sizes of a validated header. */
void kos_shim_profile_buffers(const SMsgHdr *h, kos_shim_profile_buffers_t *b);
void kos_shim_profile_buffers(const SMsgHdr *h, kos_shim_profile_buffers_t *b) {
    const struct nk_arena *a = KOS_PROFILE_HDR_ARENA(h);
    size_t used = 0, cap = 0;
    if (check_arena(a, &used, &cap) != 0) {
        used = cap = 0;
    }
    b->msg = (uint8_t *)KOS_PROFILE_HDR_MSG(h);
    b->msg_size = KOS_PROFILE_HDR_MSG_SIZE(h);
    b->arena = cap == 0 ? NULL : (uint8_t *)KOS_PROFILE_ARENA_START(a);
    b->arena_used = used;
    b->arena_cap = cap;
}

/* After arena bytes were written at the arena's start: mark `used` in use. */
void kos_shim_profile_set_arena_used(SMsgHdr *h, size_t used);
void kos_shim_profile_set_arena_used(SMsgHdr *h, size_t used) {
    struct nk_arena *a = KOS_PROFILE_HDR_ARENA(h);
    if (a != NULL && KOS_PROFILE_ARENA_START(a) != NULL) {
        KOS_PROFILE_ARENA_CURRENT(a) = KOS_PROFILE_ARENA_START(a) + used;
    }
}

/* Layout facts of the profile, for the Rust side's checks. */
size_t kos_shim_profile_info_size(void);
size_t kos_shim_profile_info_size(void) { return sizeof(kos_shim_profile_info_t); }
