//! Deadlines and the spin-then-park pause every blocking operation uses.
//!
//! Waiters spin briefly first: on a round trip between two running threads
//! the other side usually answers within a few hundred nanoseconds, far less
//! than a futex sleep and wake-up cost. After that they park; whoever changes
//! the state they wait on unparks them, so there is no polling sleep.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::Thread;
use std::time::{Duration, Instant};

use crate::abi::INFINITE_TIMEOUT;

/// Longest a waiter spins before it yields and then parks. A round trip
/// between two running threads takes well under this, while a futex sleep
/// and wake-up costs several microseconds.
const SPIN_MAX_NS: u32 = 50_000;
/// Shortest spin, used while spinning keeps failing (the other side is not
/// running, e.g. both share one busy core).
const SPIN_MIN_NS: u32 = 1_000;
/// Spin iterations between two looks at the clock.
const SPINS_PER_CHECK: u32 = 16;
/// `sched_yield` calls after the spin and before parking: they let a peer
/// waiting for this core run at once.
const YIELDS: u32 = 8;

/// When a blocking operation gives up.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Deadline {
    /// Wait without limit.
    Never,
    /// Give up at this instant.
    At(Instant),
}

impl Deadline {
    /// The deadline of an `mdelay` argument (`INFINITE_TIMEOUT`: none;
    /// 0: already passed, i.e. poll).
    pub(crate) fn after_ms(mdelay: u32) -> Deadline {
        if mdelay == INFINITE_TIMEOUT {
            return Deadline::Never;
        }
        match Instant::now().checked_add(Duration::from_millis(u64::from(mdelay))) {
            Some(at) => Deadline::At(at),
            None => Deadline::Never,
        }
    }

    /// Whether the deadline has passed.
    pub(crate) fn passed(&self) -> bool {
        match self {
            Deadline::Never => false,
            Deadline::At(at) => Instant::now() >= *at,
        }
    }
}

/// Spin, yield, then park: one wait's pacing between checks of its condition.
///
/// The spin time adapts per thread: a wait that ended while spinning doubles
/// it (up to 50 µs), one whose spin ran out halves it (down to 1 µs). So two
/// threads on two free cores hand messages over without sleeping, and on an
/// oversubscribed machine a waiter soon stops burning the core its peer needs.
#[derive(Debug)]
pub(crate) struct Backoff<'a> {
    me: &'a Sleeper,
    spins: u32,
    /// When spinning stops; `None` until the first clock check.
    spin_until: Option<Instant>,
    yields: u32,
    parking: bool,
}

impl<'a> Backoff<'a> {
    /// A new wait of the thread `me`.
    pub(crate) fn new(me: &'a Sleeper) -> Backoff<'a> {
        Backoff {
            me,
            spins: 0,
            spin_until: None,
            yields: 0,
            parking: false,
        }
    }

    /// Pause before the next check. Parks once spinning and yielding are
    /// spent, at most until `deadline`, unless `changed()` tells that the
    /// condition changed meanwhile. A parked waiter relies on
    /// [`Sleeper::wake`] being called after its condition changes; spurious
    /// wake-ups only cost a re-check.
    pub(crate) fn pause(&mut self, deadline: Deadline, changed: impl Fn() -> bool) {
        if !self.parking {
            if self.yields == 0 {
                std::hint::spin_loop();
                self.spins += 1;
                if !self.spins.is_multiple_of(SPINS_PER_CHECK) {
                    return;
                }
                let now = Instant::now();
                let budget = Duration::from_nanos(u64::from(self.me.spin_ns.get()));
                let until = *self.spin_until.get_or_insert(now + budget);
                if now < until && !matches!(deadline, Deadline::At(at) if at <= now) {
                    return;
                }
                // The spin ran out: spin less next time.
                self.me
                    .spin_ns
                    .set((self.me.spin_ns.get() / 2).max(SPIN_MIN_NS));
            }
            if self.yields < YIELDS && !deadline.passed() {
                self.yields += 1;
                std::thread::yield_now();
                return;
            }
            self.parking = true;
        }
        // Announce the sleep, then look once more: a waker stores the new
        // state before it reads `sleeping` (both SeqCst), so either it sees
        // the flag and unparks, or this check sees its state.
        self.me.sleeping.store(true, Ordering::SeqCst);
        if !changed() {
            match deadline {
                Deadline::Never => std::thread::park(),
                Deadline::At(at) => {
                    let now = Instant::now();
                    if at > now {
                        std::thread::park_timeout(at - now);
                    }
                }
            }
        }
        self.me.sleeping.store(false, Ordering::Relaxed);
    }
}

impl Drop for Backoff<'_> {
    fn drop(&mut self) {
        if self.yields == 0 && self.spins >= SPINS_PER_CHECK {
            // Satisfied while spinning: spinning pays off, allow more.
            self.me
                .spin_ns
                .set((self.me.spin_ns.get() * 2).min(SPIN_MAX_NS));
        }
    }
}

/// A thread that may park in [`Backoff::pause`]. It says when it is about
/// to sleep, so a waker skips the unpark (an atomic swap on the sleeper's
/// parker, and a futex call when it sleeps) while it is still spinning.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Sleeper {
    sleeping: AtomicBool,
    /// Current spin time in ns (only the owning thread uses it).
    spin_ns: OwnerCell,
    thread: Thread,
}

/// A `u32` only its owning thread reads and writes (relaxed atomics: the
/// struct is shared, the field is not).
#[derive(Debug)]
struct OwnerCell(AtomicU32);

impl OwnerCell {
    fn get(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }
    fn set(&self, v: u32) {
        self.0.store(v, Ordering::Relaxed)
    }
}

impl Sleeper {
    /// The calling thread.
    pub(crate) fn current() -> Sleeper {
        Sleeper {
            sleeping: AtomicBool::new(false),
            thread: std::thread::current(),
            spin_ns: OwnerCell(AtomicU32::new(SPIN_MAX_NS / 2)),
        }
    }

    /// Wake the thread if it parks or is about to. Call after storing (with
    /// `SeqCst`) the state change it waits for.
    pub(crate) fn wake(&self) {
        if self.sleeping() {
            self.thread.unpark();
        }
    }

    /// Whether the thread parks or is about to, so that a waker must
    /// unpark it. Read after storing (with `SeqCst`) the state change it
    /// waits for.
    pub(crate) fn sleeping(&self) -> bool {
        self.sleeping.load(Ordering::SeqCst)
    }

    /// The thread itself (for wakers that unpark unconditionally).
    pub(crate) fn thread(&self) -> &Thread {
        &self.thread
    }
}
