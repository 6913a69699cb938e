//! A captured message payload read by its method's IDL signature, for the
//! tracer's outputs: `Echo(value: "hello", n: 3)` for a request,
//! `-> (success: 1)` or `-> error (code: 5)` for a response, and the same
//! values as a JSON object for a Chrome-trace event's `args`.
//!
//! The bytes are untrusted and often incomplete: the trace keeps only the
//! first bytes of each part (the capture limit), and a buggy or hostile peer
//! may send anything. [`decode`] never panics on them, allocates in
//! proportion to what it shows, and shows every flaw where it occurs:
//!
//! - a parameter the captured constant part does not reach is
//!   `<truncated: 28 of 40 bytes captured>`, one the message itself is too
//!   short for is `<truncated: message has 28 bytes, signature needs 40>`;
//! - an `nk_ptr_t` outside the arena is `<bad pointer: offset 90 + size 8
//!   past arena 64>`; arena data cut by the capture limit ends in
//!   `…(cut: 12 of 40 bytes captured)`;
//! - strings without a NUL, over their bound or not UTF-8, sequences over
//!   their bound or whose size is not a multiple of the element size, and
//!   `Bool`s other than 0 or 1 are shown with a `<...>` marker after them;
//! - a method whose types have no layout (a union, an unknown struct) is not
//!   decoded at all ([`Decoded::not_decodable`]), so the caller shows hex.
//!
//! What is shown is bounded: [`MAX_SHOWN`] elements of a sequence or array
//! and bytes of a `bytes`, [`MAX_TEXT`] bytes of a string, [`VALUE_BUDGET`]
//! values and [`BYTE_BUDGET`] scanned arena bytes per message, and nesting
//! up to [`MAX_DEPTH`]; what is left out is counted (`…(+36 more)`).
//!
//! Layout: [`Schema::offsets`] and [`Schema::layout`] (see [`super::model`]).
//! A sequence of `size` bytes holds `size / stride` elements, the stride
//! being the element's size rounded up to its alignment; its elements are
//! laid out in the arena like an array and may hold further `nk_ptr_t`s into
//! the same arena.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::{self, Write as _};

use super::model::{align_up, Dir, Method, Prim, Schema, Type, BASE_SIZE, MAX_DEPTH};
use crate::json_text::{push_char as json_char, push_str as json_str};

/// Elements of one sequence or array, and bytes of one `bytes`, shown at
/// most; the rest is counted.
pub const MAX_SHOWN: usize = 64;
/// Bytes of one string shown at most.
pub const MAX_TEXT: usize = 256;
/// Values decoded per message at most, so that sequences of sequences
/// pointing at the same arena bytes cannot multiply the output.
pub const VALUE_BUDGET: u32 = 4096;
/// Arena bytes examined (searched for a NUL, copied) per message at most.
pub const BYTE_BUDGET: usize = 256 * 1024;

/// Offset of the `ex` word in `struct nk_message` (shared/kos-abi.md, \[D\]).
const EX_OFFSET: usize = 4;
/// The `err` bit of `ex`: the response carries the error parameters.
const ERR_BIT: u32 = 1 << 31;
/// The largest integer a JSON number (an IEEE double) holds exactly.
const JSON_EXACT: u64 = 1 << 53;

/// Which part of a call a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The request: the in-parameters.
    Request,
    /// The response: the out-parameters, or the error parameters when the
    /// header's `err` bit is set.
    Response,
}

/// One decoded value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// An unsigned integer (`UInt8` … `UInt64`).
    UInt(u64),
    /// A signed integer (`SInt8` … `SInt64`).
    Int(i64),
    /// A `Float`.
    F32(f32),
    /// A `Double`.
    F64(f64),
    /// A `Bool` stored as 0 or 1.
    Bool(bool),
    /// A `Bool` byte that is neither 0 nor 1.
    BadBool(u8),
    /// A `Handle` (`nk_handle_desc_t`).
    Handle {
        /// The handle value.
        handle: u32,
        /// Its rights mask.
        rights: u32,
        /// Its badge.
        badge: u64,
    },
    /// A `string<N>`.
    Str(Text),
    /// A `bytes<N>`.
    Bytes(Blob),
    /// A `sequence<T, N>` or an `array<T, N>`.
    List(List),
    /// A struct: its members in declaration order.
    Struct(Vec<(String, Value)>),
    /// A value that could not be read, and why.
    Problem(Problem),
}

/// A string's text, up to its NUL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// The bytes shown (at most [`MAX_TEXT`]; not necessarily UTF-8).
    pub bytes: Vec<u8>,
    /// What is missing or wrong.
    pub marks: Marks,
}

