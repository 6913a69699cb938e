//! The world's shared-memory layout: fixed arrays of atomics, valid when
//! all zero, so a freshly created (zero-filled) region is an empty world.
//!
//! ```text
//! Shared
//! ├─ Header          magic, correlation counter, registry lock and sequence
//! ├─ procs[64]       ProcSlot: word = gen:24 | pid:32 | state:8, start time
//! ├─ channels[256]   ChannelSlot: word = gen:16 | index:8 | owner:8 | owner gen:24 | state:8,
//! │                  posted (futex), receivers, tickets, entity and id names
//! ├─ heads[64 × 16]  CallHead: word = gen:56 | state:8, the request's channel,
//! │                  ticket, bell (futex), ids, sizes, rc
//! └─ data[64 × 16]   128 KiB per call: constant part at 0, arena at the next
//!                    multiple of 8; request first, then the response
//! ```
//!
//! Call slots `[16 p, 16 p + 16)` belong to process slot `p`: only that
//! process starts calls in them, so allocating one is a process-local
//! matter, and a process taking over the slot of a dead one inherits its
//! leftovers (see `call`).
//!
//! Every field is an atomic: the other processes are not trusted, so this
//! process only ever reads values (never references into them) and
//! validates each index and size before use.

use core::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, Ordering};

/// Processes attached to one world at once.
pub const PROCS: usize = 64;
/// Channels registered in one world at once.
pub const CHANNELS: usize = 256;
/// World calls one process may have in progress at once (threads blocked
/// in Call/CallEx on world handles); one more returns rcOutOfMemory.
pub const CALLS_PER_PROC: usize = 16;
/// All call slots.
pub(crate) const CALLS: usize = PROCS * CALLS_PER_PROC;
/// Bytes of message one call slot carries: the constant part (rounded up
/// to a multiple of 8) plus the arena bytes in use. A larger request or
/// response is refused with rcBufferTooLarge.
pub const SLOT_BYTES: usize = 128 * 1024;
const SLOT_WORDS: usize = SLOT_BYTES / 8;
/// Longest entity name or connection id, in bytes.
pub const NAME_MAX: usize = 63;
const NAME_WORDS: usize = (NAME_MAX + 1) / 8;

/// Layout version: a world made by another layout is refused at attach.
const VERSION: u64 = 1;
/// `Header::magic` of an initialised world: "KOSWORLD" with the version.
pub(crate) const MAGIC: u64 = 0x4B4F_5357_4F52_0000 | VERSION;

/// Whole-world bookkeeping.
#[repr(C, align(64))]
pub(crate) struct Header {
    /// [`MAGIC`] once a process attached (0 in a fresh region).
    pub(crate) magic: AtomicU64,
    /// Next correlation id (world-wide).
    pub(crate) correlation: AtomicU64,
    /// Registry lock: 0 when free, else the holder's [`ProcSlot`] index + 1
    /// in the top 8 bits and its proc word's gen and pid below.
    pub(crate) registry_lock: AtomicU64,
    /// Bumped on every registration and close (futex of waiting connects).
    pub(crate) registry_seq: AtomicU32,
}

/// Process slot states.
pub(crate) const PROC_FREE: u64 = 0;
/// A process is attached (alive unless the liveness check says otherwise).
pub(crate) const PROC_LIVE: u64 = 1;

/// One attached process.
#[repr(C, align(64))]
pub(crate) struct ProcSlot {
    /// [`ProcWord`].
    pub(crate) word: AtomicU64,
    /// The process's start time (field 22 of `/proc/<pid>/stat`), written
    /// right after the claim; 0 while unknown.
    pub(crate) start_time: AtomicU64,
}

/// A process slot's word: generation (24 bits), pid (32), state (8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcWord(pub(crate) u64);

impl ProcWord {
    pub(crate) fn new(gen: u32, pid: u32, state: u64) -> ProcWord {
        ProcWord(((u64::from(gen) & 0xFF_FFFF) << 40) | (u64::from(pid) << 8) | (state & 0xFF))
    }
    pub(crate) fn gen(self) -> u32 {
        (self.0 >> 40) as u32
    }
    pub(crate) fn pid(self) -> u32 {
        (self.0 >> 8) as u32
    }
    pub(crate) fn state(self) -> u64 {
        self.0 & 0xFF
    }
}

