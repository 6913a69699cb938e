//! `#[repr(C)]` mirrors of the KasperskyOS Community Edition (KCE) IPC types.
//!
//! Every layout and value here is the SDK's, taken from public material and
//! cited per item with the tag of its source (the full list, with how sure
//! each fact is, is in `shared/kos-abi.md` and docs/abi.md "ABI: the KasperskyOS
//! CE profile"):
//!
//! - **\[H\]** the text of the SDK headers `coresrv/syscalls.h` and
//!   `ipc/if_rend.h` (KCE 1.3), as quoted in a public research log;
//! - **\[D\]** DWARF debug info of unstripped aarch64 KCE 1.2 programs;
//! - **\[B\]** the machine code and string tables of those programs;
//! - **\[Doc\]** the official KCE documentation.
//!
//! Where the SDK's behaviour is not public, the item says it is this
//! project's choice. The C definitions of the same types are the headers
//! under `include/kos/` (at the SDK's paths); `ctests/abi_layout.c` checks
//! them, the static assertions at the bottom of this file check these, and
//! the `sdk-profile` build checks both against a real SDK's headers.
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case)]

use core::ffi::c_void;
use core::mem::{align_of, offset_of, size_of};

/// A kernel object handle: 32-bit unsigned (\[D\]).
pub type Handle = u32;
/// A thread id: 32-bit unsigned (\[D\]).
pub type Tid = u32;
/// A task (process) id: 32-bit unsigned (\[H\], size \[B\]).
pub type TaskId = u32;
/// A return code: `int`, `rcOk == 0` (\[D\], `rtl/retcode.h`).
pub type Retcode = i32;
/// `rtl_uint32_t` of the SDK's runtime library.
pub type rtl_uint32_t = u32;
/// `rtl_uint16_t` of the SDK's runtime library.
pub type rtl_uint16_t = u16;
/// `rtl_size_t` of the SDK's runtime library.
pub type rtl_size_t = usize;
/// The runtime interface id (RIID) a message is addressed to: 16-bit (\[D\]).
pub type nk_iid_t = u16;
/// The method id within the interface: 16-bit (\[D\]).
pub type nk_mid_t = u16;
/// `nk_uint32_t` of the NK runtime.
pub type nk_uint32_t = u32;
/// `nk_uint16_t` of the NK runtime.
pub type nk_uint16_t = u16;
/// `nk_uint64_t` of the NK runtime.
pub type nk_uint64_t = u64;
/// Result of NK runtime functions: `NK_EOK` or a negative `NK_E*` code
/// (`int` here; the width is this project's choice, the values are \[B\]).
pub type nk_err_t = i32;

/// "No handle": all bits set (\[B\]).
pub const INVALID_HANDLE: Handle = 0xFFFF_FFFF;
/// `mdelay` that makes CallEx/RecvEx wait without limit: all bits set (\[B\]).
pub const INFINITE_TIMEOUT: rtl_uint32_t = 0xFFFF_FFFF;
/// "No RIID", what `ServiceLocatorGetRiid` answers for an unknown endpoint (\[B\]).
pub const INVALID_RIID: nk_iid_t = 0xFFFF;
/// Number of indirect descriptors in an `SMsgHdr` (\[H\]).
pub const MAX_INDIR_DESCS: usize = 2;

/// Bits 0..27 of `nk_message.ex`: the constant part's size (\[D\]).
pub const NK_EX_SIZE_MASK: u32 = 0x0FFF_FFFF;
/// Position of `ncaps` in `nk_message.ex` (bits 28..30, \[D\]).
pub const NK_EX_NCAPS_SHIFT: u32 = 28;
/// Width mask of `ncaps` once shifted down (3 bits, \[D\]).
pub const NK_EX_NCAPS_MASK: u32 = 0x7;
/// Bit 31 of `nk_message.ex`: the message is an error response (\[D\]).
pub const NK_EX_ERR_BIT: u32 = 1 << 31;

