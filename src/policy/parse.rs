//! Hand-written, line-based parser of the policy language (see
//! docs/policy.md, "The language"). Errors name the line and column (1-based, in
//! characters) and what was expected; they are plain values (no allocation),
//! so the parser also runs without `std`. Names (`iid=Server.main`,
//! `Echo.Ping`) are collected per line and resolved by [`super::resolve`].

use core::fmt;

use super::fault::{self, DurationError, Effect, Fault, RetcodeNames, CERTAIN, MAX_FAULTS};
use super::resolve::{self, Names};
use super::rules::{Action, Class, Mode, OpSet, Rule, Span};
use super::Policy;

/// A short copy of the offending text, for error messages: at most `N`
/// bytes (24 unless said otherwise), cut at a character boundary.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Snippet<const N: usize = 24> {
    buf: [u8; N],
    len: u8,
    cut: bool,
}

impl<const N: usize> Snippet<N> {
    /// The first `N` bytes of `s` (marked as cut when `s` is longer).
    pub(super) fn of(s: &str) -> Snippet<N> {
        const { assert!(N <= u8::MAX as usize) };
        let mut end = s.len().min(N);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        let mut buf = [0u8; N];
        buf[..end].copy_from_slice(&s.as_bytes()[..end]);
        Snippet {
            buf,
            len: end as u8,
            cut: end < s.len(),
        }
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.buf[..self.len as usize]).unwrap_or("")
    }
}

impl<const N: usize> fmt::Display for Snippet<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())?;
        if self.cut {
            f.write_str("...")?;
        }
        Ok(())
    }
}

impl<const N: usize> fmt::Debug for Snippet<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

/// Room for the list of known names in [`ErrorKind::UnknownName`].
const KNOWN_HINT: usize = 64;
/// Room for the interface's name in [`ErrorKind::UnknownMethod`].
const IFACE_NAME: usize = 32;
/// Room for the list of methods in [`ErrorKind::UnknownMethod`].
const METHODS_HINT: usize = 48;