/// Channel slot states.
pub(crate) const CHAN_FREE: u64 = 0;
/// Registered: its server port is open.
pub(crate) const CHAN_OPEN: u64 = 1;

/// A channel's word: generation (16 bits), the channel's own index (8),
/// owner process slot (8), the owner's proc generation (24), state (8).
/// Client ports and requests keep the word of the channel they were made
/// for: the channel is theirs while its word is unchanged (closing or
/// taking over changes it), and the index makes words of different
/// channels differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChanWord(pub(crate) u64);

impl ChanWord {
    pub(crate) fn new(
        gen: u32,
        index: usize,
        owner: usize,
        owner_gen: u32,
        state: u64,
    ) -> ChanWord {
        ChanWord(
            ((u64::from(gen) & 0xFFFF) << 48)
                | ((index as u64 & 0xFF) << 40)
                | ((owner as u64 & 0xFF) << 32)
                | ((u64::from(owner_gen) & 0xFF_FFFF) << 8)
                | (state & 0xFF),
        )
    }
    pub(crate) fn gen(self) -> u32 {
        (self.0 >> 48) as u32
    }
    pub(crate) fn owner(self) -> usize {
        ((self.0 >> 32) & 0xFF) as usize
    }
    pub(crate) fn owner_gen(self) -> u32 {
        ((self.0 >> 8) & 0xFF_FFFF) as u32
    }
    pub(crate) fn state(self) -> u64 {
        self.0 & 0xFF
    }
}

/// A name stored in shared memory: length byte, then up to [`NAME_MAX`] bytes.
pub(crate) type Name = [AtomicU64; NAME_WORDS];

/// Store `name` (at most [`NAME_MAX`] bytes).
pub(crate) fn put_name(slot: &Name, name: &[u8]) {
    let mut bytes = [0u8; NAME_WORDS * 8];
    let n = name.len().min(NAME_MAX);
    bytes[0] = n as u8;
    bytes[1..=n].copy_from_slice(&name[..n]);
    for (w, chunk) in slot.iter().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        w.store(u64::from_ne_bytes(b), Ordering::Relaxed);
    }
}

/// Whether `slot` holds `name` (a corrupted length never matches).
pub(crate) fn name_is(slot: &Name, name: &[u8]) -> bool {
    let mut bytes = [0u8; NAME_WORDS * 8];
    for (w, chunk) in slot.iter().zip(bytes.chunks_exact_mut(8)) {
        chunk.copy_from_slice(&w.load(Ordering::Relaxed).to_ne_bytes());
    }
    let n = usize::from(bytes[0]);
    n == name.len() && n <= NAME_MAX && bytes[1..=n] == *name
}

/// One registered channel.
#[repr(C, align(64))]
pub(crate) struct ChannelSlot {
    /// [`ChanWord`].
    pub(crate) word: AtomicU64,
    /// Futex of waiting receivers: bumped on each posted request, on
    /// closing, and by a sync object interrupting a receiver.
    pub(crate) posted: AtomicU32,
    /// Receivers waiting (or about to) on `posted`; posting skips the
    /// wake-up system call while it is 0.
    pub(crate) receivers: AtomicU32,
    /// Next request ticket: requests are served in ticket order (FIFO).
    pub(crate) tickets: AtomicU64,
    /// The registering entity's name.
    pub(crate) entity: Name,
    /// The connection id it registered.
    pub(crate) id: Name,
}

/// Call slot states (the low 8 bits of [`CallHead::word`]).
pub(crate) const IDLE: u64 = 0;
/// Posted, waiting for a server.
pub(crate) const QUEUED: u64 = 1;
/// A server copies the request out (the caller waits, it cannot withdraw).
pub(crate) const RECEIVING: u64 = 2;
/// A server holds the request.
pub(crate) const RECEIVED: u64 = 3;
/// A server writes the response (or an error) in.
pub(crate) const REPLYING: u64 = 4;
/// Completed: `rc`, and with rcOk the response in `data`.
pub(crate) const DONE: u64 = 5;

/// `gen << 8 | state` of a call slot.
pub(crate) fn call_word(gen: u64, state: u64) -> u64 {
    (gen << 8) | (state & 0xFF)
}

/// Generation and state of a call slot's word.
pub(crate) fn split_call(word: u64) -> (u64, u64) {
    (word >> 8, word & 0xFF)
}