/// A handle carried by a message: `nk_handle_desc_t` (\[D\], 16 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct nk_handle_desc_t {
    /// The handle.
    pub handle: u32,
    /// The rights mask transferred with it.
    pub rights: u32,
    /// The badge (resource transfer context).
    pub badge: u64,
}

/// The header of every message's constant part: `struct nk_message` (\[D\],
/// 24 bytes, aligned to 8).
///
/// In C, `ex` is a bit-field (`size_ex:28`, `ncaps:3`, `err:1`, from bit 0
/// up, as GCC and Clang lay out bit-fields on little-endian targets); here it
/// is the whole 32-bit word, read and written through the methods below.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct nk_message {
    /// The runtime interface id the message is addressed to.
    pub iid: nk_iid_t,
    /// The method id.
    pub mid: nk_mid_t,
    /// `size_ex` (bits 0..27), `ncaps` (28..30), `err` (31).
    pub ex: nk_uint32_t,
    /// The `self` descriptor (C name `self`, a Rust keyword).
    pub self_: nk_handle_desc_t,
}

impl nk_message {
    /// A message to `iid`/`mid` whose constant part is `size` bytes.
    pub const fn new(iid: nk_iid_t, mid: nk_mid_t, size: u32) -> Self {
        nk_message {
            iid,
            mid,
            ex: size & NK_EX_SIZE_MASK,
            self_: nk_handle_desc_t {
                handle: 0,
                rights: 0,
                badge: 0,
            },
        }
    }

    /// `ex.size_ex`: the constant part's size in bytes, this header included.
    pub const fn size_ex(&self) -> u32 {
        self.ex & NK_EX_SIZE_MASK
    }

    /// `ex.ncaps`: how many handles the message carries.
    pub const fn ncaps(&self) -> u16 {
        ((self.ex >> NK_EX_NCAPS_SHIFT) & NK_EX_NCAPS_MASK) as u16
    }

    /// `ex.err`: the message is an error response.
    pub const fn err(&self) -> bool {
        self.ex & NK_EX_ERR_BIT != 0
    }

    /// Set `ex.size_ex` (truncated to 28 bits, as the bit-field does).
    pub fn set_size_ex(&mut self, size: u32) {
        self.ex = (self.ex & !NK_EX_SIZE_MASK) | (size & NK_EX_SIZE_MASK);
    }

    /// Set `ex.ncaps` (truncated to 3 bits, as the bit-field does).
    pub fn set_ncaps(&mut self, n: u16) {
        let field = NK_EX_NCAPS_MASK << NK_EX_NCAPS_SHIFT;
        self.ex = (self.ex & !field) | ((n as u32 & NK_EX_NCAPS_MASK) << NK_EX_NCAPS_SHIFT);
    }

    /// Set or clear `ex.err`.
    pub fn set_err(&mut self, err: bool) {
        self.ex = if err {
            self.ex | NK_EX_ERR_BIT
        } else {
            self.ex & !NK_EX_ERR_BIT
        };
    }
}

/// A reference into a message's arena: `size` bytes at `offset` from the
/// arena's start (\[D\]: two 32-bit fields).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct nk_ptr_t {
    /// Offset from the arena's start.
    pub offset: nk_uint32_t,
    /// Length in bytes.
    pub size: nk_uint32_t,
}

/// The variable-size part of a message: a caller-owned buffer `[start, end)`
/// of which `[start, current)` is in use (\[D\], 24 bytes on 64-bit targets).
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

/// One buffer of a message: `IndirDesc` (\[H\], 16 bytes on 64-bit targets).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct IndirDesc {
    /// The buffer.
    pub buf: *mut c_void,
    /// Its size in bytes.
    pub size: u32,
}

impl IndirDesc {
    /// No buffer.
    pub const NONE: IndirDesc = IndirDesc {
        buf: core::ptr::null_mut(),
        size: 0,
    };
}

