//! Which methods are traced: `KOS_SHIM_TRACE_FILTER` (feature `clib`).
//!
//! A comma-separated list of glob patterns (`*` any run of characters, `?`
//! one character); a pattern starting with `!` excludes. With at least one
//! include pattern a call is traced when its method matches an include and
//! no exclude; with excludes only, when it matches no exclude (fidlcat's
//! `--messages` / `--exclude-messages`). A method matches a pattern when any
//! of its names does: the full name as traces show it
//! (`Server.main:Echo.Ping`), `Interface.Method` (`Echo.Ping`, and with the
//! package, `demo.Echo.Ping`), `Entity.endpoint.Method` (`Server.main.Ping`)
//! and the numbers `iid.mid` (`0.1`), names from the process's name map
//! ([`crate::names::global`]). Calls that carry no message (a receive that
//! failed) are always traced.
//!
//! The decision is taken before a record is pushed, so a filtered call costs
//! no ring space. It is made once per (iid, mid) and remembered in a small
//! lock-free table; matching formats names into a stack buffer: nothing is
//! allocated on the call path.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::names::NameMap;

/// The parsed filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    include: Vec<String>,
    exclude: Vec<String>,
}

impl Filter {
    /// Parse the variable's value; an empty pattern is an error naming its
    /// position (1-based) in the list.
    pub fn parse(spec: &str) -> Result<Filter, String> {
        let mut f = Filter {
            include: Vec::new(),
            exclude: Vec::new(),
        };
        for (i, raw) in spec.split(',').enumerate() {
            let p = raw.trim();
            let (list, pat) = match p.strip_prefix('!') {
                Some(rest) => (&mut f.exclude, rest.trim()),
                None => (&mut f.include, p),
            };
            if pat.is_empty() {
                return Err(alloc::format!(
                    "pattern {} is empty (expected e.g. \"Echo.*,!Echo.Ping\")",
                    i + 1
                ));
            }
            list.push(String::from(pat));
        }
        Ok(f)
    }

    /// Whether method (`iid`, `mid`) is traced, its names taken from `names`.
    pub fn keeps(&self, names: &NameMap, iid: u16, mid: u16) -> bool {
        let hit = |list: &[String]| list.iter().any(|p| matches_any(p, names, iid, mid));
        (self.include.is_empty() || hit(&self.include)) && !hit(&self.exclude)
    }
}

/// A fixed buffer that formatted text goes into; what does not fit is cut
/// (and a cut name never matches, see [`Name::get`]).
struct Name {
    buf: [u8; 192],
    len: usize,
    cut: bool,
}

impl Name {
    fn of(args: fmt::Arguments<'_>) -> Name {
        let mut n = Name {
            buf: [0; 192],
            len: 0,
            cut: false,
        };
        let _ = n.write_fmt(args);
        n
    }

    fn get(&self) -> Option<&[u8]> {
        (!self.cut).then_some(&self.buf[..self.len])
    }
}

impl Write for Name {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let b = s.as_bytes();
        if self.len + b.len() > self.buf.len() {
            self.cut = true;
            return Err(fmt::Error);
        }
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
        Ok(())
    }
}

/// Whether any name of the method matches `pat`.
fn matches_any(pat: &str, names: &NameMap, iid: u16, mid: u16) -> bool {
    let p = pat.as_bytes();
    let test = |n: Name| n.get().is_some_and(|t| glob(p, t));
    let m = names.method(iid, mid);
    if test(Name::of(format_args!("{m}"))) || test(Name::of(format_args!("{iid}.{mid}"))) {
        return true;
    }
    let method = m.method();
    let mid_text = Name::of(format_args!("{mid}"));
    let method_str = match method {
        Some(s) => s,
        None => core::str::from_utf8(mid_text.get().unwrap_or(b"")).unwrap_or(""),
    };
    if let Some(i) = m.interface() {
        if test(Name::of(format_args!("{}.{method_str}", i.short_name())))
            || test(Name::of(format_args!("{}.{method_str}", i.name)))
        {
            return true;
        }
    }
    match m.endpoint() {
        Some(e) => test(Name::of(format_args!("{e}.{method_str}"))),
        None => false,
    }
}

/// Glob match of `text` against `pat` (`*` any run, `?` one byte),
/// iterative with one backtrack point: linear in practice, never recursive.
pub fn glob(pat: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pat[p.min(pat.len())..].iter().all(|&c| c == b'*')
}

static ON: AtomicBool = AtomicBool::new(false);
static FILTER: spin::Once<Filter> = spin::Once::new();
/// Remembered decisions: `(key + 1) << 1 | kept`, key = iid << 16 | mid;
/// 0 is an empty slot.
static MEMO: [AtomicU64; MEMO_SLOTS] = [const { AtomicU64::new(0) }; MEMO_SLOTS];
const MEMO_SLOTS: usize = 1024;
const PROBES: usize = 8;

