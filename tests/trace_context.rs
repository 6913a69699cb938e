//! A traced echo run through the host emulator: every server Recv record
//! names the client's process and thread, and carries the trace and span
//! ids the client put in its request header; Call and Reply records carry
//! their own headers' context. Checked on the records the C sink callback
//! receives and on the same records read back from a `.kst` file.
//! Its own test binary because the trace state is process-wide.

use std::collections::HashMap;
use std::ffi::c_void;
use std::mem::size_of;
use std::sync::Mutex;
use std::thread;

use kos_ipc_shim::abi::*;
use kos_ipc_shim::entry::{Call, Recv, Reply};
use kos_ipc_shim::host::exports::{kos_host_channel_create, KnHandleClose};
use kos_ipc_shim::host::pack::{PackInMsg, PackOutMsg};
use kos_ipc_shim::names::NameMap;
use kos_ipc_shim::trace::{self, kst, record::KOS_SHIM_TRACE_KIND_CALL, text, KosShimTraceRecord};
use kos_ipc_shim::Op;

/// Every call record the sink received.
static RECORDS: Mutex<Vec<KosShimTraceRecord>> = Mutex::new(Vec::new());

unsafe extern "C" fn collect(
    _ctx: *mut c_void,
    rec: *const KosShimTraceRecord,
    _payload: *const u8,
    _len: usize,
) {
    // SAFETY: the tracer passes a valid record for the duration of the call.
    let rec = unsafe { *rec };
    if rec.kind == KOS_SHIM_TRACE_KIND_CALL {
        RECORDS.lock().unwrap().push(rec);
    }
}

#[repr(C, align(8))]
struct Msg {
    hdr: nk_message,
    value: u64,
}

const MSG_SIZE: u32 = size_of::<Msg>() as u32;
const CLIENTS: u64 = 2;
const CALLS: u64 = 5;

/// The trace context client `client` puts in its request `i`.
fn context_of(client: u64, i: u64) -> (u64, u64) {
    (
        0x7A00_0000_0000_0000 | client << 16 | i,
        0x5B00_0000_0000_0000 | client << 16 | i,
    )
}

fn gettid() -> u32 {
    // SAFETY: gettid has no arguments and cannot fail.
    (unsafe { libc::syscall(libc::SYS_gettid) }) as u32
}

/// Client `client`: CALLS calls, each with its own trace context; returns
/// its thread id.
fn client(c: Handle, client: u64) -> u32 {
    for i in 0..CALLS {
        let req = Msg {
            hdr: nk_message::new(1, 1, MSG_SIZE),
            value: client << 32 | i,
        };
        let mut resp = Msg {
            hdr: nk_message::new(0, 0, MSG_SIZE),
            value: 0,
        };
        let (mut out, mut inp) = (SMsgHdr::ZERO, SMsgHdr::ZERO);
        // SAFETY: the messages and headers outlive the calls that use them.
        unsafe {
            assert_eq!(PackOutMsg(&mut out, &req.hdr, std::ptr::null()), rcOk);
            (out.traceId, out.spanId) = context_of(client, i);
            assert_eq!(
                PackInMsg(&mut inp, &mut resp.hdr, std::ptr::null_mut()),
                rcOk
            );
            assert_eq!(Call(c, &out, &mut inp), rcOk);
        }
        assert_eq!(resp.value, req.value + 1);
    }
    gettid()
}

/// Server: answer every request with value + 1, addressing every other
/// Reply to the client thread the header named, the others with threadId 0
/// ("the first waiting"): the Reply record names the thread either way.
fn serve(s: Handle, n: u64) {
    for i in 0..n {
        let mut req = Msg {
            hdr: nk_message::new(0, 0, MSG_SIZE),
            value: 0,
        };
        let mut inp = SMsgHdr::ZERO;
        // SAFETY: `req` and `inp` outlive the calls that use them.
        unsafe {
            assert_eq!(
                PackInMsg(&mut inp, &mut req.hdr, std::ptr::null_mut()),
                rcOk
            );
            assert_eq!(Recv(s, &mut inp), rcOk);
        }
        let resp = Msg {
            hdr: nk_message::new(1, 1, MSG_SIZE),
            value: req.value + 1,
        };
        let mut out = SMsgHdr::ZERO;
        // SAFETY: `resp` and `out` outlive the calls that use them.
        unsafe {
            assert_eq!(PackOutMsg(&mut out, &resp.hdr, std::ptr::null()), rcOk);
            out.threadId = if i % 2 == 0 { inp.threadId } else { 0 };
            assert_eq!(Reply(s, &out), rcOk);
        }
    }
}

