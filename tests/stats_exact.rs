//! Exact statistics through the real pipeline: 8 threads × 50 000 calls
//! over 3 methods, some denied by an interceptor, some failing in the
//! backend. Every counter must equal the events caused, and the sum over
//! keys the global count. Its own process (an integration test), so no other
//! test's calls reach the process-wide table.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use kos_ipc_shim::abi::*;
use kos_ipc_shim::backend::{set_backend, Args, Backend};
use kos_ipc_shim::intercept::{register, CallInfo, Interceptor, Verdict};
use kos_ipc_shim::op::Op;
use kos_ipc_shim::stats::{self, ffi, rc_slot, Level};

const THREADS: u64 = 8;
const PER_THREAD: u64 = 50_000;
const HANDLE: Handle = 0x5157;
const IID: u16 = 7;
const REQ_CONST: u32 = 40;
const REQ_ARENA: usize = 6;
const RESP_CONST: u32 = 32;
const RESP_ARENA: usize = 5;

thread_local! {
    static DENY_NEXT: Cell<bool> = const { Cell::new(false) };
    static FAIL_NEXT: Cell<bool> = const { Cell::new(false) };
}

/// Denies the calls its thread marked.
struct MarkedDenier;
impl Interceptor for MarkedDenier {
    fn before(&self, _info: &CallInfo) -> Verdict {
        if DENY_NEXT.with(|c| c.get()) {
            Verdict::Deny
        } else {
            Verdict::Allow
        }
    }
}
static DENIER: MarkedDenier = MarkedDenier;

/// Answers every Call with a 32-byte response and 5 arena bytes, or fails
/// it with rcNotConnected when its thread marked it.
struct Responder;
static FORWARDED: AtomicU64 = AtomicU64::new(0);
impl Backend for Responder {
    fn forward(&self, op: Op, args: &mut Args<'_>) -> Retcode {
        FORWARDED.fetch_add(1, Ordering::Relaxed);
        assert_eq!(op, Op::Call);
        if FAIL_NEXT.with(|c| c.get()) {
            return rcNotConnected;
        }
        let req = args.out.as_ref().unwrap().info();
        let resp = nk_message::new(req.iid, req.mid, RESP_CONST);
        let mut constant = [0u8; RESP_CONST as usize];
        // SAFETY: nk_message is plain data of 24 bytes, within the 32.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (&resp as *const nk_message).cast::<u8>(),
                constant.as_mut_ptr(),
                core::mem::size_of::<nk_message>(),
            )
        };
        match args
            .inp
            .as_mut()
            .unwrap()
            .write(&constant, &[9u8; RESP_ARENA])
        {
            Ok(_) => rcOk,
            Err(rc) => rc,
        }
    }
    fn name(&self) -> &'static str {
        "stats-test"
    }
}
static RESPONDER: Responder = Responder;

#[repr(C, align(8))]
struct Buf<const N: usize>([u8; N]);

/// What thread-independent call number `j` does: (mid, denied, fails).
fn plan(j: u64) -> (u16, bool, bool) {
    let mid = (j % 3) as u16 + 1;
    let denied = j % 10 == 3;
    let fails = !denied && j % 7 == 5;
    (mid, denied, fails)
}

/// Make `n` calls from this thread following `plan`.
fn run_calls(n: u64) {
    let mut req = Buf::<{ REQ_CONST as usize }>([0; REQ_CONST as usize]);
    let mut req_arena = [1u8; 16];
    let mut resp = Buf::<64>([0; 64]);
    let mut resp_arena = [0u8; 32];
    // Headers filled by hand, as an SDK program may (no PackXMsg):
    // descriptor 0 the constant part, descriptor 1 the arena bytes.
    let desc = |buf: *mut u8, size: usize| IndirDesc {
        buf: buf.cast(),
        size: size as u32,
    };
    for j in 0..n {
        let (mid, denied, fails) = plan(j);
        let m = nk_message::new(IID, mid, REQ_CONST);
        // SAFETY: the buffer is 8-aligned and larger than nk_message.
        unsafe { (req.0.as_mut_ptr() as *mut nk_message).write(m) };
        let mut out = SMsgHdr::ZERO;
        out.set_descs([
            desc(req.0.as_mut_ptr(), REQ_CONST as usize),
            desc(req_arena.as_mut_ptr(), REQ_ARENA),
        ]);
        // Fresh capacities for each call: a receive stores in the
        // descriptors the sizes that arrived.
        let mut inp = SMsgHdr::ZERO;
        inp.set_descs([
            desc(resp.0.as_mut_ptr(), 64),
            desc(resp_arena.as_mut_ptr(), 32),
        ]);
        DENY_NEXT.with(|c| c.set(denied));
        FAIL_NEXT.with(|c| c.set(fails));
        // SAFETY: both headers are valid and their buffers outlive the call.
        let rc = unsafe { kos_ipc_shim::entry::Call(HANDLE, &out, &mut inp) };
        let want = if denied {
            rcSecurityDisallow
        } else if fails {
            rcNotConnected
        } else {
            rcOk
        };
        assert_eq!(rc, want, "call {j}");
    }
}

