//! Hook points of the pipeline and the Rust [`Interceptor`] API.
//!
//! `before` runs after validation and before forwarding: the policy and any
//! registered interceptor may deny (Call/CallEx/Reply only). `after` runs once
//! the backend returned (or the call was refused): statistics, trace and
//! interceptors see the complete [`CallInfo`].
//!
//! # Example: a Rust interceptor that denies one method
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use kos_ipc_shim::abi::*;
//! use kos_ipc_shim::{intercept, CallInfo, Interceptor, Verdict};
//!
//! /// Denies method 3 of interface 0x51; counts the bytes of what was sent.
//! struct Guard {
//!     bytes_sent: AtomicU64,
//! }
//!
//! impl Interceptor for Guard {
//!     fn before(&self, info: &CallInfo) -> Verdict {
//!         if info.iid() == 0x51 && info.mid() == 3 {
//!             Verdict::Deny
//!         } else {
//!             Verdict::Allow
//!         }
//!     }
//!     fn after(&self, info: &CallInfo) {
//!         self.bytes_sent.fetch_add(info.sent.total_size(), Ordering::Relaxed);
//!     }
//! }
//!
//! static GUARD: Guard = Guard { bytes_sent: AtomicU64::new(0) };
//! intercept::register(&GUARD).expect("a free interceptor slot");
//!
//! // A request for method 3 on a host-emulator channel is now refused.
//! # use kos_ipc_shim::host::{exports::kos_host_channel_create, pack::{PackInMsg, PackOutMsg}};
//! # use kos_ipc_shim::entry::Call;
//! let (mut client, mut server) = (0, 0);
//! assert_eq!(unsafe { kos_host_channel_create(&mut client, &mut server) }, rcOk);
//! let req = nk_message::new(0x51, 3, 24);
//! let mut resp = nk_message::new(0, 0, 24); // size_ex: the buffer's capacity
//! let (mut out, mut inp) = (SMsgHdr::ZERO, SMsgHdr::ZERO);
//! unsafe {
//!     assert_eq!(PackOutMsg(&mut out, &req, std::ptr::null()), rcOk);
//!     assert_eq!(PackInMsg(&mut inp, &mut resp, std::ptr::null_mut()), rcOk);
//!     assert_eq!(Call(client, &out, &mut inp), rcSecurityDisallow);
//! }
//! assert_eq!(GUARD.bytes_sent.load(Ordering::Relaxed), 24);
//! ```

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::abi::{rcOk, rcOutOfMemory, Retcode};
pub use crate::call::{CallInfo, Verdict};

/// Rust code that observes or restricts every intercepted call.
///
/// Register one with [`register`]. Callbacks run on the calling thread,
/// inside the shim: IPC made from them goes straight to the backend.
///
/// # Example: deny one interface, count the denials
///
/// ```
/// use std::ptr::{null, null_mut};
/// use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
/// use kos_ipc_shim::abi::*;
/// use kos_ipc_shim::entry::Call;
/// use kos_ipc_shim::host::pack::{PackInMsg, PackOutMsg};
/// use kos_ipc_shim::{intercept, CallInfo, Interceptor, Op, Verdict};
///
/// /// Requests to interface 0x66 never leave the process.
/// struct Firewall {
///     denied: AtomicU64,
/// }
///
/// impl Interceptor for Firewall {
///     fn before(&self, info: &CallInfo) -> Verdict {
///         if info.iid() == 0x66 { Verdict::Deny } else { Verdict::Allow }
///     }
///     fn after(&self, info: &CallInfo) {
///         if info.verdict == Verdict::Deny {
///             assert_eq!((info.op, info.rc), (Op::Call, rcSecurityDisallow));
///             self.denied.fetch_add(1, Relaxed);
///         }
///     }
/// }
///
/// static FIREWALL: Firewall = Firewall { denied: AtomicU64::new(0) };
/// intercept::register(&FIREWALL).expect("a free interceptor slot");
///
/// // The request is refused before the backend is asked: no server (not
/// // even a channel) is needed to see it.
/// let size = std::mem::size_of::<nk_message>() as u32;
/// let req = nk_message::new(0x66, 1, size);
/// let mut resp = nk_message::new(0, 0, size); // size_ex: the buffer's capacity
/// let (mut out, mut inp) = (SMsgHdr::ZERO, SMsgHdr::ZERO);
/// // SAFETY: the messages and headers outlive the calls that use them.
/// unsafe {
///     assert_eq!(PackOutMsg(&mut out, &req, null()), rcOk);
///     assert_eq!(PackInMsg(&mut inp, &mut resp, null_mut()), rcOk);
///     assert_eq!(Call(1, &out, &mut inp), rcSecurityDisallow);
/// }
/// assert_eq!(FIREWALL.denied.load(Relaxed), 1);
/// ```
pub trait Interceptor: Sync {
    /// Called before forwarding. Returning [`Verdict::Deny`] makes
    /// Call/CallEx/Reply return rcSecurityDisallow without reaching the
    /// backend; for Recv/RecvEx a denial is only recorded.
    fn before(&self, _info: &CallInfo) -> Verdict {
        Verdict::Allow
    }

