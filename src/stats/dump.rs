//! Text and JSON renderings of a [`Snapshot`] (builds with the C library).
//!
//! Text: an aligned table, one row per key sorted by total time (then by
//! calls), the overflow row last, then a `total` row. Columns: `op handle
//! iid.mid [name] calls errors denied p50 p99 max total %time out in` — ids
//! in decimal, names from `KOS_SHIM_NAMES` or learned from the service
//! locator ([`crate::locator`]) when any is known (then also a `connection`
//! column after `handle`), durations with a unit (`ns`, `us`, `ms`, `s`),
//! bytes as exact integers (constant part + arena). Latency columns show `-`
//! at level `count`.
//!
//! `%time` is a row's share of the summed total time of all rows, in
//! percent with two decimals, rounded half up from the exact nanosecond sums
//! (as `strace -c`'s `% time`); `-` for a row without measured latency, and
//! everywhere when no time was measured (level `count`: rows are then
//! sorted by calls). The `total` row adds up calls, errors, denied, total
//! time and bytes of all rows (the overflow row included); its `max` is the
//! largest of the rows', its `p50` and `p99` are `-`.
//!
//! JSON: schema version 1, described in docs/statistics.md; `totals`
//! holds the same sums as the text's `total` row.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use alloc::{format, vec};
use core::fmt::Write as _;

use super::{rc_slot_name, Entry, Snapshot, RC_SLOTS};
use crate::json_text::push_str as json_str;
use crate::locator;
use crate::names::NameMap;
use crate::sys;

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned table for people.
    Text,
    /// JSON, schema version 1.
    Json,
}

/// Rows in dump order: by total time, then calls, descending; ties by key;
/// the overflow row last.
pub fn sorted(entries: &[Entry]) -> Vec<&Entry> {
    let mut v: Vec<&Entry> = entries.iter().collect();
    v.sort_by(|a, b| {
        a.key
            .is_none()
            .cmp(&b.key.is_none())
            .then(b.total_ns().cmp(&a.total_ns()))
            .then(b.calls.cmp(&a.calls))
            .then(a.key.cmp(&b.key))
    });
    v
}

/// A duration for people: three significant digits and a unit.
pub fn duration(ns: u64) -> String {
    let f = ns as f64;
    let (v, unit) = match ns {
        0..=999 => return format!("{ns}ns"),
        1_000..=999_999 => (f / 1e3, "us"),
        1_000_000..=999_999_999 => (f / 1e6, "ms"),
        _ => (f / 1e9, "s"),
    };
    if v >= 100.0 {
        format!("{v:.0}{unit}")
    } else if v >= 10.0 {
        format!("{v:.1}{unit}")
    } else {
        format!("{v:.2}{unit}")
    }
}

