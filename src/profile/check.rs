//! The build-time check of the KasperskyOS CE profile against an SDK's
//! headers (feature `sdk-profile`; every host build runs it on this
//! project's own headers in include/kos as well).
//!
//! `kos_profile_check.c` is compiled to assembly against the headers (never
//! run, so a cross compiler works) and the tables it defines are read back:
//! for every fact of `kos_profile_facts.h` the SDK's value beside the KCE
//! profile's, the facts' names, and test messages showing where the
//! `nk_message.ex` bit-fields land. Any difference is reported by name with
//! both values.
//!
//! Shared by build.rs and tests/profile_check.rs (included with `#[path]`),
//! so it depends on nothing but std.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

const FACTS_START: i64 = 0x4B4F_5350_524F_4633;
const FACTS_END: i64 = 0x4B4F_5350_524F_4634;
const WORDS_START: i64 = 0x4B4F_5350_524F_4635;
const WORDS_END: i64 = 0x4B4F_5350_524F_4636;

/// How to compile the check.
#[derive(Debug, Clone)]
pub struct Compiler {
    /// The C compiler (the target's: a cross compiler for cross builds).
    pub program: PathBuf,
    /// Flags: include directories, defines, target flags.
    pub args: Vec<String>,
    /// The target architecture (`CARGO_CFG_TARGET_ARCH`): it decides how
    /// wide the assembler's `.word` is.
    pub arch: String,
}

/// One fact as the SDK's headers and the KCE profile give it (a difference
/// when the two values differ).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The fact, e.g. `SMsgHdr.threadId`.
    pub name: String,
    /// What the SDK's headers give.
    pub sdk: i64,
    /// What the KCE profile says.
    pub kce: i64,
}

/// The outcome of a check that compiled.
#[derive(Debug, Clone)]
pub struct Report {
    /// How many facts were compared.
    pub facts: usize,
    /// Those that differ.
    pub mismatches: Vec<Mismatch>,
}

impl Report {
    /// The build error for the mismatches, or None when there are none.
    pub fn error(&self, headers: &str) -> Option<String> {
        if self.mismatches.is_empty() {
            return None;
        }
        let mut s = format!(
            "sdk-profile: {} of {} facts of the KasperskyOS CE profile differ in {headers} \
             (the shim reads messages with the KCE layout, so it cannot be built for these \
             headers; docs/abi.md):",
            self.mismatches.len(),
            self.facts
        );
        for m in &self.mismatches {
            s.push_str(&format!(
                "\n  {}: the headers give {} (0x{:x}), the KCE profile {} (0x{:x})",
                m.name, m.sdk, m.sdk, m.kce, m.kce
            ));
        }
        Some(s)
    }
}