#[derive(Default, Debug, Clone, Copy, PartialEq)]
struct Expect {
    calls: u64,
    ok: u64,
    denied: u64,
    failed: u64,
}

fn expected(per_thread: u64, threads: u64) -> [Expect; 3] {
    let mut e = [Expect::default(); 3];
    for j in 0..per_thread {
        let (mid, denied, fails) = plan(j);
        let x = &mut e[mid as usize - 1];
        x.calls += threads;
        if denied {
            x.denied += threads;
        } else if fails {
            x.failed += threads;
        } else {
            x.ok += threads;
        }
    }
    e
}

fn c_entries() -> Vec<ffi::kos_shim_stats_entry> {
    let mut n = 0usize;
    // SAFETY: NULL out with cap 0 asks for the count; n is live.
    let rc = unsafe { ffi::kos_shim_stats_snapshot(core::ptr::null_mut(), 0, &mut n) };
    assert!(rc == rcOk || rc == rcBufferTooSmall);
    let mut v = vec![ffi::kos_shim_stats_entry::default(); n];
    let mut n2 = 0usize;
    // SAFETY: v has room for n entries.
    let rc = unsafe { ffi::kos_shim_stats_snapshot(v.as_mut_ptr(), v.len(), &mut n2) };
    assert_eq!(rc, rcOk);
    assert_eq!(n2, n);
    if n > 1 {
        let mut short = vec![ffi::kos_shim_stats_entry::default(); n - 1];
        let mut n3 = 0usize;
        // SAFETY: short has room for n - 1 entries.
        let rc = unsafe { ffi::kos_shim_stats_snapshot(short.as_mut_ptr(), n - 1, &mut n3) };
        assert_eq!(rc, rcBufferTooSmall);
        assert_eq!(n3, n);
        assert_eq!(short[..], v[..n - 1]);
    }
    v
}