/// What went wrong, without the position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A line starts with something other than a statement keyword.
    UnknownStatement(Snippet),
    /// `mode` without `enforce`/`audit`.
    ExpectedMode,
    /// `default` without `allow`/`deny`.
    ExpectedDefault,
    /// An action keyword without an operation, or an empty item in a list.
    ExpectedOperation(&'static str),
    /// An operation name that does not exist.
    UnknownOperation(Snippet),
    /// `deny recv`: the kernel never denies a receive.
    DenyRecv,
    /// A number is missing after the text named.
    ExpectedNumber(&'static str),
    /// A number is larger than the matcher allows.
    NumberTooLarge(&'static str, u64),
    /// Text right after a number.
    TrailingText(Snippet),
    /// `A..B` with `A > B`.
    EmptyRange(u64, u64),
    /// Size comparisons that no message can satisfy.
    NeverMatches(&'static str),
    /// The same matcher twice in one rule.
    DuplicateMatcher(&'static str),
    /// `bytes`/`arena` without a comparison operator.
    ExpectedComparison(&'static str),
    /// A matcher name that does not exist.
    UnknownMatcher(Snippet),
    /// Extra words after a complete `mode`/`default` statement.
    UnexpectedText(Snippet),
    /// A second `mode` or `default` statement (the first one's line).
    DuplicateStatement(&'static str, u32),
    /// More rules than the build's table holds.
    TooManyRules(usize),
    /// A name stands for more rules than the build's table has room for:
    /// the name, the rules it adds, the table's size.
    TooManyExpanded(Snippet, usize, usize),
    /// A name, but no interface descriptions are loaded.
    NamesNeedDescriptions,
    /// A name in the bare core, which has no name map.
    NamesNeedClib,
    /// An endpoint or interface name that the descriptions do not have,
    /// and a few names they do have.
    UnknownName(Snippet, Snippet<KNOWN_HINT>),
    /// A method that the interface does not have: the interface, the
    /// method, and the interface's methods.
    UnknownMethod(Snippet<IFACE_NAME>, Snippet, Snippet<METHODS_HINT>),
    /// `mid=NAME` in a rule without `iid=` (the method name is looked up in
    /// the iid's interface).
    MidNameNeedsIid(Snippet),
    /// A word that is no matcher and, having no dot, no method name either.
    MethodNeedsDot(Snippet),
    /// A method name in a rule that also has `iid=` or `mid=`.
    MethodWithIds(Snippet),
    /// The text is not UTF-8 (C API).
    InvalidUtf8,
    /// A fault rule (`fail`, `delay`) names `recv` or `any`.
    FaultOnRecv(&'static str),
    /// `fail` without `rc=`.
    ExpectedRetcode,
    /// An `rc=` value that is no return code other than rcOk.
    UnknownRetcode(Snippet),
    /// A `p=` value that is no number from 0 to 1.
    ExpectedProbability,
    /// `delay` without a duration.
    ExpectedDelay,
    /// A duration without a known unit.
    DelayUnit(Snippet),
    /// A duration past [`fault::MAX_DELAY_NS`].
    DelayTooLong,
    /// A fault word on the other kind of fault rule (`rc=` on `delay`, a
    /// duration on `fail`): the word and the rule's keyword.
    NotForThisRule(Snippet, &'static str),
    /// Fault rules in a policy in audit mode (the `mode` line).
    FaultsNeedEnforce(u32),
    /// More fault rules than the build holds.
    TooManyFaults(usize),
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::UnknownStatement(s) => write!(
                f,
                "unknown statement '{s}' (expected allow, deny, log, fail, delay, mode or default)"
            ),
            ErrorKind::ExpectedMode => f.write_str("expected 'enforce' or 'audit' after 'mode'"),
            ErrorKind::ExpectedDefault => f.write_str("expected 'allow' or 'deny' after 'default'"),
            ErrorKind::ExpectedOperation(after) => write!(
                f,
                "expected an operation (call, recv, reply or any) after '{after}'"
            ),
            ErrorKind::UnknownOperation(s) => write!(
                f,
                "unknown operation '{s}' (expected call, recv, reply or any)"
            ),
            ErrorKind::DenyRecv => f.write_str(
                "'deny recv' is not allowed: the kernel has no deny path for Recv/RecvEx (use log, or deny the sender's call)",
            ),
            ErrorKind::ExpectedNumber(after) => write!(f, "expected a number after '{after}'"),
            ErrorKind::NumberTooLarge(what, max) => {
                write!(f, "number too large after '{what}' (at most {max})")
            }
            ErrorKind::TrailingText(s) => write!(f, "unexpected '{s}' after the number"),
            ErrorKind::EmptyRange(a, b) => {
                write!(f, "empty range {a}..{b}: the start is greater than the end")
            }
            ErrorKind::NeverMatches(what) => {
                write!(f, "the '{what}' conditions of this rule can never hold")
            }
            ErrorKind::DuplicateMatcher(what) => write!(f, "duplicate matcher '{what}' in one rule"),
            ErrorKind::ExpectedComparison(what) => {
                write!(f, "expected '<', '<=', '>' or '>=' after '{what}'")
            }
            ErrorKind::UnknownMatcher(s) => write!(
                f,
                "unknown matcher '{s}' (expected handle=, iid=, mid=, bytes<>, arena<> or ncaps=)"
            ),
            ErrorKind::UnexpectedText(s) => write!(f, "unexpected '{s}' at the end of the statement"),
            ErrorKind::DuplicateStatement(what, first) => {
                write!(f, "duplicate '{what}' statement (the first is on line {first})")
            }
            ErrorKind::TooManyRules(max) => write!(f, "too many rules (this build holds {max})"),
            ErrorKind::TooManyExpanded(name, n, max) => write!(
                f,
                "too many rules: '{name}' adds {n} rules, past the {max} this build holds"
            ),
            ErrorKind::NamesNeedDescriptions => f.write_str(
                "names need interface descriptions: set KOS_SHIM_EDL (and KOS_SHIM_IDL_PATH) or KOS_SHIM_NAMES",
            ),
            ErrorKind::NamesNeedClib => f.write_str(
                "names need the C-library build (feature clib); this build takes numbers only",
            ),
            ErrorKind::UnknownName(name, known) => {
                write!(f, "unknown endpoint or interface '{name}' (known: {known})")
            }
            ErrorKind::UnknownMethod(iface, name, methods) => write!(
                f,
                "interface {iface} has no method '{name}' (methods: {methods})"
            ),
            ErrorKind::MidNameNeedsIid(name) => write!(
                f,
                "'mid={name}' needs an 'iid=' in the same rule: the method is looked up in its interface"
            ),
            ErrorKind::MethodNeedsDot(s) => write!(
                f,
                "method name '{s}' has no dot: expected Interface.Method or Entity.endpoint.Method \
                 (or a matcher: handle=, iid=, mid=, bytes<>, arena<>, ncaps=)"
            ),
            ErrorKind::MethodWithIds(s) => write!(
                f,
                "method name '{s}' and iid=/mid= in one rule: use one or the other"
            ),
            ErrorKind::InvalidUtf8 => f.write_str("the policy text is not valid UTF-8"),
            ErrorKind::FaultOnRecv(what) => write!(
                f,
                "'{what}' applies to call and reply only: a request already received cannot be \
                 failed or held without leaving its client waiting (fault the client's call instead)"
            ),
            ErrorKind::ExpectedRetcode => f.write_str(
                "'fail' needs rc=CODE: the return code the call gets (e.g. rc=rcTimeout)",
            ),
            ErrorKind::UnknownRetcode(s) => write!(
                f,
                "unknown return code '{s}' (expected a non-zero number or one of {RetcodeNames})"
            ),
            ErrorKind::ExpectedProbability => f.write_str(
                "expected a probability from 0 to 1 after 'p=' (at most 9 decimals, e.g. p=0.01)",
            ),
            ErrorKind::ExpectedDelay => {
                f.write_str("'delay' needs a duration (e.g. 5ms; units ns, us, ms, s)")
            }
            ErrorKind::DelayUnit(s) => write!(
                f,
                "expected a duration with a unit ns, us, ms or s, not '{s}'"
            ),
            ErrorKind::DelayTooLong => write!(
                f,
                "delay too long (at most {})",
                fault::Duration(fault::MAX_DELAY_NS)
            ),
            ErrorKind::NotForThisRule(s, kind) => {
                write!(f, "'{s}' does not belong in a '{kind}' rule")
            }
            ErrorKind::FaultsNeedEnforce(line) => write!(
                f,
                "fault rules need enforce mode ('mode audit' on line {line} never changes a call)"
            ),
            ErrorKind::TooManyFaults(max) => {
                write!(f, "too many fault rules (this build holds {max})")
            }
        }
    }
}

/// A load error: where (line and column, 1-based) and what.
///
/// Displays as `policy:LINE:COL: MESSAGE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyError {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub col: u32,
    /// What was wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "policy:{}:{}: {}", self.line, self.col, self.kind)
    }
}

impl core::error::Error for PolicyError {}

impl PolicyError {
    /// The error for bytes that are not UTF-8: the position of the first bad byte.
    pub fn invalid_utf8(text: &[u8]) -> Option<PolicyError> {
        let e = core::str::from_utf8(text).err()?;
        let good = &text[..e.valid_up_to()];
        let line_start = good.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        let line = good.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        // The prefix is valid UTF-8, so this always succeeds.
        let col = core::str::from_utf8(&good[line_start..]).map_or(0, |s| s.chars().count());
        Some(PolicyError {
            line,
            col: col as u32 + 1,
            kind: ErrorKind::InvalidUtf8,
        })
    }
}

/// One whitespace-separated word of a line (or a part of one) and its column.
#[derive(Clone, Copy)]
pub(super) struct Tok<'a> {
    pub(super) text: &'a str,
    pub(super) col: u32,
}

/// Words of `line` (comment already removed).
fn words(line: &str) -> impl Iterator<Item = Tok<'_>> {
    let mut col = 0u32;
    let mut start: Option<(usize, u32)> = None;
    let mut chars = line
        .char_indices()
        .chain(core::iter::once((line.len(), ' ')));
    core::iter::from_fn(move || {
        for (i, c) in chars.by_ref() {
            col += 1;
            if c.is_whitespace() {
                if let Some((s, scol)) = start.take() {
                    return Some(Tok {
                        text: &line[s..i],
                        col: scol,
                    });
                }
            } else if start.is_none() {
                start = Some((i, col));
            }
        }
        None
    })
}

/// Column of byte offset `off` within token `t`.
pub(super) fn col_at(t: Tok<'_>, off: usize) -> u32 {
    t.col + t.text[..off].chars().count() as u32
}

pub(super) struct Cx {
    line: u32,
}

impl Cx {
    pub(super) fn err(&self, col: u32, kind: ErrorKind) -> PolicyError {
        PolicyError {
            line: self.line,
            col,
            kind,
        }
    }
}

/// Parse a number (decimal or `0x` hex) at the start of `s`: the value and
/// the bytes used, or `None` when there are no digits. Values past `u64`
/// saturate to `u64::MAX` (every caller's maximum is below it or equal).
fn number(s: &str) -> Option<(u64, usize, bool)> {
    let (digits, radix, skip) = match s.get(..2) {
        Some("0x") | Some("0X") => (&s[2..], 16, 2),
        _ => (s, 10, 0),
    };
    let n = digits
        .bytes()
        .take_while(|b| (*b as char).is_digit(radix))
        .count();
    if n == 0 {
        return None;
    }
    let mut v: u64 = 0;
    let mut overflow = false;
    for b in digits[..n].bytes() {
        let d = (b as char).to_digit(radix).unwrap_or(0) as u64;
        match v.checked_mul(radix as u64).and_then(|x| x.checked_add(d)) {
            Some(x) => v = x,
            None => overflow = true,
        }
    }
    Some((v, skip + n, overflow))
}

/// Parse a number at byte `off` of token `t` (the whole rest must be used
/// unless `allow_range` and `..` follows). Returns the value and the end offset.
fn num_at(
    cx: &Cx,
    t: Tok<'_>,
    off: usize,
    after: &'static str,
    max: u64,
) -> Result<(u64, usize), PolicyError> {
    let rest = &t.text[off..];
    let Some((v, used, overflow)) = number(rest) else {
        return Err(cx.err(col_at(t, off), ErrorKind::ExpectedNumber(after)));
    };
    if overflow || v > max {
        return Err(cx.err(col_at(t, off), ErrorKind::NumberTooLarge(after, max)));
    }
    Ok((v, off + used))
}

fn end_of_token(cx: &Cx, t: Tok<'_>, off: usize) -> Result<(), PolicyError> {
    if off < t.text.len() {
        return Err(cx.err(
            col_at(t, off),
            ErrorKind::TrailingText(Snippet::of(&t.text[off..])),
        ));
    }
    Ok(())
}

/// `N` or `A..B` from byte `off` to the end of the token.
fn span_at(cx: &Cx, t: Tok<'_>, off: usize, name: &'static str) -> Result<Span, PolicyError> {
    let (lo, end) = num_at(cx, t, off, name, 0xFFFF)?;
    if t.text[end..].starts_with("..") {
        let (hi, end2) = num_at(cx, t, end + 2, "..", 0xFFFF)?;
        end_of_token(cx, t, end2)?;
        if lo > hi {
            return Err(cx.err(col_at(t, off), ErrorKind::EmptyRange(lo, hi)));
        }
        return Ok(Span { lo, hi });
    }
    end_of_token(cx, t, end)?;
    Ok(Span { lo, hi: lo })
}

/// `<N`, `<=N`, `>N`, `>=N` after the name, narrowing `span`.
fn compare_at(cx: &Cx, t: Tok<'_>, name: &'static str, span: &mut Span) -> Result<(), PolicyError> {
    let off = name.len();
    let rest = &t.text[off..];
    let (op, len, after): (u8, usize, &'static str) = if rest.starts_with("<=") {
        (
            b'l',
            2,
            if name == "bytes" {
                "bytes<="
            } else {
                "arena<="
            },
        )
    } else if rest.starts_with(">=") {
        (
            b'g',
            2,
            if name == "bytes" {
                "bytes>="
            } else {
                "arena>="
            },
        )
    } else if rest.starts_with('<') {
        (b'<', 1, if name == "bytes" { "bytes<" } else { "arena<" })
    } else if rest.starts_with('>') {
        (b'>', 1, if name == "bytes" { "bytes>" } else { "arena>" })
    } else {
        return Err(cx.err(col_at(t, off), ErrorKind::ExpectedComparison(name)));
    };
    let (n, end) = num_at(cx, t, off + len, after, u64::MAX)?;
    end_of_token(cx, t, end)?;
    let (lo, hi) = match op {
        b'l' => (0, Some(n)),
        b'g' => (n, Some(u64::MAX)),
        b'<' => (0, n.checked_sub(1)),
        _ => (
            n.saturating_add(1),
            if n == u64::MAX { None } else { Some(u64::MAX) },
        ),
    };
    let never = cx.err(t.col, ErrorKind::NeverMatches(name));
    let hi = hi.ok_or(never)?;
    span.lo = span.lo.max(lo);
    span.hi = span.hi.min(hi);
    if span.lo > span.hi {
        return Err(never);
    }
    Ok(())
}

/// The names a rule uses, resolved once the whole line is read
/// ([`super::resolve`]).
#[derive(Clone, Copy, Default)]
pub(super) struct Named<'a> {
    /// The name after `iid=`.
    pub(super) iid: Option<Tok<'a>>,
    /// The name after `mid=`.
    pub(super) mid: Option<Tok<'a>>,
    /// A method word (`Interface.Method`, `Entity.endpoint.Method`).
    pub(super) method: Option<Tok<'a>>,
}

impl Named<'_> {
    /// Whether the rule uses any name.
    pub(super) fn any(&self) -> bool {
        self.iid.is_some() || self.mid.is_some() || self.method.is_some()
    }

    /// Column of the rule's first name.
    pub(super) fn first_col(&self) -> u32 {
        [self.iid, self.mid, self.method]
            .into_iter()
            .flatten()
            .map(|t| t.col)
            .min()
            .unwrap_or(1)
    }
}

