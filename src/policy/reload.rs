//! The active policy and its hot replacement.
//!
//! Readers (every decision) never lock: they announce themselves — in their
//! own slot, tagged with the current *epoch*, when the thread holds a
//! [`crate::lease`] (one locked instruction on a line no other thread
//! writes), else in a striped reader counter of the current epoch — re-check
//! the epoch, then load the active-policy pointer and use it. A writer (load/clear, serialised
//! by a mutex that readers never touch) swaps the pointer, advances the
//! epoch, and waits until the previous epoch's counters drain to zero and no
//! slot shows that epoch or an earlier one — from
//! then on no thread can still hold the old policy, so it is freed (builds
//! with a heap) or its static slot reused (the bare core). This is the
//! two-counter epoch scheme of
//! sleepable RCU: readers are wait-free except for a retry when they race an
//! epoch change; only writers wait. Replaced policies are therefore freed,
//! never leaked, and never more than one is alive besides the active one.
//!
//! Policies live on the heap in every build with one (feature `clib`: std's,
//! or the C library's `malloc` in the `no_std` wrap archive). The bare core
//! has no allocator: two static slots alternate, and a load compiles into
//! the slot that is not active (free once the previous writer's wait
//! finished).

use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use super::compiled::Index;
use super::hits::Hits;
use super::memo::{Memo, Outcome};
use super::rules::{verdict_of, Key};
use super::{Decision, Policy};

/// A compiled policy with its counters: what decisions read.
#[derive(Debug)]
pub(crate) struct Active {
    pub policy: Policy,
    pub index: Index,
    /// Hits per rule; index `rules().len()` counts the default.
    pub hits: Hits,
    /// Per fault rule: messages seen, faults injected.
    pub faults: super::fault::Counters,
    /// Each lease holder's last decision (see [`Active::decide_as`]).
    memo: Memo,
    pub generation: u64,
    pub failed_closed: bool,
}

impl Active {
    const fn new() -> Active {
        Active {
            policy: Policy::new(),
            index: Index::new(),
            hits: Hits::new(),
            faults: super::fault::Counters::new(),
            memo: Memo::new(),
            generation: 0,
            failed_closed: false,
        }
    }

    /// Build the index and zero the counters for the current `policy`.
    pub fn compile(&mut self) {
        self.index.build(self.policy.rules());
        self.hits.reset(self.policy.rules().len());
        self.faults.reset(self.policy.fault_groups());
        self.memo.clear();
    }

    /// The fault rule that fires on `k` under `seed`, counted (see
    /// [`Policy::inject`]).
    #[inline]
    pub fn inject(&self, k: &Key, seed: u64) -> Option<&super::Fault> {
        let i = self.policy.inject(k, seed, |g| self.faults.see(g))?;
        let f = &self.policy.faults()[i];
        self.faults.inject(f.group);
        Some(f)
    }

    /// Hits of the default so far.
    pub fn default_hits(&self) -> u64 {
        self.hits.get(self.policy.rules().len())
    }

    /// Decide for `k` and count the hit. With `lease` (the caller's, inside
    /// its leased read: [`read_as`]) the rule of the lease holder's last key
    /// is remembered and reused (see `memo.rs`).
    #[inline(always)]
    pub fn decide_as(&self, k: &Key, lease: Option<usize>) -> Decision {
        let o = match lease {
            Some(l) => match self.memo.get(l, k) {
                Some(o) => o,
                None => {
                    let o = self.outcome(k);
                    self.memo.put(l, k, o);
                    o
                }
            },
            None => self.outcome(k),
        };
        self.hits.bump_as(o.counter as usize, lease);
        Decision {
            verdict: o.verdict,
            rule: o.rule,
            line: o.line,
            generation: self.generation,
        }
    }

    /// What deciding `k` comes to, from the index.
    fn outcome(&self, k: &Key) -> Outcome {
        let p = &self.policy;
        let rules = p.rules();
        match self
            .index
            .first_match(rules, k)
            .and_then(|i| Some((i, rules.get(i)?)))
        {
            Some((i, r)) => Outcome {
                counter: i as u32,
                rule: Some(i as u32),
                line: r.line,
                verdict: verdict_of(r.action, p.mode, k.class),
            },
            None => Outcome {
                counter: rules.len() as u32,
                rule: None,
                line: p.default_line,
                verdict: verdict_of(p.default, p.mode, k.class),
            },
        }
    }
}

const STRIPES: usize = 16;

#[repr(align(64))]
struct Counter(AtomicUsize);

