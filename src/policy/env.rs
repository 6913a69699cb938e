//! Configuration from the environment, read once on first use:
//! `KOS_SHIM_POLICY` (policy file; missing or invalid → fail closed),
//! `KOS_SHIM_POLICY_ON_ERROR=allow` (run without a policy instead, loudly),
//! `KOS_SHIM_POLICY_LEARN` (learn, and write the learned policy at exit).

use std::format;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::string::{String, ToString};

use super::{learn, PolicyError, LOG_TARGET};

/// The policy installed when `KOS_SHIM_POLICY` cannot be loaded.
const FAIL_CLOSED: &str = "allow recv\ndefault deny\n";

static INIT: spin::Once<()> = spin::Once::new();
static LAST_ERROR: spin::Mutex<Option<String>> = spin::Mutex::new(None);

pub(super) fn init_once() {
    if !INIT.is_completed() {
        INIT.call_once(init);
        crate::layers::refresh();
    }
}

/// Whether the environment has been read.
pub(super) fn initialized() -> bool {
    INIT.is_completed()
}

fn file_error(path: &Path, e: &PolicyError) -> String {
    format!("{}:{}:{}: {}", path.display(), e.line, e.col, e.kind)
}

/// Read and load a policy file (no environment check).
pub(super) fn load_file_now(path: &Path, failed_closed: bool) -> Result<(), String> {
    // File I/O is IPC on KasperskyOS: it must not run through the policy.
    let inside = crate::guard::enter();
    let bytes = std::fs::read(path)
        .map_err(|e| format!("{}: cannot read the policy file: {e}", path.display()))?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(_) => {
            let e = PolicyError::invalid_utf8(&bytes);
            return Err(e.map_or_else(|| "invalid UTF-8".to_string(), |e| file_error(path, &e)));
        }
    };
    drop(inside);
    super::load_now(text, failed_closed).map_err(|e| file_error(path, &e))
}

fn init() {
    // Reading the file and writing to stderr are IPC on KasperskyOS; they
    // must bypass the shim (and not re-enter this once-only init).
    let _inside = crate::guard::enter();
    if let Some(path) = std::env::var_os("KOS_SHIM_POLICY").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        match load_file_now(&path, false) {
            Ok(()) => log::info!(target: LOG_TARGET, "policy loaded from {}", path.display()),
            Err(reason) => on_error(&reason),
        }
    }
    if let Some(out) = std::env::var_os("KOS_SHIM_POLICY_LEARN").filter(|p| !p.is_empty()) {
        learn::start_with_exit_file(PathBuf::from(out));
    }
}

fn on_error(reason: &str) {
    let allow = std::env::var("KOS_SHIM_POLICY_ON_ERROR").is_ok_and(|v| v == "allow");
    let msg = if allow {
        format!(
            "kos-ipc-shim: WARNING: policy NOT loaded: {reason}; KOS_SHIM_POLICY_ON_ERROR=allow, \
             so the program runs WITHOUT a policy and every call is allowed"
        )
    } else {
        // The fixed text always parses.
        let _ = super::load_now(FAIL_CLOSED, true);
        format!(
            "kos-ipc-shim: policy not loaded: {reason}; failing closed: every Call/CallEx/Reply \
             returns rcSecurityDisallow (KOS_SHIM_POLICY_ON_ERROR=allow runs without a policy)"
        )
    };
    let _ = writeln!(std::io::stderr(), "{msg}");
    log::error!(target: LOG_TARGET, "{msg}");
    *LAST_ERROR.lock() = Some(reason.to_string());
}

/// Why `KOS_SHIM_POLICY` could not be loaded, if it could not.
pub(super) fn last_error() -> Option<String> {
    LAST_ERROR.lock().clone()
}
