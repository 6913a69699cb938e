//! Per-key call statistics: counters, latency histograms, dumps.
//!
//! Every call the pipeline finishes is counted by [`record`] (from
//! `intercept::after`) under its key — operation × handle × iid × mid — with
//! its return code, policy verdict, bytes moved and (at level `timing`) its
//! latency. Recording is lock-free and allocation-free: a fixed-capacity
//! table allocated once ([`table`] module docs), counters sharded by thread.
//!
//! # Levels
//! [`Level::Off`] records nothing; [`Level::Count`] counts without reading the
//! clock; [`Level::Timing`] adds latencies. Chosen by `KOS_SHIM_STATS` (see
//! [`config`]) or [`set_level`]; without either, `count`.
//!
//! # Semantics of the counters
//! - `calls` = sum of the per-return-code counters; `ok` = calls with rcOk;
//!   `errors` = `calls - ok` (denials included: they return rcSecurityDisallow).
//! - `denied`: calls the policy or an interceptor refused (verdict Deny);
//!   `audit_denied`: would-be denials let through (audit mode, Recv/RecvEx).
//! - bytes out: constant part and arena of the message handed on (not of
//!   one denied or failed by a fault rule); bytes in: of the message
//!   received (successful calls only).
//! - A call whose message could not be read (invalid header, failed receive)
//!   has iid = mid = 0.
//! - Latency: from entry into the shim to the backend's return, in ns.
#![allow(clippy::module_name_repetitions)]

pub mod histogram;
mod table;

#[cfg(feature = "clib")]
pub mod config;
#[cfg(feature = "clib")]
pub mod dump;
pub mod ffi;
#[cfg(feature = "clib")]
pub mod periodic;

use core::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering::*};

use crate::abi::{rcBusy, rcInvalidArgument, rcOk, Retcode, COUNTED_RETCODES};
use crate::call::CallInfo;
use crate::clock::{self, Scale};

use table::Sums;
pub use table::{Key, Table};

/// Return-code counters per key: one per name in [`crate::abi::COUNTED_RETCODES`]
/// (same order; index 0 is rcOk), plus "other" (last) for any other code.
pub const RC_SLOTS: usize = COUNTED_RETCODES.len() + 1;
/// Index of the "other return code" counter.
pub const RC_OTHER: usize = COUNTED_RETCODES.len();

/// The counter slot of a return code.
#[inline]
pub fn rc_slot(rc: Retcode) -> usize {
    if rc == rcOk {
        return 0;
    }
    let mut i = 1;
    while i < COUNTED_RETCODES.len() {
        if COUNTED_RETCODES[i].0 == rc {
            return i;
        }
        i += 1;
    }
    RC_OTHER
}

/// The name of an rc counter slot (`"other"` for [`RC_OTHER`]).
pub fn rc_slot_name(slot: usize) -> &'static str {
    COUNTED_RETCODES.get(slot).map_or("other", |(_, n)| n)
}

/// How much the statistics record.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Nothing (re-entrant pass-throughs are still counted).
    Off = 0,
    /// Counters only: no clock reads on the call path.
    Count = 1,
    /// Counters and latency histograms.
    Timing = 2,
}

impl Level {
    /// Lower-case name (`off`, `count`, `timing`).
    pub const fn name(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Count => "count",
            Level::Timing => "timing",
        }
    }

    /// The level with this numeric value.
    pub const fn from_u32(v: u32) -> Option<Level> {
        match v {
            0 => Some(Level::Off),
            1 => Some(Level::Count),
            2 => Some(Level::Timing),
            _ => None,
        }
    }
}

/// `LEVEL` before the configuration was read.
const UNINIT: u8 = 0xFF;
static LEVEL: AtomicU8 = AtomicU8::new(UNINIT);
static CONFIG: spin::Once<()> = spin::Once::new();

/// Default capacity (distinct keys) of the table.
#[cfg(feature = "clib")]
pub(crate) const DEFAULT_CAPACITY: usize = 1024;
/// Default capacity (distinct keys) of the table: static storage without the
/// C library's heap.
#[cfg(not(feature = "clib"))]
pub(crate) const DEFAULT_CAPACITY: usize = nostd::CAP;
/// Largest capacity accepted.
#[cfg(feature = "clib")]
pub(crate) const MAX_CAPACITY: usize = 1 << 20;
/// Largest capacity accepted: the static table's.
#[cfg(not(feature = "clib"))]
pub(crate) const MAX_CAPACITY: usize = nostd::CAP;

