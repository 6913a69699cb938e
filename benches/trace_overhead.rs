//! What tracing adds to one intercepted call (a benchmark, not a test).
//!
//! `cargo bench --bench trace_overhead` (or `make trace-bench`): 2 million
//! `Call`s through the whole pipeline (validation, policy hook, trace hook)
//! into a backend that does nothing, with tracing off and then on (spec
//! `sink` with no callback: records go through the ring and the drainer,
//! which discards them). Prints ns per call for both, the difference, and how
//! many records the ring had to drop (a drop is cheaper than a write, so a
//! run with drops understates the cost; the ring is 65536 records here).
//! Best of 5 runs each, to keep other processes on the machine out of it.
//! Then the hook's own work alone (record built and pushed, drained on the
//! same thread between batches): the difference to the first figure is the
//! cache traffic between the traced thread and the drainer plus the two clock
//! reads per call that tracing turns on (measured last).

use std::time::Instant;

use kos_ipc_shim::abi::{nk_message, rcOk, IndirDesc, Retcode, SMsgHdr};
use kos_ipc_shim::backend::{self, Args, Backend};
use kos_ipc_shim::entry::Call;
use kos_ipc_shim::trace::ring::{Ring, Slot};
use kos_ipc_shim::trace::KosShimTraceRecord;
use kos_ipc_shim::{trace, CallInfo, Op};

struct Nop;

impl Backend for Nop {
    fn forward(&self, _op: Op, args: &mut Args<'_>) -> Retcode {
        args.correlation = 1;
        rcOk
    }
    fn name(&self) -> &'static str {
        "nop"
    }
}

static NOP: Nop = Nop;
const N: u64 = 2_000_000;

fn run(out: &SMsgHdr, inp: &mut SMsgHdr) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        for _ in 0..N {
            // SAFETY: both headers point at live buffers for the whole loop.
            let rc = unsafe { Call(7, out, inp) };
            assert_eq!(rc, rcOk);
        }
        best = best.min(t.elapsed().as_nanos() as f64 / N as f64);
    }
    best
}

/// The hook's own work without another core involved: build the record from a
/// CallInfo and push it into a 65536-slot single-producer ring, which is
/// drained on the same thread between timed batches.
fn push_only() -> f64 {
    const CAP: usize = 1 << 16;
    let slots: &'static [Slot] = Vec::from_iter((0..CAP).map(|_| Slot::new())).leak();
    let ring = Ring::over(0, slots, &[], true);
    ring.init();
    let mut info = CallInfo::new(Op::Call, 7);
    let mut best = f64::MAX;
    for round in 0..30u64 {
        let t = Instant::now();
        for i in 0..CAP as u64 {
            info.start = round * CAP as u64 + i;
            info.end = info.start + 100;
            let rec = KosShimTraceRecord::from_call(std::hint::black_box(&info));
            assert!(ring.push(&rec, &[], &[]).is_some());
        }
        best = best.min(t.elapsed().as_nanos() as f64 / CAP as f64);
        ring.drain(usize::MAX, |r, _| {
            std::hint::black_box(r);
        });
    }
    best
}

/// One `clock::now()`: the pipeline stamps start and end only while some
/// part needs time (the trace does), so these reads are part of the cost.
fn clock_read() -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        let mut x = 0u64;
        for _ in 0..N {
            x = x.wrapping_add(kos_ipc_shim::clock::now());
        }
        std::hint::black_box(x);
        best = best.min(t.elapsed().as_nanos() as f64 / N as f64);
    }
    best
}

fn main() {
    // SAFETY: no other thread runs yet.
    unsafe { std::env::set_var("KOS_SHIM_TRACE_BUF", "65536") };
    backend::set_backend(&NOP).expect("backend slot");
    let mut req = nk_message::new(1, 1, 24);
    let mut res = nk_message::new(0, 0, 24);
    // Headers filled by hand: descriptor 0 the 24-byte message, no arena.
    let header = |msg: &mut nk_message| {
        let mut h = SMsgHdr::ZERO;
        h.set_descs([
            IndirDesc {
                buf: (msg as *mut nk_message).cast(),
                size: 24,
            },
            IndirDesc::NONE,
        ]);
        h
    };
    let out = header(&mut req);
    let mut inp = header(&mut res);
    let off = run(&out, &mut inp);
    trace::start("sink").expect("start");
    let lost_before = trace::lost();
    let on = run(&out, &mut inp);
    trace::stop();
    let lost = trace::lost() - lost_before;
    println!(
        "trace_overhead: Call through the pipeline: {off:.1} ns tracing off, {on:.1} ns tracing on: \
         +{:.1} ns per traced call ({lost} of {} records dropped by the ring)",
        on - off,
        5 * N
    );
    println!(
        "trace_overhead: record + ring push alone, no other core involved: {:.1} ns",
        push_only()
    );
    println!(
        "trace_overhead: one clock read ({}), two per call while tracing: {:.1} ns",
        kos_ipc_shim::clock::source().name(),
        clock_read()
    );
}
