//! `PackOutMsg` / `PackInMsg`: bind a message header to its buffers.
//!
//! A header is filled on the side and checked with the very validation the
//! five system calls apply ([`MsgOut::from_raw`], [`MsgIn::from_raw`]), so a
//! header these functions accept always passes the calls' checks.
#![allow(non_snake_case)]

use core::mem::align_of;

use crate::abi::{
    nk_arena, nk_message, rcInvalidArgument, rcOk, Retcode, SMsgHdr, SMSGHDR_DIR_IN,
    SMSGHDR_DIR_OUT, SMSGHDR_MAGIC,
};
use crate::ffi::boundary;
use crate::msg::{MsgIn, MsgOut};

fn aligned<T>(p: *const T) -> bool {
    !p.is_null() && (p as usize).is_multiple_of(align_of::<T>())
}

/// Bind `hdr` to the message to send: the constant part `msg` (whose `size`
/// field gives its length, this `nk_message` header included) and the
/// optional `arena` (NULL: none), of which the bytes `[start, current)` are
/// sent.
///
/// Returns rcOk, or rcInvalidArgument (nothing is bound, the header is left
/// unbound if it is writable) when `hdr` or `msg` is NULL or misaligned,
/// `msg->size` is below `sizeof(nk_message)` or above `NK_MSG_MAX_SIZE`, or
/// the arena is inconsistent (`start <= current <= end` violated, a NULL
/// pointer among non-NULL ones, larger than `NK_ARENA_MAX_SIZE`).
///
/// # Safety
/// `hdr` is NULL or writable; `msg` is NULL or points to `msg->size`
/// readable bytes; `arena` is NULL or points to an `nk_arena` whose
/// `[start, end)` is readable.
#[no_mangle]
pub unsafe extern "C" fn PackOutMsg(
    hdr: *mut SMsgHdr,
    msg: *const nk_message,
    arena: *const nk_arena,
) -> Retcode {
    boundary(|| {
        if !aligned(hdr) {
            return rcInvalidArgument;
        }
        let size = if aligned(msg) {
            // SAFETY: non-NULL and aligned; the caller promised an nk_message.
            unsafe { (*msg).size as usize }
        } else {
            0
        };
        let bound = SMsgHdr {
            msg: msg as *mut nk_message,
            msg_size: size,
            arena: arena as *mut nk_arena,
            magic: SMSGHDR_MAGIC,
            dir: SMSGHDR_DIR_OUT,
        };
        // SAFETY: `bound` is a live local header; its buffers are the caller's,
        // valid per this function's contract.
        let checked = unsafe { MsgOut::from_raw(&bound) }.map(|_| ());
        // SAFETY: hdr is non-NULL, aligned and writable per the contract.
        unsafe { store(hdr, bound, checked) }
    })
}

/// Bind `hdr` to a buffer to receive into: the constant-part buffer `buf`,
/// whose capacity is read from `buf->size` (set it to the buffer's size
/// first), and the optional `arena` (NULL: none) whose whole `[start, end)`
/// may receive arena bytes (on receipt they land at `start` and `current` is
/// set past them).
///
/// Returns rcOk, or rcInvalidArgument (nothing is bound) under the same
/// conditions as `PackOutMsg`, with `buf->size` as the capacity.
///
/// # Safety
/// `hdr` is NULL or writable; `buf` is NULL or points to `buf->size`
/// writable bytes; `arena` is NULL or points to an `nk_arena` whose
/// `[start, end)` is writable. They must stay valid while `hdr` is used.
#[no_mangle]
pub unsafe extern "C" fn PackInMsg(
    hdr: *mut SMsgHdr,
    buf: *mut nk_message,
    arena: *mut nk_arena,
) -> Retcode {
    boundary(|| {
        if !aligned(hdr) {
            return rcInvalidArgument;
        }
        let size = if aligned(buf) {
            // SAFETY: non-NULL and aligned; the caller promised an nk_message.
            unsafe { (*buf).size as usize }
        } else {
            0
        };
        let mut bound = SMsgHdr {
            msg: buf,
            msg_size: size,
            arena,
            magic: SMSGHDR_MAGIC,
            dir: SMSGHDR_DIR_IN,
        };
        // SAFETY: as in PackOutMsg; MsgIn::from_raw only reads the header.
        let checked = unsafe { MsgIn::from_raw(&mut bound) }.map(|_| ());
        // SAFETY: hdr is non-NULL, aligned and writable per the contract.
        unsafe { store(hdr, bound, checked) }
    })
}

/// Write the header if it validated, else leave `hdr` unbound.
///
/// # Safety
/// `hdr` is non-NULL, aligned and writable.
unsafe fn store(hdr: *mut SMsgHdr, bound: SMsgHdr, checked: Result<(), Retcode>) -> Retcode {
    match checked {
        Ok(()) => {
            // SAFETY: the caller's contract.
            unsafe { hdr.write(bound) };
            rcOk
        }
        Err(rc) => {
            // SAFETY: the caller's contract; only a plain field is written.
            unsafe { core::ptr::addr_of_mut!((*hdr).magic).write(0) };
            rc
        }
    }
}