/// Whether `s` starts like a name rather than a number: names start with
/// a letter or `_` (as in the name map and the IDL), numbers with a digit.
fn is_name_start(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
}

/// Whether a word is shaped like a method name (the name map's characters).
fn is_method_word(s: &str) -> bool {
    is_name_start(s)
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.:-/".contains(c))
}

/// The part of token `t` from byte `off` on, as a token of its own.
fn rest_of<'a>(t: Tok<'a>, off: usize) -> Tok<'a> {
    Tok {
        text: &t.text[off..],
        col: col_at(t, off),
    }
}

const HANDLE: u8 = 1;
const IID: u8 = 2;
const MID: u8 = 4;
const NCAPS: u8 = 8;
const METHOD: u8 = 16;

fn matcher<'a>(
    cx: &Cx,
    t: Tok<'a>,
    rule: &mut Rule,
    named: &mut Named<'a>,
    seen: &mut u8,
) -> Result<(), PolicyError> {
    let mut once = |bit: u8, name: &'static str| {
        if *seen & bit != 0 {
            return Err(cx.err(t.col, ErrorKind::DuplicateMatcher(name)));
        }
        *seen |= bit;
        Ok(())
    };
    let s = t.text;
    if s.starts_with("handle=") {
        once(HANDLE, "handle=")?;
        let (v, end) = num_at(cx, t, 7, "handle=", u32::MAX as u64)?;
        end_of_token(cx, t, end)?;
        rule.handle = Some(v as u32);
    } else if let Some(v) = s.strip_prefix("iid=") {
        once(IID, "iid=")?;
        if is_name_start(v) {
            named.iid = Some(rest_of(t, 4));
        } else {
            rule.iid = span_at(cx, t, 4, "iid=")?;
        }
    } else if let Some(v) = s.strip_prefix("mid=") {
        once(MID, "mid=")?;
        if is_name_start(v) {
            named.mid = Some(rest_of(t, 4));
        } else {
            rule.mid = span_at(cx, t, 4, "mid=")?;
        }
    } else if s.starts_with("ncaps=") {
        once(NCAPS, "ncaps=")?;
        // nk_message.ex.ncaps is 3 bits wide (shared/kos-abi.md, [D]).
        let (v, end) = num_at(cx, t, 6, "ncaps=", u64::from(crate::abi::NK_EX_NCAPS_MASK))?;
        end_of_token(cx, t, end)?;
        rule.ncaps = Some(v as u16);
    } else if s.starts_with("bytes") {
        compare_at(cx, t, "bytes", &mut rule.bytes)?;
    } else if s.starts_with("arena") {
        compare_at(cx, t, "arena", &mut rule.arena)?;
    } else if is_method_word(s) {
        once(METHOD, "method")?;
        if !s.contains('.') {
            return Err(cx.err(t.col, ErrorKind::MethodNeedsDot(Snippet::of(s))));
        }
        named.method = Some(t);
    } else {
        let name = s.find('=').map_or(s, |i| &s[..=i]);
        return Err(cx.err(t.col, ErrorKind::UnknownMatcher(Snippet::of(name))));
    }
    Ok(())
}