#[test]
fn exact_counts_under_eight_threads_then_count_and_off_levels() {
    set_backend(&RESPONDER).unwrap();
    register(&DENIER).unwrap();
    stats::set_level(Level::Timing);
    stats::reset();

    // Phase 1: timing, 8 threads.
    let threads: Vec<_> = (0..THREADS)
        .map(|_| std::thread::spawn(|| run_calls(PER_THREAD)))
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let exp = expected(PER_THREAD, THREADS);
    let total = THREADS * PER_THREAD;
    let denied_total: u64 = exp.iter().map(|e| e.denied).sum();
    assert_eq!(FORWARDED.load(Ordering::Relaxed), total - denied_total);

    let snap = stats::snapshot();
    assert_eq!(snap.global.calls, total);
    assert_eq!(snap.global.by_op[Op::Call as usize], total);
    assert_eq!(snap.global.dropped, 0);
    assert_eq!(snap.global.reentrant, 0);
    assert_eq!(snap.entries.len(), 3);
    assert_eq!(snap.entries.iter().map(|e| e.calls).sum::<u64>(), total);
    for (i, x) in exp.iter().enumerate() {
        let mid = i as u16 + 1;
        let e = snap
            .entries
            .iter()
            .find(|e| e.key.is_some_and(|k| k.mid == mid))
            .unwrap_or_else(|| panic!("no row for mid {mid}"));
        let k = e.key.unwrap();
        assert_eq!((k.op, k.handle, k.iid), (Op::Call, HANDLE, IID));
        assert_eq!(e.calls, x.calls, "mid {mid}");
        assert_eq!(e.ok, x.ok, "mid {mid}");
        assert_eq!(e.errors, x.denied + x.failed, "mid {mid}");
        assert_eq!(e.denied, x.denied, "mid {mid}");
        assert_eq!(e.audit_denied, 0);
        assert_eq!(e.rc[rc_slot(rcSecurityDisallow)], x.denied, "mid {mid}");
        assert_eq!(e.rc[rc_slot(rcNotConnected)], x.failed, "mid {mid}");
        assert_eq!(e.rc.iter().sum::<u64>(), x.calls);
        let sent = x.calls - x.denied;
        assert_eq!(e.out_const, sent * REQ_CONST as u64, "mid {mid}");
        assert_eq!(e.out_arena, sent * REQ_ARENA as u64, "mid {mid}");
        assert_eq!(e.in_const, x.ok * RESP_CONST as u64, "mid {mid}");
        assert_eq!(e.in_arena, x.ok * RESP_ARENA as u64, "mid {mid}");
        let l = e.latency.expect("timing level measures latency");
        assert_eq!(l.count, x.calls);
        assert!(l.min_ns <= l.p50_ns && l.p50_ns <= l.p90_ns && l.p90_ns <= l.p99_ns);
        assert!(l.p99_ns <= l.p999_ns && l.p999_ns <= l.max_ns);
        assert!(l.total_ns >= l.max_ns);
    }

    // The C view carries the same numbers.
    let c = c_entries();
    assert_eq!(c.len(), 3);
    for ce in &c {
        let e = snap
            .entries
            .iter()
            .find(|e| e.key.is_some_and(|k| k.mid == ce.mid))
            .unwrap();
        assert_eq!(ce.op, Op::Call as u32);
        assert_eq!(ce.overflow, 0);
        assert_eq!((ce.handle, ce.iid), (HANDLE, IID));
        assert_eq!(
            (ce.calls, ce.ok, ce.errors, ce.denied),
            (e.calls, e.ok, e.errors, e.denied)
        );
        assert_eq!(ce.rc, e.rc);
        assert_eq!((ce.out_const, ce.in_arena), (e.out_const, e.in_arena));
        assert_eq!(ce.timed, e.calls);
    }
    let mut g = ffi::kos_shim_stats_global_t::default();
    // SAFETY: g is a live struct.
    assert_eq!(unsafe { ffi::kos_shim_stats_global(&mut g) }, rcOk);
    assert_eq!(g.calls, total);
    assert_eq!(g.calls_by_op, [total, 0, 0, 0, 0]);
    assert_eq!(g.keys, 3);
    assert_eq!(g.level, Level::Timing as u32);

    // JSON and text dumps of the same state.
    let json: serde_json::Value =
        serde_json::from_str(&stats::dump::render(stats::dump::Format::Json)).unwrap();
    assert_eq!(json["global"]["calls"], total);
    let keys = json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    for k in keys {
        let mid = k["mid"].as_u64().unwrap();
        let x = exp[mid as usize - 1];
        assert_eq!(k["calls"], x.calls);
        assert_eq!(k["denied"], x.denied);
        assert_eq!(k["rc"]["rcNotConnected"], x.failed);
        assert_eq!(k["rc"]["rcSecurityDisallow"], x.denied);
        assert_eq!(k["latency_ns"]["count"], x.calls);
    }
    let text = stats::dump::render(stats::dump::Format::Text);
    for (i, x) in exp.iter().enumerate() {
        let row = text
            .lines()
            .find(|l| l.split_whitespace().nth(2) == Some(&format!("{IID}.{}", i + 1)))
            .unwrap_or_else(|| panic!("no text row for mid {}:\n{text}", i + 1));
        let cols: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cols[0], "call");
        assert_eq!(cols[1], HANDLE.to_string());
        assert_eq!(cols[3], x.calls.to_string());
        assert_eq!(cols[4], (x.denied + x.failed).to_string());
        assert_eq!(cols[5], x.denied.to_string());
    }

    // Phase 2: level count, one thread: counts, no latency.
    stats::set_level(Level::Count);
    stats::reset();
    run_calls(3000);
    let snap = stats::snapshot();
    let exp = expected(3000, 1);
    assert_eq!(snap.global.calls, 3000);
    for e in &snap.entries {
        let x = exp[e.key.unwrap().mid as usize - 1];
        assert_eq!((e.calls, e.ok, e.denied), (x.calls, x.ok, x.denied));
        assert_eq!(e.latency, None);
    }

    // Phase 3: off records nothing.
    stats::set_level(Level::Off);
    stats::reset();
    run_calls(300);
    assert_eq!(stats::global().calls, 0);
    assert!(stats::snapshot().entries.is_empty());
}
