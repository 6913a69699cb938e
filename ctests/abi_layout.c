/*
 * abi_layout: the SDK-path headers under include/kos have the KasperskyOS CE
 * layout and values that shared/kos-abi.md lists (and src/abi.rs mirrors).
 *
 * Every fact is checked twice: by a static assertion (the build fails on a
 * difference) and at run time on real objects (field addresses, the raw
 * 32-bit word behind nk_message.ex after each bit-field is set, the values
 * as the program sees them). Then PackOutMsg / PackInMsg: the descriptors
 * they fill (0: the constant part with ex.size_ex; 1: the arena's start
 * with its used bytes when sending, its capacity when receiving, NULL/0
 * without an arena) and the input they refuse with rcInvalidArgument. Last,
 * the five calls refuse NULL headers before any backend is reached (so the
 * link line and the exports work).
 *
 * Sources of the facts (see shared/kos-abi.md): SMsgHdr [H] with sizes [B];
 * nk_message, nk_handle_desc_t, nk_arena, nk_ptr_t [D]; rc values, NK_E*,
 * INVALID_* and INFINITE_TIMEOUT [B]; PackOutMsg/PackInMsg semantics [B].
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <coresrv/ipc/ipc_api.h>
#include <coresrv/syscalls.h>
#include <handle/handletype.h>
#include <ipc/if_rend.h>
#include <nk/arena.h>
#include <nk/errno.h>
#include <nk/types.h>
#include <rtl/retcode.h>
#include <rtl/retcode_hr.h>
#include <services/rtl/nk_msg.h>

#include "check.h"

/* The shim's own bounds (kos_ipc_shim.h, from src/msg.rs): this project's
 * choice, not the SDK's; the SDK headers name neither. */
#define SHIM_MSG_MAX ((unsigned)KOS_SHIM_MSG_MAX_SIZE)
#define SHIM_ARENA_MAX ((unsigned)KOS_SHIM_ARENA_MAX_SIZE)
_Static_assert(SHIM_MSG_MAX == 64u * 1024u, "KOS_SHIM_MSG_MAX_SIZE");
_Static_assert(SHIM_ARENA_MAX == 16u * 1024u * 1024u, "KOS_SHIM_ARENA_MAX_SIZE");

/* ---- sizes, alignments and offsets --------------------------------------- */

/* One row per fact: what, the value the program sees, the expected value. */
#define LAYOUT_TABLE(X)                                                        \
    X(sizeof(void *), 8)                                                       \
    X(sizeof(Handle), 4)                                                       \
    X(sizeof(Retcode), 4)                                                      \
    X(sizeof(Tid), 4)                                                          \
    X(sizeof(TaskId), 4)                                                       \
    X(sizeof(nk_iid_t), 2)                                                     \
    X(sizeof(nk_mid_t), 2)                                                     \
    X(sizeof(SMsgHdr), 72)                                                     \
    X(_Alignof(SMsgHdr), 8)                                                    \
    X(offsetof(SMsgHdr, replyHandle), 0)                                       \
    X(offsetof(SMsgHdr, sender), 4)                                            \
    X(offsetof(SMsgHdr, threadId), 8)                                          \
    X(offsetof(SMsgHdr, traceId), 16)                                          \
    X(offsetof(SMsgHdr, spanId), 24)                                           \
    X(offsetof(SMsgHdr, immSize), 32)                                          \
    X(offsetof(SMsgHdr, imm), 40)                                              \
    X(offsetof(SMsgHdr, indirDescs), 40)                                       \
    X(offsetof(SMsgHdr, indirDescs[1]), 56)                                    \
    X(sizeof(((SMsgHdr *)0)->indirDescs), 32)                                  \
    X(sizeof(IndirDesc), 16)                                                   \
    X(offsetof(IndirDesc, buf), 0)                                             \
    X(offsetof(IndirDesc, size), 8)                                            \
    X(sizeof(SMsgImm), 4)                                                      \
    X(sizeof(nk_message), 24)                                                  \
    X(_Alignof(nk_message), 8)                                                 \
    X(offsetof(nk_message, iid), 0)                                            \
    X(offsetof(nk_message, mid), 2)                                            \
    X(offsetof(nk_message, ex), 4)                                             \
    X(sizeof(((nk_message *)0)->ex), 4)                                        \
    X(offsetof(nk_message, self), 8)                                           \
    X(sizeof(nk_handle_desc_t), 16)                                            \
    X(offsetof(nk_handle_desc_t, handle), 0)                                   \
    X(offsetof(nk_handle_desc_t, rights), 4)                                   \
    X(offsetof(nk_handle_desc_t, badge), 8)                                    \
    X(sizeof(nk_arena), 24)                                                    \
    X(offsetof(nk_arena, start), 0)                                            \
    X(offsetof(nk_arena, current), 8)                                          \
    X(offsetof(nk_arena, end), 16)                                             \
    X(sizeof(nk_ptr_t), 8)                                                     \
    X(_Alignof(nk_ptr_t), 4)                                                   \
    X(offsetof(nk_ptr_t, offset), 0)                                           \
    X(offsetof(nk_ptr_t, size), 4)