/// The content of a `bytes<N>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    /// The bytes shown (at most [`MAX_SHOWN`]).
    pub bytes: Vec<u8>,
    /// The size the message gives.
    pub size: u32,
    /// What is missing or wrong.
    pub marks: Marks,
}

/// The elements of a sequence or an array.
#[derive(Debug, Clone, PartialEq)]
pub struct List {
    /// The elements shown (at most [`MAX_SHOWN`]).
    pub items: Vec<Value>,
    /// How many elements the message holds (by its sizes, captured or not).
    pub count: u64,
    /// What is missing or wrong.
    pub marks: Marks,
}

/// What is missing from a string, bytes or list value, or wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    /// Captured content not shown (the display limit or the budget).
    pub more: Option<More>,
    /// The rest of an inline array lies beyond the constant part's bytes.
    pub truncated: Option<Problem>,
    /// The arena bytes were cut by the capture limit.
    pub cut: Option<Cut>,
    /// Inconsistencies with the signature.
    pub flaws: Vec<Flaw>,
}

impl Marks {
    /// Nothing to mark.
    pub fn is_empty(&self) -> bool {
        self.more.is_none()
            && self.truncated.is_none()
            && self.cut.is_none()
            && self.flaws.is_empty()
    }

    /// Anything missing or wrong (content left out for display is neither).
    fn has_problems(&self) -> bool {
        self.truncated.is_some() || self.cut.is_some() || !self.flaws.is_empty()
    }
}

/// Content that was captured but is not shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum More {
    /// Over the display limit ([`MAX_SHOWN`], [`MAX_TEXT`]): this many
    /// elements or bytes.
    Limit(u64),
    /// The message's budget ([`VALUE_BUDGET`], [`BYTE_BUDGET`]) is spent:
    /// this many elements or bytes.
    Budget(u64),
}

/// Arena data cut by the capture limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// Bytes of the value that were captured.
    pub captured: u32,
    /// Bytes the message gives it.
    pub size: u32,
}

/// What a bound is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes (strings, `bytes`).
    Bytes,
    /// Elements (sequences).
    Elements,
}

/// A value the message holds that its signature does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// More than the type's bound N.
    OverMax {
        /// The bound.
        max: u32,
        /// What the message holds.
        len: u64,
        /// Bytes or elements.
        unit: Unit,
    },
    /// A string with no NUL in its `size` bytes.
    NoNul {
        /// The string's size.
        size: u32,
    },
    /// A string that is not UTF-8 (its bad bytes are shown as `\xNN`).
    InvalidUtf8,
    /// A sequence whose size is not a multiple of its element's stride.
    Ragged {
        /// The sequence's size in bytes.
        size: u32,
        /// The element's stride in bytes.
        stride: u32,
    },
}

impl fmt::Display for Flaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Flaw::OverMax { max, len, unit } => {
                let u = match unit {
                    Unit::Bytes => "bytes",
                    Unit::Elements => "elements",
                };
                write!(f, "over max {max}: {len} {u}")
            }
            Flaw::NoNul { size } => write!(f, "no NUL within {size} bytes"),
            Flaw::InvalidUtf8 => f.write_str("invalid UTF-8"),
            Flaw::Ragged { size, stride } => {
                write!(f, "size {size} not a multiple of element size {stride}")
            }
        }
    }
}

/// Why a value could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Past the captured bytes (the capture limit), inside the message.
    NotCaptured {
        /// Bytes captured.
        captured: u32,
        /// The part's real size.
        size: u32,
    },
    /// Past the end of the message itself: it is shorter than its signature.
    ShortMessage {
        /// The constant part's real size.
        size: u32,
        /// The size the signature needs.
        needs: u32,
    },
    /// An `nk_ptr_t` reaching past the arena.
    BadPointer {
        /// Its offset.
        offset: u32,
        /// Its size.
        size: u32,
        /// The arena's size.
        arena: u32,
    },
    /// Nesting deeper than [`MAX_DEPTH`] (sequences that hold themselves).
    TooDeep,
    /// A type with no layout.
    NoLayout(String),
    /// The message's budget is spent.
    Budget,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotCaptured { captured, size } => {
                write!(f, "truncated: {captured} of {size} bytes captured")
            }
            Problem::ShortMessage { size, needs } => {
                write!(
                    f,
                    "truncated: message has {size} bytes, signature needs {needs}"
                )
            }
            Problem::BadPointer {
                offset,
                size,
                arena,
            } => write!(
                f,
                "bad pointer: offset {offset} + size {size} past arena {arena}"
            ),
            Problem::TooDeep => write!(f, "nesting deeper than {MAX_DEPTH}"),
            Problem::NoLayout(why) => write!(f, "not decodable: {why}"),
            Problem::Budget => f.write_str("not shown: output budget spent"),
        }
    }
}

