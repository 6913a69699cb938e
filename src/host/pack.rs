//! `PackOutMsg` / `PackInMsg`: point a message header at its buffers.
//!
//! As in the SDK (\[B\], see `crate::abi`): `immSize` becomes 0, descriptor 0
//! the constant part (`ex.size_ex` bytes), descriptor 1 the arena's buffer
//! with the bytes in use when sending (`current - start`) or its capacity
//! when receiving (`end - start`), NULL and 0 without an arena. The header is
//! then checked with the very validation the five system calls apply
//! ([`MsgOut::from_raw`], [`MsgIn::from_raw`]), so a header these functions
//! accept always passes the calls' checks.
//!
//! This project's choices where the SDK's are not public: the other header
//! fields (`replyHandle`, `sender`, `threadId`, `traceId`, `spanId`) are set
//! to 0, so a header on the stack starts clean (set `threadId` or the trace
//! context after packing); and a header that fails the checks is left with
//! descriptor 0 empty, so every call refuses it with rcInvalidArgument.
#![allow(non_snake_case)]

use core::mem::align_of;

use crate::abi::{nk_arena, nk_message, rcInvalidArgument, rcOk, IndirDesc, Retcode, SMsgHdr};
use crate::ffi::boundary;
use crate::msg::{MsgIn, MsgOut};

fn aligned<T>(p: *const T) -> bool {
    !p.is_null() && (p as usize).is_multiple_of(align_of::<T>())
}

/// Which size of the arena descriptor 1 gets.
#[derive(Clone, Copy)]
enum ArenaPart {
    /// `[start, current)`: the bytes to send.
    Used,
    /// `[start, end)`: room to receive into.
    Capacity,
}

/// The descriptors for `msg` and `arena`, or None when the arena is
/// inconsistent (a NULL pointer among non-NULL ones, `start <= current <=
/// end` violated, or larger than a descriptor can say).
///
/// # Safety
/// `msg` is NULL or points to a readable `nk_message`; `arena` is NULL or
/// points to a readable `nk_arena`.
unsafe fn descriptors(
    msg: *const nk_message,
    arena: *const nk_arena,
    part: ArenaPart,
) -> Option<[IndirDesc; 2]> {
    let size = if aligned(msg) {
        // SAFETY: non-NULL and aligned; the caller promised an nk_message.
        unsafe { (*msg).size_ex() }
    } else {
        0
    };
    let d0 = IndirDesc {
        buf: msg as *mut core::ffi::c_void,
        size,
    };
    if arena.is_null() {
        return Some([d0, IndirDesc::NONE]);
    }
    if !aligned(arena) {
        return None;
    }
    // SAFETY: non-NULL and aligned; the caller promised an nk_arena.
    let a = unsafe { &*arena };
    let (start, cur, end) = (a.start as usize, a.current as usize, a.end as usize);
    if start == 0 {
        // An arena with no buffer is no arena, if it is empty.
        return (cur == 0 && end == 0).then_some([d0, IndirDesc::NONE]);
    }
    if cur < start || end < cur {
        return None;
    }
    let len = match part {
        ArenaPart::Used => cur - start,
        ArenaPart::Capacity => end - start,
    };
    let d1 = IndirDesc {
        buf: a.start.cast(),
        size: u32::try_from(len).ok()?,
    };
    Some([d0, d1])
}

/// Fill `hdr` with `descs` (or an empty descriptor 0 when None) and clear
/// its other fields.
///
/// # Safety
/// `hdr` is non-NULL, aligned and writable.
unsafe fn fill(hdr: *mut SMsgHdr, descs: Option<[IndirDesc; 2]>) {
    let mut h = SMsgHdr::ZERO;
    h.set_descs(descs.unwrap_or([IndirDesc::NONE; 2]));
    // SAFETY: the caller's contract.
    unsafe { hdr.write(h) };
}

