/*
 * abi_layout: the compatibility headers agree with the Rust side (src/abi.rs).
 *
 * Compile time: sizeof/_Alignof/offsetof of nk_message, nk_ptr_t, nk_arena
 * and SMsgHdr equal the layout the crate asserts, and every rc constant
 * equals MAKE_RETCODE of its documented fields. Run time: RC_GET_CODE, and
 * the library rejects NULL headers with rcInvalidArgument before any
 * backend is reached (so the link line and the exports work).
 */
#include <stddef.h>

#include <coresrv/ipc/ipc_api.h>
#include <coresrv/syscalls.h>
#include <handle/handletype.h>
#include <ipc/if_rend.h>
#include <rtl/retcode.h>
#include <services/rtl/nk_msg.h>

#include "check.h"

#define PTR sizeof(void *)

_Static_assert(sizeof(Handle) == 4, "Handle is 32-bit");
_Static_assert((Handle)INVALID_HANDLE == 0xFFFFFFFFu, "host INVALID_HANDLE");
_Static_assert((rtl_uint32_t)INFINITE_TIMEOUT == 0xFFFFFFFFu, "host INFINITE_TIMEOUT");
_Static_assert(sizeof(Retcode) == 4 && (Retcode)-1 < 0, "Retcode is signed 32-bit");
_Static_assert(sizeof(nk_iid_t) == 2 && sizeof(nk_mid_t) == 2, "iid/mid are 16-bit");

_Static_assert(sizeof(nk_message) == 24, "nk_message size");
_Static_assert(_Alignof(nk_message) == 8, "nk_message align");
_Static_assert(offsetof(nk_message, iid) == 0, "nk_message.iid");
_Static_assert(offsetof(nk_message, mid) == 2, "nk_message.mid");
_Static_assert(offsetof(nk_message, size) == 4, "nk_message.size");
_Static_assert(offsetof(nk_message, kind) == 8, "nk_message.kind");
_Static_assert(offsetof(nk_message, ncaps) == 10, "nk_message.ncaps");
_Static_assert(offsetof(nk_message, flags) == 12, "nk_message.flags");
_Static_assert(offsetof(nk_message, reserved) == 16, "nk_message.reserved");

_Static_assert(sizeof(nk_ptr_t) == 8, "nk_ptr_t size");
_Static_assert(_Alignof(nk_ptr_t) == 4, "nk_ptr_t align");
_Static_assert(offsetof(nk_ptr_t, offset) == 0, "nk_ptr_t.offset");
_Static_assert(offsetof(nk_ptr_t, size) == 4, "nk_ptr_t.size");

_Static_assert(sizeof(nk_arena) == 3 * PTR, "nk_arena size");
_Static_assert(offsetof(nk_arena, start) == 0, "nk_arena.start");
_Static_assert(offsetof(nk_arena, current) == PTR, "nk_arena.current");
_Static_assert(offsetof(nk_arena, end) == 2 * PTR, "nk_arena.end");

_Static_assert(sizeof(SMsgHdr) == 3 * PTR + 8, "SMsgHdr size");
_Static_assert(offsetof(SMsgHdr, msg) == 0, "SMsgHdr.msg");
_Static_assert(offsetof(SMsgHdr, msg_size) == PTR, "SMsgHdr.msg_size");
_Static_assert(offsetof(SMsgHdr, arena) == 2 * PTR, "SMsgHdr.arena");
_Static_assert(offsetof(SMsgHdr, magic) == 3 * PTR, "SMsgHdr.magic");
_Static_assert(offsetof(SMsgHdr, dir) == 3 * PTR + 4, "SMsgHdr.dir");

