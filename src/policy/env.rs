//! Configuration from the environment, read once on first use, the same in
//! every build with the C library (host, preload, and the `no_std` wrap
//! archive):
//!
//! - `KOS_SHIM_POLICY` (policy file; missing or invalid → fail closed);
//! - `KOS_SHIM_POLICY_ON_ERROR=allow|deny` (`allow`: run without a policy
//!   instead, loudly; `deny`, the default: fail closed; any other word is
//!   reported with the valid ones and counts as `deny`);
//! - `KOS_SHIM_POLICY_LEARN` (learn, and write the learned policy at exit;
//!   the path takes `%p`/`%t`/`%n`).
//!
//! The environment comes through `sys::env`, the file through
//! `sys::read_file`, and what the user must know through `say!`.

use alloc::format;
use alloc::string::{String, ToString};

use super::{learn, PolicyError};
use crate::say::Level;
use crate::sys;

/// The policy installed when `KOS_SHIM_POLICY` cannot be loaded.
const FAIL_CLOSED: &str = "allow recv\ndefault deny\n";

/// The words `KOS_SHIM_POLICY_ON_ERROR` takes.
pub const ON_ERROR_WORDS: &str = "allow, deny";

static INIT: spin::Once<()> = spin::Once::new();
static LAST_ERROR: spin::Mutex<Option<String>> = spin::Mutex::new(None);

pub(super) fn init_once() {
    if !INIT.is_completed() {
        INIT.call_once(init);
        super::publish();
    }
}

/// Whether the environment has been read.
pub(super) fn initialized() -> bool {
    INIT.is_completed()
}

fn file_error(path: &str, e: &PolicyError) -> String {
    format!("{path}:{}:{}: {}", e.line, e.col, e.kind)
}

/// Read and load a policy file (no environment check). The error names the
/// file, and the line and column of a syntax error.
pub(super) fn load_file_now(path: &str, failed_closed: bool) -> Result<(), String> {
    // File I/O is IPC on KasperskyOS: it must not run through the policy.
    let inside = crate::guard::enter();
    let bytes =
        sys::read_file(path).map_err(|e| format!("{path}: cannot read the policy file: {e}"))?;
    drop(inside);
    let text = match core::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(_) => {
            let e = PolicyError::invalid_utf8(&bytes);
            return Err(e.map_or_else(|| "invalid UTF-8".to_string(), |e| file_error(path, &e)));
        }
    };
    super::load_now(text, failed_closed).map_err(|e| file_error(path, &e))
}

/// What to do when `KOS_SHIM_POLICY` does not load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnError {
    /// Fail closed.
    Deny,
    /// Run without a policy.
    Allow,
}

/// `KOS_SHIM_POLICY_ON_ERROR`'s word, or None.
fn parse_on_error(word: &str) -> Option<OnError> {
    match word.trim() {
        "deny" | "" => Some(OnError::Deny),
        "allow" => Some(OnError::Allow),
        _ => None,
    }
}

/// `KOS_SHIM_POLICY_ON_ERROR`, an unknown word reported (and read as `deny`,
/// the safe side).
fn on_error_setting() -> OnError {
    let Some(v) = sys::env("KOS_SHIM_POLICY_ON_ERROR") else {
        return OnError::Deny;
    };
    parse_on_error(v).unwrap_or_else(|| {
        crate::say!(
            Level::Error,
            "KOS_SHIM_POLICY_ON_ERROR={v:?} is not one of {ON_ERROR_WORDS}; using deny \
             (a policy that does not load fails closed)"
        );
        OnError::Deny
    })
}

