//! Fault injection in the pipeline: what a `fail` or `delay` rule of the
//! policy decided (`policy::injection`, rules in `policy/fault.rs`) done to
//! one call.
//!
//! - `fail`: the call returns the rule's code and never reaches the backend
//!   (a failed Reply completes its client's call with that code, as a
//!   denied one does: `Backend::refused`).
//! - `delay`: the call waits, then is forwarded. A CallEx keeps its
//!   promises: with a timeout shorter than the delay it waits only the
//!   timeout and returns rcTimeout without forwarding; otherwise it is
//!   forwarded with what is left of the timeout. On the host emulator its
//!   sync object interrupts the delay (rcIpcInterrupt, not forwarded). With
//!   the real kernel (wrap build) the shim cannot wait on a kernel sync
//!   object: the delay itself is not interruptible, but the call forwarded
//!   after it is (a sync object set during the delay interrupts it at once).

use crate::abi::{rcIpcInterrupt, rcTimeout, Handle, Retcode, INFINITE_TIMEOUT, INVALID_HANDLE};
use crate::backend::api::Args;
use crate::call::{CallInfo, Verdict};
use crate::op::Op;
use crate::policy::Effect;

const NS_PER_MS: u64 = 1_000_000;

/// Apply the fault the policy injects into `info`'s call, if any: marks
/// `info` with [`Verdict::Fault`] and returns the code to return without
/// forwarding (`fail`, or a delay that timed out or was interrupted), or
/// `None` to forward `args` (possibly with a shorter `mdelay`).
#[inline]
pub(crate) fn inject(info: &mut CallInfo, args: &mut Args<'_>) -> Option<Retcode> {
    let injected = crate::policy::injection(info)?;
    info.verdict = Verdict::Fault;
    match injected.effect {
        Effect::Fail(rc) => Some(rc),
        Effect::Delay(ns) => delay(info.op, args, ns),
    }
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Woke {
    /// The time passed.
    Elapsed,
    /// The sync object was set.
    Interrupted,
}

/// Wait `ns` before forwarding, within a CallEx's timeout and sync object.
fn delay(op: Op, args: &mut Args<'_>, ns: u64) -> Option<Retcode> {
    let (mdelay, sync) = if op == Op::CallEx {
        (args.mdelay, args.sync)
    } else {
        (INFINITE_TIMEOUT, INVALID_HANDLE)
    };
    let budget = (mdelay != INFINITE_TIMEOUT).then(|| u64::from(mdelay) * NS_PER_MS);
    let wait = budget.map_or(ns, |b| b.min(ns));
    let start = now_ns();
    if wait_for(wait, sync) == Woke::Interrupted {
        return Some(rcIpcInterrupt);
    }
    let budget = budget?;
    if ns > budget {
        return Some(rcTimeout);
    }
    // Forwarded with the rest of the timeout, rounded up to whole
    // milliseconds: the call as a whole never times out before its mdelay.
    let spent = now_ns().saturating_sub(start);
    args.mdelay = budget.saturating_sub(spent).div_ceil(NS_PER_MS) as u32;
    None
}

fn now_ns() -> u64 {
    crate::clock::ticks_to_ns(crate::clock::now())
}

/// Wait `ns` nanoseconds, or until the sync object `sync` is set.
fn wait_for(ns: u64, sync: Handle) -> Woke {
    #[cfg(feature = "host")]
    if sync != INVALID_HANDLE && crate::backend::current().name() == "host" {
        if let Ok(Some(s)) = crate::host::sync::resolve(sync) {
            return wait_on_sync(ns, &s);
        }
    }
    let _ = sync;
    sleep(ns);
    Woke::Elapsed
}

/// Wait `ns` or until the emulator's sync object `s` is set.
#[cfg(feature = "host")]
fn wait_on_sync(ns: u64, s: &crate::host::sync::SyncObject) -> Woke {
    let _watch = s.watch(&std::thread::current());
    let end = now_ns().saturating_add(ns);
    loop {
        // Checked after registering: a set before is seen here, a set
        // after unparks this thread.
        if s.is_set() {
            return Woke::Interrupted;
        }
        let now = now_ns();
        if now >= end {
            return Woke::Elapsed;
        }
        std::thread::park_timeout(core::time::Duration::from_nanos(end - now));
    }
}

/// Sleep at least `ns` nanoseconds.
fn sleep(ns: u64) {
    let end = now_ns().saturating_add(ns);
    loop {
        let now = now_ns();
        if now >= end {
            return;
        }
        #[cfg(feature = "std")]
        std::thread::sleep(core::time::Duration::from_nanos(end - now));
        #[cfg(all(feature = "clib", not(feature = "std")))]
        crate::sys::sleep_ns(end - now);
        #[cfg(not(feature = "clib"))]
        core::hint::spin_loop();
    }
}