static CAPACITY: AtomicUsize = AtomicUsize::new(0);
static TABLE: spin::Once<Table> = spin::Once::new();

/// Re-entrant pass-throughs, counted even without a table (rare path:
/// atomic adds on a few padded counters chosen by thread).
#[repr(C, align(64))]
struct Padded(AtomicU64);
const REENTRANT_SHARDS: usize = 8;
static REENTRANT: [Padded; REENTRANT_SHARDS] =
    [const { Padded(AtomicU64::new(0)) }; REENTRANT_SHARDS];

#[inline]
fn hash_thread(thread: u64) -> usize {
    (thread.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize
}

/// The calling thread's shard: its own exclusive one when it has (or can
/// claim) one, else a shared one.
#[cfg(feature = "std")]
#[inline]
fn my_shard(t: &'static Table, thread: u64) -> (usize, bool) {
    match owned::SHARD.with(core::cell::Cell::get) {
        0 => owned::claim(t, thread),
        s => (s - 1, true),
    }
}

#[cfg(feature = "std")]
mod owned {
    use core::cell::Cell;

    use super::table::{Line, Memo, Table};

    /// Owns the exclusive shard: gives it back when the thread ends.
    /// 0: not tried yet; s + 1: owns shard s; usize::MAX: none free.
    pub(super) struct Owner(Cell<usize>);

    impl Drop for Owner {
        fn drop(&mut self) {
            let v = self.0.get();
            if v != 0 && v != usize::MAX {
                // Calls later in this thread's teardown must not use it.
                let _ = SHARD.try_with(|s| s.set(0));
                let _ = LINE.try_with(Line::cut);
                if let Some(t) = super::TABLE.get() {
                    t.release(v - 1);
                }
            }
        }
    }

    std::thread_local! {
        static OWNER: Owner = const { Owner(Cell::new(0)) };
        /// The owned shard as s + 1 (0: none, or not yet). No destructor,
        /// so reading it on every call needs no liveness check.
        pub(super) static SHARD: Cell<usize> = const { Cell::new(0) };
        /// The last key this thread counted (see [`Memo`]).
        pub(super) static MEMO: Memo = const { Memo::new() };
        /// The owned shard's line (see [`Line`]); no destructor either.
        pub(super) static LINE: Line = const { Line::new() };
    }

    #[cold]
    #[inline(never)]
    pub(super) fn claim(t: &'static Table, thread: u64) -> (usize, bool) {
        // During thread teardown the owner is gone: use a shared shard.
        let mine = OWNER
            .try_with(|o| match o.0.get() {
                0 => {
                    let v = t.claim().map_or(usize::MAX, |s| s + 1);
                    o.0.set(v);
                    if v != usize::MAX {
                        SHARD.with(|s| s.set(v));
                    }
                    v
                }
                v => v,
            })
            .unwrap_or(usize::MAX);
        if mine == usize::MAX {
            (t.shared_shard(thread), false)
        } else {
            (mine - 1, true)
        }
    }
}

/// Without thread-locals every thread uses the shared shards.
#[cfg(not(feature = "std"))]
#[inline]
fn my_shard(t: &'static Table, thread: u64) -> (usize, bool) {
    (t.shared_shard(thread), false)
}

/// Read the configuration once (with the C library: `KOS_SHIM_STATS*`;
/// otherwise defaults).
fn configure() {
    CONFIG.call_once(|| {
        #[cfg(feature = "clib")]
        let level = config::from_env();
        #[cfg(not(feature = "clib"))]
        let level = Level::Count;
        // An API call made before this point wins.
        let _ = LEVEL.compare_exchange(UNINIT, level as u8, AcqRel, Acquire);
        clock::need(clock::User::Stats, current_level() == Level::Timing);
        publish();
    });
}

/// Whether statistics are on, or not configured yet (for [`crate::layers`]).
#[inline]
pub(crate) fn layer_on() -> bool {
    LEVEL.load(Relaxed) != Level::Off as u8
}

/// Put whether statistics are on into the pipeline's layers word.
pub(crate) fn publish() {
    crate::layers::set_if(crate::layers::STATS, layer_on);
}

#[inline]
fn current_level() -> Level {
    match LEVEL.load(Relaxed) {
        0 => Level::Off,
        1 => Level::Count,
        2 => Level::Timing,
        _ => Level::Off,
    }
}

/// The current level (reads the configuration on first use).
pub fn level() -> Level {
    configure();
    current_level()
}

/// Set the level for later calls.
pub fn set_level(level: Level) {
    configure();
    LEVEL.store(level as u8, Release);
    clock::need(clock::User::Stats, level == Level::Timing);
    publish();
}

/// Set the table's capacity (distinct keys). Only before the table exists
/// (before the first recorded call or snapshot): `Err(rcBusy)` after;
/// `Err(rcInvalidArgument)` for 0 or more than 1 048 576 keys (without
/// the C library: more than the 32 of the static table).
pub fn set_capacity(cap: usize) -> Result<(), Retcode> {
    if cap == 0 || cap > MAX_CAPACITY {
        return Err(rcInvalidArgument);
    }
    if TABLE.is_completed() {
        return Err(rcBusy);
    }
    CAPACITY.store(cap, Release);
    // The table may have been created between the check and the store.
    if TABLE.is_completed() && table().capacity() != cap {
        return Err(rcBusy);
    }
    Ok(())
}

/// The process's table, created on first use.
pub fn table() -> &'static Table {
    TABLE.call_once(|| {
        configure();
        // KOS_SHIM_STATS_CAP was read by configure(); an API call wins.
        let cap = match CAPACITY.load(Acquire) {
            0 => DEFAULT_CAPACITY,
            n => n,
        };
        new_table(cap)
    })
}

