//! The emulator with the pipeline's hooks: correlation ids and a policy
//! denial of Reply. Its own test binary, since the interceptor is global.

mod host_util;

use std::sync::Mutex;
use std::thread;

use host_util::*;
use kos_ipc_shim::abi::*;
use kos_ipc_shim::intercept::{self, CallInfo, Interceptor, Verdict};
use kos_ipc_shim::Op;

/// Records (op, correlation, rc) of every call; denies Reply of value 666's answer.
struct Recorder {
    seen: Mutex<Vec<(Op, u64, Retcode)>>,
}

impl Interceptor for Recorder {
    fn before(&self, info: &CallInfo) -> Verdict {
        if info.op == Op::Reply && info.sent.mid == 99 {
            Verdict::Deny
        } else {
            Verdict::Allow
        }
    }
    fn after(&self, info: &CallInfo) {
        self.seen
            .lock()
            .unwrap()
            .push((info.op, info.correlation, info.rc));
    }
}

static RECORDER: Recorder = Recorder {
    seen: Mutex::new(Vec::new()),
};

#[test]
fn correlation_and_denied_reply() {
    intercept::register(&RECORDER).unwrap();
    let (c, s) = channel();

    // A plain round trip: Call, Recv and Reply share one non-zero id.
    let t = thread::spawn(move || request(c, 1));
    serve_one(s);
    assert_eq!(t.join().unwrap().0, rcOk);
    let seen = std::mem::take(&mut *RECORDER.seen.lock().unwrap());
    let mut ops: Vec<_> = seen.iter().map(|e| e.0).collect();
    ops.sort();
    assert_eq!(ops, vec![Op::Call, Op::Recv, Op::Reply]);
    assert!(
        seen.iter()
            .all(|e| e.1 != 0 && e.1 == seen[0].1 && e.2 == rcOk),
        "{seen:?}"
    );

    // The policy denies the Reply: the caller is completed with the same code.
    let t = thread::spawn(move || request(c, 2));
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv(s, &mut rin), rcOk);
    let mut resp = Msg::new(5, "");
    resp.hdr.mid = 99;
    assert_eq!(reply(s, &pack_out(&resp, None)), rcSecurityDisallow);
    assert_eq!(t.join().unwrap().0, rcSecurityDisallow);
    let seen = std::mem::take(&mut *RECORDER.seen.lock().unwrap());
    let call = seen.iter().find(|e| e.0 == Op::Call).unwrap();
    let recv = seen.iter().find(|e| e.0 == Op::Recv).unwrap();
    let denied = seen.iter().find(|e| e.0 == Op::Reply).unwrap();
    assert_eq!(
        (call.1, denied.1),
        (recv.1, recv.1),
        "denied Reply keeps the id"
    );
    assert_ne!(call.1, 0);
    assert_eq!(denied.2, rcSecurityDisallow);
    // Nothing left to answer.
    assert_eq!(
        reply(s, &pack_out(&Msg::new(5, ""), None)),
        rcInvalidArgument
    );
    close(c);
    close(s);
}
