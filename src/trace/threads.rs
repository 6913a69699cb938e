//! Thread names: read from the system, carried by every trace output.
//!
//! A thread's name is read on the thread itself when its ring is made (its
//! first traced call; std builds, `pthread_getname_np` through
//! [`crate::sys`]) into a registry. The drainer names every thread it sees
//! records of: from the registry, else as the system shows it
//! ([`crate::sys::thread_name_of`]: Linux `/proc`). Programs often name a
//! thread after it started, so the drainer re-reads the names of the
//! threads that had records at most every 250 ms, and of every
//! thread it saw when the session ends: one read per thread then, never one
//! per call. Each change is announced to the outputs before the records
//! that follow it.

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::string::String;
use core::fmt;

/// Names of threads by thread id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ThreadNames {
    map: BTreeMap<u64, String>,
}

impl ThreadNames {
    /// The name of `tid`, if known.
    pub fn get(&self, tid: u64) -> Option<&str> {
        self.map.get(&tid).map(String::as_str)
    }

    /// Name `tid`; whether that changed anything (an empty name is ignored).
    pub fn set(&mut self, tid: u64, name: &str) -> bool {
        if name.is_empty() || self.get(tid) == Some(name) {
            return false;
        }
        self.map.insert(tid, String::from(name));
        true
    }

    /// Every (thread, name), by thread id.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &str)> {
        self.map.iter().map(|(t, n)| (*t, n.as_str()))
    }

    /// Number of named threads.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no thread is named.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// A thread as the text outputs show it: `name[tid]`, or `tid=N` when it
/// has no name. Spaces and control characters of the name show as `_`, so
/// the line stays split by spaces.
pub struct Label<'a>(pub u64, pub Option<&'a str>);

impl fmt::Display for Label<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            Some(name) if !name.is_empty() => {
                for c in name.chars() {
                    let c = if c.is_whitespace() || c.is_control() {
                        '_'
                    } else {
                        c
                    };
                    fmt::Write::write_char(f, c)?;
                }
                write!(f, "[{}]", self.0)
            }
            _ => write!(f, "tid={}", self.0),
        }
    }
}

/// How often the drainer re-reads the names of threads that had records.
pub(crate) const REFRESH_NS: u64 = 250_000_000;

/// Names read on the threads themselves (at their first traced call).
static REGISTRY: spin::mutex::SpinMutex<ThreadNames> = spin::mutex::SpinMutex::new(ThreadNames {
    map: BTreeMap::new(),
});

/// Register the calling thread's name (`tid` is its id). Called once per
/// thread, when its ring is made.
#[cfg(feature = "std")]
pub(crate) fn note_current(tid: u64) {
    if let Some(name) = crate::sys::thread_name() {
        let mut r = REGISTRY.lock();
        // Bounded: a program that starts threads forever drops the
        // oldest ids (the drainer then asks the system, once per thread).
        if r.len() >= MAX_THREADS {
            r.map.pop_first();
        }
        r.set(tid, &name);
    }
}

/// In a forked child (`crate::fork`): a thread of the parent may have held
/// the registry's lock at the fork, perhaps halfway through changing the
/// map. The child then starts with an empty registry (the old map is
/// leaked, not dropped: it may be inconsistent); the drainer reads names
/// from the system instead.
pub(crate) fn fork_child() {
    if REGISTRY.is_locked() {
        // SAFETY: the child has one thread, this one, which is not inside
        // the registry (it called fork() from the program); the holder is
        // gone with the parent's other threads.
        unsafe { REGISTRY.force_unlock() };
        core::mem::forget(core::mem::take(&mut *REGISTRY.lock()));
    }
}

/// Threads the registry and a session remember at most.
const MAX_THREADS: usize = 1 << 14;

/// `tid`'s name now: as the system shows it, else as registered.
fn current(tid: u64) -> Option<String> {
    let seen = crate::sys::thread_name_of(tid);
    seen.or_else(|| REGISTRY.lock().get(tid).map(String::from))
}

/// Threads re-read at the end of a session at most (the rest keep the name
/// they had).
const FINAL_MAX: usize = 4096;

/// What one tracing session told its outputs about thread names.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    /// The names announced.
    told: ThreadNames,
    /// Threads whose name was looked for (named or not).
    seen: BTreeSet<u64>,
    /// Threads with records since the last refresh.
    recent: BTreeSet<u64>,
    last_refresh_ns: u64,
}

impl Tracker {
    /// The names announced so far.
    pub fn names(&self) -> &ThreadNames {
        &self.told
    }