/// Immediate data carried in the header itself: `SMsgImm` (\[H\]).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SMsgImm {
    /// The first payload word.
    pub payload: [u32; 1],
}

/// The payload part of an `SMsgHdr`: immediate data or the indirect
/// descriptors (\[H\]; an anonymous union in C).
#[repr(C)]
#[derive(Clone, Copy)]
pub union SMsgPayload {
    /// Immediate data (`immSize != 0`).
    pub imm: SMsgImm,
    /// The constant part (0) and the arena (1) (`immSize == 0`).
    pub indirDescs: [IndirDesc; MAX_INDIR_DESCS],
}

impl core::fmt::Debug for SMsgPayload {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // SAFETY: both variants are plain data of which every bit pattern is
        // valid; the descriptors are printed, never dereferenced.
        f.debug_struct("SMsgPayload")
            .field("indirDescs", unsafe { &self.indirDescs })
            .finish()
    }
}

/// The message header the five system calls take: `SMsgHdr` (\[H\], sizes
/// \[B\]: 72 bytes on 64-bit targets).
///
/// `PackOutMsg`/`PackInMsg` fill `immSize` and the descriptors; the kernel
/// (the emulator here) fills `replyHandle`, `sender` and `threadId` on Recv.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct SMsgHdr {
    /// On Recv: the server IPC handle to reply on.
    pub replyHandle: Handle,
    /// The sender's task (process) id.
    pub sender: TaskId,
    /// On Recv: the calling thread; on Reply: the thread to answer (0: the
    /// first one waiting).
    pub threadId: Tid,
    /// The current trace id.
    pub traceId: u64,
    /// The client's span id.
    pub spanId: u64,
    /// Non-zero: the data is immediate (`imm`); 0: in the descriptors.
    pub immSize: u32,
    /// Immediate data or the two indirect descriptors.
    pub u: SMsgPayload,
}

impl SMsgHdr {
    /// An all-zero header, as `SMsgHdr hdr = {0};` in C.
    pub const ZERO: SMsgHdr = SMsgHdr {
        replyHandle: 0,
        sender: 0,
        threadId: 0,
        traceId: 0,
        spanId: 0,
        immSize: 0,
        u: SMsgPayload {
            indirDescs: [IndirDesc::NONE; MAX_INDIR_DESCS],
        },
    };

    /// The indirect descriptors (meaningful when `immSize == 0`).
    pub fn descs(&self) -> [IndirDesc; MAX_INDIR_DESCS] {
        // SAFETY: every bit pattern of the union is a valid descriptor pair
        // (pointers are only compared and passed on, never dereferenced here).
        unsafe { self.u.indirDescs }
    }

    /// Set the indirect descriptors and clear `immSize`.
    pub fn set_descs(&mut self, descs: [IndirDesc; MAX_INDIR_DESCS]) {
        self.immSize = 0;
        self.u.indirDescs = descs;
    }
}

impl Default for SMsgHdr {
    fn default() -> Self {
        SMsgHdr::ZERO
    }
}

/// `nk_transport_ops.call`: send a request and wait for its response.
///
/// The parameter order is the one NK-generated proxies call
/// `nk_transport_call` with (public generated headers); the constness of
/// each pointer is this project's reading of what the function does.
pub type nk_transport_call_fn = unsafe extern "C" fn(
    transport: *mut nk_transport,
    req: *const nk_message,
    req_arena: *const nk_arena,
    res: *mut nk_message,
    res_arena: *mut nk_arena,
) -> nk_err_t;
/// `nk_transport_ops.recv`: wait for a request.
pub type nk_transport_recv_fn = unsafe extern "C" fn(
    transport: *mut nk_transport,
    req: *mut nk_message,
    req_arena: *mut nk_arena,
) -> nk_err_t;
/// `nk_transport_ops.reply`: answer the request received last.
pub type nk_transport_reply_fn = unsafe extern "C" fn(
    transport: *mut nk_transport,
    res: *const nk_message,
    res_arena: *const nk_arena,
) -> nk_err_t;
/// The `send` and `wait` slots of `nk_transport_ops`: their signatures are
/// not public, so this project types them as bare function pointers; the
/// host's `NkKosTransport` leaves them NULL.
pub type nk_transport_unknown_fn = unsafe extern "C" fn();

