//! `KOS_SHIM_STATS_INTERVAL`: periodic statistics while a program runs.
//!
//! Each check runs this test binary again as the program (an `#[ignore]`d
//! test selected by name), because the statistics read the environment
//! once per process and the final dump happens at its exit. The program
//! makes calls until its JSON destination holds three periodic dumps (so
//! the checks never depend on how fast the machine is; 60 s bound), then
//! exits; the checks read what it left.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kos_ipc_shim::abi::*;
use kos_ipc_shim::backend::{set_backend, Args, Backend};
use kos_ipc_shim::op::Op;
use kos_ipc_shim::stats;

struct Refuser;
impl Backend for Refuser {
    fn forward(&self, _op: Op, _args: &mut Args<'_>) -> Retcode {
        rcNotConnected
    }
    fn name(&self) -> &'static str {
        "refuser"
    }
}
static REFUSER: Refuser = Refuser;

#[repr(C, align(8))]
struct Buf([u8; 64]);

fn reply(n: usize) {
    let mut msg = Buf([0; 64]);
    let m = nk_message::new(3, 4, 24);
    // SAFETY: 8-aligned buffer larger than nk_message.
    unsafe { (msg.0.as_mut_ptr() as *mut nk_message).write(m) };
    let mut out = SMsgHdr::ZERO;
    out.set_descs([
        IndirDesc {
            buf: msg.0.as_mut_ptr().cast(),
            size: 24,
        },
        IndirDesc::NONE,
    ]);
    for _ in 0..n {
        // SAFETY: a valid header whose buffer outlives the call.
        assert_eq!(
            unsafe { kos_ipc_shim::entry::Reply(77, &out) },
            rcNotConnected
        );
    }
}