fn init() {
    crate::fork::install();
    // Reading the file and writing to stderr are IPC on KasperskyOS; they
    // must bypass the shim (and not re-enter this once-only init).
    let _inside = crate::guard::enter();
    // Checked whether or not a policy is set: a mistyped word is reported
    // before it matters, not when a policy first fails to load.
    let on_error = on_error_setting();
    if let Some(path) = sys::env("KOS_SHIM_POLICY").filter(|p| !p.is_empty()) {
        match load_file_now(path, false) {
            Ok(()) => crate::say!(
                Level::Info,
                "KOS_SHIM_POLICY: loaded {path} ({} rules)",
                super::stats().rules
            ),
            Err(reason) => fail(&reason, on_error),
        }
    }
    if let Some(out) = sys::env("KOS_SHIM_POLICY_LEARN").filter(|p| !p.is_empty()) {
        learn::start_with_exit_file(out);
    }
}

fn fail(reason: &str, on_error: OnError) {
    match on_error {
        OnError::Allow => crate::say!(
            Level::Error,
            "KOS_SHIM_POLICY: WARNING: policy NOT loaded: {reason}; KOS_SHIM_POLICY_ON_ERROR=allow, \
             so the program runs WITHOUT a policy and every call is allowed"
        ),
        OnError::Deny => {
            // The fixed text always parses.
            let _ = super::load_now(FAIL_CLOSED, true);
            crate::say!(
                Level::Error,
                "KOS_SHIM_POLICY: policy not loaded: {reason}; failing closed: every \
                 Call/CallEx/Reply returns rcSecurityDisallow (KOS_SHIM_POLICY_ON_ERROR=allow \
                 runs without a policy)"
            );
        }
    }
    *LAST_ERROR.lock() = Some(reason.to_string());
}

/// In a forked child: the last-error lock may be held by a thread that
/// no longer exists.
pub(super) fn fork_child() {
    if LAST_ERROR.is_locked() {
        // SAFETY: the child has one thread, this one, which does not hold
        // the lock (it is not inside the shim's load); the holder is gone.
        unsafe { LAST_ERROR.force_unlock() };
    }
}

/// Why `KOS_SHIM_POLICY` could not be loaded, if it could not.
pub(super) fn last_error() -> Option<String> {
    LAST_ERROR.lock().clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_error_words() {
        assert_eq!(parse_on_error("allow"), Some(OnError::Allow));
        assert_eq!(parse_on_error(" deny "), Some(OnError::Deny));
        assert_eq!(parse_on_error(""), Some(OnError::Deny));
        assert_eq!(parse_on_error("yes"), None);
        assert_eq!(parse_on_error("Allow"), None);
    }
}

/// The fault seed from `KOS_SHIM_FAULT_SEED` (decimal or `0x` hex), or,
/// unset, one from the clock and the process id; a value that is no number
/// is reported and replaced the same way. The statistics show the seed
/// used, so a run can be repeated.
pub(super) fn fault_seed() -> u64 {
    let word = sys::env("KOS_SHIM_FAULT_SEED").map(str::trim);
    if let Some(seed) = word.and_then(parse_seed) {
        return seed;
    }
    let seed = super::fault::splitmix64(
        sys::wall_ns() ^ crate::clock::now() ^ (u64::from(sys::pid()) << 40),
    );
    if let Some(w) = word.filter(|w| !w.is_empty()) {
        let _inside = crate::guard::enter();
        crate::say!(
            Level::Error,
            "KOS_SHIM_FAULT_SEED={w:?} is not a number (decimal or 0x hex); using seed {seed}"
        );
    }
    seed
}

/// A seed word: decimal or `0x` hex, 64 bits.
fn parse_seed(w: &str) -> Option<u64> {
    match w.strip_prefix("0x").or_else(|| w.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => w.parse().ok(),
    }
    .filter(|_| !w.starts_with('+') && !w.contains("0x+"))
}

#[cfg(test)]
#[test]
fn seed_words() {
    assert_eq!(parse_seed("42"), Some(42));
    assert_eq!(parse_seed("0x2A"), Some(42));
    assert_eq!(parse_seed("+42"), None);
    assert_eq!(parse_seed("0x+2a"), None);
    assert_eq!(parse_seed("forty"), None);
    assert_eq!(parse_seed("18446744073709551616"), None);
}