/* Each rc constant with the fields MAKE_RETCODE composes it from (src/abi.rs). */
#define KOS RC_CUSTOMER_KOS
#define KRN RC_SPACE_KERNEL
#define RC_TABLE(X)                                                            \
    X(rcOk, MAKE_RETCODE(KOS, KRN, 0, 0, "success"), 0)                               \
    X(rcFail, MAKE_RETCODE(KOS, KRN, RC_FACILITY_GENERIC, 1, "failure"), 1)           \
    X(rcInvalidArgument, MAKE_RETCODE(KOS, KRN, RC_FACILITY_GENERIC, 2, "bad arg"), 2) \
    X(rcNotConnected, MAKE_RETCODE(KOS, KRN, RC_FACILITY_IPC, 3, "no server"), 3)     \
    X(rcOutOfMemory, MAKE_RETCODE(KOS, KRN, RC_FACILITY_GENERIC, 4, "no memory"), 4)  \
    X(rcBufferTooSmall, MAKE_RETCODE(KOS, KRN, RC_FACILITY_GENERIC, 5, "small"), 5)   \
    X(rcTimeout, MAKE_RETCODE(KOS, KRN, RC_FACILITY_IPC, 6, "timeout"), 6)            \
    X(rcIpcInterrupt, MAKE_RETCODE(KOS, KRN, RC_FACILITY_IPC, 7, "interrupt"), 7)     \
    X(rcSecurityDisallow, MAKE_RETCODE(KOS, KRN, RC_FACILITY_SECURITY, 8, "deny"), 8) \
    X(rcUnimplemented, MAKE_RETCODE(KOS, KRN, RC_FACILITY_GENERIC, 9, "unimpl"), 9)   \
    X(rcBusy, MAKE_RETCODE(KOS, KRN, RC_FACILITY_GENERIC, 10, "busy"), 10)            \
    X(rcHandleRevoked, MAKE_RETCODE(KOS, KRN, RC_FACILITY_GENERIC, 11, "revoked"), 11) \
    X(rcNoCapability, MAKE_RETCODE(KOS, KRN, RC_FACILITY_SECURITY, 12, "no cap"), 12)

#define STATIC_RC(name, composed, code)                                        \
    _Static_assert((name) == (composed), #name " == MAKE_RETCODE(...)");       \
    _Static_assert(RC_GET_CODE(name) == (code), "RC_GET_CODE(" #name ")");
RC_TABLE(STATIC_RC)

/* The field layout itself: every field lands in its bits, desc takes none. */
_Static_assert(MAKE_RETCODE(7, 15, 255, 0xFFFF, "all") == 0x7FFFFFFF, "all fields");
_Static_assert(MAKE_RETCODE(1, 0, 0, 0, "x") == 0x10000000, "customer at 28");
_Static_assert(MAKE_RETCODE(0, 1, 0, 0, "x") == 0x01000000, "space at 24");
_Static_assert(MAKE_RETCODE(0, 0, 1, 0, "x") == 0x00010000, "facility at 16");
_Static_assert(MAKE_RETCODE(8, 16, 256, 0x10000, "x") == 0, "fields are masked");

struct rc_row {
    const char *name;
    Retcode value;
    Retcode composed;
    unsigned code;
};

#define ROW(name, composed, code) {#name, name, composed, code},
static const struct rc_row rows[] = {RC_TABLE(ROW)};

int main(void)
{
    size_t n = sizeof rows / sizeof rows[0];
    for (size_t i = 0; i < n; i++) {
        CHECK_RC(rows[i].composed, rows[i].value);
        CHECK_EQ(rows[i].code, RC_GET_CODE(rows[i].value));
        CHECK_EQ(0, strcmp(rows[i].name, check_rc_name(rows[i].value)));
        for (size_t j = 0; j < i; j++)
            CHECK(rows[i].value != rows[j].value);
    }

    /* Validation happens before any backend: NULL headers are refused. */
    CHECK_RC(rcInvalidArgument, Call(INVALID_HANDLE, NULL, NULL));
    CHECK_RC(rcInvalidArgument, Recv(INVALID_HANDLE, NULL));
    CHECK_RC(rcInvalidArgument, Reply(INVALID_HANDLE, NULL));

    printf("abi_layout: %zu rc codes and 4 struct layouts ok\n", n);
    return 0;
}