/// A decoded message part.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The method's name.
    pub method: String,
    /// Request or response.
    pub part: Part,
    /// A response with the `err` bit set: `fields` are the error parameters.
    pub is_error: bool,
    /// The parameters in declaration order (empty when not decodable).
    pub fields: Vec<(String, Value)>,
    /// Problems of the message as a whole (a header not captured or too
    /// short), in addition to those inside `fields`.
    pub problems: Vec<String>,
    /// Why the signature cannot be decoded at all (a type without layout):
    /// show the bytes as hex instead.
    pub not_decodable: Option<String>,
}

impl Decoded {
    /// The text form: `Echo(value: "hello", n: 3)`, `-> (success: 1)`,
    /// `-> error (code: 5)`.
    pub fn text(&self) -> String {
        self.to_string()
    }

    /// Whether anything is missing or wrong anywhere in the message (values
    /// left out only for display do not count).
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
            || self.not_decodable.is_some()
            || self.fields.iter().any(|(_, v)| v.has_problems())
    }

    /// Append the JSON object for a trace event's `args`: the parameters by
    /// name (`{"value": "hello", "n": 3}`), then `"_error": true` for an
    /// error response, `"_not_decodable"` and `"_problems"` when there are
    /// any. Values: see [`Value::json`].
    pub fn json(&self, out: &mut String) {
        out.push('{');
        let mut first = true;
        let mut key = |out: &mut String, k: &str| {
            if !first {
                out.push(',');
            }
            first = false;
            json_str(out, k);
            out.push(':');
        };
        for (name, v) in &self.fields {
            key(out, name);
            v.json(out);
        }
        if self.is_error {
            key(out, "_error");
            out.push_str("true");
        }
        if let Some(why) = &self.not_decodable {
            key(out, "_not_decodable");
            json_str(out, why);
        }
        if !self.problems.is_empty() {
            key(out, "_problems");
            out.push('[');
            for (i, p) in self.problems.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_str(out, p);
            }
            out.push(']');
        }
        out.push('}');
    }
}

impl fmt::Display for Decoded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.part, self.is_error) {
            (Part::Request, _) => write!(f, "{}(", self.method)?,
            (Part::Response, false) => f.write_str("-> (")?,
            (Part::Response, true) => f.write_str("-> error (")?,
        }
        if let Some(why) = &self.not_decodable {
            write!(f, "<not decodable: {why}>")?;
        } else {
            for (i, (name, v)) in self.fields.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{name}: {v}")?;
            }
        }
        f.write_char(')')?;
        for p in &self.problems {
            write!(f, " <{p}>")?;
        }
        Ok(())
    }
}

impl Value {
    /// Whether anything is missing or wrong in this value.
    pub fn has_problems(&self) -> bool {
        match self {
            Value::BadBool(_) | Value::Problem(_) => true,
            Value::Str(t) => t.marks.has_problems(),
            Value::Bytes(b) => b.marks.has_problems(),
            Value::List(l) => l.marks.has_problems() || l.items.iter().any(Value::has_problems),
            Value::Struct(fs) => fs.iter().any(|(_, v)| v.has_problems()),
            _ => false,
        }
    }

    /// Append this value as JSON. Numbers are JSON numbers, but integers
    /// beyond ±2^53 are decimal strings and non-finite floats are the
    /// strings `"NaN"`, `"Infinity"`, `"-Infinity"`. A handle is
    /// `{"handle": 7, "rights": 3, "badge": 0}`; bytes are a hex string; a
    /// problem is `{"problem": "..."}`. A string, bytes or list with marks
    /// becomes an object: `{"text"|"hex"|"items": ..., "size"|"count": n,
    /// "more": n, "budget_spent": true, "truncated": "...", "cut":
    /// {"captured": n, "size": n}, "problems": ["..."]}`, only the keys that
    /// apply; a `Bool` other than 0/1 is `{"value": 2, "problem": "..."}`.
    pub fn json(&self, out: &mut String) {
        match self {
            Value::UInt(v) => json_u64(out, *v),
            Value::Int(v) => {
                if v.unsigned_abs() <= JSON_EXACT {
                    let _ = write!(out, "{v}");
                } else {
                    let _ = write!(out, "\"{v}\"");
                }
            }
            Value::F32(v) => json_float(out, f64::from(*v), |o| {
                let _ = write!(o, "{v}");
            }),
            Value::F64(v) => json_float(out, *v, |o| {
                let _ = write!(o, "{v}");
            }),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::BadBool(v) => {
                let _ = write!(out, "{{\"value\":{v},\"problem\":\"Bool not 0 or 1\"}}");
            }
            Value::Handle {
                handle,
                rights,
                badge,
            } => {
                let _ = write!(out, "{{\"handle\":{handle},\"rights\":{rights},\"badge\":");
                json_u64(out, *badge);
                out.push('}');
            }
            Value::Str(t) => {
                if t.marks.is_empty() {
                    json_lossy(out, &t.bytes);
                } else {
                    out.push_str("{\"text\":");
                    json_lossy(out, &t.bytes);
                    t.marks.json(out);
                    out.push('}');
                }
            }
            Value::Bytes(b) => {
                if b.marks.is_empty() {
                    json_hex(out, &b.bytes);
                } else {
                    out.push_str("{\"hex\":");
                    json_hex(out, &b.bytes);
                    let _ = write!(out, ",\"size\":{}", b.size);
                    b.marks.json(out);
                    out.push('}');
                }
            }
            Value::List(l) => {
                let items = |out: &mut String| {
                    out.push('[');
                    for (i, v) in l.items.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        v.json(out);
                    }
                    out.push(']');
                };
                if l.marks.is_empty() {
                    items(out);
                } else {
                    out.push_str("{\"items\":");
                    items(out);
                    out.push_str(",\"count\":");
                    json_u64(out, l.count);
                    l.marks.json(out);
                    out.push('}');
                }
            }
            Value::Struct(fs) => {
                out.push('{');
                for (i, (name, v)) in fs.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    json_str(out, name);
                    out.push(':');
                    v.json(out);
                }
                out.push('}');
            }
            Value::Problem(p) => {
                out.push_str("{\"problem\":");
                json_str(out, &p.to_string());
                out.push('}');
            }
        }
    }
}

