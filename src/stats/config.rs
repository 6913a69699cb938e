//! Configuration from the environment and the dumps it asks for: one
//! implementation for every build with the C library (host, preload and
//! wrap archives alike).
//!
//! `KOS_SHIM_STATS` is a comma-separated list of words:
//!
//! | word | meaning |
//! |---|---|
//! | `off`, `count`, `timing` | the level (see [`super::Level`]) |
//! | `on`, `1` | `timing` |
//! | `stderr` | write the text table to stderr at exit |
//! | `text:PATH` | write the text table to `PATH` at exit |
//! | `json:PATH` | write JSON to `PATH` at exit |
//!
//! A destination without a level means `timing`; unset or empty means
//! `count` with no dump. An unknown word (or a second, different level) is
//! reported on stderr with the valid words and left out; the other words
//! apply (`timing,jsn:x` is `timing`). Paths take the
//! placeholders `%p`, `%t`, `%n` ([`crate::outpath`]) and are claimed when
//! the statistics read their configuration: a path that cannot be written
//! is reported then, not at exit after the data is gone, and that
//! destination is dropped.
//!
//! `KOS_SHIM_STATS_CAP=N` sets the table's capacity (1 to 1 048 576 keys).
//! `KOS_SHIM_STATS_SIGNAL=1` also dumps to the same destinations whenever
//! the process receives `SIGUSR1` (see [`install_signal`]; Linux C
//! libraries only).
//! `KOS_SHIM_STATS_INTERVAL=SECONDS` (0.01 to 86400, e.g. `0.5`) also dumps
//! every interval while the program runs, appending ([`super::periodic`]).

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};

use super::dump;
use super::Level;
use crate::say::Level::{Error, Warn};
use crate::sys;

/// Where a dump goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// The text table on stderr.
    Stderr,
    /// The text table in a file (rewritten by each dump).
    Text(String),
    /// JSON in a file (rewritten by each dump).
    Json(String),
}

/// A parsed `KOS_SHIM_STATS` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The level.
    pub level: Level,
    /// Dump destinations (paths as given, placeholders not expanded).
    pub sinks: Vec<Sink>,
}

/// The words `KOS_SHIM_STATS` takes, as configuration errors list them.
pub const STATS_WORDS: &str =
    "off, count, timing (or on, 1), stderr, text:PATH, json:PATH, separated by commas";

/// Parse a `KOS_SHIM_STATS` value (see the module docs); the first
/// problem is an error.
pub fn parse(spec: &str) -> Result<Spec, String> {
    let (spec, problems) = parse_parts(spec);
    match problems.into_iter().next() {
        Some(p) => Err(p),
        None => Ok(spec),
    }
}

/// Parse a `KOS_SHIM_STATS` value word by word: what the good words say,
/// and a description of each word left out (unknown, or a second level
/// that differs from the first: the first stays).
pub fn parse_parts(spec: &str) -> (Spec, Vec<String>) {
    let mut level: Option<Level> = None;
    let mut sinks = Vec::new();
    let mut problems = Vec::new();
    for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let l = match word {
            "off" | "0" => Level::Off,
            "count" => Level::Count,
            "timing" | "on" | "1" => Level::Timing,
            "stderr" => {
                sinks.push(Sink::Stderr);
                continue;
            }
            _ => {
                match word.split_once(':') {
                    Some(("json", p)) if !p.is_empty() => sinks.push(Sink::Json(p.to_string())),
                    Some(("text", p)) if !p.is_empty() => sinks.push(Sink::Text(p.to_string())),
                    _ => problems.push(format!("unknown word '{word}' (expected {STATS_WORDS})")),
                }
                continue;
            }
        };
        match level {
            Some(old) if old != l => problems.push(format!(
                "two levels given ('{}' and '{}')",
                old.name(),
                l.name()
            )),
            _ => level = Some(l),
        }
    }
    let level = level.unwrap_or(if sinks.is_empty() {
        Level::Count
    } else {
        Level::Timing
    });
    (Spec { level, sinks }, problems)
}