/// The program: calls until three periodic dumps are in `KOS_PERIODIC_JSON`,
/// then prints how many it made and exits (the final dump follows).
#[test]
#[ignore = "run by periodic_dumps_while_the_program_runs as its program"]
fn program_until_three_dumps() {
    set_backend(&REFUSER).unwrap();
    assert_eq!(stats::level(), stats::Level::Timing);
    let json = std::env::var("KOS_PERIODIC_JSON").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut made = 0;
    while lines_of_kind(&json, "periodic") < 3 {
        assert!(
            Instant::now() < deadline,
            "fewer than 3 periodic dumps in 60 s"
        );
        reply(10);
        made += 10;
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("made {made}");
}

/// Lines of kind `kind` in a JSON Lines file so far.
fn lines_of_kind(path: &str, kind: &str) -> usize {
    let prefix = format!("{{\"dump\":{{\"kind\":\"{kind}\"");
    std::fs::read_to_string(path)
        .map_or(0, |t| t.lines().filter(|l| l.starts_with(&prefix)).count())
}

/// The documents of a JSON Lines file, each line parsed.
fn json_lines(path: impl AsRef<std::path::Path>) -> Vec<serde_json::Value> {
    let path = path.as_ref();
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Wait (at most 60 s) until `path` holds a line of `kind`.
fn wait_for_kind(path: &str, kind: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines_of_kind(path, kind) == 0 {
        assert!(Instant::now() < deadline, "no {kind} dump in 60 s");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The program: 5 calls, a periodic dump, SIGUSR1 and its dump, 2 more
/// calls, exit.
#[test]
#[ignore = "run by a_signal_dump_joins_the_periodic_log as its program"]
fn program_with_a_signal() {
    set_backend(&REFUSER).unwrap();
    let json = std::env::var("KOS_PERIODIC_JSON").unwrap();
    reply(5);
    wait_for_kind(&json, "periodic");
    // SAFETY: raise has no memory preconditions; the handler is installed.
    assert_eq!(unsafe { libc::raise(libc::SIGUSR1) }, 0);
    wait_for_kind(&json, "signal");
    reply(2);
}

/// The program for a fork: a periodic dump of the parent, then a fork;
/// the child calls until its own destination (`%p`: its pid) holds three
/// periodic dumps and exits through `exit` (its final dump); the parent,
/// having waited for it, makes its last calls. Prints both pids.
#[test]
#[ignore = "run by a_forked_child_dumps_periodically_on_its_own as its program"]
fn program_that_forks() {
    set_backend(&REFUSER).unwrap();
    let pattern = std::env::var("KOS_PERIODIC_JSON").unwrap();
    let mine = |pid: u32| pattern.replace("%p", &pid.to_string());
    reply(5);
    wait_for_kind(&mine(std::process::id()), "periodic");
    // SAFETY: fork has no memory preconditions; the child only calls the
    // shim, reads files and exits.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork failed");
    if child == 0 {
        let json = mine(std::process::id());
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut made = 0;
        while lines_of_kind(&json, "periodic") < 3 && Instant::now() < deadline {
            reply(3);
            made += 3;
            std::thread::sleep(Duration::from_millis(20));
        }
        println!("child made {made}");
        // SAFETY: ends the child through the C library's exit, which runs
        // the exit handlers (the final dump).
        unsafe { libc::exit(0) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked; `status` is writable.
    assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    reply(2);
    println!("pids {} {child}", std::process::id());
}

/// The program for a bad value: a few calls, then exit.
#[test]
#[ignore = "run by bad_intervals_are_reported_and_ignored as its program"]
fn program_few_calls() {
    set_backend(&REFUSER).unwrap();
    reply(3);
}

fn run(program: &str, envs: &[(&str, String)]) -> Output {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--ignored",
        "--exact",
        program,
        "--nocapture",
        "--test-threads=1",
    ]);
    for v in [
        "KOS_SHIM_STATS",
        "KOS_SHIM_STATS_INTERVAL",
        "KOS_SHIM_STATS_SIGNAL",
        "KOS_SHIM_LOG",
        "KOS_SHIM_TRACE",
        "KOS_SHIM_POLICY",
    ] {
        c.env_remove(v);
    }
    c.envs(envs.iter().map(|(k, v)| (k, v)));
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{program} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn temp(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("kos-periodic-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

/// The `calls N,` of each table in a text log, with the header before it.
fn text_tables(text: &str) -> Vec<(String, u64)> {
    let mut v = Vec::new();
    let mut header = None;
    for l in text.lines() {
        if l.starts_with("=== kos-ipc-shim statistics: ") {
            assert!(header.is_none(), "two headers without a table:\n{text}");
            header = Some(l.to_string());
        } else if let Some(rest) = l.strip_prefix("calls ") {
            let n = rest.split(',').next().unwrap().parse().unwrap();
            let h = header
                .take()
                .unwrap_or_else(|| panic!("a table without header:\n{text}"));
            v.push((h, n));
        }
    }
    assert!(header.is_none(), "a header without a table:\n{text}");
    v
}

/// A text log: at least 3 periodic tables numbered 1, 2, 3... with
/// non-decreasing counts and times, then the final one with `made` calls,
/// last. Returns the number of periodic tables.
fn check_text_log(what: &str, text: &str, made: u64) -> usize {
    let tables = text_tables(text);
    assert!(
        tables.len() >= 4,
        "{what}: {} tables:\n{text}",
        tables.len()
    );
    let (last, rest) = tables.split_last().unwrap();
    assert!(
        last.0.starts_with("=== kos-ipc-shim statistics: final at ")
            && last.0.ends_with(" s (cumulative) ==="),
        "{what}: last header {:?}",
        last.0
    );
    assert_eq!(last.1, made, "{what}: the final table counts every call");
    let mut prev = (0u64, 0.0f64);
    for (i, (h, n)) in rest.iter().enumerate() {
        let prefix = format!("=== kos-ipc-shim statistics: periodic {} at ", i + 1);
        let secs: f64 = h
            .strip_prefix(&prefix)
            .and_then(|s| s.strip_suffix(" s (cumulative) ==="))
            .unwrap_or_else(|| {
                panic!("{what}: header {h:?}, expected {prefix}... s (cumulative) ===")
            })
            .parse()
            .unwrap();
        assert!(
            *n >= prev.0 && secs >= prev.1,
            "{what}: {h} {n} after {prev:?}"
        );
        prev = (*n, secs);
    }
    assert!(last.1 >= prev.0);
    // The last table is the final one: a total row, then nothing but the
    // table's lines (no periodic output after the final dump).
    let tail = &text[text.rfind("=== kos-ipc-shim statistics: final").unwrap()..];
    assert!(
        tail.lines().any(|l| l.starts_with("total ")),
        "{what}: {tail}"
    );
    rest.len()
}

#[test]
fn periodic_dumps_while_the_program_runs() {
    let json = temp("stats.jsonl");
    let text = temp("stats.txt");
    let out = run(
        "program_until_three_dumps",
        &[
            (
                "KOS_SHIM_STATS",
                format!("stderr,text:{},json:{}", text.display(), json.display()),
            ),
            ("KOS_SHIM_STATS_INTERVAL", "0.2".into()),
            ("KOS_PERIODIC_JSON", json.display().to_string()),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let made: u64 = stdout
        .lines()
        // The harness prints its "test NAME ... " before the program's line.
        .find_map(|l| l.split_once("made ").map(|(_, n)| n))
        .unwrap_or_else(|| panic!("no 'made N' line:\n{stdout}"))
        .parse()
        .unwrap();
    assert!(made > 0);

    // JSON Lines: periodic 1, 2, 3..., then final; cumulative counts that
    // never go down, and the delta each periodic line carries.
    let docs = json_lines(&json);
    assert!(docs.len() >= 4, "{docs:?}");
    let (last, periodic) = docs.split_last().unwrap();
    assert_eq!(last["dump"]["kind"], "final");
    assert_eq!(last["global"]["calls"], made);
    assert_eq!(last["totals"]["calls"], made);
    let (mut calls, mut elapsed) = (0u64, 0u64);
    for (i, d) in periodic.iter().enumerate() {
        let dump = &d["dump"];
        assert_eq!(dump["kind"], "periodic", "{d}");
        assert_eq!(dump["seq"], i as u64 + 1);
        assert_eq!(dump["interval_ns"], 200_000_000);
        assert_eq!(d["version"], 1);
        let c = d["global"]["calls"].as_u64().unwrap();
        let e = dump["elapsed_ns"].as_u64().unwrap();
        assert!(c >= calls && e >= elapsed, "{d}");
        assert_eq!(dump["calls_since_last"].as_u64(), Some(c - calls), "{d}");
        assert_eq!(d["totals"]["calls"].as_u64(), Some(c));
        (calls, elapsed) = (c, e);
    }
    assert!(made >= calls);
    assert!(last["dump"]["elapsed_ns"].as_u64().unwrap() >= elapsed);

    let in_text = check_text_log("text:PATH", &std::fs::read_to_string(&text).unwrap(), made);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("kos-ipc-shim:"),
        "no message expected:\n{stderr}"
    );
    let in_stderr = check_text_log("stderr", &stderr, made);
    // A periodic dump goes to every destination or, when the exit came
    // first, to none: never to some.
    assert_eq!((in_text, in_stderr), (periodic.len(), periodic.len()));
    let _ = std::fs::remove_file(&json);
    let _ = std::fs::remove_file(&text);
}

#[test]
fn bad_intervals_are_reported_and_ignored() {
    for bad in ["0", "-1", "abc", "1e3", "100000", "0.0001"] {
        let text = temp("bad.txt");
        let out = run(
            "program_few_calls",
            &[
                ("KOS_SHIM_STATS", format!("text:{}", text.display())),
                ("KOS_SHIM_STATS_INTERVAL", bad.into()),
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let want = format!(
            "kos-ipc-shim: KOS_SHIM_STATS_INTERVAL={bad:?}: not a number of seconds from 0.01 \
             to 86400 (at most 3 decimals, e.g. 0.5 or 10); no periodic statistics\n"
        );
        assert_eq!(stderr, want, "value {bad:?}");
        // The dump at exit as without the variable: one table, rewritten.
        let t = std::fs::read_to_string(&text).unwrap();
        assert!(
            t.starts_with("kos-ipc-shim statistics: level timing"),
            "{t}"
        );
        assert!(t.contains("\ncalls 3, "), "{t}");
        let _ = std::fs::remove_file(&text);
    }
}

#[test]
fn an_interval_without_a_destination_is_reported() {
    let out = run(
        "program_few_calls",
        &[
            ("KOS_SHIM_STATS", "timing".into()),
            ("KOS_SHIM_STATS_INTERVAL", "1".into()),
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "kos-ipc-shim: KOS_SHIM_STATS_INTERVAL=\"1\", but KOS_SHIM_STATS names no usable \
         destination (stderr, text:PATH, json:PATH); no periodic statistics\n"
    );
}

#[test]
fn a_signal_dump_joins_the_periodic_log() {
    let json = temp("signal.jsonl");
    let text = temp("signal.txt");
    run(
        "program_with_a_signal",
        &[
            (
                "KOS_SHIM_STATS",
                format!("text:{},json:{}", text.display(), json.display()),
            ),
            ("KOS_SHIM_STATS_INTERVAL", "0.2".into()),
            ("KOS_SHIM_STATS_SIGNAL", "1".into()),
            ("KOS_PERIODIC_JSON", json.display().to_string()),
        ],
    );
    let docs = json_lines(&json);
    let kinds: Vec<&str> = docs
        .iter()
        .map(|d| d["dump"]["kind"].as_str().unwrap())
        .collect();
    let signal: Vec<_> = docs
        .iter()
        .filter(|d| d["dump"]["kind"] == "signal")
        .collect();
    assert_eq!(signal.len(), 1, "{kinds:?}");
    assert_eq!(signal[0]["global"]["calls"], 5);
    assert_eq!(kinds.last(), Some(&"final"));
    assert_eq!(docs.last().unwrap()["global"]["calls"], 7);
    let t = std::fs::read_to_string(&text).unwrap();
    let headers: Vec<&str> = t.lines().filter(|l| l.starts_with("=== ")).collect();
    assert_eq!(headers.len(), docs.len(), "{t}");
    assert_eq!(
        headers
            .iter()
            .filter(|h| h.starts_with("=== kos-ipc-shim statistics: on SIGUSR1 at "))
            .count(),
        1,
        "{headers:?}"
    );
    let _ = std::fs::remove_file(&json);
    let _ = std::fs::remove_file(&text);
}

/// fork() with periodic statistics on: the child writes periodic dumps of
/// its own (numbered from 1, its calls only: it starts at zero) to its own
/// file, and its final dump; the parent's file holds only the parent's.
#[test]
fn a_forked_child_dumps_periodically_on_its_own() {
    let dir = temp("fork");
    std::fs::create_dir_all(&dir).unwrap();
    let pattern = dir.join("stats-%p.jsonl").display().to_string();
    let out = run(
        "program_that_forks",
        &[
            ("KOS_SHIM_STATS", format!("json:{pattern}")),
            ("KOS_SHIM_STATS_INTERVAL", "0.05".into()),
            ("KOS_PERIODIC_JSON", pattern.clone()),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let number = |prefix: &str| -> Vec<u64> {
        stdout
            .lines()
            .find_map(|l| l.split_once(prefix).map(|(_, n)| n.to_string()))
            .unwrap_or_else(|| panic!("no '{prefix}' line:\n{stdout}"))
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect()
    };
    let child_made = number("child made ")[0];
    let pids = number("pids ");
    let docs = |pid: u64| json_lines(pattern.replace("%p", &pid.to_string()));
    let child = docs(pids[1]);
    let (last, periodic) = child.split_last().unwrap();
    assert!(periodic.len() >= 3, "{child:?}");
    for (i, d) in periodic.iter().enumerate() {
        assert_eq!(d["dump"]["kind"], "periodic", "{d}");
        assert_eq!(
            d["dump"]["seq"],
            i as u64 + 1,
            "numbered from the fork: {d}"
        );
        assert!(d["global"]["calls"].as_u64().unwrap() <= child_made, "{d}");
    }
    assert_eq!(last["dump"]["kind"], "final");
    assert_eq!(
        last["global"]["calls"], child_made,
        "the child's calls only"
    );
    let parent = docs(pids[0]);
    let (last, periodic) = parent.split_last().unwrap();
    assert!(!periodic.is_empty());
    assert_eq!(last["dump"]["kind"], "final");
    assert_eq!(last["global"]["calls"], 5 + 2, "the parent's calls only");
    let _ = std::fs::remove_dir_all(&dir);
}