impl Marks {
    /// The markers inside a value (after a string's closing quote, before a
    /// list's closing bracket), each preceded by `sep`.
    fn fmt_inner(&self, f: &mut fmt::Formatter<'_>, sep: &str, unit: Unit) -> fmt::Result {
        let u = match unit {
            Unit::Bytes => " bytes",
            Unit::Elements => "",
        };
        match self.more {
            Some(More::Limit(n)) => write!(f, "{sep}…(+{n} more{u})")?,
            Some(More::Budget(n)) => write!(f, "{sep}…(+{n}{u} not shown: output budget spent)")?,
            None => {}
        }
        if let Some(p) = &self.truncated {
            write!(f, "{sep}<{p}>")?;
        }
        if let Some(c) = self.cut {
            write!(
                f,
                "{sep}…(cut: {} of {} bytes captured)",
                c.captured, c.size
            )?;
        }
        Ok(())
    }

    /// The flaws, after the value.
    fn fmt_flaws(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for fl in &self.flaws {
            write!(f, " <{fl}>")?;
        }
        Ok(())
    }

    /// The marks as further members of a JSON object.
    fn json(&self, out: &mut String) {
        match self.more {
            Some(More::Limit(n)) => {
                let _ = write!(out, ",\"more\":{n}");
            }
            Some(More::Budget(n)) => {
                let _ = write!(out, ",\"more\":{n},\"budget_spent\":true");
            }
            None => {}
        }
        if let Some(p) = &self.truncated {
            out.push_str(",\"truncated\":");
            json_str(out, &p.to_string());
        }
        if let Some(c) = self.cut {
            let _ = write!(
                out,
                ",\"cut\":{{\"captured\":{},\"size\":{}}}",
                c.captured, c.size
            );
        }
        if !self.flaws.is_empty() {
            out.push_str(",\"problems\":[");
            for (i, fl) in self.flaws.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_str(out, &fl.to_string());
            }
            out.push(']');
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::UInt(v) => write!(f, "{v}"),
            Value::Int(v) => write!(f, "{v}"),
            Value::F32(v) => text_float(f, f64::from(*v), |f| write!(f, "{v}")),
            Value::F64(v) => text_float(f, *v, |f| write!(f, "{v}")),
            Value::Bool(b) => write!(f, "{b}"),
            Value::BadBool(v) => write!(f, "{v} <Bool not 0 or 1>"),
            Value::Handle {
                handle,
                rights,
                badge,
            } => {
                write!(f, "handle({handle}, rights {rights:#x}")?;
                if *badge != 0 {
                    write!(f, ", badge {badge:#x}")?;
                }
                f.write_char(')')
            }
            Value::Str(t) => {
                f.write_char('"')?;
                text_escape(f, &t.bytes)?;
                f.write_char('"')?;
                t.marks.fmt_inner(f, "", Unit::Bytes)?;
                t.marks.fmt_flaws(f)
            }
            Value::Bytes(b) => {
                f.write_char('<')?;
                for x in &b.bytes {
                    write!(f, "{x:02x}")?;
                }
                f.write_char('>')?;
                b.marks.fmt_inner(f, "", Unit::Bytes)?;
                b.marks.fmt_flaws(f)
            }
            Value::List(l) => {
                f.write_char('[')?;
                for (i, v) in l.items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                let sep = if l.items.is_empty() { "" } else { ", " };
                l.marks.fmt_inner(f, sep, Unit::Elements)?;
                f.write_char(']')?;
                l.marks.fmt_flaws(f)
            }
            Value::Struct(fs) => {
                f.write_char('{')?;
                for (i, (name, v)) in fs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}: {v}")?;
                }
                f.write_char('}')
            }
            Value::Problem(p) => write!(f, "<{p}>"),
        }
    }
}

