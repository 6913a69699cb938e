//! The fixed-capacity, lock-free key table and its sharded counters.
//!
//! Keys (op, handle, iid, mid) live in an open-addressed array of
//! `2 × capacity` slots (load factor ≤ ½, so a miss ends within a few
//! probes). A new key reserves the next counter block (a CAS loop on
//! `used`, which never exceeds `capacity`), claims an empty slot by CAS,
//! writes the key and publishes it with a release store. With all blocks
//! taken, the call is counted in the overflow block (index `capacity`) and
//! in the global `dropped` counter: recording never waits and never loses a
//! call.
//!
//! Every key has one block of counters per shard; reads add the shards up.
//! The first `exclusive` shards each belong to one thread at a time (claimed
//! with [`Table::claim`], released when the thread ends): their owner updates
//! them with a plain load and store, no locked instruction (an uncontended
//! `lock xadd` costs 20-30 ns on the machines we measured, a load+store
//! about 7). Threads that found no free exclusive shard share the remaining
//! shards, chosen by thread-id hash, with atomic read-modify-writes. Either
//! way threads on different CPUs touch different cache lines.
//!
//! Resetting an owned shard is left to its owner (the `pending` flag, checked
//! on its next call; readers count a pending shard as zero), so an owner's
//! load+store never races with a reset's store.
//!
//! A thread that finds a slot being written (between claim and publish)
//! spins briefly, then probes on: if the writer was preempted this may insert
//! the same key a second time. Duplicates are merged on read, so counts stay
//! exact.

use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};

use super::histogram::{self, BUCKETS};
use super::{rc_slot, RC_SLOTS};
use crate::call::{CallInfo, Verdict};
use crate::op::Op;

/// Counters of one key in one shard. All-zero is the empty state.
#[repr(C, align(64))]
pub(crate) struct Block {
    /// Calls by return code slot (see [`super::RC_SLOTS`]); their sum is the call count.
    pub rc: [AtomicU64; RC_SLOTS],
    pub denied: AtomicU64,
    pub audit_denied: AtomicU64,
    pub out_const: AtomicU64,
    pub out_arena: AtomicU64,
    pub in_const: AtomicU64,
    pub in_arena: AtomicU64,
    /// Sum of latencies in ticks.
    pub sum: AtomicU64,
    /// `!min` so that the all-zero block means "no minimum yet".
    pub min_inv: AtomicU64,
    pub max: AtomicU64,
    pub hist: [AtomicU64; BUCKETS],
}

impl Block {
    #[allow(clippy::declare_interior_mutable_const)]
    #[cfg_attr(feature = "clib", allow(dead_code))]
    pub const ZERO: Block = Block {
        rc: [const { AtomicU64::new(0) }; RC_SLOTS],
        denied: AtomicU64::new(0),
        audit_denied: AtomicU64::new(0),
        out_const: AtomicU64::new(0),
        out_arena: AtomicU64::new(0),
        in_const: AtomicU64::new(0),
        in_arena: AtomicU64::new(0),
        sum: AtomicU64::new(0),
        min_inv: AtomicU64::new(0),
        max: AtomicU64::new(0),
        hist: [const { AtomicU64::new(0) }; BUCKETS],
    };

    fn clear(&self) {
        // Only write what is non-zero: untouched pages stay unmapped.
        let zero = |c: &AtomicU64| {
            if c.load(Relaxed) != 0 {
                c.store(0, Relaxed);
            }
        };
        for c in self.rc.iter().chain([
            &self.denied,
            &self.audit_denied,
            &self.out_const,
            &self.out_arena,
            &self.in_const,
            &self.in_arena,
            &self.sum,
            &self.min_inv,
            &self.max,
        ]) {
            zero(c);
        }
        for c in &self.hist {
            zero(c);
        }
    }
}

