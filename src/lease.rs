//! A small per-thread index, held for the thread's life: the key to counters
//! that only one thread writes.
//!
//! A counter written by one thread at a time can be bumped with a plain load
//! and store (no locked instruction: an uncontended `lock xadd` costs several
//! times a load+store, and all threads adding to one word share its cache
//! line). [`mine`] gives the calling thread an index below [`LEASES`] that no
//! other live thread holds; the calls count ([`crate::calls`]) and the
//! statistics' exclusive shards are indexed by it. The lease is taken on the
//! thread's first call and given back when the thread ends; the next thread
//! to take it goes on adding to the same counters, so nothing counted is lost.
//!
//! Threads beyond [`LEASES`] at once, threads in their thread-local teardown,
//! and every thread of a no_std build (no thread-locals) get `None` and fall
//! back to shared counters with atomic adds.

use core::sync::atomic::{AtomicBool, Ordering};

/// How many threads can hold a lease at once.
pub const LEASES: usize = 64;

static HELD: [AtomicBool; LEASES] = [const { AtomicBool::new(false) }; LEASES];

/// Take the first free lease.
fn take() -> Option<usize> {
    (0..LEASES).find(|&i| {
        !HELD[i].load(Ordering::Relaxed)
            && HELD[i]
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    })
}

/// Give lease `i` back. Its holder's last writes happen before the next
/// holder's first (release here, acquire in [`take`]).
fn give_back(i: usize) {
    HELD[i].store(false, Ordering::Release);
}

#[cfg(feature = "std")]
mod imp {
    use core::cell::Cell;

    /// Owns the lease: gives it back when the thread ends.
    /// 0: not tried yet; `i + 1`: holds lease `i`; `usize::MAX`: none free.
    pub(super) struct Holder(Cell<usize>);

    impl Drop for Holder {
        fn drop(&mut self) {
            let v = self.0.get();
            if v != 0 && v != usize::MAX {
                // Calls made later in this thread's teardown must not use it.
                let _ = INDEX.try_with(|i| i.set(0));
                super::give_back(v - 1);
            }
        }
    }

    std::thread_local! {
        static HOLDER: Holder = const { Holder(Cell::new(0)) };
        /// The lease as `i + 1` (0: none or not yet). No destructor, so
        /// reading it needs no liveness check: the hot path is one load.
        static INDEX: Cell<usize> = const { Cell::new(0) };
    }

    #[inline(always)]
    pub(super) fn mine() -> Option<usize> {
        match held_now() {
            None => take_mine(),
            some => some,
        }
    }

    #[inline(always)]
    pub(super) fn held_now() -> Option<usize> {
        INDEX.with(Cell::get).checked_sub(1)
    }

    #[cold]
    #[inline(never)]
    fn take_mine() -> Option<usize> {
        // After the holder's teardown try_with fails: no lease any more.
        let v = HOLDER
            .try_with(|h| match h.0.get() {
                0 => {
                    let v = super::take().map_or(usize::MAX, |i| i + 1);
                    h.0.set(v);
                    if v != usize::MAX {
                        INDEX.with(|i| i.set(v));
                    }
                    v
                }
                v => v,
            })
            .unwrap_or(usize::MAX);
        if v == usize::MAX {
            None
        } else {
            Some(v - 1)
        }
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    /// Without thread-locals a lease could not be given back when its
    /// thread ends: no thread holds one.
    #[inline]
    pub(super) fn mine() -> Option<usize> {
        let _ = (super::take, super::give_back);
        None
    }

    #[inline(always)]
    pub(super) fn held_now() -> Option<usize> {
        None
    }
}

/// The calling thread's lease, taken on first use; `None` when all are held
/// (or in no_std builds, or during the thread's teardown).
#[inline(always)]
pub fn mine() -> Option<usize> {
    imp::mine()
}

/// The calling thread's lease if it already holds one: one thread-local
/// load, nothing taken (see [`mine`]).
#[inline(always)]
pub fn held_now() -> Option<usize> {
    imp::held_now()
}

/// Leases held right now (for tests and diagnostics).
pub fn held() -> usize {
    HELD.iter().filter(|h| h.load(Ordering::Relaxed)).count()
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn a_thread_keeps_its_lease_and_gives_it_back_when_it_ends() {
        let (a, b) = std::thread::spawn(|| (mine(), mine())).join().unwrap();
        let a = a.expect("a free lease");
        assert_eq!(Some(a), b, "the same lease on every call");
        // Released at thread end: a new thread can take it again.
        let leases: std::vec::Vec<_> = (0..LEASES * 2)
            .map(|_| std::thread::spawn(mine).join().unwrap())
            .collect();
        assert!(leases.iter().all(Option::is_some));
    }

    #[test]
    fn live_threads_hold_distinct_leases() {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(8));
        let threads: std::vec::Vec<_> = (0..8)
            .map(|_| {
                let b = barrier.clone();
                std::thread::spawn(move || {
                    let l = mine();
                    b.wait(); // all eight alive at once
                    l
                })
            })
            .collect();
        let mut got: std::vec::Vec<usize> = threads
            .into_iter()
            .map(|t| t.join().unwrap().expect("a free lease"))
            .collect();
        got.sort_unstable();
        got.dedup();
        assert_eq!(got.len(), 8);
    }
}
