//! The five system calls, exported with the SDK's C signatures.
//!
//! Each body is the panic boundary around one call of
//! [`crate::pipeline::dispatch`]. They are exported under the SDK names
//! (`Call`, ...) — reaching the host emulator with feature `host` — or, with
//! feature `wrap`, as `__wrap_Call`, ... for GNU ld's `--wrap`, reaching the
//! kernel's `__real_Call`, ...
//!
//! The attribute pair on each function: `no_mangle` lets cbindgen see the
//! export; under `wrap`, `export_name` takes precedence (hence the allow).
#![allow(non_snake_case)]

use crate::abi::{rtl_uint32_t, Handle, Retcode, SMsgHdr, INFINITE_TIMEOUT, INVALID_HANDLE};
use crate::ffi::boundary;
use crate::op::Op;
use crate::pipeline::dispatch;

/// Send the request `msgOut` on `handle` and wait for the response in `msgIn`.
///
/// Returns rcOk; rcInvalidArgument (NULL, unbound or malformed header, wrong
/// handle type, closed client handle); rcNotConnected (the server end is
/// closed or was never there); rcBufferTooSmall (a message does not fit the
/// receiving buffers: nothing is written past them); rcSecurityDisallow (the
/// policy denies the request; the server never sees it).
///
/// # Safety
/// `msgOut` and `msgIn` are NULL or point to headers bound by PackOutMsg /
/// PackInMsg whose buffers stay valid until the call returns.
#[no_mangle]
#[allow(unused_attributes)]
#[cfg_attr(feature = "wrap", export_name = "__wrap_Call")]
pub unsafe extern "C" fn Call(
    handle: Handle,
    msgOut: *const SMsgHdr,
    msgIn: *mut SMsgHdr,
) -> Retcode {
    // SAFETY: pointers passed on under the caller's contract.
    boundary(|| unsafe {
        dispatch(
            Op::Call,
            handle,
            msgOut,
            msgIn,
            INFINITE_TIMEOUT,
            INVALID_HANDLE,
        )
    })
}

/// `Call` with a completion timeout and an interrupt object.
///
/// `mdelay` is the timeout in milliseconds (`INFINITE_TIMEOUT`: none);
/// `syncHandle` an IPC synchronization object (`INVALID_HANDLE`: not
/// interruptible). Returns what `Call` returns, plus rcTimeout when the
/// timeout expires and rcIpcInterrupt when the sync object is set before the
/// server received the request (once received, the call runs to completion).
///
/// # Safety
/// As for `Call`.
#[no_mangle]
#[allow(unused_attributes)]
#[cfg_attr(feature = "wrap", export_name = "__wrap_CallEx")]
pub unsafe extern "C" fn CallEx(
    handle: Handle,
    msgOut: *const SMsgHdr,
    msgIn: *mut SMsgHdr,
    mdelay: rtl_uint32_t,
    syncHandle: Handle,
) -> Retcode {
    // SAFETY: pointers passed on under the caller's contract.
    boundary(|| unsafe { dispatch(Op::CallEx, handle, msgOut, msgIn, mdelay, syncHandle) })
}

/// Wait on the server handle `handle` for a request and receive it into `msgIn`.
///
/// Returns rcOk; rcInvalidArgument (bad header, not a server handle);
/// rcNotConnected (the server handle was closed while waiting);
/// rcBufferTooSmall (the request does not fit: it is refused and its caller
/// gets rcBufferTooSmall too). Recv is never denied by policy, only audited.
///
/// # Safety
/// `msgIn` is NULL or points to a header bound by PackInMsg whose buffers stay
/// valid until the call returns.
#[no_mangle]
#[allow(unused_attributes)]
#[cfg_attr(feature = "wrap", export_name = "__wrap_Recv")]
pub unsafe extern "C" fn Recv(handle: Handle, msgIn: *mut SMsgHdr) -> Retcode {
    // SAFETY: pointer passed on under the caller's contract.
    boundary(|| unsafe {
        dispatch(
            Op::Recv,
            handle,
            core::ptr::null(),
            msgIn,
            INFINITE_TIMEOUT,
            INVALID_HANDLE,
        )
    })
}

/// `Recv` with a timeout and an interrupt object.
///
/// Returns what `Recv` returns, plus rcTimeout when `mdelay` milliseconds
/// pass with no request and rcIpcInterrupt when `syncHandle` is set while
/// waiting (or was already set on entry).
///
/// # Safety
/// As for `Recv`.
#[no_mangle]
#[allow(unused_attributes)]
#[cfg_attr(feature = "wrap", export_name = "__wrap_RecvEx")]
pub unsafe extern "C" fn RecvEx(
    handle: Handle,
    msgIn: *mut SMsgHdr,
    mdelay: rtl_uint32_t,
    syncHandle: Handle,
) -> Retcode {
    // SAFETY: pointer passed on under the caller's contract.
    boundary(|| unsafe {
        dispatch(
            Op::RecvEx,
            handle,
            core::ptr::null(),
            msgIn,
            mdelay,
            syncHandle,
        )
    })
}

/// Answer, on the server handle `handle`, the request this thread last
/// received on it.
///
/// Returns rcOk; rcInvalidArgument (bad header, no pending request on this
/// thread); rcBufferTooSmall (the response does not fit the caller's buffers;
/// the caller gets the same code); rcNotConnected (the caller is no longer
/// waiting: its CallEx timed out, or the channel closed); rcSecurityDisallow (policy: the caller then
/// receives rcSecurityDisallow as well).
///
/// # Safety
/// `msgOut` is NULL or points to a header bound by PackOutMsg whose buffers
/// stay valid until the call returns.
#[no_mangle]
#[allow(unused_attributes)]
#[cfg_attr(feature = "wrap", export_name = "__wrap_Reply")]
pub unsafe extern "C" fn Reply(handle: Handle, msgOut: *const SMsgHdr) -> Retcode {
    // SAFETY: pointer passed on under the caller's contract.
    boundary(|| unsafe {
        dispatch(
            Op::Reply,
            handle,
            msgOut,
            core::ptr::null_mut(),
            INFINITE_TIMEOUT,
            INVALID_HANDLE,
        )
    })
}