/// The operations of an NK transport: `nk_transport_ops` (\[D\]: five
/// function pointers, in this order).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct nk_transport_ops {
    /// Send a request, wait for the response.
    pub call: Option<nk_transport_call_fn>,
    /// Wait for a request.
    pub recv: Option<nk_transport_recv_fn>,
    /// Answer the request received last.
    pub reply: Option<nk_transport_reply_fn>,
    /// Signature not public; NULL here.
    pub send: Option<nk_transport_unknown_fn>,
    /// Signature not public; NULL here.
    pub wait: Option<nk_transport_unknown_fn>,
}

/// An NK transport: `struct nk_transport`, one pointer to its operations
/// (\[D\]). NK-generated proxies hold a `struct nk_transport *` and call
/// through it.
#[repr(C)]
#[derive(Debug)]
pub struct nk_transport {
    /// The operations.
    pub ops: *const nk_transport_ops,
}

/// The KasperskyOS IPC transport: `NkKosTransport` (\[D\], 40 bytes on
/// 64-bit targets): the `nk_transport` it is used through, then the IPC
/// handle, what the last receive said about its request (`reply_handle`,
/// `thread`), the timeouts in milliseconds and the IPC sync objects its
/// receives and calls use.
#[repr(C)]
#[derive(Debug)]
pub struct NkKosTransport {
    /// The generic transport (what proxies are given: `&transport.base`).
    pub base: nk_transport,
    /// The client (caller) or server (receiver) IPC handle.
    pub handle: Handle,
    /// The handle the last received request came in on.
    pub reply_handle: Handle,
    /// The client thread that sent the last received request.
    pub thread: Tid,
    /// `mdelay` of the transport's RecvEx.
    pub recvTimeout: rtl_uint32_t,
    /// `mdelay` of the transport's CallEx.
    pub callTimeout: rtl_uint32_t,
    /// `syncHandle` of the transport's CallEx.
    pub callSyncHandle: Handle,
    /// `syncHandle` of the transport's RecvEx.
    pub recvSyncHandle: Handle,
}

/// Error codes of the NK runtime and transport (\[B\]).
pub mod nk_errno {
    use super::nk_err_t;
    /// Success.
    pub const NK_EOK: nk_err_t = 0;
    /// Not permitted (a denial).
    pub const NK_EPERM: nk_err_t = -1;
    /// No such interface or method.
    pub const NK_ENOENT: nk_err_t = -2;
    /// Try again (timeout, interrupt).
    pub const NK_EAGAIN: nk_err_t = -11;
    /// Out of memory, a buffer or arena too small.
    pub const NK_ENOMEM: nk_err_t = -12;
    /// Invalid argument.
    pub const NK_EINVAL: nk_err_t = -22;
    /// Not empty.
    pub const NK_ENOTEMPTY: nk_err_t = -39;
    /// No message.
    pub const NK_ENOMSG: nk_err_t = -42;
    /// Malformed message (a response not matching its request).
    pub const NK_EBADMSG: nk_err_t = -74;
    /// Not connected (the peer is gone).
    pub const NK_ENOTCONN: nk_err_t = -107;
}
pub use nk_errno::*;

/// The SDK's error codes are `0x90000000 | n` (\[B\], KCE 1.2).
const fn kos_rc(n: u32) -> Retcode {
    (0x9000_0000u32 | n) as Retcode
}

