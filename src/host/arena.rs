//! Arena helpers: the variable-size part of a message.
//!
//! An arena is a caller-owned buffer `[start, end)`; `[start, current)` is in
//! use. The SDK's macros in `<nk/arena.h>` (`nk_arena_store`,
//! `nk_arena_alloc`, `nk_arena_get`, which take the element type as their
//! first argument) expand to calls of the three functions here with the
//! type's size and alignment. A stored block starts at the next offset
//! aligned for its type; its `nk_ptr_t` holds that offset and the block's
//! size in bytes. `nk_arena_get` checks a reference against the bytes in use
//! (after a receive: the bytes that arrived), so a malformed message can
//! never make the reader run past them.
//!
//! The SDK's own implementation is not public: the alignment rule and the
//! result codes are this project's (docs/abi.md).

use core::ffi::c_void;
use core::mem::align_of;

use crate::abi::{nk_arena, nk_err_t, nk_ptr_t, rtl_size_t, NK_EINVAL, NK_ENOMEM, NK_EOK};
use crate::ffi::boundary_or;

/// `[start, current, end)` as addresses, if the arena is consistent
/// (non-NULL start, `start <= current <= end`).
fn bounds(a: &nk_arena) -> Option<(usize, usize, usize)> {
    let (s, c, e) = (a.start as usize, a.current as usize, a.end as usize);
    (s != 0 && s <= c && c <= e).then_some((s, c, e))
}

fn aligned<T>(p: *const T) -> bool {
    !p.is_null() && (p as usize).is_multiple_of(align_of::<T>())
}

/// Reserve `size` bytes aligned to `align` at the arena's end; describe them
/// in `*ptr` and return their address, or the NK error.
///
/// # Safety
/// `a` is NULL or points to a valid `nk_arena`; `ptr` is NULL or writable.
unsafe fn reserve(
    a: *mut nk_arena,
    ptr: *mut nk_ptr_t,
    size: usize,
    align: usize,
) -> Result<*mut u8, nk_err_t> {
    if !aligned(a) || !aligned(ptr) || !align.is_power_of_two() {
        return Err(NK_EINVAL);
    }
    // SAFETY: a is non-NULL, aligned and valid per the contract.
    let a = unsafe { &mut *a };
    let (start, cur, end) = bounds(a).ok_or(NK_EINVAL)?;
    let offset = (cur - start)
        .checked_next_multiple_of(align)
        .ok_or(NK_ENOMEM)?;
    let last = offset.checked_add(size).ok_or(NK_ENOMEM)?;
    if last > end - start {
        return Err(NK_ENOMEM);
    }
    let (Ok(off32), Ok(len32)) = (u32::try_from(offset), u32::try_from(size)) else {
        return Err(NK_ENOMEM);
    };
    let block = a.start.wrapping_add(offset);
    a.current = a.start.wrapping_add(last);
    // SAFETY: ptr is non-NULL, aligned and writable per the contract.
    unsafe {
        ptr.write(nk_ptr_t {
            offset: off32,
            size: len32,
        })
    };
    Ok(block)
}

/// What `nk_arena_alloc(type, arena, ptr, count)` calls: reserve `size`
/// bytes aligned to `align`, describe them in `*ptr` and return their
/// address (NULL when the arena has no room, is inconsistent, or `a`/`ptr`
/// is NULL; the arena is then unchanged).
///
/// # Safety
/// `a` is NULL or points to a valid `nk_arena`; `ptr` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn kos_nk_arena_alloc(
    a: *mut nk_arena,
    ptr: *mut nk_ptr_t,
    size: rtl_size_t,
    align: rtl_size_t,
) -> *mut c_void {
    boundary_or(core::ptr::null_mut(), || {
        // SAFETY: the caller's contract.
        unsafe { reserve(a, ptr, size, align) }.map_or(core::ptr::null_mut(), |p| p.cast())
    })
}

