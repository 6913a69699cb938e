//! `KOS_SHIM_TRACE_FILTER` keeps exactly the methods its patterns select,
//! named through `KOS_SHIM_NAMES`, before records reach the ring: the sink
//! sees only them, and the ring holds nothing else (no lost records).
//! Its own test binary because the trace configuration is process-wide.

use std::ffi::c_void;
use std::mem::size_of;
use std::sync::Mutex;
use std::thread;

use kos_ipc_shim::abi::*;
use kos_ipc_shim::entry::{Call, Recv, Reply};
use kos_ipc_shim::host::exports::{kos_host_channel_create, KnHandleClose};
use kos_ipc_shim::host::pack::{PackInMsg, PackOutMsg};
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

#[repr(C, align(8))]
struct Msg {
    hdr: nk_message,
    value: u64,
}
const SIZE: u32 = size_of::<Msg>() as u32;

/// (iid, mid, times): Echo.Echo, Echo.Ping, Store.Put.
const PLAN: [(u16, u16, usize); 3] = [(7, 0, 3), (7, 1, 2), (8, 0, 2)];

fn call(c: Handle, iid: u16, mid: u16) {
    let req = Msg {
        hdr: nk_message::new(iid, mid, SIZE),
        value: 1,
    };
    let mut resp = Msg {
        hdr: nk_message::new(0, 0, SIZE),
        value: 0,
    };
    let (mut out, mut inp) = (SMsgHdr::ZERO, SMsgHdr::ZERO);
    // SAFETY: messages and headers outlive the calls.
    unsafe {
        assert_eq!(PackOutMsg(&mut out, &req.hdr, std::ptr::null()), rcOk);
        assert_eq!(
            PackInMsg(&mut inp, &mut resp.hdr, std::ptr::null_mut()),
            rcOk
        );
        assert_eq!(Call(c, &out, &mut inp), rcOk);
    }
}

fn serve(s: Handle, n: usize) {
    for _ in 0..n {
        let mut req = Msg {
            hdr: nk_message::new(0, 0, SIZE),
            value: 0,
        };
        let mut inp = SMsgHdr::ZERO;
        // SAFETY: `req` and `inp` outlive the calls.
        unsafe {
            assert_eq!(
                PackInMsg(&mut inp, &mut req.hdr, std::ptr::null_mut()),
                rcOk
            );
            assert_eq!(Recv(s, &mut inp), rcOk);
        }
        let resp = Msg {
            hdr: nk_message::new(req.hdr.iid, req.hdr.mid, SIZE),
            value: 2,
        };
        let mut out = SMsgHdr::ZERO;
        // SAFETY: `resp` and `out` outlive the call.
        unsafe {
            assert_eq!(PackOutMsg(&mut out, &resp.hdr, std::ptr::null()), rcOk);
            assert_eq!(Reply(s, &out), rcOk);
        }
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

    let (mut c, mut s) = (0, 0);
    // SAFETY: valid out-pointers.
    assert_eq!(unsafe { kos_host_channel_create(&mut c, &mut s) }, rcOk);
    let total = PLAN.iter().map(|p| p.2).sum();
    let server = thread::spawn(move || serve(s, total));
    for (iid, mid, n) in PLAN {
        for _ in 0..n {
            call(c, iid, mid);
        }
    }
    server.join().unwrap();
    trace::stop();
    assert_eq!(KnHandleClose(c), rcOk);
    assert_eq!(KnHandleClose(s), rcOk);

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
