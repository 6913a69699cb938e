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
                return n;
            }
        }
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

    pub fn for_each(f: &mut dyn FnMut(&Ring<'static>, u64)) {
        for n in nodes() {
            f(&n.ring, n.last.load(Ordering::Relaxed));
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

    pub fn for_each(f: &mut dyn FnMut(&Ring<'static>, u64)) {
        for r in RINGS.iter().filter_map(|r| r.get()) {
            f(r, 0);
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

    pub fn for_each(f: &mut dyn FnMut(&Ring<'static>, u64)) {
        for r in RINGS.iter().filter_map(|r| r.get()) {
            f(r, 0);
        }
    }
}

pub(crate) use imp::{for_each, init, mine};

/// Sum of all rings' lost counters.
pub(crate) fn lost_total() -> u64 {
    let mut n = 0;
    for_each(&mut |r, _| n += r.lost());
    n
}
