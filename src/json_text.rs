//! JSON string literals, for every JSON the shim writes (the statistics
//! dump, Chrome-trace events, decoded payloads): one escaper, so the three
//! agree on what a name or a decoded string looks like.

use alloc::string::String;
use core::fmt::Write as _;

/// Append `s` to `out` as a JSON string literal (quotes, backslashes and
/// control characters escaped; `\n`, `\t`, `\r` by name).
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        push_char(out, c);
    }
    out.push('"');
}

/// `s` as a JSON string literal.
pub fn quoted(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    push_str(&mut o, s);
    o
}

/// Append one character of a string literal's contents, escaped.
pub fn push_char(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if c < ' ' => {
            let _ = write!(out, "\\u{:04x}", c as u32);
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_what_json_requires() {
        assert_eq!(
            super::quoted("a\"b\\c\n\t\r\x01é"),
            "\"a\\\"b\\\\c\\n\\t\\r\\u0001é\""
        );
    }
}