/// `RC_GET_CODE(rc)`: bits 0..15 (\[B\]).
pub const fn rc_get_code(rc: Retcode) -> u32 {
    (rc as u32) & 0xFFFF
}
/// `RC_GET_FACILITY(rc)`: bits 16..22 (\[B\]).
pub const fn rc_get_facility(rc: Retcode) -> u32 {
    ((rc as u32) >> 16) & 0x7F
}
/// `RC_GET_SPACE(rc)`: bits 23..27 (\[B\]).
pub const fn rc_get_space(rc: Retcode) -> u32 {
    ((rc as u32) >> 23) & 0x1F
}
/// `RC_GET_CUSTOMER(rc)`: bit 29 (\[B\]).
pub const fn rc_get_customer(rc: Retcode) -> u32 {
    ((rc as u32) >> 29) & 0x1
}

/// Success.
pub const rcOk: Retcode = 0;
/// Invalid argument: NULL or malformed header, inconsistent buffers.
pub const rcInvalidArgument: Retcode = kos_rc(0x01);
/// The server end of the channel is gone, or the handle names no channel.
pub const rcNotConnected: Retcode = kos_rc(0x02);
/// Out of memory, or a fixed table is full.
pub const rcOutOfMemory: Retcode = kos_rc(0x03);
/// A receiving buffer is too small for the message.
pub const rcBufferTooSmall: Retcode = kos_rc(0x04);
/// Internal error.
pub const rcInternalError: Retcode = kos_rc(0x05);
/// Transfer error.
pub const rcTransferError: Retcode = kos_rc(0x06);
/// Receive error.
pub const rcReceiveError: Retcode = kos_rc(0x07);
/// Source fault.
pub const rcSourceFault: Retcode = kos_rc(0x08);
/// Target fault.
pub const rcTargetFault: Retcode = kos_rc(0x09);
/// CallEx/RecvEx interrupted through an IPC synchronization object.
pub const rcIpcInterrupt: Retcode = kos_rc(0x0A);
/// Restart.
pub const rcRestart: Retcode = kos_rc(0x0B);
/// Unspecified failure (0x0C is unused in the SDK's table).
pub const rcFail: Retcode = kos_rc(0x0D);
/// The caller lacks the capability.
pub const rcNoCapability: Retcode = kos_rc(0x0E);
/// Not ready.
pub const rcNotReady: Retcode = kos_rc(0x0F);
/// Not implemented.
pub const rcUnimplemented: Retcode = kos_rc(0x10);
/// A buffer is too large.
pub const rcBufferTooLarge: Retcode = kos_rc(0x11);
/// The object is busy.
pub const rcBusy: Retcode = kos_rc(0x12);
/// Resource not found.
pub const rcResourceNotFound: Retcode = kos_rc(0x13);
/// CallEx/RecvEx: the timeout expired.
pub const rcTimeout: Retcode = kos_rc(0x14);
/// The security module forbids this message.
pub const rcSecurityDisallow: Retcode = kos_rc(0x15);
/// A futex wait would block.
pub const rcFutexWouldBlock: Retcode = kos_rc(0x16);
/// Aborted.
pub const rcAbort: Retcode = kos_rc(0x17);
/// The thread is in the wrong state.
pub const rcInvalidThreadState: Retcode = kos_rc(0x18);
/// Already exists.
pub const rcAlreadyExists: Retcode = kos_rc(0x19);
/// The operation is not valid here.
pub const rcInvalidOperation: Retcode = kos_rc(0x1A);
/// The handle was revoked.
pub const rcHandleRevoked: Retcode = kos_rc(0x1B);
/// A quota is exceeded.
pub const rcQuotaExceeded: Retcode = kos_rc(0x1C);
/// No such device.
pub const rcDeviceNotFound: Retcode = kos_rc(0x1D);
/// Overflow.
pub const rcOverflow: Retcode = kos_rc(0x1E);

