//! A server thread waiting in Recv/RecvEx, and the direct hand-off of a
//! request into its buffers.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};
use std::sync::Arc;

use crate::abi::{rcOk, Retcode, SMsgHdr};
use crate::msg::{HdrContext, MsgIn, MsgOut};

use super::txn::{Txn, QUEUED};
use super::wait::Sleeper;

/// A request: the caller's transaction and the generation of this call.
pub(crate) type Request = (Arc<Txn>, u64);

/// A request a caller copied into a receiver's buffers.
#[derive(Debug)]
pub(crate) struct Handed {
    /// The request.
    pub(crate) request: Request,
    /// Result of the copy: rcOk, or the error both sides return.
    pub(crate) rc: Retcode,
    /// The call's correlation id (computed by the caller, so the receiver
    /// need not read the caller's transaction).
    pub(crate) correlation: u64,
}

/// One thread's receiver record (allocated once per thread, reused).
///
/// While listed in a channel's waiting receivers, the thread is blocked in
/// Recv/RecvEx and `inp` is its validated receive header. It leaves the list
/// only under the channel lock: taken by a caller (which sets `notified`,
/// possibly after handing a request over), by the channel's closing, or by
/// itself when it gives up.
///
/// `handed` and `spare` need no lock of their own: they change hands with
/// the listing. While the thread is listed, only the caller that takes it
/// off the list (under the channel lock) touches them; the thread itself
/// touches them only while it is not listed, and once a caller took it
/// off, only after `notified` (set after them, `SeqCst`) read true or
/// under the channel lock.
///
/// Exactly one cache line: a caller hands over, notifies and checks the
/// sleep flag; the receiver reads them all right after.
#[repr(C, align(64))]
pub(crate) struct Receiver {
    /// The request a caller handed over, with its correlation id.
    handed: UnsafeCell<Option<(Request, u64)>>,
    /// A caller's transaction reference the thread kept after answering
    /// it: the next hand-over from that caller reuses it instead of taking
    /// a new one, so a round trip changes no reference count (whose cache
    /// line would travel between caller and server twice).
    spare: UnsafeCell<Option<Arc<Txn>>>,
    notified: AtomicBool,
    handed_rc: AtomicI32,
    /// A waker sets `notified`, then reads the sleep flag in here.
    owner: Sleeper,
    inp: AtomicPtr<SMsgHdr>,
}

const _: () = assert!(core::mem::size_of::<Receiver>() == 64);

// SAFETY: the atomics are shared freely; `handed` and `spare` are touched
// by one thread at a time, which the listing protocol orders (see the
// struct documentation and each accessor's contract).
unsafe impl Sync for Receiver {}

impl core::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // `handed` and `spare` belong to whichever thread holds the
        // listing: not readable from here.
        f.debug_struct("Receiver")
            .field("notified", &self.notified)
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

impl Receiver {
    /// The calling thread's receiver record.
    pub(crate) fn for_current_thread() -> Arc<Receiver> {
        Arc::new(Receiver {
            notified: AtomicBool::new(false),
            owner: Sleeper::current(),
            inp: AtomicPtr::new(core::ptr::null_mut()),
            handed: UnsafeCell::new(None),
            spare: UnsafeCell::new(None),
            handed_rc: AtomicI32::new(rcOk),
        })
    }

    /// Whether a caller (or the channel's closing) took this receiver off
    /// the waiting list.
    pub(crate) fn notified(&self) -> bool {
        self.notified.load(Ordering::Acquire)
    }

    /// The owning thread.
    pub(crate) fn owner(&self) -> &Sleeper {
        &self.owner
    }

    /// Under the channel lock, before listing: reset, and remember where a
    /// caller may copy a request.
    pub(crate) fn prepare(&self, inp: *mut SMsgHdr) {
        self.notified.store(false, Ordering::Relaxed);
        self.inp.store(inp, Ordering::Relaxed);
    }

