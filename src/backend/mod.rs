//! What "forward" reaches: the next layer below the shim.
//!
//! One trait, [`Backend`], and a process-wide current backend chosen at build
//! time (the host emulator with feature `host`, the real kernel through
//! `__real_*` with feature `wrap`) and replaceable at run time with
//! [`set_backend`] (Rust) or `kos_shim_set_backend` (C, module [`table`]).
//! The `preload` build (the `LD_PRELOAD` library) forwards to the next
//! definition of each call, found once with `dlsym(RTLD_NEXT)` (module
//! `preload`).

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::abi::{rcOutOfMemory, rcUnimplemented, Handle, Retcode, SMsgHdr};
use crate::msg::{MsgIn, MsgOut};
use crate::op::Op;

#[cfg(feature = "preload")]
pub mod preload;
#[cfg(feature = "wrap")]
pub mod real;
pub mod table;

/// The arguments of one intercepted system call, validated.
///
/// `out` is present for Call, CallEx and Reply; `inp` for Call, CallEx, Recv
/// and RecvEx. `mdelay` and `sync` matter only for CallEx and RecvEx.
#[derive(Debug)]
pub struct Args<'a> {
    /// The IPC handle the call is made on.
    pub handle: Handle,
    /// The message to send.
    pub out: Option<MsgOut<'a>>,
    /// Where to receive.
    pub inp: Option<MsgIn<'a>>,
    /// Timeout in milliseconds (`INFINITE_TIMEOUT`: none).
    pub mdelay: u32,
    /// IPC synchronization object (`INVALID_HANDLE`: not interruptible).
    pub sync: Handle,
    /// Correlation id a backend may set so that the client's Call and the
    /// server's Recv/Reply of one message can be matched (0: unknown).
    pub correlation: u64,
    /// Reply: the client thread the backend answered, when it knows it
    /// (`msgOut->threadId` 0 lets the kernel pick; 0 here: unknown).
    pub answered: u32,
}

/// The layer the shim forwards to.
///
/// Implementations must be thread-safe: every thread of the program calls
/// through the same backend. `forward` is called after validation and
/// policy; it must behave like the kernel's entry point for `op`.
///
/// # Example: a kernel that echoes every request
///
/// A backend receives the validated messages ([`MsgOut`], [`MsgIn`]) and
/// answers through them; it never touches raw headers.
///
/// ```
/// use std::ptr::{null, null_mut};
/// use kos_ipc_shim::abi::*;
/// use kos_ipc_shim::entry::Call;
/// use kos_ipc_shim::host::pack::{PackInMsg, PackOutMsg};
/// use kos_ipc_shim::{backend, Args, Backend, Op};
///
/// /// Call/CallEx get their own request back as the response; nothing else
/// /// is implemented.
/// struct Echo;
///
/// impl Backend for Echo {
///     fn forward(&self, op: Op, args: &mut Args<'_>) -> Retcode {
///         match (op, &args.out, &mut args.inp) {
///             (Op::Call | Op::CallEx, Some(out), Some(inp)) => {
///                 match inp.write(out.constant(), out.arena()) {
///                     Ok(_) => rcOk,
///                     Err(rc) => rc, // rcBufferTooSmall: it does not fit
///                 }
///             }
///             _ => rcUnimplemented,
///         }
///     }
///     fn name(&self) -> &'static str {
///         "echo"
///     }
/// }
///
/// static ECHO: Echo = Echo;
/// backend::set_backend(&ECHO).expect("a free backend slot");
///
/// let size = std::mem::size_of::<nk_message>() as u32;
/// let req = nk_message::new(3, 9, size);
/// let mut resp = nk_message::new(0, 0, size); // size_ex: the buffer's capacity
/// let (mut out, mut inp) = (SMsgHdr::ZERO, SMsgHdr::ZERO);
/// // SAFETY: the messages and headers outlive the calls that use them.
/// unsafe {
///     assert_eq!(PackOutMsg(&mut out, &req, null()), rcOk);
///     assert_eq!(PackInMsg(&mut inp, &mut resp, null_mut()), rcOk);
///     assert_eq!(Call(42, &out, &mut inp), rcOk);
/// }
/// assert_eq!(resp, req);
/// backend::reset_backend();
/// ```
pub trait Backend: Sync {
    /// Perform `op` with `args`, returning the kernel's return code.
    fn forward(&self, op: Op, args: &mut Args<'_>) -> Retcode;

    /// Told when the shim refused `op` before forwarding it (policy denial).
    /// A backend that tracks pending requests completes the one a refused
    /// Reply was answering, with `rc`, so its caller is not left waiting.
    fn refused(&self, _op: Op, _args: &mut Args<'_>, _rc: Retcode) {}

    /// A short name for diagnostics.
    fn name(&self) -> &'static str;
}

/// The caller's header pointers, for a backend that forwards them unchanged
/// to the next layer: NULL where `op` takes no such header.
pub fn raw_headers(args: &mut Args<'_>) -> (*const SMsgHdr, *mut SMsgHdr) {
    let out = args.out.as_ref().map_or(core::ptr::null(), MsgOut::as_ptr);
    let inp = args
        .inp
        .as_mut()
        .map_or(core::ptr::null_mut(), MsgIn::as_mut_ptr);
    (out, inp)
}

/// Backend used when nothing else is configured: every call is rcUnimplemented.
struct Unconfigured;

impl Backend for Unconfigured {
    fn forward(&self, _op: Op, _args: &mut Args<'_>) -> Retcode {
        rcUnimplemented
    }
    fn name(&self) -> &'static str {
        "none"
    }
}

/// How many backends may be installed over a process's life (slots are never reused,
/// so a caller holding the old backend can finish its call safely).
pub const MAX_BACKENDS: usize = 16;

static SLOTS: [spin::Once<&'static dyn Backend>; MAX_BACKENDS] =
    [const { spin::Once::new() }; MAX_BACKENDS];
/// Index+1 of the installed slot; 0 means the build's default backend.
static CURRENT: AtomicUsize = AtomicUsize::new(0);
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

/// The build's default backend.
/// The build's default backend, by its concrete type (calls to it are direct).
#[cfg(feature = "wrap")]
static DEFAULT: &real::Real = &real::REAL;
#[cfg(all(feature = "preload", not(feature = "wrap")))]
static DEFAULT: &preload::NextDefinition = &preload::NEXT;
#[cfg(all(feature = "host", not(any(feature = "wrap", feature = "preload"))))]
static DEFAULT: &crate::host::Emulator = &crate::host::EMULATOR;
#[cfg(not(any(feature = "host", feature = "wrap", feature = "preload")))]
static DEFAULT: &Unconfigured = &Unconfigured;

fn default_backend() -> &'static dyn Backend {
    DEFAULT
}

/// The backend calls are forwarded to now.
#[inline]
pub fn current() -> &'static dyn Backend {
    match CURRENT.load(Ordering::Acquire) {
        0 => default_backend(),
        n => SLOTS[n - 1].get().copied().unwrap_or(&Unconfigured),
    }
}

