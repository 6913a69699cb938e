//! Emulator channels between processes (a world in shared memory).
//!
//! Each test runs its parties as child processes of this very test binary
//! (`--exact child_role` with `XPROC_ROLE` naming the part to play), in a
//! world of its own (`KOS_HOST_WORLD`, unlinked at the end); the test
//! itself may take part too, through [`World::attach`]. Children report on
//! stdout in lines starting with `@`; every child checks its own results
//! and exits non-zero on a failed assertion.

mod host_util;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::Mutex;

use host_util::*;
use kos_ipc_shim::abi::*;
use kos_ipc_shim::host::exports::{kos_host_connect, kos_host_server_register};
use kos_ipc_shim::host::world::World;
use kos_ipc_shim::intercept::{self, CallInfo, Interceptor};
use kos_ipc_shim::Op;

/// Environment variable naming a child's role.
const ROLE: &str = "XPROC_ROLE";
/// How many requests a child serves or sends (`XPROC_N`).
const COUNT: &str = "XPROC_N";

// ---------------------------------------------------------------- harness

/// A world of one test: a unique name, unlinked when dropped.
struct TestWorld {
    name: String,
}

impl TestWorld {
    fn new(test: &str) -> TestWorld {
        let name = format!("kos-xproc-test-{}-{test}", std::process::id());
        let _ = World::unlink(&name);
        TestWorld { name }
    }

    /// Start a child playing `role` as `entity`.
    fn spawn(&self, role: &str, entity: &str, connections: &str, env: &[(&str, &str)]) -> Party {
        let mut cmd = Command::new(std::env::current_exe().unwrap());
        cmd.args([
            "--exact",
            "child_role",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(ROLE, role)
        .env("KOS_HOST_WORLD", &self.name)
        .env("KOS_HOST_ENTITY", entity)
        .env("KOS_HOST_CONNECTIONS", connections)
        .env("KOS_HOST_CONNECT_TIMEOUT_MS", "10000")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn a child");
        let out = BufReader::new(child.stdout.take().unwrap());
        Party { child, out }
    }
}

impl Drop for TestWorld {
    fn drop(&mut self) {
        let _ = World::unlink(&self.name);
    }
}

/// A child process and its report lines.
struct Party {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Party {
    /// The next report line (without the `@`), skipping the test harness's
    /// own output; panics if the child ends first.
    fn line(&mut self) -> String {
        loop {
            let mut l = String::new();
            assert_ne!(self.out.read_line(&mut l).unwrap(), 0, "the child ended");
            if let Some(r) = report_of(&l) {
                return r;
            }
        }
    }

    /// Wait for the report line `want`.
    fn expect(&mut self, want: &str) {
        assert_eq!(self.line(), want);
    }

    /// The rest of the report and whether the child succeeded.
    fn finish(mut self) -> Vec<String> {
        let mut lines = Vec::new();
        let mut l = String::new();
        while self.out.read_line(&mut l).unwrap() != 0 {
            if let Some(r) = report_of(&l) {
                lines.push(r);
            }
            l.clear();
        }
        let status = self.child.wait().unwrap();
        assert!(status.success(), "child {lines:?} ended with {status}");
        lines
    }
}

/// The report in a line of a child's output: from the first `@` (the
/// test harness may have written "test child_role ... " before it).
fn report_of(line: &str) -> Option<String> {
    line.find('@').map(|i| line[i + 1..].trim_end().to_owned())
}

/// Write a report line.
fn report(s: impl std::fmt::Display) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "@{s}").unwrap();
    out.flush().unwrap();
}

fn count() -> u64 {
    std::env::var(COUNT).map_or(1, |n| n.parse().unwrap())
}

fn register(name: &str) -> Handle {
    let c = std::ffi::CString::new(name).unwrap();
    let mut h = 0;
    // SAFETY: valid C string and out-pointer.
    assert_eq!(
        unsafe { kos_host_server_register(c.as_ptr(), &mut h) },
        rcOk
    );
    h
}

fn connect(name: &str) -> Handle {
    let c = std::ffi::CString::new(name).unwrap();
    let mut h = 0;
    // SAFETY: valid C string and out-pointer.
    assert_eq!(unsafe { kos_host_connect(c.as_ptr(), &mut h) }, rcOk);
    h
}

/// The calling thread's id as Recv reports it in `threadId`.
fn my_tid() -> u32 {
    // SAFETY: gettid has no arguments and cannot fail.
    (unsafe { libc::syscall(libc::SYS_gettid) }) as u32
}

/// Records the correlation id of every Call, Recv and Reply that passed.
struct Recorder {
    seen: Mutex<Vec<(Op, u64, Retcode)>>,
}

impl Interceptor for Recorder {
    fn after(&self, info: &CallInfo) {
        self.seen
            .lock()
            .unwrap()
            .push((info.op, info.correlation, info.rc));
    }
}

static RECORDER: Recorder = Recorder {
    seen: Mutex::new(Vec::new()),
};

/// Correlation ids of the calls of `op` that returned rcOk, in order.
fn correlations(op: Op) -> Vec<u64> {
    RECORDER
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.0 == op && e.2 == rcOk)
        .map(|e| e.1)
        .collect()
}

