//! Generates the C header of kos-ipc-shim from the crate's `extern "C"`
//! items with cbindgen (configuration: `cbindgen.toml` at the crate root).
//!
//! `kos-ipc-shim-header write` writes `include/kos_ipc_shim.h`;
//! `kos-ipc-shim-header check` compares it with a fresh generation and
//! exits 1, naming the first line that differs, when it is stale.
//! The header does not depend on the library's enabled features: cfg'd
//! items appear under `#if defined(KOS_SHIM_...)` guards.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const HEADER: &str = "include/kos_ipc_shim.h";

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_default();
    if mode != "write" && mode != "check" {
        eprintln!("usage: kos-ipc-shim-header write|check");
        return ExitCode::from(2);
    }
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let crate_dir = crate_dir.canonicalize().unwrap_or(crate_dir);
    let fresh = match generate(&crate_dir) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("kos-ipc-shim-header: {e}");
            return ExitCode::FAILURE;
        }
    };
    let path = crate_dir.join(HEADER);
    if mode == "write" {
        return match std::fs::write(&path, &fresh) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kos-ipc-shim-header: cannot write {}: {e}", path.display());
                ExitCode::FAILURE
            }
        };
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    match first_difference(&committed, &fresh) {
        None => ExitCode::SUCCESS,
        Some((line, old, new)) => {
            eprintln!(
                "{HEADER} is stale: run `make header` and commit it\n  \
                 first difference at line {line}:\n  committed: {old}\n  generated: {new}"
            );
            ExitCode::FAILURE
        }
    }
}

/// The header cbindgen generates now, as text.
fn generate(crate_dir: &PathBuf) -> Result<String, String> {
    let config = cbindgen::Config::from_file(crate_dir.join("cbindgen.toml"))
        .map_err(|e| format!("cbindgen.toml: {e}"))?;
    let bindings = cbindgen::Builder::new()
        .with_crate(crate_dir)
        .with_config(config)
        .generate()
        .map_err(|e| format!("cbindgen could not generate the header: {e}"))?;
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).map_err(|e| format!("generated header is not UTF-8: {e}"))
}

/// The first line (1-based) where `a` and `b` differ, with both versions
/// ("<end of file>" where one is shorter).
fn first_difference(a: &str, b: &str) -> Option<(usize, String, String)> {
    let (mut x, mut y) = (a.lines(), b.lines());
    for n in 1.. {
        match (x.next(), y.next()) {
            (None, None) => return (a != b).then(|| (n, "<newline at end>".into(), String::new())),
            (l, r) if l != r => {
                let show = |s: Option<&str>| s.unwrap_or("<end of file>").to_string();
                return Some((n, show(l), show(r)));
            }
            _ => {}
        }
    }
    None
}
