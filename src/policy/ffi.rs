//! C API of the policy: load, clear, counters, learn mode.

use core::ffi::c_char;
use core::fmt;

use crate::abi::{rcBufferTooSmall, rcInvalidArgument, rcOk, Retcode};
use crate::ffi::{boundary, bytes, write_out};

#[cfg(feature = "clib")]
use crate::abi::rcFail;
#[cfg(not(feature = "clib"))]
use crate::abi::rcUnimplemented;
#[cfg(feature = "clib")]
use crate::ffi::c_str;

/// Policy counters (`kos_shim_policy_stats`). Verdict counts are
/// process-wide since start; `default_hits` and `rules` describe the active
/// policy (reset by each load).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PolicyStats {
    /// Messages allowed by a policy (rule or default).
    pub allowed: u64,
    /// Messages allowed by a `log` rule (and reported).
    pub logged: u64,
    /// Call/CallEx/Reply refused with rcSecurityDisallow.
    pub denied: u64,
    /// Would-be denials that were let through (audit mode, or receives).
    pub audit_denied: u64,
    /// Messages seen while no policy was active (all allowed).
    pub unpoliced: u64,
    /// Match reports emitted through the log.
    pub reports: u64,
    /// Match reports dropped by the rate limit (20 per second).
    pub reports_suppressed: u64,
    /// Successful loads.
    pub loads: u64,
    /// Rejected loads (parse errors, unreadable files).
    pub load_errors: u64,
    /// Load generation of the active policy (0: none).
    pub generation: u64,
    /// Messages the active policy's `default` decided.
    pub default_hits: u64,
    /// Rules in the active policy.
    pub rules: u32,
    /// 1 when a policy is active.
    pub active: u32,
    /// 1 when the active policy is in audit mode.
    pub audit: u32,
    /// 1 when KOS_SHIM_POLICY could not be loaded and the shim fails closed.
    pub failed_closed: u32,
    /// 1 when learn mode is on.
    pub learning: u32,
    /// Fault rules (`fail`, `delay`) in the active policy, as written (a
    /// name standing for several (iid, mid) counts once).
    pub fault_rules: u32,
    /// Faults injected since the process started (failed or delayed
    /// messages, every policy loaded).
    pub faults_injected: u64,
    /// The seed the fault rules draw from (`KOS_SHIM_FAULT_SEED`, or the
    /// one chosen at random when it is unset): run again with it set to
    /// this value to get the same faults.
    pub fault_seed: u64,
}

/// Writes a message into a C buffer, always NUL-terminated, truncated at a
/// UTF-8 character boundary when the buffer is too small.
struct ErrBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
    full: bool,
}

impl fmt::Write for ErrBuf<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.full || self.buf.is_empty() {
            return Ok(());
        }
        let room = self.buf.len() - 1 - self.len;
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        self.buf[self.len] = 0;
        self.full = n < s.len();
        Ok(())
    }
}

impl<'a> ErrBuf<'a> {
    /// # Safety
    /// `err` is NULL or valid for writes of `err_len` bytes.
    unsafe fn new(err: *mut c_char, err_len: usize) -> ErrBuf<'a> {
        let buf: &mut [u8] = if err.is_null() || err_len == 0 || err_len > isize::MAX as usize {
            &mut []
        } else {
            // SAFETY: non-NULL, bounded length, writable per the caller's contract.
            unsafe { core::slice::from_raw_parts_mut(err.cast::<u8>(), err_len) }
        };
        if let Some(b) = buf.first_mut() {
            *b = 0;
        }
        ErrBuf {
            buf,
            len: 0,
            full: false,
        }
    }

    fn set(&mut self, msg: impl fmt::Display) {
        use fmt::Write as _;
        self.len = 0;
        self.full = false;
        let _ = write!(self, "{msg}");
    }
}