/// What `nk_arena_store(type, arena, ptr, src, count)` calls: append the
/// `size` bytes at `data` (aligned to `align`) and describe them in `*ptr`.
///
/// Returns NK_EOK; NK_ENOMEM when the arena has no room for them (the arena
/// is unchanged); NK_EINVAL when `a` or `ptr` is NULL, `data` is NULL with a
/// non-zero `size`, or the arena is inconsistent or has no buffer.
///
/// # Safety
/// `a` is NULL or points to a valid `nk_arena`; `ptr` is NULL or writable;
/// `data` is NULL or points to `size` readable bytes that do not overlap the
/// arena's free space.
#[no_mangle]
pub unsafe extern "C" fn kos_nk_arena_store(
    a: *mut nk_arena,
    ptr: *mut nk_ptr_t,
    data: *const c_void,
    size: rtl_size_t,
    align: rtl_size_t,
) -> nk_err_t {
    boundary_or(NK_EINVAL, || {
        if data.is_null() && size != 0 {
            return NK_EINVAL;
        }
        // SAFETY: the caller's contract.
        match unsafe { reserve(a, ptr, size, align) } {
            Ok(block) => {
                if size != 0 {
                    // SAFETY: `size` bytes were reserved at `block` and `data`
                    // holds `size` readable bytes per the contract.
                    unsafe { core::ptr::copy_nonoverlapping(data.cast::<u8>(), block, size) };
                }
                NK_EOK
            }
            Err(e) => e,
        }
    })
}

/// What `nk_arena_get(type, arena, ptr, &count)` calls: the address of the
/// block `*ptr` refers to, with its element count (`ptr->size / elem_size`)
/// stored in `*count`, an unsigned integer of `count_width` bytes (1, 2, 4
/// or 8: the SDK's examples pass both `nk_uint32_t` and `nk_size_t` counts).
///
/// Returns NULL (and stores a count of 0) when `a` or `ptr` is NULL, the
/// arena is inconsistent or has no buffer, the block reaches outside
/// `[start, current)`, or its size is not a whole number of elements; and
/// NULL with nothing stored for a `count_width` other than 1, 2, 4 or 8.
///
/// # Safety
/// `a` is NULL or points to a valid `nk_arena`; `ptr` is NULL or readable;
/// `count` is NULL or points to `count_width` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn kos_nk_arena_get(
    a: *const nk_arena,
    ptr: *const nk_ptr_t,
    elem_size: rtl_size_t,
    count: *mut c_void,
    count_width: rtl_size_t,
) -> *mut c_void {
    boundary_or(core::ptr::null_mut(), || {
        let found = || {
            if !aligned(a) || !aligned(ptr) || elem_size == 0 {
                return None;
            }
            // SAFETY: both non-NULL and aligned; valid per the contract.
            let (a, p) = unsafe { (&*a, *ptr) };
            let (start, cur, _) = bounds(a)?;
            let (offset, len) = (p.offset as usize, p.size as usize);
            if offset.checked_add(len)? > cur - start || len % elem_size != 0 {
                return None;
            }
            Some((a.start.wrapping_add(offset), len / elem_size))
        };
        // A count of a width this function cannot write gets nothing, and
        // the block is not handed out either: the caller could not know how
        // many elements it holds.
        if !matches!(count_width, 1 | 2 | 4 | 8) {
            return core::ptr::null_mut();
        }
        let (block, n) = found().unwrap_or((core::ptr::null_mut(), 0));
        if !count.is_null() {
            // SAFETY: non-NULL and `count_width` bytes writable per the contract.
            unsafe {
                match count_width {
                    1 => count.cast::<u8>().write_unaligned(n as u8),
                    2 => count.cast::<u16>().write_unaligned(n as u16),
                    4 => count.cast::<u32>().write_unaligned(n as u32),
                    _ => count.cast::<u64>().write_unaligned(n as u64),
                }
            }
        }
        block.cast()
    })
}