/// One call slot's control part (the message bytes are in [`Shared::data`]).
#[repr(C, align(64))]
pub(crate) struct CallHead {
    /// `gen << 8 | state`; each call is a new generation.
    pub(crate) word: AtomicU64,
    /// The [`ChanWord`] of the channel the request is posted on.
    pub(crate) channel: AtomicU64,
    /// Its ticket on that channel.
    pub(crate) ticket: AtomicU64,
    /// Futex the caller waits on; bumped after every change made for it.
    pub(crate) bell: AtomicU32,
    /// The caller is (about to be) asleep on `bell`.
    pub(crate) sleeping: AtomicU32,
    /// The caller's [`ProcWord`] at the start of the call.
    pub(crate) client: AtomicU64,
    /// The correlation id of the call.
    pub(crate) correlation: AtomicU64,
    /// The request's `traceId`.
    pub(crate) trace_id: AtomicU64,
    /// The request's `spanId`.
    pub(crate) span_id: AtomicU64,
    /// The calling thread (`threadId` on Recv).
    pub(crate) tid: AtomicU32,
    /// The caller's return code once `DONE`.
    pub(crate) rc: AtomicI32,
    /// Constant part bytes of the message in `data`.
    pub(crate) const_len: AtomicU32,
    /// Arena bytes of the message in `data`.
    pub(crate) arena_len: AtomicU32,
    /// Capacity of the caller's response constant-part buffer.
    pub(crate) const_cap: AtomicU32,
    /// Capacity of the caller's response arena.
    pub(crate) arena_cap: AtomicU32,
    /// The replying server's pid (the response header's `sender`).
    pub(crate) replier: AtomicU32,
}

/// The message bytes of one call slot.
#[repr(C, align(64))]
pub(crate) struct CallData(pub(crate) [AtomicU64; SLOT_WORDS]);

/// The whole shared region.
#[repr(C)]
pub(crate) struct Shared {
    pub(crate) header: Header,
    pub(crate) procs: [ProcSlot; PROCS],
    pub(crate) channels: [ChannelSlot; CHANNELS],
    pub(crate) heads: [CallHead; CALLS],
    pub(crate) data: [CallData; CALLS],
}

/// Bytes of the shared region.
pub const WORLD_BYTES: usize = core::mem::size_of::<Shared>();

const _: () = assert!(PROCS <= 256 && CHANNELS <= 256);
const _: () = assert!(core::mem::size_of::<CallHead>() == 128);
const _: () = assert!(SLOT_BYTES.is_multiple_of(8) && SLOT_BYTES <= u32::MAX as usize);

/// Bytes a message of `const_len` + `arena_len` takes in a slot, if it fits.
pub(crate) fn fits(const_len: usize, arena_len: usize) -> bool {
    const_len
        .checked_next_multiple_of(8)
        .and_then(|c| c.checked_add(arena_len))
        .is_some_and(|n| n <= SLOT_BYTES)
}

/// Store `src` into `data` from byte `offset` (a multiple of 8); the
/// caller checked with [`fits`]. Bytes past `src` in the last word are 0.
pub(crate) fn store_bytes(data: &CallData, offset: usize, src: &[u8]) {
    let words = &data.0[offset / 8..];
    let mut chunks = src.chunks_exact(8);
    for (w, chunk) in words.iter().zip(&mut chunks) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        w.store(u64::from_ne_bytes(b), Ordering::Relaxed);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        words[src.len() / 8].store(u64::from_ne_bytes(b), Ordering::Relaxed);
    }
}

/// Load `dst.len()` bytes of `data` from byte `offset` (a multiple of 8);
/// the caller checked with [`fits`].
pub(crate) fn load_bytes(data: &CallData, offset: usize, dst: &mut [u8]) {
    let words = &data.0[offset / 8..];
    let n = dst.len();
    let mut chunks = dst.chunks_exact_mut(8);
    for (w, chunk) in words.iter().zip(&mut chunks) {
        chunk.copy_from_slice(&w.load(Ordering::Relaxed).to_ne_bytes());
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let b = words[n / 8].load(Ordering::Relaxed).to_ne_bytes();
        let k = rest.len();
        rest.copy_from_slice(&b[..k]);
    }
}

/// Where the arena starts in a slot holding a constant part of `const_len`.
pub(crate) fn arena_offset(const_len: usize) -> usize {
    const_len.next_multiple_of(8)
}
