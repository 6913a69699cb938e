//! `kos-ipc-trace check POLICY`: parse a policy file as the library would
//! load it, report every error (not only the first) as
//! `FILE:LINE:COL: message` with the line and a caret, and print the rules
//! understood. Exit status 0 when clean, 1 with errors, 2 when the check
//! could not run (unreadable file or name map, bad options).
//!
//! The library's parser stops at the first error. To find the others, the
//! line of each error is blanked (its number kept) and the text parsed
//! again, until it parses: a later error is then reported as the parser
//! sees it with the faulty lines left out, which is what a user fixing the
//! file top-down meets next.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use kos_ipc_shim::names::NameMap;
use kos_ipc_shim::policy::{self, PolicyError};

/// Errors reported before the check gives up on a file.
pub const MAX_ERRORS: usize = 100;

/// The outcome of a check.
pub enum Outcome {
    /// No error.
    Clean,
    /// Errors were reported.
    Errors,
}

/// Where the names a policy may use come from, as for the library:
/// `--names` (`KOS_SHIM_NAMES`), `--edl` (`KOS_SHIM_EDL`) with `-I`
/// (`KOS_SHIM_IDL_PATH`). Without `--names` and `--edl` the variables
/// themselves are read, so the check sees what a program would.
pub struct NameSource<'a> {
    /// `--names FILE`.
    pub names: Option<&'a Path>,
    /// `--edl FILE|ENTITY`, repeatable.
    pub edl: &'a [String],
    /// `-I DIR`, repeatable.
    pub include: &'a [PathBuf],
}

fn utf8(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{}: not a UTF-8 path", p.display()))
}

impl NameSource<'_> {
    /// The name map and a phrase saying where it came from.
    pub fn load(&self) -> Result<(NameMap, String), String> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (names, edl, dirs, from) = if self.names.is_some() || !self.edl.is_empty() {
            let dirs = self
                .include
                .iter()
                .map(|d| utf8(d).map(String::from))
                .collect::<Result<Vec<_>, _>>()?;
            let names = self.names.map(|p| utf8(p).map(String::from)).transpose()?;
            (names, self.edl.to_vec(), dirs, "the options")
        } else {
            let edl = env("KOS_SHIM_EDL").map_or_else(Vec::new, |v| {
                v.split(':')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            });
            let dirs = kos_ipc_shim::names::idl_path(&env("KOS_SHIM_IDL_PATH").unwrap_or_default());
            (env("KOS_SHIM_NAMES"), edl, dirs, "the environment")
        };
        let mut map = match &names {
            Some(p) => NameMap::load(p).map_err(|e| format!("names: {e}"))?,
            None => NameMap::new(),
        };
        if !edl.is_empty() {
            let schema = kos_ipc_shim::names::describe(edl.iter().map(String::as_str), dirs)?;
            map.add_schema(schema);
        }
        let what = match (&names, edl.is_empty()) {
            (None, true) => "no names (ids only)".to_string(),
            (Some(n), true) => format!("names from {n} ({from})"),
            (None, false) => format!("names from {} ({from})", edl.join(" ")),
            (Some(n), false) => format!("names from {n} and {} ({from})", edl.join(" ")),
        };
        Ok((map, what))
    }
}

/// Every error of `text`, in line order, and the policy of its other lines.
fn errors_of(text: &str, names: &NameMap) -> (Vec<PolicyError>, Option<policy::Policy>) {
    let mut lines: Vec<&str> = text.split('\n').collect();
    let mut errors = Vec::new();
    loop {
        let joined = lines.join("\n");
        match policy::parse_with(&joined, names) {
            Ok(p) => return (errors, Some(p)),
            Err(e) => {
                let i = e.line as usize - 1;
                errors.push(e);
                // A parser that blamed a line it cannot see would loop.
                if i >= lines.len() || lines[i].is_empty() || errors.len() >= MAX_ERRORS {
                    return (errors, None);
                }
                lines[i] = "";
            }
        }
    }
}

