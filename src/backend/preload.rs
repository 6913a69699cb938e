//! The next definition of the five calls, for the `LD_PRELOAD` library
//! (feature `preload`, Linux hosts).
//!
//! The preload library exports `Call`, ... under their plain names, so the
//! dynamic linker binds a program's calls to us first; this backend reaches
//! the definitions that would have been used without us (the next object in
//! lookup order, e.g. a `libkos` shared object) through
//! `dlsym(RTLD_NEXT, name)`. The five addresses are looked up once, on the
//! first forwarded call (thread-safe, lazily), never per call.

use core::ffi::{c_void, CStr};

use crate::abi::{rcUnimplemented, Handle, Retcode, SMsgHdr};
use crate::backend::{self, Args, Backend};
use crate::op::Op;

type CallFn = unsafe extern "C" fn(Handle, *const SMsgHdr, *mut SMsgHdr) -> Retcode;
type CallExFn = unsafe extern "C" fn(Handle, *const SMsgHdr, *mut SMsgHdr, u32, Handle) -> Retcode;
type RecvFn = unsafe extern "C" fn(Handle, *mut SMsgHdr) -> Retcode;
type RecvExFn = unsafe extern "C" fn(Handle, *mut SMsgHdr, u32, Handle) -> Retcode;
type ReplyFn = unsafe extern "C" fn(Handle, *const SMsgHdr) -> Retcode;

/// The next definitions; `None` where the process has none.
#[derive(Clone, Copy)]
struct Next {
    call: Option<CallFn>,
    call_ex: Option<CallExFn>,
    recv: Option<RecvFn>,
    recv_ex: Option<RecvExFn>,
    reply: Option<ReplyFn>,
}

fn lookup(name: &CStr) -> *mut c_void {
    // SAFETY: `name` is NUL-terminated; RTLD_NEXT is valid from a shared object.
    unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) }
}

impl Next {
    fn resolve() -> Next {
        // SAFETY (each transmute): dlsym returned the address of a function
        // exported under the SDK name, which has the SDK's signature; NULL
        // (not found) maps to None through Option<fn>'s niche.
        unsafe {
            Next {
                call: core::mem::transmute::<*mut c_void, Option<CallFn>>(lookup(c"Call")),
                call_ex: core::mem::transmute::<*mut c_void, Option<CallExFn>>(lookup(c"CallEx")),
                recv: core::mem::transmute::<*mut c_void, Option<RecvFn>>(lookup(c"Recv")),
                recv_ex: core::mem::transmute::<*mut c_void, Option<RecvExFn>>(lookup(c"RecvEx")),
                reply: core::mem::transmute::<*mut c_void, Option<ReplyFn>>(lookup(c"Reply")),
            }
        }
    }
}

/// The `dlsym(RTLD_NEXT)` backend.
pub struct NextDefinition {
    next: std::sync::OnceLock<Next>,
}

/// The process-wide instance (the default backend of `preload` builds).
pub static NEXT: NextDefinition = NextDefinition {
    next: std::sync::OnceLock::new(),
};

impl NextDefinition {
    /// Hand `op` to the next definition; rcUnimplemented when the process
    /// has none (the preload library was loaded into a program without libkos).
    ///
    /// # Safety
    /// The SDK's contract for the call: `out`/`inp` are NULL or the caller's
    /// headers, valid for the duration of the call.
    #[inline]
    pub(crate) unsafe fn call_next(
        &self,
        op: Op,
        h: Handle,
        out: *const SMsgHdr,
        inp: *mut SMsgHdr,
        mdelay: u32,
        sync: Handle,
    ) -> Retcode {
        let next = self.next.get_or_init(Next::resolve);
        // SAFETY: each pointer came from dlsym for the SDK name with the SDK
        // signature; the header pointers are passed on under the caller's contract.
        unsafe {
            match op {
                Op::Call => next.call.map_or(rcUnimplemented, |f| f(h, out, inp)),
                Op::CallEx => next
                    .call_ex
                    .map_or(rcUnimplemented, |f| f(h, out, inp, mdelay, sync)),
                Op::Recv => next.recv.map_or(rcUnimplemented, |f| f(h, inp)),
                Op::RecvEx => next
                    .recv_ex
                    .map_or(rcUnimplemented, |f| f(h, inp, mdelay, sync)),
                Op::Reply => next.reply.map_or(rcUnimplemented, |f| f(h, out)),
            }
        }
    }
}

impl Backend for NextDefinition {
    /// Forwards to the next definition; rcUnimplemented when the process has
    /// none (the preload library was loaded into a program without libkos).
    fn forward(&self, op: Op, args: &mut Args<'_>) -> Retcode {
        let (out, inp) = backend::raw_headers(args);
        // SAFETY: the caller's own header pointers, validated and valid for
        // the duration of the call.
        unsafe { self.call_next(op, args.handle, out, inp, args.mdelay, args.sync) }
    }

    fn name(&self) -> &'static str {
        "preload"
    }
}
