//! Interface and method names for numeric ids (`KOS_SHIM_NAMES=/path`).
//!
//! Messages carry only numbers (`iid`, `mid`). A name map is a small text
//! file that gives them names for dumps and trace tools:
//!
//! ```text
//! # comments run from '#' to the end of the line
//! iid 7 Echo              # interface 7 is "Echo"
//! mid 7.1 Ping            # method 1 of interface 7 is "Ping"
//! mid 7.0x2 Shutdown      # numbers are decimal or 0x-hex, at most 65535
//! ```
//!
//! A name starts with a letter or `_` and continues with letters, digits and
//! `_ . : - /`. Naming the same id twice is an error. Parse errors carry the
//! line number ([`ParseError`]). [`NameMap::method`] formats `Echo.Ping`,
//! falling back to numbers for what the map does not name (`Echo.3`, `7.3`).
//!
//! [`global`] is the process's map, loaded once from `KOS_SHIM_NAMES`; the
//! statistics dump and the trace tools share it.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;

/// A parse error in a name map: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong with the line.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for ParseError {}

/// Names for interface ids and (interface, method) id pairs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameMap {
    ifaces: BTreeMap<u16, String>,
    methods: BTreeMap<(u16, u16), String>,
}

/// How [`NameMap::method`] shows one method: `Iface.Method`, with numbers
/// where the map has no name.
#[derive(Debug, Clone, Copy)]
pub struct MethodName<'a> {
    map: &'a NameMap,
    iid: u16,
    mid: u16,
}

impl fmt::Display for MethodName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.map.iid_name(self.iid) {
            Some(i) => f.write_str(i)?,
            None => write!(f, "{}", self.iid)?,
        }
        f.write_str(".")?;
        match self.map.mid_name(self.iid, self.mid) {
            Some(m) => f.write_str(m),
            None => write!(f, "{}", self.mid),
        }
    }
}

fn parse_u16(tok: &str, what: &str) -> Result<u16, String> {
    let parsed = match tok.strip_prefix("0x").or_else(|| tok.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() => u32::from_str_radix(hex, 16),
        Some(_) => return Err(format!("{what} '{tok}' is not a number")),
        None => tok.parse::<u32>(),
    };
    match parsed {
        Ok(v) if v <= u16::MAX as u32 => Ok(v as u16),
        Ok(_) => Err(format!("{what} '{tok}' is larger than 65535")),
        Err(_) => Err(format!("{what} '{tok}' is not a number")),
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_alphanumeric() || "_.:-/".contains(c));
    if first_ok && rest_ok {
        Ok(())
    } else {
        Err(format!(
            "'{name}' is not a valid name (letters, digits and _ . : - /, starting with a letter or _)"
        ))
    }
}

impl NameMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse the text format described in the module documentation.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut map = NameMap::new();
        for (n, raw) in text.lines().enumerate() {
            let line = n + 1;
            let err = |message: String| ParseError { line, message };
            let content = raw.split('#').next().unwrap_or("");
            let toks: Vec<&str> = content.split_whitespace().collect();
            match toks.as_slice() {
                [] => {}
                ["iid", id, name] => {
                    let iid = parse_u16(id, "interface id").map_err(err)?;
                    check_name(name).map_err(err)?;
                    map.insert_iid(iid, name).map_err(err)?;
                }
                ["mid", pair, name] => {
                    let Some((i, m)) = pair.split_once('.') else {
                        return Err(err(format!(
                            "'{pair}' is not <iid>.<mid> (e.g. 7.1 or 0x7.0x1)"
                        )));
                    };
                    let iid = parse_u16(i, "interface id").map_err(err)?;
                    let mid = parse_u16(m, "method id").map_err(err)?;
                    check_name(name).map_err(err)?;
                    map.insert_mid(iid, mid, name).map_err(err)?;
                }
                [kw @ ("iid" | "mid"), rest @ ..] => {
                    return Err(err(format!(
                        "'{kw}' takes an id and one name, found {} word(s) after it",
                        rest.len()
                    )))
                }
                [other, ..] => {
                    return Err(err(format!(
                        "unknown keyword '{other}' (expected 'iid' or 'mid')"
                    )))
                }
            }
        }
        Ok(map)
    }

    /// Read and parse a file; errors read `PATH:LINE: message` or `PATH: what failed`.
    pub fn load(path: &str) -> Result<Self, String> {
        let text = crate::sys::read_text(path).map_err(|e| format!("{path}: {e}"))?;
        NameMap::parse(&text).map_err(|e| format!("{path}:{}: {}", e.line, e.message))
    }

    /// Name interface `iid`; an error if it already has a name.
    pub fn insert_iid(&mut self, iid: u16, name: &str) -> Result<(), String> {
        if let Some(old) = self.ifaces.get(&iid) {
            return Err(format!("interface {iid} is already named '{old}'"));
        }
        self.ifaces.insert(iid, name.to_string());
        Ok(())
    }

    /// Name method `mid` of interface `iid`; an error if it already has a name.
    pub fn insert_mid(&mut self, iid: u16, mid: u16, name: &str) -> Result<(), String> {
        if let Some(old) = self.methods.get(&(iid, mid)) {
            return Err(format!("method {iid}.{mid} is already named '{old}'"));
        }
        self.methods.insert((iid, mid), name.to_string());
        Ok(())
    }

    /// The interface's name, if the map has one.
    pub fn iid_name(&self, iid: u16) -> Option<&str> {
        self.ifaces.get(&iid).map(String::as_str)
    }

    /// The method's name, if the map has one.
    pub fn mid_name(&self, iid: u16, mid: u16) -> Option<&str> {
        self.methods.get(&(iid, mid)).map(String::as_str)
    }

    /// `Iface.Method` for display, numbers where names are missing.
    pub fn method(&self, iid: u16, mid: u16) -> MethodName<'_> {
        MethodName {
            map: self,
            iid,
            mid,
        }
    }

    /// Whether the map names nothing.
    pub fn is_empty(&self) -> bool {
        self.ifaces.is_empty() && self.methods.is_empty()
    }

    /// The map in its text format (canonical order); `parse` reads it back.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        for (iid, name) in &self.ifaces {
            s.push_str(&format!("iid {iid} {name}\n"));
        }
        for ((iid, mid), name) in &self.methods {
            s.push_str(&format!("mid {iid}.{mid} {name}\n"));
        }
        s
    }
}

