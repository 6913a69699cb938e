//! Output paths: placeholders, and never clobbering a live process's file.
//!
//! Every path a `KOS_SHIM_*` variable names (statistics dumps, trace files,
//! learned policies) goes through [`claim`] when the shim starts:
//!
//! - placeholders are expanded: `%p` the process id, `%t` the start time
//!   (UTC, `YYYYmmdd-HHMMSS`), `%n` the program's name (from
//!   `/proc/self/comm`; `prog` where there is no `/proc`), `%%` a `%`;
//! - the file is created (emptied) at once, so an unusable path is reported
//!   at start-up, not at exit after the data is gone;
//! - a path another live process is writing is not clobbered: while a
//!   process owns a path it keeps `<path>.lock` holding its id; a second
//!   process that finds the lock of a live owner writes `<path>.<pid>`
//!   instead and says so on stderr. A lock whose owner is gone (it crashed)
//!   is taken over. Liveness is read from `/proc/<pid>`; where there is no
//!   `/proc` an existing lock counts as live (the safe side). The lock is
//!   removed when the process exits normally.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use crate::say::Level;
use crate::sys::{self, File, Mode};

/// The start time used by `%t`, taken once.
static START: spin::Once<u64> = spin::Once::new();
/// Lock files this process holds, removed at exit.
static LOCKS: spin::Mutex<Vec<String>> = spin::Mutex::new(Vec::new());
static AT_EXIT: spin::Once<bool> = spin::Once::new();

/// `template` with `%p`, `%t`, `%n` and `%%` expanded; an unknown `%x` is
/// kept as it is.
pub fn expand(template: &str) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut chars = template.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('p') => out.push_str(&format!("{}", sys::pid())),
            Some('t') => out.push_str(&civil(*START.call_once(|| sys::wall_ns() / 1_000_000_000))),
            Some('n') => out.push_str(&program_name()),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// The program's name: `/proc/self/comm` without its newline, or `prog`.
pub fn program_name() -> String {
    let name = sys::read_text("/proc/self/comm").unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .map(|c| if c == '/' || c.is_control() { '_' } else { c })
        .collect();
    if name.is_empty() {
        String::from("prog")
    } else {
        name
    }
}