/// The Recv/Call/Reply records of the run, checked against what the
/// clients sent. Returns how many Recv records were checked.
fn check(records: &[KosShimTraceRecord], c: Handle, s: Handle, tids: &[u32]) -> usize {
    let pid = std::process::id();
    let calls: HashMap<u64, &KosShimTraceRecord> = records
        .iter()
        .filter(|r| r.op == Op::Call as u8 && r.handle == c)
        .map(|r| (r.correlation, r))
        .collect();
    assert_eq!(
        calls.len(),
        (CLIENTS * CALLS) as usize,
        "one Call record per call"
    );
    let mut seen = 0;
    for r in records.iter().filter(|r| r.handle == s) {
        let call = calls[&r.correlation];
        let client = tids
            .iter()
            .position(|&t| u64::from(t) == call.thread)
            .expect("the Call record names a client thread") as u64;
        match Op::from_u8(r.op) {
            Some(Op::Recv) => {
                assert_eq!(r.peer_task, pid, "the client's process");
                assert_eq!(r.peer_thread, tids[client as usize], "the client's thread");
                let expected = (call.trace_id, call.span_id);
                assert!((0..CALLS).any(|i| context_of(client, i) == expected));
                assert_eq!((r.trace_id, r.span_id), expected, "the client's context");
                let line = text::line(r, &[], &NameMap::new(), &Default::default(), 0);
                assert!(
                    line.contains(&format!(
                        " from task {pid} thread {} trace=0x{:016x} span=0x{:016x} ",
                        tids[client as usize], expected.0, expected.1
                    )),
                    "{line}"
                );
                seen += 1;
            }
            Some(Op::Reply) => {
                assert_eq!(r.peer_thread, tids[client as usize], "the thread answered");
                assert_eq!((r.peer_task, r.trace_id, r.span_id), (0, 0, 0));
            }
            op => panic!("unexpected {op:?} on the server handle"),
        }
    }
    for call in calls.values() {
        assert_eq!(
            (call.peer_task, call.peer_thread),
            (0, 0),
            "a Call names no peer"
        );
        assert_ne!(call.trace_id, 0, "a Call records the context it sent");
    }
    seen
}

#[test]
fn recv_records_name_the_client_and_carry_its_trace_context() {
    let kst_path =
        std::env::temp_dir().join(format!("kos-trace-context-{}.kst", std::process::id()));
    // SAFETY: `collect` is a valid sink for any context.
    assert_eq!(
        unsafe { trace::kos_shim_trace_set_sink(Some(collect), std::ptr::null_mut()) },
        rcOk
    );
    trace::start(&format!("sink,file:{}", kst_path.display())).unwrap();

    let (mut c, mut s) = (0, 0);
    // SAFETY: valid out-pointers.
    assert_eq!(unsafe { kos_host_channel_create(&mut c, &mut s) }, rcOk);
    let server = thread::spawn(move || serve(s, CLIENTS * CALLS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|k| thread::spawn(move || client(c, k)))
        .collect();
    let tids: Vec<u32> = clients.into_iter().map(|t| t.join().unwrap()).collect();
    server.join().unwrap();
    trace::stop();
    assert_eq!(KnHandleClose(c), rcOk);
    assert_eq!(KnHandleClose(s), rcOk);

    let records = RECORDS.lock().unwrap().clone();
    assert_eq!(check(&records, c, s, &tids), (CLIENTS * CALLS) as usize);

    // The same fields survive the .kst file.
    let (reader, _) = kst::open(kst_path.to_str().unwrap()).unwrap();
    let from_file: Vec<KosShimTraceRecord> = reader
        .map(|e| e.unwrap().rec)
        .filter(|r| r.kind == KOS_SHIM_TRACE_KIND_CALL)
        .collect();
    std::fs::remove_file(&kst_path).unwrap();
    assert_eq!(check(&from_file, c, s, &tids), (CLIENTS * CALLS) as usize);
}
