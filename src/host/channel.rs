//! A channel: the FIFO of posted requests and the server threads waiting for one.
//!
//! Everything here runs under the channel's lock, held only for a few queue
//! operations (and, for a small request handed straight to a waiting
//! receiver, one bounded copy). Requests in the queue are `QUEUED`
//! transactions; that state changes only under this lock, so a caller
//! withdrawing its request (timeout, interrupt) and a server taking it can
//! never both succeed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::abi::{rcNotConnected, Retcode, SMsgHdr};
use crate::msg::MsgOut;

use super::receiver::{Handed, Receiver, Request};
use super::txn::{self, Txn, QUEUED, RECEIVED, RECEIVING};

/// Requests up to this size (constant part and arena) are copied by the
/// caller straight into a waiting receiver's buffers, under the channel
/// lock; larger ones are queued and copied by the server, so the lock is
/// never held for a long copy.
const HANDOFF_MAX: u64 = 64 * 1024;
/// Queued requests a new channel has room for before its queue grows.
const REQUEST_ROOM: usize = 32;
/// Waiting server threads (beyond the first) a new channel has room for.
const WAITING_ROOM: usize = 8;

/// Waiting receivers in FIFO order. The oldest sits inline, in the
/// channel's first cache line with the lock, so the common case of one
/// server thread never touches the overflow queue's buffer.
#[derive(Debug, Default)]
struct Waiting {
    /// The oldest; `None` only when `rest` is empty too.
    first: Option<Arc<Receiver>>,
    /// The reference of the receiver a caller took off the list last (and
    /// found spinning, so it needed no reference for an unpark after
    /// unlocking), kept for that receiver's next listing: in the common
    /// case of one server thread, listing and unlisting change no
    /// reference count (whose cache line would travel between the two
    /// threads twice per round trip).
    spare: Option<Arc<Receiver>>,
    rest: VecDeque<Arc<Receiver>>,
}

impl Waiting {
    /// List `rx` (the listing thread's own reference) at the tail.
    fn list(&mut self, rx: &Arc<Receiver>) {
        let listed = super::spare_or_clone(&mut self.spare, rx);
        self.push(listed);
    }

    fn push(&mut self, rx: Arc<Receiver>) {
        if self.first.is_none() {
            self.first = Some(rx);
        } else {
            self.rest.push_back(rx);
        }
    }

    fn pop(&mut self) -> Option<Arc<Receiver>> {
        let rx = self.first.take()?;
        self.first = self.rest.pop_front();
        Some(rx)
    }

    /// Remove `rx` if listed; false if it is not.
    fn remove(&mut self, rx: &Arc<Receiver>) -> bool {
        if self.first.as_ref().is_some_and(|f| Arc::ptr_eq(f, rx)) {
            self.pop();
            return true;
        }
        match self.rest.iter().position(|r| Arc::ptr_eq(r, rx)) {
            Some(i) => {
                self.rest.remove(i);
                true
            }
            None => false,
        }
    }

    fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.rest.len()
    }
}

#[derive(Debug, Default)]
#[repr(C)]
struct Queues {
    receivers: Waiting,
    requests: VecDeque<Request>,
}

impl Queues {
    /// Remove the longest-waiting receiver and mark it notified. Done under
    /// the lock, so `notified` is true exactly when the receiver is no
    /// longer listed (the unpark may follow after unlocking).
    fn pop_receiver(&mut self) -> Option<Arc<Receiver>> {
        let rx = self.receivers.pop()?;
        rx.notify();
        Some(rx)
    }

    /// Under the lock, on a receiver just notified: the reference to unpark
    /// it with after unlocking if it sleeps or is about to; else none is
    /// needed (it sees `notified` before it parks) and the reference is
    /// kept as the spare for its next listing.
    fn unpark_after(&mut self, rx: Arc<Receiver>) -> Option<Arc<Receiver>> {
        if rx.owner().sleeping() {
            return Some(rx);
        }
        self.receivers.spare = Some(rx);
        None
    }
}