#define STATIC_LAYOUT(what, want) _Static_assert((what) == (want), #what " == " #want);
LAYOUT_TABLE(STATIC_LAYOUT)

/* The same offsets measured on objects at run time. */
#define FIELD_AT(obj, field) ((size_t)((const char *)&(obj).field - (const char *)&(obj)))

static unsigned facts;

#define FACT_EQ(want, got)                                                     \
    do {                                                                       \
        CHECK_EQ((want), (got));                                               \
        facts++;                                                               \
    } while (0)

static void layouts(void)
{
#define RUN_LAYOUT(what, want) FACT_EQ((want), (what));
    LAYOUT_TABLE(RUN_LAYOUT)

    SMsgHdr h;
    FACT_EQ(0, FIELD_AT(h, replyHandle));
    FACT_EQ(4, FIELD_AT(h, sender));
    FACT_EQ(8, FIELD_AT(h, threadId));
    FACT_EQ(16, FIELD_AT(h, traceId));
    FACT_EQ(24, FIELD_AT(h, spanId));
    FACT_EQ(32, FIELD_AT(h, immSize));
    FACT_EQ(40, FIELD_AT(h, imm.payload));
    FACT_EQ(40, FIELD_AT(h, indirDescs[0].buf));
    FACT_EQ(48, FIELD_AT(h, indirDescs[0].size));
    FACT_EQ(56, FIELD_AT(h, indirDescs[1].buf));
    FACT_EQ(64, FIELD_AT(h, indirDescs[1].size));
    FACT_EQ(2, sizeof h.indirDescs / sizeof h.indirDescs[0]);

    nk_message m;
    FACT_EQ(0, FIELD_AT(m, iid));
    FACT_EQ(2, FIELD_AT(m, mid));
    FACT_EQ(4, FIELD_AT(m, ex));
    FACT_EQ(8, FIELD_AT(m, self.handle));
    FACT_EQ(12, FIELD_AT(m, self.rights));
    FACT_EQ(16, FIELD_AT(m, self.badge));

    nk_arena a;
    FACT_EQ(0, FIELD_AT(a, start));
    FACT_EQ(8, FIELD_AT(a, current));
    FACT_EQ(16, FIELD_AT(a, end));

    nk_ptr_t p;
    FACT_EQ(0, FIELD_AT(p, offset));
    FACT_EQ(4, FIELD_AT(p, size));
}

/* ---- nk_message.ex: size_ex bits 0..27, ncaps 28..30, err 31 ---------------- */

/* The 32-bit word behind ex, read as bytes (the bit-field's storage unit). */
static uint32_t ex_word(const nk_message *m)
{
    uint32_t w;
    memcpy(&w, (const char *)m + offsetof(nk_message, ex), sizeof w);
    return w;
}

static void set_ex_word(nk_message *m, uint32_t w)
{
    memcpy((char *)m + offsetof(nk_message, ex), &w, sizeof w);
}