static GLOBAL: spin::Once<NameMap> = spin::Once::new();

/// The process's name map, loaded on first use from the file named by
/// `KOS_SHIM_NAMES` (empty when unset). A file that cannot be read or parsed
/// is reported once on stderr (`kos-ipc-shim: KOS_SHIM_NAMES: PATH:LINE:
/// ...`) and the map stays empty: numbers are shown instead of names.
pub fn global() -> &'static NameMap {
    GLOBAL.call_once(|| match crate::sys::env("KOS_SHIM_NAMES") {
        None => NameMap::new(),
        Some("") => NameMap::new(),
        Some(p) => match NameMap::load(p) {
            Ok(m) => m,
            Err(e) => {
                crate::say!(
                    crate::say::Level::Warn,
                    "KOS_SHIM_NAMES: {e}; ids are shown as numbers"
                );
                NameMap::new()
            }
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ids_names_and_comments() {
        let m = NameMap::parse(
            "# a map\n\niid 7 Echo\nmid 7.1 Ping   # trailing comment\nmid 0x7.0x2 Shut_down\niid 65535 kl.core.Max\n",
        )
        .unwrap();
        assert_eq!(m.iid_name(7), Some("Echo"));
        assert_eq!(m.mid_name(7, 1), Some("Ping"));
        assert_eq!(m.mid_name(7, 2), Some("Shut_down"));
        assert_eq!(m.iid_name(65535), Some("kl.core.Max"));
        assert_eq!(m.method(7, 1).to_string(), "Echo.Ping");
        assert_eq!(m.method(7, 9).to_string(), "Echo.9");
        assert_eq!(m.method(8, 1).to_string(), "8.1");
        assert_eq!(
            m.to_text(),
            "iid 7 Echo\niid 65535 kl.core.Max\nmid 7.1 Ping\nmid 7.2 Shut_down\n"
        );
        assert_eq!(NameMap::parse(&m.to_text()).unwrap(), m);
    }

    fn err(text: &str) -> (usize, String) {
        let e = NameMap::parse(text).unwrap_err();
        (e.line, e.message)
    }

    #[test]
    fn errors_name_the_line_and_the_problem() {
        assert_eq!(
            err("iid 1 A\n\nfoo 1 B\n"),
            (
                3,
                "unknown keyword 'foo' (expected 'iid' or 'mid')".to_string()
            )
        );
        assert_eq!(
            err("iid 70000 A"),
            (1, "interface id '70000' is larger than 65535".to_string())
        );
        assert_eq!(
            err("iid x A"),
            (1, "interface id 'x' is not a number".to_string())
        );
        assert_eq!(
            err("mid 7 A"),
            (
                1,
                "'7' is not <iid>.<mid> (e.g. 7.1 or 0x7.0x1)".to_string()
            )
        );
        assert_eq!(
            err("mid 7.0x A"),
            (1, "method id '0x' is not a number".to_string())
        );
        assert_eq!(
            err("iid 1 A\niid 1 B"),
            (2, "interface 1 is already named 'A'".to_string())
        );
        assert_eq!(
            err("mid 1.2 A\nmid 1.2 B"),
            (2, "method 1.2 is already named 'A'".to_string())
        );
        assert_eq!(
            err("iid 1"),
            (
                1,
                "'iid' takes an id and one name, found 1 word(s) after it".to_string()
            )
        );
        assert_eq!(
            err("iid 1 A B"),
            (
                1,
                "'iid' takes an id and one name, found 3 word(s) after it".to_string()
            )
        );
        assert_eq!(
            err("iid 1 9lives"),
            (
                1,
                "'9lives' is not a valid name (letters, digits and _ . : - /, starting with a letter or _)"
                    .to_string()
            )
        );
    }

    #[test]
    fn load_reports_path_and_line() {
        let dir = std::env::temp_dir().join(format!("kos-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.names");
        std::fs::write(&p, "iid 1 A\nmid 1.1\n").unwrap();
        assert_eq!(
            NameMap::load(p.to_str().unwrap()).unwrap_err(),
            format!(
                "{}:2: 'mid' takes an id and one name, found 1 word(s) after it",
                p.display()
            )
        );
        let missing = dir.join("missing.names");
        assert_eq!(
            NameMap::load(missing.to_str().unwrap()).unwrap_err(),
            format!("{}: cannot open", missing.display())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
