//! Which ring a thread writes to, and the list the drain walks.
//!
//! std: one ring per thread, made on the thread's first traced call (the only
//! allocation, off the steady path) and kept in a push-only lock-free list.
//! When a thread exits its ring is released; the next new thread reuses it
//! (records still in it are drained as usual), so memory stays bounded by
//! the peak number of threads.
//!
//! no_std with the C library (the wrap archive): no thread-locals, so a
//! fixed set of shards; a thread writes to the shard its id hashes to, and
//! several threads may share one (the ring is multi-producer safe). Each
//! shard's ring is allocated on the first call that lands on it, with the
//! size and payload room the environment asked for.
//!
//! no_std without the C library: no allocator, so the shards are static.
//!
//! A thread's name is registered when it claims a ring (std:
//! [`super::threads`]). The drain ([`drain_rings`]) takes every ring's
//! records in batches and merges them by start time (a k-way merge), so the
//! outputs see one pass's records in time order across threads.

use super::ring::Ring;
#[cfg(feature = "clib")]
use core::sync::atomic::AtomicUsize;

/// Records per ring (power of two), set once before the first ring.
#[cfg(feature = "clib")]
pub static CAPACITY: AtomicUsize = AtomicUsize::new(4096);
/// Payload bytes per slot (both parts), set once before the first ring.
#[cfg(feature = "clib")]
pub static STRIDE: AtomicUsize = AtomicUsize::new(0);

/// A ring of `CAPACITY` slots and `STRIDE` payload bytes each, never freed.
#[cfg(feature = "clib")]
fn leaked_ring(id: u32, single_producer: bool) -> Ring<'static> {
    use alloc::vec::Vec;
    use core::cell::UnsafeCell;
    use core::sync::atomic::Ordering;
    let cap = CAPACITY.load(Ordering::Relaxed);
    let stride = STRIDE.load(Ordering::Relaxed);
    let slots: &'static [super::ring::Slot] =
        Vec::from_iter((0..cap).map(|_| super::ring::Slot::new())).leak();
    let payload: &'static [UnsafeCell<u8>] =
        Vec::from_iter((0..cap * stride).map(|_| UnsafeCell::new(0))).leak();
    let ring = Ring::over(id, slots, payload, single_producer);
    ring.init();
    ring
}

#[cfg(feature = "std")]
mod imp {
    use super::{Ring, CAPACITY, STRIDE};
    use core::cell::Cell;
    use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

    pub struct Node {
        pub ring: Ring<'static>,
        /// Thread using the ring now (0: free).
        owner: AtomicU64,
        /// Thread that used it last (for lost records).
        last: AtomicU64,
        next: *const Node,
    }

    static HEAD: AtomicPtr<Node> = AtomicPtr::new(core::ptr::null_mut());
    static IDS: AtomicU32 = AtomicU32::new(0);

    /// Releases the thread's ring when the thread exits.
    struct Mine(Cell<*const Node>);

    impl Drop for Mine {
        fn drop(&mut self) {
            let p = self.0.get();
            if !p.is_null() {
                // SAFETY: nodes are leaked, never freed: the pointer stays valid.
                unsafe { (*p).owner.store(0, Ordering::Release) };
            }
        }
    }

    std::thread_local! {
        static MINE: Mine = const { Mine(Cell::new(core::ptr::null())) };
    }