/// A float with `{}` when finite, `nan`, `inf`, `-inf` otherwise.
fn text_float(
    f: &mut fmt::Formatter<'_>,
    v: f64,
    finite: impl FnOnce(&mut fmt::Formatter<'_>) -> fmt::Result,
) -> fmt::Result {
    if v.is_nan() {
        f.write_str("nan")
    } else if v.is_infinite() {
        f.write_str(if v > 0.0 { "inf" } else { "-inf" })
    } else {
        finite(f)
    }
}

/// String bytes as text: quotes, backslashes and control characters escaped
/// (`\n`, `\t`, `\r`, else `\xNN`; C1 controls `\u{NN}`), bytes that are not
/// UTF-8 as `\xNN`, other characters as they are.
fn text_escape(f: &mut fmt::Formatter<'_>, b: &[u8]) -> fmt::Result {
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\t' => f.write_str("\\t")?,
                '\r' => f.write_str("\\r")?,
                c if c < ' ' || c == '\x7f' => write!(f, "\\x{:02x}", c as u32)?,
                c if ('\u{80}'..='\u{9f}').contains(&c) => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        for x in chunk.invalid() {
            write!(f, "\\x{x:02x}")?;
        }
    }
    Ok(())
}

/// JSON string of bytes that should be UTF-8; bad bytes become U+FFFD.
fn json_lossy(out: &mut String, b: &[u8]) {
    out.push('"');
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            json_char(out, c);
        }
        if !chunk.invalid().is_empty() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
    out.push('"');
}

fn json_hex(out: &mut String, b: &[u8]) {
    out.push('"');
    for x in b {
        let _ = write!(out, "{x:02x}");
    }
    out.push('"');
}

fn json_u64(out: &mut String, v: u64) {
    if v <= JSON_EXACT {
        let _ = write!(out, "{v}");
    } else {
        let _ = write!(out, "\"{v}\"");
    }
}

fn json_float(out: &mut String, v: f64, finite: impl FnOnce(&mut String)) {
    if v.is_nan() {
        out.push_str("\"NaN\"");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 {
            "\"Infinity\""
        } else {
            "\"-Infinity\""
        });
    } else {
        finite(out);
    }
}

/// Decode one captured message part by `method`'s signature.
///
/// `constant` holds the captured bytes of the constant part from `base_`
/// on, `const_size` its real size; `arena` the captured bytes from the
/// arena's start, `arena_size` its real size. Captured bytes past a real
/// size are ignored. Missing bytes inside the real sizes are the capture
/// limit; missing bytes past them are an inconsistent message.
pub fn decode(
    schema: &Schema,
    method: &Method,
    part: Part,
    constant: &[u8],
    const_size: u32,
    arena: &[u8],
    arena_size: u32,
) -> Decoded {
    let constant = &constant[..constant.len().min(const_size as usize)];
    let arena = &arena[..arena.len().min(arena_size as usize)];
    let mut problems = Vec::new();
    if const_size < BASE_SIZE {
        problems.push(format!(
            "message has {const_size} bytes, shorter than its {BASE_SIZE}-byte header"
        ));
    }
    let is_error = match part {
        Part::Request => false,
        Part::Response => match constant.get(EX_OFFSET..EX_OFFSET + 4) {
            Some(ex) => u32::from_le_bytes([ex[0], ex[1], ex[2], ex[3]]) & ERR_BIT != 0,
            None => {
                if const_size as usize >= EX_OFFSET + 4 {
                    problems.push(format!(
                        "err bit not captured ({} of {const_size} bytes): shown as out-parameters",
                        constant.len()
                    ));
                }
                false
            }
        },
    };
    let dir = match (part, is_error) {
        (Part::Request, _) => Dir::In,
        (Part::Response, false) => Dir::Out,
        (Part::Response, true) => Dir::Error,
    };
    let mut d = Decoded {
        method: method.name.clone(),
        part,
        is_error,
        fields: Vec::new(),
        problems,
        not_decodable: None,
    };
    let why = method.of(dir).find_map(|p| {
        let mut seen = Vec::new();
        no_layout(schema, &p.ty, &mut seen, 0).map(|w| format!("{}: {w}", p.name))
    });
    let offsets = schema.offsets(method, dir);
    let (offsets, needs) = match (why, offsets) {
        (None, Some(o)) => o,
        (why, _) => {
            d.not_decodable = Some(why.unwrap_or_else(|| "parameters have no layout".into()));
            return d;
        }
    };
    let mut dec = Decoder {
        schema,
        constant,
        const_size,
        needs,
        arena,
        arena_size,
        values: VALUE_BUDGET,
        bytes: BYTE_BUDGET,
    };
    for (p, at) in method.of(dir).zip(offsets) {
        let v = dec.value(&p.ty, Region::Const, u64::from(at), 0);
        d.fields.push((p.name.clone(), v));
    }
    d
}