static void ex_bits(void)
{
    nk_message m;

    /* Each field alone, set through the bit-field, at its maximum. */
    memset(&m, 0, sizeof m);
    m.ex.size_ex = 0x0FFFFFFFu;
    FACT_EQ(0x0FFFFFFFu, ex_word(&m));
    memset(&m, 0, sizeof m);
    m.ex.ncaps = 7;
    FACT_EQ(0x70000000u, ex_word(&m));
    memset(&m, 0, sizeof m);
    m.ex.err = 1;
    FACT_EQ(0x80000000u, ex_word(&m));
    /* The lowest bit of each field. */
    memset(&m, 0, sizeof m);
    m.ex.size_ex = 1;
    FACT_EQ(0x00000001u, ex_word(&m));
    memset(&m, 0, sizeof m);
    m.ex.ncaps = 1;
    FACT_EQ(0x10000000u, ex_word(&m));

    /* The same through the NK helpers; ids land in the first two halves. */
    memset(&m, 0, sizeof m);
    nk_req_reset(&m);
    FACT_EQ(sizeof m, ex_word(&m));
    nk_msg_set_ncaps(&m, 3);
    FACT_EQ(0x30000000u | sizeof m, ex_word(&m));
    nk_msg_set_err(&m, 1);
    FACT_EQ(0xB0000000u | sizeof m, ex_word(&m));
    nk_msg_set_err(&m, 0);
    nk_msg_set_ncaps(&m, 0);
    FACT_EQ(sizeof m, ex_word(&m));
    nk_msg_set_method_id(&m, 0x1234, 0xABCD);
    uint16_t ids[2];
    memcpy(ids, &m, sizeof ids);
    FACT_EQ(0x1234, ids[0]);
    FACT_EQ(0xABCD, ids[1]);
    FACT_EQ(sizeof m, ex_word(&m)); /* ids do not touch ex */

    /* A raw word read back through the getters. */
    set_ex_word(&m, 0xD0000123u);
    FACT_EQ(0x123, nk_msg_get_size(&m));
    FACT_EQ(5, nk_msg_get_ncaps(&m));
    FACT_EQ(1, nk_msg_get_err(&m));
    set_ex_word(&m, 0x6FFFFFFFu);
    FACT_EQ(0x0FFFFFFF, nk_msg_get_size(&m));
    FACT_EQ(6, nk_msg_get_ncaps(&m));
    FACT_EQ(0, nk_msg_get_err(&m));
    /* nk_req_reset sets the size and clears ncaps and err, keeps the ids. */
    nk_req_reset(&m);
    FACT_EQ(sizeof m, ex_word(&m));
    FACT_EQ(0x1234, nk_msg_get_iid(&m));
    FACT_EQ(0xABCD, nk_msg_get_mid(&m));

    /* On an NK-generated struct, nk_req_reset takes the whole struct's size. */
    struct __nk_packed req_t {
        __nk_alignas(8) struct nk_message base_;
        __nk_alignas(4) nk_ptr_t value;
    } req;
    _Static_assert(sizeof(struct req_t) == 32, "generated request layout");
    memset(&req, 0, sizeof req);
    nk_req_reset(&req);
    FACT_EQ(32, ex_word(&req.base_));
}

/* ---- values -------------------------------------------------------------- */

/* Every code of the SDK's table: name, value, number. */
#define RC_TABLE(X)                                                            \
    X(rcOk, 0x00000000u)                                                       \
    X(rcInvalidArgument, 0x90000001u)                                          \
    X(rcNotConnected, 0x90000002u)                                             \
    X(rcOutOfMemory, 0x90000003u)                                              \
    X(rcBufferTooSmall, 0x90000004u)                                           \
    X(rcInternalError, 0x90000005u)                                            \
    X(rcTransferError, 0x90000006u)                                            \
    X(rcReceiveError, 0x90000007u)                                             \
    X(rcSourceFault, 0x90000008u)                                              \
    X(rcTargetFault, 0x90000009u)                                              \
    X(rcIpcInterrupt, 0x9000000Au)                                             \
    X(rcRestart, 0x9000000Bu)                                                  \
    X(rcFail, 0x9000000Du)                                                     \
    X(rcNoCapability, 0x9000000Eu)                                             \
    X(rcNotReady, 0x9000000Fu)                                                 \
    X(rcUnimplemented, 0x90000010u)                                            \
    X(rcBufferTooLarge, 0x90000011u)                                           \
    X(rcBusy, 0x90000012u)                                                     \
    X(rcResourceNotFound, 0x90000013u)                                         \
    X(rcTimeout, 0x90000014u)                                                  \
    X(rcSecurityDisallow, 0x90000015u)                                         \
    X(rcFutexWouldBlock, 0x90000016u)                                          \
    X(rcAbort, 0x90000017u)                                                    \
    X(rcInvalidThreadState, 0x90000018u)                                       \
    X(rcAlreadyExists, 0x90000019u)                                            \
    X(rcInvalidOperation, 0x9000001Au)                                         \
    X(rcHandleRevoked, 0x9000001Bu)                                            \
    X(rcQuotaExceeded, 0x9000001Cu)                                            \
    X(rcDeviceNotFound, 0x9000001Du)                                           \
    X(rcOverflow, 0x9000001Eu)