/// PackOutMsg / PackInMsg: fill `hdr` from `msg` and `arena` with the
/// arena's `part`, then run the calls' own `check` on it; a header that
/// fails keeps an empty descriptor 0.
///
/// # Safety
/// As for PackOutMsg (PackInMsg: the buffers also writable); `check` is
/// called with `hdr` pointing at them and must only read.
unsafe fn pack(
    hdr: *mut SMsgHdr,
    msg: *const nk_message,
    arena: *const nk_arena,
    part: ArenaPart,
    check: impl FnOnce(*mut SMsgHdr) -> Result<(), Retcode>,
) -> Retcode {
    boundary(|| {
        if !aligned(hdr) {
            return rcInvalidArgument;
        }
        // SAFETY: the caller's contract for msg and arena.
        let Some(descs) = (unsafe { descriptors(msg, arena, part) }) else {
            // SAFETY: hdr is non-NULL, aligned and writable per the contract.
            unsafe { fill(hdr, None) };
            return rcInvalidArgument;
        };
        // SAFETY: as above.
        unsafe { fill(hdr, Some(descs)) };
        match check(hdr) {
            Ok(()) => rcOk,
            Err(rc) => {
                // SAFETY: as above.
                unsafe { fill(hdr, None) };
                rc
            }
        }
    })
}

/// Point `hdr` at a message to send: descriptor 0 is the constant part
/// `msg` (`msg->ex.size_ex` bytes, this `nk_message` included), descriptor 1
/// the bytes `[start, current)` of `arena` (NULL: no arena). The other header
/// fields are set to 0.
///
/// Returns rcOk, or rcInvalidArgument when `hdr` is NULL or misaligned (then
/// nothing is written), or when the header would fail the calls' checks:
/// `msg` NULL, `size_ex` below `sizeof(nk_message)` or above
/// `KOS_SHIM_MSG_MAX_SIZE`, the arena inconsistent or above `KOS_SHIM_ARENA_MAX_SIZE`
/// (then descriptor 0 is left empty, so every call refuses the header).
///
/// # Safety
/// `hdr` is NULL or writable; `msg` is NULL or points to `msg->ex.size_ex`
/// readable bytes; `arena` is NULL or points to an `nk_arena` whose
/// `[start, end)` is readable. They must stay valid while `hdr` is used.
#[no_mangle]
pub unsafe extern "C" fn PackOutMsg(
    hdr: *mut SMsgHdr,
    msg: *const nk_message,
    arena: *const nk_arena,
) -> Retcode {
    // SAFETY: the caller's contract; the check only reads the buffers.
    unsafe {
        pack(hdr, msg, arena, ArenaPart::Used, |h| {
            MsgOut::from_raw(h).map(|_| ())
        })
    }
}

/// Point `hdr` at buffers to receive into: descriptor 0 is the constant-part
/// buffer `buf` with room for `buf->ex.size_ex` bytes (set it to the
/// buffer's size first, as `nk_req_reset` does), descriptor 1 the whole
/// `[start, end)` of `arena` (NULL: no arena). The other header fields are
/// set to 0.
///
/// A receive through the header stores what arrived in the descriptors'
/// sizes (this project's convention, see docs/abi.md): pack the header again
/// before the next receive, as the NK transport does.
///
/// Returns rcOk, or rcInvalidArgument under the same conditions as
/// `PackOutMsg`, with `buf->ex.size_ex` as the capacity.
///
/// # Safety
/// `hdr` is NULL or writable; `buf` is NULL or points to `buf->ex.size_ex`
/// writable bytes; `arena` is NULL or points to an `nk_arena` whose
/// `[start, end)` is writable. They must stay valid while `hdr` is used.
#[no_mangle]
pub unsafe extern "C" fn PackInMsg(
    hdr: *mut SMsgHdr,
    buf: *mut nk_message,
    arena: *mut nk_arena,
) -> Retcode {
    // SAFETY: the caller's contract; MsgIn::from_raw only reads the header.
    unsafe {
        pack(hdr, buf, arena, ArenaPart::Capacity, |h| {
            MsgIn::from_raw(h).map(|_| ())
        })
    }
}