/// std: two exclusive shards per CPU (threads beyond them share 2 more).
#[cfg(feature = "std")]
fn shards() -> (usize, usize) {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    ((2 * cpus).clamp(2, table::MAX_SHARDS - 2), 2)
}

/// Without thread-locals no thread owns a shard: all share 2.
#[cfg(all(feature = "clib", not(feature = "std")))]
fn shards() -> (usize, usize) {
    (0, 2)
}

/// The table, zeroed from the C library's heap, allocated once. When the
/// heap has no room for `cap` keys, half as many are tried (down to 1),
/// and the user is told.
#[cfg(feature = "clib")]
fn new_table(cap: usize) -> Table {
    let (exclusive, shared) = shards();
    let mut n = cap;
    loop {
        if let Some(t) = Table::alloc(n, exclusive, shared) {
            if n != cap {
                crate::say!(
                    crate::say::Level::Error,
                    "KOS_SHIM_STATS_CAP: no memory for a table of {cap} keys ({} bytes); \
                     counting {n} keys (the calls of further keys go to the overflow row)",
                    Table::bytes_for(cap, exclusive + shared)
                );
            }
            return t;
        }
        if n == 1 {
            // Not even one key: nothing sensible is left to do.
            crate::say!(crate::say::Level::Error, "no memory for a statistics table");
            panic!("no memory for a statistics table");
        }
        n /= 2;
    }
}

#[cfg(not(feature = "clib"))]
fn new_table(cap: usize) -> Table {
    nostd::table(cap)
}

#[cfg(not(feature = "clib"))]
mod nostd {
    //! Static storage: the bare core has no heap.
    use super::table::{Block, KeyRec, Slot, Table};

    /// Keys the static table holds.
    pub(crate) const CAP: usize = 32;
    const SHARDS: usize = 2;
    const SLOTS: usize = Table::slots_for(CAP);

    static SLOT_ARRAY: [Slot; SLOTS] = [Slot::EMPTY; SLOTS];
    static KEY_ARRAY: [KeyRec; CAP] = [KeyRec::EMPTY; CAP];
    static BLOCK_ARRAY: [Block; SHARDS * (CAP + 1)] = [Block::ZERO; SHARDS * (CAP + 1)];

