//! A client thread's transaction: the state a blocked caller shares with the
//! server thread serving its request.
//!
//! Each client thread owns one [`Txn`], allocated on its first call and
//! reused for every later call. Its state and a generation count share one
//! atomic word; every call starts a new generation. A server refers to a
//! request as `(Arc<Txn>, generation)` and may touch the caller's buffers only
//! after it moved the word from `QUEUED`/`RECEIVED` to `RECEIVING`/`REPLYING`
//! *of that generation* with a compare-and-swap. The caller returns only from
//! `DONE` or after its own compare-and-swap took the request back (from
//! `QUEUED` under the channel lock, or from `RECEIVED`), never while a server
//! holds `RECEIVING`/`REPLYING`. So a stale server reference (the caller timed
//! out, or moved on to its next call) fails its compare-and-swap and can
//! never write into a stack frame that is gone.
//!
//! ```text
//!  IDLE ─begin─▶ QUEUED ─server takes─▶ RECEIVING ─copied─▶ RECEIVED ─Reply─▶ REPLYING ─▶ DONE ─caller─▶ IDLE
//!                  │  (channel lock)        │ too small             │ caller timed out              ▲
//!                  └ caller withdraws ▶ IDLE └───────────▶ DONE      └────────▶ IDLE                │
//!                  └ server closed ────────────────────────────────────────────── REPLYING ────────┘
//! ```

use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use crate::abi::{rcOk, Retcode, SMsgHdr};

use super::wait::Sleeper;

/// Not in a call.
pub(crate) const IDLE: u64 = 0;
/// Request posted on a channel's queue (only changed under that channel's lock).
pub(crate) const QUEUED: u64 = 1;
/// A server is copying the request out of the caller's buffers.
pub(crate) const RECEIVING: u64 = 2;
/// A server holds the request; the caller waits for the reply.
pub(crate) const RECEIVED: u64 = 3;
/// Someone is completing the call (copying the reply, or setting an error).
pub(crate) const REPLYING: u64 = 4;
/// Completed; `rc` holds the caller's return code.
pub(crate) const DONE: u64 = 5;

const STATE_BITS: u32 = 8;
const STATE_MASK: u64 = (1 << STATE_BITS) - 1;
/// Bits of the generation used in a correlation id (the rest is the thread number).
const CORRELATION_GEN_BITS: u32 = 40;

fn word(gen: u64, state: u64) -> u64 {
    (gen << STATE_BITS) | state
}

/// One client thread's call state (see the module documentation).
///
/// Exactly one cache line, in this order: the word, the return code and the
/// owner's sleep flag are what caller and server exchange on every call.
#[derive(Debug)]
#[repr(C, align(64))]
pub(crate) struct Txn {
    word: AtomicU64,
    rc: AtomicI32,
    /// The owning thread's id as Recv reports it (`SMsgHdr.threadId`):
    /// the OS thread id truncated to 32 bits, never 0. It fills the 4 bytes
    /// after `rc` that alignment would leave empty.
    tid: u32,
    /// A waker writes the word, then reads the sleep flag in here.
    owner: Sleeper,
    number: u64,
    channel: AtomicU64,
    out: AtomicPtr<SMsgHdr>,
    inp: AtomicPtr<SMsgHdr>,
}

const _: () = assert!(core::mem::size_of::<Txn>() == 64);

/// Every thread's transaction, for closing a channel (which completes the
/// requests servers received on it). Dead threads' entries are pruned.
static REGISTRY: Mutex<Vec<Weak<Txn>>> = Mutex::new(Vec::new());
static NEXT_NUMBER: AtomicU64 = AtomicU64::new(1);

impl Txn {
    /// The calling thread's new transaction, registered for channel closing.
    pub(crate) fn for_current_thread() -> Arc<Txn> {
        let txn = Arc::new(Txn {
            word: AtomicU64::new(word(0, IDLE)),
            owner: Sleeper::current(),
            rc: AtomicI32::new(rcOk),
            tid: client_tid(),
            channel: AtomicU64::new(0),
            out: AtomicPtr::new(core::ptr::null_mut()),
            inp: AtomicPtr::new(core::ptr::null_mut()),
            number: NEXT_NUMBER.fetch_add(1, Ordering::Relaxed),
        });
        let mut reg = super::lock(&REGISTRY);
        reg.retain(|w| w.strong_count() > 0);
        reg.push(Arc::downgrade(&txn));
        txn
    }

