//! `kos-ipc-trace check POLICY`: every error with its line and column, the
//! rules understood, exit status 0 (clean), 1 (errors), 2 (could not check).

use std::path::PathBuf;
use std::process::{Command, Output};

const TOOL: &str = env!("CARGO_BIN_EXE_kos-ipc-trace");

fn dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kos-cli-check-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Run the tool in `d` (paths relative to it), without the library's
/// name variables unless `env` sets them.
fn run(d: &PathBuf, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(TOOL);
    c.current_dir(d).args(args);
    for v in ["KOS_SHIM_NAMES", "KOS_SHIM_EDL", "KOS_SHIM_IDL_PATH"] {
        c.env_remove(v);
    }
    c.envs(env.iter().copied());
    c.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The `FILE:LINE:COL: message` lines of stderr.
fn error_lines(out: &Output) -> Vec<String> {
    text(&out.stderr)
        .lines()
        .filter(|l| {
            l.starts_with("p.policy:")
                && l.split(':')
                    .nth(1)
                    .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .map(String::from)
        .collect()
}

/// The error lines are exactly these, in order: each starts with its
/// `FILE:LINE:COL: ` and holds its word.
fn expect_errors(out: &Output, want: &[(&str, &str)]) {
    let got = error_lines(out);
    let ok = got.len() == want.len()
        && got
            .iter()
            .zip(want)
            .all(|(g, (at, word))| g.starts_with(at) && g[at.len()..].contains(word));
    assert!(ok, "errors {got:#?}, expected {want:?}");
}

#[test]
fn fault_rules_are_listed_with_the_access_rules_in_line_order() {
    let d = dir("faults");
    std::fs::write(
        d.join("p.policy"),
        "allow call\nfail call iid=3 rc=rcTimeout p=0.1\nallow recv\ndelay reply 5ms every=3\n",
    )
    .unwrap();
    let out = run(&d, &["check", "p.policy"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "p.policy: 2 rules and 2 fault rules, mode enforce, default deny (implicit); no names (ids only)\n\
         line 1: allow call\n\
         line 2: fail call iid=3 rc=rcTimeout p=0.1\n\
         line 3: allow recv\n\
         line 4: delay reply 5ms every=3\n"
    );
    // A fault rule's own error is reported like any other.
    std::fs::write(d.join("p.policy"), "allow call\nfail call rc=rcBogus\n").unwrap();
    let out = run(&d, &["check", "p.policy"], &[]);
    assert_eq!(out.status.code(), Some(1));
    expect_errors(&out, &[("p.policy:2:", "rcBogus")]);
}

#[test]
fn a_clean_policy_prints_its_rules_and_exits_0() {
    let d = dir("good");
    std::fs::write(
        d.join("p.policy"),
        "# a comment\nmode audit\nallow call iid=7 mid=1\n\ndeny reply handle=3\ndefault allow\n",
    )
    .unwrap();
    let out = run(&d, &["check", "p.policy"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "p.policy: 2 rules, mode audit, default allow (line 6); no names (ids only)\n\
         line 3: allow call iid=7 mid=1\n\
         line 5: deny reply handle=3\n"
    );
    assert_eq!(text(&out.stderr), "");
    // --quiet: nothing at all when clean.
    let out = run(&d, &["check", "-q", "p.policy"], &[]);
    assert_eq!(
        (out.status.code(), out.stdout.len(), out.stderr.len()),
        (Some(0), 0, 0)
    );
}

#[test]
fn every_error_is_reported_with_line_and_column_and_exits_1() {
    let d = dir("bad");
    std::fs::write(
        d.join("p.policy"),
        "allow call\n\
         deny call iid=7 mid=x\n\
         allow recv\n\
         bogus stuff\n\
         mode audit\n\
         mode enforce\n\
         \tdeny  reply   mid=3 iid=99999\n\
         allow callx\n\
         deny reply mid=4\n",
    )
    .unwrap();
    let out = run(&d, &["check", "p.policy"], &[]);
    assert_eq!(out.status.code(), Some(1));
    // Where each error is, and a word of its message (the parser's wording
    // is the library's, tested there).
    expect_errors(
        &out,
        &[
            ("p.policy:2:21: ", "names"),
            ("p.policy:4:1: ", "'bogus'"),
            ("p.policy:6:1: ", "line 5"),
            ("p.policy:7:26: ", "65535"),
            ("p.policy:8:7: ", "'callx'"),
        ],
    );
    let err = text(&out.stderr);
    // Each error shows its line with a caret under the column (tabs kept).
    assert!(
        err.contains("\n    \tdeny  reply   mid=3 iid=99999\n    \t                        ^\n"),
        "{err}"
    );
    assert!(err.contains("p.policy: give the names with --names FILE or --edl ENTITY [-I DIR]\n"));
    assert!(err.ends_with("p.policy: 5 errors\n"), "{err}");
    // The rules of the other lines.
    assert_eq!(
        text(&out.stdout),
        "p.policy: 3 rules, mode audit, default deny (implicit); no names (ids only)\n\
         (the rules of the lines without errors)\n\
         line 1: allow call\n\
         line 3: allow recv\n\
         line 9: deny reply mid=4\n"
    );
}

#[test]
fn names_come_from_the_options_or_the_environment() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let names = root.join("examples/echo.names");
    let edl = root.join("examples/idl/echo/Server.edl");
    let idl = root.join("examples/idl");
    let d = dir("names");
    std::fs::write(
        d.join("p.policy"),
        "allow call Echo.Echo\ndeny call iid=echo.Echo mid=Quit\nallow call Echo.Nope\n",
    )
    .unwrap();
    // (options, environment, where the names came from)
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);
    let cases: [Case; 3] = [
        (
            vec!["--names", names.to_str().unwrap()],
            vec![],
            "(the options)",
        ),
        (
            vec!["--edl", edl.to_str().unwrap(), "-I", idl.to_str().unwrap()],
            vec![],
            "(the options)",
        ),
        (
            vec![],
            vec![
                ("KOS_SHIM_EDL", "echo.Server"),
                ("KOS_SHIM_IDL_PATH", idl.to_str().unwrap()),
            ],
            "names from echo.Server (the environment)",
        ),
    ];
    for (opts, env, from) in cases {
        let mut args = vec!["check"];
        args.extend(&opts);
        args.push("p.policy");
        let out = run(&d, &args, &env);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        expect_errors(&out, &[("p.policy:3:17: ", "'Nope'")]);
        let stdout = text(&out.stdout);
        assert!(
            stdout.lines().next().unwrap().ends_with(from),
            "{args:?}: {stdout}"
        );
        // The names resolved to the RIID's numbers.
        assert!(
            stdout.contains("\nline 1: allow call iid=0 mid=0\nline 2: deny call iid=0 mid=2\n"),
            "{stdout}"
        );
    }
}

#[test]
fn a_line_that_is_not_utf8_is_one_error_and_the_rest_is_checked() {
    let d = dir("utf8");
    std::fs::write(
        d.join("p.policy"),
        b"allow call\ndeny re\xffply\nallow rcv\n",
    )
    .unwrap();
    let out = run(&d, &["check", "p.policy"], &[]);
    assert_eq!(out.status.code(), Some(1));
    expect_errors(
        &out,
        &[("p.policy:2:8: ", "UTF-8"), ("p.policy:3:7: ", "'rcv'")],
    );
}

#[test]
fn many_errors_stop_at_the_limit() {
    let d = dir("many");
    std::fs::write(d.join("p.policy"), "bogus\n".repeat(150)).unwrap();
    let out = run(&d, &["check", "-q", "p.policy"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(error_lines(&out).len(), 100);
    assert!(text(&out.stderr).contains("p.policy: stopped after 100 errors\n"));
    assert_eq!(out.stdout.len(), 0, "--quiet prints no rules");
}

#[test]
fn a_check_that_cannot_run_exits_2() {
    let d = dir("usage");
    std::fs::write(d.join("p.policy"), "allow call\n").unwrap();
    for (args, msg) in [
        (vec!["check"], "required arguments were not provided"),
        (
            vec!["check", "nope.policy"],
            "kos-ipc-trace: check: nope.policy: ",
        ),
        (
            vec!["check", "--names", "nope.names", "p.policy"],
            "kos-ipc-trace: check: names: ",
        ),
        (
            vec!["check", "--bogus", "p.policy"],
            "unexpected argument '--bogus'",
        ),
    ] {
        let out = run(&d, &args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains(msg),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}