/// Read `KOS_SHIM_TRACE_FILTER` (once, with the rest of the trace
/// configuration). Each malformed pattern is said on stderr and left out;
/// the others apply. With none left, every method is traced, as if unset.
pub(crate) fn configure_from_env() {
    let Some(spec) = crate::sys::env("KOS_SHIM_TRACE_FILTER") else {
        return;
    };
    if spec.trim().is_empty() {
        return;
    }
    let mut good = String::new();
    let mut bad = Vec::new();
    for (i, pattern) in spec.split(',').enumerate() {
        match Filter::parse(pattern) {
            Ok(_) => {
                if !good.is_empty() {
                    good.push(',');
                }
                good.push_str(pattern.trim());
            }
            // The error counts from 1 within the one pattern: name its
            // place in the whole list instead.
            Err(why) => {
                bad.push(why.replacen("pattern 1 ", &alloc::format!("pattern {} ", i + 1), 1))
            }
        }
    }
    for why in &bad {
        if good.is_empty() {
            crate::say!(
                crate::say::Level::Error,
                "KOS_SHIM_TRACE_FILTER={spec:?}: {why}; every method is traced"
            );
        } else {
            crate::say!(
                crate::say::Level::Error,
                "KOS_SHIM_TRACE_FILTER={spec:?}: {why}; left out, the filter is {good:?}"
            );
        }
    }
    if good.is_empty() {
        return;
    }
    match Filter::parse(&good) {
        Ok(f) => {
            // Load the names now, not on the first traced call.
            let _ = crate::names::global();
            FILTER.call_once(|| f);
            ON.store(true, Ordering::Release);
        }
        // Every pattern parsed alone; the list of them cannot fail.
        Err(why) => crate::say!(
            crate::say::Level::Error,
            "KOS_SHIM_TRACE_FILTER={spec:?}: {why}; every method is traced"
        ),
    }
}

/// Whether a call on method (`iid`, `mid`) is traced. One load when no
/// filter is set.
#[inline]
pub(crate) fn keeps(iid: u16, mid: u16) -> bool {
    if !ON.load(Ordering::Acquire) {
        return true;
    }
    keeps_slow(iid, mid)
}

#[cold]
fn keeps_slow(iid: u16, mid: u16) -> bool {
    let key = (u64::from(iid) << 16 | u64::from(mid)) + 1;
    let start = (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 54) as usize;
    for i in 0..PROBES {
        let slot = &MEMO[(start + i) % MEMO_SLOTS];
        let v = slot.load(Ordering::Acquire);
        if v >> 1 == key {
            return v & 1 == 1;
        }
        if v == 0 {
            let kept = decide(iid, mid);
            // Lost races only mean the decision is taken again later.
            let _ = slot.compare_exchange(
                0,
                key << 1 | u64::from(kept),
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            return kept;
        }
    }
    decide(iid, mid)
}

fn decide(iid: u16, mid: u16) -> bool {
    match FILTER.get() {
        Some(f) => f.keeps(crate::names::global(), iid, mid),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_runs_and_single_characters() {
        assert!(glob(b"Echo.*", b"Echo.Ping"));
        assert!(glob(b"*", b""));
        assert!(glob(b"*.Ping", b"Server.main:Echo.Ping"));
        assert!(glob(b"E?ho.P*g", b"Echo.Ping"));
        assert!(glob(b"*a*b*c", b"xxaxxbxxbc"));
        assert!(!glob(b"Echo.*", b"Echoes.Ping"));
        assert!(!glob(b"Echo.Ping", b"Echo.Pin"));
        assert!(!glob(b"Echo", b"Echo.Ping"));
        assert!(!glob(b"?", b""));
    }

    #[test]
    fn includes_and_excludes_like_fidlcat() {
        let names = NameMap::from_schema(crate::names::tests::demo_schema());
        let f = Filter::parse("Echo.*, !Echo.Ping").unwrap();
        // RIIDs 0 and 2 serve demo.Echo (Echo, Ping); 1 serves demo.Store.
        assert!(f.keeps(&names, 0, 0));
        assert!(!f.keeps(&names, 0, 1));
        assert!(f.keeps(&names, 2, 0));
        assert!(!f.keeps(&names, 2, 1));
        assert!(!f.keeps(&names, 1, 0));
        let only_out = Filter::parse("!Server.db.*").unwrap();
        assert!(only_out.keeps(&names, 0, 1));
        assert!(!only_out.keeps(&names, 1, 1));
        assert!(!only_out.keeps(&names, 2, 0));
        let by_number = Filter::parse("1.*,demo.Echo.Ping").unwrap();
        assert!(by_number.keeps(&names, 1, 0));
        assert!(by_number.keeps(&names, 2, 1));
        assert!(!by_number.keeps(&names, 0, 0));
        // Methods the map does not know match by number only.
        assert!(by_number.keeps(&names, 1, 99));
        assert!(Filter::parse("Server.main:Echo.Echo")
            .unwrap()
            .keeps(&names, 0, 0));
    }

    #[test]
    fn empty_patterns_are_errors() {
        assert_eq!(
            Filter::parse("Echo.*,,x").unwrap_err(),
            "pattern 2 is empty (expected e.g. \"Echo.*,!Echo.Ping\")"
        );
        assert!(Filter::parse("!").is_err());
    }
}