static READERS: [[Counter; STRIPES]; 2] =
    [const { [const { Counter(AtomicUsize::new(0)) }; STRIPES] }; 2];
/// One slot per [`crate::lease`]: `epoch << 1 | 1` while its holder reads, else 0.
static LEASED: [Counter; crate::lease::LEASES] =
    [const { Counter(AtomicUsize::new(0)) }; crate::lease::LEASES];
static EPOCH: AtomicUsize = AtomicUsize::new(0);
static CURRENT: AtomicPtr<Active> = AtomicPtr::new(core::ptr::null_mut());
static WRITER: spin::Mutex<()> = spin::Mutex::new(());
static GENERATION: AtomicU64 = AtomicU64::new(0);
/// Whether the active policy has fault rules (a hint that spares calls
/// the read when it has none; the read itself decides).
static FAULTS: AtomicBool = AtomicBool::new(false);

/// Whether the active policy (probably) has fault rules.
#[inline]
pub(crate) fn has_faults() -> bool {
    FAULTS.load(Ordering::Relaxed)
}

struct Leave<'a>(&'a AtomicUsize);

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Release);
    }
}

/// Whether a policy is installed. A decision that sees none may act on that
/// without [`read`]: a null pointer needs no protection (the decision is
/// ordered before a load that races with it).
#[inline]
pub(crate) fn is_set() -> bool {
    !CURRENT.load(Ordering::Acquire).is_null()
}

/// Run `f` with the active policy (None: no policy). `f` must not block or
/// load a policy: writers wait for it.
#[inline]
pub(crate) fn read<R>(f: impl FnOnce(Option<&Active>) -> R) -> R {
    read_as(|a, _| f(a))
}

/// [`read`], also telling `f` the caller's lease when the read is its
/// leased one (not nested in another read of the same thread, which
/// includes a signal handler's read during it): `f` may then use the
/// lease's slots of the policy alone.
#[inline(always)]
pub(crate) fn read_as<R>(f: impl FnOnce(Option<&Active>, Option<usize>) -> R) -> R {
    if let Some(lease) = crate::lease::mine() {
        if let Some(slot) = LEASED.get(lease) {
            // A nested read (f reading again) uses the striped counters: one
            // slot announces one read.
            if slot.0.load(Ordering::Relaxed) == 0 {
                return read_leased(&slot.0, |a| f(a, Some(lease)));
            }
        }
    }
    read_striped(|a| f(a, None))
}

/// The read of a thread holding a lease: its own slot on its own cache line,
/// one locked instruction (the announcing swap) and a plain store to leave.
#[inline(always)]
fn read_leased<R>(slot: &AtomicUsize, f: impl FnOnce(Option<&Active>) -> R) -> R {
    loop {
        let e = EPOCH.load(Ordering::SeqCst);
        slot.swap((e << 1) | 1, Ordering::SeqCst);
        let _leave = LeaveSlot(slot);
        if EPOCH.load(Ordering::SeqCst) != e {
            continue; // a writer advanced the epoch: announce again
        }
        let p = CURRENT.load(Ordering::SeqCst);
        // SAFETY: `p` is null or was published by `publish`; this thread is
        // announced in epoch `e`, and a writer replacing it frees it only
        // after no lease slot shows an epoch <= the one it advanced from
        // (see `synchronize`), which `_leave` keeps until `f` returned.
        return f(unsafe { p.as_ref() });
    }
}

struct LeaveSlot<'a>(&'a AtomicUsize);

impl Drop for LeaveSlot<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Release);
    }
}

/// The read of a thread without a lease (or a nested read): striped
/// counters shared by threads, two locked read-modify-writes.
#[inline(never)]
fn read_striped<R>(f: impl FnOnce(Option<&Active>) -> R) -> R {
    let stripe = (crate::guard::thread_id() as usize) % STRIPES;
    loop {
        let e = EPOCH.load(Ordering::SeqCst);
        let c = &READERS[e & 1][stripe].0;
        c.fetch_add(1, Ordering::SeqCst);
        let _leave = Leave(c);
        if EPOCH.load(Ordering::SeqCst) != e {
            continue; // a writer advanced the epoch: announce again
        }
        let p = CURRENT.load(Ordering::SeqCst);
        // SAFETY: `p` is null or was published by `publish`; it is announced
        // in epoch `e`, and a writer replacing it frees it only after the
        // counters of `e` drained (see the module doc), which `_leave` holds.
        return f(unsafe { p.as_ref() });
    }
}