    /// Owner: start a call on channel `channel` with the caller's validated
    /// headers; the request is `QUEUED` in the returned generation.
    pub(crate) fn begin(&self, channel: u64, out: *const SMsgHdr, inp: *mut SMsgHdr) -> u64 {
        let gen = (self.word.load(Ordering::Relaxed) >> STATE_BITS) + 1;
        self.channel.store(channel, Ordering::Relaxed);
        self.out.store(out as *mut SMsgHdr, Ordering::Relaxed);
        self.inp.store(inp, Ordering::Relaxed);
        self.word.store(word(gen, QUEUED), Ordering::Release);
        gen
    }

    /// Owner: the call is over (the caller is about to return).
    pub(crate) fn end(&self, gen: u64) {
        self.word.store(word(gen, IDLE), Ordering::Release);
    }

    /// Generation and state now.
    pub(crate) fn load(&self) -> (u64, u64) {
        let w = self.word.load(Ordering::SeqCst);
        (w >> STATE_BITS, w & STATE_MASK)
    }

    /// Move generation `gen` from state `from` to `to`; false if the word
    /// is anything else (another generation, or another state).
    pub(crate) fn claim(&self, gen: u64, from: u64, to: u64) -> bool {
        self.word
            .compare_exchange(
                word(gen, from),
                word(gen, to),
                Ordering::SeqCst,
                Ordering::Relaxed,
            )
            .is_ok()
    }

    /// The owner, under the channel lock, on its own `QUEUED` request it
    /// just copied into a receiver's buffers: the request is `RECEIVED`.
    /// `QUEUED` changes only under that lock and this thread is the one
    /// that set it, so no compare-and-swap is needed; no one waits for
    /// this change but the owner, so no wake-up either.
    pub(crate) fn handed(&self, gen: u64) {
        debug_assert_eq!(self.load(), (gen, QUEUED));
        self.word.store(word(gen, RECEIVED), Ordering::Release);
    }

    /// Holder of `RECEIVING`: the request is now held by the server.
    /// Unparks the caller, which may be waiting for the copy to end.
    pub(crate) fn mark_received(&self, gen: u64) {
        self.word.store(word(gen, RECEIVED), Ordering::SeqCst);
        self.owner.wake();
    }

    /// Holder of `RECEIVING`/`REPLYING` (or of `QUEUED` under the channel
    /// lock): complete the call with `rc` and wake the caller.
    pub(crate) fn finish(&self, gen: u64, rc: Retcode) {
        self.rc.store(rc, Ordering::Relaxed);
        self.word.store(word(gen, DONE), Ordering::SeqCst);
        self.owner.wake();
    }

    /// Claim generation `gen` in state `from` and complete it with `rc`;
    /// false if it was not in that state.
    pub(crate) fn complete(&self, gen: u64, from: u64, rc: Retcode) -> bool {
        if self.claim(gen, from, REPLYING) {
            self.finish(gen, rc);
            true
        } else {
            false
        }
    }

    /// Owner, after seeing `DONE`: the return code.
    pub(crate) fn rc(&self) -> Retcode {
        self.rc.load(Ordering::Relaxed)
    }

    /// Id of the channel the current call is on.
    pub(crate) fn channel(&self) -> u64 {
        self.channel.load(Ordering::Relaxed)
    }

    /// The caller's request header. Only dereferenced by the holder of
    /// `RECEIVING` of the current generation.
    pub(crate) fn out_ptr(&self) -> *const SMsgHdr {
        self.out.load(Ordering::Relaxed)
    }

    /// The caller's response header. Only dereferenced by the holder of
    /// `REPLYING` of the current generation.
    pub(crate) fn inp_ptr(&self) -> *mut SMsgHdr {
        self.inp.load(Ordering::Relaxed)
    }

    /// The non-zero id shared by the Call, Recv and Reply of generation `gen`.
    pub(crate) fn correlation(&self, gen: u64) -> u64 {
        (self.number << CORRELATION_GEN_BITS) | (gen & ((1 << CORRELATION_GEN_BITS) - 1))
    }

    /// The owning thread.
    pub(crate) fn owner(&self) -> &Sleeper {
        &self.owner
    }

    /// The owning thread's id as Recv reports it in `threadId` (never 0).
    pub(crate) fn tid(&self) -> u32 {
        self.tid
    }
}

/// The calling thread's id for `SMsgHdr.threadId`: the OS thread id the shim
/// uses everywhere ([`crate::guard::thread_id`], the Linux tid on Linux),
/// truncated to 32 bits (`Tid` is 32-bit); 0 means "the first waiting
/// thread" in a Reply, so a truncation to 0 becomes 1.
pub(crate) fn client_tid() -> u32 {
    (crate::guard::thread_id() as u32).max(1)
}

/// Run `f` on every live thread's transaction (rare: closing a channel).
pub(crate) fn for_each(mut f: impl FnMut(&Txn)) {
    let reg = super::lock(&REGISTRY);
    for txn in reg.iter().filter_map(Weak::upgrade) {
        f(&txn);
    }
}
