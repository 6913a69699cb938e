//! IPC synchronization objects: the interrupt source of CallEx and RecvEx.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;

use crate::abi::{rcInvalidArgument, rcIpcInterrupt, Handle, Retcode, INVALID_HANDLE};

use super::handles::{self, Object};
use super::wait::Deadline;

/// A sync object: a flag, and the threads whose CallEx/RecvEx it may interrupt.
#[derive(Debug)]
pub(crate) struct SyncObject {
    set: AtomicBool,
    waiters: Mutex<Vec<Thread>>,
}

impl SyncObject {
    /// A new object in the "don't interrupt" state, with room for a few
    /// waiters (so watching it does not allocate on a call).
    pub(crate) fn new() -> SyncObject {
        SyncObject {
            set: AtomicBool::new(false),
            waiters: Mutex::new(Vec::with_capacity(8)),
        }
    }

    /// Whether the interrupt is set.
    pub(crate) fn is_set(&self) -> bool {
        self.set.load(Ordering::SeqCst)
    }

    /// Set the interrupt and wake every thread waiting on it.
    pub(crate) fn set(&self) {
        self.set.store(true, Ordering::SeqCst);
        for t in super::lock(&self.waiters).iter() {
            t.unpark();
        }
    }

    /// Clear the interrupt.
    pub(crate) fn clear(&self) {
        self.set.store(false, Ordering::SeqCst);
    }

    /// Register `thread` as interruptible until the returned guard drops.
    /// Check [`SyncObject::is_set`] after registering: a `set` that came
    /// before is seen there, one that comes after unparks the thread.
    pub(crate) fn watch<'a>(&'a self, thread: &Thread) -> Watch<'a> {
        super::lock(&self.waiters).push(thread.clone());
        Watch {
            sync: self,
            id: thread.id(),
        }
    }
}

/// A registration made by [`SyncObject::watch`]; removed on drop.
pub(crate) struct Watch<'a> {
    sync: &'a SyncObject,
    id: std::thread::ThreadId,
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        let mut w = super::lock(&self.sync.waiters);
        if let Some(i) = w.iter().position(|t| t.id() == self.id) {
            w.swap_remove(i);
        }
    }
}

/// The sync object named by a CallEx/RecvEx `syncHandle`: `None` for
/// `INVALID_HANDLE` (not interruptible), rcInvalidArgument for anything that
/// is not a sync object.
pub(crate) fn resolve(handle: Handle) -> Result<Option<Arc<SyncObject>>, Retcode> {
    if handle == INVALID_HANDLE {
        return Ok(None);
    }
    match handles::get(handle) {
        Some(Object::Sync(s)) => Ok(Some(s)),
        _ => Err(rcInvalidArgument),
    }
}

/// The entry step shared by Call/CallEx and Recv/RecvEx. For the `Ex`
/// forms (`ex` true): resolve `sync_handle` (see [`resolve`]), take the
/// deadline `mdelay` ms from now, and give rcIpcInterrupt if the interrupt is
/// already set. Call and Recv wait without limit and cannot be interrupted.
pub(crate) fn enter(
    ex: bool,
    sync_handle: Handle,
    mdelay: u32,
) -> Result<(Deadline, Option<Arc<SyncObject>>), Retcode> {
    if !ex {
        return Ok((Deadline::Never, None));
    }
    let sync = resolve(sync_handle)?;
    if sync.as_ref().is_some_and(|s| s.is_set()) {
        return Err(rcIpcInterrupt);
    }
    Ok((Deadline::after_ms(mdelay), sync))
}
