/*
 * The KasperskyOS CE profile checked against an SDK's own headers.
 *
 * Compiled to assembly only (never run, so a cross compiler works): it
 * includes the SDK headers an IPC program includes and writes, for every
 * fact of kos_profile_facts.h, the SDK's value and the KCE profile's value
 * into a table, the fact names into a string, and test messages for the
 * nk_message.ex bit-field into an array. src/profile/check.rs (run by
 * build.rs) reads them and stops the build on any difference, naming the
 * fact and both values.
 *
 * An SDK version that names a field or type differently: define the
 * KOS_F_* / KOS_T_* macro in a header given as KOS_SDK_PROFILE_FIELDS
 * (included before everything here). The layout itself must not differ:
 * the shim reads headers with the KCE layout.
 */
#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>
#include <rtl/retcode.h>
#include <nk/types.h>
#include <nk/arena.h>
#include <nk/errno.h>
#include <ipc/if_rend.h>

#include <stddef.h>
#include <stdint.h>

#ifndef KOS_T_Handle
#define KOS_T_Handle Handle
#endif
#ifndef KOS_T_Tid
#define KOS_T_Tid Tid
#endif
#ifndef KOS_T_TaskId
#define KOS_T_TaskId TaskId
#endif
#ifndef KOS_T_Retcode
#define KOS_T_Retcode Retcode
#endif
#ifndef KOS_T_nk_iid_t
#define KOS_T_nk_iid_t nk_iid_t
#endif
#ifndef KOS_T_nk_mid_t
#define KOS_T_nk_mid_t nk_mid_t
#endif
#ifndef KOS_T_SMsgHdr
#define KOS_T_SMsgHdr SMsgHdr
#endif
#ifndef KOS_T_IndirDesc
#define KOS_T_IndirDesc IndirDesc
#endif
#ifndef KOS_T_nk_handle_desc_t
#define KOS_T_nk_handle_desc_t nk_handle_desc_t
#endif
#ifndef KOS_T_nk_ptr_t
#define KOS_T_nk_ptr_t nk_ptr_t
#endif
#ifndef KOS_F_replyHandle
#define KOS_F_replyHandle replyHandle
#endif
#ifndef KOS_F_sender
#define KOS_F_sender sender
#endif
#ifndef KOS_F_threadId
#define KOS_F_threadId threadId
#endif
#ifndef KOS_F_traceId
#define KOS_F_traceId traceId
#endif
#ifndef KOS_F_spanId
#define KOS_F_spanId spanId
#endif
#ifndef KOS_F_immSize
#define KOS_F_immSize immSize
#endif
#ifndef KOS_F_imm
#define KOS_F_imm imm
#endif
#ifndef KOS_F_indirDescs
#define KOS_F_indirDescs indirDescs
#endif
#ifndef KOS_F_buf
#define KOS_F_buf buf
#endif
#ifndef KOS_F_size
#define KOS_F_size size
#endif
#ifndef KOS_F_iid
#define KOS_F_iid iid
#endif
#ifndef KOS_F_mid
#define KOS_F_mid mid
#endif
#ifndef KOS_F_ex
#define KOS_F_ex ex
#endif
#ifndef KOS_F_self
#define KOS_F_self self
#endif
#ifndef KOS_F_size_ex
#define KOS_F_size_ex size_ex
#endif
#ifndef KOS_F_ncaps
#define KOS_F_ncaps ncaps
#endif
#ifndef KOS_F_err
#define KOS_F_err err
#endif
#ifndef KOS_F_handle
#define KOS_F_handle handle
#endif
#ifndef KOS_F_rights
#define KOS_F_rights rights
#endif
#ifndef KOS_F_badge
#define KOS_F_badge badge
#endif
#ifndef KOS_F_start
#define KOS_F_start start
#endif
#ifndef KOS_F_current
#define KOS_F_current current
#endif
#ifndef KOS_F_end
#define KOS_F_end end
#endif
#ifndef KOS_F_offset
#define KOS_F_offset offset
#endif
#ifndef KOS_F_ptr_size
#define KOS_F_ptr_size size
#endif

#include "kos_profile_facts.h"

#define KOS_AS_PAIR(name, sdk, kce) (int64_t)(sdk), (int64_t)(kce),
#define KOS_AS_NAME(name, ...) name "\0"

/* Frame markers, so nothing else in the assembly is taken for the table. */
const int64_t kos_profile_facts[] = {
    0x4B4F5350524F4633LL, /* "KOSPROF3" */
    KOS_PROFILE_FACTS(KOS_AS_PAIR)
    0x4B4F5350524F4634LL, /* "KOSPROF4" */
};

/* The names, in the same order: the facts', then the bit-fields'. */
const char kos_profile_fact_names[] = KOS_PROFILE_FACTS(KOS_AS_NAME)
    KOS_PROFILE_BITS(KOS_AS_NAME);

/* One test message per bit-field fact, and the word each should produce. */
typedef union kos_profile_probe {
    struct nk_message m;
    uint32_t words[sizeof(struct nk_message) / 4];
} kos_profile_probe_t;

#define KOS_AS_PROBE(name, field, ones, word) {.m = {.KOS_F_ex = {.field = ones}}},
#define KOS_AS_WORD(name, field, ones, word) (int64_t)(word),

const kos_profile_probe_t kos_profile_bit_probes[] = {KOS_PROFILE_BITS(KOS_AS_PROBE)};
const int64_t kos_profile_bit_words[] = {
    0x4B4F5350524F4635LL, /* "KOSPROF5" */
    KOS_PROFILE_BITS(KOS_AS_WORD)
    0x4B4F5350524F4636LL, /* "KOSPROF6" */
};