/// The checks on a rule's names that need no name map: a method word
/// excludes `iid=`/`mid=`, and `mid=NAME` needs an `iid=`.
fn check_named(cx: &Cx, named: &Named<'_>, seen: u8) -> Result<(), PolicyError> {
    if let Some(m) = named.method {
        if seen & (IID | MID) != 0 {
            return Err(cx.err(m.col, ErrorKind::MethodWithIds(Snippet::of(m.text))));
        }
    }
    if let Some(m) = named.mid {
        if seen & IID == 0 {
            return Err(cx.err(m.col, ErrorKind::MidNameNeedsIid(Snippet::of(m.text))));
        }
    }
    Ok(())
}

/// A comma-separated list of operations (`call,reply`): `word` maps one
/// word (at column `col`) to its operations, `Ok(None)` for a word that
/// names none; an empty part is an error saying what it follows (`first`
/// for the first part, the comma for the others).
fn op_list(
    cx: &Cx,
    t: Tok<'_>,
    first: &'static str,
    word: impl Fn(&str, u32) -> Result<Option<OpSet>, PolicyError>,
) -> Result<OpSet, PolicyError> {
    let mut set = OpSet(0);
    let mut off = 0usize;
    for (i, part) in t.text.split(',').enumerate() {
        let col = col_at(t, off);
        if part.is_empty() {
            let after = if i == 0 { first } else { "," };
            return Err(cx.err(col, ErrorKind::ExpectedOperation(after)));
        }
        match word(part, col)? {
            Some(ops) => set.0 |= ops.0,
            None => return Err(cx.err(col, ErrorKind::UnknownOperation(Snippet::of(part)))),
        }
        off += part.len() + 1;
    }
    Ok(set)
}

