//! Round-trip latency of the host emulator through the exported calls:
//! one client thread and one server thread on one channel, `Call` →
//! `Recv` → `Reply`, with the full pipeline (no policy or sinks configured).
//!
//! `cargo bench --bench host_roundtrip [-- CALLS] [pin] [direct]` prints the
//! p50, p90 and p99 of the client's Call, in nanoseconds. With `pin`, the
//! client runs on CPU 0 and the server on CPU 1 (Linux), so the two never
//! share a core even when the machine is busy. With `direct`, both sides
//! call the emulator backend itself, without the pipeline (validation,
//! policy, statistics, trace): the emulator's share of the round trip.

use std::time::Instant;

use kos_ipc_shim::abi::*;
use kos_ipc_shim::host::exports::{kos_host_channel_create, KnHandleClose};
use kos_ipc_shim::host::pack::{PackInMsg, PackOutMsg};
use kos_ipc_shim::host::EMULATOR;
use kos_ipc_shim::msg::{MsgIn, MsgOut};
use kos_ipc_shim::{Args, Backend, Op};

#[path = "../tests/common/mod.rs"]
mod common;
use common::{buffer, msg};

/// Pin the calling thread to one CPU (best effort).
fn pin(cpu: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: a zeroed cpu_set_t is valid; CPU_SET and sched_setaffinity
    // only read and write that set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpu;
}

/// One system call, through the exported entry point or (`direct`) straight
/// to the emulator.
///
/// # Safety
/// The headers point at live buffers.
unsafe fn sys(direct: bool, op: Op, h: Handle, out: *const SMsgHdr, inp: *mut SMsgHdr) -> Retcode {
    if !direct {
        // SAFETY: the caller's contract.
        return unsafe {
            match op {
                Op::Call => kos_ipc_shim::entry::Call(h, out, inp),
                Op::Recv => kos_ipc_shim::entry::Recv(h, inp),
                _ => kos_ipc_shim::entry::Reply(h, out),
            }
        };
    }
    let mut args = Args {
        handle: h,
        // SAFETY: the caller's contract.
        out: (!out.is_null()).then(|| unsafe { MsgOut::from_raw(out) }.unwrap()),
        // SAFETY: the caller's contract.
        inp: (!inp.is_null()).then(|| unsafe { MsgIn::from_raw(inp) }.unwrap()),
        mdelay: INFINITE_TIMEOUT,
        sync: INVALID_HANDLE,
        correlation: 0,
        answered: 0,
    };
    EMULATOR.forward(op, &mut args)
}

fn main() {
    let calls: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(200_000);
    let pinned = std::env::args().any(|a| a == "pin");
    let direct = std::env::args().any(|a| a == "direct");
    if pinned {
        pin(0);
    }
    let (mut c, mut s) = (0, 0);
    // SAFETY: valid out-pointers.
    assert_eq!(unsafe { kos_host_channel_create(&mut c, &mut s) }, rcOk);

    let server = std::thread::spawn(move || {
        if pinned {
            pin(1);
        }
        let mut req = buffer();
        let mut rin = SMsgHdr::ZERO;
        let resp = msg(1, 0);
        let mut rout = SMsgHdr::ZERO;
        // SAFETY: buffers outlive the headers' use in this thread.
        unsafe {
            assert_eq!(
                PackInMsg(&mut rin, &mut req.hdr, std::ptr::null_mut()),
                rcOk
            );
            assert_eq!(PackOutMsg(&mut rout, &resp.hdr, std::ptr::null()), rcOk);
            // A receive stores the sizes that arrived in rin's descriptors;
            // every request is a whole Msg, so the capacity stays the same
            // and rin need not be packed again.
            while sys(direct, Op::Recv, s, std::ptr::null(), &mut rin) == rcOk {
                assert_eq!(sys(direct, Op::Reply, s, &rout, std::ptr::null_mut()), rcOk);
            }
        }
    });

    let req = msg(1, 7);
    let mut resp = buffer();
    let (mut out, mut inp) = (SMsgHdr::ZERO, SMsgHdr::ZERO);
    let mut ns = Vec::with_capacity(calls);
    // SAFETY: buffers outlive the headers' use in this thread.
    unsafe {
        assert_eq!(PackOutMsg(&mut out, &req.hdr, std::ptr::null()), rcOk);
        assert_eq!(
            PackInMsg(&mut inp, &mut resp.hdr, std::ptr::null_mut()),
            rcOk
        );
        // As on the server: every response is a whole Msg, so inp keeps
        // its capacity from one Call to the next.
        for i in 0..calls + calls / 10 {
            let t = Instant::now();
            assert_eq!(sys(direct, Op::Call, c, &out, &mut inp), rcOk);
            if i >= calls / 10 {
                ns.push(t.elapsed().as_nanos() as u64); // after a warm-up tenth
            }
        }
    }
    assert_eq!(KnHandleClose(s), rcOk);
    server.join().unwrap();
    assert_eq!(KnHandleClose(c), rcOk);
    ns.sort_unstable();
    let p = |q: f64| ns[((ns.len() as f64 * q) as usize).min(ns.len() - 1)];
    println!(
        "host round trip{}{}, {} calls: p50 {} ns, p90 {} ns, p99 {} ns",
        if direct { ", emulator only" } else { "" },
        if pinned { ", pinned" } else { "" },
        ns.len(),
        p(0.50),
        p(0.90),
        p(0.99)
    );
}