/// One IPC channel (any number of client handles, one server handle).
///
/// Cache-line aligned with the lock first, so the lock word, the first
/// waiting receiver and the request queue's header share one line, apart
/// from the `Arc`'s counts.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct Channel {
    queues: Mutex<Queues>,
    closed: AtomicBool,
    id: u64,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Channel {
    /// A new open channel.
    pub(crate) fn new() -> Arc<Channel> {
        Arc::new(Channel {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            closed: AtomicBool::new(false),
            // Room from the start, so the first request that has to queue
            // (or the second waiting server thread) does not allocate on a
            // call: a queue only allocates when it outgrows this, once.
            queues: Mutex::new(Queues {
                receivers: Waiting {
                    first: None,
                    spare: None,
                    rest: VecDeque::with_capacity(WAITING_ROOM),
                },
                requests: VecDeque::with_capacity(REQUEST_ROOM),
            }),
        })
    }

    /// Unique id of this channel (never reused).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Whether the server end was closed.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Requests queued (posted, not yet received) and server threads waiting.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let q = super::lock(&self.queues);
        (q.requests.len(), q.receivers.len())
    }

    /// Post the `QUEUED` request `(txn, gen)` whose message is `out`: hand
    /// it straight to the longest-waiting receiver if there is one and it is
    /// small, else queue it at the tail and wake that receiver.
    /// rcNotConnected if the server end is closed.
    pub(crate) fn post(&self, txn: &Arc<Txn>, gen: u64, out: &MsgOut<'_>) -> Result<(), Retcode> {
        let woken = {
            let mut q = super::lock(&self.queues);
            if self.is_closed() {
                return Err(rcNotConnected);
            }
            if q.requests.is_empty() && out.info().total_size() <= HANDOFF_MAX {
                if let Some(rx) = q.receivers.pop() {
                    // SAFETY: taken off the list under the lock we hold,
                    // not notified yet.
                    unsafe { rx.hand_over(txn, gen, out) };
                    rx.notify();
                    q.unpark_after(rx)
                } else {
                    q.requests.push_back((Arc::clone(txn), gen));
                    None
                }
            } else {
                q.requests.push_back((Arc::clone(txn), gen));
                q.pop_receiver().and_then(|rx| q.unpark_after(rx))
            }
        };
        if let Some(rx) = woken {
            rx.wake();
        }
        Ok(())
    }

    /// Take the oldest request, moving it to `RECEIVING` (the caller then
    /// owns the copy). With none queued: if `rx` is given, list it as
    /// waiting with its receive header `inp` and return `Ok(None)`.
    /// rcNotConnected if the server end is closed.
    pub(crate) fn take_or_wait(
        &self,
        rx: Option<(&Arc<Receiver>, *mut SMsgHdr)>,
    ) -> Result<Option<Request>, Retcode> {
        let mut q = super::lock(&self.queues);
        if self.is_closed() {
            return Err(rcNotConnected);
        }
        while let Some((txn, gen)) = q.requests.pop_front() {
            if txn.claim(gen, QUEUED, RECEIVING) {
                return Ok(Some((txn, gen)));
            }
        }
        if let Some((rx, inp)) = rx {
            rx.prepare(inp);
            q.receivers.list(rx);
        }
        Ok(None)
    }

    /// A waiting receiver gives up (timeout, interrupt). Returns the request
    /// a caller handed over to it meanwhile, which it must deliver. If a
    /// caller merely picked it to wake for a queued request, the wake-up is
    /// passed on to the next waiting receiver so the request is not left
    /// unnoticed.
    pub(crate) fn withdraw_receiver(&self, rx: &Arc<Receiver>) -> Option<Handed> {
        let woken = {
            let mut q = super::lock(&self.queues);
            if q.receivers.remove(rx) {
                return None;
            }
            // SAFETY: off the list (not found there), under the lock of
            // the channel it was listed on.
            if let Some(handed) = unsafe { rx.take_handed() } {
                return Some(handed);
            }
            if q.requests.is_empty() {
                return None;
            }
            q.pop_receiver()
        };
        if let Some(next) = woken {
            next.wake();
        }
        None
    }

    /// The caller takes back its request `(txn, gen)` if no server took it
    /// yet: true (the transaction is `IDLE` again), false if a server has it
    /// or the call was already completed.
    pub(crate) fn withdraw_request(&self, txn: &Arc<Txn>, gen: u64) -> bool {
        let mut q = super::lock(&self.queues);
        if txn.load() != (gen, QUEUED) {
            return false;
        }
        if let Some(i) = q
            .requests
            .iter()
            .position(|(t, g)| Arc::ptr_eq(t, txn) && *g == gen)
        {
            q.requests.remove(i);
        }
        txn.end(gen);
        true
    }

    /// Close the server end: every queued and every received-but-unanswered
    /// request is completed with rcNotConnected, every waiting receiver is
    /// woken (and returns rcNotConnected), later posts fail.
    pub(crate) fn close(&self) {
        let receivers: Vec<Arc<Receiver>> = {
            let mut q = super::lock(&self.queues);
            if self.closed.swap(true, Ordering::SeqCst) {
                return;
            }
            for (t, gen) in q.requests.drain(..) {
                t.complete(gen, QUEUED, rcNotConnected);
            }
            let mut all = Vec::with_capacity(q.receivers.len());
            while let Some(rx) = q.pop_receiver() {
                all.push(rx);
            }
            all
        };
        for rx in receivers {
            rx.wake();
        }
        // Requests a server holds: their callers wait in RECEIVED. A server
        // still copying one (RECEIVING) checks `closed` after marking it
        // RECEIVED, so one of the two sides completes it.
        txn::for_each(|t| {
            let (gen, state) = t.load();
            if state == RECEIVED && t.channel() == self.id {
                t.complete(gen, RECEIVED, rcNotConnected);
            }
        });
    }
}