fn name_of(names: &NameMap, e: &Entry) -> String {
    match e.key {
        Some(k) => match locator::method(names, k.handle, k.iid, k.mid) {
            m if m.is_named() => m.to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// The connection a row's handle belongs to, learned from the service
/// locator; empty when unknown.
fn connection_of(e: &Entry) -> String {
    match e.key.and_then(|k| locator::connection(k.handle)) {
        Some((n, _)) => n.to_string(),
        None => String::new(),
    }
}

/// The sums over all rows of a dump (the text's `total` row, the JSON's
/// `totals`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Calls.
    pub calls: u64,
    /// Calls that returned rcOk.
    pub ok: u64,
    /// Calls that did not.
    pub errors: u64,
    /// Calls denied.
    pub denied: u64,
    /// Denials only audited.
    pub audit_denied: u64,
    /// Constant-part bytes sent.
    pub out_const: u64,
    /// Arena bytes sent.
    pub out_arena: u64,
    /// Constant-part bytes received.
    pub in_const: u64,
    /// Arena bytes received.
    pub in_arena: u64,
    /// Calls with a measured latency.
    pub timed: u64,
    /// Sum of the measured latencies, ns.
    pub total_ns: u64,
    /// Longest measured latency, ns.
    pub max_ns: u64,
}

impl Totals {
    /// The sums over `entries`.
    pub fn of<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Totals {
        let mut t = Totals::default();
        for e in entries {
            t.calls += e.calls;
            t.ok += e.ok;
            t.errors += e.errors;
            t.denied += e.denied;
            t.audit_denied += e.audit_denied;
            t.out_const += e.out_const;
            t.out_arena += e.out_arena;
            t.in_const += e.in_const;
            t.in_arena += e.in_arena;
            if let Some(l) = e.latency {
                t.timed += l.count;
                t.total_ns = t.total_ns.saturating_add(l.total_ns);
                t.max_ns = t.max_ns.max(l.max_ns);
            }
        }
        t
    }
}

/// `part` as a percentage of `whole` with two decimals, rounded half up
/// (`"12.35"`); None when `whole` is 0. Integer arithmetic, so that a
/// checker can redo it exactly.
pub fn percent(part: u64, whole: u64) -> Option<String> {
    if whole == 0 {
        return None;
    }
    let bp = (part as u128 * 10_000 + whole as u128 / 2) / whole as u128;
    Some(format!("{}.{:02}", bp / 100, bp % 100))
}

/// The text table.
pub fn text(s: &Snapshot, names: &NameMap) -> String {
    let g = &s.global;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "kos-ipc-shim statistics: level {}, clock {} ({:.4} ns/tick)",
        g.level.name(),
        s.clock.name(),
        s.ns_per_tick
    );
    let _ = writeln!(
        out,
        "calls {}, re-entrant {}, dropped {}, keys {} of {}",
        g.calls, g.reentrant, g.dropped, g.keys, g.capacity
    );
    let rows = sorted(&s.entries);
    let with_names = rows.iter().any(|e| !name_of(names, e).is_empty());
    let with_conns = rows.iter().any(|e| !connection_of(e).is_empty());
    let mut table: Vec<Vec<String>> = Vec::new();
    let mut head: Vec<&str> = vec!["op", "handle"];
    if with_conns {
        head.push("connection");
    }
    head.push("iid.mid");
    if with_names {
        head.push("name");
    }
    head.extend([
        "calls", "errors", "denied", "p50", "p99", "max", "total", "%time", "out", "in",
    ]);
    table.push(head.iter().map(|h| h.to_string()).collect());
    let sums = Totals::of(rows.iter().copied());
    let dash = || String::from("-");
    for e in rows {
        let mut r = match e.key {
            Some(k) => vec![k.op.key().to_string(), k.handle.to_string()],
            None => vec!["*".into(), "*".into()],
        };
        if with_conns {
            let c = connection_of(e);
            r.push(if c.is_empty() { "-".into() } else { c });
        }
        r.push(match e.key {
            Some(k) => format!("{}.{}", k.iid, k.mid),
            None => "overflow".into(),
        });
        if with_names {
            let n = name_of(names, e);
            r.push(if n.is_empty() { "-".into() } else { n });
        }
        r.extend([e.calls, e.errors, e.denied].map(|v| v.to_string()));
        match e.latency {
            Some(l) => {
                r.extend([l.p50_ns, l.p99_ns, l.max_ns, l.total_ns].map(duration));
                r.push(percent(l.total_ns, sums.total_ns).unwrap_or_else(dash));
            }
            None => r.extend(["-", "-", "-", "-", "-"].map(String::from)),
        }
        r.push((e.out_const + e.out_arena).to_string());
        r.push((e.in_const + e.in_arena).to_string());
        table.push(r);
    }
    // The total row: "-" in the id columns and where a sum means nothing.
    let mut r = vec!["total".to_string()];
    r.resize(head.iter().position(|&h| h == "calls").unwrap_or(1), dash());
    r.extend([sums.calls, sums.errors, sums.denied].map(|v| v.to_string()));
    r.extend([dash(), dash()]);
    if sums.timed > 0 {
        r.extend([duration(sums.max_ns), duration(sums.total_ns)]);
    } else {
        r.extend([dash(), dash()]);
    }
    r.push(percent(sums.total_ns, sums.total_ns).unwrap_or_else(dash));
    r.push((sums.out_const + sums.out_arena).to_string());
    r.push((sums.in_const + sums.in_arena).to_string());
    table.push(r);
    let ncol = table[0].len();
    let width: Vec<usize> = (0..ncol)
        .map(|c| table.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    // Text columns (op, connection, iid.mid, name) left-aligned, numbers
    // right-aligned.
    let ids = 2 + with_conns as usize;
    let left =
        |c: usize| c == 0 || (with_conns && c == 2) || c == ids || (with_names && c == ids + 1);
    for r in &table {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c > 0 {
                line.push_str("  ");
            }
            if left(c) {
                let _ = write!(line, "{cell:<w$}", w = width[c]);
            } else {
                let _ = write!(line, "{cell:>w$}", w = width[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The JSON document (schema version 1, one line per key).
pub fn json(s: &Snapshot, names: &NameMap) -> String {
    let g = &s.global;
    let mut o = String::new();
    let _ = write!(
        o,
        "{{\"version\":1,\"level\":\"{}\",\"clock\":{{\"source\":\"{}\",\"ns_per_tick\":{}}},",
        g.level.name(),
        s.clock.name(),
        s.ns_per_tick
    );
    let _ = write!(o, "\"global\":{{\"calls\":{},\"calls_by_op\":{{", g.calls);
    for (i, op) in crate::op::Op::ALL.iter().enumerate() {
        let _ = write!(
            o,
            "{}\"{}\":{}",
            if i > 0 { "," } else { "" },
            op.key(),
            g.by_op[i]
        );
    }
    let _ = write!(
        o,
        "}},\"reentrant\":{},\"dropped\":{},\"keys\":{},\"capacity\":{}}},",
        g.reentrant, g.dropped, g.keys, g.capacity
    );
    json_totals(&mut o, &Totals::of(&s.entries));
    o.push_str(",\n\"keys\":[");
    for (i, e) in sorted(&s.entries).into_iter().enumerate() {
        o.push_str(if i > 0 { ",\n" } else { "\n" });
        o.push('{');
        match e.key {
            Some(k) => {
                let _ = write!(
                    o,
                    "\"overflow\":false,\"op\":\"{}\",\"handle\":{},\"iid\":{},\"mid\":{},",
                    k.op.key(),
                    k.handle,
                    k.iid,
                    k.mid
                );
                o.push_str("\"connection\":");
                match locator::connection(k.handle) {
                    Some((n, _)) => json_str(&mut o, n.as_str()),
                    None => o.push_str("null"),
                }
                let m = locator::method(names, k.handle, k.iid, k.mid);
                let n = m.name();
                let iface = n.interface().map(|i| i.name.as_str());
                for (key, v) in [
                    ("endpoint", n.endpoint()),
                    ("interface", iface.or(n.endpoint())),
                    ("method", n.method()),
                ] {
                    let _ = write!(o, ",\"{key}\":");
                    match v {
                        Some(v) => json_str(&mut o, v),
                        None => o.push_str("null"),
                    }
                }
                o.push(',');
            }
            None => o.push_str(
                "\"overflow\":true,\"op\":null,\"handle\":null,\"iid\":null,\"mid\":null,\
                 \"connection\":null,\"endpoint\":null,\"interface\":null,\"method\":null,",
            ),
        }
        let _ = write!(
            o,
            "\"calls\":{},\"ok\":{},\"errors\":{},\"denied\":{},\"audit_denied\":{},\"rc\":{{",
            e.calls, e.ok, e.errors, e.denied, e.audit_denied
        );
        let mut first = true;
        for slot in 1..RC_SLOTS {
            if e.rc[slot] > 0 {
                let _ = write!(
                    o,
                    "{}\"{}\":{}",
                    if first { "" } else { "," },
                    rc_slot_name(slot),
                    e.rc[slot]
                );
                first = false;
            }
        }
        let _ = write!(
            o,
            "}},\"bytes\":{{\"out_const\":{},\"out_arena\":{},\"in_const\":{},\"in_arena\":{}}},",
            e.out_const, e.out_arena, e.in_const, e.in_arena
        );
        match e.latency {
            Some(l) => {
                let _ = write!(
                    o,
                    "\"latency_ns\":{{\"count\":{},\"total\":{},\"min\":{},\"max\":{},\
                     \"p50\":{},\"p90\":{},\"p99\":{},\"p999\":{}}}",
                    l.count,
                    l.total_ns,
                    l.min_ns,
                    l.max_ns,
                    l.p50_ns,
                    l.p90_ns,
                    l.p99_ns,
                    l.p999_ns
                );
            }
            None => o.push_str("\"latency_ns\":null"),
        }
        o.push('}');
    }
    o.push_str("\n]}\n");
    o
}

/// `"totals":{...}`: the sums of [`Totals`], `latency_ns` null when no
/// latency was measured.
fn json_totals(o: &mut String, t: &Totals) {
    let _ = write!(
        o,
        "\"totals\":{{\"calls\":{},\"ok\":{},\"errors\":{},\"denied\":{},\"audit_denied\":{},\
         \"bytes\":{{\"out_const\":{},\"out_arena\":{},\"in_const\":{},\"in_arena\":{}}},\"latency_ns\":",
        t.calls, t.ok, t.errors, t.denied, t.audit_denied, t.out_const, t.out_arena, t.in_const, t.in_arena
    );
    if t.timed > 0 {
        let _ = write!(
            o,
            "{{\"count\":{},\"total\":{},\"max\":{}}}}}",
            t.timed, t.total_ns, t.max_ns
        );
    } else {
        o.push_str("null}");
    }
}

/// Render the process's statistics now.
pub fn render(fmt: Format) -> String {
    let snap = super::snapshot();
    let names = crate::names::global();
    match fmt {
        Format::Text => {
            let mut t = text(&snap, names);
            // The policy's verdict totals and per-rule hits, when one is active.
            if crate::policy::stats().active != 0 {
                let _ = crate::policy::write_stats(&mut t);
            }
            t
        }
        Format::Json => json(&snap, names),
    }
}

/// Why a dump could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// The descriptor refused the bytes (closed, or an I/O error).
    Fd,
    /// The file could not be opened, written or closed.
    File(sys::FileError),
}

impl core::fmt::Display for WriteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            WriteError::Fd => f.write_str("write failed"),
            WriteError::File(e) => write!(f, "{e}"),
        }
    }
}

/// Write the process's statistics to a file descriptor.
pub fn write_fd(fd: i32, fmt: Format) -> Result<(), WriteError> {
    if sys::write_fd(fd, render(fmt).as_bytes()) {
        Ok(())
    } else {
        Err(WriteError::Fd)
    }
}

/// Write the process's statistics to a file, replacing it.
pub fn write_file(path: &str, fmt: Format) -> Result<(), WriteError> {
    put_file(path, sys::Mode::Create, &render(fmt))
}

fn put_file(path: &str, mode: sys::Mode, text: &str) -> Result<(), WriteError> {
    let mut f = sys::File::open(path, mode).map_err(WriteError::File)?;
    f.write_all(text.as_bytes()).map_err(WriteError::File)?;
    f.close().map_err(WriteError::File)
}

/// Write the process's statistics to a `KOS_SHIM_STATS` destination: the
/// text table to stderr or a file, JSON to a file, each file rewritten.
/// With `KOS_SHIM_STATS_INTERVAL` set ([`super::periodic`]), every dump is
/// appended instead: a table after a header line, or one line of JSON with
/// its `dump` member.
#[cfg(feature = "clib")]
pub fn write_sink(sink: &super::config::Sink) -> Result<(), WriteError> {
    use super::config::Sink;
    use super::periodic;
    let kind = match periodic::current() {
        None => {
            return match sink {
                Sink::Stderr => write_fd(2, Format::Text),
                Sink::Text(p) => write_file(p, Format::Text),
                Sink::Json(p) => write_file(p, Format::Json),
            }
        }
        // The periodic thread, after the exit dump began: nothing more.
        Some(None) => return Ok(()),
        Some(Some(kind)) => kind,
    };
    let text = || periodic::text_header(kind) + &render(Format::Text);
    match sink {
        Sink::Stderr => {
            if sys::write_fd(2, text().as_bytes()) {
                Ok(())
            } else {
                Err(WriteError::Fd)
            }
        }
        Sink::Text(p) => put_file(p, sys::Mode::Append, &text()),
        Sink::Json(p) => {
            let snap = super::snapshot();
            let doc = json(&snap, crate::names::global());
            // One line: the document's only newlines are between members
            // (strings escape theirs).
            let mut line = String::with_capacity(doc.len() + 160);
            line.push('{');
            line.push_str(&periodic::json_member(kind, snap.global.calls));
            line.extend(doc[1..].chars().filter(|&c| c != '\n'));
            line.push('\n');
            put_file(p, sys::Mode::Append, &line)
        }
    }
}
