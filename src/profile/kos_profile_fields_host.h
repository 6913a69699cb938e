/*
 * Field map of the HOST PROFILE for the ABI profile bridge, and the template
 * for an SDK's map (KOS_SDK_PROFILE_FIELDS): copy it, keep every macro name,
 * and write each right-hand side against your SDK's <ipc/if_rend.h> and
 * <services/rtl/nk_msg.h>. Nothing here is known to hold for a real SDK.
 */
#ifndef KOS_PROFILE_FIELDS_HOST_H
#define KOS_PROFILE_FIELDS_HOST_H

/* The constant part a header is bound to (nk_message *), its bound size in
 * bytes (sent size, or receive capacity), and the arena (struct nk_arena *,
 * or NULL). */
#define KOS_PROFILE_HDR_MSG(h) ((h)->msg)
#define KOS_PROFILE_HDR_MSG_SIZE(h) ((size_t)(h)->msg_size)
#define KOS_PROFILE_HDR_ARENA(h) ((h)->arena)
/* Whether the header was bound by PackOutMsg (to send) / PackInMsg (to receive). */
#define KOS_PROFILE_HDR_IS_OUT(h) ((h)->magic == SMSGHDR_MAGIC && (h)->dir == SMSGHDR_DIR_OUT)
#define KOS_PROFILE_HDR_IS_IN(h) ((h)->magic == SMSGHDR_MAGIC && (h)->dir == SMSGHDR_DIR_IN)
/* nk_message fields. */
#define KOS_PROFILE_MSG_IID(m) ((m)->iid)
#define KOS_PROFILE_MSG_MID(m) ((m)->mid)
#define KOS_PROFILE_MSG_SIZE(m) ((m)->size)
#define KOS_PROFILE_MSG_KIND(m) ((m)->kind)
#define KOS_PROFILE_MSG_NCAPS(m) ((m)->ncaps)
/* nk_arena: [start, end) is the buffer, [start, current) in use (lvalues). */
#define KOS_PROFILE_ARENA_START(a) ((a)->start)
#define KOS_PROFILE_ARENA_CURRENT(a) ((a)->current)
#define KOS_PROFILE_ARENA_END(a) ((a)->end)
/* Limits the shim enforces on a message. */
#define KOS_PROFILE_MSG_MAX_SIZE ((size_t)NK_MSG_MAX_SIZE)
#define KOS_PROFILE_ARENA_MAX_SIZE ((size_t)NK_ARENA_MAX_SIZE)

#endif /* KOS_PROFILE_FIELDS_HOST_H */
