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
use std::thread;
use std::time::{Duration, Instant};

use host_util::*;
use kos_ipc_shim::abi::*;
use kos_ipc_shim::host::exports::{
    kos_host_connect, kos_host_server_register, KnIpcClearInterrupt, KnIpcSetInterrupt,
};
use kos_ipc_shim::host::world::{World, WorldConfig, SLOT_BYTES};
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

    /// Attach this test process as entity `entity`.
    fn attach(&self, entity: &str, connections: &[(&str, &str)]) -> &'static World {
        World::attach(&WorldConfig {
            name: self.name.clone(),
            entity: entity.into(),
            connections: connections
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            connect_timeout: Duration::from_secs(10),
        })
        .expect("attach")
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
        .stdin(Stdio::piped())
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

/// A child process and its report lines; killed if dropped unfinished
/// (a failed test leaves no child behind).
struct Party {
    child: Child,
    out: BufReader<ChildStdout>,
}

impl Drop for Party {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Party {
    fn pid(&self) -> u32 {
        self.child.id()
    }

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

    /// Let the child go on past its `wait_go()`.
    fn go(&mut self) {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(b"go\n").unwrap();
        stdin.flush().unwrap();
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

    /// SIGKILL the child (it is reaped later, by `reap`).
    fn kill(&mut self) {
        self.child.kill().unwrap();
    }

    fn reap(mut self) {
        let _ = self.child.wait();
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

/// Wait until the test says `go()`.
fn wait_go() {
    let mut l = String::new();
    std::io::stdin().read_line(&mut l).unwrap();
    assert_eq!(l.trim(), "go");
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
    // A child outlives no failed test: it dies with the test process.
    // SAFETY: prctl with two integer arguments; no memory is passed.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    match role.as_str() {
        "echo_server" => echo_server(),
        "echo_client" => echo_client(),
        "one_call" => one_call(),
        "callex_limits" => callex_limits(),
        "hold" => hold(),
        "big" => big(),
        "close_while_calling" => close_while_calling(),
        "serve_forever" => serve_forever(),
        "call_for_a_while" => call_for_a_while(),
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
    let start = Instant::now();
    for i in 0..count() {
        let v = i * 7 + 3;
        let (rc, resp) = request(c, v);
        assert_eq!(rc, rcOk, "call {i}");
        assert_eq!(resp, Msg::new(v * 2 + 1, "resp"), "call {i}");
    }
    // For a look at the speed (the test prints it); not asserted.
    let per_call = start.elapsed() / count().max(1) as u32;
    report(format_args!("speed {per_call:?} per round trip"));
    for c in correlations(Op::Call) {
        report(format_args!("call {c}"));
    }
    close(c);
}

/// The value a child sends (`XPROC_VALUE`).
fn value() -> u64 {
    std::env::var("XPROC_VALUE").map_or(1, |n| n.parse().unwrap())
}

/// The `traceId` and `spanId` a `one_call` child sends with `value`.
fn trace_context(value: u64) -> (u64, u64) {
    (value << 8 | 0x11, value << 8 | 0x22)
}

/// One Call with `value()` (and its trace context) on "svc"; report this
/// thread, then the return code, the answer's value and the response
/// header's sender; then, if the call failed, one more call on the same
/// handle.
fn one_call() {
    let c = connect("svc");
    report(format_args!("me {} {}", std::process::id(), my_tid()));
    let req = Msg::new(value(), "req");
    let mut out = pack_out(&req, None);
    (out.traceId, out.spanId) = trace_context(value());
    let mut resp = Msg::buffer();
    let mut inp = pack_in(&mut resp, None);
    let rc = call(c, &out, &mut inp);
    report(format_args!("rc {rc:#x} {} {}", resp.value, inp.sender));
    if rc != rcOk {
        report(format_args!("again {:#x}", request(c, 0).0));
    }
}

/// CallEx on "svc", whose server never receives: timeouts, then an
/// interrupt from another thread, then a timeout after reception.
fn callex_limits() {
    let c = connect("svc");
    let req = Msg::new(1, "t");
    let out = pack_out(&req, None);
    let mut resp = Msg::buffer();
    let mut inp = pack_in(&mut resp, None);
    assert_eq!(call_ex(c, &out, &mut inp, 0, INVALID_HANDLE), rcTimeout);
    let t = Instant::now();
    assert_eq!(call_ex(c, &out, &mut inp, 50, INVALID_HANDLE), rcTimeout);
    assert!(t.elapsed() >= Duration::from_millis(50));
    report("timeouts");

    let sync = sync_object();
    let setter = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        assert_eq!(KnIpcSetInterrupt(sync), rcOk);
    });
    assert_eq!(
        call_ex(c, &out, &mut inp, INFINITE_TIMEOUT, sync),
        rcIpcInterrupt
    );
    setter.join().unwrap();
    assert_eq!(
        call_ex(c, &out, &mut inp, 0, sync),
        rcIpcInterrupt,
        "still set"
    );
    assert_eq!(KnIpcClearInterrupt(sync), rcOk);
    report("interrupted");
    wait_go();

    // The server receives this one and answers only after we gave up.
    let req = Msg::new(2, "late");
    let out = pack_out(&req, None);
    resp.value = 0xDEAD;
    let mut inp = pack_in(&mut resp, None);
    assert_eq!(call_ex(c, &out, &mut inp, 500, sync), rcTimeout);
    assert_eq!(resp.value, 0xDEAD, "nothing written");
    report("late");
}

/// Register "svc", receive one request, report it, then wait to be killed.
fn hold() {
    let s = register("svc");
    report("registered");
    let mut req = Msg::buffer();
    let mut inp = pack_in(&mut req, None);
    assert_eq!(recv(s, &mut inp), rcOk);
    report(format_args!("received {}", req.value));
    loop {
        thread::sleep(Duration::from_secs(1));
    }
}

/// Bytes of a large arena, a pattern that shows misplaced bytes.
fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i % 251) as u8).collect()
}

