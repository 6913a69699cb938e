//! The tools' help, man pages and shell completions (`generate`, which
//! `make install` runs): made from the clap definitions, naming every
//! subcommand, the bash script valid for `bash -n`.

use std::path::{Path, PathBuf};
use std::process::Command;

const TRACE: &str = env!("CARGO_BIN_EXE_kos-ipc-trace");
const HOST_RUN: &str = env!("CARGO_BIN_EXE_kos-host-run");
const SUBCOMMANDS: [&str; 6] = [
    "summary",
    "export",
    "names",
    "merge",
    "policy-from",
    "check",
];

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kos-cli-gen-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Run `tool args`; must succeed; its stdout.
fn ok(tool: &str, args: &[&str]) -> String {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn read(p: &Path) -> String {
    let t = std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    assert!(!t.trim().is_empty(), "{} is empty", p.display());
    t
}

#[test]
fn help_is_about_the_tool_with_examples() {
    let h = ok(TRACE, &["--help"]);
    assert!(
        h.starts_with("Read what kos-ipc-shim records about a program's IPC"),
        "{h}"
    );
    assert!(
        h.contains("\nExamples:\n  kos-ipc-trace summary app.kst"),
        "{h}"
    );
    assert!(h.contains("Exit status: 0 success; 1 error"), "{h}");
    for s in SUBCOMMANDS {
        assert!(h.contains(&format!("\n  {s} ")), "{s} missing from --help");
        let sh = ok(TRACE, &[s, "--help"]);
        assert!(
            sh.contains(&format!("\nExamples:\n  kos-ipc-trace {s}")),
            "{s} --help:\n{sh}"
        );
    }
    assert!(!h.contains("generate"), "generate is hidden");
}

#[test]
fn man_pages_of_the_tool_and_each_subcommand() {
    let d = dir("man");
    let listed = ok(TRACE, &["generate", "man", d.to_str().unwrap()]);
    let mut want: Vec<PathBuf> = SUBCOMMANDS
        .iter()
        .map(|s| d.join(format!("kos-ipc-trace-{s}.1")))
        .collect();
    want.push(d.join("kos-ipc-trace.1"));
    let got: Vec<PathBuf> = listed.lines().map(PathBuf::from).collect();
    assert_eq!(got, want);
    let main = read(&d.join("kos-ipc-trace.1"));
    assert!(main.contains(".TH kos-ipc-trace 1"), "{main}");
    for s in SUBCOMMANDS {
        assert!(
            main.contains(&format!("kos\\-ipc\\-trace\\-{}(1)", s.replace('-', "\\-"))),
            "{s}"
        );
        let page = read(&d.join(format!("kos-ipc-trace-{s}.1")));
        assert!(
            page.contains(&format!(".TH kos-ipc-trace-{s} 1")),
            "{s}: {page}"
        );
    }
    assert!(read(&d.join("kos-ipc-trace-check.1")).contains("Exit status: 0 clean, 1 errors"));
    let listed = ok(HOST_RUN, &["generate", "man", d.to_str().unwrap()]);
    assert_eq!(listed.trim(), d.join("kos-host-run.1").to_str().unwrap());
    assert!(read(&d.join("kos-host-run.1")).contains("\\-\\-timeout"));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn completions_for_bash_zsh_and_fish() {
    let d = dir("completions");
    for (shell, file) in [("bash", "{}.bash"), ("zsh", "_{}"), ("fish", "{}.fish")] {
        for (tool, name, words) in [
            (TRACE, "kos-ipc-trace", &SUBCOMMANDS[..]),
            (
                HOST_RUN,
                "kos-host-run",
                &["--timeout", "--dry-run", "--bin-dir"][..],
            ),
        ] {
            let listed = ok(
                tool,
                &["generate", "completions", shell, d.to_str().unwrap()],
            );
            let p = d.join(file.replace("{}", name));
            assert_eq!(listed.trim(), p.to_str().unwrap());
            let script = read(&p);
            for w in words {
                // fish names long options without their dashes.
                let w = if shell == "fish" {
                    w.trim_start_matches('-')
                } else {
                    w
                };
                assert!(script.contains(w), "{shell} {name}: no {w}");
            }
            if shell == "bash" {
                let st = Command::new("bash").arg("-n").arg(&p).status().unwrap();
                assert!(st.success(), "bash -n {}", p.display());
            }
        }
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn bad_generate_arguments_are_usage_errors() {
    for (tool, args) in [
        (TRACE, &["generate", "completions", "nushell", "x"][..]),
        (TRACE, &["generate", "man"]),
        (HOST_RUN, &["generate", "completions", "tcsh", "x"]),
    ] {
        let out = Command::new(tool).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    // An unwritable directory: an error naming it, exit 1.
    let out = Command::new(TRACE)
        .args(["generate", "man", "/proc/kos-no-such-dir"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("kos-ipc-trace: generate: /proc/kos-no-such-dir: "),
        "{err}"
    );
}