    pub fn table(cap: usize) -> Table {
        let cap = cap.clamp(1, CAP);
        Table::over(
            &SLOT_ARRAY[..Table::slots_for(cap)],
            &KEY_ARRAY[..cap],
            &BLOCK_ARRAY[..SHARDS * (cap + 1)],
            0,
        )
    }
}

/// Count one finished call (the `intercept::after` hook); what is not on
/// the owner's line goes out of line.
#[inline]
pub fn record(info: &CallInfo) {
    // One load of the level: count (1) or timing (2); off and unknown values return.
    let timing = match LEVEL.load(Relaxed) {
        1 => false,
        2 => true,
        UNINIT => {
            configure();
            match current_level() {
                Level::Off => return,
                l => l == Level::Timing,
            }
        }
        _ => return,
    };
    // The owner's line: a repeated key straight to its counters.
    #[cfg(feature = "std")]
    if owned::LINE.with(|l| table::count_on_line(l, info, timing)) {
        return;
    }
    record_long(info, timing);
}

/// [`record`] when the line did not have the call: the table's index
/// (through the memo), then the line connected for the next call.
#[cold]
#[inline(never)]
fn record_long(info: &CallInfo, timing: bool) {
    let t = table();
    let (shard, excl) = my_shard(t, info.thread);
    #[cfg(feature = "std")]
    if owned::MEMO
        .try_with(|m| owned::LINE.with(|l| t.record_lined(info, shard, excl, timing, m, l)))
        .is_ok()
    {
        return;
    }
    // No memo (no_std, or this thread's teardown): look the key up.
    t.record(info, shard, excl, timing);
}

/// Count a call that took the no-intercept path (the thread was already
/// inside the shim). Counted at every level.
#[inline]
pub fn count_reentrant() {
    let shard = hash_thread(crate::guard::thread_id()) % REENTRANT_SHARDS;
    REENTRANT[shard].0.fetch_add(1, Relaxed);
}

/// Calls that took the no-intercept path so far.
pub fn reentrant_calls() -> u64 {
    REENTRANT.iter().map(|c| c.0.load(Relaxed)).sum()
}

/// Process-wide counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Global {
    /// Calls recorded (all operations).
    pub calls: u64,
    /// Calls recorded per operation, indexed by `Op as usize`.
    pub by_op: [u64; 5],
    /// Calls that took the no-intercept path (not in `calls`).
    pub reentrant: u64,
    /// Calls counted in the overflow key because the table was full.
    pub dropped: u64,
    /// Distinct keys in the table.
    pub keys: usize,
    /// The table's capacity.
    pub capacity: usize,
    /// The current level.
    pub level: Level,
}

/// Read the process-wide counters.
pub fn global() -> Global {
    let mut g = Global {
        calls: 0,
        by_op: [0; 5],
        reentrant: 0,
        dropped: 0,
        keys: 0,
        capacity: 0,
        level: level(),
    };
    g.reentrant = reentrant_calls();
    if let Some(t) = TABLE.get() {
        (g.by_op, g.dropped) = t.global_sums();
        g.keys = t.distinct();
        g.capacity = t.capacity();
    } else {
        g.capacity = match CAPACITY.load(Acquire) {
            0 => DEFAULT_CAPACITY,
            n => n,
        };
    }
    g.calls = g.by_op.iter().sum();
    g
}

/// In a forked child (`crate::fork`): the child's statistics start at zero
/// (what it inherited are the parent's calls, in the parent's dump) and
/// its dumps go to paths of its own ([`config`]).
#[cfg(feature = "clib")]
pub(crate) fn fork_child() {
    reset();
    config::fork_child();
    if !periodic::fork_child() {
        crate::say!(
            crate::say::Level::Error,
            "KOS_SHIM_STATS_INTERVAL: the forked child's statistics thread could not start; no periodic statistics in it"
        );
    }
}

/// Zero every counter (keys stay in the table; rows with no calls are not
/// reported). A call in flight during the reset may be counted in full,
/// partly or not at all; calls after it are counted exactly.
pub fn reset() {
    if let Some(t) = TABLE.get() {
        t.reset();
    }
    for c in &REENTRANT {
        c.0.store(0, Relaxed);
    }
}

