//! Private helpers for the C ABI edge: the panic boundary and pointer checks.

use crate::abi::{rcFail, Retcode};

/// Run `f`; if it panics, return `rcFail` instead of unwinding into C.
///
/// Release builds use `panic = "abort"`, so this is the second line of
/// defence for test and debug builds; without `std` panics always abort.
#[inline(always)]
pub(crate) fn boundary<F: FnOnce() -> Retcode>(f: F) -> Retcode {
    boundary_or(rcFail, f)
}

/// Like [`boundary`], returning `fallback` on panic.
#[inline(always)]
pub(crate) fn boundary_or<T, F: FnOnce() -> T>(fallback: T, f: F) -> T {
    #[cfg(feature = "std")]
    {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(fallback)
    }
    #[cfg(not(feature = "std"))]
    {
        let _ = fallback;
        f()
    }
}

/// Borrow a C string argument as UTF-8; `None` for NULL or invalid UTF-8.
///
/// # Safety
/// `s` is NULL or points to a NUL-terminated string valid for `'a`.
#[allow(dead_code)]
pub(crate) unsafe fn c_str<'a>(s: *const core::ffi::c_char) -> Option<&'a str> {
    if s.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { core::ffi::CStr::from_ptr(s) }.to_str().ok()
}

/// Borrow `len` bytes at `p`; `Some(&[])` for length 0 (even if `p` is NULL),
/// `None` for NULL with a non-zero length. A slice is never built from NULL.
///
/// # Safety
/// `p` is NULL or valid for reads of `len` bytes for `'a`.
#[allow(dead_code)]
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize) -> Option<&'a [u8]> {
    if len == 0 {
        return Some(&[]);
    }
    if p.is_null() || len > isize::MAX as usize {
        return None;
    }
    // SAFETY: non-NULL, length bounded, valid per the caller's contract.
    Some(unsafe { core::slice::from_raw_parts(p, len) })
}

/// Write `value` through an out-pointer if it is non-NULL; false for NULL.
///
/// # Safety
/// `p` is NULL or valid for a write of `T`.
#[allow(dead_code)]
pub(crate) unsafe fn write_out<T>(p: *mut T, value: T) -> bool {
    if p.is_null() {
        return false;
    }
    // SAFETY: non-NULL and writable per the caller's contract.
    unsafe { p.write(value) };
    true
}
