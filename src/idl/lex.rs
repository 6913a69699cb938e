//! The tokenizer shared by the IDL, CDL and EDL grammars (and by
//! [`super::parse::schema_line`]): names (dotted names such as `a.b.C` are
//! one token), numbers (decimal or `0x` hex), single-character punctuation;
//! `//` and `/* */` comments and white space are skipped. Every token carries
//! its 1-based line and column (in characters), and so does every
//! [`Error`].

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// A parse or resolution error at a place in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The file (as opened, or as named to [`super::parse::parse_source`]).
    pub file: String,
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub col: u32,
    /// What is wrong, in words a user can act on.
    pub message: String,
}

impl Error {
    /// An error at `pos` in `file`.
    pub fn at(file: &str, pos: Pos, message: impl Into<String>) -> Error {
        Error {
            file: file.into(),
            line: pos.line,
            col: pos.col,
            message: message.into(),
        }
    }

    /// The error for bytes that are not UTF-8, at the first bad byte.
    pub fn not_utf8(file: &str, bytes: &[u8]) -> Error {
        let valid = match core::str::from_utf8(bytes) {
            Ok(_) => bytes.len(),
            Err(e) => e.valid_up_to(),
        };
        // The prefix is valid by construction.
        let text = core::str::from_utf8(&bytes[..valid]).unwrap_or("");
        let bad = bytes.get(valid).copied().unwrap_or(0);
        Error::at(
            file,
            end_of(text),
            alloc::format!("not UTF-8 text (byte 0x{bad:02x})"),
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

impl core::error::Error for Error {}

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    /// Line, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub col: u32,
}

impl Pos {
    /// Line 1, column 1 (for facts without a place, such as JSON input).
    pub const START: Pos = Pos { line: 1, col: 1 };
}

/// The position just after `text`.
fn end_of(text: &str) -> Pos {
    let mut p = Pos::START;
    for c in text.chars() {
        p = step(p, c);
    }
    p
}

fn step(p: Pos, c: char) -> Pos {
    if c == '\n' {
        Pos {
            line: p.line.saturating_add(1),
            col: 1,
        }
    } else {
        Pos {
            line: p.line,
            col: p.col.saturating_add(1),
        }
    }
}

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    /// A name, possibly dotted (`echo.Point`).
    Name(String),
    /// A non-negative number.
    Num(u64),
    /// One punctuation character: `{ } ( ) < > [ ] ; , : = -`.
    Punct(char),
    /// The end of the text.
    Eof,
}

impl fmt::Display for Tok {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Name(s) => write!(f, "'{s}'"),
            Tok::Num(n) => write!(f, "number {n}"),
            Tok::Punct(c) => write!(f, "'{c}'"),
            Tok::Eof => f.write_str("end of file"),
        }
    }
}

/// A token and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// The token.
    pub tok: Tok,
    /// Where it starts.
    pub pos: Pos,
}

fn name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Whether `s` is a name the lexer reads as one token: letters, digits and
/// `_`, not starting with a digit; with `dotted`, several such parts joined
/// by single dots (`a.b.C`).
pub fn is_name(s: &str, dotted: bool) -> bool {
    let part = |p: &str| p.chars().next().is_some_and(name_start) && p.chars().all(name_char);
    if dotted {
        s.split('.').all(part)
    } else {
        part(s)
    }
}