    /// Called once the call finished (or was refused), with `rc` set.
    fn after(&self, _info: &CallInfo) {}
}

/// How many interceptors may be registered over a process's life.
pub const MAX_INTERCEPTORS: usize = 8;

static INTERCEPTORS: [spin::Once<&'static dyn Interceptor>; MAX_INTERCEPTORS] =
    [const { spin::Once::new() }; MAX_INTERCEPTORS];
static NEXT: AtomicUsize = AtomicUsize::new(0);
/// Number of registered interceptors that are visible to callers.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// Register `interceptor` for all later calls. Interceptors stay for the
/// life of the process; past [`MAX_INTERCEPTORS`], `Err(rcOutOfMemory)`.
pub fn register(interceptor: &'static dyn Interceptor) -> Result<(), Retcode> {
    let slot = NEXT.fetch_add(1, Ordering::AcqRel);
    if slot >= MAX_INTERCEPTORS {
        NEXT.store(MAX_INTERCEPTORS, Ordering::Release);
        return Err(rcOutOfMemory);
    }
    INTERCEPTORS[slot].call_once(|| interceptor);
    // An interceptor may read `start`/`end`: the pipeline must stamp calls.
    crate::clock::need(crate::clock::User::Interceptor, true);
    // Publish in slot order so `active()` never exposes an unfilled slot.
    while ACTIVE
        .compare_exchange_weak(slot, slot + 1, Ordering::AcqRel, Ordering::Acquire)
        .is_err()
    {
        core::hint::spin_loop();
    }
    publish();
    Ok(())
}

/// Whether any interceptor is registered (for [`crate::layers`]).
#[inline]
pub(crate) fn layer_on() -> bool {
    ACTIVE.load(Ordering::Relaxed) > 0
}

/// Put whether an interceptor is registered into the layers word.
pub(crate) fn publish() {
    crate::layers::set_if(crate::layers::INTERCEPT, layer_on);
}

fn active() -> impl Iterator<Item = &'static dyn Interceptor> {
    let n = ACTIVE.load(Ordering::Acquire);
    INTERCEPTORS[..n].iter().filter_map(|s| s.get().copied())
}

/// Hook: before forwarding. The strictest verdict wins.
#[inline]
pub(crate) fn before(info: &CallInfo) -> Verdict {
    let mut verdict = crate::policy::before(info);
    for i in active() {
        verdict = verdict.stricter(i.before(info));
    }
    verdict
}

/// Hook: after the call finished or was refused.
#[inline]
pub(crate) fn after(info: &CallInfo) {
    crate::calls::record(info.op);
    // Recv/RecvEx are judged here, on the received message (audit only);
    // sends were judged in `before`, so their `info` is used as it is (no copy).
    let judged;
    let info = if info.op.sends() {
        info
    } else {
        judged = crate::policy::after(info);
        &judged
    };
    crate::stats::record(info);
    crate::trace::record(info);
    for i in active() {
        i.after(info);
    }
}

/// [`before`] on the pipeline's lean path: the policy if it is on in `on`
/// (a value of [`crate::layers::on`]); no interceptor is registered there.
#[inline(always)]
pub(crate) fn before_layers(info: &CallInfo, on: u32) -> Verdict {
    if on & crate::layers::POLICY != 0 {
        crate::policy::before(info)
    } else {
        Verdict::Allow
    }
}

/// [`after`] on the pipeline's lean path: the always-on count, then only
/// the layers on in `on`, in [`after`]'s order.
#[inline(always)]
pub(crate) fn after_layers(info: &CallInfo, on: u32) {
    use crate::layers::{POLICY, STATS, TRACE};
    match crate::lease::held_now() {
        Some(lease) => crate::calls::record_held(lease, info.op),
        None => crate::calls::record(info.op),
    }
    let judged;
    let info = if info.op.sends() || on & POLICY == 0 {
        info
    } else {
        judged = crate::policy::after(info);
        &judged
    };
    if on & STATS != 0 {
        crate::stats::record(info);
    }
    if on & TRACE != 0 {
        crate::trace::record(info);
    }
}

/// Count a call that took the no-intercept path (a statistics global counter).
pub(crate) fn count_reentrant() {
    crate::stats::count_reentrant();
}

/// Calls that took the no-intercept path because the thread was already inside the shim.
pub fn reentrant_calls() -> u64 {
    crate::stats::reentrant_calls()
}

/// Number of IPC calls made by a thread that was already inside the shim
/// (from a trace sink, a log writer or an interceptor): they went straight to
/// the backend, untraced and unpoliced. The same count as
/// `kos_shim_stats_global_t.reentrant`.
///
/// Returns rcOk and writes `*count`; rcInvalidArgument for a NULL `count`.
///
/// # Safety
/// `count` is NULL or valid for a write of a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_reentrant_calls(count: *mut u64) -> Retcode {
    crate::ffi::boundary(|| {
        // SAFETY: NULL or writable per the caller's contract; write_out checks NULL.
        if unsafe { crate::ffi::write_out(count, reentrant_calls()) } {
            rcOk
        } else {
            crate::abi::rcInvalidArgument
        }
    })
}
