//! The steady-state call path allocates nothing, in every configuration.
//!
//! A counting global allocator counts the allocations made by the threads
//! that are "armed" (each thread arms itself once its warm-up is over, so
//! one-time set-up — a thread's trace ring, the emulator's per-thread state,
//! the first read of the configuration — is not counted; other threads, such
//! as the trace drainer, are never counted). Then, per configuration:
//!
//! - `Call` through the whole pipeline into a Rust test backend, allowed and
//!   (with a policy) denied messages alternating;
//! - a host emulator round trip: a client thread's `Call`, a server thread's
//!   `Recv` and `Reply`.
//!
//! Every count must be exactly 0. Counts, not time: the test is deterministic.
//! The configurations are process-wide, so everything runs in one test.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use kos_ipc_shim::abi::*;
use kos_ipc_shim::backend::{self, Args, Backend};
use kos_ipc_shim::entry::{Call, Recv, Reply};
use kos_ipc_shim::host::exports::{kos_host_channel_create, KnHandleClose};
use kos_ipc_shim::host::pack::{PackInMsg, PackOutMsg};
use kos_ipc_shim::op::Op;
use kos_ipc_shim::stats::{self, Level};
use kos_ipc_shim::{policy, trace};

mod common;
use common::{buffer, msg};

struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // try_with: allocations during thread teardown are simply not counted.
    let _ = ARMED.try_with(|a| {
        if a.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: forwards every request unchanged to the system allocator; the
// counting touches only const-initialised thread-locals without destructors,
// which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        note();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        note();
        // SAFETY: the caller's contract, passed on.
        unsafe { System.realloc(p, l, n) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Start counting this thread's allocations from 0.
fn arm() {
    COUNT.with(|c| c.set(0));
    ARMED.with(|a| a.set(true));
}

/// Stop counting; the number counted since [`arm`].
fn disarm() -> u64 {
    ARMED.with(|a| a.set(false));
    COUNT.with(|c| c.get())
}

const WARM: u64 = 2_000;
const CALLS: u64 = 20_000;

/// Answers every call at once (the response buffer is left as it is).
struct Answer;
impl Backend for Answer {
    fn forward(&self, _op: Op, _args: &mut Args<'_>) -> Retcode {
        rcOk
    }
    fn name(&self) -> &'static str {
        "answer"
    }
}
static ANSWER: Answer = Answer;

/// One Call of method `mid` through the pipeline; its return code.
fn call(handle: Handle, mid: u16) -> Retcode {
    let req = msg(mid, 7);
    let mut resp = buffer();
    let (mut out, mut inp) = (SMsgHdr::ZERO, SMsgHdr::ZERO);
    // SAFETY: headers pointing at buffers that outlive the calls.
    unsafe {
        assert_eq!(PackOutMsg(&mut out, &req.hdr, std::ptr::null()), rcOk);
        assert_eq!(
            PackInMsg(&mut inp, &mut resp.hdr, std::ptr::null_mut()),
            rcOk
        );
        Call(handle, &out, &mut inp)
    }
}

/// Allocations of `CALLS` pipeline calls after `WARM` warm-up calls;
/// with `deny_too`, every other call is one the policy denies (method 2).
fn pipeline_allocs(deny_too: bool) -> u64 {
    backend::set_backend(&ANSWER).expect("a backend slot");
    let expect = |i: u64| {
        if deny_too && i % 2 == 1 {
            (2, rcSecurityDisallow)
        } else {
            (1, rcOk)
        }
    };
    for i in 0..WARM {
        let (mid, rc) = expect(i);
        assert_eq!(call(0x77, mid), rc);
    }
    arm();
    for i in 0..CALLS {
        let (mid, rc) = expect(i);
        assert_eq!(call(0x77, mid), rc);
    }
    let n = disarm();
    backend::reset_backend();
    n
}

/// Allocations of the client and of the server thread over `CALLS` host
/// emulator round trips after `WARM` warm-up round trips.
fn roundtrip_allocs() -> (u64, u64) {
    backend::reset_backend();
    let (mut client, mut server) = (0, 0);
    // SAFETY: valid out-pointers.
    assert_eq!(
        unsafe { kos_host_channel_create(&mut client, &mut server) },
        rcOk
    );
    let server_thread = std::thread::spawn(move || {
        for i in 0..WARM + CALLS {
            if i == WARM {
                arm();
            }
            let mut req = buffer();
            let (mut inp, mut out) = (SMsgHdr::ZERO, SMsgHdr::ZERO);
            // SAFETY: headers pointing at buffers that outlive the calls.
            unsafe {
                assert_eq!(
                    PackInMsg(&mut inp, &mut req.hdr, std::ptr::null_mut()),
                    rcOk
                );
                assert_eq!(Recv(server, &mut inp), rcOk);
                let resp = msg(req.hdr.mid, req.value + 1);
                assert_eq!(PackOutMsg(&mut out, &resp.hdr, std::ptr::null()), rcOk);
                assert_eq!(Reply(server, &out), rcOk);
            }
        }
        disarm()
    });
    let mut client_allocs = 0;
    for i in 0..WARM + CALLS {
        if i == WARM {
            arm();
        }
        let req = msg(1, i);
        let mut resp = buffer();
        let (mut out, mut inp) = (SMsgHdr::ZERO, SMsgHdr::ZERO);
        // SAFETY: headers pointing at buffers that outlive the call.
        unsafe {
            assert_eq!(PackOutMsg(&mut out, &req.hdr, std::ptr::null()), rcOk);
            assert_eq!(
                PackInMsg(&mut inp, &mut resp.hdr, std::ptr::null_mut()),
                rcOk
            );
            assert_eq!(Call(client, &out, &mut inp), rcOk);
        }
        assert_eq!(resp.value, i + 1);
        if i == WARM + CALLS - 1 {
            client_allocs = disarm();
        }
    }
    let server_allocs = server_thread.join().expect("server thread");
    KnHandleClose(client);
    KnHandleClose(server);
    (client_allocs, server_allocs)
}

fn policy_text(rules: usize) -> String {
    let mut text = String::from("default deny\nallow recv\nallow reply\n");
    for j in 0..rules - 1 {
        text += &format!("allow call iid={} mid=1\n", 2 + j);
    }
    text += "allow call iid=1 mid=1\n";
    text
}

#[test]
fn steady_state_call_path_allocates_nothing() {
    let kst = std::env::temp_dir().join(format!("kos-alloc-free-{}.kst", std::process::id()));
    let trace_spec = format!("file:{}", kst.display());
    type Setup<'a> = (&'a str, Box<dyn Fn() + 'a>, bool);
    let configs: Vec<Setup> = vec![
        (
            "everything off",
            Box::new(|| {
                stats::set_level(Level::Off);
                policy::clear();
                trace::stop();
            }),
            false,
        ),
        (
            "stats count",
            Box::new(|| stats::set_level(Level::Count)),
            false,
        ),
        (
            "stats timing",
            Box::new(|| stats::set_level(Level::Timing)),
            false,
        ),
        (
            "trace to a .kst file",
            Box::new(|| {
                stats::set_level(Level::Off);
                trace::start(&trace_spec).expect("trace starts")
            }),
            false,
        ),
        (
            "policy, 1 rule",
            Box::new(|| {
                trace::stop();
                policy::load(&policy_text(1)).expect("policy loads");
            }),
            true,
        ),
        (
            "policy, 1,000 rules",
            Box::new(|| policy::load(&policy_text(1000)).expect("policy loads")),
            true,
        ),
        (
            "everything on",
            Box::new(|| {
                stats::set_level(Level::Timing);
                trace::start(&trace_spec).expect("trace starts")
            }),
            true,
        ),
    ];
    let mut report = Vec::new();
    for (name, setup, deny_too) in &configs {
        setup();
        let p = pipeline_allocs(*deny_too);
        let (c, s) = roundtrip_allocs();
        report.push(format!(
            "{name}: pipeline {p}, round trip client {c} server {s}"
        ));
    }
    trace::stop();
    policy::clear();
    let _ = std::fs::remove_file(&kst);
    let expected: Vec<String> = configs
        .iter()
        .map(|(name, _, _)| format!("{name}: pipeline 0, round trip client 0 server 0"))
        .collect();
    assert_eq!(report, expected);
}