/// Operations of a rule: `call`, `reply`, `recv` (not to deny) or `any`.
fn ops(cx: &Cx, t: Tok<'_>, action: Action) -> Result<OpSet, PolicyError> {
    op_list(cx, t, action.key(), |part, col| {
        Ok(Some(match part {
            "call" => OpSet::only(Class::Call),
            "reply" => OpSet::only(Class::Reply),
            "any" => OpSet::ANY,
            "recv" if action == Action::Deny => return Err(cx.err(col, ErrorKind::DenyRecv)),
            "recv" => OpSet::only(Class::Recv),
            _ => return Ok(None),
        }))
    })
}

/// Parse `text` into `out` (cleared first), looking names up in `names`
/// (see [`Names`]). On error `out` holds a partial result and must not be
/// used.
pub(super) fn parse_into(
    text: &str,
    out: &mut Policy,
    names: Names<'_>,
) -> Result<(), PolicyError> {
    out.reset();
    let mut mode_line = 0u32;
    let mut default_line = 0u32;
    for (n, raw) in text.split('\n').enumerate() {
        let cx = Cx { line: n as u32 + 1 };
        let line = raw.split('#').next().unwrap_or("");
        let mut w = words(line);
        let Some(first) = w.next() else { continue };
        let action = match first.text {
            "mode" | "default" => {
                let is_mode = first.text == "mode";
                let value = w.next();
                let bad = if is_mode {
                    ErrorKind::ExpectedMode
                } else {
                    ErrorKind::ExpectedDefault
                };
                let end_col = first.col + first.text.chars().count() as u32;
                let v = value.ok_or(cx.err(end_col, bad))?;
                let (seen, name) = if is_mode {
                    (&mut mode_line, "mode")
                } else {
                    (&mut default_line, "default")
                };
                if *seen != 0 {
                    return Err(cx.err(first.col, ErrorKind::DuplicateStatement(name, *seen)));
                }
                *seen = cx.line;
                match (is_mode, v.text) {
                    (true, "enforce") => out.mode = Mode::Enforce,
                    (true, "audit") => out.mode = Mode::Audit,
                    (false, "allow") => out.default = Action::Allow,
                    (false, "deny") => out.default = Action::Deny,
                    _ => return Err(cx.err(v.col, bad)),
                }
                if !is_mode {
                    out.default_line = cx.line;
                }
                if let Some(extra) = w.next() {
                    return Err(cx.err(
                        extra.col,
                        ErrorKind::UnexpectedText(Snippet::of(extra.text)),
                    ));
                }
                continue;
            }
            "allow" => Action::Allow,
            "deny" => Action::Deny,
            "log" => Action::Log,
            "fail" | "delay" => {
                fault_rule(&cx, first, w, out, names)?;
                continue;
            }
            other => return Err(cx.err(first.col, ErrorKind::UnknownStatement(Snippet::of(other)))),
        };
        let end_col = first.col + first.text.chars().count() as u32;
        let op_tok = w
            .next()
            .ok_or(cx.err(end_col, ErrorKind::ExpectedOperation(action.key())))?;
        let mut rule = Rule::new(action, ops(&cx, op_tok, action)?, cx.line);
        let mut seen = 0u8;
        let mut named = Named::default();
        for t in w {
            matcher(&cx, t, &mut rule, &mut named, &mut seen)?;
        }
        let too_many = cx.err(first.col, ErrorKind::TooManyRules(super::MAX_RULES));
        if named.any() {
            check_named(&cx, &named, seen)?;
            resolve::expand(&cx, names, rule, &named, &mut out.rules, too_many)?;
        } else {
            out.rules.push(rule).map_err(|_| too_many)?;
        }
    }
    if mode_line != 0 && out.mode == Mode::Audit {
        if let Some(f) = out.faults.first() {
            let cx = Cx { line: f.when.line };
            return Err(cx.err(1, ErrorKind::FaultsNeedEnforce(mode_line)));
        }
    }
    Ok(())
}

