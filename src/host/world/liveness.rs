//! Is a peer process still there?
//!
//! A process slot names its process by pid and start time (field 22 of
//! `/proc/<pid>/stat`, in clock ticks since boot), so a reused pid is told
//! apart. The rule: the process of slot `p` with word `w` is alive while
//! the slot still holds `w` (state LIVE) and the process with that pid
//! exists, has not exited (a zombie, killed but not yet reaped, counts as
//! dead) and started at the recorded time.
//!
//! Checks are cheap enough for every Reply: the first check of a peer opens
//! a pidfd (`pidfd_open`, verified against the start time once), later ones
//! `poll` it (readable once the process has exited). Without pidfds (old
//! kernels) each check reads `/proc/<pid>/stat`.

use std::sync::Mutex;

use super::layout::{ProcWord, Shared, PROCS, PROC_LIVE};

/// A cached pidfd per process slot, keyed by the slot's word.
struct PidFds {
    fds: [Option<(u64, i32)>; PROCS],
}

impl Drop for PidFds {
    fn drop(&mut self) {
        for (_, fd) in self.fds.iter().flatten() {
            // SAFETY: an fd this cache opened and owns.
            unsafe { libc::close(*fd) };
        }
    }
}

/// Liveness checks for one attached world (each world its own cache: slot
/// indexes are per world).
pub(crate) struct Liveness {
    fds: Mutex<PidFds>,
}

impl Liveness {
    pub(crate) fn new() -> Liveness {
        Liveness {
            fds: Mutex::new(PidFds { fds: [None; PROCS] }),
        }
    }

    /// Whether process slot `index` holds a LIVE word that `expect`
    /// accepts (the word a call or channel recorded) and its process lives.
    pub(crate) fn alive(
        &self,
        shared: &Shared,
        index: usize,
        expect: impl FnOnce(ProcWord) -> bool,
    ) -> bool {
        let Some(slot) = shared.procs.get(index) else {
            return false;
        };
        let word = ProcWord(slot.word.load(core::sync::atomic::Ordering::Acquire));
        if word.state() != PROC_LIVE || !expect(word) {
            return false;
        }
        let pid = word.pid();
        if pid == std::process::id() {
            return true;
        }
        let start = slot.start_time.load(core::sync::atomic::Ordering::Acquire);
        let mut cache = super::super::lock(&self.fds);
        if let Some((key, fd)) = cache.fds[index] {
            if key == word.0 {
                return !exited(fd);
            }
            // SAFETY: an fd this cache opened and owns; the entry is replaced.
            unsafe { libc::close(fd) };
            cache.fds[index] = None;
        }
        match open_pidfd(pid) {
            Some(fd) => {
                // The pidfd names whoever has the pid now: check it is the
                // process that attached (same start time), then keep it.
                if !stat_alive(pid, start) {
                    // SAFETY: just opened, not shared.
                    unsafe { libc::close(fd) };
                    return false;
                }
                cache.fds[index] = Some((word.0, fd));
                !exited(fd)
            }
            None => stat_alive(pid, start),
        }
    }
}

/// A pidfd for `pid`, or None (no such process, or no pidfds).
fn open_pidfd(pid: u32) -> Option<i32> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: pidfd_open takes a pid and flags; it returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        (fd >= 0).then_some(fd as i32)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        None
    }
}

/// Whether the process behind `fd` has exited (the pidfd is readable).
fn exited(fd: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd on our stack; timeout 0 (no blocking).
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    n > 0 && p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
}

/// `/proc/<pid>/stat` says the process exists, is not a zombie, and (when
/// `start` is known, not 0) started at `start`.
pub(crate) fn stat_alive(pid: u32, start: u64) -> bool {
    match read_stat(pid) {
        Some((state, started)) => {
            !matches!(state, b'Z' | b'X' | b'x') && (start == 0 || started == start)
        }
        None => false,
    }
}

/// The start time of process `pid` (0 if unreadable).
pub(crate) fn start_time(pid: u32) -> u64 {
    read_stat(pid).map_or(0, |(_, t)| t)
}

/// State letter and start time of `pid`, from `/proc/<pid>/stat`.
fn read_stat(pid: u32) -> Option<(u8, u64)> {
    let text = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) S ..." where comm may hold spaces and parentheses: the
    // fields start after the last ')'.
    let close = text.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(text.get(close + 1..)?).ok()?;
    let mut fields = rest.split_ascii_whitespace();
    let state = *fields.next()?.as_bytes().first()?;
    // After the state (field 3), starttime is field 22: 18 further on.
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_at_its_start_time_only() {
        let pid = std::process::id();
        let t = start_time(pid);
        assert_ne!(t, 0);
        assert!(stat_alive(pid, t));
        assert!(stat_alive(pid, 0));
        assert!(!stat_alive(pid, t + 1));
        assert!(!stat_alive(u32::MAX / 2, 0), "no such pid");
    }
}
