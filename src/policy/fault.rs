//! Fault-injection rules (`fail`, `delay`): what they do, when one fires,
//! and their words in policy text.
//!
//! A fault rule never decides access: the allow/deny rules (first match)
//! decide first, and only a message they let through in enforce mode is
//! offered to the fault rules, in text order. Each fault rule counts the
//! messages it sees (its `n`, from 1); the first one whose trigger fires on
//! its `n`-th message injects its fault, and later fault rules do not see
//! that message. A name that expands into several rules
//! (see `resolve.rs`) counts as one fault rule: one `n`, one trigger.
//!
//! The trigger is exact and reproducible: `after=A` skips the first `A`
//! messages; `every=E` fires on every `E`-th of the rest; `p=P` fires with
//! probability `P`, decided by a counter-based generator
//! ([`draw`]: SplitMix64 of the seed, the rule's number and `n`), so the
//! `n`-th message of a rule gets the same answer in every run with the same
//! seed, whatever the threads' interleaving.

use core::fmt;
use core::sync::atomic::{AtomicU64, Ordering};

use super::rules::{Action, OpSet, Rule};
use super::store::Zero;
use crate::abi::{retcode_name, Retcode, RETCODE_NAMES};

/// `p=1`: parts per billion.
pub const CERTAIN: u32 = 1_000_000_000;

/// Longest `delay` a rule may ask for, in nanoseconds (60 s).
pub const MAX_DELAY_NS: u64 = 60_000_000_000;

/// Most fault rules one policy may hold (after name expansion).
#[cfg(feature = "clib")]
pub const MAX_FAULTS: usize = 1024;
/// Most fault rules one policy may hold (after name expansion).
#[cfg(not(feature = "clib"))]
pub const MAX_FAULTS: usize = 16;

/// What a fault rule does to a message it fires on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Return this code; the message never reaches the backend.
    Fail(Retcode),
    /// Wait this many nanoseconds, then forward (a CallEx timeout and sync
    /// object still apply: see `crate::fault`).
    Delay(u64),
}

/// One `fail` or `delay` line (one of its expansions, for a name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// Operations and matchers, as an allow/deny rule has them (its action
    /// is unused).
    pub when: Rule,
    /// What firing does.
    pub effect: Effect,
    /// Probability in parts per billion ([`CERTAIN`]: always).
    pub p: u32,
    /// Fire on every `every`-th message after `after` (0: every message).
    pub every: u64,
    /// Messages to let pass before the trigger may fire.
    pub after: u64,
    /// The fault rule this expansion belongs to: the index of its first
    /// expansion. Counters and the generator are per group.
    pub group: u32,
}

impl Zero for Fault {
    const ZERO: Self = Fault {
        when: Rule::new(Action::Allow, OpSet(0), 0),
        effect: Effect::Delay(0),
        p: CERTAIN,
        every: 0,
        after: 0,
        group: 0,
    };
}

/// SplitMix64's output function for the state `z` (Steele, Lea and Flood,
/// "Fast splittable pseudorandom number generators", 2014).
pub const fn splitmix64(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The random word for the `n`-th message of fault rule number `rule`
/// (0-based, in text order, counting a name's expansions once) under
/// `seed`: `splitmix64(splitmix64(seed ^ rule * 0xD1B54A32D192ED03) + n)`.
/// Depends on nothing else, so it is the same in every run.
pub const fn draw(seed: u64, rule: u32, n: u64) -> u64 {
    let key = splitmix64(seed ^ (rule as u64).wrapping_mul(0xD1B5_4A32_D192_ED03));
    splitmix64(key.wrapping_add(n))
}

/// Whether a draw `x` falls below probability `p` (parts per billion):
/// `x < floor(p * 2^64 / 10^9)`, always for [`CERTAIN`].
pub const fn below(x: u64, p: u32) -> bool {
    if p >= CERTAIN {
        return true;
    }
    let threshold = ((p as u128) << 64) / CERTAIN as u128;
    (x as u128) < threshold
}

impl Fault {
    /// Whether the trigger fires on the rule's `n`-th message (from 1);
    /// `rule` is the rule's number for [`draw`].
    pub fn fires(&self, seed: u64, rule: u32, n: u64) -> bool {
        if n <= self.after {
            return false;
        }
        if self.every > 1 && !(n - self.after).is_multiple_of(self.every) {
            return false;
        }
        below(draw(seed, rule, n), self.p)
    }

    /// The keyword of the rule in policy text.
    pub const fn key(&self) -> &'static str {
        match self.effect {
            Effect::Fail(_) => "fail",
            Effect::Delay(_) => "delay",
        }
    }
}