    /// A record of thread `tid` is about to be delivered: the first time,
    /// its name is looked up and, if it has one, announced.
    pub fn on_record(&mut self, tid: u64, announce: &mut dyn FnMut(u64, &str)) {
        if tid == 0 {
            return;
        }
        self.recent.insert(tid);
        if self.seen.contains(&tid) {
            return;
        }
        if self.seen.len() >= MAX_THREADS {
            // Forget (and later announce again) rather than grow forever.
            self.seen.clear();
            self.told = ThreadNames::default();
        }
        self.seen.insert(tid);
        // The registry's lock is let go before `current` takes it again.
        let registered = REGISTRY.lock().get(tid).map(String::from);
        if let Some(name) = registered.or_else(|| current(tid)) {
            self.tell(tid, &name, announce);
        }
    }

    /// Re-read the names of the threads with records since the last
    /// refresh, if 250 ms passed since (`now_ns`); with `all`, of
    /// every thread seen (the session ends). Announces what changed.
    pub fn refresh(&mut self, now_ns: u64, all: bool, announce: &mut dyn FnMut(u64, &str)) {
        if !all && now_ns.saturating_sub(self.last_refresh_ns) < REFRESH_NS {
            return;
        }
        self.last_refresh_ns = now_ns;
        let recent = core::mem::take(&mut self.recent);
        let which: alloc::vec::Vec<u64> = if all {
            self.seen.iter().copied().take(FINAL_MAX).collect()
        } else {
            recent.into_iter().collect()
        };
        for tid in which {
            if let Some(name) = current(tid) {
                self.tell(tid, &name, announce);
            }
        }
    }

    fn tell(&mut self, tid: u64, name: &str, announce: &mut dyn FnMut(u64, &str)) {
        if self.told.set(tid, name) {
            announce(tid, name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_thread_or_show_its_id() {
        assert_eq!(
            alloc::format!("{}", Label(42, Some("worker 1"))),
            "worker_1[42]"
        );
        assert_eq!(alloc::format!("{}", Label(42, None)), "tid=42");
        assert_eq!(alloc::format!("{}", Label(42, Some(""))), "tid=42");
    }

    #[test]
    fn a_name_is_announced_once_and_again_when_it_changes() {
        let mut names = ThreadNames::default();
        assert!(names.set(1, "a"));
        assert!(!names.set(1, "a"));
        assert!(!names.set(1, ""));
        assert!(names.set(1, "b"));
        assert_eq!(names.get(1), Some("b"));
        assert_eq!(names.iter().collect::<alloc::vec::Vec<_>>(), [(1, "b")]);
    }

    #[test]
    fn a_thread_the_system_does_not_know_stays_unnamed() {
        // As in the wrap build, whose thread ids are pthread_self values:
        // neither registered nor in /proc (this once deadlocked on the
        // registry's lock).
        let tid = u64::MAX - 7;
        let mut told = alloc::vec::Vec::new();
        let mut tracker = Tracker::default();
        tracker.on_record(tid, &mut |t, n| told.push((t, String::from(n))));
        tracker.refresh(0, true, &mut |t, n| told.push((t, String::from(n))));
        assert!(told.is_empty());
        assert_eq!(tracker.names().get(tid), None);
        REGISTRY.lock().set(tid, "registered");
        tracker.refresh(1, true, &mut |t, n| told.push((t, String::from(n))));
        assert_eq!(told, [(tid, String::from("registered"))]);
    }

    #[cfg(all(feature = "std", target_os = "linux"))]
    #[test]
    fn the_tracker_names_a_thread_and_sees_it_renamed() {
        let (tid_tx, tid_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::Builder::new()
            .name("kst-before".into())
            .spawn(move || {
                tid_tx.send(crate::guard::thread_id()).unwrap();
                go_rx.recv().unwrap();
            })
            .unwrap();
        let tid = tid_rx.recv().unwrap();
        let mut told = alloc::vec::Vec::new();
        let mut tracker = Tracker::default();
        tracker.on_record(tid, &mut |t, n| told.push((t, String::from(n))));
        tracker.on_record(tid, &mut |t, n| told.push((t, String::from(n))));
        assert_eq!(told, [(tid, String::from("kst-before"))]);
        let comm = std::format!("/proc/self/task/{tid}/comm");
        std::fs::write(&comm, "kst-after").unwrap();
        tracker.refresh(0, true, &mut |t, n| told.push((t, String::from(n))));
        assert_eq!(told[1], (tid, String::from("kst-after")));
        assert_eq!(tracker.names().get(tid), Some("kst-after"));
        go_tx.send(()).unwrap();
        t.join().unwrap();
    }
}