/// The fault words of one `fail`/`delay` line, checked once the line is read.
struct FaultWords {
    effect: Option<Effect>,
    p: Option<u32>,
    every: Option<u64>,
    after: Option<u64>,
}

/// A `fail`/`delay` word (`rc=`, `p=`, `every=`, `after=`, a duration):
/// `Ok(false)` when `t` is none of them (then it is a matcher).
fn fault_word(
    cx: &Cx,
    t: Tok<'_>,
    kind: &'static str,
    w: &mut FaultWords,
) -> Result<bool, PolicyError> {
    let s = t.text;
    let dup = |name| cx.err(t.col, ErrorKind::DuplicateMatcher(name));
    let wrong = || cx.err(t.col, ErrorKind::NotForThisRule(Snippet::of(s), kind));
    if let Some(v) = s.strip_prefix("rc=") {
        if kind != "fail" {
            return Err(wrong());
        }
        if w.effect.is_some() {
            return Err(dup("rc="));
        }
        let rc = fault::retcode(v)
            .ok_or_else(|| cx.err(col_at(t, 3), ErrorKind::UnknownRetcode(Snippet::of(v))))?;
        w.effect = Some(Effect::Fail(rc));
    } else if let Some(v) = s.strip_prefix("p=") {
        if w.p.is_some() {
            return Err(dup("p="));
        }
        let p = fault::probability(v)
            .ok_or_else(|| cx.err(col_at(t, 2), ErrorKind::ExpectedProbability))?;
        w.p = Some(p);
    } else if s.starts_with("every=") {
        if w.every.is_some() {
            return Err(dup("every="));
        }
        let (v, end) = num_at(cx, t, 6, "every=", u32::MAX as u64)?;
        end_of_token(cx, t, end)?;
        if v == 0 {
            return Err(cx.err(col_at(t, 6), ErrorKind::NeverMatches("every=")));
        }
        w.every = Some(v);
    } else if s.starts_with("after=") {
        if w.after.is_some() {
            return Err(dup("after="));
        }
        let (v, end) = num_at(cx, t, 6, "after=", u64::MAX - 1)?;
        end_of_token(cx, t, end)?;
        w.after = Some(v);
    } else if s.starts_with(|c: char| c.is_ascii_digit()) {
        if kind != "delay" {
            return Err(wrong());
        }
        if w.effect.is_some() {
            return Err(dup("duration"));
        }
        let ns = fault::duration(s).map_err(|e| match e {
            DurationError::Unit => cx.err(t.col, ErrorKind::DelayUnit(Snippet::of(s))),
            DurationError::TooLong => cx.err(t.col, ErrorKind::DelayTooLong),
        })?;
        w.effect = Some(Effect::Delay(ns));
    } else {
        return Ok(false);
    }
    Ok(true)
}