/// Why `ty` (or a type it holds, through sequences too) has no layout.
/// `seen` holds the structs already examined, so that a struct holding a
/// sequence of itself (a tree) is examined once.
fn no_layout<'a>(
    schema: &'a Schema,
    ty: &'a Type,
    seen: &mut Vec<&'a str>,
    depth: usize,
) -> Option<String> {
    if depth > MAX_DEPTH {
        return Some(format!("{ty} nests deeper than {MAX_DEPTH} levels"));
    }
    match ty {
        Type::Opaque(_) => return Some(format!("{ty} has no modelled layout")),
        Type::Struct(name) if !seen.contains(&name.as_str()) => {
            let Some(s) = schema.structs.get(name) else {
                return Some(format!("unknown struct {name}"));
            };
            seen.push(name);
            for fl in &s.fields {
                if let Some(w) = no_layout(schema, &fl.ty, seen, depth + 1) {
                    return Some(w);
                }
            }
        }
        Type::Array(t, _) | Type::Sequence(t, _) => {
            if let Some(w) = no_layout(schema, t, seen, depth + 1) {
                return Some(w);
            }
        }
        _ => {}
    }
    if schema.layout(ty).is_none() {
        return Some(format!(
            "{ty} has no layout (it contains itself, nests deeper than {MAX_DEPTH} levels or is too large)"
        ));
    }
    None
}

/// Where a value lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Region {
    /// The constant part (offsets from `base_`).
    Const,
    /// The arena (offsets from its start).
    Arena,
}

/// The state of one decoding: the captured bytes and what is left of the
/// budgets.
struct Decoder<'a> {
    schema: &'a Schema,
    /// Captured constant part, at most `const_size` bytes.
    constant: &'a [u8],
    const_size: u32,
    /// The constant part's size by the signature.
    needs: u32,
    /// Captured arena, at most `arena_size` bytes.
    arena: &'a [u8],
    arena_size: u32,
    /// Values left to decode.
    values: u32,
    /// Arena bytes left to examine.
    bytes: usize,
}

/// Little-endian unsigned value of up to 8 bytes.
fn le(b: &[u8]) -> u64 {
    b.iter().rev().fold(0, |acc, &x| (acc << 8) | u64::from(x))
}

