//! The one path every intercepted call takes:
//! validate → policy (may deny Call/CallEx/Reply) → forward → statistics → trace.
//!
//! Which code runs it is chosen by the layers word ([`crate::layers`]), set
//! when a layer turns on or off, not by the call:
//!
//! - nothing on, and the backend's lower layer checks its own arguments
//!   (the kernel, the next library): the idle fast path. Calls are counted
//!   ([`crate::calls`]) and forwarded unchanged.
//! - only statistics, trace (without payloads) and policy on, same backends:
//!   the lean path (`dispatch_lean`). The same header checks, but only the
//!   fields the active layers use are read, only those layers are asked,
//!   and the call goes straight to the lower layer.
//! - otherwise (the host emulator, a backend installed at run time, Rust
//!   interceptors, payload capture, the first call): the full path, which
//!   builds the validated views the backends and interceptors take.
//!
//! Both paths turn a verdict into an action at one point, `settle`.
//!
//! The five exported entry points only convert their C arguments and call
//! [`dispatch`]. A call made while the same thread is already inside the shim
//! (the shim's own output is IPC on KasperskyOS) skips everything and goes
//! straight to the backend.

use crate::abi::{rcOk, rcSecurityDisallow, Handle, Retcode, SMsgHdr};
use crate::backend::{self, Args};
use crate::intercept::{self, CallInfo, Verdict};
use crate::msg::{peek, HdrContext, MsgIn, MsgInfo, MsgOut};
use crate::op::Op;
use crate::{calls, clock, guard, layers, lease};

/// What the pipeline does with a call once the policy and interceptors
/// judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    /// Hand the call to the backend.
    Forward,
    /// Return this code without reaching the backend.
    Refuse(Retcode),
}

/// The one place a verdict becomes an action. The kernel never denies a
/// receive, so a denied Recv/RecvEx is recorded as an audit (`verdict` is
/// rewritten to [`Verdict::AuditDeny`]) and forwarded.
#[inline(always)]
fn settle(op: Op, verdict: &mut Verdict) -> Action {
    match *verdict {
        Verdict::Deny if op.sends() => Action::Refuse(rcSecurityDisallow),
        Verdict::Deny => {
            *verdict = Verdict::AuditDeny;
            Action::Forward
        }
        // (Fault is set after this, by crate::fault, on the full path.)
        Verdict::Allow | Verdict::Log | Verdict::AuditDeny | Verdict::Fault => Action::Forward,
    }
}

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
    if backend::HAS_UNCHECKED {
        let on = layers::on();
        if on == 0 {
            // Counted on entry, so that the kernel call is the last thing done
            // (a tail call: the shim adds no stack frame).
            let Some(lease) = lease::held_now() else {
                // SAFETY: the caller's contract.
                return unsafe { fast_first(handle, out, inp, mdelay, sync, op) };
            };
            calls::record_held(lease, op);
            // SAFETY: forwarded unchanged under the caller's contract.
            return unsafe { forward_lower(op, handle, out, inp, mdelay, sync) };
        }
        if layers::lean(on) {
            // One copy per operation, each with its constant `op`.
            // SAFETY: the caller's contract.
            return unsafe {
                match op {
                    Op::Call => dispatch_lean::<0>(handle, out, inp, mdelay, sync, on),
                    Op::CallEx => dispatch_lean::<1>(handle, out, inp, mdelay, sync, on),
                    Op::Recv => dispatch_lean::<2>(handle, out, inp, mdelay, sync, on),
                    Op::RecvEx => dispatch_lean::<3>(handle, out, inp, mdelay, sync, on),
                    Op::Reply => dispatch_lean::<4>(handle, out, inp, mdelay, sync, on),
                }
            };
        }
    }
    // SAFETY: the caller's contract.
    unsafe { dispatch_full(handle, out, inp, mdelay, sync, op) }
}

