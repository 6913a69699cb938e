//! The rule model: actions, operation sets, matchers, and the reference
//! (linear, first-match-wins) evaluation the compiled index must agree with.

use core::fmt;

use super::store::Zero;
use crate::call::{CallInfo, Verdict};
use crate::op::Op;

/// What a rule (or the default) does with a matching message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Let it through.
    Allow,
    /// Refuse it (Call/CallEx/Reply return rcSecurityDisallow; audit-only
    /// for Recv/RecvEx and in audit mode).
    Deny,
    /// Let it through and report the match.
    Log,
}

impl Action {
    /// The keyword in policy text.
    pub const fn key(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Deny => "deny",
            Action::Log => "log",
        }
    }
}

/// Whether denials take effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Denials take effect.
    Enforce,
    /// Decisions are computed and counted; nothing is denied.
    Audit,
}

/// The operation classes rules name: `call` (Call, CallEx), `recv` (Recv,
/// RecvEx) and `reply` (Reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// Call and CallEx.
    Call = 0,
    /// Recv and RecvEx.
    Recv = 1,
    /// Reply.
    Reply = 2,
}

impl Class {
    /// All classes, in index order.
    pub const ALL: [Class; 3] = [Class::Call, Class::Recv, Class::Reply];

    /// The class `op` belongs to.
    pub const fn of(op: Op) -> Class {
        match op {
            Op::Call | Op::CallEx => Class::Call,
            Op::Recv | Op::RecvEx => Class::Recv,
            Op::Reply => Class::Reply,
        }
    }

    /// The keyword in policy text.
    pub const fn key(self) -> &'static str {
        match self {
            Class::Call => "call",
            Class::Recv => "recv",
            Class::Reply => "reply",
        }
    }

    /// The class with this index.
    pub const fn from_index(i: usize) -> Option<Class> {
        match i {
            0 => Some(Class::Call),
            1 => Some(Class::Recv),
            2 => Some(Class::Reply),
            _ => None,
        }
    }
}

/// A set of operation classes (bit `1 << Class as u8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OpSet(pub u8);

impl OpSet {
    /// Every class (`any`).
    pub const ANY: OpSet = OpSet(0b111);

    /// The set holding only `c`.
    pub const fn only(c: Class) -> OpSet {
        OpSet(1 << c as u8)
    }

    /// Whether `c` is in the set.
    pub const fn contains(self, c: Class) -> bool {
        self.0 & (1 << c as u8) != 0
    }
}

impl fmt::Display for OpSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == OpSet::ANY {
            return f.write_str("any");
        }
        let mut first = true;
        for c in Class::ALL {
            if self.contains(c) {
                if !first {
                    f.write_str(",")?;
                }
                f.write_str(c.key())?;
                first = false;
            }
        }
        Ok(())
    }
}

/// An inclusive interval `lo..=hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Smallest value inside.
    pub lo: u64,
    /// Largest value inside.
    pub hi: u64,
}

impl Span {
    /// Every 16-bit id.
    pub const ALL16: Span = Span { lo: 0, hi: 0xFFFF };
    /// Every size.
    pub const ALL64: Span = Span {
        lo: 0,
        hi: u64::MAX,
    };

    /// Whether `v` is inside.
    #[inline]
    pub const fn contains(self, v: u64) -> bool {
        self.lo <= v && v <= self.hi
    }
}

/// One `allow`/`deny`/`log` line, compiled to matchers. Every matcher must
/// hold for the rule to match; absent matchers hold for every message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// What a match does.
    pub action: Action,
    /// Operation classes the rule applies to.
    pub ops: OpSet,
    /// `handle=N`.
    pub handle: Option<u32>,
    /// `iid=N` / `iid=A..B` (all ids when absent).
    pub iid: Span,
    /// `mid=N` / `mid=A..B`.
    pub mid: Span,
    /// `bytes…` comparisons: constant part plus arena.
    pub bytes: Span,
    /// `arena…` comparisons: arena alone.
    pub arena: Span,
    /// `ncaps=N`.
    pub ncaps: Option<u16>,
    /// Line of the rule in its text (1-based).
    pub line: u32,
}

impl Zero for Rule {
    const ZERO: Self = Rule::new(Action::Allow, OpSet::ANY, 0);
}

