//! What the shim tells the user: one line on stderr per message, in one
//! format (`kos-ipc-shim: ...`), from every build.
//!
//! `KOS_SHIM_LOG` sets how much: `quiet` (nothing), `error`, `warn` (the
//! default: errors and warnings such as configuration mistakes, unusable
//! output paths, policy denials, lost trace records) or `info` (also what
//! was loaded and started). An unknown value is reported (listing the valid
//! words) and the default applies. Messages are also given to the `log`
//! facade for Rust programs that install a logger.
//!
//! Lines are formatted into a fixed buffer on the stack (no allocation, so
//! the `no_std` core can speak too) and written with one `write(2)` each, so
//! lines of different threads do not interleave. A line longer than the
//! buffer is cut and ends with `...`.
//!
//! Writing to stderr is IPC on KasperskyOS: callers hold the re-entrancy
//! guard (every message here is written with it held), so the shim's own
//! output never passes through the shim.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU8, Ordering};

/// How important a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    /// Something the user asked for cannot be done (a file that cannot be
    /// written, a policy that does not load).
    Error = 1,
    /// Something the user should know (a configuration word ignored, a
    /// denial, records lost).
    Warn = 2,
    /// What was set up.
    Info = 3,
}

/// Nothing is written.
const QUIET: u8 = 0;
/// Not read yet.
const UNSET: u8 = 0xFF;

static THRESHOLD: AtomicU8 = AtomicU8::new(UNSET);

/// The words `KOS_SHIM_LOG` takes.
pub const LOG_WORDS: &str = "quiet, error, warn, info";

/// The `KOS_SHIM_LOG` level of `word`, or None.
pub fn parse_log(word: &str) -> Option<u8> {
    Some(match word.trim() {
        "quiet" | "off" | "none" => QUIET,
        "error" => Level::Error as u8,
        "warn" | "warning" => Level::Warn as u8,
        "info" | "all" => Level::Info as u8,
        _ => return None,
    })
}

fn threshold() -> u8 {
    let t = THRESHOLD.load(Ordering::Relaxed);
    if t != UNSET {
        return t;
    }
    let mut bad = None;
    let t = match crate::sys::env("KOS_SHIM_LOG") {
        None => Level::Warn as u8,
        Some(v) if v.trim().is_empty() => Level::Warn as u8,
        Some(v) => parse_log(v).unwrap_or_else(|| {
            bad = Some(v);
            Level::Warn as u8
        }),
    };
    THRESHOLD.store(t, Ordering::Relaxed);
    if let Some(v) = bad {
        say(
            Level::Warn,
            format_args!("KOS_SHIM_LOG={v:?} is not one of {LOG_WORDS}; using warn"),
        );
    }
    t
}

/// Read `KOS_SHIM_LOG` now (at configuration), so a wrong word is reported
/// even when the shim has nothing else to say.
pub fn configure() {
    threshold();
}

/// Set the level in place of `KOS_SHIM_LOG` (tests, C API).
pub fn set_threshold(level: u8) {
    THRESHOLD.store(level.min(Level::Info as u8), Ordering::Relaxed);
}

/// Whether a message of `level` would be written.
pub fn enabled(level: Level) -> bool {
    level as u8 <= threshold()
}

/// A line being formatted: `kos-ipc-shim: ` and the message, cut to fit.
struct Line {
    buf: [u8; 512],
    len: usize,
    cut: bool,
}

impl Write for Line {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Keep room for "...\n".
        let room = self.buf.len() - 4 - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        if take < s.len() {
            self.cut = true;
        }
        Ok(())
    }
}

/// Write `kos-ipc-shim: <message>` to stderr if `level` is enabled.
pub fn say(level: Level, message: fmt::Arguments<'_>) {
    match level {
        Level::Error => log::error!(target: "kos_ipc_shim", "{message}"),
        Level::Warn => log::warn!(target: "kos_ipc_shim", "{message}"),
        Level::Info => log::info!(target: "kos_ipc_shim", "{message}"),
    }
    if !enabled(level) {
        return;
    }
    let mut line = Line {
        buf: [0; 512],
        len: 0,
        cut: false,
    };
    let _ = line.write_str("kos-ipc-shim: ");
    let _ = line.write_fmt(message);
    if line.cut {
        line.buf[line.len..line.len + 3].copy_from_slice(b"...");
        line.len += 3;
    }
    line.buf[line.len] = b'\n';
    line.len += 1;
    let _inside = crate::guard::enter();
    crate::sys::stderr(&line.buf[..line.len]);
}

/// `say!(Level::Warn, "format", args...)`.
#[macro_export]
#[doc(hidden)]
macro_rules! say {
    ($level:expr, $($arg:tt)*) => {
        $crate::say::say($level, format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_words() {
        assert_eq!(parse_log("quiet"), Some(QUIET));
        assert_eq!(parse_log(" warn "), Some(Level::Warn as u8));
        assert_eq!(parse_log("info"), Some(Level::Info as u8));
        assert_eq!(parse_log("error"), Some(Level::Error as u8));
        assert_eq!(parse_log("loud"), None);
    }

    #[test]
    fn long_lines_are_cut_on_a_char_boundary() {
        let mut line = Line {
            buf: [0; 512],
            len: 0,
            cut: false,
        };
        let long = "é".repeat(400);
        let _ = line.write_str(&long);
        assert!(line.cut);
        assert!(line.len <= 508);
        assert!(core::str::from_utf8(&line.buf[..line.len]).is_ok());
    }
}