/// The bytes as text with each line that is not UTF-8 emptied, and an
/// error at the first bad byte of each.
fn text_of(bytes: &[u8]) -> (String, Vec<PolicyError>) {
    let mut errors = Vec::new();
    let mut out = Vec::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        match std::str::from_utf8(line) {
            Ok(l) => out.push(l),
            Err(_) => {
                if let Some(mut e) = PolicyError::invalid_utf8(line) {
                    e.line = n as u32 + 1;
                    errors.push(e);
                }
                out.push("");
            }
        }
    }
    (out.join("\n"), errors)
}

/// `FILE:LINE:COL: message`, then the line and a caret under the column.
fn report(w: &mut impl std::io::Write, file: &str, source: &[&[u8]], e: &PolicyError) {
    let _ = writeln!(w, "{file}:{}:{}: {}", e.line, e.col, e.kind);
    let Some(line) = source.get(e.line as usize - 1) else {
        return;
    };
    let line = String::from_utf8_lossy(line);
    let line = line.trim_end_matches('\r');
    // Tabs kept, so that the caret lines up in a terminal.
    let pad: String = line
        .chars()
        .take(e.col.saturating_sub(1) as usize)
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    let _ = writeln!(w, "    {line}\n    {pad}^");
}

/// Check the policy at `path`; errors on stderr, the rules on stdout
/// (unless `quiet`).
pub fn run(path: &Path, source: &NameSource<'_>, quiet: bool) -> Result<Outcome, String> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| format!("{file}: {e}"))?;
    let (names, names_from) = source.load()?;
    let (text, mut errors) = text_of(&bytes);
    let (more, policy) = errors_of(&text, &names);
    errors.extend(more);
    errors.sort_by_key(|e| (e.line, e.col));
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let mut err = std::io::stderr().lock();
    for e in &errors {
        report(&mut err, &file, &lines, e);
    }
    if errors
        .iter()
        .any(|e| e.kind == policy::ErrorKind::NamesNeedDescriptions)
    {
        let _ = writeln!(
            err,
            "{file}: give the names with --names FILE or --edl ENTITY [-I DIR]"
        );
    }
    if errors.len() >= MAX_ERRORS {
        let _ = writeln!(err, "{file}: stopped after {MAX_ERRORS} errors");
    }
    let mut out = std::io::stdout().lock();
    if let (Some(p), false) = (&policy, quiet) {
        let faults = match p.fault_groups() {
            0 => String::new(),
            1 => " and 1 fault rule".to_string(),
            n => format!(" and {n} fault rules"),
        };
        let _ = writeln!(
            out,
            "{file}: {} rules{faults}, mode {}, default {}{}; {names_from}",
            p.rules().len(),
            match p.mode {
                policy::Mode::Enforce => "enforce",
                policy::Mode::Audit => "audit",
            },
            p.default.key(),
            match p.default_line {
                0 => " (implicit)".to_string(),
                n => format!(" (line {n})"),
            }
        );
        if !errors.is_empty() {
            let _ = writeln!(out, "(the rules of the lines without errors)");
        }
        // Access and fault rules together, in the order of their lines.
        let mut listed: Vec<(u32, String)> = p
            .rules()
            .iter()
            .map(|r| (r.line, r.to_string()))
            .chain(p.faults().iter().map(|f| (f.when.line, f.to_string())))
            .collect();
        listed.sort_by_key(|(line, _)| *line);
        for (line, text) in listed {
            let _ = writeln!(out, "line {line}: {text}");
        }
    }
    if errors.is_empty() {
        Ok(Outcome::Clean)
    } else {
        let n = errors.len();
        let _ = writeln!(err, "{file}: {n} error{}", if n == 1 { "" } else { "s" });
        Ok(Outcome::Errors)
    }
}