/// An arena over all of `bytes`, `used` of them in use.
fn arena_over(bytes: &mut [u8], used: usize) -> nk_arena {
    let start = bytes.as_mut_ptr();
    nk_arena {
        start,
        current: start.wrapping_add(used),
        end: start.wrapping_add(bytes.len()),
    }
}

/// Messages around the slot size on "svc": a request one byte too large
/// (refused at once), a response too large (refused on both sides), then
/// the largest message that fits, both ways.
fn big() {
    let c = connect("svc");
    let fits = SLOT_BYTES - MSG_SIZE.next_multiple_of(8);
    let mut resp_bytes = vec![0u8; 2 * SLOT_BYTES];
    for (value, arena_len, want) in [
        (1, fits + 1, rcBufferTooLarge),
        (2, 0, rcBufferTooLarge),
        (3, fits, rcOk),
    ] {
        let req = Msg::new(value, "big");
        let mut req_bytes = pattern(arena_len);
        let req_arena = arena_over(&mut req_bytes, arena_len);
        let out = pack_out(&req, Some(&req_arena));
        let mut resp = Msg::buffer();
        resp_bytes.fill(0);
        let mut resp_arena = arena_over(&mut resp_bytes, 0);
        let mut inp = pack_in(&mut resp, Some(&mut resp_arena));
        assert_eq!(call(c, &out, &mut inp), want, "message {value}");
        if want == rcOk {
            let got = inp.descs()[1].size as usize;
            assert_eq!(got, fits);
            assert!(
                resp_bytes[..got] == pattern(fits)[..],
                "the response arrived intact"
            );
            assert!(resp_bytes[got..].iter().all(|&b| b == 0), "nothing past it");
            assert_eq!(resp.value, 3);
        } else {
            assert_eq!(resp.value, 0, "nothing written");
        }
    }
    report("done");
}

/// A call on "svc" from one thread while another closes the handle: the
/// call runs to its end.
fn close_while_calling() {
    let c = connect("svc");
    let caller = thread::spawn(move || request(c, 77));
    // The server reports when it holds the request; close meanwhile.
    thread::sleep(Duration::from_millis(200));
    close(c);
    report("closed");
    let (rc, resp) = caller.join().unwrap();
    assert_eq!((rc, resp.value), (rcOk, 78));
    assert_eq!(request(c, 1).0, rcInvalidArgument, "a closed handle");
    report("done");
}

