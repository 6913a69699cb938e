//! `#[repr(C)]` mirrors of the KasperskyOS IPC types, in the **host profile**.
//!
//! The public KasperskyOS material confirms the names, the C signatures and a
//! few sizes (see `shared/kos-abi.md`); it does not give `SMsgHdr`'s fields,
//! `nk_message`'s field order or the numeric values of the return codes.
//! Everything here that the public material leaves open is the *host
//! profile's* choice: a documented layout that the host emulator and our
//! compatibility headers agree on. A build against a real SDK takes those
//! facts from the SDK's own headers through the profile bridge instead.
//!
//! Every layout is asserted at compile time at the bottom of this file.
#![allow(non_camel_case_types, non_upper_case_globals)]

#[cfg_attr(feature = "sdk-profile", allow(unused_imports))]
use core::mem::{align_of, offset_of, size_of};

/// A kernel object handle (host profile: 32-bit unsigned, as `handle/handletype.h` suggests).
pub type Handle = u32;
/// A KasperskyOS return code: signed 32-bit, `rcOk == 0`.
pub type Retcode = i32;
/// `rtl_uint32_t` of the SDK's runtime library.
pub type rtl_uint32_t = u32;
/// `rtl_uint16_t` of the SDK's runtime library.
pub type rtl_uint16_t = u16;
/// `rtl_size_t` of the SDK's runtime library.
pub type rtl_size_t = usize;
/// NK interface id carried in every message.
pub type nk_iid_t = u16;
/// NK method id carried in every message.
pub type nk_mid_t = u16;
/// `nk_uint32_t` of the NK runtime.
pub type nk_uint32_t = u32;
/// `nk_uint16_t` of the NK runtime.
pub type nk_uint16_t = u16;

/// "No handle" (host profile value: all bits set).
#[cfg(not(feature = "sdk-profile"))]
pub const INVALID_HANDLE: Handle = 0xFFFF_FFFF;
/// `mdelay` value that makes CallEx/RecvEx wait without limit (host profile value).
#[cfg(not(feature = "sdk-profile"))]
pub const INFINITE_TIMEOUT: rtl_uint32_t = 0xFFFF_FFFF;

/// `nk_message.kind`: a request (client to server).
pub const NK_MSG_KIND_REQUEST: nk_uint16_t = 1;
/// `nk_message.kind`: a response (server to client).
pub const NK_MSG_KIND_RESPONSE: nk_uint16_t = 2;
/// `nk_message.kind`: an error response.
pub const NK_MSG_KIND_ERROR: nk_uint16_t = 3;

/// Largest constant part the host profile accepts, in bytes.
pub const NK_MSG_MAX_SIZE: rtl_uint32_t = 64 * 1024;
/// Largest arena the host profile transfers in one message, in bytes.
pub const NK_ARENA_MAX_SIZE: rtl_size_t = 16 * 1024 * 1024;

/// Header at the start of every message's constant part (aligned to 8, 24 bytes).
///
/// Host profile field order. `size` is the size of the whole constant part,
/// this header included.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct nk_message {
    /// Interface id.
    pub iid: nk_iid_t,
    /// Method id.
    pub mid: nk_mid_t,
    /// Size of the constant part in bytes, this header included.
    pub size: nk_uint32_t,
    /// `NK_MSG_KIND_REQUEST`, `NK_MSG_KIND_RESPONSE` or `NK_MSG_KIND_ERROR`.
    pub kind: nk_uint16_t,
    /// Number of handles transferred with the message.
    pub ncaps: nk_uint16_t,
    /// Reserved; zero.
    pub flags: nk_uint32_t,
    /// Reserved; zero. Keeps the header 8-aligned, as on the SDK's targets.
    pub reserved: u64,
}

/// A reference into a message's arena: `size` bytes at `offset` from the arena start.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct nk_ptr_t {
    /// Offset from the arena's start.
    pub offset: nk_uint32_t,
    /// Length in bytes.
    pub size: nk_uint32_t,
}

