/*
 * header_cxx: the public header and every compatibility header compile as
 * C++17 with strict warnings, keep C linkage (extern "C"), and agree with the
 * C view of the layout. Links against the staticlib and calls through it.
 */
#include <coresrv/ipc/ipc_api.h>
#include <coresrv/nk/transport-kos.h>
#include <coresrv/syscalls.h>
#include <handle/handletype.h>
#include <ipc/if_rend.h>
#include <rtl/retcode.h>
#include <nk/arena.h>
#include <nk/transport.h>
#include <nk/types.h>
#include <rtl/retcode_hr.h>
#include <rtl/stdio.h>
#include <services/rtl/nk_msg.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <type_traits>

static_assert(sizeof(nk_message) == 24 && alignof(nk_message) == 8, "nk_message");
static_assert(offsetof(nk_message, self) == 8, "nk_message.self");
static_assert(sizeof(nk_ptr_t) == 8 && alignof(nk_ptr_t) == 4, "nk_ptr_t");
static_assert(sizeof(nk_arena) == 3 * sizeof(void *), "nk_arena");
static_assert(sizeof(SMsgHdr) == 72, "SMsgHdr");
static_assert(offsetof(SMsgHdr, immSize) == 32, "SMsgHdr.immSize");
static_assert(offsetof(SMsgHdr, indirDescs) == 40, "SMsgHdr.indirDescs");
static_assert(std::is_standard_layout<SMsgHdr>::value, "SMsgHdr is a C struct");
static_assert(std::is_same<Retcode, int>::value, "Retcode");
static_assert(std::is_same<Handle, std::uint32_t>::value, "Handle");
static_assert(static_cast<unsigned>(rcSecurityDisallow) == 0x90000015u, "rc values in C++");
static_assert(RC_GET_CODE(rcTimeout) == 0x14, "RC_GET_CODE in C++");
static_assert(NK_EINVAL == -22, "NK_E* in C++");
static_assert(sizeof(NkKosTransport) == 40 && offsetof(NkKosTransport, handle) == 8, "NkKosTransport");
static_assert(offsetof(NkKosTransport, recvSyncHandle) == 32, "NkKosTransport.recvSyncHandle");

// The NK helpers work on a C++ object too.
static std::uint32_t helpers_roundtrip()
{
    nk_message m{};
    nk_req_reset(&m);
    nk_msg_set_method_id(&m, 3, 4);
    nk_msg_set_ncaps(&m, 2);
    nk_msg_set_err(&m, 1);
    return nk_msg_get_size(&m) == sizeof m && nk_msg_get_iid(&m) == 3 && nk_msg_get_mid(&m) == 4 &&
                   nk_msg_get_ncaps(&m) == 2 && nk_msg_get_err(&m) == 1
               ? 0u
               : 1u;
}

// The exports are reachable with C linkage: these must be the same functions.
static Retcode (*const call_fn)(Handle, const SMsgHdr *, SMsgHdr *) = &Call;
static Retcode (*const callex_fn)(Handle, const SMsgHdr *, SMsgHdr *, rtl_uint32_t,
                                  Handle) = &CallEx;
static Retcode (*const recv_fn)(Handle, SMsgHdr *) = &Recv;
static Retcode (*const recvex_fn)(Handle, SMsgHdr *, rtl_uint32_t, Handle) = &RecvEx;
static Retcode (*const reply_fn)(Handle, const SMsgHdr *) = &Reply;
static nk_err_t (*const transport_init_fn)(NkKosTransport *, Handle, const void *,
                                           rtl_size_t) = &NkKosTransport_Init;

int main()
{
    const Retcode got[] = {
        call_fn(INVALID_HANDLE, nullptr, nullptr),
        callex_fn(INVALID_HANDLE, nullptr, nullptr, 0, INVALID_HANDLE),
        recv_fn(INVALID_HANDLE, nullptr),
        recvex_fn(INVALID_HANDLE, nullptr, 0, INVALID_HANDLE),
        reply_fn(INVALID_HANDLE, nullptr),
    };
    if (helpers_roundtrip() != 0) {
        std::fprintf(stderr, "%s:%d: the nk_msg helpers disagree in C++\n", __FILE__, __LINE__);
        return 1;
    }
    int n = 0;
    for (Retcode rc : got) {
        if (rc != rcInvalidArgument) {
            std::fprintf(stderr, "%s:%d: call %d: expected rcInvalidArgument (0x%x), actual 0x%x\n",
                         __FILE__, __LINE__, n, static_cast<unsigned>(rcInvalidArgument),
                         static_cast<unsigned>(rc));
            return 1;
        }
        n++;
    }
    // The NK transport from C++: set up, then a call without a request.
    NkKosTransport transport;
    nk_message res{};
    nk_req_reset(&res);
    if (transport_init_fn(&transport, INVALID_HANDLE, nullptr, 0) != NK_EOK ||
        transport_init_fn(nullptr, INVALID_HANDLE, nullptr, 0) != NK_EINVAL ||
        nk_transport_call(&transport.base, nullptr, nullptr, &res, nullptr) != NK_EINVAL) {
        std::fprintf(stderr, "%s:%d: the NK transport disagrees in C++\n", __FILE__, __LINE__);
        return 1;
    }
    std::printf("header_cxx: %d calls through the C++ view ok\n", n);
    return 0;
}