/// Parse the policy text `text` (`len` bytes, UTF-8, no NUL needed) and make
/// it the active policy, atomically: on any error nothing changes.
///
/// `err` (may be NULL) receives a NUL-terminated message of at most
/// `err_len` bytes (truncated if longer), e.g.
/// `policy:12:9: expected a number after 'mid='`; the empty string on success.
///
/// Returns rcOk, or rcInvalidArgument (parse error, invalid UTF-8, or
/// `text` NULL with `len` > 0).
///
/// # Safety
/// `text` is valid for reads of `len` bytes (or NULL with `len` 0); `err`
/// is NULL or valid for writes of `err_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_policy_load(
    text: *const c_char,
    len: usize,
    err: *mut c_char,
    err_len: usize,
) -> Retcode {
    boundary(|| {
        // SAFETY: the caller's contract for err/err_len.
        let mut e = unsafe { ErrBuf::new(err, err_len) };
        // SAFETY: the caller's contract for text/len.
        let Some(raw) = (unsafe { bytes(text.cast::<u8>(), len) }) else {
            e.set("policy: text is NULL but len is not 0");
            return rcInvalidArgument;
        };
        let Ok(text) = core::str::from_utf8(raw) else {
            if let Some(pe) = super::PolicyError::invalid_utf8(raw) {
                e.set(pe);
            }
            return rcInvalidArgument;
        };
        match super::load(text) {
            Ok(()) => rcOk,
            Err(pe) => {
                e.set(pe);
                rcInvalidArgument
            }
        }
    })
}

/// Read the policy file `path` and load it like `kos_shim_policy_load`.
/// Messages name the file: `/etc/app.policy:3:9: ...`.
///
/// Returns rcOk; rcInvalidArgument (NULL or non-UTF-8 path, unreadable file,
/// parse error); rcUnimplemented in the bare core (no C library: no files).
///
/// # Safety
/// `path` is NULL or a NUL-terminated string; `err` as for `kos_shim_policy_load`.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_policy_load_file(
    path: *const c_char,
    err: *mut c_char,
    err_len: usize,
) -> Retcode {
    boundary(|| {
        // SAFETY: the caller's contract for err/err_len.
        let mut e = unsafe { ErrBuf::new(err, err_len) };
        #[cfg(feature = "clib")]
        {
            // SAFETY: the caller's contract for path.
            let Some(path) = (unsafe { c_str(path) }) else {
                e.set("policy: path is NULL or not UTF-8");
                return rcInvalidArgument;
            };
            match super::load_file(path) {
                Ok(()) => rcOk,
                Err(msg) => {
                    e.set(msg);
                    rcInvalidArgument
                }
            }
        }
        #[cfg(not(feature = "clib"))]
        {
            let _ = path;
            e.set("policy: files cannot be read in this build (no C library)");
            rcUnimplemented
        }
    })
}

/// Remove the active policy: every call is allowed again (this also ends
/// failing closed). Always rcOk.
#[no_mangle]
pub extern "C" fn kos_shim_policy_clear() -> Retcode {
    boundary(|| {
        super::clear();
        rcOk
    })
}

/// Copy the policy counters into `*out`. rcOk, or rcInvalidArgument for NULL.
///
/// # Safety
/// `out` is NULL or valid for a write of one `kos_shim_policy_stats_t`.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_policy_stats(out: *mut PolicyStats) -> Retcode {
    boundary(|| {
        let s = super::stats();
        // SAFETY: the caller's contract for out.
        if unsafe { write_out(out, s) } {
            rcOk
        } else {
            rcInvalidArgument
        }
    })
}

/// Copy the active policy's per-rule hit counts, in rule order, into
/// `out[0..cap]`, and set `*n` to the number of rules (0 without a policy).
/// `out` may be NULL when `cap` is 0 (to ask for the count). A name that
/// stands for several (iid, mid) (`deny call Echo.Ping` with Echo at two
/// RIIDs) is one rule per pair here, consecutive, in the order of their ids.
///
/// Returns rcOk; rcBufferTooSmall when `cap < *n` (the first `cap` counts
/// are written); rcInvalidArgument when `n` is NULL or `out` is NULL with
/// `cap` > 0.
///
/// # Safety
/// `out` is NULL or valid for writes of `cap` counts; `n` is NULL or valid
/// for one write.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_policy_rule_hits(
    out: *mut u64,
    cap: usize,
    n: *mut usize,
) -> Retcode {
    boundary(|| {
        if n.is_null() || (out.is_null() && cap > 0) || cap > isize::MAX as usize / 8 {
            return rcInvalidArgument;
        }
        let buf: &mut [u64] = if cap == 0 {
            &mut []
        } else {
            // SAFETY: non-NULL, bounded, writable per the caller's contract.
            unsafe { core::slice::from_raw_parts_mut(out, cap) }
        };
        let rules = super::rule_hits(buf);
        // SAFETY: n checked non-NULL; writable per the caller's contract.
        unsafe { write_out(n, rules) };
        if cap < rules {
            rcBufferTooSmall
        } else {
            rcOk
        }
    })
}