/// `secs` since the Unix epoch as `YYYYmmdd-HHMMSS` (UTC).
fn civil(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Days to a proleptic Gregorian date (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Whether process `pid` is alive, as far as this system can tell.
fn alive(pid: u32) -> bool {
    if pid == sys::pid() {
        return true;
    }
    if File::open(&format!("/proc/{pid}/stat"), Mode::Read).is_ok() {
        return true;
    }
    // No such process, or no /proc: only the first is a "no".
    File::open("/proc/self/stat", Mode::Read).is_err()
}

/// The owner recorded in `lock`, if the file exists and names one.
fn owner(lock: &str) -> Option<u32> {
    let text = sys::read_text(lock).ok()?;
    text.trim().parse().ok()
}

/// In a forked child (`crate::fork`): the lock files held so far are the
/// parent's; the child forgets them (its exit must not remove them) and
/// claims its own paths anew.
pub(crate) fn fork_child() {
    if LOCKS.is_locked() {
        // SAFETY: the child has one thread, this one, which is not inside a
        // claim; the holder was a thread of the parent and is gone.
        unsafe { LOCKS.force_unlock() };
    }
    LOCKS.lock().clear();
}

extern "C" fn release_locks() {
    let _inside = crate::guard::enter();
    for lock in LOCKS.lock().drain(..) {
        if owner(&lock) == Some(sys::pid()) {
            sys::remove(&lock);
        }
    }
}

/// Write our id into `lock`; false if that failed.
fn take_lock(lock: &str) -> bool {
    let Ok(mut f) = File::open(lock, Mode::Create) else {
        return false;
    };
    if f.write_all(format!("{}\n", sys::pid()).as_bytes()).is_err() || f.close().is_err() {
        return false;
    }
    if *AT_EXIT.call_once(|| sys::at_exit(release_locks)) {
        LOCKS.lock().push(String::from(lock));
    }
    true
}

/// `path`, or `<path>.<pid>` when another live process holds `path`'s lock
/// (said on stderr); the lock is ours otherwise.
fn keep_off_live_owner(path: String, what: &str) -> String {
    let lock = format!("{path}.lock");
    match owner(&lock) {
        Some(pid) if pid != sys::pid() && alive(pid) => {
            let mine = format!("{path}.{}", sys::pid());
            crate::say!(
                Level::Warn,
                "{what}: {path} is being written by process {pid}; writing {mine} instead"
            );
            mine
        }
        Some(pid) if pid == sys::pid() => path,
        _ => {
            // No owner, or one that is gone: ours now. A lock that cannot be
            // written (read-only directory) shows below when the file cannot
            // be created either; a writable file in a directory without
            // room for the lock is still written, unprotected.
            let _ = take_lock(&lock);
            path
        }
    }
}

/// Claim the output `template` names for `what` (e.g. `KOS_SHIM_STATS`):
/// expand it, keep off a live process's file, create the file, and return
/// the path to write. Err: the message already said on stderr.
pub fn claim(template: &str, what: &str) -> Result<String, String> {
    let _inside = crate::guard::enter();
    let path = keep_off_live_owner(expand(template), what);
    match File::open(&path, Mode::Create).and_then(File::close) {
        Ok(()) => Ok(path),
        Err(e) => {
            let msg = format!("{what}: cannot write {path} ({e}); this output is off");
            crate::say!(Level::Error, "{msg}");
            Err(msg)
        }
    }
}

/// [`claim`] for an output that is a directory (a CTF trace): expand
/// `template`, keep off a directory a live process is writing (the lock is
/// `<dir>.lock` beside it; the second process writes `<dir>.<pid>`), create
/// the directory and its parents, and check that `first` (a file name) can
/// be created in it. Returns the directory. Err: said on stderr.
pub fn claim_dir(template: &str, first: &str, what: &str) -> Result<String, String> {
    let _inside = crate::guard::enter();
    let expanded = expand(template);
    let dir = keep_off_live_owner(String::from(expanded.trim_end_matches('/')), what);
    sys::mkdir_all(&dir);
    let probe = format!("{dir}/{first}");
    match File::open(&probe, Mode::Create).and_then(File::close) {
        Ok(()) => Ok(dir),
        Err(e) => {
            let msg = format!("{what}: cannot write {probe} ({e}); this output is off");
            crate::say!(Level::Error, "{msg}");
            Err(msg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), "19700101-000000");
        assert_eq!(civil(951_782_400), "20000229-000000");
        assert_eq!(civil(1_796_013_045), "20261130-043045");
    }

    #[test]
    fn placeholders() {
        let pid = sys::pid();
        assert_eq!(expand("a-%p.json"), format!("a-{pid}.json"));
        assert_eq!(expand("100%%-%q-%"), "100%-%q-%");
        assert_eq!(expand("%n"), program_name());
        let t = expand("%t");
        assert_eq!(t.len(), 15);
        assert_eq!(expand("%t"), t, "the start time is taken once");
    }

    #[test]
    fn a_live_owner_is_not_clobbered_and_a_dead_one_is_taken_over() {
        let dir = std::env::temp_dir().join(format!("kos-outpath-{}", sys::pid()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("out.json");
        let p = path.to_str().unwrap();
        let lock = format!("{p}.lock");

        // Free: claimed as is, file created empty, lock names us.
        std::fs::write(&path, "old").unwrap();
        assert_eq!(claim(p, "TEST").unwrap(), p);
        assert_eq!(std::fs::read(&path).unwrap(), b"");
        assert_eq!(owner(&lock), Some(sys::pid()));
        // Again by us: still ours.
        assert_eq!(claim(p, "TEST").unwrap(), p);

        // A live other process (pid 1 always is): ours goes beside it.
        std::fs::write(&lock, "1\n").unwrap();
        std::fs::write(&path, "theirs").unwrap();
        assert_eq!(claim(p, "TEST").unwrap(), format!("{p}.{}", sys::pid()));
        assert_eq!(std::fs::read(&path).unwrap(), b"theirs");

        // A dead owner (no such pid): taken over.
        std::fs::write(&lock, "999999999\n").unwrap();
        assert_eq!(claim(p, "TEST").unwrap(), p);
        assert_eq!(owner(&lock), Some(sys::pid()));

        // An unusable path: an error naming it.
        let bad = dir.join("missing-dir/x.json");
        let e = claim(bad.to_str().unwrap(), "TEST").unwrap_err();
        assert!(
            e.contains("cannot write") && e.contains("missing-dir/x.json"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_is_created_and_kept_off_a_live_owner() {
        let base = std::env::temp_dir().join(format!("kos-outpath-dir-{}", sys::pid()));
        let d = base.join("a/ctf-%p");
        let t = d.to_str().unwrap();
        let want = expand(t);
        assert_eq!(claim_dir(t, "metadata", "TEST").unwrap(), want);
        assert!(std::path::Path::new(&want).join("metadata").is_file());
        std::fs::write(format!("{want}.lock"), "1\n").unwrap();
        assert_eq!(
            claim_dir(t, "metadata", "TEST").unwrap(),
            format!("{want}.{}", sys::pid())
        );
        // A directory under a file cannot be made: named at once.
        std::fs::write(base.join("file"), "").unwrap();
        let bad = base.join("file/ctf");
        let e = claim_dir(bad.to_str().unwrap(), "metadata", "TEST").unwrap_err();
        assert!(
            e.contains("cannot write") && e.contains("file/ctf/metadata"),
            "{e}"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