/// One slot of the open-addressed key index.
pub(crate) struct Slot {
    /// `EMPTY`, `WRITING`, `DEAD`, or `READY | op << 8 | block << 32`.
    state: AtomicU64,
    /// `handle << 32 | iid << 16 | mid`, valid once `state` is ready.
    word: AtomicU64,
}

impl Slot {
    #[allow(clippy::declare_interior_mutable_const)]
    #[cfg_attr(feature = "clib", allow(dead_code))]
    pub const EMPTY: Slot = Slot {
        state: AtomicU64::new(EMPTY),
        word: AtomicU64::new(0),
    };
}

/// The key of a block, published after the block's slot is claimed.
pub(crate) struct KeyRec {
    /// 0 until published, then `1 | op << 8`.
    meta: AtomicU64,
    word: AtomicU64,
}

impl KeyRec {
    #[allow(clippy::declare_interior_mutable_const)]
    #[cfg_attr(feature = "clib", allow(dead_code))]
    pub const EMPTY: KeyRec = KeyRec {
        meta: AtomicU64::new(0),
        word: AtomicU64::new(0),
    };
}

const EMPTY: u64 = 0;
const WRITING: u64 = 1;
const DEAD: u64 = 2;
const READY: u64 = 3;

/// How long a prober waits for a slot being written before moving on.
const WRITING_SPINS: u32 = 256;

/// A statistics key: what one row of a dump is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// The operation.
    pub op: Op,
    /// The IPC handle.
    pub handle: u32,
    /// Interface id of the message (0 when there was none: failed or invalid call).
    pub iid: u16,
    /// Method id of the message.
    pub mid: u16,
}

impl Key {
    /// The key a call is counted under.
    #[inline(always)]
    fn of(info: &CallInfo) -> Key {
        let m = info.message();
        Key {
            op: info.op,
            handle: info.handle,
            iid: m.iid,
            mid: m.mid,
        }
    }

    #[inline(always)]
    fn word(&self) -> u64 {
        (self.handle as u64) << 32 | (self.iid as u64) << 16 | self.mid as u64
    }

    fn from_parts(op: u64, word: u64) -> Option<Key> {
        Some(Key {
            op: Op::from_u8(op as u8)?,
            handle: (word >> 32) as u32,
            iid: (word >> 16) as u16,
            mid: word as u16,
        })
    }
}

/// A thread's memo of the last key it counted per operation and that key's
/// block: a program calling the same method again (a server's Recv and
/// Reply alternating included) skips the hash probe. Exact because a key,
/// once in the table, keeps its block for the table's life (a reset zeroes
/// counters, not keys).
#[derive(Debug, Default)]
pub(crate) struct Memo([core::cell::Cell<(u64, u64)>; 5]);

impl Memo {
    /// A memo for no key.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) const fn new() -> Memo {
        Memo([const { core::cell::Cell::new((0, 0)) }; 5])
    }

    #[inline(always)]
    fn block_of(&self, key: &Key) -> Option<usize> {
        // (word, block + 1): the empty memo (_, 0) matches no key.
        let (word, b) = self.0[key.op as usize].get();
        (b != 0 && word == key.word()).then(|| (b - 1) as usize)
    }

    #[inline(always)]
    fn keep(&self, key: &Key, block: usize) {
        self.0[key.op as usize].set((key.word(), block as u64 + 1));
    }
}

/// A thread's direct line to the exclusive shard it owns: that shard's
/// own counters and reset flag, and per operation the key it counted last
/// with that key's block in the shard. A repeated key is then counted
/// without the table: no index, no shard arithmetic, no bounds checks
/// ([`count_on_line`]). Filled by [`Table::record_lined`] after a call went the
/// long way; emptied ([`Line::cut`]) when the thread gives the shard back.
/// Exact for the same reason as [`Memo`]: a key keeps its block for the
/// table's life, and the one process table is never replaced.
#[derive(Default)]
pub(crate) struct Line {
    shard: core::cell::Cell<Option<(&'static GlobalShard, &'static AtomicBool)>>,
    last: [core::cell::Cell<(u64, Option<&'static Block>)>; 5],
}

impl Line {
    /// A line to no shard.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) const fn new() -> Line {
        Line {
            shard: core::cell::Cell::new(None),
            last: [const { core::cell::Cell::new((0, None)) }; 5],
        }
    }

    /// Forget the shard (its owner gives it back).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn cut(&self) {
        self.shard.set(None);
        for l in &self.last {
            l.set((0, None));
        }
    }
}

