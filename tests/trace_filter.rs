//! `KOS_SHIM_TRACE_FILTER` keeps exactly the methods its patterns select,
//! named through `KOS_SHIM_NAMES`, before records reach the ring: the sink
//! sees only them, and the ring holds nothing else (no lost records).
//! Its own test binary because the trace configuration is process-wide.

use std::ffi::c_void;
use std::sync::Mutex;
use std::thread;

#[path = "host_util/mod.rs"]
mod host_util;

use host_util::{call, channel, close, pack_in, pack_out, recv, reply, Msg};
use kos_ipc_shim::abi::*;
use kos_ipc_shim::trace::{self, record::KOS_SHIM_TRACE_KIND_CALL, KosShimTraceRecord};
use kos_ipc_shim::Op;

static SEEN: Mutex<Vec<(u8, u16, u16)>> = Mutex::new(Vec::new());

unsafe extern "C" fn collect(
    _: *mut c_void,
    rec: *const KosShimTraceRecord,
    _: *const u8,
    _: usize,
) {
    // SAFETY: the tracer passes a valid record for the duration of the call.
    let rec = unsafe { *rec };
    if rec.kind == KOS_SHIM_TRACE_KIND_CALL {
        SEEN.lock().unwrap().push((rec.op, rec.iid, rec.mid));
    }
}

/// (iid, mid, times): Echo.Echo, Echo.Ping, Store.Put.
const PLAN: [(u16, u16, usize); 3] = [(7, 0, 3), (7, 1, 2), (8, 0, 2)];

fn to(iid: u16, mid: u16, value: u64) -> Msg {
    let mut m = Msg::new(value, "x");
    m.hdr.iid = iid;
    m.hdr.mid = mid;
    m
}

fn request(c: Handle, iid: u16, mid: u16) {
    let req = to(iid, mid, 1);
    let mut resp = Msg::buffer();
    let mut inp = pack_in(&mut resp, None);
    assert_eq!(call(c, &pack_out(&req, None), &mut inp), rcOk);
}

/// Answer `n` requests, each with the ids it came with.
fn serve(s: Handle, n: usize) {
    for _ in 0..n {
        let mut req = Msg::buffer();
        let mut inp = pack_in(&mut req, None);
        assert_eq!(recv(s, &mut inp), rcOk);
        let resp = to(req.hdr.iid, req.hdr.mid, 2);
        assert_eq!(reply(s, &pack_out(&resp, None)), rcOk);
    }
}

#[test]
fn only_the_selected_methods_are_recorded() {
    let dir = std::env::temp_dir().join(format!("kos-trace-filter-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let map = dir.join("names.txt");
    std::fs::write(
        &map,
        "iid 7 Echo\nmid 7.0 Echo\nmid 7.1 Ping\niid 8 Store\nmid 8.0 Put\n",
    )
    .unwrap();
    std::env::set_var("KOS_SHIM_NAMES", &map);
    std::env::set_var("KOS_SHIM_TRACE_FILTER", "Echo.*, !Echo.Ping");
    // SAFETY: `collect` is a valid sink for any context.
    assert_eq!(
        unsafe { trace::kos_shim_trace_set_sink(Some(collect), std::ptr::null_mut()) },
        rcOk
    );
    trace::start("sink").unwrap();

    let (c, s) = channel();
    let total = PLAN.iter().map(|p| p.2).sum();
    let server = thread::spawn(move || serve(s, total));
    for (iid, mid, n) in PLAN {
        for _ in 0..n {
            request(c, iid, mid);
        }
    }
    server.join().unwrap();
    trace::stop();
    close(c);
    close(s);

    let mut seen = SEEN.lock().unwrap().clone();
    seen.sort_unstable();
    let mut want = Vec::new();
    for op in [Op::Call, Op::Recv, Op::Reply] {
        want.extend([(op as u8, 7, 0); 3]);
    }
    want.sort_unstable();
    assert_eq!(
        seen, want,
        "Echo.Echo only: Echo.Ping excluded, Store not included"
    );
    assert_eq!(trace::lost(), 0, "filtered calls took no ring space");
    std::fs::remove_dir_all(&dir).unwrap();
}