/// Register "echo" (taking over from a server killed just before, which
/// may take a moment to be gone) and answer every request with
/// `value * 2 + 1` until killed.
fn serve_forever() {
    let name = c"echo";
    let mut s = 0;
    let t = Instant::now();
    loop {
        // SAFETY: valid C string and out-pointer.
        match unsafe { kos_host_server_register(name.as_ptr(), &mut s) } {
            rc if rc == rcOk => break,
            rc if rc == rcBusy && t.elapsed() < Duration::from_secs(5) => {
                thread::sleep(Duration::from_millis(2))
            }
            rc => panic!("register: {rc:#x}"),
        }
    }
    report("registered");
    loop {
        let mut req = Msg::buffer();
        let mut inp = pack_in(&mut req, None);
        assert_eq!(recv(s, &mut inp), rcOk);
        let rc = reply(s, &pack_out(&Msg::new(req.value * 2 + 1, "resp"), None));
        // rcNotConnected: its caller was killed meanwhile.
        assert!(rc == rcOk || rc == rcNotConnected, "Reply: {rc:#x}");
    }
}

/// Call "echo" for `XPROC_N` ms, reconnecting whenever the server is gone;
/// every answer must be right, no call may take 5 s. Reports the counts.
fn call_for_a_while() {
    let end = Instant::now() + Duration::from_millis(count());
    let mut c = connect("echo");
    let (mut ok, mut lost) = (0u64, 0u64);
    let mut v = u64::from(std::process::id()) << 32;
    while Instant::now() < end {
        v += 1;
        let req = Msg::new(v, "req");
        let out = pack_out(&req, None);
        let mut resp = Msg::buffer();
        let mut inp = pack_in(&mut resp, None);
        match call_ex(c, &out, &mut inp, 5000, INVALID_HANDLE) {
            rc if rc == rcOk => {
                assert_eq!(resp, Msg::new(v * 2 + 1, "resp"));
                ok += 1;
            }
            rc if rc == rcNotConnected => {
                lost += 1;
                close(c);
                c = connect("echo");
            }
            rc => panic!("CallEx: {rc:#x} after {ok} answers, {lost} losses"),
        }
    }
    report(format_args!("answers {ok} lost {lost}"));
}

/// Wait (up to 10 s) until the channel of `h` shows `queued` requests and
/// `waiting` receivers.
fn wait_until(h: Handle, queued: usize, waiting: usize) {
    let t = Instant::now();
    while info(h) != (queued, waiting) {
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", info(h));
        thread::sleep(Duration::from_millis(1));
    }
}

/// Reply `msg` to the client thread `thread` (0: the oldest request).
fn reply_to(h: Handle, msg: &Msg, thread: u32) -> Retcode {
    let mut out = pack_out(msg, None);
    out.threadId = thread;
    reply(h, &out)
}

/// Parse "rc <code> <value> <sender>".
fn outcome(line: &str) -> (Retcode, u64, u32) {
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f[0], "rc", "{line}");
    let rc = u32::from_str_radix(f[1].trim_start_matches("0x"), 16).unwrap() as Retcode;
    (rc, f[2].parse().unwrap(), f[3].parse().unwrap())
}