/// What a parsed value does, for the message about the words left out:
/// `timing, no dump`, `count, dumps to stderr and json:PATH`.
fn describe(spec: &Spec) -> String {
    let mut s = String::from(spec.level.name());
    if spec.sinks.is_empty() {
        s.push_str(", no dump");
        return s;
    }
    s.push_str(", dumps to ");
    for (i, sink) in spec.sinks.iter().enumerate() {
        if i > 0 {
            s.push_str(" and ");
        }
        match sink {
            Sink::Stderr => s.push_str("stderr"),
            Sink::Text(p) => {
                s.push_str("text:");
                s.push_str(p);
            }
            Sink::Json(p) => {
                s.push_str("json:");
                s.push_str(p);
            }
        }
    }
    s
}

/// Parse a `KOS_SHIM_STATS_CAP` value: a number of keys from 1 to 1 048 576.
pub fn parse_capacity(v: &str) -> Result<usize, String> {
    match v.trim().parse::<usize>() {
        Ok(n) if n > 0 && n <= super::MAX_CAPACITY => Ok(n),
        _ => Err(format!(
            "not a number of keys from 1 to {}",
            super::MAX_CAPACITY
        )),
    }
}

/// The destinations dumps go to, paths claimed and expanded.
static SINKS: spin::Once<Vec<Sink>> = spin::Once::new();
/// One dump at a time (exit and signal may meet).
static DUMP_LOCK: spin::Mutex<()> = spin::Mutex::new(());

/// Read the `KOS_SHIM_STATS*` variables (once, from the statistics' first
/// use), claim the dump paths, arrange the dumps, and return the level.
pub(crate) fn from_env() -> Level {
    // Claiming files and reporting is IPC on KasperskyOS: not through the shim.
    let _inside = crate::guard::enter();
    if let Some(v) = sys::env("KOS_SHIM_STATS_CAP") {
        match parse_capacity(v) {
            // An API call made before this point wins.
            Ok(n) => {
                let _ = super::CAPACITY.compare_exchange(0, n, Ordering::AcqRel, Ordering::Acquire);
            }
            Err(e) => crate::say!(
                Warn,
                "KOS_SHIM_STATS_CAP={v:?}: {e}; using {}",
                super::DEFAULT_CAPACITY
            ),
        }
    }
    let spec = match sys::env("KOS_SHIM_STATS") {
        Some(v) => {
            // A typo in one word does not throw away the others.
            let (spec, problems) = parse_parts(v);
            for p in &problems {
                crate::say!(
                    Warn,
                    "KOS_SHIM_STATS={v:?}: {p}; left out, using {}",
                    describe(&spec)
                );
            }
            spec
        }
        None => Spec {
            level: Level::Count,
            sinks: Vec::new(),
        },
    };
    let signal = match sys::env("KOS_SHIM_STATS_SIGNAL").map(str::trim) {
        None | Some("" | "0") => false,
        Some("1") => true,
        Some(v) => {
            crate::say!(
                Warn,
                "KOS_SHIM_STATS_SIGNAL={v:?} is not one of 0, 1; no dump on SIGUSR1"
            );
            false
        }
    };
    let sinks: Vec<Sink> = spec.sinks.into_iter().filter_map(claim).collect();
    if signal && sinks.is_empty() {
        crate::say!(
            Warn,
            "KOS_SHIM_STATS_SIGNAL=1, but KOS_SHIM_STATS names no usable destination \
             (stderr, text:PATH, json:PATH); no dump on SIGUSR1"
        );
    }
    // Unset or empty: no periodic statistics.
    let interval = sys::env("KOS_SHIM_STATS_INTERVAL").filter(|v| !v.trim().is_empty());
    let interval = interval.and_then(|v| match super::periodic::parse_interval(v) {
        Ok(_) if sinks.is_empty() => {
            crate::say!(
                Warn,
                "KOS_SHIM_STATS_INTERVAL={v:?}, but KOS_SHIM_STATS names no usable \
                     destination (stderr, text:PATH, json:PATH); no periodic statistics"
            );
            None
        }
        Ok(ms) => Some(ms),
        Err(e) => {
            crate::say!(
                Warn,
                "KOS_SHIM_STATS_INTERVAL={v:?}: {e}; no periodic statistics"
            );
            None
        }
    });
    if !sinks.is_empty() {
        SINKS.call_once(|| sinks);
        if !sys::at_exit(at_exit) {
            crate::say!(Error, "KOS_SHIM_STATS: atexit failed; no dump at exit");
        }
        if let Some(ms) = interval {
            if let Err(e) = super::periodic::start(ms, dump_to_sinks) {
                crate::say!(
                    Error,
                    "KOS_SHIM_STATS_INTERVAL: {e}; no periodic statistics"
                );
            }
        }
        if signal {
            if let Err(e) = install_signal() {
                crate::say!(Error, "KOS_SHIM_STATS_SIGNAL: {e}; no dump on SIGUSR1");
            }
        }
    }
    spec.level
}