/// Operations of a fault rule: `call`, `reply` or both (never receives).
fn fault_ops(cx: &Cx, t: Tok<'_>, kind: &'static str) -> Result<OpSet, PolicyError> {
    op_list(cx, t, kind, |part, col| {
        Ok(Some(match part {
            "call" => OpSet::only(Class::Call),
            "reply" => OpSet::only(Class::Reply),
            "recv" | "any" => return Err(cx.err(col, ErrorKind::FaultOnRecv(kind))),
            _ => return Ok(None),
        }))
    })
}

/// `fail OPERATIONS rc=CODE [MATCHERS] [p=P] [every=N] [after=N]` or
/// `delay OPERATIONS DURATION [MATCHERS] [p=P] [every=N] [after=N]`: one
/// fault rule, appended to `out.faults` (a name expands as for other rules).
fn fault_rule<'a>(
    cx: &Cx,
    first: Tok<'a>,
    mut w: impl Iterator<Item = Tok<'a>>,
    out: &mut Policy,
    names: Names<'_>,
) -> Result<(), PolicyError> {
    let kind = if first.text == "fail" {
        "fail"
    } else {
        "delay"
    };
    let end_col = first.col + first.text.chars().count() as u32;
    let op_tok = w
        .next()
        .ok_or(cx.err(end_col, ErrorKind::ExpectedOperation(kind)))?;
    let mut when = Rule::new(Action::Allow, fault_ops(cx, op_tok, kind)?, cx.line);
    let mut words = FaultWords {
        effect: None,
        p: None,
        every: None,
        after: None,
    };
    let mut seen = 0u8;
    let mut named = Named::default();
    let mut last_col = op_tok.col + op_tok.text.chars().count() as u32;
    for t in w {
        last_col = t.col + t.text.chars().count() as u32;
        if !fault_word(cx, t, kind, &mut words)? {
            matcher(cx, t, &mut when, &mut named, &mut seen)?;
        }
    }
    let Some(effect) = words.effect else {
        let missing = if kind == "fail" {
            ErrorKind::ExpectedRetcode
        } else {
            ErrorKind::ExpectedDelay
        };
        return Err(cx.err(last_col, missing));
    };
    let group = out.fault_groups() as u32;
    let fault = |when| Fault {
        when,
        effect,
        p: words.p.unwrap_or(CERTAIN),
        every: words.every.unwrap_or(0),
        after: words.after.unwrap_or(0),
        group,
    };
    let too_many = cx.err(first.col, ErrorKind::TooManyFaults(MAX_FAULTS));
    if !named.any() {
        return out.faults.push(fault(when)).map_err(|_| too_many);
    }
    // Expand the names among the ordinary rules, then move the expansions.
    check_named(cx, &named, seen)?;
    let start = out.rules.len();
    let rules_full = cx.err(first.col, ErrorKind::TooManyRules(super::MAX_RULES));
    resolve::expand(cx, names, when, &named, &mut out.rules, rules_full)?;
    let mut result = Ok(());
    for r in out.rules[start..].iter() {
        if out.faults.push(fault(*r)).is_err() {
            result = Err(too_many);
            break;
        }
    }
    out.rules.truncate(start);
    result
}
