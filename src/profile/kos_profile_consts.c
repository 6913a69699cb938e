/*
 * The profile's constants, for build.rs: compiled to assembly only (never
 * run, so cross compilers work), then build.rs reads the values the compiler
 * computed from the SDK's own definitions, in this order, and writes them as
 * Rust constants. The marker values frame the table so that nothing else in
 * the assembly can be mistaken for it.
 */
#include <coresrv/syscalls.h>
#include <services/rtl/nk_msg.h>
#include <rtl/retcode.h>

#include <stdint.h>

const int64_t kos_profile_consts[] = {
    0x4B4F5350524F4631LL, /* start marker "KOSPROF1" */
    rcOk,
    rcFail,
    rcInvalidArgument,
    rcNotConnected,
    rcOutOfMemory,
    rcBufferTooSmall,
    rcTimeout,
    rcIpcInterrupt,
    rcSecurityDisallow,
    rcUnimplemented,
    rcBusy,
    rcHandleRevoked,
    rcNoCapability,
    (int64_t)INVALID_HANDLE,
    (int64_t)INFINITE_TIMEOUT,
    (int64_t)sizeof(Retcode),
    (int64_t)sizeof(Handle),
    0x4B4F5350524F4632LL, /* end marker "KOSPROF2" */
};