// ------------------------------------------------------------------ roles

/// The entry point of every child: plays `XPROC_ROLE` (nothing without it).
#[test]
fn child_role() {
    let Ok(role) = std::env::var(ROLE) else {
        return;
    };
    match role.as_str() {
        "echo_server" => echo_server(),
        "echo_client" => echo_client(),
        other => panic!("unknown role {other}"),
    }
}

/// Register "echo", answer `XPROC_N` requests with `value * 2 + 1`; report
/// the first request's sender and thread, and every Recv's and Reply's
/// correlation id.
fn echo_server() {
    intercept::register(&RECORDER).unwrap();
    let s = register("echo");
    report("registered");
    for i in 0..count() {
        let mut req = Msg::buffer();
        let mut inp = pack_in(&mut req, None);
        assert_eq!(recv(s, &mut inp), rcOk);
        assert_eq!(req.text, Msg::new(0, "req").text);
        if i == 0 {
            report(format_args!("sender {} {}", inp.sender, inp.threadId));
        }
        let resp = Msg::new(req.value * 2 + 1, "resp");
        assert_eq!(reply(s, &pack_out(&resp, None)), rcOk);
    }
    for (op, name) in [(Op::Recv, "recv"), (Op::Reply, "reply")] {
        for c in correlations(op) {
            report(format_args!("{name} {c}"));
        }
    }
    close(s);
}

/// Connect to "echo" and make `XPROC_N` calls, checking every answer;
/// report this process and thread, and every Call's correlation id.
fn echo_client() {
    intercept::register(&RECORDER).unwrap();
    let c = connect("echo");
    report(format_args!("me {} {}", std::process::id(), my_tid()));
    for i in 0..count() {
        let v = i * 7 + 3;
        let (rc, resp) = request(c, v);
        assert_eq!(rc, rcOk, "call {i}");
        assert_eq!(resp, Msg::new(v * 2 + 1, "resp"), "call {i}");
    }
    for c in correlations(Op::Call) {
        report(format_args!("call {c}"));
    }
    close(c);
}

// ------------------------------------------------------------------ tests

#[test]
fn a_thousand_round_trips_between_two_processes_share_correlation_ids() {
    const N: u64 = 1000;
    let w = TestWorld::new("roundtrip");
    let n = N.to_string();
    let mut server = w.spawn("echo_server", "echo.Server", "", &[(COUNT, &n)]);
    server.expect("registered");
    let mut client = w.spawn(
        "echo_client",
        "echo.Client",
        "echo=echo.Server",
        &[(COUNT, &n)],
    );
    let me = client.line();
    let sender = server.line();
    assert_eq!(
        me.replace("me", "sender"),
        sender,
        "Recv names the client's process and thread"
    );
    let calls: Vec<String> = client.finish();
    let served: Vec<String> = server.finish();
    let ids = |lines: &[String], what: &str| -> Vec<u64> {
        lines
            .iter()
            .filter_map(|l| l.strip_prefix(what))
            .map(|x| x.trim().parse().unwrap())
            .collect()
    };
    let (call, recv, reply) = (
        ids(&calls, "call"),
        ids(&served, "recv"),
        ids(&served, "reply"),
    );
    assert_eq!(call.len(), N as usize);
    assert_eq!(
        call, recv,
        "Recv reports the Call's correlation id, in order"
    );
    assert_eq!(call, reply, "and so does Reply");
    assert_eq!(
        call.iter().collect::<BTreeSet<_>>().len(),
        N as usize,
        "unique"
    );
    assert!(call.iter().all(|&c| c != 0));
}