/// Compile `dir/kos_profile_check.c` with `cc` into `out_dir` and compare.
/// Err: the check could not be compiled or read (the message says why).
pub fn run(cc: &Compiler, dir: &Path, out_dir: &Path) -> Result<Report, String> {
    let src = dir.join("kos_profile_check.c");
    let asm = out_dir.join("kos_profile_check.s");
    let mut cmd = Command::new(&cc.program);
    cmd.args(&cc.args)
        .arg("-std=c11")
        .arg("-I")
        .arg(dir)
        .arg("-S")
        .arg("-o")
        .arg(&asm)
        .arg(&src);
    let out = cmd
        .output()
        .map_err(|e| format!("sdk-profile: cannot run the C compiler ({cmd:?}): {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "sdk-profile: the profile check does not compile against these headers \
             ({cmd:?}); a missing name can be mapped with KOS_SDK_PROFILE_FIELDS:\n{}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = std::fs::read_to_string(&asm)
        .map_err(|e| format!("sdk-profile: {}: {e}", asm.display()))?;
    compare(&text, &cc.arch)
}

/// Read the tables out of the assembly text and compare.
pub fn compare(asm: &str, arch: &str) -> Result<Report, String> {
    let all = facts(asm, arch)?;
    Ok(Report {
        facts: all.len(),
        mismatches: all.into_iter().filter(|f| f.sdk != f.kce).collect(),
    })
}

/// Every fact with the SDK's value (`sdk`) and the profile's (`kce`).
pub fn facts(asm: &str, arch: &str) -> Result<Vec<Mismatch>, String> {
    let pairs = framed(
        &data_of(asm, "kos_profile_facts", arch)?,
        FACTS_START,
        FACTS_END,
    )?;
    let words = framed(
        &data_of(asm, "kos_profile_bit_words", arch)?,
        WORDS_START,
        WORDS_END,
    )?;
    let names_bytes = data_of(asm, "kos_profile_fact_names", arch)?;
    let names: Vec<String> = names_bytes
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect();
    if pairs.len() % 2 != 0 || names.len() != pairs.len() / 2 + words.len() {
        return Err(format!(
            "sdk-profile: the check's tables do not line up ({} values, {} names, {} bit facts)",
            pairs.len(),
            names.len(),
            words.len()
        ));
    }
    let mut all: Vec<Mismatch> = pairs
        .chunks(2)
        .zip(&names)
        .map(|(pair, name)| Mismatch {
            name: name.clone(),
            sdk: pair[0],
            kce: pair[1],
        })
        .collect();
    // The test messages' ex word sits where the SDK puts nk_message.ex.
    let ex_offset = all
        .iter()
        .find(|f| f.name == "nk_message.ex")
        .map_or(4, |f| f.sdk as usize);
    let probes = data_of(asm, "kos_profile_bit_probes", arch)?;
    // One message per probe (any red zone a sanitizer adds comes after).
    let stride = all
        .iter()
        .find(|f| f.name == "sizeof(nk_message)")
        .map_or(24, |f| f.sdk as usize);
    for (i, (&want, name)) in words.iter().zip(&names[pairs.len() / 2..]).enumerate() {
        let at = i * stride + ex_offset;
        let got = probes
            .get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64)
            .ok_or_else(|| format!("sdk-profile: test message {i} is too short"))?;
        all.push(Mismatch {
            name: name.clone(),
            sdk: got,
            kce: want,
        });
    }
    Ok(all)
}

/// The 64-bit little-endian values between the two markers. (Sanitizer
/// builds pad globals with red zones, so the markers need not be the first
/// and last values.)
fn framed(bytes: &[u8], start: i64, end: i64) -> Result<Vec<i64>, String> {
    let values: Vec<i64> = bytes
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    let from = values.iter().position(|&v| v == start);
    let to = from.and_then(|f| values[f..].iter().position(|&v| v == end).map(|t| f + t));
    match (from, to) {
        (Some(f), Some(t)) => Ok(values[f + 1..t].to_vec()),
        _ => Err(format!(
            "sdk-profile: a table is not framed by its markers (0x{start:x}): \
             a big-endian target, or an assembler this check does not read"
        )),
    }
}

/// The bytes of the object defined at `label:` in GNU assembler syntax:
/// integers (`.byte`, `.value`/`.short`/`.hword`/`.2byte`, `.long`/`.4byte`,
/// `.word` (2 bytes on x86, 4 elsewhere), `.quad`/`.xword`/`.dword`/`.8byte`),
/// room (`.zero`/`.skip`/`.space`) and strings (`.ascii`, `.string`/`.asciz`
/// with their terminating NUL), little-endian.
fn data_of(asm: &str, label: &str, arch: &str) -> Result<Vec<u8>, String> {
    let head = format!("{label}:");
    let mut lines = asm.lines().map(str::trim);
    if !lines.any(|l| l == head) {
        return Err(format!(
            "sdk-profile: {label} not found in the check's assembly"
        ));
    }
    let word = if arch == "x86_64" || arch == "x86" {
        2
    } else {
        4
    };
    let mut bytes = Vec::new();
    for line in lines {
        let (directive, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim();
        let width = match directive {
            ".byte" => 1,
            ".value" | ".short" | ".hword" | ".2byte" => 2,
            ".long" | ".4byte" | ".int" => 4,
            ".word" => word,
            ".quad" | ".xword" | ".dword" | ".8byte" => 8,
            ".zero" | ".skip" | ".space" => {
                let n: usize = rest
                    .split(',')
                    .next()
                    .and_then(|n| n.trim().parse().ok())
                    .ok_or_else(|| format!("sdk-profile: cannot read `{line}`"))?;
                bytes.resize(bytes.len() + n, 0);
                continue;
            }
            ".ascii" | ".string" | ".asciz" => {
                bytes.extend(unquote(rest).ok_or_else(|| format!("sdk-profile: `{line}`"))?);
                if directive != ".ascii" {
                    bytes.push(0);
                }
                continue;
            }
            _ => break,
        };
        for item in rest.split(',') {
            let v =
                number(item.trim()).ok_or_else(|| format!("sdk-profile: cannot read `{line}`"))?;
            bytes.extend_from_slice(&v.to_le_bytes()[..width]);
        }
    }
    Ok(bytes)
}

/// A decimal or hex integer, possibly negative.
fn number(s: &str) -> Option<i128> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    let v = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => i128::from_str_radix(hex, 16).ok()?,
        None => digits.parse::<i128>().ok()?,
    };
    Some(if neg { -v } else { v })
}

/// The bytes of a quoted assembler string (`\NNN` octal, `\"`, `\\`, `\n`, `\t`).
fn unquote(s: &str) -> Option<Vec<u8>> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = Vec::new();
    let mut it = inner.bytes().peekable();
    while let Some(b) = it.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match it.next()? {
            d @ b'0'..=b'7' => {
                let mut v = (d - b'0') as u32;
                for _ in 0..2 {
                    match it.peek() {
                        Some(&n @ b'0'..=b'7') => {
                            v = v * 8 + (n - b'0') as u32;
                            it.next();
                        }
                        _ => break,
                    }
                }
                out.push(v as u8);
            }
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            other => out.push(other),
        }
    }
    Some(out)
}