    /// Under the channel lock, once unlisted: tell the thread (the unpark,
    /// [`Receiver::wake`], may follow after unlocking).
    pub(crate) fn notify(&self) {
        self.notified.store(true, Ordering::SeqCst);
    }

    /// Unpark the thread if it sleeps.
    pub(crate) fn wake(&self) {
        self.owner.wake();
    }

    /// The request a caller handed over, if any.
    ///
    /// # Safety
    /// Called by the owning thread once off the list: after
    /// [`Receiver::notified`] read true, or under the lock of the channel it
    /// was listed on.
    pub(crate) unsafe fn take_handed(&self) -> Option<Handed> {
        // SAFETY: the caller's contract: the thread that took us off the
        // list wrote `handed` before `notified` (or before unlocking), and
        // no one else touches it until we are listed again.
        let (request, correlation) = unsafe { &mut *self.handed.get() }.take()?;
        Some(Handed {
            request,
            rc: self.handed_rc.load(Ordering::Relaxed),
            correlation,
        })
    }

    /// Keep `txn`, a caller's transaction this thread just answered, for
    /// that caller's next hand-over (replacing an older one).
    ///
    /// # Safety
    /// Called by the owning thread while it is not listed (outside
    /// Recv/RecvEx).
    pub(crate) unsafe fn keep_spare(&self, txn: Arc<Txn>) {
        // SAFETY: the caller's contract: no caller can take us off a list,
        // so no other thread touches `spare` now; listing publishes it
        // under the channel lock.
        let old = unsafe { &mut *self.spare.get() }.replace(txn);
        drop(old);
    }

    /// Under the channel lock, on a receiver just taken off the list: copy
    /// the `QUEUED` request `(txn, gen)` straight into its buffers. The
    /// request becomes `RECEIVED`, or, when it does not fit, `DONE` with
    /// rcBufferTooSmall for both sides; either way the receiver gets it.
    ///
    /// # Safety
    /// The caller holds the lock of the channel this receiver was listed
    /// on and took it off the list, and has not set `notified` yet.
    pub(crate) unsafe fn hand_over(&self, txn: &Arc<Txn>, gen: u64, out: &MsgOut<'_>) {
        // SAFETY: the receiver was listed until the caller took it off under
        // the channel lock it still holds, so its thread is blocked in
        // Recv/RecvEx (it cannot leave without that lock) and `inp` is the
        // receive header its Recv validated, valid until it returns.
        let copied = unsafe { MsgIn::from_raw(self.inp.load(Ordering::Relaxed)) }
            .and_then(|mut inp| deliver(txn, out, &mut inp));
        let rc = match copied {
            Ok(_) => {
                txn.handed(gen);
                rcOk
            }
            Err(rc) => {
                txn.complete(gen, QUEUED, rc);
                rc
            }
        };
        self.handed_rc.store(rc, Ordering::Relaxed);
        // SAFETY: the caller's contract: until it sets `notified` no other
        // thread touches `handed` or `spare` (the struct documentation).
        let (handed, spare) = unsafe { (&mut *self.handed.get(), &mut *self.spare.get()) };
        *handed = Some((
            (super::spare_or_clone(spare, txn), gen),
            txn.correlation(gen),
        ));
    }
}

/// Copy the request `out` of the caller owning `txn` into a server's receive
/// buffers and fill the header fields the kernel sets on Recv, but for
/// `replyHandle`, which the receiving thread sets (only it knows the handle
/// it received on). Nothing is written when the message does not fit.
pub(crate) fn deliver(txn: &Txn, out: &MsgOut<'_>, inp: &mut MsgIn<'_>) -> Result<(), Retcode> {
    inp.write(out.constant(), out.arena())?;
    let sent = out.context();
    inp.set_context(&HdrContext {
        sender: super::task_id(),
        thread: txn.tid(),
        trace_id: sent.trace_id,
        span_id: sent.span_id,
    });
    Ok(())
}
