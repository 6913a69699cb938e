//! A Rust `Interceptor`, registered at run time, denies one method: that
//! method returns rcSecurityDisallow from Call, CallEx and Reply and never
//! reaches the backend; other methods pass; Recv of the denied method is only
//! audited (the kernel never denies a receive).
#![cfg(feature = "host")]

mod interpose_util;

use std::sync::atomic::{AtomicU64, Ordering};

use interpose_util::{in_hdr, out_hdr, Counting, Msg};
use kos_ipc_shim::abi::{rcOk, rcSecurityDisallow, INFINITE_TIMEOUT, INVALID_HANDLE};
use kos_ipc_shim::entry::{Call, CallEx, Recv, Reply};
use kos_ipc_shim::{backend, intercept, stats, CallInfo, Interceptor, Op, Verdict};

const DENIED_MID: u16 = 2;
const ALLOWED_MID: u16 = 1;
const HANDLE: u32 = 0x77;

static BACKEND: Counting = Counting::new(DENIED_MID);

/// Denies method DENIED_MID; records what `after` saw.
struct DenyOne {
    denied_seen: AtomicU64,
    audited_recv: AtomicU64,
}

impl Interceptor for DenyOne {
    fn before(&self, info: &CallInfo) -> Verdict {
        if info.iid() == interpose_util::IID && info.mid() == DENIED_MID {
            Verdict::Deny
        } else {
            Verdict::Allow
        }
    }

    fn after(&self, info: &CallInfo) {
        if info.rc == rcSecurityDisallow {
            assert_eq!(info.verdict, Verdict::Deny);
            self.denied_seen.fetch_add(1, Ordering::SeqCst);
        }
        if info.op == Op::Recv && info.verdict == Verdict::AuditDeny {
            self.audited_recv.fetch_add(1, Ordering::SeqCst);
        }
    }
}

static DENY: DenyOne = DenyOne {
    denied_seen: AtomicU64::new(0),
    audited_recv: AtomicU64::new(0),
};

/// A Recv-side interceptor that denies every receive, to show it is audited only.
struct DenyAllRecv;

impl Interceptor for DenyAllRecv {
    fn before(&self, info: &CallInfo) -> Verdict {
        if matches!(info.op, Op::Recv | Op::RecvEx) {
            Verdict::Deny
        } else {
            Verdict::Allow
        }
    }
}

fn call(op: Op, mid: u16, value: u64) -> (i32, Msg) {
    let req = Msg::request(mid, value);
    let out = out_hdr(&req);
    let mut resp = Msg::buffer();
    let mut inp = in_hdr(&mut resp);
    // SAFETY: both headers point at live buffers.
    let rc = unsafe {
        match op {
            Op::Call => Call(HANDLE, &out, &mut inp),
            Op::CallEx => CallEx(HANDLE, &out, &mut inp, INFINITE_TIMEOUT, INVALID_HANDLE),
            _ => unreachable!(),
        }
    };
    (rc, resp)
}

#[test]
fn an_interceptor_denies_one_method_and_the_backend_never_sees_it() {
    backend::set_backend(&BACKEND).unwrap();
    intercept::register(&DENY).unwrap();
    intercept::register(&DenyAllRecv).unwrap();
    let passed_before = stats::global().by_op[Op::Call as usize];

    // The allowed method goes through and is answered by the backend.
    let (rc, resp) = call(Op::Call, ALLOWED_MID, 41);
    assert_eq!(rc, rcOk);
    assert_eq!(resp.value, 42);
    assert_eq!(resp.hdr.mid, ALLOWED_MID);

    // The denied method: rcSecurityDisallow, response buffer untouched.
    let (rc, resp) = call(Op::Call, DENIED_MID, 41);
    assert_eq!(rc, rcSecurityDisallow);
    assert_eq!(resp.value, 0);
    let (rc, _) = call(Op::CallEx, DENIED_MID, 41);
    assert_eq!(rc, rcSecurityDisallow);

    // A Reply carrying the denied method is denied too.
    let res = Msg::request(DENIED_MID, 5);
    let out = out_hdr(&res);
    // SAFETY: the header points at a live buffer.
    assert_eq!(unsafe { Reply(HANDLE, &out) }, rcSecurityDisallow);

    // Receives are never denied, only audited.
    let mut buf = Msg::buffer();
    let mut inp = in_hdr(&mut buf);
    // SAFETY: the header points at a live buffer.
    assert_eq!(unsafe { Recv(HANDLE, &mut inp) }, rcOk);
    assert_eq!(buf.hdr.mid, DENIED_MID);

    assert_eq!(BACKEND.count(Op::Call, DENIED_MID), 0);
    assert_eq!(BACKEND.count(Op::CallEx, DENIED_MID), 0);
    assert_eq!(BACKEND.count(Op::Reply, DENIED_MID), 0);
    assert_eq!(BACKEND.count(Op::Call, ALLOWED_MID), 1);
    assert_eq!(BACKEND.count(Op::Recv, DENIED_MID), 1);
    assert_eq!(BACKEND.refused(Op::Call), 1);
    assert_eq!(BACKEND.refused(Op::CallEx), 1);
    assert_eq!(BACKEND.refused(Op::Reply), 1);
    assert_eq!(DENY.denied_seen.load(Ordering::SeqCst), 3);
    assert_eq!(DENY.audited_recv.load(Ordering::SeqCst), 1);
    // Every one of them passed the pipeline (denied ones included).
    assert_eq!(stats::global().by_op[Op::Call as usize] - passed_before, 2);
}
