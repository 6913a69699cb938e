//! Criterion micro-benchmarks of the per-call work of each module, through
//! their public Rust APIs: `cargo bench --bench micro` (or `make bench-micro`).
//!
//! - `policy/decide`: [`policy::decide`] on an allowed message with no
//!   policy, 1 rule, and 1,000 rules with the match last (half distinct
//!   iids, half distinct mids, so both index levels are as deep as 1,000
//!   rules make them) — the same policies `make bench` uses.
//! - `stats/record`: [`stats::record`] of a finished call at levels count
//!   and timing (the key exists after the first call: the steady state).
//! - `trace/ring_push`: [`Ring::push`] of one record into a ring that is
//!   drained outside the timed part (never full), single-producer (std's
//!   per-thread rings) and shared (no_std); and the record's build from a
//!   [`CallInfo`] plus the push.
//!
//! The end-to-end cost of each configuration is `make bench`'s table; these
//! isolate one step each.

use std::cell::UnsafeCell;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use kos_ipc_shim::policy;
use kos_ipc_shim::stats::{self, Level};
use kos_ipc_shim::trace::ring::{Ring, Slot};
use kos_ipc_shim::trace::KosShimTraceRecord;
use kos_ipc_shim::{CallInfo, MsgInfo, Op, Verdict};

/// The message every benchmark judges or records: a 32-byte request to
/// interface 1, method 1 (as `make bench` sends).
fn call_info() -> CallInfo {
    let mut info = CallInfo::new(Op::Call, 0x5100);
    info.sent = MsgInfo {
        iid: 1,
        mid: 1,
        err: false,
        ncaps: 0,
        const_size: 32,
        arena_size: 0,
    };
    info.start = 1_000;
    info.end = 1_050;
    info
}

fn policy_text(rules: usize) -> String {
    let mut text = String::from("mode enforce\ndefault deny\n");
    let others = rules - 1;
    for j in 0..others.div_ceil(2) {
        text += &format!("allow call iid=1 mid={}\n", 2 + j);
    }
    for j in 0..others / 2 {
        text += &format!("allow call iid={} mid=1\n", 2 + j);
    }
    text += "allow call iid=1 mid=1\n";
    text
}

fn bench_policy(c: &mut Criterion) {
    let info = call_info();
    let mut g = c.benchmark_group("policy/decide");
    policy::clear();
    assert_eq!(policy::decide(&info), Verdict::Allow);
    g.bench_function("no policy", |b| b.iter(|| policy::decide(black_box(&info))));
    for rules in [1usize, 1000] {
        policy::load(&policy_text(rules)).expect("the bench policy parses");
        assert_eq!(policy::stats().rules, rules as u32);
        assert_eq!(policy::decide(&info), Verdict::Allow);
        g.bench_function(format!("{rules} rules, match last"), |b| {
            b.iter(|| policy::decide(black_box(&info)))
        });
    }
    policy::clear();
    g.finish();
}

fn bench_stats(c: &mut Criterion) {
    let info = call_info();
    let mut g = c.benchmark_group("stats/record");
    for level in [Level::Count, Level::Timing] {
        stats::set_level(level);
        let before = stats::global().calls;
        stats::record(&info);
        assert_eq!(stats::global().calls, before + 1, "level {}", level.name());
        g.bench_function(level.name(), |b| b.iter(|| stats::record(black_box(&info))));
    }
    stats::set_level(Level::Off);
    g.finish();
}

const RING: usize = 4096;

/// Time `iters` pushes made by `push`, in batches that fit the ring; the
/// ring is drained between batches, outside the timed part.
fn timed_pushes(ring: &Ring<'_>, iters: u64, mut push: impl FnMut() -> bool) -> Duration {
    let mut total = Duration::ZERO;
    let mut left = iters;
    while left > 0 {
        let n = left.min(RING as u64);
        let t0 = Instant::now();
        for _ in 0..n {
            assert!(push());
        }
        total += t0.elapsed();
        let drained = ring.drain(usize::MAX, |r, _| {
            black_box(r);
        });
        assert_eq!(drained, Some(n as usize));
        left -= n;
    }
    total
}

fn bench_ring(c: &mut Criterion) {
    let info = call_info();
    let rec = KosShimTraceRecord::from_call(&info);
    let mut g = c.benchmark_group("trace/ring_push");
    // std builds give each thread its own single-producer ring; no_std
    // builds share rings between threads (a CAS per push).
    for (name, single) in [("single producer", true), ("shared (CAS)", false)] {
        let slots: Vec<Slot> = (0..RING).map(|_| Slot::new()).collect();
        let payload: Vec<UnsafeCell<u8>> = Vec::new();
        let ring = Ring::over(0, &slots, &payload, single);
        ring.init();
        g.bench_function(format!("push, {name}"), |b| {
            b.iter_custom(|iters| {
                timed_pushes(&ring, iters, || {
                    ring.push(black_box(&rec), &[], &[]).is_some()
                })
            })
        });
        g.bench_function(format!("record from CallInfo + push, {name}"), |b| {
            b.iter_custom(|iters| {
                timed_pushes(&ring, iters, || {
                    let r = KosShimTraceRecord::from_call(black_box(&info));
                    ring.push(&r, &[], &[]).is_some()
                })
            })
        });
        assert_eq!(ring.lost(), 0);
    }
    g.finish();
}

criterion_group! {
    name = micro;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench_policy, bench_stats, bench_ring
}
criterion_main!(micro);