/// Parse "me <pid> <tid>".
fn identity(line: &str) -> (u32, u32) {
    let f: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(f[0], "me", "{line}");
    (f[1].parse().unwrap(), f[2].parse().unwrap())
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
    if let Some(speed) = calls.iter().find(|l| l.starts_with("speed")) {
        println!("between two processes: {speed}");
    }
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

#[test]
fn two_client_processes_are_served_in_fifo_order_and_answered_by_thread_id() {
    let w = TestWorld::new("fifo");
    let world = w.attach("svc.Server", &[]);
    let s = world.register("svc").unwrap();
    let mut a = w.spawn(
        "one_call",
        "a.Client",
        "svc=svc.Server",
        &[("XPROC_VALUE", "100")],
    );
    let (a_pid, a_tid) = identity(&a.line());
    wait_until(s, 1, 0);
    let mut b = w.spawn(
        "one_call",
        "b.Client",
        "svc=svc.Server",
        &[("XPROC_VALUE", "200")],
    );
    let (b_pid, b_tid) = identity(&b.line());
    wait_until(s, 2, 0);
    assert_eq!((a_pid, b_pid), (a.pid(), b.pid()));

    let mut first = Msg::buffer();
    let mut first_in = pack_in(&mut first, None);
    assert_eq!(recv(s, &mut first_in), rcOk);
    let mut second = Msg::buffer();
    let mut second_in = pack_in(&mut second, None);
    assert_eq!(recv(s, &mut second_in), rcOk);
    assert_eq!((first.value, second.value), (100, 200), "FIFO");
    assert_eq!((first_in.sender, first_in.threadId), (a_pid, a_tid));
    assert_eq!((second_in.sender, second_in.threadId), (b_pid, b_tid));
    assert_eq!((first_in.traceId, first_in.spanId), trace_context(100));
    assert_eq!((second_in.traceId, second_in.spanId), trace_context(200));
    assert_eq!(first_in.replyHandle, s);

    // Answer the later one first, by its thread id; an unknown id answers nothing.
    assert_eq!(
        reply_to(s, &Msg::new(0, ""), a_tid ^ b_tid ^ 0x4000_0000),
        rcInvalidArgument
    );
    assert_eq!(reply_to(s, &Msg::new(201, "to b"), b_tid), rcOk);
    let (rc, value, sender) = outcome(&b.line());
    assert_eq!((rc, value, sender), (rcOk, 201, std::process::id()));
    assert_eq!(reply_to(s, &Msg::new(101, "to a"), a_tid), rcOk);
    assert_eq!(outcome(&a.line()), (rcOk, 101, std::process::id()));
    a.finish();
    b.finish();
    close(s);
}

#[test]
fn callex_and_recvex_time_out_and_are_interrupted_across_processes() {
    let w = TestWorld::new("timeouts");
    let world = w.attach("svc.Server", &[]);
    let s = world.register("svc").unwrap();
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv_ex(s, &mut rin, 0, INVALID_HANDLE), rcTimeout);
    let t = Instant::now();
    assert_eq!(recv_ex(s, &mut rin, 30, INVALID_HANDLE), rcTimeout);
    assert!(t.elapsed() >= Duration::from_millis(30));

    let mut client = w.spawn("callex_limits", "c.Client", "svc=svc.Server", &[]);
    client.expect("timeouts");
    client.expect("interrupted");
    assert_eq!(
        info(s),
        (0, 0),
        "timed-out and interrupted requests were withdrawn"
    );
    client.go();
    // The last request is received; its caller times out before the answer.
    assert_eq!(recv(s, &mut rin), rcOk);
    assert_eq!(buf.value, 2);
    client.expect("late");
    assert_eq!(reply(s, &pack_out(&Msg::new(3, ""), None)), rcNotConnected);
    client.finish();

    // A waiting RecvEx is interrupted from another thread.
    let sync = sync_object();
    let setter = thread::spawn(move || {
        thread::sleep(Duration::from_millis(50));
        assert_eq!(KnIpcSetInterrupt(sync), rcOk);
    });
    assert_eq!(recv_ex(s, &mut rin, INFINITE_TIMEOUT, sync), rcIpcInterrupt);
    setter.join().unwrap();
    close(sync);
    close(s);
}

#[test]
fn closing_the_server_disconnects_received_queued_and_later_calls() {
    let w = TestWorld::new("close");
    let world = w.attach("svc.Server", &[]);
    let s = world.register("svc").unwrap();
    let mut a = w.spawn("one_call", "a.Client", "svc=svc.Server", &[]);
    a.line();
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv(s, &mut rin), rcOk);
    let mut b = w.spawn("one_call", "b.Client", "svc=svc.Server", &[]);
    b.line();
    wait_until(s, 1, 0);
    // A server thread waiting in Recv is woken by the close too.
    let (c2, s2) = {
        let s2 = world.register("other").unwrap();
        let c2 = world.connect("other").unwrap();
        (c2, s2)
    };
    let waiting = thread::spawn(move || {
        let mut buf = Msg::buffer();
        let mut rin = pack_in(&mut buf, None);
        recv(s2, &mut rin)
    });
    wait_until(c2, 0, 1);
    close(s2);
    assert_eq!(waiting.join().unwrap(), rcNotConnected);
    assert_eq!(request(c2, 1).0, rcNotConnected);
    close(c2);

    close(s);
    for mut p in [a, b] {
        assert_eq!(outcome(&p.line()).0, rcNotConnected);
        assert_eq!(
            p.line(),
            format!("again {rcNotConnected:#x}"),
            "later calls"
        );
        p.finish();
    }
    // The name is free again.
    let s = world.register("svc").unwrap();
    close(s);
}