/// Count `info` straight on the owner's `line`, when the line has a shard,
/// no reset waits on it and its last key of the operation is `info`'s.
/// Returns false, having counted nothing, otherwise: then the call goes
/// the long way (which does the reset, finds the key and connects the line).
#[inline(always)]
#[cfg_attr(not(feature = "std"), allow(dead_code))]
pub(crate) fn count_on_line(line: &Line, info: &CallInfo, timing: bool) -> bool {
    let Some((g, pending)) = line.shard.get() else {
        return false;
    };
    let (word, blk) = line.last[info.op as usize].get();
    match blk {
        Some(blk) if word == Key::of(info).word() && !pending.load(Acquire) => {
            count::<true>(g, blk, info, timing);
            true
        }
        _ => false,
    }
}

/// The counters of one call in its key's block `blk` and shard counters
/// `g` (owned by the caller when `EXCL`).
#[inline(always)]
fn count<const EXCL: bool>(g: &GlobalShard, blk: &Block, info: &CallInfo, timing: bool) {
    bump(&g.by_op[info.op as usize], 1, EXCL);
    bump(&blk.rc[rc_slot(info.rc)], 1, EXCL);
    match info.verdict {
        Verdict::Deny => bump(&blk.denied, 1, EXCL),
        Verdict::AuditDeny => bump(&blk.audit_denied, 1, EXCL),
        _ => {}
    }
    // Bytes out: what was handed on (a denied or failed message never left).
    if !info.refused {
        add(&blk.out_const, info.sent.const_size, EXCL);
        add(&blk.out_arena, info.sent.arena_size, EXCL);
    }
    add(&blk.in_const, info.received.const_size, EXCL);
    add(&blk.in_arena, info.received.arena_size, EXCL);
    // `start == 0`: the clock was not read for this call (level changed
    // while it ran, or nothing needed time when it started).
    if timing && info.start != 0 && info.end >= info.start {
        record_latency(blk, info.end - info.start, EXCL);
    }
}

/// Sums over the shards of one block.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sums {
    pub rc: [u64; RC_SLOTS],
    pub denied: u64,
    pub audit_denied: u64,
    pub out_const: u64,
    pub out_arena: u64,
    pub in_const: u64,
    pub in_arena: u64,
    pub sum: u64,
    pub min: u64,
    pub max: u64,
    pub timed: u64,
    /// Quantile values in ticks, when `timed > 0`.
    pub quantiles: Option<[u64; 4]>,
}

impl Sums {
    pub fn calls(&self) -> u64 {
        self.rc.iter().sum()
    }

    fn add(&mut self, o: &Sums) {
        for (a, b) in self.rc.iter_mut().zip(o.rc) {
            *a += b;
        }
        self.denied += o.denied;
        self.audit_denied += o.audit_denied;
        self.out_const += o.out_const;
        self.out_arena += o.out_arena;
        self.in_const += o.in_const;
        self.in_arena += o.in_arena;
        self.sum += o.sum;
        if o.timed > 0 {
            self.min = if self.timed > 0 {
                self.min.min(o.min)
            } else {
                o.min
            };
            self.max = self.max.max(o.max);
        }
        self.timed += o.timed;
    }
}

/// Most shards a table has.
pub(crate) const MAX_SHARDS: usize = 16;

/// Process-wide counters of one shard.
#[repr(C, align(64))]
pub(crate) struct GlobalShard {
    by_op: [AtomicU64; 5],
    dropped: AtomicU64,
}

