//! Futex wait and wake on 32-bit words in the shared region.
//!
//! Shared (not `FUTEX_PRIVATE_FLAG`) futexes, since waiter and waker are
//! different processes mapping the same file. Every wait is bounded by a
//! timeout, so a waker that dies before waking costs at most one slice.

use core::sync::atomic::AtomicU32;
use std::time::{Duration, Instant};

/// Sleep while `word` holds `expected`, at most `timeout`. Returns on a
/// wake-up, a changed value, a signal or the timeout; callers re-check
/// their condition in every case.
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: timeout.as_secs().min(i64::MAX as u64) as libc::time_t,
        tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    // SAFETY: FUTEX_WAIT reads the aligned 32-bit word at `word` (an
    // AtomicU32 that lives in the mapped world for the process's life) and
    // the timespec on our stack; it writes nothing.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &ts as *const libc::timespec,
            core::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// Wake every process and thread sleeping on `word`.
pub(crate) fn wake_all(word: &AtomicU32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; it reads no memory.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE,
            i32::MAX,
            core::ptr::null::<libc::timespec>(),
            core::ptr::null::<u32>(),
            0u32,
        );
    }
}

/// A waiter's look at its condition before it sleeps on a futex: a peer
/// on another core often answers within microseconds, far less than a
/// futex sleep and wake-up. Spins for up to [`SPIN_TIME`], yielding the
/// core now and then for a peer that waits to run on it.
#[derive(Debug, Default)]
pub(crate) struct Spin {
    looks: u32,
    since: Option<Instant>,
}

/// How long a waiter spins before it sleeps.
const SPIN_TIME: Duration = Duration::from_micros(30);

impl Spin {
    /// Pause briefly and return true, or false once it is time to sleep.
    pub(crate) fn again(&mut self) -> bool {
        self.looks += 1;
        if self.looks.is_multiple_of(16) {
            let since = *self.since.get_or_insert_with(Instant::now);
            if since.elapsed() >= SPIN_TIME {
                return false;
            }
            if self.looks.is_multiple_of(128) {
                std::thread::yield_now();
                return true;
            }
        }
        core::hint::spin_loop();
        true
    }
}