/// The tokens of `text` (ending with [`Tok::Eof`]), or the first lexical
/// error (an unterminated comment, a character no grammar uses, a number
/// over 64 bits).
pub fn tokens(file: &str, text: &str) -> Result<Vec<Token>, Error> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut pos = Pos::START;
    let at = |i: usize| chars.get(i).copied();
    while let Some(c) = at(i) {
        let start = pos;
        if c.is_whitespace() {
            pos = step(pos, c);
            i += 1;
        } else if c == '/' && at(i + 1) == Some('/') {
            while let Some(c) = at(i) {
                if c == '\n' {
                    break;
                }
                pos = step(pos, c);
                i += 1;
            }
        } else if c == '/' && at(i + 1) == Some('*') {
            pos = step(step(pos, '/'), '*');
            i += 2;
            loop {
                match at(i) {
                    None => {
                        return Err(Error::at(
                            file,
                            start,
                            "unterminated comment: '/*' without '*/'",
                        ))
                    }
                    Some('*') if at(i + 1) == Some('/') => {
                        pos = step(step(pos, '*'), '/');
                        i += 2;
                        break;
                    }
                    Some(c) => {
                        pos = step(pos, c);
                        i += 1;
                    }
                }
            }
        } else if name_start(c) {
            let mut s = String::new();
            while let Some(c) = at(i) {
                let dotted = c == '.' && at(i + 1).is_some_and(name_start);
                if !(name_char(c) || dotted) {
                    break;
                }
                s.push(c);
                pos = step(pos, c);
                i += 1;
            }
            out.push(Token {
                tok: Tok::Name(s),
                pos: start,
            });
        } else if c.is_ascii_digit() {
            let mut s = String::new();
            while let Some(c) = at(i).filter(|c| c.is_ascii_alphanumeric() || *c == '_') {
                s.push(c);
                pos = step(pos, c);
                i += 1;
            }
            let n = number(&s)
                .ok_or_else(|| Error::at(file, start, alloc::format!("bad number '{s}'")))?;
            out.push(Token {
                tok: Tok::Num(n),
                pos: start,
            });
        } else if "{}()<>[];,:=-".contains(c) {
            out.push(Token {
                tok: Tok::Punct(c),
                pos: start,
            });
            pos = step(pos, c);
            i += 1;
        } else {
            return Err(Error::at(
                file,
                start,
                alloc::format!("unexpected character '{c}'"),
            ));
        }
    }
    out.push(Token { tok: Tok::Eof, pos });
    Ok(out)
}

/// A decimal or `0x` hex number that fits 64 bits.
pub fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) if !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit()) => {
            u64::from_str_radix(h, 16).ok()
        }
        Some(_) => None,
        None if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) => s.parse().ok(),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn toks(text: &str) -> Vec<(Tok, u32, u32)> {
        tokens("t.idl", text)
            .unwrap()
            .into_iter()
            .map(|t| (t.tok, t.pos.line, t.pos.col))
            .collect()
    }

    #[test]
    fn dotted_names_numbers_and_positions() {
        let n = |s: &str| Tok::Name(s.into());
        assert_eq!(
            toks("package a.b.C\n /* x\n y */ string<0x10>; // tail\nx"),
            vec![
                (n("package"), 1, 1),
                (n("a.b.C"), 1, 9),
                (n("string"), 3, 7),
                (Tok::Punct('<'), 3, 13),
                (Tok::Num(16), 3, 14),
                (Tok::Punct('>'), 3, 18),
                (Tok::Punct(';'), 3, 19),
                (n("x"), 4, 1),
                (Tok::Eof, 4, 2),
            ]
        );
        assert_eq!(toks("/*é*/ x")[0], (n("x"), 1, 7));
    }

    #[test]
    fn lexical_errors_say_where() {
        let e = |t: &str| tokens("t.idl", t).unwrap_err().to_string();
        assert_eq!(
            e("a\n  /* open"),
            "t.idl:2:3: unterminated comment: '/*' without '*/'"
        );
        assert_eq!(e("x 12ab"), "t.idl:1:3: bad number '12ab'");
        assert_eq!(
            e("x 99999999999999999999"),
            "t.idl:1:3: bad number '99999999999999999999'"
        );
        assert_eq!(e("a.b. c"), "t.idl:1:4: unexpected character '.'");
        assert_eq!(e("#"), "t.idl:1:1: unexpected character '#'");
        assert_eq!(
            Error::not_utf8("f.idl", b"ab\ncd\xffe").to_string(),
            "f.idl:2:3: not UTF-8 text (byte 0xff)"
        );
    }
}
