//! The handle table: a fixed number of slots, each with a generation.
//!
//! A handle value is `generation << 12 | slot`. Generations run from 1 to
//! `0xFFFFE`, so a handle is never 0 nor `INVALID_HANDLE`; a slot's
//! generation moves on each time it is reused, so a closed handle's value
//! stays invalid (until the generation wraps after about a million reuses of
//! the same slot). Lookups take only their own slot's read lock; the free
//! list's lock is taken only to create and close handles.
//!
//! Each thread also keeps a few channels it used in a [`ChannelCache`],
//! checked against the slot's `live` word with one plain load: on the
//! steady path an IPC call takes no lock and no reference count.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use crate::abi::{rcInvalidArgument, rcOutOfMemory, Handle, Retcode};

use super::channel::Channel;
use super::sync::SyncObject;
use super::world::Port;

/// Number of handles that can be open at once.
pub(crate) const CAPACITY: usize = 4096;
const SLOT_BITS: u32 = 12;
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
const GEN_MAX: u32 = (1 << (32 - SLOT_BITS)) - 2;

const _: () = assert!(CAPACITY == 1 << SLOT_BITS);

/// What a handle refers to.
#[derive(Debug, Clone)]
pub(crate) enum Object {
    /// The client end of a channel (Call/CallEx).
    Client(Arc<Channel>),
    /// The server end of a channel (Recv/RecvEx/Reply).
    Server(Arc<Channel>),
    /// An IPC synchronization object.
    Sync(Arc<SyncObject>),
    /// An end of a channel in a world shared with other processes.
    World(Arc<Port>),
}

struct Slot {
    gen: u32,
    obj: Option<Object>,
}

/// One slot per cache line: a client's and a server's handles are usually
/// neighbours, and a lookup that misses the cache writes its slot's lock word.
#[repr(align(64))]
struct Padded {
    /// The open handle's value, 0 while closed (changed under the write lock).
    live: AtomicU32,
    slot: spin::RwLock<Slot>,
}

static SLOTS: [Padded; CAPACITY] = [const {
    Padded {
        live: AtomicU32::new(0),
        slot: spin::RwLock::new(Slot { gen: 0, obj: None }),
    }
}; CAPACITY];

struct FreeList {
    free: Vec<u16>,
    /// Slots below this index have been used at least once.
    used: usize,
}

static FREE: Mutex<FreeList> = Mutex::new(FreeList {
    free: Vec::new(),
    used: 0,
});

fn split(h: Handle) -> (usize, u32) {
    ((h & SLOT_MASK) as usize, h >> SLOT_BITS)
}

/// Open a handle to `obj`; rcOutOfMemory when all [`CAPACITY`] are open.
pub(crate) fn insert(obj: Object) -> Result<Handle, Retcode> {
    let index = {
        let mut fl = super::lock(&FREE);
        match fl.free.pop() {
            Some(i) => usize::from(i),
            None if fl.used < CAPACITY => {
                fl.used += 1;
                fl.used - 1
            }
            None => return Err(rcOutOfMemory),
        }
    };
    let mut slot = SLOTS[index].slot.write();
    slot.gen = if slot.gen >= GEN_MAX { 1 } else { slot.gen + 1 };
    slot.obj = Some(obj);
    let h = (slot.gen << SLOT_BITS) | index as u32;
    SLOTS[index].live.store(h, Ordering::Release);
    Ok(h)
}

/// What `h` refers to, or `None` for a value that is not an open handle.
pub(crate) fn get(h: Handle) -> Option<Object> {
    let (index, gen) = split(h);
    let slot = SLOTS[index].slot.read();
    if slot.gen == gen && gen != 0 {
        slot.obj.clone()
    } else {
        None
    }
}

/// Close `h`, returning what it referred to; rcInvalidArgument if it is not open.
pub(crate) fn remove(h: Handle) -> Result<Object, Retcode> {
    let (index, gen) = split(h);
    let obj = {
        let mut slot = SLOTS[index].slot.write();
        if slot.gen != gen || gen == 0 {
            return Err(rcInvalidArgument);
        }
        SLOTS[index].live.store(0, Ordering::Release);
        slot.obj.take().ok_or(rcInvalidArgument)?
    };
    super::lock(&FREE).free.push(index as u16);
    Ok(obj)
}

/// Which end of a channel a handle is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// Client end (Call/CallEx).
    Client,
    /// Server end (Recv/RecvEx/Reply).
    Server,
}

/// Entries in a thread's [`ChannelCache`].
const CACHED: usize = 4;

/// A thread's most recently used channel handles.
#[derive(Debug, Default)]
pub(crate) struct ChannelCache {
    entries: [Option<(Handle, End, Arc<Channel>)>; CACHED],
    next: usize,
}

impl ChannelCache {
    /// The channel of `h` if it is cached and still open.
    pub(crate) fn find(&self, h: Handle) -> Option<(End, &Arc<Channel>)> {
        let (index, _) = split(h);
        let (_, end, ch) = self.entries.iter().flatten().find(|(c, _, _)| *c == h)?;
        (h != 0 && SLOTS[index].live.load(Ordering::Acquire) == h).then_some((*end, ch))
    }

    /// Remember `ch` as the channel of `h` (replacing the oldest entry).
    pub(crate) fn put(&mut self, h: Handle, end: End, ch: Arc<Channel>) {
        self.entries[self.next] = Some((h, end, ch));
        self.next = (self.next + 1) % CACHED;
    }
}

/// A channel end as the calls use it: in this process, or in a world.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// An in-process channel.
    Local(Arc<Channel>),
    /// A world channel.
    World(Arc<Port>),
}

/// The channel end `h` refers to, looked up in the table (a cache miss).
pub(crate) fn channel(h: Handle) -> Option<(End, Target)> {
    match get(h)? {
        Object::Client(ch) => Some((End::Client, Target::Local(ch))),
        Object::Server(ch) => Some((End::Server, Target::Local(ch))),
        Object::World(p) => Some((p.end(), Target::World(p))),
        Object::Sync(_) => None,
    }
}
