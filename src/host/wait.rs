//! Deadlines and the spin-then-park pause every blocking operation uses.
//!
//! Waiters spin briefly first: on a round trip between two running threads
//! the other side usually answers within a few hundred nanoseconds, far less
//! than a futex sleep and wake-up cost. After that they park; whoever changes
//! the state they wait on unparks them, so there is no polling sleep.

use std::time::{Duration, Instant};

use crate::abi::INFINITE_TIMEOUT;

/// Spin iterations before a waiter parks.
const SPIN_LIMIT: u32 = 256;

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

/// Spin, then park: one waiter's pacing between two checks of its condition.
#[derive(Debug, Default)]
pub(crate) struct Backoff {
    spins: u32,
}

impl Backoff {
    /// Pause before the next check. Parks once the spin budget is spent, at
    /// most until `deadline` (a parked waiter relies on being unparked when
    /// its condition changes; spurious wake-ups only cost a re-check).
    pub(crate) fn pause(&mut self, deadline: Deadline) {
        if self.spins < SPIN_LIMIT {
            self.spins += 1;
            std::hint::spin_loop();
            return;
        }
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
}
