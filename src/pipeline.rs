//! The one path every intercepted call takes:
//! validate → policy (may deny Call/CallEx/Reply) → forward → statistics → trace.
//!
//! While no layer is on ([`crate::layers`]) and the backend's lower layer
//! checks its own arguments (the kernel), calls skip all of it: they are
//! counted ([`crate::calls`]) and forwarded unchanged.
//!
//! The five exported entry points only convert their C arguments and call
//! [`dispatch`]. A call made while the same thread is already inside the shim
//! (the shim's own output is IPC on KasperskyOS) skips everything and goes
//! straight to the backend.

use crate::abi::{rcSecurityDisallow, Handle, Retcode, SMsgHdr};
use crate::backend::{self, Args};
use crate::intercept::{self, CallInfo, Verdict};
use crate::msg::{HdrContext, MsgIn, MsgOut};
use crate::op::Op;
use crate::{calls, clock, guard, layers, lease};

/// Run one system call through the pipeline.
///
/// Inlined into each entry point (where `op` is a constant), so the fast
/// path is a direct call of the kernel's entry point.
///
/// # Safety
/// `out` and `inp` are NULL or point to headers whose buffers are valid for
/// the duration of the call (the SDK's contract for the five calls).
#[inline(always)]
pub unsafe fn dispatch(
    op: Op,
    handle: Handle,
    out: *const SMsgHdr,
    inp: *mut SMsgHdr,
    mdelay: u32,
    sync: Handle,
) -> Retcode {
    if backend::HAS_UNCHECKED && layers::idle() {
        // Counted on entry, so that the kernel call is the last thing done
        // (a tail call: the shim adds no stack frame).
        let Some(lease) = lease::held_now() else {
            // SAFETY: the caller's contract.
            return unsafe { fast_first(handle, out, inp, mdelay, sync, op) };
        };
        calls::record_held(lease, op);
        // SAFETY: forwarded unchanged under the caller's contract.
        return unsafe { backend::forward_unchecked(op, handle, out, inp, mdelay, sync) };
    }
    // SAFETY: the caller's contract.
    unsafe { dispatch_full(handle, out, inp, mdelay, sync, op) }
}

/// The fast path for a thread that holds no lease yet (its first call) or
/// cannot have one.
///
/// # Safety
/// As for [`dispatch`].
#[cold]
#[inline(never)]
unsafe fn fast_first(
    handle: Handle,
    out: *const SMsgHdr,
    inp: *mut SMsgHdr,
    mdelay: u32,
    sync: Handle,
    op: Op,
) -> Retcode {
    calls::record(op);
    // SAFETY: forwarded unchanged under the caller's contract.
    unsafe { backend::forward_unchecked(op, handle, out, inp, mdelay, sync) }
}