/// The operation numbered `v` (`Op as u8`), for [`dispatch_lean`]'s copies.
#[inline(always)]
const fn op_numbered(v: u8) -> Op {
    match Op::from_u8(v) {
        Some(op) => op,
        None => Op::Call,
    }
}

/// The lean path: the layers in `on` are statistics, trace and policy only
/// ([`layers::lean`]), and the backend is the build's lower layer
/// ([`backend::HAS_UNCHECKED`]), which checks the headers itself, takes
/// them as they are and reports no correlation. A message to send gets the
/// full path's checks, since the layers read it (one that fails them is left
/// to the full path, which refuses and records it); a receive header is
/// read only after a successful receive, with those checks, and before it
/// only the lower layer looks at it, as on the idle fast path. Only what
/// the active layers use is read; the verdict is settled as on the full
/// path (the lower layer tracks no requests, so a refusal needs no
/// telling).
///
/// # Safety
/// As for [`dispatch`].
#[inline(never)]
unsafe fn dispatch_lean<const OP: u8>(
    handle: Handle,
    out: *const SMsgHdr,
    inp: *mut SMsgHdr,
    mdelay: u32,
    sync: Handle,
    on: u32,
) -> Retcode {
    let op = op_numbered(OP);
    let sent = if op.sends() {
        // SAFETY: the caller's contract.
        match unsafe { peek::sent(out) } {
            Some(m) => m,
            // SAFETY: the caller's contract.
            None => return unsafe { dispatch_full(handle, out, inp, mdelay, sync, op) },
        }
    } else {
        MsgInfo::default()
    };
    let Some(_inside) = guard::enter() else {
        // SAFETY: forwarded unchanged under the caller's contract.
        return unsafe { passthrough(op, handle, out, inp, mdelay, sync) };
    };
    let timed = clock::needed();
    let mut info = CallInfo::new(op, handle);
    info.start = clock::now_if(timed);
    info.sent = sent;
    let traced = on & layers::TRACE != 0;
    if op.sends() && traced {
        // SAFETY: `out` passed the checks above.
        let ctx = unsafe { peek::context(out) };
        info.context = sent_context(op, ctx);
    }
    info.verdict = intercept::before_layers(&info, on);
    let rc = match settle(op, &mut info.verdict) {
        // SAFETY: checked headers, forwarded unchanged under the caller's contract.
        Action::Forward => unsafe { forward_lower(op, handle, out, inp, mdelay, sync) },
        Action::Refuse(rc) => {
            info.refused = true;
            rc
        }
    };
    info.end = clock::now_if(timed);
    info.rc = rc;
    // What a Call/CallEx received is read for statistics and the trace only
    // (the policy judged the request); what Recv/RecvEx received, always.
    let wanted = !op.sends() || on & (layers::STATS | layers::TRACE) != 0;
    if op.receives() && rc == rcOk && wanted {
        // SAFETY: the caller's contract.
        if let Some((m, ctx)) = unsafe { peek::received(inp) } {
            info.received = m;
            if !op.sends() {
                info.context = ctx;
            }
        }
    }
    intercept::after_layers(&info, on);
    rc
}

/// Have every layer read its configuration (environment on hosts), once,
/// and publish its bits; then the layers word stops saying "not
/// configured". The full path calls it, inside the re-entrancy guard.
#[inline]
pub(crate) fn configure() {
    if !CONFIGURED.is_completed() {
        configure_slow();
    }
}

static CONFIGURED: spin::Once<()> = spin::Once::new();

#[cold]
fn configure_slow() {
    CONFIGURED.call_once(|| {
        #[cfg(feature = "clib")]
        {
            crate::say::configure();
            crate::clock::configure();
        }
        crate::stats::level();
        crate::trace::configure_from_env();
        crate::policy::configure();
    });
    crate::stats::publish();
    crate::trace::publish();
    crate::policy::publish();
    intercept::publish();
    backend::publish();
    layers::update(layers::UNCONFIGURED, || 0);
}

