//! Added cost of the statistics per call: `cargo bench --bench stats`
//! (or `make bench-stats`).
//!
//! Runs `Call` through the whole pipeline into a backend that returns at
//! once, single-threaded and with 2 threads, at levels off, count and timing,
//! and prints ns per call and the difference to `off`. Each figure is the
//! best of several rounds (the least disturbed by other processes).

use std::hint::black_box;
use std::time::Instant;

use kos_ipc_shim::abi::*;
use kos_ipc_shim::backend::{set_backend, Args, Backend};
use kos_ipc_shim::op::Op;
use kos_ipc_shim::stats::{self, Level};

struct Nop;
impl Backend for Nop {
    fn forward(&self, _op: Op, _args: &mut Args<'_>) -> Retcode {
        rcOk
    }
    fn name(&self) -> &'static str {
        "nop"
    }
}
static NOP: Nop = Nop;

#[repr(C, align(8))]
struct Buf([u8; 64]);

fn calls(n: u64, mid: u16) {
    let mut req = Buf([0; 64]);
    let mut resp = Buf([0; 64]);
    let m = nk_message::new(7, mid, 32);
    // SAFETY: 8-aligned buffer larger than nk_message.
    unsafe { (req.0.as_mut_ptr() as *mut nk_message).write(m) };
    // Headers filled by hand: descriptor 0 the constant part, no arena.
    let header = |buf: *mut u8, size: u32| {
        let mut h = SMsgHdr::ZERO;
        h.set_descs([
            IndirDesc {
                buf: buf.cast(),
                size,
            },
            IndirDesc::NONE,
        ]);
        h
    };
    let out = header(req.0.as_mut_ptr(), 32);
    let mut inp = header(resp.0.as_mut_ptr(), 64);
    for _ in 0..n {
        // SAFETY: valid headers whose buffers outlive the call.
        let rc = unsafe { kos_ipc_shim::entry::Call(black_box(5), &out, &mut inp) };
        assert_eq!(rc, rcOk);
    }
}

/// Best-of-`rounds` ns per call with `threads` threads.
fn measure(threads: usize, n: u64, rounds: usize) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..rounds {
        let t0 = Instant::now();
        std::thread::scope(|s| {
            for t in 0..threads {
                s.spawn(move || calls(n, t as u16 % 3 + 1));
            }
        });
        let ns = t0.elapsed().as_nanos() as f64 / n as f64;
        best = best.min(ns);
    }
    best
}

/// ns per call of `f`, best of 5 rounds of `n`.
fn per_call(n: u64, mut f: impl FnMut() -> u64) -> f64 {
    let mut best = f64::MAX;
    let mut sink = 0u64;
    for _ in 0..5 {
        let t0 = Instant::now();
        for _ in 0..n {
            sink = sink.wrapping_add(f());
        }
        best = best.min(t0.elapsed().as_nanos() as f64 / n as f64);
    }
    black_box(sink);
    best
}

fn main() {
    println!(
        "clock::now() {:.1} ns, clock_gettime(CLOCK_MONOTONIC) {:.1} ns",
        per_call(1_000_000, kos_ipc_shim::clock::now),
        per_call(1_000_000, kos_ipc_shim::clock::monotonic_ns)
    );
    set_backend(&NOP).unwrap();
    // The hook alone, on a prepared record.
    let mut info = kos_ipc_shim::CallInfo::new(Op::Call, 9);
    info.sent.iid = 7;
    info.sent.mid = 1;
    info.sent.const_size = 32;
    info.start = 1000;
    info.end = 3000;
    for level in [Level::Count, Level::Timing] {
        stats::set_level(level);
        let ns = per_call(1_000_000, || {
            stats::record(black_box(&info));
            0
        });
        println!("stats::record alone, level {:<6} {ns:6.1} ns", level.name());
    }
    stats::reset();
    let n = 1_000_000;
    calls(100_000, 1); // warm up, create the keys, calibrate nothing yet
    println!(
        "clock: {} ({:.4} ns/tick)",
        kos_ipc_shim::clock::source().name(),
        kos_ipc_shim::clock::ns_per_tick()
    );
    for threads in [1usize, 2] {
        let mut base = 0.0;
        for level in [Level::Off, Level::Count, Level::Timing] {
            stats::set_level(level);
            let ns = measure(threads, n, 5);
            if level == Level::Off {
                base = ns;
            }
            println!(
                "threads {threads}  level {:<6}  {ns:6.1} ns/call  added {:+5.1} ns",
                level.name(),
                ns - base
            );
        }
    }
}