/// Every code of the SDK's table with its name, in the table's order (\[B\]).
///
/// The values are the SDK's. Identifiers the public material spells out
/// (rcInvalidArgument ... rcSecurityDisallow, rcNotReady, rcUnimplemented,
/// rcBufferTooLarge, rcResourceNotFound, rcAlreadyExists, rcHandleRevoked)
/// are the SDK's; the others (rcInternalError, rcTransferError,
/// rcReceiveError, rcSourceFault, rcTargetFault, rcRestart,
/// rcFutexWouldBlock, rcAbort, rcInvalidThreadState, rcInvalidOperation,
/// rcQuotaExceeded, rcDeviceNotFound, rcOverflow) are this project's
/// spelling of the table's descriptions.
pub const RETCODE_NAMES: [(Retcode, &str); 30] = [
    (rcOk, "rcOk"),
    (rcInvalidArgument, "rcInvalidArgument"),
    (rcNotConnected, "rcNotConnected"),
    (rcOutOfMemory, "rcOutOfMemory"),
    (rcBufferTooSmall, "rcBufferTooSmall"),
    (rcInternalError, "rcInternalError"),
    (rcTransferError, "rcTransferError"),
    (rcReceiveError, "rcReceiveError"),
    (rcSourceFault, "rcSourceFault"),
    (rcTargetFault, "rcTargetFault"),
    (rcIpcInterrupt, "rcIpcInterrupt"),
    (rcRestart, "rcRestart"),
    (rcFail, "rcFail"),
    (rcNoCapability, "rcNoCapability"),
    (rcNotReady, "rcNotReady"),
    (rcUnimplemented, "rcUnimplemented"),
    (rcBufferTooLarge, "rcBufferTooLarge"),
    (rcBusy, "rcBusy"),
    (rcResourceNotFound, "rcResourceNotFound"),
    (rcTimeout, "rcTimeout"),
    (rcSecurityDisallow, "rcSecurityDisallow"),
    (rcFutexWouldBlock, "rcFutexWouldBlock"),
    (rcAbort, "rcAbort"),
    (rcInvalidThreadState, "rcInvalidThreadState"),
    (rcAlreadyExists, "rcAlreadyExists"),
    (rcInvalidOperation, "rcInvalidOperation"),
    (rcHandleRevoked, "rcHandleRevoked"),
    (rcQuotaExceeded, "rcQuotaExceeded"),
    (rcDeviceNotFound, "rcDeviceNotFound"),
    (rcOverflow, "rcOverflow"),
];

/// The codes the statistics count one by one (the IPC calls' own results),
/// in counter-slot order; any other code is counted as "other".
pub const COUNTED_RETCODES: [(Retcode, &str); 13] = [
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

/// The SDK name of a return code, if it has one.
pub fn retcode_name(rc: Retcode) -> Option<&'static str> {
    RETCODE_NAMES
        .iter()
        .find(|(code, _)| *code == rc)
        .map(|(_, name)| *name)
}