/// Copy the active policy's per-fault-rule counters, in text order, into
/// `seen[0..cap]` (messages the rule was offered: matching ones that the
/// access rules allowed and no earlier fault rule took) and
/// `injected[0..cap]` (faults it injected), and set `*n` to the number of
/// fault rules (0 without a policy). Either array may be NULL (then it is
/// not written); both may be NULL when `cap` is 0 (to ask for the count).
/// A name that stands for several (iid, mid) is one fault rule here.
/// Counts restart at 0 with each load.
///
/// Returns rcOk; rcBufferTooSmall when `cap < *n` (the first `cap` counts
/// are written); rcInvalidArgument when `n` is NULL.
///
/// # Safety
/// `seen` and `injected` are each NULL or valid for writes of `cap`
/// counts; `n` is NULL or valid for one write.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_policy_fault_counts(
    seen: *mut u64,
    injected: *mut u64,
    cap: usize,
    n: *mut usize,
) -> Retcode {
    boundary(|| {
        if n.is_null() || cap > isize::MAX as usize / 8 {
            return rcInvalidArgument;
        }
        let counts = super::fault_counts(|i, s, j| {
            if i < cap {
                // SAFETY: i < cap and each array is NULL or writable for cap
                // counts per the caller's contract; NULL ones are skipped.
                unsafe {
                    if !seen.is_null() {
                        seen.add(i).write(s);
                    }
                    if !injected.is_null() {
                        injected.add(i).write(j);
                    }
                }
            }
        });
        // SAFETY: n checked non-NULL; writable per the caller's contract.
        unsafe { write_out(n, counts) };
        if cap < counts {
            rcBufferTooSmall
        } else {
            rcOk
        }
    })
}

/// Set the seed the fault rules draw from, for this process, instead of
/// `KOS_SHIM_FAULT_SEED` (the same seed gives the same faults: the
/// `n`-th message a fault rule is offered fires or not by the seed, the
/// rule's number and `n` alone). Takes effect at once; counts are not reset.
/// Returns rcOk.
#[no_mangle]
pub extern "C" fn kos_shim_policy_fault_seed(seed: u64) -> Retcode {
    boundary(|| {
        super::set_fault_seed(seed);
        rcOk
    })
}

/// Start learn mode (idempotent): from now on every message's (operation,
/// iid, mid) is recorded for `kos_shim_policy_learn_write`. Setting
/// `KOS_SHIM_POLICY_LEARN=/path` does this at first use and writes the file
/// at exit. rcOk; rcUnimplemented in the bare core (no C library).
#[no_mangle]
pub extern "C" fn kos_shim_policy_learn_start() -> Retcode {
    boundary(|| {
        #[cfg(feature = "clib")]
        {
            super::learn::start();
            rcOk
        }
        #[cfg(not(feature = "clib"))]
        {
            rcUnimplemented
        }
    })
}

/// Write the policy learned so far to the file `path`: one `allow` rule per
/// observed (operation, iid, mid), sorted, commented with hit counts, ending
/// in `default deny`.
///
/// Returns rcOk; rcInvalidArgument (NULL or non-UTF-8 path, or learn mode
/// is off); rcFail (the file cannot be written); rcUnimplemented in the bare
/// core (no C library).
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_policy_learn_write(path: *const c_char) -> Retcode {
    boundary(|| {
        #[cfg(feature = "clib")]
        {
            // SAFETY: the caller's contract for path.
            let (Some(path), Some(l)) = (unsafe { c_str(path) }, super::learn::global()) else {
                return rcInvalidArgument;
            };
            match l.write_to(path) {
                Ok(()) => rcOk,
                Err(_) => rcFail,
            }
        }
        #[cfg(not(feature = "clib"))]
        {
            let _ = path;
            rcUnimplemented
        }
    })
}

/// Copy why `KOS_SHIM_POLICY` could not be loaded (file, line, column and
/// reason) into `buf` (NUL-terminated, truncated to `len` bytes); the empty
/// string when it loaded or is not set. rcOk, or rcInvalidArgument for a
/// NULL `buf` or `len` 0.
///
/// # Safety
/// `buf` is NULL or valid for writes of `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_policy_env_error(buf: *mut c_char, len: usize) -> Retcode {
    boundary(|| {
        if buf.is_null() || len == 0 {
            return rcInvalidArgument;
        }
        super::init_from_env();
        // SAFETY: the caller's contract for buf/len.
        let mut e = unsafe { ErrBuf::new(buf, len) };
        #[cfg(feature = "clib")]
        if let Some(msg) = super::env::last_error() {
            e.set(msg);
        }
        #[cfg(not(feature = "clib"))]
        e.set("");
        rcOk
    })
}