impl<'a> Decoder<'a> {
    fn data(&self, r: Region) -> &'a [u8] {
        match r {
            Region::Const => self.constant,
            Region::Arena => self.arena,
        }
    }

    /// `n` captured bytes at `at`, if all are there.
    fn get(&self, r: Region, at: u64, n: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(at).ok()?;
        let end = start.checked_add(usize::try_from(n).ok()?)?;
        self.data(r).get(start..end)
    }

    /// Why bytes up to `end` of region `r` are missing.
    fn missing(&self, r: Region, end: u64) -> Problem {
        let captured = self.data(r).len() as u32;
        match r {
            Region::Const if end > u64::from(self.const_size) => Problem::ShortMessage {
                size: self.const_size,
                needs: self.needs,
            },
            Region::Const => Problem::NotCaptured {
                captured,
                size: self.const_size,
            },
            Region::Arena => Problem::NotCaptured {
                captured,
                size: self.arena_size,
            },
        }
    }

    /// The value of type `ty` at `at` in `r`. A scalar, handle or pointer
    /// must be captured whole; a struct or array partly captured shows the
    /// members it has.
    fn value(&mut self, ty: &Type, r: Region, at: u64, depth: usize) -> Value {
        if depth > MAX_DEPTH {
            return Value::Problem(Problem::TooDeep);
        }
        let Some(l) = self.schema.layout(ty) else {
            return Value::Problem(Problem::NoLayout(format!("{ty} has no layout")));
        };
        let end = at + u64::from(l.size);
        let avail = self.data(r).len() as u64;
        let composite = matches!(ty, Type::Struct(_) | Type::Array(..));
        if end > avail && (at >= avail || !composite) {
            return Value::Problem(self.missing(r, end));
        }
        if self.values == 0 {
            return Value::Problem(Problem::Budget);
        }
        self.values -= 1;
        match ty {
            Type::Prim(p) => self.prim(*p, r, at),
            Type::Handle => match self.get(r, at, 16) {
                Some(b) => Value::Handle {
                    handle: le(&b[0..4]) as u32,
                    rights: le(&b[4..8]) as u32,
                    badge: le(&b[8..16]),
                },
                None => Value::Problem(self.missing(r, end)),
            },
            Type::String(n) => self.pointer(r, at, |d, off, size| d.string(*n, off, size)),
            Type::Bytes(n) => self.pointer(r, at, |d, off, size| d.blob(*n, off, size)),
            Type::Sequence(t, n) => {
                self.pointer(r, at, |d, off, size| d.sequence(t, *n, off, size, depth))
            }
            Type::Array(t, n) => self.array(t, *n, r, at, depth),
            Type::Struct(name) => self.structure(name, r, at, depth),
            Type::Opaque(_) => Value::Problem(Problem::NoLayout(format!("{ty} has no layout"))),
        }
    }

    fn prim(&self, p: Prim, r: Region, at: u64) -> Value {
        let n = p.size();
        let Some(b) = self.get(r, at, u64::from(n)) else {
            return Value::Problem(self.missing(r, at + u64::from(n)));
        };
        let v = le(b);
        let shift = 64 - 8 * n;
        match p {
            Prim::U8 | Prim::U16 | Prim::U32 | Prim::U64 => Value::UInt(v),
            Prim::S8 | Prim::S16 | Prim::S32 | Prim::S64 => {
                Value::Int(((v << shift) as i64) >> shift)
            }
            Prim::Bool => match v {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                x => Value::BadBool(x as u8),
            },
            Prim::F32 => Value::F32(f32::from_bits(v as u32)),
            Prim::F64 => Value::F64(f64::from_bits(v)),
        }
    }

    /// Read the `nk_ptr_t` at `at` and, if it lies inside the arena, decode
    /// what it points at with `then(offset, size)`.
    fn pointer(
        &mut self,
        r: Region,
        at: u64,
        then: impl FnOnce(&mut Self, u32, u32) -> Value,
    ) -> Value {
        let Some(b) = self.get(r, at, 8) else {
            return Value::Problem(self.missing(r, at + 8));
        };
        let (offset, size) = (le(&b[0..4]) as u32, le(&b[4..8]) as u32);
        if u64::from(offset) + u64::from(size) > u64::from(self.arena_size) {
            return Value::Problem(Problem::BadPointer {
                offset,
                size,
                arena: self.arena_size,
            });
        }
        then(self, offset, size)
    }

    /// The captured bytes of the arena range `offset..offset + size` (which
    /// lies inside the arena's real size).
    fn span(&self, offset: u32, size: u32) -> &'a [u8] {
        let len = self.arena.len();
        let start = (offset as usize).min(len);
        let end = (u64::from(offset) + u64::from(size)).min(len as u64) as usize;
        &self.arena[start..end]
    }

    fn string(&mut self, max: u32, offset: u32, size: u32) -> Value {
        let span = self.span(offset, size);
        let mut marks = Marks::default();
        // `string<N>` holds up to N characters; the arena also holds its NUL.
        if u64::from(size) > u64::from(max) + 1 {
            marks.flaws.push(Flaw::OverMax {
                max,
                len: u64::from(size),
                unit: Unit::Bytes,
            });
        }
        let scanned = &span[..span.len().min(self.bytes)];
        self.bytes -= scanned.len();
        let unexamined = span.len() - scanned.len();
        let text = match scanned.iter().position(|&b| b == 0) {
            Some(nul) => &scanned[..nul],
            None => {
                if unexamined == 0 && span.len() < size as usize {
                    marks.cut = Some(Cut {
                        captured: span.len() as u32,
                        size,
                    });
                } else if unexamined == 0 {
                    marks.flaws.push(Flaw::NoNul { size });
                }
                scanned
            }
        };
        let complete = text.len() < scanned.len() || (unexamined == 0 && marks.cut.is_none());
        if let Err(e) = core::str::from_utf8(text) {
            // An incomplete character at the end is only the cut's doing.
            if e.error_len().is_some() || complete {
                marks.flaws.push(Flaw::InvalidUtf8);
            }
        }
        let mut shown = text.len().min(MAX_TEXT);
        // Do not split a character.
        let mut back = 0;
        while shown < text.len() && shown > 0 && back < 3 && text[shown] & 0xC0 == 0x80 {
            shown -= 1;
            back += 1;
        }
        let left = (text.len() - shown) as u64;
        if text.len() == scanned.len() && unexamined > 0 {
            marks.more = Some(More::Budget(left + unexamined as u64));
        } else if left > 0 {
            marks.more = Some(More::Limit(left));
        }
        Value::Str(Text {
            bytes: text[..shown].to_vec(),
            marks,
        })
    }

    fn blob(&mut self, max: u32, offset: u32, size: u32) -> Value {
        let span = self.span(offset, size);
        let mut marks = Marks::default();
        if size > max {
            marks.flaws.push(Flaw::OverMax {
                max,
                len: u64::from(size),
                unit: Unit::Bytes,
            });
        }
        let shown = span.len().min(MAX_SHOWN).min(self.bytes);
        self.bytes -= shown;
        let left = (span.len() - shown) as u64;
        if left > 0 {
            marks.more = Some(if shown < span.len().min(MAX_SHOWN) {
                More::Budget(left)
            } else {
                More::Limit(left)
            });
        }
        if span.len() < size as usize {
            marks.cut = Some(Cut {
                captured: span.len() as u32,
                size,
            });
        }
        Value::Bytes(Blob {
            bytes: span[..shown].to_vec(),
            size,
            marks,
        })
    }

    /// The element stride of `t`: its size rounded up to its alignment.
    fn stride(&self, t: &Type) -> Option<u32> {
        let l = self.schema.layout(t)?;
        align_up(l.size, l.align)
    }

    fn sequence(&mut self, t: &Type, max: u32, offset: u32, size: u32, depth: usize) -> Value {
        let Some(stride) = self.stride(t) else {
            return Value::Problem(Problem::NoLayout(format!("{t} has no layout")));
        };
        let mut marks = Marks::default();
        let count = size.checked_div(stride).unwrap_or(0);
        // (A stride of 0 divides only a size of 0.)
        if !size.is_multiple_of(stride) {
            marks.flaws.push(Flaw::Ragged { size, stride });
        }
        if count > max {
            marks.flaws.push(Flaw::OverMax {
                max,
                len: u64::from(count),
                unit: Unit::Elements,
            });
        }
        let captured = self.span(offset, size).len() as u32;
        if captured < size {
            marks.cut = Some(Cut { captured, size });
        }
        // Only elements captured whole are shown; the cut marks the rest.
        let whole = captured.checked_div(stride).unwrap_or(0);
        let (items, more) = self.items(t, Region::Arena, u64::from(offset), stride, whole, depth);
        marks.more = more;
        Value::List(List {
            items,
            count: u64::from(count),
            marks,
        })
    }

    /// Up to [`MAX_SHOWN`] of the `n` elements at `base`, within the budget.
    fn items(
        &mut self,
        t: &Type,
        r: Region,
        base: u64,
        stride: u32,
        n: u32,
        depth: usize,
    ) -> (Vec<Value>, Option<More>) {
        let mut items = Vec::new();
        for i in 0..n {
            let left = u64::from(n - i);
            if items.len() == MAX_SHOWN {
                return (items, Some(More::Limit(left)));
            }
            if self.values == 0 {
                return (items, Some(More::Budget(left)));
            }
            let at = base + u64::from(i) * u64::from(stride);
            items.push(self.value(t, r, at, depth + 1));
        }
        (items, None)
    }

    fn array(&mut self, t: &Type, n: u32, r: Region, at: u64, depth: usize) -> Value {
        let Some(stride) = self.stride(t) else {
            return Value::Problem(Problem::NoLayout(format!("{t} has no layout")));
        };
        let mut marks = Marks::default();
        let avail = self.data(r).len() as u64;
        // Elements that start inside the captured bytes (the caller made
        // sure the array itself does); the rest is one truncation marker.
        let present = if stride == 0 {
            n
        } else {
            let starts = (avail - at).div_ceil(u64::from(stride));
            n.min(u32::try_from(starts).unwrap_or(u32::MAX))
        };
        if present < n {
            marks.truncated = Some(self.missing(r, at + u64::from(n) * u64::from(stride)));
        }
        let (items, more) = self.items(t, r, at, stride, present, depth);
        marks.more = more;
        Value::List(List {
            items,
            count: u64::from(n),
            marks,
        })
    }

    fn structure(&mut self, name: &str, r: Region, at: u64, depth: usize) -> Value {
        let schema = self.schema;
        let Some(s) = schema.structs.get(name) else {
            return Value::Problem(Problem::NoLayout(format!("unknown struct {name}")));
        };
        let mut fields = Vec::with_capacity(s.fields.len());
        let mut off = 0u64;
        for fl in &s.fields {
            let Some(l) = schema.layout(&fl.ty) else {
                fields.push((
                    fl.name.clone(),
                    Value::Problem(Problem::NoLayout(format!("{} has no layout", fl.ty))),
                ));
                break;
            };
            off = off.next_multiple_of(u64::from(l.align.max(1)));
            let v = self.value(&fl.ty, r, at + off, depth + 1);
            fields.push((fl.name.clone(), v));
            off += u64::from(l.size);
        }
        Value::Struct(fields)
    }
}

#[cfg(test)]
mod tests;
