//! Per-thread state, allocated on a thread's first IPC and reused after:
//! its client transaction, its receiver record, and the requests it received
//! and has not answered yet (one per server handle).

use std::cell::RefCell;
use std::sync::Arc;

use crate::abi::{rcFail, rcInvalidArgument, Handle, Retcode};

use crate::abi::rcNotConnected;

use super::channel::Channel;
use super::handles::{self, ChannelCache, End};
use super::receiver::Receiver;
use super::txn::{Txn, RECEIVED};

/// A request this thread received on `handle` and must answer with Reply.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The server handle it was received on.
    pub(crate) handle: Handle,
    /// The caller's transaction.
    pub(crate) txn: Arc<Txn>,
    /// The generation of the call it belongs to.
    pub(crate) gen: u64,
    /// The call's correlation id.
    pub(crate) correlation: u64,
}

/// One thread's emulator state.
#[derive(Debug)]
pub(crate) struct ThreadState {
    /// This thread's calls as a client.
    pub(crate) txn: Arc<Txn>,
    /// This thread waiting as a server.
    pub(crate) rx: Arc<Receiver>,
    pending: RefCell<Vec<Pending>>,
    channels: RefCell<ChannelCache>,
}

std::thread_local! {
    static STATE: ThreadState = ThreadState {
        txn: Txn::for_current_thread(),
        rx: Receiver::for_current_thread(),
        pending: RefCell::new(Vec::new()),
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
        for p in self.pending.get_mut().drain(..) {
            p.txn.complete(p.gen, RECEIVED, rcNotConnected);
        }
    }
}

impl ThreadState {
    /// Run `f` with the channel of `h` if `h` is an open handle of that
    /// `end`, else return rcInvalidArgument. The channel is borrowed from
    /// this thread's cache when it is there (no lock, no reference count).
    pub(crate) fn with_channel(
        &self,
        h: Handle,
        end: End,
        f: impl FnOnce(&Arc<Channel>) -> Retcode,
    ) -> Retcode {
        if let Ok(cache) = self.channels.try_borrow() {
            if let Some((e, ch)) = cache.find(h) {
                return if e == end { f(ch) } else { rcInvalidArgument };
            }
        }
        let Some((e, ch)) = handles::channel(h) else {
            return rcInvalidArgument;
        };
        if let Ok(mut cache) = self.channels.try_borrow_mut() {
            cache.put(h, e, Arc::clone(&ch));
        }
        if e == end {
            f(&ch)
        } else {
            rcInvalidArgument
        }
    }

    /// Record `p` as the request to answer on its handle; returns the one it
    /// replaces (received earlier and never answered).
    pub(crate) fn set_pending(&self, p: Pending) -> Option<Pending> {
        let mut v = self.pending.borrow_mut();
        match v.iter_mut().find(|q| q.handle == p.handle) {
            Some(slot) => Some(std::mem::replace(slot, p)),
            None => {
                v.push(p);
                None
            }
        }
    }

    /// Take the request to answer on `handle`, if any.
    pub(crate) fn take_pending(&self, handle: Handle) -> Option<Pending> {
        let mut v = self.pending.borrow_mut();
        let i = v.iter().position(|q| q.handle == handle)?;
        Some(v.swap_remove(i))
    }
}