/// Latency figures of one key, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Latency {
    /// Calls with a measured latency.
    pub count: u64,
    /// Sum of their latencies.
    pub total_ns: u64,
    /// Shortest.
    pub min_ns: u64,
    /// Longest.
    pub max_ns: u64,
    /// Median (≤ 1.6 % relative error, see [`histogram`]).
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
}

/// Statistics of one key (one row of a dump).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The key; `None` for the overflow row (calls whose key found no room).
    pub key: Option<Key>,
    /// Calls.
    pub calls: u64,
    /// Calls that returned rcOk.
    pub ok: u64,
    /// `calls - ok`.
    pub errors: u64,
    /// Calls denied by the policy or an interceptor.
    pub denied: u64,
    /// Denials only audited (audit mode, Recv/RecvEx).
    pub audit_denied: u64,
    /// Calls per return code slot ([`rc_slot`], [`rc_slot_name`]).
    pub rc: [u64; RC_SLOTS],
    /// Constant-part bytes sent.
    pub out_const: u64,
    /// Arena bytes sent.
    pub out_arena: u64,
    /// Constant-part bytes received.
    pub in_const: u64,
    /// Arena bytes received.
    pub in_arena: u64,
    /// Latencies, when any was measured.
    pub latency: Option<Latency>,
}

impl Entry {
    fn from_sums(key: Option<Key>, s: &Sums, scale: Scale) -> Entry {
        let calls = s.calls();
        let latency = s.quantiles.filter(|_| s.timed > 0).map(|q| Latency {
            count: s.timed,
            total_ns: scale.to_ns(s.sum),
            min_ns: scale.to_ns(s.min),
            max_ns: scale.to_ns(s.max),
            p50_ns: scale.to_ns(q[0]),
            p90_ns: scale.to_ns(q[1]),
            p99_ns: scale.to_ns(q[2]),
            p999_ns: scale.to_ns(q[3]),
        });
        Entry {
            key,
            calls,
            ok: s.rc[0],
            errors: calls - s.rc[0],
            denied: s.denied,
            audit_denied: s.audit_denied,
            rc: s.rc,
            out_const: s.out_const,
            out_arena: s.out_arena,
            in_const: s.in_const,
            in_arena: s.in_arena,
            latency,
        }
    }

    /// Total latency in ns (0 when not measured): the dump's sort key.
    pub fn total_ns(&self) -> u64 {
        self.latency.map_or(0, |l| l.total_ns)
    }
}

/// Visit the entries of `table` (keys with calls, then overflow), with tick
/// counts converted by `scale`. Allocation-free.
pub fn for_each_entry(table: &Table, scale: Scale, mut f: impl FnMut(&Entry)) {
    table.for_each(|key, s| f(&Entry::from_sums(key, s, scale)));
}

/// An owned copy of all statistics at one moment.
#[cfg(feature = "clib")]
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Process-wide counters.
    pub global: Global,
    /// One entry per key with calls; the overflow entry (if any) last.
    pub entries: alloc::vec::Vec<Entry>,
    /// The clock latencies were measured with.
    pub clock: clock::Source,
    /// Nanoseconds per clock tick.
    pub ns_per_tick: f64,
}

/// Take a snapshot of the process's statistics.
#[cfg(feature = "clib")]
pub fn snapshot() -> Snapshot {
    let global = global();
    let scale = clock::scale();
    let mut entries = alloc::vec::Vec::new();
    if let Some(t) = TABLE.get() {
        for_each_entry(t, scale, |e| entries.push(*e));
    }
    Snapshot {
        global,
        entries,
        clock: clock::source(),
        ns_per_tick: scale.ns_per_tick(),
    }
}

/// A snapshot of any table, with ticks converted by `scale` (tests inject a
/// fake clock this way).
#[cfg(feature = "clib")]
pub fn snapshot_of(table: &Table, global: Global, scale: Scale) -> Snapshot {
    let mut entries = alloc::vec::Vec::new();
    for_each_entry(table, scale, |e| entries.push(*e));
    Snapshot {
        global,
        entries,
        clock: clock::source(),
        ns_per_tick: scale.ns_per_tick(),
    }
}

#[cfg(test)]
mod tests;
