//! Learn mode: observe which (operation, iid, mid) a program uses and write
//! the minimal policy allowing exactly that.
//!
//! The output has one `allow` rule per observed (operation class, iid, mid),
//! sorted, each commented with its hit count, and ends in `default deny`, so
//! replaying the same run under it gives no denials and any new method is
//! denied. A rule names the endpoint and the method where the name map
//! names both (`allow call iid=Server.main mid=Echo`, read back by the
//! parser to the same ids), numbers otherwise. Recording is lock-free (an open-addressed table of atomics sized
//! at creation); only rendering allocates. The trace tools feed recorded
//! runs through the same [`Learner`].
//!
//! `KOS_SHIM_POLICY_LEARN=path` (read with the rest of the policy's
//! environment, see `env.rs`) claims its output when learning starts
//! ([`crate::outpath::claim`]: `%p`/`%t`/`%n` expanded, the file created
//! then, so a path that cannot be written is reported at start-up and
//! learning stays off) and writes the policy there at exit through the C
//! library, in every build with it (feature `clib`).

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use core::sync::atomic::{AtomicU64, Ordering};

use super::rules::Class;
use crate::names::NameMap;
use crate::op::Op;
use crate::say::Level;
use crate::sys::{self, File, FileError, Mode};

/// A lock-free set of observed (class, iid, mid) with hit counts.
#[derive(Debug)]
pub struct Learner {
    keys: Box<[AtomicU64]>,
    counts: Box<[AtomicU64]>,
    total: AtomicU64,
    dropped: AtomicU64,
}

impl Default for Learner {
    fn default() -> Self {
        Self::new()
    }
}

fn pack(c: Class, iid: u16, mid: u16) -> u64 {
    1 + (((c as u64) << 32) | ((iid as u64) << 16) | mid as u64)
}

fn unpack(k: u64) -> (Class, u16, u16) {
    let v = k - 1;
    let c = Class::from_index((v >> 32) as usize).unwrap_or(Class::Call);
    (c, (v >> 16) as u16, v as u16)
}

impl Learner {
    /// A learner holding up to 16384 distinct triples.
    pub fn new() -> Learner {
        Self::with_capacity(1 << 14)
    }

    /// A learner holding up to `n` triples (rounded up to a power of two).
    pub fn with_capacity(n: usize) -> Learner {
        let n = n.clamp(16, 1 << 24).next_power_of_two();
        Learner {
            keys: (0..n).map(|_| AtomicU64::new(0)).collect(),
            counts: (0..n).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    /// Record one message of class `c`. Lock-free and allocation-free; when
    /// the table is full the observation is only counted as dropped.
    pub fn observe(&self, c: Class, iid: u16, mid: u16) {
        self.total.fetch_add(1, Ordering::Relaxed);
        let key = pack(c, iid, mid);
        let mask = self.keys.len() - 1;
        let mut i = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) as usize & mask;
        for _ in 0..self.keys.len() {
            let k = self.keys[i].load(Ordering::Acquire);
            let mine = k == key
                || (k == 0
                    && match self.keys[i].compare_exchange(
                        0,
                        key,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => true,
                        Err(other) => other == key,
                    });
            if mine {
                self.counts[i].fetch_add(1, Ordering::Relaxed);
                return;
            }
            i = (i + 1) & mask;
        }
        self.dropped.fetch_add(1, Ordering::Relaxed);
    }

    /// Record one message of operation `op`.
    pub fn observe_op(&self, op: Op, iid: u16, mid: u16) {
        self.observe(Class::of(op), iid, mid);
    }

    /// Observations recorded (including dropped ones).
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// Observations not recorded because the table was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// The observed triples with their counts, sorted by (class, iid, mid).
    pub fn entries(&self) -> Vec<(Class, u16, u16, u64)> {
        let mut v: Vec<_> = self
            .keys
            .iter()
            .zip(self.counts.iter())
            .filter_map(|(k, n)| {
                let k = k.load(Ordering::Acquire);
                (k != 0).then(|| {
                    let (c, iid, mid) = unpack(k);
                    (c, iid, mid, n.load(Ordering::Relaxed))
                })
            })
            .collect();
        v.sort_unstable();
        v
    }

    /// The learned policy text. A rule names its endpoint and method
    /// (`allow call iid=Server.main mid=Echo`) where `names` names both and
    /// the names read back to the same ids; numbers otherwise.
    pub fn render(&self, names: &NameMap) -> String {
        let entries = self.entries();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Learned by kos-ipc-shim from {} observed messages: one allow rule per\n\
             # (operation, iid, mid), sorted; each comment is the rule's hit count.",
            self.total()
        );
        if self.dropped() > 0 {
            let _ = writeln!(
                s,
                "# WARNING: {} observations were not recorded (learner table full): this policy is incomplete.",
                self.dropped()
            );
        }
        let named: Vec<Option<(&str, &str)>> = entries
            .iter()
            .map(|&(_, iid, mid, _)| name_of(names, iid, mid))
            .collect();
        if named.iter().any(Option::is_some) {
            s.push_str(
                "# Its names need the interface descriptions when it is loaded\n\
                 # (KOS_SHIM_EDL and KOS_SHIM_IDL_PATH, or KOS_SHIM_NAMES).\n",
            );
        }
        s.push_str("mode enforce\n");
        for ((c, iid, mid, n), named) in entries.into_iter().zip(named) {
            let _ = match named {
                Some((i, m)) => write!(s, "allow {} iid={i} mid={m}", c.key()),
                None => write!(s, "allow {} iid={iid} mid={mid}", c.key()),
            };
            let _ = writeln!(s, "  # {n} hit{}", if n == 1 { "" } else { "s" });
        }
        s.push_str("default deny\n");
        s
    }