#[test]
fn a_client_handle_closed_during_its_call_lets_the_call_finish() {
    let w = TestWorld::new("clientclose");
    let world = w.attach("svc.Server", &[]);
    let s = world.register("svc").unwrap();
    let mut c = w.spawn("close_while_calling", "c.Client", "svc=svc.Server", &[]);
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv(s, &mut rin), rcOk);
    c.expect("closed");
    assert_eq!(
        reply(s, &pack_out(&Msg::new(buf.value + 1, ""), None)),
        rcOk
    );
    c.expect("done");
    c.finish();
    close(s);
}

#[test]
fn a_killed_server_disconnects_its_callers_and_a_new_server_takes_its_name() {
    let w = TestWorld::new("killserver");
    let world = w.attach("c.Client", &[("svc", "svc.Server"), ("echo", "svc.Server")]);
    let mut server = w.spawn("hold", "svc.Server", "", &[]);
    server.expect("registered");
    let c = world.connect("svc").unwrap();
    // One request received (the server holds it), one queued behind it.
    let received = thread::spawn(move || {
        let r = request(c, 1).0;
        (r, Instant::now())
    });
    assert_eq!(server.line(), "received 1");
    let queued = thread::spawn(move || {
        let r = request(c, 2).0;
        (r, Instant::now())
    });
    wait_until(c, 1, 0);
    server.kill(); // not reaped yet: a zombie must count as dead
    let killed = Instant::now();
    for t in [received, queued] {
        let (rc, at) = t.join().unwrap();
        assert_eq!(rc, rcNotConnected);
        let took = at.duration_since(killed);
        assert!(took < Duration::from_secs(3), "noticed after {took:?}");
        println!("a caller noticed the killed server after {took:?}");
    }
    assert_eq!(request(c, 3).0, rcNotConnected, "later calls");
    server.reap();

    // A new server of the entity registers; a new connection reaches it.
    let n = "1".to_string();
    let mut again = w.spawn("echo_server", "svc.Server", "", &[(COUNT, &n)]);
    again.expect("registered");
    let c2 = world.connect("echo").unwrap();
    assert_eq!(request(c2, 20), (rcOk, Msg::new(41, "resp")));
    again.finish();
    close(c);
    close(c2);
}

#[test]
fn a_killed_client_makes_reply_fail_and_the_server_serves_on() {
    let w = TestWorld::new("killclient");
    let world = w.attach("svc.Server", &[]);
    let s = world.register("svc").unwrap();

    // Killed while the server holds its request.
    let mut a = w.spawn(
        "one_call",
        "a.Client",
        "svc=svc.Server",
        &[("XPROC_VALUE", "5")],
    );
    a.line();
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv(s, &mut rin), rcOk);
    assert_eq!(buf.value, 5);
    a.kill();
    a.reap();
    assert_eq!(reply(s, &pack_out(&Msg::new(6, ""), None)), rcNotConnected);

    // Killed while its request is queued: delivered, answered into the void.
    let mut b = w.spawn(
        "one_call",
        "b.Client",
        "svc=svc.Server",
        &[("XPROC_VALUE", "7")],
    );
    b.line();
    wait_until(s, 1, 0);
    b.kill();
    b.reap();
    assert_eq!(recv(s, &mut rin), rcOk);
    assert_eq!(buf.value, 7);
    assert_eq!(reply(s, &pack_out(&Msg::new(8, ""), None)), rcNotConnected);

    // Others are served as before.
    let mut c = w.spawn(
        "one_call",
        "c.Client",
        "svc=svc.Server",
        &[("XPROC_VALUE", "9")],
    );
    c.line();
    assert_eq!(serve_one(s).value, 9);
    assert_eq!(outcome(&c.line()), (rcOk, 19, std::process::id()));
    c.finish();
    close(s);
}

