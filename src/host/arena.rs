//! Arena helpers: the variable-size part of a message.
//!
//! An arena is a caller-owned buffer `[start, end)`; `[start, current)` is in
//! use. Data is appended with `nk_arena_store`, which returns an `nk_ptr_t`
//! (offset and size from `start`) to put into the constant part; the receiver
//! resolves such references with `nk_arena_get`, which checks them against the
//! bytes actually received.

use core::ffi::c_void;
use core::mem::align_of;

use crate::abi::{
    nk_arena, nk_ptr_t, rcBufferTooSmall, rcInvalidArgument, rcOk, rtl_size_t, Retcode,
};
use crate::ffi::{boundary, boundary_or};

/// `[start, current, end)` as addresses, if the arena is consistent
/// (non-NULL start, `start <= current <= end`).
fn bounds(a: &nk_arena) -> Option<(usize, usize, usize)> {
    let (s, c, e) = (a.start as usize, a.current as usize, a.end as usize);
    (s != 0 && s <= c && c <= e).then_some((s, c, e))
}

fn aligned<T>(p: *const T) -> bool {
    !p.is_null() && (p as usize).is_multiple_of(align_of::<T>())
}

/// Make `a` an empty arena over the `size` bytes at `buf` (`start` =
/// `current` = `buf`, `end` = `buf + size`). With `buf` NULL or `size` 0 the
/// arena is empty with all three pointers NULL (no arena). NULL `a`: no effect.
///
/// # Safety
/// `a` is NULL or writable; `buf` is NULL or points to `size` bytes that stay
/// valid while the arena is used.
#[no_mangle]
pub unsafe extern "C" fn nk_arena_init(a: *mut nk_arena, buf: *mut c_void, size: rtl_size_t) {
    boundary_or((), || {
        if !aligned(a) {
            return;
        }
        let (start, end) = if buf.is_null() || size == 0 {
            (core::ptr::null_mut(), core::ptr::null_mut())
        } else {
            let start = buf as *mut u8;
            (start, start.wrapping_add(size))
        };
        // SAFETY: a is non-NULL, aligned and writable per the contract.
        unsafe {
            a.write(nk_arena {
                start,
                current: start,
                end,
            })
        };
    })
}

/// Empty the arena: `current` = `start`. NULL `a`: no effect.
///
/// # Safety
/// `a` is NULL or points to a writable `nk_arena`.
#[no_mangle]
pub unsafe extern "C" fn nk_arena_reset(a: *mut nk_arena) {
    boundary_or((), || {
        if !aligned(a) {
            return;
        }
        // SAFETY: a is non-NULL, aligned and valid per the contract.
        let a = unsafe { &mut *a };
        a.current = a.start;
    })
}

/// Append `size` bytes from `data` to the arena and describe them in `*ptr`
/// (offset from `start`, size). `size` 0 stores nothing and gives a
/// reference of size 0 at the current offset.
///
/// Returns rcOk; rcBufferTooSmall when fewer than `size` bytes are free (the
/// arena is unchanged); rcInvalidArgument when `a` or `ptr` is NULL, `data` is
/// NULL with a non-zero `size`, the arena is inconsistent or has no buffer,
/// or the offset would not fit 32 bits.
///
/// # Safety
/// `a` points to an arena initialised with `nk_arena_init`; `ptr` is NULL or
/// writable; `data` is NULL or points to `size` readable bytes that do not
/// overlap the arena's free space.
#[no_mangle]
pub unsafe extern "C" fn nk_arena_store(
    a: *mut nk_arena,
    ptr: *mut nk_ptr_t,
    data: *const c_void,
    size: rtl_size_t,
) -> Retcode {
    boundary(|| {
        if !aligned(a) || !aligned(ptr) || (data.is_null() && size != 0) {
            return rcInvalidArgument;
        }
        // SAFETY: a is non-NULL, aligned and valid per the contract.
        let a = unsafe { &mut *a };
        let Some((start, cur, end)) = bounds(a) else {
            return rcInvalidArgument;
        };
        let (Ok(offset), Ok(len)) = (u32::try_from(cur - start), u32::try_from(size)) else {
            return rcInvalidArgument;
        };
        if offset.checked_add(len).is_none() {
            return rcInvalidArgument;
        }
        if end - cur < size {
            return rcBufferTooSmall;
        }
        if size != 0 {
            // SAFETY: `size` bytes are free at `current` (checked just above)
            // and `data` holds `size` readable bytes per the contract.
            unsafe { core::ptr::copy_nonoverlapping(data as *const u8, a.current, size) };
        }
        a.current = a.current.wrapping_add(size);
        // SAFETY: ptr is non-NULL, aligned and writable per the contract.
        unsafe { ptr.write(nk_ptr_t { offset, size: len }) };
        rcOk
    })
}

/// The bytes an `nk_ptr_t` refers to: `start + ptr->offset`, with
/// `ptr->size` stored in `*size` when `size` is not NULL.
///
/// Returns NULL when `a` or `ptr` is NULL, the arena is inconsistent or has
/// no buffer, or the reference reaches outside `[start, current)` (so a
/// malformed message can never make the reader run past the received bytes).
///
/// # Safety
/// `a` is NULL or points to a valid `nk_arena`; `ptr` is NULL or readable;
/// `size` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn nk_arena_get(
    a: *const nk_arena,
    ptr: *const nk_ptr_t,
    size: *mut rtl_size_t,
) -> *const c_void {
    boundary_or(core::ptr::null(), || {
        if !aligned(a) || !aligned(ptr) {
            return core::ptr::null();
        }
        // SAFETY: both non-NULL and aligned; valid per the contract.
        let (a, p) = unsafe { (&*a, *ptr) };
        let Some((start, cur, _)) = bounds(a) else {
            return core::ptr::null();
        };
        let (offset, len) = (p.offset as usize, p.size as usize);
        match offset.checked_add(len) {
            Some(last) if last <= cur - start => {}
            _ => return core::ptr::null(),
        }
        if !size.is_null() {
            // SAFETY: non-NULL and writable per the contract.
            unsafe { size.write_unaligned(len) };
        }
        a.start.wrapping_add(offset) as *const c_void
    })
}