/// What a sender's header says: its trace context, and for Reply the
/// client thread it answers (`sender` means nothing in a sent header).
#[inline(always)]
fn sent_context(op: Op, ctx: HdrContext) -> HdrContext {
    HdrContext {
        sender: 0,
        thread: if op == Op::Reply { ctx.thread } else { 0 },
        ..ctx
    }
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
    unsafe { forward_lower(op, handle, out, inp, mdelay, sync) }
}

/// The full path: guard, validation, policy, forwarding, statistics, trace.
/// While no layer is on (the host emulator's usual case, whose backend
/// needs the validated views), only the guard, validation, forwarding and
/// the always-on count run.
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
    configure();
    if layers::on() == 0 {
        // Nothing looks at the call (the host emulator with every layer
        // off): only the always-on count remains of the hooks.
        // SAFETY: the caller's contract.
        let rc = unsafe { forward_checked(op, handle, out, inp, mdelay, sync) };
        calls::record(op);
        return rc;
    }
    let mut info = CallInfo::new(op, handle);
    // Only read the clock when statistics (timing), trace or an interceptor need it.
    let timed = clock::needed();
    info.start = clock::now_if(timed);
    // SAFETY: the caller's contract covers both headers.
    let mut args = match unsafe { validate(op, handle, out, inp, mdelay, sync) } {
        Ok(args) => args,
        Err(rc) => {
            info.rc = rc;
            info.refused = true;
            info.end = clock::now_if(timed);
            intercept::after(&info);
            return rc;
        }
    };
    if let Some(m) = &args.out {
        info.sent = m.info();
        info.context = sent_context(op, m.context());
        if crate::trace::payload_wanted() {
            info.payload = crate::msg::MsgBytes::of(m.constant(), m.arena());
        }
    }

    info.verdict = intercept::before(&info);
    // A fault rule may fail or delay what the policy allows (crate::fault;
    // only here: a policy with fault rules keeps calls off the lean path).
    let action = match settle(op, &mut info.verdict) {
        Action::Forward => match crate::fault::inject(&mut info, &mut args) {
            Some(rc) => Action::Refuse(rc),
            None => Action::Forward,
        },
        refuse => refuse,
    };
    let rc = match action {
        Action::Forward => backend::forward(op, &mut args),
        Action::Refuse(rc) => {
            backend::current().refused(op, &mut args, rc);
            info.refused = true;
            info.correlation = args.correlation;
            info.context.thread = answered(&info, &args);
            info.rc = rc;
            info.end = clock::now_if(timed);
            intercept::after(&info);
            return rc;
        }
    };

    info.rc = rc;
    info.end = clock::now_if(timed);
    info.correlation = args.correlation;
    info.context.thread = answered(&info, &args);
    if let Some(m) = &args.inp {
        if rc == rcOk {
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

/// Forward to the build's lower layer as the caller gave the call: unchecked
/// where that layer checks its own arguments ([`backend::HAS_UNCHECKED`]:
/// the kernel, the next library); validated and through the current backend
/// in the other builds (whose paths never come here while HAS_UNCHECKED is
/// false; kept safe all the same).
///
/// # Safety
/// As for [`dispatch`].
#[inline(always)]
unsafe fn forward_lower(
    op: Op,
    handle: Handle,
    out: *const SMsgHdr,
    inp: *mut SMsgHdr,
    mdelay: u32,
    sync: Handle,
) -> Retcode {
    #[cfg(any(feature = "wrap", feature = "preload"))]
    {
        // SAFETY: forwarded unchanged under the caller's contract.
        unsafe { backend::forward_unchecked(op, handle, out, inp, mdelay, sync) }
    }
    #[cfg(not(any(feature = "wrap", feature = "preload")))]
    {
        // SAFETY: the caller's contract covers both headers.
        unsafe { forward_checked(op, handle, out, inp, mdelay, sync) }
    }
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
#[inline]
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
