//! Configuration from the environment and the dumps it asks for (std).
//!
//! `KOS_SHIM_STATS` is a comma-separated list of words:
//!
//! | word | meaning |
//! |---|---|
//! | `off`, `count`, `timing` | the level (see [`super::Level`]) |
//! | `on`, `1` | `timing` |
//! | `stderr` | write the text table to stderr at exit |
//! | `text:/path` | write the text table to `/path` at exit |
//! | `json:/path` | write JSON to `/path` at exit |
//!
//! A destination without a level means `timing`; unset or empty means
//! `count` with no dump. An unknown word is reported on stderr and the
//! variable is ignored (`count`). `KOS_SHIM_STATS_CAP=N` sets the table's
//! capacity. `KOS_SHIM_STATS_SIGNAL=1` also dumps to the same destinations
//! whenever the process receives `SIGUSR1` (see [`install_signal`]).

use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};

use super::dump::{self, Format};
use super::Level;

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
    /// Dump destinations.
    pub sinks: Vec<Sink>,
}

/// Parse a `KOS_SHIM_STATS` value (see the module docs).
pub fn parse(spec: &str) -> Result<Spec, String> {
    let mut level = None;
    let mut sinks = Vec::new();
    for word in spec.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let set = |l: Level, level: &mut Option<Level>| match level {
            Some(old) if *old != l => Err(format!(
                "two levels given ('{}' and '{}')",
                old.name(),
                l.name()
            )),
            _ => {
                *level = Some(l);
                Ok(())
            }
        };
        match word {
            "off" | "0" => set(Level::Off, &mut level)?,
            "count" => set(Level::Count, &mut level)?,
            "timing" | "on" | "1" => set(Level::Timing, &mut level)?,
            "stderr" => sinks.push(Sink::Stderr),
            _ => match word.split_once(':') {
                Some(("json", p)) if !p.is_empty() => sinks.push(Sink::Json(p.to_string())),
                Some(("text", p)) if !p.is_empty() => sinks.push(Sink::Text(p.to_string())),
                _ => {
                    return Err(format!(
                        "unknown word '{word}' (expected off, count, timing, stderr, \
                         text:PATH or json:PATH, separated by commas)"
                    ))
                }
            },
        }
    }
    let level = level.unwrap_or(if sinks.is_empty() {
        Level::Count
    } else {
        Level::Timing
    });
    Ok(Spec { level, sinks })
}

static SINKS: OnceLock<Vec<Sink>> = OnceLock::new();
static DUMP_LOCK: Mutex<()> = Mutex::new(());

/// Read `KOS_SHIM_STATS` (once, from the statistics' first use), arrange the
/// dumps it asks for, and return the level.
pub(crate) fn from_env() -> Level {
    let spec = match std::env::var("KOS_SHIM_STATS") {
        Ok(v) => match parse(&v) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("kos_ipc: KOS_SHIM_STATS='{v}': {e}; using 'count'");
                Spec {
                    level: Level::Count,
                    sinks: Vec::new(),
                }
            }
        },
        Err(_) => Spec {
            level: Level::Count,
            sinks: Vec::new(),
        },
    };
    if !spec.sinks.is_empty() && SINKS.set(spec.sinks).is_ok() {
        // SAFETY: at_exit is a plain extern "C" function with no arguments.
        if unsafe { libc::atexit(at_exit) } != 0 {
            eprintln!("kos_ipc: KOS_SHIM_STATS: atexit failed; no dump at exit");
        }
        if std::env::var("KOS_SHIM_STATS_SIGNAL").as_deref() == Ok("1") {
            if let Err(e) = install_signal() {
                eprintln!("kos_ipc: KOS_SHIM_STATS_SIGNAL: {e}; no dump on SIGUSR1");
            }
        }
    }
    spec.level
}

/// `KOS_SHIM_STATS_CAP`, if set and valid (an invalid value is reported).
pub(crate) fn capacity_from_env() -> Option<usize> {
    let v = std::env::var("KOS_SHIM_STATS_CAP").ok()?;
    match v.trim().parse::<usize>() {
        Ok(n) if n > 0 && n <= super::MAX_CAPACITY => Some(n),
        _ => {
            eprintln!(
                "kos_ipc: KOS_SHIM_STATS_CAP='{v}' is not a number from 1 to {}; using {}",
                super::MAX_CAPACITY,
                super::DEFAULT_CAPACITY
            );
            None
        }
    }
}

extern "C" fn at_exit() {
    dump_to_sinks();
}

/// Write the statistics to every configured destination now.
pub fn dump_to_sinks() {
    let Some(sinks) = SINKS.get() else { return };
    // The shim's own output must not be intercepted (on KasperskyOS it is IPC).
    let _inside = crate::guard::enter();
    let _one_at_a_time = DUMP_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    for sink in sinks {
        let r = match sink {
            Sink::Stderr => dump::write_fd(2, Format::Text),
            Sink::Text(p) => dump::write_file(p, Format::Text),
            Sink::Json(p) => dump::write_file(p, Format::Json),
        };
        if let Err(e) = r {
            eprintln!("kos_ipc: KOS_SHIM_STATS: cannot write {sink:?}: {e}");
        }
    }
}

/// Write end of the pipe the SIGUSR1 handler pokes (-1: none).
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

/// The SIGUSR1 handler: async-signal-safe by construction. It only
/// `write`s one byte to a non-blocking pipe (a full pipe means a dump is
/// already pending, so the byte may be lost), saving and restoring `errno`.
/// The dump itself — which allocates, locks and does file I/O, none of which
/// is allowed in a handler — runs on the dump thread that reads the pipe.
extern "C" fn on_sigusr1(_sig: libc::c_int) {
    // SAFETY: __errno_location returns this thread's errno slot.
    let errno = unsafe { *libc::__errno_location() };
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; the buffer is a live local.
        unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Start the dump thread and install the SIGUSR1 handler (replacing any
/// earlier one; the variable is opt-in for that reason).
pub fn install_signal() -> io::Result<()> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds is a valid array of two ints.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let (rd, wr) = (fds[0], fds[1]);
    // SAFETY: wr is the pipe's write end just created.
    unsafe {
        let fl = libc::fcntl(wr, libc::F_GETFL);
        libc::fcntl(wr, libc::F_SETFL, fl | libc::O_NONBLOCK);
    }
    std::thread::Builder::new()
        .name("kos-shim-stats".into())
        .spawn(move || loop {
            let mut buf = [0u8; 64];
            // SAFETY: buf is a live buffer of the given length; rd stays open.
            let n = unsafe { libc::read(rd, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                dump_to_sinks();
            } else if n == 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return;
            }
        })?;
    SIGNAL_PIPE.store(wr, Ordering::Relaxed);
    // SAFETY: a zeroed sigaction is a valid starting point; the handler is an
    // extern "C" fn(c_int) as sa_handler requires (no SA_SIGINFO).
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigusr1 as *const () as usize;
        sa.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        if libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
            p("count, json:/tmp/a.json,text:/tmp/b.txt"),
            Spec {
                level: Level::Count,
                sinks: vec![
                    Sink::Json("/tmp/a.json".into()),
                    Sink::Text("/tmp/b.txt".into())
                ]
            }
        );
    }

    #[test]
    fn rejects_bad_words() {
        assert!(parse("fast").unwrap_err().contains("unknown word 'fast'"));
        assert!(parse("json:").unwrap_err().contains("unknown word 'json:'"));
        assert!(parse("count,timing")
            .unwrap_err()
            .contains("two levels given ('count' and 'timing')"));
    }
}