/// Variable-size part of a message: a caller-owned buffer `[start, end)` of
/// which `[start, current)` is in use.
#[repr(C)]
#[derive(Debug)]
pub struct nk_arena {
    /// First byte of the buffer.
    pub start: *mut u8,
    /// One past the last byte in use.
    pub current: *mut u8,
    /// One past the last byte of the buffer.
    pub end: *mut u8,
}

/// `SMsgHdr.magic` of a header bound by `PackOutMsg` / `PackInMsg`.
pub const SMSGHDR_MAGIC: rtl_uint32_t = 0x4B4D_5348; // "KMSH"
/// `SMsgHdr.dir`: bound by `PackOutMsg` (a message to send).
pub const SMSGHDR_DIR_OUT: rtl_uint32_t = 1;
/// `SMsgHdr.dir`: bound by `PackInMsg` (a buffer to receive into).
pub const SMSGHDR_DIR_IN: rtl_uint32_t = 2;

/// The message header the five system calls take (host profile layout).
///
/// Bind it with `PackOutMsg` (to send) or `PackInMsg` (to receive) before use;
/// an unbound or hand-filled header is rejected with `rcInvalidArgument`.
#[cfg(not(feature = "sdk-profile"))]
#[repr(C)]
#[derive(Debug)]
pub struct SMsgHdr {
    /// The constant part (starts with `nk_message`).
    pub msg: *mut nk_message,
    /// Outgoing: bytes of the constant part to send. Incoming: capacity of `msg`.
    pub msg_size: rtl_size_t,
    /// Optional arena (NULL: none).
    pub arena: *mut nk_arena,
    /// `SMSGHDR_MAGIC` once packed.
    pub magic: rtl_uint32_t,
    /// `SMSGHDR_DIR_OUT` or `SMSGHDR_DIR_IN`.
    pub dir: rtl_uint32_t,
}

/// The message header the five system calls take: opaque here, because
/// with feature `sdk-profile` its layout is the SDK's own, known only to the
/// C profile bridge (src/profile/kos_profile.c) compiled against the SDK's
/// headers. Rust code only passes pointers to it along.
///
/// cbindgen:ignore
#[cfg(feature = "sdk-profile")]
#[repr(C)]
#[derive(Debug)]
pub struct SMsgHdr {
    _opaque: [u8; 0],
    _not_send_sync_unpin: core::marker::PhantomData<(*mut u8, core::marker::PhantomPinned)>,
}

/// With feature `sdk-profile`: the return codes, `INVALID_HANDLE` and
/// `INFINITE_TIMEOUT` as the SDK's headers define them, read by build.rs from
/// the profile bridge compiled against them (`$OUT_DIR/profile_consts.rs`).
#[cfg(feature = "sdk-profile")]
mod sdk_values {
    use super::{rtl_uint32_t, Handle, Retcode};
    include!(concat!(env!("OUT_DIR"), "/profile_consts.rs"));
}
#[cfg(feature = "sdk-profile")]
pub use sdk_values::*;

/// Customer field of KasperskyOS's own codes.
pub const RC_CUSTOMER_KOS: u32 = 0;
/// Space field of the kernel's codes.
pub const RC_SPACE_KERNEL: u32 = 0;
/// Facility of generic codes.
pub const RC_FACILITY_GENERIC: u32 = 1;
/// Facility of IPC codes.
pub const RC_FACILITY_IPC: u32 = 2;
/// Facility of security codes.
pub const RC_FACILITY_SECURITY: u32 = 3;

/// Host profile's `MAKE_RETCODE(customer, space, facility, code, desc)`:
/// `customer` in bits 28..31, `space` in 24..28, `facility` in 16..24,
/// `code` in 0..16; `desc` is documentation only and takes no bits.
pub const fn make_retcode(customer: u32, space: u32, facility: u32, code: u32) -> Retcode {
    (((customer & 0x7) << 28) | ((space & 0xF) << 24) | ((facility & 0xFF) << 16) | (code & 0xFFFF))
        as Retcode
}

