//! A server thread waiting in Recv/RecvEx, and the direct hand-off of a
//! request into its buffers.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, Ordering};
use std::sync::Arc;

use crate::abi::{rcOk, Retcode, SMsgHdr};
use crate::msg::{HdrContext, MsgIn, MsgOut};

use super::txn::{Txn, QUEUED, RECEIVED};
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
/// Exactly one cache line: a caller hands over, notifies and checks the
/// sleep flag; the receiver reads them all right after.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct Receiver {
    handed: spin::Mutex<Option<(Request, u64)>>,
    notified: AtomicBool,
    handed_rc: AtomicI32,
    /// A waker sets `notified`, then reads the sleep flag in here.
    owner: Sleeper,
    inp: AtomicPtr<SMsgHdr>,
}

const _: () = assert!(core::mem::size_of::<Receiver>() == 64);

impl Receiver {
    /// The calling thread's receiver record.
    pub(crate) fn for_current_thread() -> Arc<Receiver> {
        Arc::new(Receiver {
            notified: AtomicBool::new(false),
            owner: Sleeper::current(),
            inp: AtomicPtr::new(core::ptr::null_mut()),
            handed: spin::Mutex::new(None),
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
    pub(crate) fn take_handed(&self) -> Option<Handed> {
        let (request, correlation) = self.handed.lock().take()?;
        Some(Handed {
            request,
            rc: self.handed_rc.load(Ordering::Relaxed),
            correlation,
        })
    }

    /// Under the channel lock, on a receiver just taken off the list: copy
    /// the `QUEUED` request `(txn, gen)` straight into its buffers. The
    /// request becomes `RECEIVED`, or, when it does not fit, `DONE` with
    /// rcBufferTooSmall for both sides; either way the receiver gets it.
    pub(crate) fn hand_over(&self, txn: &Arc<Txn>, gen: u64, out: &MsgOut<'_>) {
        // SAFETY: the receiver was listed until the caller took it off under
        // the channel lock it still holds, so its thread is blocked in
        // Recv/RecvEx (it cannot leave without that lock) and `inp` is the
        // receive header its Recv validated, valid until it returns.
        let copied = unsafe { MsgIn::from_raw(self.inp.load(Ordering::Relaxed)) }
            .and_then(|mut inp| deliver(txn, out, &mut inp));
        let rc = match copied {
            Ok(_) => {
                txn.claim(gen, QUEUED, RECEIVED);
                rcOk
            }
            Err(rc) => {
                txn.complete(gen, QUEUED, rc);
                rc
            }
        };
        self.handed_rc.store(rc, Ordering::Relaxed);
        *self.handed.lock() = Some(((Arc::clone(txn), gen), txn.correlation(gen)));
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