/// The full path: guard, validation, policy, forwarding, statistics, trace.
/// (`op` last: the entry points' own arguments stay in their registers.)
///
/// # Safety
/// As for [`dispatch`].
#[inline(never)]
unsafe fn dispatch_full(
    handle: Handle,
    out: *const SMsgHdr,
    inp: *mut SMsgHdr,
    mdelay: u32,
    sync: Handle,
    op: Op,
) -> Retcode {
    let Some(_inside) = guard::enter() else {
        // SAFETY: forwarded unchanged under the caller's contract.
        return unsafe { passthrough(op, handle, out, inp, mdelay, sync) };
    };
    layers::configure();
    let mut info = CallInfo::new(op, handle);
    // Only read the clock when statistics (timing), trace or an interceptor need it.
    let timed = clock::needed();
    info.start = clock::now_if(timed);
    // SAFETY: the caller's contract covers both headers.
    let mut args = match unsafe { validate(op, handle, out, inp, mdelay, sync) } {
        Ok(args) => args,
        Err(rc) => {
            info.rc = rc;
            info.end = clock::now_if(timed);
            intercept::after(&info);
            return rc;
        }
    };
    if let Some(m) = &args.out {
        info.sent = m.info();
        // What a sender's header says: its trace context, and for Reply the
        // client thread it answers (`sender` means nothing in a sent header).
        let ctx = m.context();
        info.context = HdrContext {
            sender: 0,
            thread: if op == Op::Reply { ctx.thread } else { 0 },
            ..ctx
        };
        if crate::trace::payload_wanted() {
            info.payload = crate::msg::MsgBytes::of(m.constant(), m.arena());
        }
    }

    info.verdict = intercept::before(&info);
    if info.verdict.denies() && !op.sends() {
        // The kernel never denies a receive: record the denial as an audit.
        info.verdict = Verdict::AuditDeny;
    }
    if info.verdict.denies() {
        backend::current().refused(op, &mut args, rcSecurityDisallow);
        info.correlation = args.correlation;
        info.context.thread = answered(&info, &args);
        info.rc = rcSecurityDisallow;
        info.end = clock::now_if(timed);
        intercept::after(&info);
        return rcSecurityDisallow;
    }

    let rc = backend::forward(op, &mut args);

    info.rc = rc;
    info.end = clock::now_if(timed);
    info.correlation = args.correlation;
    info.context.thread = answered(&info, &args);
    if let Some(m) = &args.inp {
        if rc == crate::abi::rcOk {
            info.received = m.info();
            if !op.sends() {
                info.context = m.context();
            }
            if crate::trace::payload_wanted() {
                if op.sends() {
                    info.response = m.received_bytes();
                } else {
                    info.payload = m.received_bytes();
                }
            }
        }
    }
    intercept::after(&info);
    rc
}

/// The client thread a Reply answered: the backend's word when it has one
/// (the header's `threadId` may be 0, "the first waiting"), else the header's.
#[inline(always)]
fn answered(info: &CallInfo, args: &Args<'_>) -> u32 {
    if args.answered != 0 {
        args.answered
    } else {
        info.context.thread
    }
}

/// Check the arguments `op` uses; the others are ignored, as the kernel does.
///
/// # Safety
/// As for [`dispatch`].
#[inline(always)]
unsafe fn validate<'a>(
    op: Op,
    handle: Handle,
    out: *const SMsgHdr,
    inp: *mut SMsgHdr,
    mdelay: u32,
    sync: Handle,
) -> Result<Args<'a>, Retcode> {
    let out = if op.sends() {
        // SAFETY: the caller's contract.
        Some(unsafe { MsgOut::from_raw(out) }?)
    } else {
        None
    };
    let inp = if op.receives() {
        // SAFETY: the caller's contract.
        Some(unsafe { MsgIn::from_raw(inp) }?)
    } else {
        None
    };
    Ok(Args {
        handle,
        out,
        inp,
        mdelay,
        sync,
        correlation: 0,
        answered: 0,
    })
}

/// The no-intercept path: validation only (the backend relies on it), no
/// policy, statistics or trace.
///
/// # Safety
/// As for [`dispatch`].
unsafe fn passthrough(
    op: Op,
    handle: Handle,
    out: *const SMsgHdr,
    inp: *mut SMsgHdr,
    mdelay: u32,
    sync: Handle,
) -> Retcode {
    intercept::count_reentrant();
    // SAFETY: the caller's contract.
    unsafe { forward_checked(op, handle, out, inp, mdelay, sync) }
}

/// Validation and forwarding to the current backend, nothing else.
///
/// # Safety
/// As for [`dispatch`].
pub(crate) unsafe fn forward_checked(
    op: Op,
    handle: Handle,
    out: *const SMsgHdr,
    inp: *mut SMsgHdr,
    mdelay: u32,
    sync: Handle,
) -> Retcode {
    // SAFETY: the caller's contract.
    match unsafe { validate(op, handle, out, inp, mdelay, sync) } {
        Ok(mut args) => backend::forward(op, &mut args),
        Err(rc) => rc,
    }
}

impl Verdict {
    /// Whether this verdict stops a message that can be denied.
    pub const fn denies(self) -> bool {
        matches!(self, Verdict::Deny)
    }
}
