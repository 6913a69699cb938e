//! Re-entrancy: an interceptor that itself performs IPC (as a trace sink
//! writing to a file does on KasperskyOS, where file output is IPC). The
//! inner call reaches the backend exactly once, is counted as re-entrant, is
//! neither policed nor seen by interceptors, and does not recurse.
#![cfg(feature = "host")]

mod interpose_util;

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use interpose_util::{in_hdr, out_hdr, Counting, Msg};
use kos_ipc_shim::abi::{rcInvalidArgument, rcOk};
use kos_ipc_shim::entry::Call;
use kos_ipc_shim::{backend, intercept, stats, CallInfo, Interceptor, Op, Verdict};

const OUTER_MID: u16 = 1;
const INNER_MID: u16 = 9;
const HANDLE: u32 = 0x42;

static BACKEND: Counting = Counting::new(0);

/// A "sink" that writes each record out with IPC of its own.
struct IpcSink {
    seen_before: [AtomicU64; 16],
    seen_after: [AtomicU64; 16],
    inner_rc: AtomicI32,
    inner_bad_rc: AtomicI32,
}

impl Interceptor for IpcSink {
    fn before(&self, info: &CallInfo) -> Verdict {
        self.seen_before[info.mid() as usize % 16].fetch_add(1, Ordering::SeqCst);
        // The inner call would be denied if it were policed at all.
        if info.mid() == INNER_MID {
            Verdict::Deny
        } else {
            Verdict::Allow
        }
    }

    fn after(&self, info: &CallInfo) {
        self.seen_after[info.mid() as usize % 16].fetch_add(1, Ordering::SeqCst);
        if info.op != Op::Call || info.mid() != OUTER_MID {
            return;
        }
        // IPC from inside the shim: straight to the backend.
        let req = Msg::request(INNER_MID, 100);
        let out = out_hdr(&req);
        let mut resp = Msg::buffer();
        let mut inp = in_hdr(&mut resp);
        // SAFETY: headers pointing at live buffers.
        let rc = unsafe { Call(HANDLE, &out, &mut inp) };
        assert_eq!(resp.value, 101);
        self.inner_rc.store(rc, Ordering::SeqCst);
        // The no-intercept path still validates: a NULL header never reaches the backend.
        // SAFETY: NULL is allowed and rejected.
        let bad = unsafe { Call(HANDLE, std::ptr::null(), &mut inp) };
        self.inner_bad_rc.store(bad, Ordering::SeqCst);
    }
}

static SINK: IpcSink = IpcSink {
    seen_before: [const { AtomicU64::new(0) }; 16],
    seen_after: [const { AtomicU64::new(0) }; 16],
    inner_rc: AtomicI32::new(-1),
    inner_bad_rc: AtomicI32::new(-1),
};

#[test]
fn ipc_from_inside_the_shim_goes_straight_to_the_backend_once() {
    backend::set_backend(&BACKEND).unwrap();
    intercept::register(&SINK).unwrap();
    let reentrant_before = intercept::reentrant_calls();
    let passed_before = stats::global().by_op[Op::Call as usize];

    let req = Msg::request(OUTER_MID, 1);
    let out = out_hdr(&req);
    let mut resp = Msg::buffer();
    let mut inp = in_hdr(&mut resp);
    // SAFETY: headers pointing at live buffers.
    assert_eq!(unsafe { Call(HANDLE, &out, &mut inp) }, rcOk);
    assert_eq!(resp.value, 2);

    // The inner call succeeded although the interceptor would deny it: unpoliced.
    assert_eq!(SINK.inner_rc.load(Ordering::SeqCst), rcOk);
    assert_eq!(SINK.inner_bad_rc.load(Ordering::SeqCst), rcInvalidArgument);
    // Backend: the outer call once, the inner call exactly once, the bad one never.
    assert_eq!(BACKEND.count(Op::Call, OUTER_MID), 1);
    assert_eq!(BACKEND.count(Op::Call, INNER_MID), 1);
    // Interceptors saw only the outer call (no recursion, inner untraced).
    assert_eq!(
        SINK.seen_before[OUTER_MID as usize].load(Ordering::SeqCst),
        1
    );
    assert_eq!(
        SINK.seen_after[OUTER_MID as usize].load(Ordering::SeqCst),
        1
    );
    assert_eq!(
        SINK.seen_before[INNER_MID as usize].load(Ordering::SeqCst),
        0
    );
    assert_eq!(
        SINK.seen_after[INNER_MID as usize].load(Ordering::SeqCst),
        0
    );
    // Counted: two re-entrant calls, one pipeline call.
    assert_eq!(intercept::reentrant_calls() - reentrant_before, 2);
    // The C view of the same counter; NULL is rejected.
    let mut n = 0u64;
    // SAFETY: a valid out-pointer, then NULL (allowed, rejected).
    unsafe {
        assert_eq!(intercept::kos_shim_reentrant_calls(&mut n), rcOk);
        assert_eq!(
            intercept::kos_shim_reentrant_calls(std::ptr::null_mut()),
            rcInvalidArgument
        );
    }
    assert_eq!(n, intercept::reentrant_calls());
    assert_eq!(stats::global().by_op[Op::Call as usize] - passed_before, 1);
}