impl GlobalShard {
    #[allow(clippy::declare_interior_mutable_const)]
    const ZERO: GlobalShard = GlobalShard {
        by_op: [const { AtomicU64::new(0) }; 5],
        dropped: AtomicU64::new(0),
    };
}

/// Add `n` to a counter: a plain load and store by the shard's single
/// owner, an atomic add in a shared shard.
#[inline(always)]
fn bump(c: &AtomicU64, n: u64, excl: bool) {
    if excl {
        c.store(c.load(Relaxed).wrapping_add(n), Relaxed);
    } else {
        c.fetch_add(n, Relaxed);
    }
}

/// The key index plus `shards × (capacity + 1)` counter blocks.
pub struct Table {
    cap: usize,
    slot_mask: usize,
    shards: usize,
    exclusive: usize,
    slots: &'static [Slot],
    keys: &'static [KeyRec],
    blocks: &'static [Block],
    used: AtomicUsize,
    dups: AtomicBool,
    owners: [AtomicBool; MAX_SHARDS],
    pending: [AtomicBool; MAX_SHARDS],
    globals: [GlobalShard; MAX_SHARDS],
}

impl Table {
    /// Number of slots for a capacity: a power of two ≥ 2 × capacity.
    pub(crate) const fn slots_for(cap: usize) -> usize {
        (2 * cap).next_power_of_two()
    }

    /// A table over preallocated, all-zero storage. `slots.len()` must be a
    /// power of two ≥ 2 × `keys.len()`, `blocks.len()` a multiple (at most
    /// [`MAX_SHARDS`]) of `keys.len() + 1`; the first `exclusive` shards are
    /// for owners, at least one must be left shared.
    pub(crate) fn over(
        slots: &'static [Slot],
        keys: &'static [KeyRec],
        blocks: &'static [Block],
        exclusive: usize,
    ) -> Table {
        let cap = keys.len();
        assert!(cap > 0 && slots.len().is_power_of_two() && slots.len() >= 2 * cap);
        let shards = blocks.len() / (cap + 1);
        assert!(shards * (cap + 1) == blocks.len() && shards <= MAX_SHARDS);
        assert!(exclusive < shards);
        Table {
            cap,
            slot_mask: slots.len() - 1,
            shards,
            exclusive,
            slots,
            keys,
            blocks,
            used: AtomicUsize::new(0),
            dups: AtomicBool::new(false),
            owners: [const { AtomicBool::new(false) }; MAX_SHARDS],
            pending: [const { AtomicBool::new(false) }; MAX_SHARDS],
            globals: [GlobalShard::ZERO; MAX_SHARDS],
        }
    }

    /// Allocate a table once, zeroed and leaked (it lives as long as the
    /// process); None when the heap has no room. Zeroed allocation maps
    /// untouched pages lazily, so the memory of keys never seen costs
    /// nothing but address space. (A failed allocation leaks what was
    /// allocated before it: this happens once, at configuration.)
    #[cfg(feature = "clib")]
    pub(crate) fn alloc(cap: usize, exclusive: usize, shared: usize) -> Option<Table> {
        let shards = exclusive + shared;
        // SAFETY: every type allocated consists only of atomics, for which
        // all-zero bytes are a valid (and the initial) value.
        unsafe {
            let slots = zeroed_slice::<Slot>(Self::slots_for(cap))?;
            let keys = zeroed_slice::<KeyRec>(cap)?;
            let blocks = zeroed_slice::<Block>(shards.checked_mul(cap + 1)?)?;
            Some(Table::over(slots, keys, blocks, exclusive))
        }
    }

    /// The bytes [`Table::alloc`] asks for.
    #[cfg(feature = "clib")]
    pub(crate) fn bytes_for(cap: usize, shards: usize) -> usize {
        Self::slots_for(cap) * core::mem::size_of::<Slot>()
            + cap * core::mem::size_of::<KeyRec>()
            + shards * (cap + 1) * core::mem::size_of::<Block>()
    }