/// Host profile's `RC_GET_CODE(rc)`: the code field.
pub const fn rc_get_code(rc: Retcode) -> u32 {
    (rc as u32) & 0xFFFF
}

/// Success.
#[cfg(not(feature = "sdk-profile"))]
pub const rcOk: Retcode = 0;
/// Unspecified failure.
#[cfg(not(feature = "sdk-profile"))]
pub const rcFail: Retcode = 0x0001_0001;
/// Bad argument: NULL or malformed header, inconsistent buffers, wrong handle type.
#[cfg(not(feature = "sdk-profile"))]
pub const rcInvalidArgument: Retcode = 0x0001_0002;
/// The server end of the channel is gone or the name is unknown.
#[cfg(not(feature = "sdk-profile"))]
pub const rcNotConnected: Retcode = 0x0002_0003;
/// Out of memory or a fixed table is full.
#[cfg(not(feature = "sdk-profile"))]
pub const rcOutOfMemory: Retcode = 0x0001_0004;
/// A receiving buffer is too small for the message.
#[cfg(not(feature = "sdk-profile"))]
pub const rcBufferTooSmall: Retcode = 0x0001_0005;
/// CallEx/RecvEx: the timeout expired.
#[cfg(not(feature = "sdk-profile"))]
pub const rcTimeout: Retcode = 0x0002_0006;
/// CallEx/RecvEx: interrupted through an IPC synchronization object.
#[cfg(not(feature = "sdk-profile"))]
pub const rcIpcInterrupt: Retcode = 0x0002_0007;
/// The security policy forbids this message.
#[cfg(not(feature = "sdk-profile"))]
pub const rcSecurityDisallow: Retcode = 0x0003_0008;
/// Not implemented.
#[cfg(not(feature = "sdk-profile"))]
pub const rcUnimplemented: Retcode = 0x0001_0009;
/// The object is busy.
#[cfg(not(feature = "sdk-profile"))]
pub const rcBusy: Retcode = 0x0001_000A;
/// The handle was revoked.
#[cfg(not(feature = "sdk-profile"))]
pub const rcHandleRevoked: Retcode = 0x0001_000B;
/// The caller lacks the capability.
#[cfg(not(feature = "sdk-profile"))]
pub const rcNoCapability: Retcode = 0x0003_000C;

/// Every host-profile return code with its SDK name, for messages and dumps.
pub const RETCODE_NAMES: [(Retcode, &str); 13] = [
    (rcOk, "rcOk"),
    (rcFail, "rcFail"),
    (rcInvalidArgument, "rcInvalidArgument"),
    (rcNotConnected, "rcNotConnected"),
    (rcOutOfMemory, "rcOutOfMemory"),
    (rcBufferTooSmall, "rcBufferTooSmall"),
    (rcTimeout, "rcTimeout"),
    (rcIpcInterrupt, "rcIpcInterrupt"),
    (rcSecurityDisallow, "rcSecurityDisallow"),
    (rcUnimplemented, "rcUnimplemented"),
    (rcBusy, "rcBusy"),
    (rcHandleRevoked, "rcHandleRevoked"),
    (rcNoCapability, "rcNoCapability"),
];

/// The SDK name of a host-profile return code, if it has one.
pub fn retcode_name(rc: Retcode) -> Option<&'static str> {
    RETCODE_NAMES
        .iter()
        .find(|(code, _)| *code == rc)
        .map(|(_, name)| *name)
}

