//! Which ring a thread writes to, and the list the drain walks.
//!
//! std: one ring per thread, made on the thread's first traced call (the only
//! allocation, off the steady path) and kept in a push-only lock-free list.
//! When a thread exits its ring is released; the next new thread reuses it
//! (records still in it are drained as usual), so memory stays bounded by
//! the peak number of threads.
//!
//! no_std: no allocator, so a fixed set of static shards; a thread writes to
//! the shard its id hashes to, and several threads may share one (the ring
//! is multi-producer safe).

use super::ring::Ring;

#[cfg(feature = "std")]
mod imp {
    use super::Ring;
    use core::cell::{Cell, UnsafeCell};
    use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};

    /// Records per ring (power of two), set once before the first ring.
    pub static CAPACITY: AtomicUsize = AtomicUsize::new(4096);
    /// Payload bytes per slot (both parts), set once before the first ring.
    pub static STRIDE: AtomicUsize = AtomicUsize::new(0);

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
        let slots: &'static [super::super::ring::Slot] =
            Vec::from_iter((0..cap).map(|_| super::super::ring::Slot::new())).leak();
        let payload: &'static [UnsafeCell<u8>] =
            Vec::from_iter((0..cap * stride).map(|_| UnsafeCell::new(0))).leak();
        let ring = Ring::over(IDS.fetch_add(1, Ordering::Relaxed), slots, payload, true);
        ring.init();
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

#[cfg(not(feature = "std"))]
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
#[cfg(feature = "std")]
pub(crate) use imp::{CAPACITY, STRIDE};

/// Sum of all rings' lost counters.
pub(crate) fn lost_total() -> u64 {
    let mut n = 0;
    for_each(&mut |r, _| n += r.lost());
    n
}