/// Whether the build's default backend reaches a lower layer that checks
/// its own arguments (the kernel under `wrap`, the next library under
/// `preload`), so that [`forward_unchecked`] may be used while
/// [`crate::layers::idle`] (which is false while a backend installed at run
/// time is current).
pub(crate) const HAS_UNCHECKED: bool = cfg!(any(feature = "wrap", feature = "preload"));

/// Whether a backend installed at run time is current (for [`crate::layers`]).
pub(crate) fn installed() -> bool {
    CURRENT.load(Ordering::Relaxed) != 0
}

/// Put whether a backend installed at run time is current into the
/// pipeline's layers word.
pub(crate) fn publish() {
    crate::layers::set_if(crate::layers::BACKEND, installed);
}

/// Forward validated `args` to the current backend. The build's default
/// backend is called directly (no virtual call): that is the common case.
#[inline]
pub(crate) fn forward(op: Op, args: &mut Args<'_>) -> Retcode {
    if CURRENT.load(Ordering::Acquire) == 0 {
        DEFAULT.forward(op, args)
    } else {
        current().forward(op, args)
    }
}

/// Forward straight to the default backend's lower layer, unvalidated: the
/// fast path [`crate::pipeline::dispatch`] takes while no layer is on, when
/// [`HAS_UNCHECKED`].
///
/// # Safety
/// The SDK's contract for the call: `out`/`inp` are NULL or the caller's
/// headers, valid for the duration of the call.
#[inline(always)]
pub(crate) unsafe fn forward_unchecked(
    op: Op,
    handle: Handle,
    out: *const SMsgHdr,
    inp: *mut SMsgHdr,
    mdelay: u32,
    sync: Handle,
) -> Retcode {
    #[cfg(feature = "wrap")]
    {
        // SAFETY: passed on under the caller's contract.
        unsafe { real::call_real(op, handle, out, inp, mdelay, sync) }
    }
    #[cfg(all(feature = "preload", not(feature = "wrap")))]
    {
        // SAFETY: passed on under the caller's contract.
        unsafe { preload::NEXT.call_next(op, handle, out, inp, mdelay, sync) }
    }
    #[cfg(not(any(feature = "wrap", feature = "preload")))]
    {
        // SAFETY: reached only when HAS_UNCHECKED, which is false here;
        // the full path's validation and current backend stay in force.
        unsafe { crate::pipeline::forward_checked(op, handle, out, inp, mdelay, sync) }
    }
}

/// Install `backend` for all later calls.
///
/// ```
/// use kos_ipc_shim::abi::{rcNotConnected, Retcode};
/// use kos_ipc_shim::{backend, Args, Backend, Op};
///
/// /// A layer below the shim in which no server is ever there.
/// struct Nobody;
/// impl Backend for Nobody {
///     fn forward(&self, _op: Op, _args: &mut Args<'_>) -> Retcode {
///         rcNotConnected
///     }
///     fn name(&self) -> &'static str {
///         "nobody"
///     }
/// }
/// static NOBODY: Nobody = Nobody;
/// backend::set_backend(&NOBODY).expect("a free backend slot");
/// assert_eq!(backend::current().name(), "nobody");
/// backend::reset_backend();
/// ```
/// Calls already inside the old
/// backend finish there. At most [`MAX_BACKENDS`] installs per process;
/// past that, `Err(rcOutOfMemory)`.
pub fn set_backend(backend: &'static dyn Backend) -> Result<(), Retcode> {
    let slot = NEXT_SLOT.fetch_add(1, Ordering::AcqRel);
    if slot >= MAX_BACKENDS {
        NEXT_SLOT.store(MAX_BACKENDS, Ordering::Release);
        return Err(rcOutOfMemory);
    }
    SLOTS[slot].call_once(|| backend);
    CURRENT.store(slot + 1, Ordering::Release);
    publish();
    Ok(())
}

/// Go back to the build's default backend.
pub fn reset_backend() {
    CURRENT.store(0, Ordering::Release);
    publish();
}