/// A forked child's destinations (see [`fork_child`]); when set, dumps go
/// here instead of [`SINKS`], which are the parent's.
static CHILD_SINKS: spin::Mutex<Option<ChildSinks>> = spin::Mutex::new(None);

/// The destinations of `KOS_SHIM_STATS` in a forked child: as written
/// (templates) until its first dump claims them, so that a child that
/// execs or dies before dumping leaves no file behind.
struct ChildSinks {
    claimed: bool,
    sinks: Vec<Sink>,
}

/// In a forked child (`crate::fork`): free the dump lock a thread that no
/// longer exists may hold, and take the destinations of `KOS_SHIM_STATS`
/// again, to be claimed at the child's first dump, so the child's dumps go
/// to files of its own (`%p` is then the child's id; a path without one
/// becomes `<path>.<pid>` while the parent lives, see [`crate::outpath`])
/// and never overwrite the parent's.
pub(crate) fn fork_child() {
    if DUMP_LOCK.is_locked() {
        // SAFETY: the child has one thread, this one, which is not dumping;
        // the holder was a thread of the parent and is gone.
        unsafe { DUMP_LOCK.force_unlock() };
    }
    if CHILD_SINKS.is_locked() {
        // SAFETY: as above.
        unsafe { CHILD_SINKS.force_unlock() };
    }
    if SINKS.get().is_none() {
        return;
    }
    let sinks = sys::env("KOS_SHIM_STATS")
        .and_then(|v| parse(v).ok())
        .map(|spec| spec.sinks)
        .unwrap_or_default();
    *CHILD_SINKS.lock() = Some(ChildSinks {
        claimed: false,
        sinks,
    });
}

/// A destination with its path claimed ([`crate::outpath::claim`]:
/// placeholders expanded, the file created); None, after saying why, when
/// the path cannot be written.
fn claim(sink: Sink) -> Option<Sink> {
    Some(match sink {
        Sink::Stderr => Sink::Stderr,
        Sink::Text(p) => Sink::Text(crate::outpath::claim(&p, "KOS_SHIM_STATS").ok()?),
        Sink::Json(p) => Sink::Json(crate::outpath::claim(&p, "KOS_SHIM_STATS").ok()?),
    })
}

extern "C" fn at_exit() {
    dump_to_sinks();
}

/// Write the statistics to every configured destination now.
pub fn dump_to_sinks() {
    let Some(sinks) = SINKS.get() else { return };
    // The shim's own output must not be intercepted (on KasperskyOS it is IPC).
    let _inside = crate::guard::enter();
    let _one_at_a_time = DUMP_LOCK.lock();
    let child = CHILD_SINKS.lock().as_mut().map(|c| {
        if !c.claimed {
            c.sinks = core::mem::take(&mut c.sinks)
                .into_iter()
                .filter_map(claim)
                .collect();
            c.claimed = true;
        }
        c.sinks.clone()
    });
    for sink in child.as_ref().unwrap_or(sinks) {
        let r = dump::write_sink(sink);
        if let Err(e) = r {
            let what = match sink {
                Sink::Stderr => "stderr",
                Sink::Text(p) | Sink::Json(p) => p,
            };
            crate::say!(Error, "KOS_SHIM_STATS: cannot write {what}: {e}");
        }
    }
}

/// Set by the SIGUSR1 handler, taken by the dump thread.
static SIGNALLED: AtomicBool = AtomicBool::new(false);
/// How often the dump thread looks at [`SIGNALLED`].
const SIGNAL_POLL_MS: u64 = 50;