// Layout facts, checked when the crate compiles (host profile; with
// sdk-profile the generated constants carry their own checks).
#[cfg(not(feature = "sdk-profile"))]
const _: () = {
    assert!(size_of::<Handle>() == 4);
    assert!(size_of::<Retcode>() == 4);
    assert!(size_of::<nk_message>() == 24);
    assert!(align_of::<nk_message>() == 8);
    assert!(offset_of!(nk_message, iid) == 0);
    assert!(offset_of!(nk_message, mid) == 2);
    assert!(offset_of!(nk_message, size) == 4);
    assert!(offset_of!(nk_message, kind) == 8);
    assert!(offset_of!(nk_message, ncaps) == 10);
    assert!(offset_of!(nk_message, flags) == 12);
    assert!(offset_of!(nk_message, reserved) == 16);
    assert!(size_of::<nk_ptr_t>() == 8);
    assert!(align_of::<nk_ptr_t>() == 4);
    assert!(size_of::<nk_arena>() == 3 * size_of::<usize>());
    assert!(offset_of!(nk_arena, start) == 0);
    assert!(offset_of!(nk_arena, current) == size_of::<usize>());
    assert!(offset_of!(nk_arena, end) == 2 * size_of::<usize>());
    assert!(offset_of!(SMsgHdr, msg) == 0);
    assert!(offset_of!(SMsgHdr, msg_size) == size_of::<usize>());
    assert!(offset_of!(SMsgHdr, arena) == 2 * size_of::<usize>());
    assert!(offset_of!(SMsgHdr, magic) == 3 * size_of::<usize>());
    assert!(offset_of!(SMsgHdr, dir) == 3 * size_of::<usize>() + 4);
    assert!(size_of::<SMsgHdr>() == 3 * size_of::<usize>() + 8);
    assert!(rcOk == 0);
    // The literal values above (literal so cbindgen can emit them) are MAKE_RETCODE's.
    assert!(rcFail == make_retcode(RC_CUSTOMER_KOS, RC_SPACE_KERNEL, RC_FACILITY_GENERIC, 1));
    assert!(
        rcInvalidArgument == make_retcode(RC_CUSTOMER_KOS, RC_SPACE_KERNEL, RC_FACILITY_GENERIC, 2)
    );
    assert!(rcNotConnected == make_retcode(RC_CUSTOMER_KOS, RC_SPACE_KERNEL, RC_FACILITY_IPC, 3));
    assert!(
        rcOutOfMemory == make_retcode(RC_CUSTOMER_KOS, RC_SPACE_KERNEL, RC_FACILITY_GENERIC, 4)
    );
    assert!(
        rcBufferTooSmall == make_retcode(RC_CUSTOMER_KOS, RC_SPACE_KERNEL, RC_FACILITY_GENERIC, 5)
    );
    assert!(rcTimeout == make_retcode(RC_CUSTOMER_KOS, RC_SPACE_KERNEL, RC_FACILITY_IPC, 6));
    assert!(rcIpcInterrupt == make_retcode(RC_CUSTOMER_KOS, RC_SPACE_KERNEL, RC_FACILITY_IPC, 7));
    assert!(
        rcSecurityDisallow
            == make_retcode(RC_CUSTOMER_KOS, RC_SPACE_KERNEL, RC_FACILITY_SECURITY, 8)
    );
    assert!(
        rcUnimplemented == make_retcode(RC_CUSTOMER_KOS, RC_SPACE_KERNEL, RC_FACILITY_GENERIC, 9)
    );
    assert!(rcBusy == make_retcode(RC_CUSTOMER_KOS, RC_SPACE_KERNEL, RC_FACILITY_GENERIC, 10));
    assert!(
        rcHandleRevoked == make_retcode(RC_CUSTOMER_KOS, RC_SPACE_KERNEL, RC_FACILITY_GENERIC, 11)
    );
    assert!(
        rcNoCapability == make_retcode(RC_CUSTOMER_KOS, RC_SPACE_KERNEL, RC_FACILITY_SECURITY, 12)
    );
    assert!(rc_get_code(rcSecurityDisallow) == 8);
};