/// In a forked child: the threads announced as readers and a writer
/// holding the lock are gone; a later load would wait for them forever.
/// The child's one thread is not inside a read or a load (it called
/// `fork()` from the program), so every announcement is cleared and the
/// lock freed. The active policy stays: a writer that was between its swap
/// and its free leaves the old policy allocated in the child, never freed.
#[cfg(feature = "clib")]
pub(crate) fn fork_child() {
    for c in READERS.iter().flatten().chain(LEASED.iter()) {
        c.0.store(0, Ordering::SeqCst);
    }
    if WRITER.is_locked() {
        // SAFETY: the holder was another thread of the parent, which does
        // not exist in the child; this thread does not hold it.
        unsafe { WRITER.force_unlock() };
    }
}

/// Wait until no reader can hold a pointer loaded before the last swap.
fn synchronize() {
    let e = EPOCH.fetch_add(1, Ordering::SeqCst);
    for c in &READERS[e & 1] {
        while c.0.load(Ordering::SeqCst) != 0 {
            pause();
        }
    }
    // A leased reader announced in epoch <= e may have loaded the old
    // pointer; one announced later loaded CURRENT after the swap.
    for s in &LEASED {
        loop {
            let v = s.0.load(Ordering::SeqCst);
            if v == 0 || (v >> 1) > e {
                break;
            }
            pause();
        }
    }
}

fn pause() {
    #[cfg(feature = "std")]
    std::thread::yield_now();
    #[cfg(not(feature = "std"))]
    core::hint::spin_loop();
}

/// Swap in `new`, wait out readers of the old policy, return the old one.
fn publish(new: *mut Active, faults: bool) -> *mut Active {
    FAULTS.store(faults, Ordering::SeqCst);
    let old = CURRENT.swap(new, Ordering::SeqCst);
    super::publish();
    synchronize();
    old
}

/// Build a new active policy with `build` (which fills `policy`) and make it
/// current. On `Err` nothing changes.
pub(crate) fn replace<E>(
    failed_closed: bool,
    build: impl FnOnce(&mut Policy) -> Result<(), E>,
) -> Result<u64, E> {
    let _w = WRITER.lock();
    #[cfg(feature = "clib")]
    {
        let mut a = alloc::boxed::Box::new(Active::new());
        build(&mut a.policy)?;
        a.compile();
        a.failed_closed = failed_closed;
        a.generation = GENERATION.fetch_add(1, Ordering::Relaxed) + 1;
        let generation = a.generation;
        let faults = !a.policy.faults().is_empty();
        let old = publish(alloc::boxed::Box::into_raw(a), faults);
        free(old);
        Ok(generation)
    }
    #[cfg(not(feature = "clib"))]
    {
        let cur = CURRENT.load(Ordering::SeqCst);
        let slot = if cur == SLOTS[0].0.get() {
            &SLOTS[1]
        } else {
            &SLOTS[0]
        };
        // SAFETY: `slot` is not the published policy, and the writer that
        // unpublished it waited for its readers (synchronize) before
        // releasing WRITER, which we hold: no one else can reach it.
        let a = unsafe { &mut *slot.0.get() };
        build(&mut a.policy)?;
        a.compile();
        a.failed_closed = failed_closed;
        a.generation = GENERATION.fetch_add(1, Ordering::Relaxed) + 1;
        let generation = a.generation;
        let faults = !a.policy.faults().is_empty();
        publish(slot.0.get(), faults);
        Ok(generation)
    }
}

/// Remove the active policy (every call allowed from now on).
pub(crate) fn clear() {
    let _w = WRITER.lock();
    let old = publish(core::ptr::null_mut(), false);
    #[cfg(feature = "clib")]
    free(old);
    #[cfg(not(feature = "clib"))]
    let _ = old;
}

#[cfg(feature = "clib")]
fn free(old: *mut Active) {
    if !old.is_null() {
        // SAFETY: `old` came from Box::into_raw in `replace`, was unpublished
        // by `publish`, and `synchronize` proved no reader still holds it.
        drop(unsafe { alloc::boxed::Box::from_raw(old) });
    }
}

#[cfg(not(feature = "clib"))]
struct Slot(core::cell::UnsafeCell<Active>);

// SAFETY: a slot is written only by the writer holding WRITER while it is
// unreachable by readers (see `replace`); readers only read it.
#[cfg(not(feature = "clib"))]
unsafe impl Sync for Slot {}

#[cfg(not(feature = "clib"))]
static SLOTS: [Slot; 2] = [
    Slot(core::cell::UnsafeCell::new(Active::new())),
    Slot(core::cell::UnsafeCell::new(Active::new())),
];
