/*
 * The KasperskyOS CE profile as a list of facts, for the build-time check
 * against an SDK's headers (src/profile/kos_profile_check.c, read by
 * src/profile/check.rs). One line per fact:
 *
 *     FACT(name, the SDK's value (an expression over its headers), KCE value)
 *
 * The KCE values and their sources are those of src/abi.rs (see
 * shared/kos-abi.md): [H] header text, [D] DWARF, [B] binaries. Layouts are
 * for the SDK's 64-bit targets.
 *
 * Field and type names go through the KOS_F_* / KOS_T_* macros of
 * kos_profile_check.c, so an SDK version that spells a name differently is
 * checked with an override header (KOS_SDK_PROFILE_FIELDS, docs/sdk-integration.md).
 */
#define KOS_PROFILE_OFF(type, field) offsetof(type, field)

#define KOS_PROFILE_FACTS(FACT)                                                \
    /* Scalar types [D]. */                                                    \
    FACT("sizeof(Handle)", sizeof(KOS_T_Handle), 4)                            \
    FACT("sizeof(Tid)", sizeof(KOS_T_Tid), 4)                                  \
    FACT("sizeof(TaskId)", sizeof(KOS_T_TaskId), 4)                            \
    FACT("sizeof(Retcode)", sizeof(KOS_T_Retcode), 4)                          \
    FACT("sizeof(nk_iid_t)", sizeof(KOS_T_nk_iid_t), 2)                        \
    FACT("sizeof(nk_mid_t)", sizeof(KOS_T_nk_mid_t), 2)                        \
    /* SMsgHdr [H], offsets and size [B]. */                                   \
    FACT("sizeof(SMsgHdr)", sizeof(KOS_T_SMsgHdr), 72)                         \
    FACT("SMsgHdr.replyHandle", KOS_PROFILE_OFF(KOS_T_SMsgHdr, KOS_F_replyHandle), 0) \
    FACT("SMsgHdr.sender", KOS_PROFILE_OFF(KOS_T_SMsgHdr, KOS_F_sender), 4)    \
    FACT("SMsgHdr.threadId", KOS_PROFILE_OFF(KOS_T_SMsgHdr, KOS_F_threadId), 8) \
    FACT("SMsgHdr.traceId", KOS_PROFILE_OFF(KOS_T_SMsgHdr, KOS_F_traceId), 16) \
    FACT("SMsgHdr.spanId", KOS_PROFILE_OFF(KOS_T_SMsgHdr, KOS_F_spanId), 24)   \
    FACT("SMsgHdr.immSize", KOS_PROFILE_OFF(KOS_T_SMsgHdr, KOS_F_immSize), 32) \
    FACT("SMsgHdr.imm", KOS_PROFILE_OFF(KOS_T_SMsgHdr, KOS_F_imm), 40)         \
    FACT("SMsgHdr.indirDescs", KOS_PROFILE_OFF(KOS_T_SMsgHdr, KOS_F_indirDescs), 40) \
    FACT("MAX_INDIR_DESCS", MAX_INDIR_DESCS, 2)                                \
    FACT("sizeof(IndirDesc)", sizeof(KOS_T_IndirDesc), 16)                     \
    FACT("IndirDesc.buf", KOS_PROFILE_OFF(KOS_T_IndirDesc, KOS_F_buf), 0)      \
    FACT("IndirDesc.size", KOS_PROFILE_OFF(KOS_T_IndirDesc, KOS_F_size), 8)    \
    /* struct nk_message and the NK types [D]. */                              \
    FACT("sizeof(nk_message)", sizeof(struct nk_message), 24)                  \
    FACT("alignof(nk_message)", _Alignof(struct nk_message), 8)                \
    FACT("nk_message.iid", KOS_PROFILE_OFF(struct nk_message, KOS_F_iid), 0)   \
    FACT("nk_message.mid", KOS_PROFILE_OFF(struct nk_message, KOS_F_mid), 2)   \
    FACT("nk_message.ex", KOS_PROFILE_OFF(struct nk_message, KOS_F_ex), 4)     \
    FACT("nk_message.self", KOS_PROFILE_OFF(struct nk_message, KOS_F_self), 8) \
    FACT("sizeof(nk_handle_desc_t)", sizeof(KOS_T_nk_handle_desc_t), 16)       \
    FACT("nk_handle_desc_t.handle", KOS_PROFILE_OFF(KOS_T_nk_handle_desc_t, KOS_F_handle), 0) \
    FACT("nk_handle_desc_t.rights", KOS_PROFILE_OFF(KOS_T_nk_handle_desc_t, KOS_F_rights), 4) \
    FACT("nk_handle_desc_t.badge", KOS_PROFILE_OFF(KOS_T_nk_handle_desc_t, KOS_F_badge), 8) \
    FACT("sizeof(nk_arena)", sizeof(struct nk_arena), 24)                      \
    FACT("nk_arena.start", KOS_PROFILE_OFF(struct nk_arena, KOS_F_start), 0)   \
    FACT("nk_arena.current", KOS_PROFILE_OFF(struct nk_arena, KOS_F_current), 8) \
    FACT("nk_arena.end", KOS_PROFILE_OFF(struct nk_arena, KOS_F_end), 16)      \
    FACT("sizeof(nk_ptr_t)", sizeof(KOS_T_nk_ptr_t), 8)                        \
    FACT("nk_ptr_t.offset", KOS_PROFILE_OFF(KOS_T_nk_ptr_t, KOS_F_offset), 0)  \
    FACT("nk_ptr_t.size", KOS_PROFILE_OFF(KOS_T_nk_ptr_t, KOS_F_ptr_size), 4)  \
    /* Handle constants [B]. */                                                \
    FACT("INVALID_HANDLE", (uint32_t)INVALID_HANDLE, 0xFFFFFFFFu)              \
    FACT("INFINITE_TIMEOUT", (uint32_t)INFINITE_TIMEOUT, 0xFFFFFFFFu)          \
    /* Return codes [B], the names the public material spells out. */          \
    FACT("rcOk", (uint32_t)rcOk, 0)                                            \
    FACT("rcInvalidArgument", (uint32_t)rcInvalidArgument, 0x90000001u)        \
    FACT("rcNotConnected", (uint32_t)rcNotConnected, 0x90000002u)              \
    FACT("rcOutOfMemory", (uint32_t)rcOutOfMemory, 0x90000003u)                \
    FACT("rcBufferTooSmall", (uint32_t)rcBufferTooSmall, 0x90000004u)          \
    FACT("rcIpcInterrupt", (uint32_t)rcIpcInterrupt, 0x9000000Au)              \
    FACT("rcFail", (uint32_t)rcFail, 0x9000000Du)                              \
    FACT("rcNoCapability", (uint32_t)rcNoCapability, 0x9000000Eu)              \
    FACT("rcNotReady", (uint32_t)rcNotReady, 0x9000000Fu)                      \
    FACT("rcUnimplemented", (uint32_t)rcUnimplemented, 0x90000010u)            \
    FACT("rcBufferTooLarge", (uint32_t)rcBufferTooLarge, 0x90000011u)          \
    FACT("rcBusy", (uint32_t)rcBusy, 0x90000012u)                              \
    FACT("rcResourceNotFound", (uint32_t)rcResourceNotFound, 0x90000013u)      \
    FACT("rcTimeout", (uint32_t)rcTimeout, 0x90000014u)                        \
    FACT("rcSecurityDisallow", (uint32_t)rcSecurityDisallow, 0x90000015u)      \
    FACT("rcAlreadyExists", (uint32_t)rcAlreadyExists, 0x90000019u)            \
    FACT("rcHandleRevoked", (uint32_t)rcHandleRevoked, 0x9000001Bu)            \
    /* NK error codes [B]. */                                                  \
    FACT("NK_EOK", NK_EOK, 0)                                                  \
    FACT("NK_EPERM", NK_EPERM, -1)                                             \
    FACT("NK_ENOENT", NK_ENOENT, -2)                                           \
    FACT("NK_EAGAIN", NK_EAGAIN, -11)                                          \
    FACT("NK_ENOMEM", NK_ENOMEM, -12)                                          \
    FACT("NK_EINVAL", NK_EINVAL, -22)                                          \
    FACT("NK_ENOTEMPTY", NK_ENOTEMPTY, -39)                                    \
    FACT("NK_ENOMSG", NK_ENOMSG, -42)                                          \
    FACT("NK_EBADMSG", NK_EBADMSG, -74)                                        \
    FACT("NK_ENOTCONN", NK_ENOTCONN, -107)

/*
 * The ex bit-field's positions [D], through test messages: each sets one
 * field to all ones and expects this 32-bit word at nk_message.ex.
 */
#define KOS_PROFILE_BITS(BIT)                                                  \
    BIT("nk_message.ex.size_ex (bits 0..27)", KOS_F_size_ex, 0x0FFFFFFFu, 0x0FFFFFFFu) \
    BIT("nk_message.ex.ncaps (bits 28..30)", KOS_F_ncaps, 0x7u, 0x70000000u)   \
    BIT("nk_message.ex.err (bit 31)", KOS_F_err, 0x1u, 0x80000000u)