    /// Distinct keys the table holds (the overflow key not counted).
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Number of counter shards.
    pub fn shards(&self) -> usize {
        self.shards
    }

    /// Claim a free exclusive shard for the calling thread (which must
    /// [`Table::release`] it when it ends); `None` when all are owned.
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn claim(&self) -> Option<usize> {
        (0..self.exclusive).find(|&s| {
            self.owners[s]
                .compare_exchange(false, true, Acquire, Relaxed)
                .is_ok()
        })
    }

    /// Give back an exclusive shard; its counts stay (the next owner adds to them).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn release(&self, shard: usize) {
        self.owners[shard].store(false, Release);
    }

    /// The shared shard for a thread id.
    #[inline]
    pub(crate) fn shared_shard(&self, thread: u64) -> usize {
        let h = (thread.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize;
        self.exclusive + h % (self.shards - self.exclusive)
    }

    /// Calls per operation and calls in the overflow key, over all shards.
    pub(crate) fn global_sums(&self) -> ([u64; 5], u64) {
        let mut by_op = [0u64; 5];
        let mut dropped = 0;
        for (s, g) in self.globals[..self.shards].iter().enumerate() {
            if self.pending[s].load(Acquire) {
                continue;
            }
            for (a, c) in by_op.iter_mut().zip(&g.by_op) {
                *a += c.load(Relaxed);
            }
            dropped += g.dropped.load(Relaxed);
        }
        (by_op, dropped)
    }

    /// Keys inserted so far.
    pub fn used(&self) -> usize {
        self.used.load(Acquire).min(self.cap)
    }

    #[inline]
    fn block(&self, shard: usize, b: usize) -> &Block {
        &self.blocks[shard * (self.cap + 1) + b]
    }

    /// Count one call in `shard` — owned by the caller when `excl` (see the
    /// module docs). Returns false when it went to the overflow key.
    #[inline]
    pub(crate) fn record(&self, info: &CallInfo, shard: usize, excl: bool, timing: bool) -> bool {
        self.record_memo(info, shard, excl, timing, &Memo::default())
    }

    /// [`Table::record`] with the calling thread's [`Memo`] of its last key
    /// (this table's only: a memo must not be shared between tables).
    #[inline]
    pub(crate) fn record_memo(
        &self,
        info: &CallInfo,
        shard: usize,
        excl: bool,
        timing: bool,
        memo: &Memo,
    ) -> bool {
        // Two copies of the body, so that neither tests `excl` per counter.
        if excl {
            self.record_in::<true>(info, shard, timing, memo)
        } else {
            self.record_in::<false>(info, shard % self.shards, timing, memo)
        }
    }

    #[inline(always)]
    fn record_in<const EXCL: bool>(
        &self,
        info: &CallInfo,
        shard: usize,
        timing: bool,
        memo: &Memo,
    ) -> bool {
        if EXCL && self.pending[shard].load(Acquire) {
            // A reset asked the owner (us) to zero this shard.
            self.clear_shard(shard);
            self.pending[shard].store(false, Release);
        }
        let g = &self.globals[shard];
        let key = Key::of(info);
        // The memo usually has it: then it stays as it is.
        let (b, kept) = match memo.block_of(&key) {
            Some(b) => (b, true),
            None => self.look_up(&key, memo),
        };
        if !kept {
            bump(&g.dropped, 1, EXCL);
        }
        count::<EXCL>(g, self.block(shard, b), info, timing);
        kept
    }

    /// [`Table::record_memo`] for a call that was not on the owner's
    /// `line` ([`count_on_line`]); then, when the shard is the caller's own
    /// and the key got a block of its own, the line is given the shard and
    /// that block. (A call counted in the overflow block is not put on the
    /// line: each of those must count as dropped too.)
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) fn record_lined(
        &'static self,
        info: &CallInfo,
        shard: usize,
        excl: bool,
        timing: bool,
        memo: &Memo,
        line: &Line,
    ) -> bool {
        let kept = self.record_memo(info, shard, excl, timing, memo);
        let key = Key::of(info);
        if let (true, Some(b)) = (kept && excl, memo.block_of(&key)) {
            line.shard
                .set(Some((&self.globals[shard], &self.pending[shard])));
            line.last[key.op as usize].set((key.word(), Some(self.block(shard, b))));
        }
        kept
    }

    /// The block of `key` from the index (inserted if new), remembered in
    /// `memo`; the overflow block and false when the table is full.
    #[inline(never)]
    fn look_up(&self, key: &Key, memo: &Memo) -> (usize, bool) {
        match self.find_or_insert(key) {
            Some(b) => {
                memo.keep(key, b);
                (b, true)
            }
            None => (self.cap, false),
        }
    }

    /// Zero shard `s`: its blocks and its global counters.
    fn clear_shard(&self, s: usize) {
        for b in (0..self.used()).chain(core::iter::once(self.cap)) {
            self.block(s, b).clear();
        }
        let g = &self.globals[s];
        for c in g.by_op.iter().chain([&g.dropped]) {
            c.store(0, Relaxed);
        }
    }

    fn home(&self, key: &Key) -> usize {
        let h = (key.word() ^ (key.op as u64) << 61).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((h ^ (h >> 29)) as usize) & self.slot_mask
    }

    /// The block of `key`, inserting it if new; `None` when the table is full.
    #[inline]
    fn find_or_insert(&self, key: &Key) -> Option<usize> {
        let word = key.word();
        let op = key.op as u64;
        let mut i = self.home(key);
        let mut probed = 0;
        while probed <= self.slot_mask {
            let slot = &self.slots[i];
            let mut st = slot.state.load(Acquire);
            if st == WRITING {
                let mut spins = 0;
                while st == WRITING && spins < WRITING_SPINS {
                    core::hint::spin_loop();
                    st = slot.state.load(Acquire);
                    spins += 1;
                }
                if st == WRITING {
                    // The writer is descheduled: go on (a duplicate may result).
                    self.dups.store(true, Relaxed);
                }
            }
            if st & 0xFF == READY {
                if (st >> 8) & 0xFF == op && slot.word.load(Relaxed) == word {
                    return Some((st >> 32) as usize);
                }
            } else if st == EMPTY {
                match self.claim_slot(slot, op, word) {
                    Claim::Inserted(b) => return Some(b),
                    Claim::Full => return None,
                    // Someone took the slot: look at it again.
                    Claim::Lost => continue,
                }
            }
            i = (i + 1) & self.slot_mask;
            probed += 1;
        }
        None
    }

    fn claim_slot(&self, slot: &Slot, op: u64, word: u64) -> Claim {
        if self.used.load(Relaxed) >= self.cap {
            return Claim::Full;
        }
        if slot
            .state
            .compare_exchange(EMPTY, WRITING, Acquire, Relaxed)
            .is_err()
        {
            return Claim::Lost;
        }
        let mut u = self.used.load(Relaxed);
        let b = loop {
            if u >= self.cap {
                // Filled up meanwhile: this slot never holds a key.
                slot.state.store(DEAD, Release);
                return Claim::Full;
            }
            match self.used.compare_exchange_weak(u, u + 1, AcqRel, Relaxed) {
                Ok(_) => break u,
                Err(now) => u = now,
            }
        };
        let rec = &self.keys[b];
        rec.word.store(word, Relaxed);
        rec.meta.store(1 | op << 8, Release);
        slot.word.store(word, Relaxed);
        slot.state
            .store(READY | op << 8 | (b as u64) << 32, Release);
        Claim::Inserted(b)
    }

    /// Sums over all shards of block `b` (a shard awaiting its owner's
    /// reset counts as zero).
    pub(crate) fn sums(&self, b: usize) -> Sums {
        let mut s = Sums::default();
        for shard in 0..self.shards() {
            if self.pending[shard].load(Acquire) {
                continue;
            }
            let blk = self.block(shard, b);
            let mut one = Sums::default();
            for (a, c) in one.rc.iter_mut().zip(&blk.rc) {
                *a = c.load(Relaxed);
            }
            one.denied = blk.denied.load(Relaxed);
            one.audit_denied = blk.audit_denied.load(Relaxed);
            one.out_const = blk.out_const.load(Relaxed);
            one.out_arena = blk.out_arena.load(Relaxed);
            one.in_const = blk.in_const.load(Relaxed);
            one.in_arena = blk.in_arena.load(Relaxed);
            one.sum = blk.sum.load(Relaxed);
            one.max = blk.max.load(Relaxed);
            one.min = !blk.min_inv.load(Relaxed);
            one.timed = blk.hist.iter().map(|c| c.load(Relaxed)).sum();
            s.add(&one);
        }
        s
    }

    /// [`Table::sums`] of a key, duplicates merged, quantiles computed.
    fn full_sums(&self, b: usize, key: Option<&Key>) -> Sums {
        let mut s = self.sums(b);
        let mut dup_blocks = [0usize; 8];
        let mut ndup = 0;
        if let (Some(key), true) = (key, self.dups.load(Relaxed)) {
            for other in b + 1..self.used() {
                if self.key(other).as_ref() == Some(key) {
                    s.add(&self.sums(other));
                    if ndup < dup_blocks.len() {
                        dup_blocks[ndup] = other;
                        ndup += 1;
                    }
                }
            }
        }
        if s.timed > 0 {
            let blocks = core::iter::once(b).chain(dup_blocks[..ndup].iter().copied());
            let count = |i: usize| -> u64 {
                let mut c = 0;
                for blk in blocks.clone() {
                    for shard in 0..self.shards() {
                        if self.pending[shard].load(Relaxed) {
                            continue;
                        }
                        c += self.block(shard, blk).hist[i].load(Relaxed);
                    }
                }
                c
            };
            s.quantiles = histogram::quantiles(count, s.min, s.max);
        } else {
            s.min = 0;
        }
        s
    }

    /// The key of block `b`, once published.
    pub(crate) fn key(&self, b: usize) -> Option<Key> {
        let rec = self.keys.get(b)?;
        let meta = rec.meta.load(Acquire);
        if meta == 0 {
            return None;
        }
        Key::from_parts(meta >> 8, rec.word.load(Relaxed))
    }

    /// Distinct keys held: [`Table::used`] less the duplicates a descheduled
    /// writer let in (rare; they are merged everywhere else too).
    pub fn distinct(&self) -> usize {
        if !self.dups.load(Relaxed) {
            return self.used();
        }
        (0..self.used())
            .filter(|&b| self.key(b).is_some_and(|k| !self.is_duplicate(b, &k)))
            .count()
    }

    /// Whether block `b` (< used) is a later duplicate of an earlier block.
    fn is_duplicate(&self, b: usize, key: &Key) -> bool {
        self.dups.load(Relaxed) && (0..b).any(|o| self.key(o).as_ref() == Some(key))
    }

    /// Visit every key with at least one call, then the overflow key (`None`)
    /// if it has calls: `(key, sums)`. Duplicate keys are merged.
    pub(crate) fn for_each(&self, mut f: impl FnMut(Option<Key>, &Sums)) {
        for b in 0..self.used() {
            let Some(key) = self.key(b) else { continue };
            if self.is_duplicate(b, &key) {
                continue;
            }
            let s = self.full_sums(b, Some(&key));
            if s.calls() > 0 {
                f(Some(key), &s);
            }
        }
        let s = self.full_sums(self.cap, None);
        if s.calls() > 0 {
            f(None, &s);
        }
    }

    /// Zero every counter; keys stay in the table. Shards nobody owns are
    /// zeroed now; an owned shard is marked, counts as zero from now on, and
    /// is zeroed by its owner on its next call (or by its next owner).
    pub(crate) fn reset(&self) {
        for s in 0..self.shards {
            if s < self.exclusive {
                self.pending[s].store(true, Release);
                if self.owners[s]
                    .compare_exchange(false, true, Acquire, Relaxed)
                    .is_ok()
                {
                    self.clear_shard(s);
                    self.pending[s].store(false, Release);
                    self.owners[s].store(false, Release);
                }
            } else {
                self.clear_shard(s);
            }
        }
    }
}