#define STATIC_RC(name, value)                                                 \
    _Static_assert((unsigned)(name) == (value), #name " == " #value);          \
    _Static_assert(RC_GET_CODE(name) == ((value) & 0xFFFFu), "code of " #name);
RC_TABLE(STATIC_RC)

_Static_assert(sizeof(Retcode) == sizeof(int) && (Retcode)-1 < 0, "Retcode is int");
_Static_assert(rcOk == 0, "rcOk is 0");
/* The field positions RC_GET_* decode: code 0..15, facility 16..22,
 * space 23..27, customer 29. */
_Static_assert(RC_GET_CODE(0xFFFFFFFFu) == 0xFFFFu, "code width");
_Static_assert(RC_GET_CODE(0x00010000u) == 0, "code ends at bit 15");
_Static_assert(RC_GET_FACILITY(0x007F0000u) == 0x7Fu, "facility bits 16..22");
_Static_assert(RC_GET_FACILITY(0x00800000u) == 0, "facility ends at bit 22");
_Static_assert(RC_GET_SPACE(0x0F800000u) == 0x1Fu, "space bits 23..27");
_Static_assert(RC_GET_SPACE(0x10000000u) == 0, "space ends at bit 27");
_Static_assert(RC_GET_CUSTOMER(0x20000000u) == 1, "customer bit 29");
_Static_assert(RC_GET_CUSTOMER(0xDFFFFFFFu) == 0, "customer is bit 29 only");

#define VALUE_TABLE(X)                                                         \
    X((uint32_t)INVALID_HANDLE, 0xFFFFFFFFu)                                   \
    X((uint32_t)INFINITE_TIMEOUT, 0xFFFFFFFFu)                                 \
    X((uint32_t)INVALID_RIID, 0xFFFFu)                                         \
    X(sizeof(INVALID_RIID), 2)                                                 \
    X(MAX_INDIR_DESCS, 2)                                                      \
    X(NK_EOK, 0)                                                               \
    X(NK_EPERM, -1)                                                            \
    X(NK_ENOENT, -2)                                                           \
    X(NK_EAGAIN, -11)                                                          \
    X(NK_ENOMEM, -12)                                                          \
    X(NK_EINVAL, -22)                                                          \
    X(NK_ENOTEMPTY, -39)                                                       \
    X(NK_ENOMSG, -42)                                                          \
    X(NK_EBADMSG, -74)                                                         \
    X(NK_ENOTCONN, -107)

VALUE_TABLE(STATIC_LAYOUT)

struct rc_row {
    const char *name;
    Retcode value;
    uint32_t want;
};

#define RC_ROW(name, value) {#name, name, value},
static const struct rc_row rc_rows[] = {RC_TABLE(RC_ROW)};

static unsigned rc_codes(void)
{
    size_t n = sizeof rc_rows / sizeof rc_rows[0];
    for (size_t i = 0; i < n; i++) {
        const struct rc_row *r = &rc_rows[i];
        FACT_EQ(r->want, (uint32_t)r->value);
        /* The SDK's layout: every error is 0x90000000 | n, n = RC_GET_CODE. */
        if (r->value != rcOk) {
            FACT_EQ(0x90000000u, (uint32_t)r->value & 0xFFFF0000u);
            FACT_EQ(r->want & 0xFFFFu, RC_GET_CODE(r->value));
            FACT_EQ(0, RC_GET_FACILITY(r->value));
            FACT_EQ(0, RC_GET_SPACE(r->value));
            FACT_EQ(0, RC_GET_CUSTOMER(r->value));
        }
        /* The name <rtl/retcode_hr.h> prints is the constant's own. */
        char text[64], want[64];
        snprintf(text, sizeof text, RETCODE_HR_FMT, RETCODE_HR_PARAMS(r->value));
        snprintf(want, sizeof want, "%s (0x%08x)", r->name, (unsigned)r->want);
        CHECK_EQ(0, strcmp(want, text));
        facts++;
        for (size_t j = 0; j < i; j++)
            CHECK(rc_rows[j].value != r->value);
    }
    /* 30 codes: 0 and 0x01..0x1E without 0x0C, which the SDK leaves unused. */
    FACT_EQ(30, n);
    for (size_t i = 0; i < n; i++)
        CHECK(RC_GET_CODE(rc_rows[i].value) != 0x0C);
    char text[64];
    snprintf(text, sizeof text, RETCODE_HR_FMT, RETCODE_HR_PARAMS((Retcode)0x9000000Cu));
    FACT_EQ(0, strcmp("unknown (0x9000000c)", text));
    snprintf(text, sizeof text, RETCODE_HR_FMT, RETCODE_HR_PARAMS((Retcode)0x9000001Fu));
    FACT_EQ(0, strcmp("unknown (0x9000001f)", text));
    return (unsigned)n;
}

static void values(void)
{
#define RUN_VALUE(what, want) FACT_EQ((want), (what));
    VALUE_TABLE(RUN_VALUE)
}

/* ---- PackOutMsg / PackInMsg ------------------------------------------------ */

static unsigned pack_cases;

#define PACK_CASE()                                                            \
    do {                                                                       \
        pack_cases++;                                                          \
    } while (0)

/* A header with every byte set, so that what Pack* writes shows. */
static void dirty(SMsgHdr *h)
{
    memset(h, 0xEE, sizeof *h);
}

/* The fields Pack* sets to 0 besides the descriptors (this project's
 * choice: a header on the stack starts clean). */
static void check_clean(const SMsgHdr *h)
{
    CHECK_EQ(0, h->replyHandle);
    CHECK_EQ(0, h->sender);
    CHECK_EQ(0, h->threadId);
    CHECK_EQ(0, h->traceId);
    CHECK_EQ(0, h->spanId);
    CHECK_EQ(0, h->immSize);
}

static void check_desc(const SMsgHdr *h, int i, const void *buf, uint32_t size)
{
    CHECK(h->indirDescs[i].buf == buf);
    CHECK_EQ(size, h->indirDescs[i].size);
}

/* A refused header: descriptor 0 is left empty, so every call refuses it. */
static void check_refused(Retcode rc, const SMsgHdr *h)
{
    CHECK_RC(rcInvalidArgument, rc);
    check_desc(h, 0, NULL, 0);
    PACK_CASE();
}

static void pack(void)
{
    union {
        nk_message base_;
        unsigned char bytes[128];
    } msg;
    _Alignas(8) char buf[64];
    nk_arena arena = NK_ARENA_INITIALIZER(buf, buf + sizeof buf);
    SMsgHdr h;

    /* Without an arena: descriptor 1 is NULL/0. */
    memset(&msg, 0, sizeof msg);
    nk_msg_set_size(&msg, 40);
    nk_msg_set_method_id(&msg, 3, 1);
    dirty(&h);
    CHECK_RC(rcOk, PackOutMsg(&h, &msg.base_, NULL));
    check_clean(&h);
    check_desc(&h, 0, &msg, 40);
    check_desc(&h, 1, NULL, 0);
    PACK_CASE();
    dirty(&h);
    CHECK_RC(rcOk, PackInMsg(&h, &msg.base_, NULL));
    check_clean(&h);
    check_desc(&h, 0, &msg, 40);
    check_desc(&h, 1, NULL, 0);
    PACK_CASE();

    /* An arena with no buffer at all is no arena. */
    nk_arena none = NK_ARENA_INITIALIZER(NULL, NULL);
    dirty(&h);
    CHECK_RC(rcOk, PackOutMsg(&h, &msg.base_, &none));
    check_desc(&h, 1, NULL, 0);
    PACK_CASE();
    dirty(&h);
    CHECK_RC(rcOk, PackInMsg(&h, &msg.base_, &none));
    check_desc(&h, 1, NULL, 0);
    PACK_CASE();

    /* With an arena: used bytes when sending, capacity when receiving. */
    nk_ptr_t ref;
    CHECK_EQ(NK_EOK, nk_arena_store(nk_char_t, &arena, &ref, "thirteen byte", 13));
    dirty(&h);
    CHECK_RC(rcOk, PackOutMsg(&h, &msg.base_, &arena));
    check_clean(&h);
    check_desc(&h, 0, &msg, 40);
    check_desc(&h, 1, buf, 13);
    PACK_CASE();
    dirty(&h);
    CHECK_RC(rcOk, PackInMsg(&h, &msg.base_, &arena));
    check_clean(&h);
    check_desc(&h, 0, &msg, 40);
    check_desc(&h, 1, buf, sizeof buf);
    PACK_CASE();
    /* An empty arena still gives its buffer. */
    nk_arena_reset(&arena);
    CHECK_RC(rcOk, PackOutMsg(&h, &msg.base_, &arena));
    check_desc(&h, 1, buf, 0);
    PACK_CASE();

    /* The smallest and largest constant parts the shim accepts. */
    nk_msg_set_size(&msg, sizeof(nk_message));
    CHECK_RC(rcOk, PackOutMsg(&h, &msg.base_, NULL));
    check_desc(&h, 0, &msg, sizeof(nk_message));
    PACK_CASE();
    static union {
        nk_message base_;
        unsigned char bytes[SHIM_MSG_MAX];
    } largest;
    nk_msg_set_size(&largest, SHIM_MSG_MAX);
    CHECK_RC(rcOk, PackInMsg(&h, &largest.base_, NULL));
    check_desc(&h, 0, &largest, SHIM_MSG_MAX);
    PACK_CASE();
    CHECK_RC(rcOk, PackOutMsg(&h, &largest.base_, NULL));
    check_desc(&h, 0, &largest, SHIM_MSG_MAX);
    PACK_CASE();

    /* Refused: NULL header (nothing written), NULL message. */
    nk_msg_set_size(&msg, 40);
    CHECK_RC(rcInvalidArgument, PackOutMsg(NULL, &msg.base_, NULL));
    PACK_CASE();
    CHECK_RC(rcInvalidArgument, PackInMsg(NULL, &msg.base_, NULL));
    PACK_CASE();
    dirty(&h);
    check_refused(PackOutMsg(&h, NULL, NULL), &h);
    dirty(&h);
    check_refused(PackInMsg(&h, NULL, &arena), &h);

    /* Refused: shorter than nk_message, or larger than the shim's bound. */
    nk_msg_set_size(&msg, sizeof(nk_message) - 1);
    dirty(&h);
    check_refused(PackOutMsg(&h, &msg.base_, NULL), &h);
    dirty(&h);
    check_refused(PackInMsg(&h, &msg.base_, NULL), &h);
    nk_msg_set_size(&msg, 0);
    dirty(&h);
    check_refused(PackOutMsg(&h, &msg.base_, NULL), &h);
    nk_msg_set_size(&msg, SHIM_MSG_MAX + 1);
    dirty(&h);
    check_refused(PackOutMsg(&h, &msg.base_, NULL), &h);
    dirty(&h);
    check_refused(PackInMsg(&h, &msg.base_, NULL), &h);

    /* Refused: inconsistent arenas (current < start, end < current, a
     * buffer missing) and an arena beyond the shim's bound. */
    nk_msg_set_size(&msg, 40);
    nk_arena bad = {buf + 8, buf, buf + sizeof buf};
    dirty(&h);
    check_refused(PackOutMsg(&h, &msg.base_, &bad), &h);
    dirty(&h);
    check_refused(PackInMsg(&h, &msg.base_, &bad), &h);
    bad = (nk_arena){buf, buf + 40, buf + 32};
    dirty(&h);
    check_refused(PackOutMsg(&h, &msg.base_, &bad), &h);
    bad = (nk_arena){NULL, buf, buf + 32};
    dirty(&h);
    check_refused(PackOutMsg(&h, &msg.base_, &bad), &h);
    dirty(&h);
    check_refused(PackInMsg(&h, &msg.base_, &bad), &h);
    /* Only the pointers are looked at: no memory is behind this end. */
    bad = (nk_arena){buf, buf, (void *)((uintptr_t)buf + SHIM_ARENA_MAX + 1)};
    dirty(&h);
    check_refused(PackInMsg(&h, &msg.base_, &bad), &h);
    bad.current = bad.end;
    dirty(&h);
    check_refused(PackOutMsg(&h, &msg.base_, &bad), &h);
}

int main(void)
{
    layouts();
    ex_bits();
    values();
    unsigned rcs = rc_codes();
    pack();

    /* Validation happens before any backend: NULL headers are refused. */
    CHECK_RC(rcInvalidArgument, Call(INVALID_HANDLE, NULL, NULL));
    CHECK_RC(rcInvalidArgument, CallEx(INVALID_HANDLE, NULL, NULL, 0, INVALID_HANDLE));
    CHECK_RC(rcInvalidArgument, Recv(INVALID_HANDLE, NULL));
    CHECK_RC(rcInvalidArgument, RecvEx(INVALID_HANDLE, NULL, 0, INVALID_HANDLE));
    CHECK_RC(rcInvalidArgument, Reply(INVALID_HANDLE, NULL));

    printf("abi_layout: %u rc codes, %u layout and value facts, %u PackOutMsg/PackInMsg cases ok\n",
           rcs, facts, pack_cases);
    return 0;
}