/// The SIGUSR1 handler: async-signal-safe by construction, it only sets a
/// flag (no call, `errno` untouched). The dump itself — which allocates,
/// locks and writes files, none of which is allowed in a handler — runs on
/// the dump thread.
extern "C" fn on_sigusr1(_sig: core::ffi::c_int) {
    SIGNALLED.store(true, Ordering::Release);
}

/// The dump thread: every [`SIGNAL_POLL_MS`] ms, dump if a signal came.
/// Signals that arrive during one interval make one dump.
fn dump_thread() {
    loop {
        sys::sleep_ms(SIGNAL_POLL_MS);
        if SIGNALLED.swap(false, Ordering::Acquire) {
            dump_to_sinks();
        }
    }
}

/// Start the dump thread and install the SIGUSR1 handler with C's
/// `signal()` (replacing any earlier one; the variable is opt-in for that
/// reason). SIGUSR1 is signal 10, as in the Linux C libraries on x86-64 and
/// aarch64.
pub fn install_signal() -> Result<(), &'static str> {
    static STARTED: spin::Once<bool> = spin::Once::new();
    if !*STARTED.call_once(|| sys::spawn(dump_thread)) {
        return Err("cannot start the dump thread");
    }
    if !sys::on_signal(sys::SIGUSR1, on_sigusr1) {
        return Err("the C library refused a handler for SIGUSR1");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn parses_levels_and_sinks() {
        let p = |s| parse(s).unwrap();
        assert_eq!(p("").level, Level::Count);
        assert_eq!(p("off").level, Level::Off);
        assert_eq!(p("count").level, Level::Count);
        assert_eq!(p("timing").level, Level::Timing);
        assert_eq!(p("1").level, Level::Timing);
        assert_eq!(
            p("stderr"),
            Spec {
                level: Level::Timing,
                sinks: vec![Sink::Stderr]
            }
        );
        assert_eq!(
            p("count, json:/tmp/a-%p.json,text:/tmp/b.txt"),
            Spec {
                level: Level::Count,
                sinks: vec![
                    Sink::Json("/tmp/a-%p.json".into()),
                    Sink::Text("/tmp/b.txt".into())
                ]
            }
        );
    }

    #[test]
    fn rejects_bad_words_listing_the_valid_ones() {
        let e = parse("timing,jsn:x").unwrap_err();
        assert_eq!(
            e,
            "unknown word 'jsn:x' (expected off, count, timing (or on, 1), stderr, \
             text:PATH, json:PATH, separated by commas)"
        );
        assert!(parse("json:").unwrap_err().contains("unknown word 'json:'"));
        assert!(parse("count,timing")
            .unwrap_err()
            .contains("two levels given ('count' and 'timing')"));
    }

    #[test]
    fn a_bad_word_leaves_the_good_ones() {
        let (spec, problems) = parse_parts("timing,jsn:x");
        assert_eq!(
            spec,
            Spec {
                level: Level::Timing,
                sinks: vec![]
            }
        );
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("unknown word 'jsn:x' (expected off, count"));
        assert_eq!(describe(&spec), "timing, no dump");

        let (spec, problems) = parse_parts("jsn:x, stderr,bogus,json:/tmp/s.json");
        assert_eq!(
            spec,
            Spec {
                level: Level::Timing,
                sinks: vec![Sink::Stderr, Sink::Json("/tmp/s.json".into())]
            }
        );
        assert_eq!(problems.len(), 2);
        assert!(problems[1].starts_with("unknown word 'bogus'"));
        assert_eq!(
            describe(&spec),
            "timing, dumps to stderr and json:/tmp/s.json"
        );

        let (spec, problems) = parse_parts("count,timing,text:/tmp/t");
        assert_eq!(spec.level, Level::Count);
        assert_eq!(spec.sinks, vec![Sink::Text("/tmp/t".into())]);
        assert_eq!(
            problems,
            vec![String::from("two levels given ('count' and 'timing')")]
        );
    }

    #[test]
    fn capacities() {
        assert_eq!(parse_capacity(" 64 "), Ok(64));
        assert_eq!(parse_capacity("1048576"), Ok(1 << 20));
        for bad in ["0", "1048577", "-1", "many", ""] {
            assert_eq!(
                parse_capacity(bad).unwrap_err(),
                "not a number of keys from 1 to 1048576"
            );
        }
    }
}