#[inline]
fn record_latency(blk: &Block, d: u64, excl: bool) {
    bump(&blk.sum, d, excl);
    bump(&blk.hist[histogram::index(d)], 1, excl);
    // Read first: after warm-up new extremes are rare, and a plain load
    // keeps the line shared instead of taking it exclusive.
    if d > blk.max.load(Relaxed) {
        if excl {
            blk.max.store(d, Relaxed);
        } else {
            blk.max.fetch_max(d, Relaxed);
        }
    }
    if !d > blk.min_inv.load(Relaxed) {
        if excl {
            blk.min_inv.store(!d, Relaxed);
        } else {
            blk.min_inv.fetch_max(!d, Relaxed);
        }
    }
}

enum Claim {
    Inserted(usize),
    Full,
    Lost,
}

/// Add a size: the owner adds always (a plain add of 0 is cheaper than the
/// branch); a shared shard skips the locked add of 0.
#[inline(always)]
fn add(c: &AtomicU64, n: u32, excl: bool) {
    if excl || n != 0 {
        bump(c, n as u64, excl);
    }
}

/// A leaked, zeroed slice of `n` `T`s (empty for `n == 0`), or None when
/// the heap has no room.
///
/// From `calloc`, over-allocated to reach `T`'s alignment: fresh memory from
/// the system is not written by the C library (zero pages mapped on first
/// touch), so the blocks of keys and shards never used cost address space
/// only. (The allocator's `alloc_zeroed` cannot promise that for the
/// 64-byte alignment of [`Block`]: glibc then takes `posix_memalign` and
/// writes every byte, some 60 MB at the default capacity.)
///
/// # Safety
/// All-zero bytes must be a valid `T`.
#[cfg(feature = "clib")]
unsafe fn zeroed_slice<T>(n: usize) -> Option<&'static [T]> {
    if n == 0 || core::mem::size_of::<T>() == 0 {
        return Some(&[]);
    }
    let size = core::mem::size_of::<T>().checked_mul(n)?;
    let p = crate::sys::zeroed_forever(size, core::mem::align_of::<T>())?;
    // SAFETY: p is aligned for T and points to `size` zeroed bytes, n valid
    // Ts (per the caller), never freed (the table lives for the process).
    Some(unsafe { core::slice::from_raw_parts(p.as_ptr() as *const T, n) })
}

#[cfg(all(test, feature = "clib"))]
mod duplicate_tests {
    use super::*;

    /// A writer descheduled while it claims a key's home slot lets a second
    /// inserter of the same key go on elsewhere; when the first one finishes,
    /// the key has two blocks. Everything that reads the table counts it once.
    #[test]
    fn a_duplicate_key_is_counted_and_merged_once() {
        let t = Table::alloc(8, 1, 1).expect("a small table");
        let k = Key {
            op: Op::Call,
            handle: 7,
            iid: 1,
            mid: 2,
        };
        let home = t.home(&k);
        // The stalled writer holds the home slot.
        t.slots[home].state.store(WRITING, Relaxed);
        let b1 = t
            .find_or_insert(&k)
            .expect("inserted past the stalled slot");
        // It finishes with the same key (simulated: the slot is free again
        // and the same key is claimed into it).
        t.slots[home].state.store(EMPTY, Relaxed);
        let b2 = t.find_or_insert(&k).expect("inserted at home");
        assert_ne!(b1, b2, "two blocks for one key");
        assert_eq!(t.used(), 2);
        assert_eq!(t.distinct(), 1);
    }
}
