//! Periodic statistics (`KOS_SHIM_STATS_INTERVAL=SECONDS`): a background
//! thread writes the statistics to the `KOS_SHIM_STATS` destinations every
//! interval while the program runs, as `strace -c` users ask of long-running
//! servers.
//!
//! Every dump is **cumulative** (all calls since the statistics started),
//! like the table at exit. With an interval set, each destination becomes a
//! log of dumps instead of one rewritten report:
//!
//! - `stderr` and `text:PATH`: each table is preceded by a header line,
//!   `=== kos-ipc-shim statistics: periodic 3 at 0.601 s (cumulative) ===`,
//!   and appended; the dump at exit is the last one, `final`; one asked for
//!   with `SIGUSR1` says `on SIGUSR1`.
//! - `json:PATH`: one JSON document per line (JSON Lines), each the usual
//!   document with a `dump` object first: `kind` (`periodic`, `final`,
//!   `signal`), `seq` (periodic dumps so far), `elapsed_ns` (since the
//!   statistics started), `interval_ns`, and `calls_since_last` (calls
//!   counted since the previous periodic dump: the one delta carried).
//!
//! The thread is created through the C library ([`crate::sys::spawn`]); the
//! call path is unchanged (nothing is allocated or locked there). At exit
//! a handler registered after the exit dump's runs first and stops the
//! thread: a periodic dump that is under way finishes before the final one
//! (dumps take one lock), none is written after it.

use alloc::format;
use alloc::string::String;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering::*};

use crate::sys;

/// The interval in ms; 0 while periodic statistics are off.
static INTERVAL_MS: AtomicU64 = AtomicU64::new(0);
/// Monotonic time the statistics started, ns.
static START_NS: AtomicU64 = AtomicU64::new(0);
/// The periodic thread's id ([`crate::guard::thread_id`]); 0 before it runs.
static THREAD: AtomicU64 = AtomicU64::new(0);
/// Periodic dumps started so far.
static SEQ: AtomicU64 = AtomicU64::new(0);
/// Set at exit, before the final dump: the thread writes nothing more.
static STOPPED: AtomicBool = AtomicBool::new(false);
/// The periodic dump whose writing began (its first destination written):
/// it is finished even if the exit comes meanwhile.
static BEGUN: AtomicU64 = AtomicU64::new(0);
/// Global calls in the last periodic dump written (for `calls_since_last`).
static LAST_CALLS: AtomicU64 = AtomicU64::new(0);
/// Calls of the periodic dump before it: the base of `calls_since_last`.
static BASE_CALLS: AtomicU64 = AtomicU64::new(0);

/// Which dump is being written, in periodic mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The thread's dump number `seq`.
    Periodic(u64),
    /// The dump at exit.
    Final,
    /// A dump asked for with SIGUSR1 (`KOS_SHIM_STATS_SIGNAL=1`).
    Signal,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Periodic(_) => "periodic",
            Kind::Final => "final",
            Kind::Signal => "signal",
        }
    }
}

/// What the dump being written to one destination now is (called under
/// the dump lock, once per destination): None without an interval (dumps
/// then rewrite their destination, as always); `Some(None)` for a periodic
/// dump not yet begun when the exit came (it is not written at all). A
/// periodic dump that has begun is written to every destination: the exit
/// dump, which waits for the lock, comes after it whole.
pub(super) fn current() -> Option<Option<Kind>> {
    if INTERVAL_MS.load(Acquire) == 0 {
        return None;
    }
    let periodic = THREAD.load(Acquire) == crate::guard::thread_id();
    let stopped = STOPPED.load(Acquire);
    Some(match (periodic, stopped) {
        (true, _) => {
            let seq = SEQ.load(Acquire);
            if BEGUN.load(Acquire) == seq {
                Some(Kind::Periodic(seq))
            } else if stopped {
                None
            } else {
                BEGUN.store(seq, Release);
                Some(Kind::Periodic(seq))
            }
        }
        (false, true) => Some(Kind::Final),
        (false, false) => Some(Kind::Signal),
    })
}

/// Nanoseconds since the statistics started.
fn elapsed_ns() -> u64 {
    sys::monotonic_ns().saturating_sub(START_NS.load(Relaxed))
}

/// Seconds with three decimals (`0.601`).
fn seconds(ns: u64) -> String {
    let ms = ns / 1_000_000;
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// The header line of a text dump of `kind`.
pub(super) fn text_header(kind: Kind) -> String {
    let what = match kind {
        Kind::Periodic(n) => format!("periodic {n}"),
        Kind::Final => "final".into(),
        Kind::Signal => "on SIGUSR1".into(),
    };
    format!(
        "=== kos-ipc-shim statistics: {what} at {} s (cumulative) ===\n",
        seconds(elapsed_ns())
    )
}

/// The `"dump":{...},` member a JSON line of `kind` starts with, for a
/// snapshot of `calls` calls.
pub(super) fn json_member(kind: Kind, calls: u64) -> String {
    let seq = match kind {
        Kind::Periodic(n) => n,
        _ => SEQ.load(Acquire),
    };
    if let Kind::Periodic(_) = kind {
        LAST_CALLS.store(calls, Relaxed);
    }
    format!(
        "\"dump\":{{\"kind\":\"{}\",\"seq\":{seq},\"elapsed_ns\":{},\"interval_ns\":{},\
         \"calls_since_last\":{}}},",
        kind.name(),
        elapsed_ns(),
        INTERVAL_MS.load(Relaxed) * 1_000_000,
        calls.saturating_sub(BASE_CALLS.load(Relaxed))
    )
}

/// Why periodic statistics could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartError {
    /// Started before (the configuration is read once; a second call is a bug).
    Twice,
    /// The C library's table of exit functions is full.
    AtExit,
    /// The thread could not be created.
    Thread,
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            StartError::Twice => "already started",
            StartError::AtExit => "atexit failed",
            StartError::Thread => "cannot start the statistics thread",
        })
    }
}

