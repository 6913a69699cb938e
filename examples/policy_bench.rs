//! Decision cost of the policy for 1, 10 and 1,000 rules (a benchmark, not a
//! test): `cargo run --release --example policy_bench` or `make bench-policy`.
//!
//! Each line is the best batch mean of the thread CPU time of one `policy::decide` (lookup, counters,
//! epoch read side) over many calls on one thread, for a message matched by
//! the policy's last rule and for one that falls through to the default.

use std::hint::black_box;

use kos_ipc_shim::intercept::CallInfo;
use kos_ipc_shim::op::Op;
use kos_ipc_shim::policy;

fn info(iid: u16, mid: u16) -> CallInfo {
    let mut i = CallInfo::new(Op::Call, 7);
    i.sent.iid = iid;
    i.sent.mid = mid;
    i.sent.const_size = 24;
    i
}

/// CPU time of the calling thread in ns (time while descheduled by other
/// load on the machine does not count).
fn thread_cpu_ns() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid out-pointer; the clock exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

/// The best of 9 batches of thread CPU time per decision, so that other load
/// on the machine inflates the figure as little as possible.
fn ns_per_decision(i: &CallInfo) -> f64 {
    const N: u32 = 200_000;
    (0..9)
        .map(|_| {
            let t = thread_cpu_ns();
            for _ in 0..N {
                black_box(policy::decide(black_box(i)));
            }
            (thread_cpu_ns() - t) as f64 / N as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn point_rules(n: u32) -> String {
    let mut s = String::new();
    for k in 0..n {
        s += &format!("allow call iid={} mid={}\n", k / 16, k % 16);
    }
    s + "default allow\n"
}

fn handle_rules(n: u32) -> String {
    // Rules that differ only by handle: resolved by the index's handle level.
    let mut s = String::new();
    for k in 0..n {
        s += &format!("allow call handle={} iid=1\n", 1000 + k);
    }
    s + "allow call handle=7 iid=1\ndefault allow\n"
}

fn main() {
    policy::clear();
    println!(
        "no policy:                        {:6.1} ns/decision",
        ns_per_decision(&info(1, 1))
    );
    for n in [1u32, 10, 1000] {
        policy::load(&point_rules(n)).expect("bench policy parses");
        let last = n - 1;
        let hit = ns_per_decision(&info((last / 16) as u16, (last % 16) as u16));
        let miss = ns_per_decision(&info(60_000, 1));
        println!(
            "{n:5} point rules: last rule {hit:6.1} ns/decision, default {miss:6.1} ns/decision"
        );
    }
    for n in [10u32, 1000] {
        policy::load(&handle_rules(n)).expect("bench policy parses");
        let hit = ns_per_decision(&info(1, 1));
        println!("{n:5} handle= rules on one iid: {hit:6.1} ns/decision");
    }
}