    /// Write [`Learner::render`] with the process's names
    /// ([`crate::names::global`]) to the file `path` (created or emptied),
    /// through the C library.
    pub fn write_to(&self, path: &str) -> Result<(), FileError> {
        // File I/O is IPC on KasperskyOS: it must not be observed or judged
        // (nor is reading the descriptions the names come from).
        let _inside = crate::guard::enter();
        self.write_named(path, crate::names::global())
    }

    fn write_named(&self, path: &str, names: &NameMap) -> Result<(), FileError> {
        let text = self.render(names);
        let _inside = crate::guard::enter();
        let mut f = File::open(path, Mode::Create)?;
        f.write_all(text.as_bytes())?;
        f.close()
    }

    /// [`Learner::write_to`] for std programs (the trace tools), with their
    /// own name map.
    #[cfg(feature = "std")]
    pub fn write(&self, path: &std::path::Path, names: &NameMap) -> std::io::Result<()> {
        let p = path.to_str().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path is not UTF-8")
        })?;
        self.write_named(p, names)
            .map_err(|e| std::io::Error::other(std::format!("{e}")))
    }
}

/// The endpoint's and the method's names, when `names` has both and the
/// policy parser reads them back to exactly `(iid, mid)`.
fn name_of(names: &NameMap, iid: u16, mid: u16) -> Option<(&str, &str)> {
    let i = names.iid_name(iid)?;
    let m = names.mid_name(iid, mid)?;
    let word = |s: &str| {
        s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && !s.contains(|c: char| c.is_whitespace() || c == '#')
    };
    let exact = names.iids_named(i) == [iid] && names.mid_named(iid, m) == Some(mid);
    (word(i) && word(m) && exact).then_some((i, m))
}

static GLOBAL: spin::Once<Learner> = spin::Once::new();
/// Where the learned policy goes at exit (already claimed).
static EXIT_PATH: spin::Mutex<Option<String>> = spin::Mutex::new(None);

/// In a forked child: the exit path's lock may be held by a thread that no
/// longer exists.
pub(super) fn fork_child() {
    if EXIT_PATH.is_locked() {
        // SAFETY: the child has one thread, this one, which is not inside
        // learn mode's code; the holder is gone.
        unsafe { EXIT_PATH.force_unlock() };
    }
}

/// Start in-process learning (idempotent): every later message is observed.
pub fn start() -> &'static Learner {
    let l = GLOBAL.call_once(Learner::new);
    super::publish();
    l
}

/// The in-process learner, if learning is on.
pub fn global() -> Option<&'static Learner> {
    GLOBAL.get()
}

#[inline]
pub(crate) fn observe_global(op: Op, iid: u16, mid: u16) {
    if let Some(l) = GLOBAL.get() {
        l.observe_op(op, iid, mid);
    }
}

extern "C" fn write_at_exit() {
    let path = EXIT_PATH.lock().clone();
    if let (Some(path), Some(l)) = (path, global()) {
        match l.write_to(&path) {
            Ok(()) => crate::say!(
                Level::Info,
                "KOS_SHIM_POLICY_LEARN: learned policy ({} rules from {} messages) written to {path}",
                l.entries().len(),
                l.total()
            ),
            Err(e) => crate::say!(
                Level::Error,
                "KOS_SHIM_POLICY_LEARN: cannot write the learned policy to {path} ({e})"
            ),
        }
    }
}

/// Start learning for `KOS_SHIM_POLICY_LEARN=template`: claim the output now
/// (reported, and learning left off, if it cannot be written) and write the
/// learned policy there when the process exits.
pub(crate) fn start_with_exit_file(template: &str) {
    let Ok(path) = crate::outpath::claim(template, "KOS_SHIM_POLICY_LEARN") else {
        return;
    };
    start();
    let first = EXIT_PATH.lock().replace(path.clone()).is_none();
    if first && !sys::at_exit(write_at_exit) {
        crate::say!(
            Level::Error,
            "KOS_SHIM_POLICY_LEARN: cannot register the exit handler; {path} will stay empty"
        );
        return;
    }
    crate::say!(
        Level::Info,
        "KOS_SHIM_POLICY_LEARN: learning; the policy goes to {path} at exit"
    );
}
