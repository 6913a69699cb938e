//! Per-thread state, allocated on a thread's first IPC and reused after:
//! its client transaction, its receiver record, and the requests it received
//! and has not answered yet ([`PendingSet`]).

use std::cell::RefCell;
use std::sync::Arc;

use crate::abi::{rcFail, rcInvalidArgument, rcNotConnected, rcOutOfMemory, Handle, Retcode};

use super::channel::Channel;
use super::handles::{self, ChannelCache, End, Target};
use super::receiver::Receiver;
use super::txn::{Txn, RECEIVED};
use super::world::{Held as WorldHeld, Port};

/// How many received, unanswered requests one server thread may hold at
/// once, over all its server handles. A Recv/RecvEx made while the thread
/// holds this many returns rcOutOfMemory at once (the project's code for "a
/// fixed table is full"), before it takes any request, so none is lost.
/// 16 lets one thread hold the requests of 16 client threads at once
/// (NK-generated servers hold one) and keeps the set a small array searched
/// linearly.
pub(crate) const PENDING_MAX: usize = 16;

/// A request this thread received on `handle` and must answer with Reply.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The server handle it was received on.
    pub(crate) handle: Handle,
    /// Where its caller waits.
    pub(crate) held: Held,
    /// The call's correlation id.
    pub(crate) correlation: u64,
}

/// Where the caller of a received request waits.
#[derive(Debug)]
pub(crate) enum Held {
    /// A thread of this process: its transaction, in the call's generation.
    Local {
        /// The caller's transaction.
        txn: Arc<Txn>,
        /// The generation of the call it belongs to.
        gen: u64,
    },
    /// A thread of another process (or of this one) through a world.
    World(WorldHeld),
}

impl Pending {
    /// The calling client thread's id (what Recv put in `threadId`).
    pub(crate) fn client(&self) -> u32 {
        match &self.held {
            Held::Local { txn, .. } => txn.tid(),
            Held::World(w) => w.client_thread(),
        }
    }

    /// Whether its caller still waits for this answer: false once the
    /// caller timed out, or the request was completed otherwise (the
    /// channel closed).
    fn live(&self) -> bool {
        match &self.held {
            Held::Local { txn, gen } => txn.load() == (*gen, RECEIVED),
            Held::World(w) => w.live(),
        }
    }

    /// Whether `other` comes from the same caller (transaction, call slot
    /// or thread id).
    fn same_caller(&self, other: &Pending) -> bool {
        match (&self.held, &other.held) {
            (Held::Local { txn: a, .. }, Held::Local { txn: b, .. }) => {
                Arc::ptr_eq(a, b) || a.tid() == b.tid()
            }
            (Held::World(a), Held::World(b)) => a.same_caller(b),
            _ => self.client() == other.client(),
        }
    }

    /// Complete the request with `rc` and no response, if its caller still
    /// waits.
    pub(crate) fn complete(&self, rc: Retcode) {
        match &self.held {
            Held::Local { txn, gen } => {
                txn.complete(*gen, RECEIVED, rc);
            }
            Held::World(w) => w.complete(rc),
        }
    }

    /// Give the request up: its caller, if it still waits, gets
    /// rcNotConnected (as when a server ends without answering).
    fn abandon(self) {
        self.complete(rcNotConnected);
    }
}

/// The requests a thread received and has not answered, in the order it
/// received them: at most [`PENDING_MAX`], in a fixed array (no allocation).
///
/// Rules (see also the module documentation of `host`):
/// - Receiving again does not give up earlier requests: a thread may take
///   requests from several client threads and answer them in any order,
///   naming each by its client's thread id (`threadId` of the Reply).
/// - A client thread has at most one call in flight, so a new request from
///   the same client thread (same transaction, or the same thread id)
///   replaces an older entry: that one is stale (its caller timed out and
///   called again), or, if the thread ids of two live threads collide after
///   truncation to 32 bits (not on Linux, where tids are 32-bit), its
///   caller gets rcNotConnected rather than waiting forever.
/// - When the set is full, entries whose callers no longer wait (timed out,
///   channel closed) are dropped to make room; a later Reply naming one of
///   them gets rcInvalidArgument instead of rcNotConnected.
#[derive(Debug)]
pub(crate) struct PendingSet {
    /// `slots[..len]` are `Some`, oldest first.
    slots: [Option<Pending>; PENDING_MAX],
    len: usize,
}

impl PendingSet {
    const fn new() -> PendingSet {
        PendingSet {
            slots: [const { None }; PENDING_MAX],
            len: 0,
        }
    }

    /// Remove and return entry `i`, keeping the others in order.
    #[inline]
    fn remove(&mut self, i: usize) -> Pending {
        let p = self.slots[i].take().expect("slots[..len] are filled");
        // The newest entry (a server holding one request: the only one)
        // leaves no gap to close.
        if i + 1 < self.len {
            self.slots[i..self.len].rotate_left(1);
        }
        self.len -= 1;
        p
    }

    fn iter(&self) -> impl Iterator<Item = &Pending> {
        self.slots[..self.len].iter().flatten()
    }

