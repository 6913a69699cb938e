//! IPC synchronization objects: the interrupt source of CallEx and RecvEx.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::Thread;

use crate::abi::{rcInvalidArgument, rcIpcInterrupt, Handle, Retcode, INVALID_HANDLE};

use super::handles::{self, Object};
use super::wait::Deadline;

/// Who waits in a CallEx/RecvEx a sync object may interrupt.
#[derive(Debug)]
enum Waiter {
    /// A thread parked in the in-process emulator: unparked.
    Thread(Thread),
    /// A thread asleep on a futex word of a world (its call slot's bell or
    /// its channel's `posted`): the word is bumped and its sleepers woken.
    Bell(&'static AtomicU32),
}

/// A sync object: a flag, and the waits it may interrupt.
#[derive(Debug)]
pub(crate) struct SyncObject {
    set: AtomicBool,
    waiters: Mutex<Vec<(u64, Waiter)>>,
}

/// Ids of registrations, to remove exactly one's own.
static NEXT_WATCH: AtomicU64 = AtomicU64::new(1);

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
        for (_, w) in super::lock(&self.waiters).iter() {
            match w {
                Waiter::Thread(t) => t.unpark(),
                Waiter::Bell(word) => {
                    word.fetch_add(1, Ordering::SeqCst);
                    super::world::futex::wake_all(word);
                }
            }
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
        self.add(Waiter::Thread(thread.clone()))
    }

    /// Like [`SyncObject::watch`] for a wait on the futex word `bell` of a
    /// world: a `set` bumps the word and wakes its sleepers. Check
    /// [`SyncObject::is_set`] after reading the word's value to wait on.
    pub(crate) fn watch_bell(&self, bell: &'static AtomicU32) -> Watch<'_> {
        self.add(Waiter::Bell(bell))
    }

    fn add(&self, waiter: Waiter) -> Watch<'_> {
        let id = NEXT_WATCH.fetch_add(1, Ordering::Relaxed);
        super::lock(&self.waiters).push((id, waiter));
        Watch { sync: self, id }
    }
}

/// A registration made by [`SyncObject::watch`]; removed on drop.
pub(crate) struct Watch<'a> {
    sync: &'a SyncObject,
    id: u64,
}

impl Drop for Watch<'_> {
    fn drop(&mut self) {
        let mut w = super::lock(&self.sync.waiters);
        if let Some(i) = w.iter().position(|(id, _)| *id == self.id) {
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
