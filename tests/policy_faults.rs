//! Fault rules inside the pipeline with a Rust test backend: a failed call
//! never reaches the backend, a delayed one does; the statistics dump's
//! `faults` lines; an interceptor sees the verdict `Fault`; the trace
//! summary lists injected faults. (Its own process: the policy is global.)

use std::sync::atomic::{AtomicU64, Ordering};

use kos_ipc_shim::abi::*;
use kos_ipc_shim::backend::{set_backend, Args, Backend};
use kos_ipc_shim::entry::Call;
use kos_ipc_shim::intercept::{register, CallInfo, Interceptor, Verdict};
use kos_ipc_shim::op::Op;
use kos_ipc_shim::policy;
use kos_ipc_shim::trace::record::{KosShimTraceRecord, KOS_SHIM_TRACE_KIND_CALL};
use kos_ipc_shim::trace::summary::Summary;

/// Counts the calls that reach it; answers with an empty message.
struct Counting(AtomicU64);
static BACKEND: Counting = Counting(AtomicU64::new(0));

impl Backend for Counting {
    fn forward(&self, _op: Op, args: &mut Args<'_>) -> Retcode {
        self.0.fetch_add(1, Ordering::SeqCst);
        let mut b = [0u8; 24];
        b[4..8].copy_from_slice(&24u32.to_ne_bytes());
        args.inp
            .as_mut()
            .map_or(rcOk, |i| i.write(&b, &[]).map_or_else(|e| e, |_| rcOk))
    }
    fn name(&self) -> &'static str {
        "counting"
    }
}

/// Counts calls the pipeline marked as faulted, and their codes.
struct Faults(AtomicU64, AtomicU64);
static FAULTS: Faults = Faults(AtomicU64::new(0), AtomicU64::new(0));
impl Interceptor for Faults {
    fn after(&self, info: &CallInfo) {
        if info.verdict == Verdict::Fault {
            self.0.fetch_add(1, Ordering::SeqCst);
            if info.rc == rcBusy {
                self.1.fetch_add(1, Ordering::SeqCst);
            }
        }
    }
}

#[repr(C, align(8))]
struct Buf([u8; 64]);

fn call(iid: u16, mid: u16) -> Retcode {
    let mut m = nk_message::new(iid, mid, 24);
    let mut b = Buf([0; 64]);
    let mut out = SMsgHdr::ZERO;
    out.set_descs([
        IndirDesc {
            buf: (&mut m as *mut nk_message).cast(),
            size: 24,
        },
        IndirDesc::NONE,
    ]);
    let mut inp = SMsgHdr::ZERO;
    inp.set_descs([
        IndirDesc {
            buf: b.0.as_mut_ptr().cast(),
            size: 64,
        },
        IndirDesc::NONE,
    ]);
    // SAFETY: the headers and buffers outlive the call.
    unsafe { Call(1, &out, &mut inp) }
}

#[test]
fn fail_and_delay_in_the_pipeline_and_in_the_reports() {
    set_backend(&BACKEND).unwrap();
    register(&FAULTS).unwrap();
    policy::set_fault_seed(7);
    policy::load("allow call\nfail call iid=5 rc=rcBusy every=2\ndelay call iid=6 1ms p=0.5\n")
        .unwrap();
    let rcs: Vec<Retcode> = (0..10).map(|_| call(5, 1)).collect();
    let busy = rcs.iter().filter(|&&rc| rc == rcBusy).count();
    assert_eq!(busy, 5);
    assert!(rcs.iter().step_by(2).all(|&rc| rc == rcOk), "{rcs:x?}");
    assert_eq!(
        BACKEND.0.load(Ordering::SeqCst),
        5,
        "failed calls never reach the backend"
    );
    for _ in 0..20 {
        assert_eq!(call(6, 1), rcOk);
    }
    assert_eq!(
        BACKEND.0.load(Ordering::SeqCst),
        25,
        "delayed calls are forwarded"
    );
    let mut counts = Vec::new();
    assert_eq!(policy::fault_counts(|_, s, i| counts.push((s, i))), 2);
    let delayed = counts[1].1;
    assert_eq!(counts, [(10, 5), (20, delayed)]);
    // p=0.5 with seed 7: exactly the draws below one half.
    let want = (1..=20u64)
        .filter(|&n| {
            let key = policy::fault::splitmix64(7 ^ 0xD1B5_4A32_D192_ED03);
            policy::fault::splitmix64(key.wrapping_add(n)) < 1 << 63
        })
        .count() as u64;
    assert_eq!(delayed, want);
    assert_eq!(FAULTS.0.load(Ordering::SeqCst), 5 + delayed);
    assert_eq!(FAULTS.1.load(Ordering::SeqCst), 5);

    let s = policy::stats();
    assert_eq!(
        (s.fault_rules, s.faults_injected, s.fault_seed),
        (2, 5 + delayed, 7)
    );
    let mut text = String::new();
    policy::write_stats(&mut text).unwrap();
    assert!(
        text.contains(&format!(
            "faults: rules=2 injected={} seed=7\n",
            5 + delayed
        )),
        "{text}"
    );
    assert!(
        text.contains("faults rule line 2: fail call iid=5 rc=rcBusy every=2 seen=10 injected=5\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "faults rule line 3: delay call iid=6 1ms p=0.5 seen=20 injected={delayed}\n"
        )),
        "{text}"
    );
    // A denied message is denied, never faulted.
    policy::load("deny call iid=5\nallow call\nfail call rc=rcBusy\n").unwrap();
    assert_eq!(call(5, 1), rcSecurityDisallow);
    assert_eq!(call(4, 1), rcBusy);
    policy::clear();
    assert_eq!(call(5, 1), rcOk);
}

#[test]
fn summary_lists_injected_faults() {
    let mut sum = Summary::default();
    for (rc, verdict) in [(rcTimeout, 4), (rcTimeout, 4), (rcOk, 4), (rcTimeout, 0)] {
        sum.add(&KosShimTraceRecord {
            iid: 3,
            mid: 1,
            op: 0,
            rc,
            verdict,
            kind: KOS_SHIM_TRACE_KIND_CALL,
            ..Default::default()
        });
    }
    let text = sum.render(&kos_ipc_shim::names::NameMap::new());
    assert!(
        text.contains("injected faults: call 3.1 rcOk: 1\n"),
        "{text}"
    );
    assert!(
        text.contains("injected faults: call 3.1 rcTimeout: 2\n"),
        "{text}"
    );
}
