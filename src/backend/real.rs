//! The real kernel, reached through GNU ld's `--wrap` (feature `wrap`).
//!
//! Linking a program with `-Wl,--wrap=Call,...` sends its calls to our
//! `__wrap_Call`, ... (exported by [`crate::entry`]) and makes `__real_Call`,
//! ... name the original definitions (libkos on KasperskyOS, the C stand-in
//! kernel in the cross test). This backend forwards every operation to its
//! `__real_*` with the caller's own header pointers, untouched: the shim only
//! reads messages, it never rebuilds them.

use crate::abi::{rtl_uint32_t, Handle, Retcode, SMsgHdr};
use crate::backend::{Args, Backend};
use crate::op::Op;

#[allow(non_snake_case)]
extern "C" {
    fn __real_Call(handle: Handle, msgOut: *const SMsgHdr, msgIn: *mut SMsgHdr) -> Retcode;
    fn __real_CallEx(
        handle: Handle,
        msgOut: *const SMsgHdr,
        msgIn: *mut SMsgHdr,
        mdelay: rtl_uint32_t,
        syncHandle: Handle,
    ) -> Retcode;
    fn __real_Recv(handle: Handle, msgIn: *mut SMsgHdr) -> Retcode;
    fn __real_RecvEx(
        handle: Handle,
        msgIn: *mut SMsgHdr,
        mdelay: rtl_uint32_t,
        syncHandle: Handle,
    ) -> Retcode;
    fn __real_Reply(handle: Handle, msgOut: *const SMsgHdr) -> Retcode;
}

/// The `__real_*` backend.
pub struct Real;

/// The process-wide instance (the default backend of `wrap` builds).
pub static REAL: Real = Real;

/// Hand `op` with these arguments to the kernel's `__real_*` entry point.
///
/// # Safety
/// The SDK's contract for the call: `out`/`inp` are NULL or the caller's
/// headers, valid for the duration of the call. The kernel checks them.
#[inline(always)]
pub(crate) unsafe fn call_real(
    op: Op,
    h: Handle,
    out: *const SMsgHdr,
    inp: *mut SMsgHdr,
    mdelay: u32,
    sync: Handle,
) -> Retcode {
    // SAFETY: `__real_*` are the original kernel entry points with exactly
    // these C signatures; the pointers are passed on under the caller's contract.
    unsafe {
        match op {
            Op::Call => __real_Call(h, out, inp),
            Op::CallEx => __real_CallEx(h, out, inp, mdelay, sync),
            Op::Recv => __real_Recv(h, inp),
            Op::RecvEx => __real_RecvEx(h, inp, mdelay, sync),
            Op::Reply => __real_Reply(h, out),
        }
    }
}

impl Backend for Real {
    fn forward(&self, op: Op, args: &mut Args<'_>) -> Retcode {
        let (out, inp) = super::raw_headers(args);
        // SAFETY: `out`/`inp` are the caller's own header pointers, validated
        // by the pipeline and valid for the duration of this call (the SDK's contract).
        unsafe { call_real(op, args.handle, out, inp, args.mdelay, args.sync) }
    }

    fn name(&self) -> &'static str {
        "real"
    }
}