/// Canonical text (parses back to the same fault rule, with numbers for names).
impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.key())?;
        self.when.fmt_matchers(f)?;
        match self.effect {
            Effect::Fail(rc) => match retcode_name(rc) {
                Some(name) => write!(f, " rc={name}")?,
                None => write!(f, " rc={:#x}", rc as u32)?,
            },
            Effect::Delay(ns) => write!(f, " {}", Duration(ns))?,
        }
        if self.p != CERTAIN {
            write!(f, " p={}", Probability(self.p))?;
        }
        if self.every != 0 {
            write!(f, " every={}", self.every)?;
        }
        if self.after != 0 {
            write!(f, " after={}", self.after)?;
        }
        Ok(())
    }
}

/// A delay in the largest unit that states it exactly (`5ms`, `1500us`).
pub struct Duration(pub u64);

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        for (unit, scale) in [("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000)] {
            if ns != 0 && ns.is_multiple_of(scale) {
                return write!(f, "{}{unit}", ns / scale);
            }
        }
        write!(f, "{ns}ns")
    }
}

/// A probability in parts per billion as a decimal (`0.1`, `1`, `0`).
pub struct Probability(pub u32);

impl fmt::Display for Probability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.0;
        if p >= CERTAIN {
            return f.write_str("1");
        }
        if p == 0 {
            return f.write_str("0");
        }
        let mut digits = 9;
        let mut frac = p;
        while frac.is_multiple_of(10) {
            frac /= 10;
            digits -= 1;
        }
        write!(f, "0.{frac:0digits$}")
    }
}

/// A `rc=` value: an SDK return-code name or a number. rcOk is no failure.
pub(super) fn retcode(word: &str) -> Option<Retcode> {
    if word.starts_with(|c: char| c.is_ascii_digit()) {
        let (digits, radix) = match word.get(..2) {
            Some("0x") | Some("0X") => (&word[2..], 16),
            _ => (word, 10),
        };
        return u32::from_str_radix(digits, radix)
            .ok()
            .filter(|&v| v != 0 && !digits.starts_with('+'))
            .map(|v| v as Retcode);
    }
    RETCODE_NAMES
        .iter()
        .find(|(rc, name)| *name == word && *rc != crate::abi::rcOk)
        .map(|(rc, _)| *rc)
}

/// The names `rc=` takes, for error messages.
pub(super) struct RetcodeNames;

impl fmt::Display for RetcodeNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (rc, name) in RETCODE_NAMES.iter() {
            if *rc == crate::abi::rcOk {
                continue;
            }
            if !first {
                f.write_str(", ")?;
            }
            f.write_str(name)?;
            first = false;
        }
        Ok(())
    }
}

