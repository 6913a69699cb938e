//! Process-wide event counters that cost a thread a plain load and store.
//!
//! A few named counters ([`Counter`]) that many threads bump on every call:
//! the calls seen per operation ([`crate::calls`]) and the policy's verdicts.
//! A thread holding a [`crate::lease`] counts in its own cache line with a
//! plain load and store (no locked instruction, no line shared with other
//! threads); other threads (no lease free, thread teardown, no_std builds)
//! add atomically to shards chosen by thread id. Reads add everything up: a
//! read is exact once the counting threads are done, and never sees a count
//! go down.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::lease::{self, LEASES};
use crate::op::Op;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Counter {
    /// Calls of each operation (`Op as u8`: 0..=4).
    Call = 0,
    CallEx = 1,
    Recv = 2,
    RecvEx = 3,
    Reply = 4,
    /// Policy verdicts.
    PolicyAllow = 5,
    PolicyLog = 6,
    PolicyDeny = 7,
    PolicyAudit = 8,
    /// Messages judged while no policy was active.
    PolicyNone = 9,
}

impl Counter {
    /// The calls counter of `op`.
    #[inline(always)]
    pub(crate) const fn calls(op: Op) -> Counter {
        match op {
            Op::Call => Counter::Call,
            Op::CallEx => Counter::CallEx,
            Op::Recv => Counter::Recv,
            Op::RecvEx => Counter::RecvEx,
            Op::Reply => Counter::Reply,
        }
    }
}

const COUNTERS: usize = 10;
const SHARDS: usize = 16;

#[repr(align(64))]
struct Shard([AtomicU64; COUNTERS]);

#[allow(clippy::declare_interior_mutable_const)]
const ZERO: Shard = Shard([const { AtomicU64::new(0) }; COUNTERS]);

/// Written only by the thread holding the lease of the same index.
static OWNED: [Shard; LEASES] = [ZERO; LEASES];
/// Shared by threads without a lease (atomic adds).
static SHARED: [Shard; SHARDS] = [ZERO; SHARDS];

/// Count one event.
#[inline(always)]
pub(crate) fn bump(c: Counter) {
    match lease::mine() {
        Some(i) => bump_held(i, c),
        None => bump_shared(c),
    }
}

/// Count one event by the holder of lease `lease` (from [`lease::held_now`]).
#[inline(always)]
pub(crate) fn bump_held(lease: usize, c: Counter) {
    if let Some(s) = OWNED.get(lease) {
        let v = &s.0[c as usize];
        // Only the lease holder writes this counter (see the module doc).
        v.store(v.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
    }
}

#[cold]
fn bump_shared(c: Counter) {
    let thread = crate::guard::thread_id() as usize;
    SHARED[thread % SHARDS].0[c as usize].fetch_add(1, Ordering::Relaxed);
}

/// The count of `c` so far.
pub(crate) fn sum(c: Counter) -> u64 {
    OWNED
        .iter()
        .chain(&SHARED)
        .map(|s| s.0[c as usize].load(Ordering::Relaxed))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_and_shared_counts_add_up() {
        // Other tests in this binary may count too: compare deltas.
        let before = sum(Counter::PolicyAudit);
        for _ in 0..20 {
            bump(Counter::PolicyAudit);
            bump_shared(Counter::PolicyAudit);
        }
        assert!(sum(Counter::PolicyAudit) >= before + 40);
    }

    #[cfg(feature = "std")]
    #[test]
    fn exact_under_threads() {
        let before = sum(Counter::PolicyLog);
        let threads: std::vec::Vec<_> = (0..8)
            .map(|_| {
                std::thread::spawn(|| {
                    for _ in 0..10_000 {
                        bump(Counter::PolicyLog);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // No other test bumps PolicyLog.
        assert_eq!(sum(Counter::PolicyLog) - before, 80_000);
    }
}