    fn nodes() -> impl Iterator<Item = &'static Node> {
        let mut p = HEAD.load(Ordering::Acquire) as *const Node;
        core::iter::from_fn(move || {
            if p.is_null() {
                return None;
            }
            // SAFETY: nodes are published fully built (Release CAS on HEAD,
            // Acquire load above) and never freed.
            let n = unsafe { &*p };
            p = n.next;
            Some(n)
        })
    }

    fn claim() -> &'static Node {
        let me = crate::guard::thread_id().max(1);
        let cap = CAPACITY.load(Ordering::Relaxed);
        let stride = STRIDE.load(Ordering::Relaxed);
        for n in nodes() {
            // Rings of another size (configuration changed) are not reused.
            if n.ring.capacity() == cap
                && n.ring.stride() == stride
                && n.owner
                    .compare_exchange(0, me, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                n.last.store(me, Ordering::Relaxed);
                crate::trace::threads::note_current(me);
                return n;
            }
        }
        crate::trace::threads::note_current(me);
        let ring = super::leaked_ring(IDS.fetch_add(1, Ordering::Relaxed), true);
        let node: &'static mut Node = Box::leak(Box::new(Node {
            ring,
            owner: AtomicU64::new(me),
            last: AtomicU64::new(me),
            next: core::ptr::null(),
        }));
        let mut head = HEAD.load(Ordering::Acquire);
        loop {
            node.next = head;
            match HEAD.compare_exchange_weak(
                head,
                node as *mut Node,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return node,
                Err(h) => head = h,
            }
        }
    }

    pub fn mine() -> Option<&'static Ring<'static>> {
        MINE.try_with(|m| {
            let mut p = m.0.get();
            if p.is_null() {
                p = claim();
                m.0.set(p);
            }
            // SAFETY: nodes are leaked, never freed.
            unsafe { &(*p).ring }
        })
        .ok()
    }

    pub fn init() {}

    pub fn for_each(f: &mut dyn FnMut(&'static Ring<'static>, u64)) {
        for n in nodes() {
            f(&n.ring, n.last.load(Ordering::Relaxed));
        }
    }

    /// In a forked child: every ring is emptied (see [`Ring::reset`]); the
    /// calling thread keeps its ring, now under its new id; the rings of
    /// the parent's other threads, which the child does not have, are free
    /// for the child's new threads, which so make none (the less a child
    /// allocates the better: a thread of the parent may have held an
    /// allocator's lock at the fork).
    pub fn fork_child() {
        let mine = MINE.try_with(|m| m.0.get()).unwrap_or(core::ptr::null());
        let me = crate::guard::thread_id().max(1);
        for n in nodes() {
            n.ring.reset();
            if core::ptr::eq(n, mine) {
                n.last.store(me, Ordering::Relaxed);
                n.owner.store(me, Ordering::Release);
            } else {
                n.owner.store(0, Ordering::Release);
            }
        }
    }
}

#[cfg(all(feature = "clib", not(feature = "std")))]
mod imp {
    use super::Ring;

    /// Shards; a shard's ring is made by the first call that lands on it.
    const SHARDS: usize = 8;