/// Start dumping every `ms` milliseconds through `dump` (which writes to
/// every destination, one dump at a time). Call after the exit dump's
/// handler is registered, so that [`stop`] runs before it.
pub(super) fn start(ms: u64, dump: fn()) -> Result<(), StartError> {
    if DUMP.is_completed() {
        return Err(StartError::Twice);
    }
    DUMP.call_once(|| dump);
    if !sys::at_exit(stop) {
        return Err(StartError::AtExit);
    }
    START_NS.store(sys::monotonic_ns(), Relaxed);
    INTERVAL_MS.store(ms, Release);
    if !sys::spawn(run) {
        INTERVAL_MS.store(0, Release);
        return Err(StartError::Thread);
    }
    Ok(())
}

/// What [`start`] dumps through.
static DUMP: spin::Once<fn()> = spin::Once::new();

/// The statistics thread: a dump every interval until the exit.
fn run() {
    THREAD.store(crate::guard::thread_id(), Release);
    let ms = INTERVAL_MS.load(Acquire);
    let dump = DUMP.get().copied();
    let mut deadline = START_NS.load(Relaxed);
    while !STOPPED.load(Acquire) {
        deadline = sleep_until(deadline.saturating_add(ms * 1_000_000), ms);
        if STOPPED.load(Acquire) {
            break;
        }
        SEQ.fetch_add(1, AcqRel);
        if let Some(d) = dump {
            d();
        }
        BASE_CALLS.store(LAST_CALLS.load(Relaxed), Relaxed);
    }
}

/// In a forked child (after its statistics were zeroed and its
/// destinations claimed): the statistics thread was the parent's and did
/// not come along, so the child gets one of its own, its dumps numbered
/// and timed from the fork (the exit handler that stops it was inherited).
/// Returns false when the thread could not start.
pub(super) fn fork_child() -> bool {
    if INTERVAL_MS.load(Acquire) == 0 || STOPPED.load(Acquire) {
        return true;
    }
    for c in [&SEQ, &BEGUN, &LAST_CALLS, &BASE_CALLS, &THREAD] {
        c.store(0, Relaxed);
    }
    START_NS.store(sys::monotonic_ns(), Relaxed);
    if sys::spawn(run) {
        return true;
    }
    INTERVAL_MS.store(0, Release);
    false
}

/// Sleep until the monotonic clock reaches `deadline` (a signal may cut a
/// sleep short: sleep again); returns the deadline reached. A deadline
/// already past (a dump took longer than the interval) moves to one
/// interval from now: missed dumps are skipped, not caught up. Without a
/// monotonic clock, sleep one interval.
fn sleep_until(deadline: u64, ms: u64) -> u64 {
    let mut now = sys::monotonic_ns();
    if now == 0 {
        sys::sleep_ms(ms);
        return deadline;
    }
    let deadline = if deadline <= now {
        now + ms * 1_000_000
    } else {
        deadline
    };
    while now < deadline {
        sys::sleep_ms((deadline - now).div_ceil(1_000_000));
        now = sys::monotonic_ns();
    }
    deadline
}

/// At exit, before the final dump: no periodic dump after it.
extern "C" fn stop() {
    STOPPED.store(true, Release);
}

/// Parse a `KOS_SHIM_STATS_INTERVAL` value: seconds, at most three
/// decimals, from 0.01 (10 ms) to 86400 (a day); returns milliseconds.
pub fn parse_interval(v: &str) -> Result<u64, String> {
    let bad = || {
        String::from(
            "not a number of seconds from 0.01 to 86400 (at most 3 decimals, e.g. 0.5 or 10)",
        )
    };
    let v = v.trim();
    let (whole, frac) = v.split_once('.').unwrap_or((v, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) || frac.len() > 3 {
        return Err(bad());
    }
    // 86400 has 5 digits: anything longer is out of range (and would overflow).
    let w: u64 = if whole.is_empty() {
        0
    } else if whole.trim_start_matches('0').len() > 5 {
        return Err(bad());
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let mut f: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().map_err(|_| bad())?
    };
    for _ in frac.len()..3 {
        f *= 10;
    }
    let ms = w * 1000 + f;
    if (10..=86_400_000).contains(&ms) {
        Ok(ms)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_in_seconds_with_up_to_three_decimals() {
        assert_eq!(parse_interval("1"), Ok(1000));
        assert_eq!(parse_interval(" 0.5 "), Ok(500));
        assert_eq!(parse_interval(".25"), Ok(250));
        assert_eq!(parse_interval("2."), Ok(2000));
        assert_eq!(parse_interval("0.01"), Ok(10));
        assert_eq!(parse_interval("86400"), Ok(86_400_000));
        assert_eq!(parse_interval("0086400.000"), Ok(86_400_000));
        for bad in [
            "0",
            "0.0",
            "0.009",
            "-1",
            "1e3",
            "abc",
            "",
            ".",
            "1.2345",
            "86400.001",
            "100000",
            "99999999999999999999999",
            "1,5",
            "+1",
            "inf",
            "nan",
            " 1 2",
        ] {
            assert_eq!(
                parse_interval(bad).unwrap_err(),
                "not a number of seconds from 0.01 to 86400 (at most 3 decimals, e.g. 0.5 or 10)",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn seconds_read_with_three_decimals() {
        assert_eq!(seconds(0), "0.000");
        assert_eq!(seconds(601_999_999), "0.601");
        assert_eq!(seconds(12_345_000_000), "12.345");
    }
}