impl Rule {
    /// A rule matching every message of `ops`.
    pub const fn new(action: Action, ops: OpSet, line: u32) -> Rule {
        Rule {
            action,
            ops,
            handle: None,
            iid: Span::ALL16,
            mid: Span::ALL16,
            bytes: Span::ALL64,
            arena: Span::ALL64,
            ncaps: None,
            line,
        }
    }

    /// Whether the rule has matchers beyond the operation, iid and mid.
    pub fn has_residual(&self) -> bool {
        self.handle.is_some() || self.has_size_matchers()
    }

    /// Whether the rule has `bytes`, `arena` or `ncaps` matchers (the ones
    /// the compiled index checks per candidate instead of looking up).
    pub fn has_size_matchers(&self) -> bool {
        self.bytes != Span::ALL64 || self.arena != Span::ALL64 || self.ncaps.is_some()
    }

    /// The `bytes`, `arena` and `ncaps` matchers.
    #[inline]
    pub fn size_matches(&self, k: &Key) -> bool {
        self.bytes.contains(k.bytes)
            && self.arena.contains(k.arena)
            && self.ncaps.is_none_or(|n| n == k.ncaps)
    }

    /// Whether the rule matches `k` (the reference semantics).
    pub fn matches(&self, k: &Key) -> bool {
        self.ops.contains(k.class)
            && self.iid.contains(k.iid as u64)
            && self.mid.contains(k.mid as u64)
            && self.handle.is_none_or(|h| h == k.handle)
            && self.size_matches(k)
    }
}

fn fmt_span(f: &mut fmt::Formatter<'_>, name: &str, s: Span) -> fmt::Result {
    if s.lo == s.hi {
        write!(f, " {name}={}", s.lo)
    } else {
        write!(f, " {name}={}..{}", s.lo, s.hi)
    }
}

fn fmt_size(f: &mut fmt::Formatter<'_>, name: &str, s: Span) -> fmt::Result {
    if s.lo > 0 {
        write!(f, " {name}>={}", s.lo)?;
    }
    if s.hi < u64::MAX {
        write!(f, " {name}<={}", s.hi)?;
    }
    Ok(())
}

/// Canonical policy text of the rule (parses back to the same rule). Ids
/// are always numbers: names in the text were resolved when it was parsed.
impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.action.key())?;
        self.fmt_matchers(f)
    }
}

impl Rule {
    /// The rule's text after the action: operations and matchers.
    pub fn fmt_matchers(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.ops)?;
        if let Some(h) = self.handle {
            write!(f, " handle={h}")?;
        }
        if self.iid != Span::ALL16 {
            fmt_span(f, "iid", self.iid)?;
        }
        if self.mid != Span::ALL16 {
            fmt_span(f, "mid", self.mid)?;
        }
        fmt_size(f, "bytes", self.bytes)?;
        fmt_size(f, "arena", self.arena)?;
        if let Some(n) = self.ncaps {
            write!(f, " ncaps={n}")?;
        }
        Ok(())
    }
}

/// What a decision looks at: the operation class and the message's facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Operation class.
    pub class: Class,
    /// IPC handle of the call.
    pub handle: u32,
    /// Interface id.
    pub iid: u16,
    /// Method id.
    pub mid: u16,
    /// Constant part plus arena, in bytes.
    pub bytes: u64,
    /// Arena bytes.
    pub arena: u64,
    /// Handles carried.
    pub ncaps: u16,
}

impl Key {
    /// The key of `info`'s message ([`CallInfo::message`]).
    #[inline]
    pub fn of(info: &CallInfo) -> Key {
        let m = info.message();
        Key {
            class: Class::of(info.op),
            handle: info.handle,
            iid: m.iid,
            mid: m.mid,
            bytes: m.total_size(),
            arena: m.arena_size as u64,
            ncaps: m.ncaps,
        }
    }
}

/// The verdict an action gives for `class` under `mode`: a denial becomes
/// [`Verdict::AuditDeny`] in audit mode and for receives (the kernel has no
/// deny path for Recv/RecvEx).
#[inline]
pub const fn verdict_of(action: Action, mode: Mode, class: Class) -> Verdict {
    match action {
        Action::Allow => Verdict::Allow,
        Action::Log => Verdict::Log,
        Action::Deny => match (mode, class) {
            (Mode::Enforce, Class::Call | Class::Reply) => Verdict::Deny,
            _ => Verdict::AuditDeny,
        },
    }
}