    static RINGS: [spin::Once<Ring<'static>>; SHARDS] = [const { spin::Once::new() }; SHARDS];

    pub fn init() {}

    pub fn mine() -> Option<&'static Ring<'static>> {
        let id = crate::guard::thread_id();
        let h = (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % SHARDS;
        Some(RINGS[h].call_once(|| super::leaked_ring(h as u32, false)))
    }

    pub fn for_each(f: &mut dyn FnMut(&'static Ring<'static>, u64)) {
        for r in RINGS.iter().filter_map(|r| r.get()) {
            f(r, 0);
        }
    }

    /// In a forked child: every ring is emptied (see [`Ring::reset`]).
    pub fn fork_child() {
        for r in RINGS.iter().filter_map(|r| r.get()) {
            r.reset();
        }
    }
}

#[cfg(not(feature = "clib"))]
mod imp {
    use super::super::ring::Slot;
    use super::Ring;

    /// Shards and records per shard (static memory: 8 x 128 x 112 bytes).
    const SHARDS: usize = 8;
    const SHARD_CAP: usize = 128;

    static STORAGE: [[Slot; SHARD_CAP]; SHARDS] =
        [const { [const { Slot::empty() }; SHARD_CAP] }; SHARDS];
    static RINGS: [spin::Once<Ring<'static>>; SHARDS] = [const { spin::Once::new() }; SHARDS];

    pub fn init() {
        for (i, r) in RINGS.iter().enumerate() {
            r.call_once(|| {
                let ring = Ring::over(i as u32, &STORAGE[i], &[], false);
                ring.init();
                ring
            });
        }
    }

    pub fn mine() -> Option<&'static Ring<'static>> {
        let id = crate::guard::thread_id();
        let h = (id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize % SHARDS;
        RINGS[h].get()
    }

    pub fn for_each(f: &mut dyn FnMut(&'static Ring<'static>, u64)) {
        for r in RINGS.iter().filter_map(|r| r.get()) {
            f(r, 0);
        }
    }
}

pub(crate) use imp::{for_each, init, mine};

/// In a forked child: the rings start empty (see the two `imp`s'
/// `fork_child`) and the drain's buffers are the child's own.
#[cfg(feature = "clib")]
pub(crate) fn fork_child() {
    imp::fork_child();
    fork_child_merger();
}

/// Sum of all rings' lost counters.
pub(crate) fn lost_total() -> u64 {
    let mut n = 0;
    for_each(&mut |r, _| n += r.lost());
    n
}

/// Records a pass takes from one ring at a time.
#[cfg(feature = "clib")]
const BATCH: usize = 256;

/// The records of one ring waiting to be merged.
#[cfg(feature = "clib")]
struct Batch {
    ring: &'static Ring<'static>,
    owner: u64,
    /// Records (times in ns) and where their payload is in `bytes`.
    recs: alloc::collections::VecDeque<(super::record::KosShimTraceRecord, usize, usize)>,
    bytes: alloc::vec::Vec<u8>,
    /// Records taken from the ring in this pass.
    taken: usize,
    /// Whether the ring may hold more for this pass.
    more: bool,
}

#[cfg(feature = "clib")]
impl Batch {
    /// Take the ring's next records (the batch is empty). A pass takes at
    /// most one ring's capacity from it, so a thread that never stops
    /// calling cannot hold the pass.
    fn fill(&mut self) {
        self.recs.clear();
        self.bytes.clear();
        let limit = BATCH.min(self.ring.capacity().saturating_sub(self.taken));
        let (recs, bytes) = (&mut self.recs, &mut self.bytes);
        let n = self
            .ring
            .drain(limit, |r, p| {
                let mut r = *r;
                r.start = crate::clock::ticks_to_ns(r.start);
                r.duration = crate::clock::ticks_to_ns(r.duration);
                recs.push_back((r, bytes.len(), p.len()));
                bytes.extend_from_slice(p);
            })
            .unwrap_or(0);
        self.taken += n;
        self.more = n > 0 && n == limit;
        // A ring shared by several threads (the shards) holds its records
        // in the order the calls ended; one thread's ring is in start order
        // already (and a stable sort would want a buffer).
        let recs = self.recs.make_contiguous();
        if !recs.is_sorted_by_key(|e| e.0.start) {
            recs.sort_by_key(|e| e.0.start);
        }
    }

    fn head(&self) -> Option<u64> {
        self.recs.front().map(|e| e.0.start)
    }
}

/// What a pass needs besides the rings: a batch per ring (indexed by ring
/// id) and the merge queue, kept from pass to pass. Their buffers grow to
/// what the busiest pass needed and are then reused: a pass allocates only
/// when a ring appears or a batch outgrows its buffers. (A drainer that
/// allocated on every pass, every millisecond, would also hold the
/// allocator's locks often; in a forked child, a sanitizer's allocator
/// without fork handlers stays locked if it did so at the fork.)
#[cfg(feature = "clib")]
pub(crate) struct Merger {
    batches: alloc::vec::Vec<Option<Batch>>,
    /// Ids of the rings in this pass.
    live: alloc::vec::Vec<usize>,
    queue: alloc::collections::BinaryHeap<core::cmp::Reverse<(u64, usize)>>,
}

#[cfg(feature = "clib")]
impl Merger {
    pub(crate) const fn new() -> Merger {
        Merger {
            batches: alloc::vec::Vec::new(),
            live: alloc::vec::Vec::new(),
            queue: alloc::collections::BinaryHeap::new(),
        }
    }

    /// Take part `ring` (of `owner`) in the next pass.
    fn add(&mut self, ring: &'static Ring<'static>, owner: u64) {
        let id = ring.id() as usize;
        if self.batches.len() <= id {
            self.batches.resize_with(id + 1, || None);
        }
        let b = self.batches[id].get_or_insert_with(|| Batch {
            ring,
            owner,
            recs: Default::default(),
            bytes: alloc::vec::Vec::new(),
            taken: 0,
            more: false,
        });
        b.ring = ring;
        b.owner = owner;
        b.taken = 0;
        b.more = false;
        self.live.push(id);
    }

    /// Merge the added rings' records by start time to `deliver`, then one
    /// lost record per ring that dropped records since the last pass. The
    /// call records delivered.
    fn merge(&mut self, deliver: &mut dyn FnMut(&super::record::KosShimTraceRecord, &[u8])) -> u64 {
        use core::cmp::Reverse;
        let Merger {
            batches,
            live,
            queue,
        } = self;
        queue.clear();
        for &i in live.iter() {
            let b = batches[i].as_mut().expect("added");
            b.fill();
            if let Some(t) = b.head() {
                queue.push(Reverse((t, i)));
            }
        }
        let mut n = 0u64;
        while let Some(Reverse((_, i))) = queue.pop() {
            let b = batches[i].as_mut().expect("added");
            if let Some((r, at, len)) = b.recs.pop_front() {
                deliver(&r, &b.bytes[at..at + len]);
                n += 1;
            }
            if b.recs.is_empty() && b.more {
                b.fill();
            }
            if let Some(t) = b.head() {
                queue.push(Reverse((t, i)));
            }
        }
        for &i in live.iter() {
            let b = batches[i].as_ref().expect("added");
            let lost = b.ring.take_lost();
            if lost > 0 {
                let at = crate::clock::ticks_to_ns(crate::clock::now());
                deliver(
                    &super::record::KosShimTraceRecord::lost(b.ring.id(), b.owner, at, lost),
                    &[],
                );
            }
        }
        live.clear();
        n
    }
}

/// The drain's buffers; the callers serialise drains, so it is never
/// waited for (except by a forked child, see `fork_child_merger`).
#[cfg(feature = "clib")]
static MERGER: spin::Mutex<Merger> = spin::Mutex::new(Merger::new());

/// In a forked child: the parent's drainer may have held the buffers at
/// the fork, perhaps halfway through growing one; the child starts with
/// new ones (the old are leaked, not dropped).
#[cfg(feature = "clib")]
fn fork_child_merger() {
    if MERGER.is_locked() {
        // SAFETY: the child has one thread, this one, which is not inside
        // a drain (it called fork() from the program); the holder is gone.
        unsafe { MERGER.force_unlock() };
        core::mem::forget(core::mem::replace(&mut *MERGER.lock(), Merger::new()));
    }
}

/// Drain every ring to `deliver`, merged by start time: records that are in
/// the rings when the pass reaches them come out in time order across
/// threads (a record pushed while the pass runs may come after a later
/// one; nothing is dropped). Then one lost record per ring that dropped
/// records since the last pass. Returns the call records delivered.
#[cfg(feature = "clib")]
pub(crate) fn drain_rings(
    deliver: &mut dyn FnMut(&super::record::KosShimTraceRecord, &[u8]),
) -> u64 {
    let mut m = MERGER.lock();
    for_each(&mut |ring, owner| m.add(ring, owner));
    m.merge(deliver)
}

/// Drain every ring to `deliver`, ring after ring (no allocator to merge
/// with), then a lost record per ring that dropped records.
#[cfg(not(feature = "clib"))]
pub(crate) fn drain_rings(
    deliver: &mut dyn FnMut(&super::record::KosShimTraceRecord, &[u8]),
) -> u64 {
    let mut n = 0u64;
    for_each(&mut |ring, owner| {
        ring.drain(usize::MAX, |r, p| {
            let mut r = *r;
            r.start = crate::clock::ticks_to_ns(r.start);
            r.duration = crate::clock::ticks_to_ns(r.duration);
            deliver(&r, p);
            n += 1;
        });
        let lost = ring.take_lost();
        if lost > 0 {
            let at = crate::clock::ticks_to_ns(crate::clock::now());
            deliver(
                &super::record::KosShimTraceRecord::lost(ring.id(), owner, at, lost),
                &[],
            );
        }
    });
    n
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::super::record::{KosShimTraceRecord as Record, KOS_SHIM_TRACE_KIND_LOST};
    use super::super::ring::Slot;
    use super::*;

    fn ring(id: u32, cap: usize) -> &'static Ring<'static> {
        let slots: &'static [Slot] = Vec::from_iter((0..cap).map(|_| Slot::new())).leak();
        let payload: &'static [core::cell::UnsafeCell<u8>] =
            Vec::from_iter((0..cap * 4).map(|_| core::cell::UnsafeCell::new(0))).leak();
        let r = Box::leak(Box::new(Ring::over(id, slots, payload, true)));
        r.init();
        r
    }

    fn merge_rings(
        m: &mut Merger,
        rings: &[(&'static Ring<'static>, u64)],
        deliver: &mut dyn FnMut(&Record, &[u8]),
    ) -> u64 {
        for &(r, owner) in rings {
            m.add(r, owner);
        }
        m.merge(deliver)
    }

    fn rec(thread: u64, start: u64) -> Record {
        Record {
            start,
            thread,
            kind: 1,
            payload_const: 1,
            ..Default::default()
        }
    }

    #[test]
    fn a_pass_merges_the_rings_by_start_time_and_keeps_every_record() {
        // Thread 1's calls start at even ticks, thread 2's at odd ones:
        // more than a batch each, and a payload byte that names the record.
        let (a, b) = (ring(0, 1024), ring(1, 8));
        let n = BATCH as u64 + 100;
        for t in 0..n {
            a.push(&rec(1, 2 * t), &[(t % 251) as u8], &[]).unwrap();
        }
        for t in 0..4 {
            b.push(&rec(2, 2 * t * 50 + 1), &[7], &[]).unwrap();
        }
        for t in 0..12 {
            // The ring holds 8: the rest are counted lost.
            let _ = b.push(&rec(2, 1000 + t), &[7], &[]);
        }
        let mut got = Vec::new();
        let mut m = Merger::new();
        let calls = merge_rings(&mut m, &[(a, 1), (b, 2)], &mut |r, p| {
            got.push((*r, p.to_vec()))
        });
        assert_eq!(calls, n + 8);
        let lost: Vec<_> = got
            .iter()
            .filter(|(r, _)| r.kind == KOS_SHIM_TRACE_KIND_LOST)
            .map(|(r, _)| (r.ring, r.thread, r.dropped))
            .collect();
        assert_eq!(lost, [(1, 2, 8)]);
        let starts: Vec<u64> = got
            .iter()
            .filter(|(r, _)| r.kind != KOS_SHIM_TRACE_KIND_LOST)
            .map(|(r, _)| r.start)
            .collect();
        assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
        // Each record kept its own payload, and a thread's order.
        let mine: Vec<Vec<u8>> = got
            .iter()
            .filter(|(r, _)| r.thread == 1)
            .map(|(_, p)| p.clone())
            .collect();
        let pushed: Vec<Vec<u8>> = (0..n).map(|t| vec![(t % 251) as u8]).collect();
        assert_eq!(mine, pushed);

        // The next pass reuses the buffers: the same load grows none.
        let sizes = |m: &Merger| {
            let b = m.batches[0].as_ref().unwrap();
            (m.batches.len(), b.recs.capacity(), b.bytes.capacity())
        };
        let before = sizes(&m);
        for t in 0..n {
            a.push(&rec(1, 10_000 + t), &[1], &[]).unwrap();
        }
        let calls = merge_rings(&mut m, &[(b, 2), (a, 1)], &mut |_, _| {});
        assert_eq!((calls, sizes(&m)), (n, before));
    }

    #[test]
    fn a_shared_rings_records_are_put_in_start_order() {
        // A ring several threads write holds records in the order the calls
        // ended, not started.
        let r = ring(5, 8);
        for (thread, start) in [(1, 50), (2, 10), (3, 30), (4, 30)] {
            r.push(&rec(thread, start), &[thread as u8], &[]).unwrap();
        }
        let mut got = Vec::new();
        merge_rings(&mut Merger::new(), &[(r, 0)], &mut |r, p| {
            got.push((r.start, r.thread, p[0]))
        });
        let ns = crate::clock::ticks_to_ns;
        let want = [
            (ns(10), 2, 2),
            (ns(30), 3, 3),
            (ns(30), 4, 4),
            (ns(50), 1, 1),
        ];
        assert_eq!(got, want);
    }
}
