//! Per-rule hit counters of one policy (and the default's, at index `n`).
//!
//! Every decision counts a hit, so the counters are as hot as the decision.
//! With a heap (feature `clib`) the counters are rows allocated at load: in
//! std builds the first [`OWNED_ROWS`] lease holders ([`crate::lease`]) each
//! count in a row of their own with a plain load and store; other threads
//! (and every thread of the `no_std` wrap archive, which has no leases) add
//! atomically to a shared row. A read adds the rows up. The bare core has
//! one row of atomics in static storage.

use core::sync::atomic::{AtomicU64, Ordering};

/// Threads (by lease) with a row of their own.
#[cfg(feature = "std")]
const OWNED_ROWS: usize = 8;
/// None without std: leases need thread-locals.
#[cfg(all(feature = "clib", not(feature = "std")))]
const OWNED_ROWS: usize = 0;

/// The hit counters of `n` rules plus the default.
pub(crate) struct Hits {
    n: usize,
    /// Row 0 shared, rows 1..=OWNED_ROWS owned; each row `stride` cells.
    #[cfg(feature = "clib")]
    cells: alloc::vec::Vec<AtomicU64>,
    #[cfg(feature = "clib")]
    stride: usize,
    #[cfg(not(feature = "clib"))]
    cells: [AtomicU64; super::MAX_RULES + 1],
}

impl core::fmt::Debug for Hits {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Hits").field("rules", &self.n).finish()
    }
}

impl Hits {
    /// No rules.
    pub(crate) const fn new() -> Hits {
        Hits {
            n: 0,
            #[cfg(feature = "clib")]
            cells: alloc::vec::Vec::new(),
            #[cfg(feature = "clib")]
            stride: 0,
            #[cfg(not(feature = "clib"))]
            cells: [const { AtomicU64::new(0) }; super::MAX_RULES + 1],
        }
    }

    /// Zeroed counters for `n` rules and the default.
    pub(crate) fn reset(&mut self, n: usize) {
        self.n = n;
        #[cfg(feature = "clib")]
        {
            // Rows padded to whole cache lines: no two threads share one.
            self.stride = (n + 1).div_ceil(8) * 8;
            self.cells = (0..self.stride * (OWNED_ROWS + 1))
                .map(|_| AtomicU64::new(0))
                .collect();
        }
        #[cfg(not(feature = "clib"))]
        for c in &self.cells {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// Count a hit of rule `i` (`i == n`: the default).
    #[cfg(test)]
    pub(crate) fn bump(&self, i: usize) {
        self.bump_as(i, None);
    }

    /// [`Hits::bump`] by the holder of `lease` (`None`: the caller's lease,
    /// looked up, if it has one).
    #[inline(always)]
    pub(crate) fn bump_as(&self, i: usize, lease: Option<usize>) {
        if i > self.n {
            return;
        }
        #[cfg(not(feature = "std"))]
        let _ = lease; // no leases without thread-locals
        #[cfg(feature = "std")]
        if let Some(row) = lease
            .or_else(crate::lease::mine)
            .filter(|&l| l < OWNED_ROWS)
        {
            if let Some(c) = self.cells.get((row + 1) * self.stride + i) {
                // Only the lease holder writes this row.
                c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                return;
            }
        }
        if let Some(c) = self.cells.get(i) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Hits of rule `i` (`i == n`: the default) so far.
    pub(crate) fn get(&self, i: usize) -> u64 {
        if i > self.n {
            return 0;
        }
        #[cfg(feature = "clib")]
        {
            (0..=OWNED_ROWS)
                .filter_map(|r| self.cells.get(r * self.stride + i))
                .map(|c| c.load(Ordering::Relaxed))
                .sum()
        }
        #[cfg(not(feature = "clib"))]
        {
            self.cells[i].load(Ordering::Relaxed)
        }
    }
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn hits_from_many_threads_add_up() {
        let mut h = Hits::new();
        h.reset(3);
        let h = std::sync::Arc::new(h);
        let threads: std::vec::Vec<_> = (0..12)
            .map(|t| {
                let h = h.clone();
                std::thread::spawn(move || {
                    for _ in 0..1_000 {
                        h.bump(t % 4); // 3 = the default
                    }
                    h.bump(9); // out of range: ignored
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(
            (0..4).map(|i| h.get(i)).collect::<std::vec::Vec<_>>(),
            [3000; 4]
        );
        assert_eq!(h.get(4), 0);
    }
}