#[test]
fn a_message_larger_than_a_slot_is_refused_on_both_sides() {
    let w = TestWorld::new("big");
    let world = w.attach("svc.Server", &[]);
    let s = world.register("svc").unwrap();
    let mut client = w.spawn("big", "c.Client", "svc=svc.Server", &[]);
    let fits = SLOT_BYTES - MSG_SIZE.next_multiple_of(8);
    let mut bytes = vec![0u8; 2 * SLOT_BYTES];
    let receive = |bytes: &mut Vec<u8>| {
        let mut buf = Msg::buffer();
        bytes.fill(0);
        let mut arena = arena_over(bytes, 0);
        let mut rin = pack_in(&mut buf, Some(&mut arena));
        assert_eq!(recv(s, &mut rin), rcOk);
        (buf.value, rin.descs()[1].size as usize)
    };
    // The too-large request never arrives: the next one does.
    assert_eq!(receive(&mut bytes), (2, 0));
    let mut big = pattern(fits + 1);
    let arena = arena_over(&mut big, fits + 1);
    let resp = Msg::new(2, "");
    assert_eq!(reply(s, &pack_out(&resp, Some(&arena))), rcBufferTooLarge);
    // The largest that fits, both ways.
    assert_eq!(receive(&mut bytes), (3, fits));
    assert!(
        bytes[..fits] == pattern(fits)[..],
        "the request arrived intact"
    );
    let mut resp = pattern(fits);
    let arena = arena_over(&mut resp, fits);
    assert_eq!(reply(s, &pack_out(&Msg::new(3, ""), Some(&arena))), rcOk);
    client.expect("done");
    client.finish();
    close(s);
}

#[test]
fn processes_killed_at_random_instants_never_hang_the_others() {
    const CLIENTS: usize = 3;
    const RUN: Duration = Duration::from_millis(2500);
    let w = TestWorld::new("chaos");
    let mut rng = std::process::id() as u64 | 1;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let start = Instant::now();
    let client = |w: &TestWorld| {
        let left = RUN.saturating_sub(start.elapsed()) + Duration::from_millis(500);
        let ms = left.as_millis().to_string();
        w.spawn(
            "call_for_a_while",
            "c.Client",
            "echo=echo.Server",
            &[(COUNT, &ms)],
        )
    };
    let mut server = w.spawn("serve_forever", "echo.Server", "", &[]);
    server.expect("registered");
    let mut clients: Vec<Party> = (0..CLIENTS).map(|_| client(&w)).collect();
    let (mut server_kills, mut client_kills) = (0, 0);
    while start.elapsed() < RUN {
        thread::sleep(Duration::from_millis(2 + next(30)));
        if next(5) < 3 {
            server.kill();
            server.reap();
            server = w.spawn("serve_forever", "echo.Server", "", &[]);
            server_kills += 1;
        } else {
            let i = next(CLIENTS as u64) as usize;
            let mut old = std::mem::replace(&mut clients[i], client(&w));
            old.kill();
            old.reap();
            client_kills += 1;
        }
    }
    server.expect("registered");
    let mut answers = 0;
    for c in clients {
        let lines = c.finish();
        let last = lines.last().expect("a report");
        let f: Vec<&str> = last.split_whitespace().collect();
        assert_eq!((f[0], f[2]), ("answers", "lost"), "{last}");
        answers += f[1].parse::<u64>().unwrap();
    }
    assert!(server_kills > 0 && client_kills > 0);
    assert!(answers > 0, "the survivors were served");
    // What the dead left behind does not stop a new pair.
    let n = "50".to_string();
    let late = w.spawn(
        "echo_client",
        "late.Client",
        "echo=echo.Server",
        &[(COUNT, &n)],
    );
    late.finish();
    println!("{server_kills} server and {client_kills} client kills; {answers} answers");
}
