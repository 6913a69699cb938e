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

use crate::abi::{rcOutOfMemory, rcUnimplemented, Retcode};
#[cfg(any(feature = "wrap", feature = "preload"))]
use crate::abi::{Handle, SMsgHdr};
use crate::op::Op;

pub(crate) mod api;
pub use api::{raw_headers, Args, Backend};

#[cfg(feature = "preload")]
pub mod preload;
#[cfg(feature = "wrap")]
pub mod real;
pub mod table;

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
/// fast and lean paths of [`crate::pipeline::dispatch`] while no layer that
/// needs validated views is on. Only in the builds whose lower layer checks
/// its own arguments ([`HAS_UNCHECKED`]: `wrap`, `preload`).
///
/// # Safety
/// The SDK's contract for the call: `out`/`inp` are NULL or the caller's
/// headers, valid for the duration of the call.
#[cfg(any(feature = "wrap", feature = "preload"))]
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