    /// Room for one more entry: drop dead entries if the set is full;
    /// rcOutOfMemory if every entry is still awaited.
    #[inline]
    fn make_room(&mut self) -> Result<(), Retcode> {
        if self.len < PENDING_MAX {
            return Ok(());
        }
        self.make_room_full()
    }

    /// [`PendingSet::make_room`] for a full set.
    #[cold]
    fn make_room_full(&mut self) -> Result<(), Retcode> {
        let mut i = 0;
        while i < self.len {
            if self.slots[i].as_ref().is_some_and(Pending::live) {
                i += 1;
            } else {
                self.remove(i);
            }
        }
        if self.len < PENDING_MAX {
            Ok(())
        } else {
            Err(rcOutOfMemory)
        }
    }

    /// Add `p` as the newest entry, replacing entries of the same client
    /// thread. Callers ensured room with [`PendingSet::make_room`] first;
    /// should there be none, `p` is given up (never silently dropped).
    fn push(&mut self, p: Pending) {
        let mut i = 0;
        while i < self.len {
            let same = self.slots[i].as_ref().is_some_and(|q| q.same_caller(&p));
            if same {
                self.remove(i).abandon();
            } else {
                i += 1;
            }
        }
        if self.make_room().is_err() {
            p.abandon();
            return;
        }
        self.slots[self.len] = Some(p);
        self.len += 1;
    }

    /// Take the entry a Reply on `handle` answers: the oldest received on
    /// `handle` when `client` is 0, else the one of that client thread.
    fn take(&mut self, handle: Handle, client: u32) -> Option<Pending> {
        let i = self
            .iter()
            .position(|p| p.handle == handle && (client == 0 || p.client() == client))?;
        Some(self.remove(i))
    }
}

/// One thread's emulator state.
#[derive(Debug)]
pub(crate) struct ThreadState {
    /// This thread's calls as a client.
    pub(crate) txn: Arc<Txn>,
    /// This thread waiting as a server.
    pub(crate) rx: Arc<Receiver>,
    pending: RefCell<PendingSet>,
    channels: RefCell<ChannelCache>,
}

std::thread_local! {
    static STATE: ThreadState = ThreadState {
        txn: Txn::for_current_thread(),
        rx: Receiver::for_current_thread(),
        pending: RefCell::new(PendingSet::new()),
        channels: RefCell::new(ChannelCache::default()),
    };
}

/// Run `f` with the calling thread's state; rcFail while the thread is
/// being torn down (its thread-locals are gone).
pub(crate) fn with<R>(f: impl FnOnce(&ThreadState) -> R) -> Result<R, Retcode> {
    STATE.try_with(f).map_err(|_| rcFail)
}

impl Drop for ThreadState {
    /// A server thread that ends with requests it never answered: their
    /// callers get rcNotConnected, as when a server process ends.
    fn drop(&mut self) {
        let set = self.pending.get_mut();
        while set.len > 0 {
            set.remove(0).abandon();
        }
    }
}

/// How a call on a channel handle is carried: by an in-process channel or
/// by a world shared with other processes.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Via<'a> {
    /// An in-process channel.
    Local(&'a Arc<Channel>),
    /// A world channel end.
    World(&'a Arc<Port>),
}

impl ThreadState {
    /// Run `f` with the channel of `h` if `h` is an open handle of that
    /// `end`, else return rcInvalidArgument. An in-process channel is
    /// borrowed from this thread's cache when it is there (no lock, no
    /// reference count); world handles are looked up in the table.
    pub(crate) fn with_channel(
        &self,
        h: Handle,
        end: End,
        f: impl FnOnce(Via<'_>) -> Retcode,
    ) -> Retcode {
        if let Ok(cache) = self.channels.try_borrow() {
            if let Some((e, ch)) = cache.find(h) {
                return if e == end {
                    f(Via::Local(ch))
                } else {
                    rcInvalidArgument
                };
            }
        }
        let Some((e, target)) = handles::channel(h) else {
            return rcInvalidArgument;
        };
        if e != end {
            return rcInvalidArgument;
        }
        match &target {
            Target::Local(ch) => {
                if let Ok(mut cache) = self.channels.try_borrow_mut() {
                    cache.put(h, e, Arc::clone(ch));
                }
                f(Via::Local(ch))
            }
            Target::World(p) => f(Via::World(p)),
        }
    }

    /// Before a receive: make sure one more request can be recorded
    /// (rcOutOfMemory when [`PENDING_MAX`] requests await an answer).
    pub(crate) fn reserve_pending(&self) -> Result<(), Retcode> {
        self.pending.borrow_mut().make_room()
    }

    /// Record `p`, just received, as a request to answer.
    pub(crate) fn add_pending(&self, p: Pending) {
        self.pending.borrow_mut().push(p);
    }

    /// Take the request a Reply on `handle` with `threadId == client`
    /// answers (0: the oldest received on `handle`), if there is one.
    pub(crate) fn take_pending(&self, handle: Handle, client: u32) -> Option<Pending> {
        self.pending.borrow_mut().take(handle, client)
    }
}