/// A `p=` value: a decimal in [0, 1] with at most 9 digits after the
/// point, in parts per billion. `None`: not such a number.
pub(super) fn probability(word: &str) -> Option<u32> {
    let (int, frac) = match word.split_once('.') {
        Some((i, f)) => (i, f),
        None => (word, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) || frac.len() > 9 {
        return None;
    }
    if word.ends_with('.') {
        return None;
    }
    let whole: u64 = int.parse().ok()?;
    let mut parts: u64 = 0;
    for (i, b) in frac.bytes().enumerate() {
        parts += u64::from(b - b'0') * 10u64.pow(8 - i as u32);
    }
    let v = whole.checked_mul(CERTAIN as u64)?.checked_add(parts)?;
    (v <= CERTAIN as u64).then_some(v as u32)
}

/// Why a delay word is not one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DurationError {
    /// No unit after the number (or an unknown one).
    Unit,
    /// Longer than [`MAX_DELAY_NS`].
    TooLong,
}

/// A delay word: digits and a unit `ns`, `us`, `ms` or `s`, in nanoseconds.
pub(super) fn duration(word: &str) -> Result<u64, DurationError> {
    let n = word.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return Err(DurationError::Unit);
    }
    let scale: u64 = match &word[n..] {
        "ns" => 1,
        "us" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        _ => return Err(DurationError::Unit),
    };
    let v: u64 = word[..n].parse().map_err(|_| DurationError::TooLong)?;
    let ns = v.checked_mul(scale).ok_or(DurationError::TooLong)?;
    if ns > MAX_DELAY_NS {
        return Err(DurationError::TooLong);
    }
    Ok(ns)
}

/// Per fault rule (group) counters of one policy: messages seen (the `n`
/// of the trigger) and faults injected. Shared atomics: the `n`-th message
/// must be one message, whichever thread sends it.
pub(crate) struct Counters {
    #[cfg(feature = "clib")]
    seen: alloc::vec::Vec<AtomicU64>,
    #[cfg(feature = "clib")]
    injected: alloc::vec::Vec<AtomicU64>,
    #[cfg(not(feature = "clib"))]
    seen: [AtomicU64; MAX_FAULTS],
    #[cfg(not(feature = "clib"))]
    injected: [AtomicU64; MAX_FAULTS],
    groups: usize,
}

impl fmt::Debug for Counters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Counters")
            .field("groups", &self.groups)
            .finish()
    }
}

impl Counters {
    /// No fault rules.
    pub(crate) const fn new() -> Counters {
        Counters {
            #[cfg(feature = "clib")]
            seen: alloc::vec::Vec::new(),
            #[cfg(feature = "clib")]
            injected: alloc::vec::Vec::new(),
            #[cfg(not(feature = "clib"))]
            seen: [const { AtomicU64::new(0) }; MAX_FAULTS],
            #[cfg(not(feature = "clib"))]
            injected: [const { AtomicU64::new(0) }; MAX_FAULTS],
            groups: 0,
        }
    }

    /// Zeroed counters for `groups` fault rules.
    pub(crate) fn reset(&mut self, groups: usize) {
        self.groups = groups.min(MAX_FAULTS);
        #[cfg(feature = "clib")]
        {
            self.seen = (0..self.groups).map(|_| AtomicU64::new(0)).collect();
            self.injected = (0..self.groups).map(|_| AtomicU64::new(0)).collect();
        }
        #[cfg(not(feature = "clib"))]
        for c in self.seen.iter().chain(self.injected.iter()) {
            c.store(0, Ordering::Relaxed);
        }
    }

    /// Count one more message seen by `group`: its `n`, from 1.
    pub(crate) fn see(&self, group: u32) -> u64 {
        self.seen
            .get(group as usize)
            .map_or(0, |c| c.fetch_add(1, Ordering::Relaxed) + 1)
    }

    /// Count a fault injected by `group`.
    pub(crate) fn inject(&self, group: u32) {
        if let Some(c) = self.injected.get(group as usize) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Messages `group` saw and faults it injected.
    pub(crate) fn get(&self, group: usize) -> (u64, u64) {
        if group >= self.groups {
            return (0, 0);
        }
        (
            self.seen[group].load(Ordering::Relaxed),
            self.injected[group].load(Ordering::Relaxed),
        )
    }
}