// Layout facts, checked when the crate compiles. The offsets are the SDK's
// on its 64-bit targets (aarch64 [B], x86-64 by the same C rules).
const _: () = {
    assert!(size_of::<Handle>() == 4);
    assert!(size_of::<Tid>() == 4);
    assert!(size_of::<TaskId>() == 4);
    assert!(size_of::<Retcode>() == 4);
    assert!(size_of::<nk_handle_desc_t>() == 16);
    assert!(offset_of!(nk_handle_desc_t, handle) == 0);
    assert!(offset_of!(nk_handle_desc_t, rights) == 4);
    assert!(offset_of!(nk_handle_desc_t, badge) == 8);
    assert!(size_of::<nk_message>() == 24);
    assert!(align_of::<nk_message>() == 8);
    assert!(offset_of!(nk_message, iid) == 0);
    assert!(offset_of!(nk_message, mid) == 2);
    assert!(offset_of!(nk_message, ex) == 4);
    assert!(offset_of!(nk_message, self_) == 8);
    assert!(size_of::<nk_ptr_t>() == 8);
    assert!(align_of::<nk_ptr_t>() == 4);
    assert!(offset_of!(nk_ptr_t, offset) == 0);
    assert!(offset_of!(nk_ptr_t, size) == 4);
    assert!(size_of::<nk_arena>() == 3 * size_of::<usize>());
    assert!(offset_of!(nk_arena, start) == 0);
    assert!(offset_of!(nk_arena, current) == size_of::<usize>());
    assert!(offset_of!(nk_arena, end) == 2 * size_of::<usize>());
    assert!(offset_of!(IndirDesc, buf) == 0);
    assert!(offset_of!(IndirDesc, size) == size_of::<usize>());
    assert!(size_of::<SMsgImm>() == 4);
    assert!(offset_of!(SMsgHdr, replyHandle) == 0);
    assert!(offset_of!(SMsgHdr, sender) == 4);
    assert!(offset_of!(SMsgHdr, threadId) == 8);
    assert!(offset_of!(SMsgHdr, traceId) == 16);
    assert!(offset_of!(SMsgHdr, spanId) == 24);
    assert!(offset_of!(SMsgHdr, immSize) == 32);
    // The NK transport ([D]): pointers first, then 32-bit fields.
    assert!(size_of::<nk_transport>() == size_of::<usize>());
    assert!(size_of::<nk_transport_ops>() == 5 * size_of::<usize>());
    assert!(offset_of!(nk_transport_ops, call) == 0);
    assert!(offset_of!(nk_transport_ops, recv) == size_of::<usize>());
    assert!(offset_of!(nk_transport_ops, reply) == 2 * size_of::<usize>());
    assert!(offset_of!(nk_transport_ops, send) == 3 * size_of::<usize>());
    assert!(offset_of!(nk_transport_ops, wait) == 4 * size_of::<usize>());
    assert!(offset_of!(NkKosTransport, base) == 0);
    assert!(offset_of!(NkKosTransport, handle) == size_of::<usize>());
    assert!(offset_of!(NkKosTransport, reply_handle) == size_of::<usize>() + 4);
    assert!(offset_of!(NkKosTransport, thread) == size_of::<usize>() + 8);
    assert!(offset_of!(NkKosTransport, recvTimeout) == size_of::<usize>() + 12);
    assert!(offset_of!(NkKosTransport, callTimeout) == size_of::<usize>() + 16);
    assert!(offset_of!(NkKosTransport, callSyncHandle) == size_of::<usize>() + 20);
    assert!(offset_of!(NkKosTransport, recvSyncHandle) == size_of::<usize>() + 24);
    assert!(align_of::<NkKosTransport>() == align_of::<usize>());
    if size_of::<usize>() == 8 {
        assert!(size_of::<IndirDesc>() == 16);
        assert!(offset_of!(SMsgHdr, u) == 40);
        assert!(size_of::<SMsgHdr>() == 72);
        assert!(size_of::<NkKosTransport>() == 40);
        assert!(align_of::<SMsgHdr>() == 8);
    }
    // The bit-field accessors and the SDK's values ([D], [B]).
    let mut m = nk_message::new(0, 0, 0x0ABC_DEF1);
    assert!(m.ex == 0x0ABC_DEF1 && m.size_ex() == 0x0ABC_DEF1);
    m.ex |= 5 << 28;
    assert!(m.ncaps() == 5 && !m.err());
    m.ex |= 1 << 31;
    assert!(m.err() && m.size_ex() == 0x0ABC_DEF1);
    assert!(rcSecurityDisallow as u32 == 0x9000_0015);
    assert!(rcTimeout as u32 == 0x9000_0014);
    assert!(rcFail as u32 == 0x9000_000D);
    assert!(rc_get_code(rcSecurityDisallow) == 0x15);
    let mut i = 1;
    while i < RETCODE_NAMES.len() {
        // The table's order is the codes' order, with 0x0C left empty.
        let n = rc_get_code(RETCODE_NAMES[i].0);
        assert!(n == if i < 12 { i as u32 } else { i as u32 + 1 });
        i += 1;
    }
};
