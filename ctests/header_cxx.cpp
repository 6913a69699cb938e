/*
 * header_cxx: the public header and every compatibility header compile as
 * C++17 with strict warnings, keep C linkage (extern "C"), and agree with the
 * C view of the layout. Links against the staticlib and calls through it.
 */
#include <coresrv/ipc/ipc_api.h>
#include <coresrv/syscalls.h>
#include <handle/handletype.h>
#include <ipc/if_rend.h>
#include <rtl/retcode.h>
#include <services/rtl/nk_msg.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <type_traits>

static_assert(sizeof(nk_message) == 24 && alignof(nk_message) == 8, "nk_message");
static_assert(sizeof(nk_ptr_t) == 8 && alignof(nk_ptr_t) == 4, "nk_ptr_t");
static_assert(sizeof(nk_arena) == 3 * sizeof(void *), "nk_arena");
static_assert(offsetof(SMsgHdr, dir) == 3 * sizeof(void *) + 4, "SMsgHdr.dir");
static_assert(std::is_standard_layout<SMsgHdr>::value, "SMsgHdr is a C struct");
static_assert(std::is_same<Retcode, std::int32_t>::value, "Retcode");
static_assert(std::is_same<Handle, std::uint32_t>::value, "Handle");
static_assert(MAKE_RETCODE(RC_CUSTOMER_KOS, RC_SPACE_KERNEL, RC_FACILITY_SECURITY, 8, "deny") ==
                  rcSecurityDisallow,
              "MAKE_RETCODE in C++");
static_assert(RC_GET_CODE(rcTimeout) == 6, "RC_GET_CODE in C++");

// The exports are reachable with C linkage: these must be the same functions.
static Retcode (*const call_fn)(Handle, const SMsgHdr *, SMsgHdr *) = &Call;
static Retcode (*const callex_fn)(Handle, const SMsgHdr *, SMsgHdr *, rtl_uint32_t,
                                  Handle) = &CallEx;
static Retcode (*const recv_fn)(Handle, SMsgHdr *) = &Recv;
static Retcode (*const recvex_fn)(Handle, SMsgHdr *, rtl_uint32_t, Handle) = &RecvEx;
static Retcode (*const reply_fn)(Handle, const SMsgHdr *) = &Reply;

int main()
{
    const Retcode got[] = {
        call_fn(INVALID_HANDLE, nullptr, nullptr),
        callex_fn(INVALID_HANDLE, nullptr, nullptr, 0, INVALID_HANDLE),
        recv_fn(INVALID_HANDLE, nullptr),
        recvex_fn(INVALID_HANDLE, nullptr, 0, INVALID_HANDLE),
        reply_fn(INVALID_HANDLE, nullptr),
    };
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
    std::printf("header_cxx: %d calls through the C++ view ok\n", n);
    return 0;
}
