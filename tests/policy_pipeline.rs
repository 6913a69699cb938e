//! The policy inside the pipeline, with a Rust test backend: denial before
//! the backend, audit mode, receives judged after the call, atomic loading,
//! the C API, and hot reload under 8 calling threads.
//!
//! The policy is process-wide, so the tests take one lock. The process's
//! name map (`KOS_SHIM_NAMES`, set before the first call) names interface 3
//! and 6 `Echo`, with methods 1 `Ping` and 2 `Quit`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use kos_ipc_shim::abi::*;
use kos_ipc_shim::backend::{set_backend, Args, Backend};
use kos_ipc_shim::entry::{Call, Recv, Reply};
use kos_ipc_shim::intercept::{register, CallInfo, Interceptor, Verdict};
use kos_ipc_shim::op::Op;
use kos_ipc_shim::policy;

static LOCK: Mutex<()> = Mutex::new(());

/// Counts what reaches it per (op, mid); a Recv delivers iid=RECV_IID mid=9.
struct Counting {
    calls: [AtomicU64; 8],
    replies: AtomicU64,
}
static BACKEND: Counting = Counting {
    calls: [const { AtomicU64::new(0) }; 8],
    replies: AtomicU64::new(0),
};
static RECV_IID: AtomicU64 = AtomicU64::new(5);

/// A bare 24-byte message: the NK header alone.
fn msg(iid: u16, mid: u16) -> nk_message {
    nk_message::new(iid, mid, 24)
}

/// The message's bytes as C lays them out: iid, mid, the `ex` word (its
/// size_ex), then the `self` descriptor (all 0 here).
fn bytes_of(m: &nk_message) -> [u8; 24] {
    let mut b = [0u8; 24];
    b[0..2].copy_from_slice(&m.iid.to_ne_bytes());
    b[2..4].copy_from_slice(&m.mid.to_ne_bytes());
    b[4..8].copy_from_slice(&m.ex.to_ne_bytes());
    b
}

impl Backend for Counting {
    fn forward(&self, op: Op, args: &mut Args<'_>) -> Retcode {
        match op {
            Op::Call | Op::CallEx => {
                let mid = args.out.as_ref().map_or(0, |m| m.info().mid) as usize;
                self.calls[mid % 8].fetch_add(1, Ordering::SeqCst);
                let r = msg(0, 0);
                args.inp.as_mut().map_or(rcOk, |i| {
                    i.write(&bytes_of(&r), &[]).map_or_else(|e| e, |_| rcOk)
                })
            }
            Op::Recv | Op::RecvEx => {
                let r = msg(RECV_IID.load(Ordering::SeqCst) as u16, 9);
                args.inp.as_mut().map_or(rcOk, |i| {
                    i.write(&bytes_of(&r), &[]).map_or_else(|e| e, |_| rcOk)
                })
            }
            Op::Reply => {
                self.replies.fetch_add(1, Ordering::SeqCst);
                rcOk
            }
        }
    }
    fn name(&self) -> &'static str {
        "counting"
    }
}

/// Remembers the verdict `after` reported for the last Recv.
struct Seen(AtomicU64);
static SEEN: Seen = Seen(AtomicU64::new(99));
impl Interceptor for Seen {
    fn after(&self, info: &CallInfo) {
        if info.op == Op::Recv {
            self.0.store(info.verdict as u64, Ordering::SeqCst);
        }
    }
}

fn setup() -> std::sync::MutexGuard<'static, ()> {
    let g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let names = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("policy-pipeline.names");
        std::fs::write(
            &names,
            "iid 3 Echo\niid 6 Echo\nmid 3.1 Ping\nmid 3.2 Quit\nmid 6.1 Ping\nmid 6.2 Quit\n",
        )
        .unwrap();
        std::env::set_var("KOS_SHIM_NAMES", &names);
        set_backend(&BACKEND).unwrap();
        register(&SEEN).unwrap();
    });
    policy::clear();
    g
}

#[repr(C, align(8))]
struct Buf([u8; 64]);

/// Headers filled by hand, as an SDK program may (no PackOutMsg): the
/// constant part in descriptor 0, no arena.
fn hand_header(buf: *mut nk_message, size: u32) -> SMsgHdr {
    let mut h = SMsgHdr::ZERO;
    h.set_descs([
        IndirDesc {
            buf: buf.cast(),
            size,
        },
        IndirDesc::NONE,
    ]);
    h
}

fn out_hdr(m: &mut nk_message) -> SMsgHdr {
    let size = m.size_ex();
    hand_header(m, size)
}

fn in_hdr(b: &mut Buf) -> SMsgHdr {
    hand_header(b.0.as_mut_ptr().cast(), 64)
}

fn call(iid: u16, mid: u16) -> Retcode {
    let mut m = msg(iid, mid);
    let out = out_hdr(&mut m);
    let mut b = Buf([0; 64]);
    let mut inp = in_hdr(&mut b);
    // SAFETY: both headers are valid and their buffers live across the call.
    unsafe { Call(1, &out, &mut inp) }
}

fn reply(iid: u16, mid: u16) -> Retcode {
    let mut m = msg(iid, mid);
    let out = out_hdr(&mut m);
    // SAFETY: the header is valid and its buffer lives across the call.
    unsafe { Reply(2, &out) }
}

fn recv() -> Retcode {
    let mut b = Buf([0; 64]);
    let mut inp = in_hdr(&mut b);
    // SAFETY: the header is valid and its buffer lives across the call.
    unsafe { Recv(2, &mut inp) }
}

fn calls(mid: usize) -> u64 {
    BACKEND.calls[mid].load(Ordering::SeqCst)
}

const DENY_MID2: &str = "allow call iid=3 mid=1\ndeny call iid=3 mid=2\nallow reply\nallow recv\n";

#[test]
fn without_policy_everything_passes_and_is_counted_as_unpoliced() {
    let _g = setup();
    let before = policy::stats();
    let (c2, r0) = (calls(2), BACKEND.replies.load(Ordering::SeqCst));
    assert_eq!(call(3, 2), rcOk);
    assert_eq!(reply(3, 2), rcOk);
    assert_eq!(calls(2), c2 + 1);
    assert_eq!(BACKEND.replies.load(Ordering::SeqCst), r0 + 1);
    let s = policy::stats();
    assert_eq!(s.active, 0);
    assert_eq!(s.unpoliced - before.unpoliced, 2);
    assert_eq!(s.denied, before.denied);
}

#[test]
fn a_denied_method_never_reaches_the_backend() {
    let _g = setup();
    policy::load(DENY_MID2).unwrap();
    let before = policy::stats();
    let (c1, c2) = (calls(1), calls(2));
    assert_eq!(call(3, 2), rcSecurityDisallow);
    assert_eq!(call(3, 1), rcOk);
    assert_eq!(call(4, 1), rcSecurityDisallow); // default deny
    assert_eq!(reply(9, 9), rcOk);
    assert_eq!(calls(2), c2, "the server never saw the denied method");
    assert_eq!(calls(1), c1 + 1);
    let s = policy::stats();
    assert_eq!(s.denied - before.denied, 2);
    assert_eq!(s.allowed - before.allowed, 2);
    assert_eq!((s.active, s.audit, s.rules, s.default_hits), (1, 0, 4, 1));
    let mut hits = [0u64; 8];
    assert_eq!(policy::rule_hits(&mut hits), 4);
    assert_eq!(&hits[..4], &[1, 1, 1, 0]);
}

#[test]
fn audit_mode_denies_nothing_and_counts_would_be_denials() {
    let _g = setup();
    policy::load(&format!("mode audit\n{DENY_MID2}")).unwrap();
    let before = policy::stats();
    let c2 = calls(2);
    assert_eq!(call(3, 2), rcOk);
    assert_eq!(call(3, 2), rcOk);
    assert_eq!(call(4, 1), rcOk);
    assert_eq!(calls(2), c2 + 2);
    let s = policy::stats();
    assert_eq!(s.audit, 1);
    assert_eq!(s.denied - before.denied, 0);
    assert_eq!(s.audit_denied - before.audit_denied, 3);
    assert_eq!(
        s.reports + s.reports_suppressed - before.reports - before.reports_suppressed,
        3
    );
}

#[test]
fn receives_are_judged_on_the_received_message_and_never_denied() {
    let _g = setup();
    policy::load("allow recv iid=5\nallow call\ndefault deny\n").unwrap();
    let before = policy::stats();
    RECV_IID.store(5, Ordering::SeqCst);
    assert_eq!(recv(), rcOk);
    assert_eq!(SEEN.0.load(Ordering::SeqCst), Verdict::Allow as u64);
    RECV_IID.store(6, Ordering::SeqCst);
    assert_eq!(recv(), rcOk, "a receive is never denied");
    assert_eq!(SEEN.0.load(Ordering::SeqCst), Verdict::AuditDeny as u64);
    let s = policy::stats();
    assert_eq!(s.audit_denied - before.audit_denied, 1);
    assert_eq!(s.allowed - before.allowed, 1);
    assert_eq!(s.denied, before.denied);
    RECV_IID.store(5, Ordering::SeqCst);
}

#[test]
fn log_rules_allow_and_report() {
    let _g = setup();
    policy::load("log call iid=3\ndefault allow\n").unwrap();
    let before = policy::stats();
    assert_eq!(call(3, 1), rcOk);
    let s = policy::stats();
    assert_eq!(s.logged - before.logged, 1);
    assert_eq!(
        s.reports + s.reports_suppressed - before.reports - before.reports_suppressed,
        1
    );
}

#[test]
fn a_text_with_an_error_changes_nothing() {
    let _g = setup();
    policy::load(DENY_MID2).unwrap();
    let g0 = policy::stats().generation;
    let e = policy::load("allow call\ndeny call mid=\n").unwrap_err();
    assert_eq!(e.to_string(), "policy:2:15: expected a number after 'mid='");
    assert_eq!(policy::stats().generation, g0);
    assert_eq!(
        call(3, 2),
        rcSecurityDisallow,
        "the previous policy is still in force"
    );
}

#[test]
fn c_api_reports_errors_into_the_buffer_safely() {
    use kos_ipc_shim::policy::PolicyStats;
    let _g = setup();
    extern "C" {
        fn kos_shim_policy_load(t: *const i8, len: usize, err: *mut i8, err_len: usize) -> Retcode;
        fn kos_shim_policy_stats(out: *mut PolicyStats) -> Retcode;
        fn kos_shim_policy_rule_hits(out: *mut u64, cap: usize, n: *mut usize) -> Retcode;
        fn kos_shim_policy_clear() -> Retcode;
    }
    let bad = b"allow call\nlog any iid=-";
    let mut err = [0x55i8; 64];
    // SAFETY: valid text and buffer lengths.
    let rc = unsafe { kos_shim_policy_load(bad.as_ptr() as _, bad.len(), err.as_mut_ptr(), 64) };
    assert_eq!(rc, rcInvalidArgument);
    // SAFETY: the shim NUL-terminates within 64 bytes.
    let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) }
        .to_str()
        .unwrap();
    assert_eq!(msg, "policy:2:13: expected a number after 'iid='");
    let mut small = [0x55i8; 10];
    // SAFETY: as above, with a 10-byte buffer.
    let rc = unsafe { kos_shim_policy_load(bad.as_ptr() as _, bad.len(), small.as_mut_ptr(), 10) };
    assert_eq!(rc, rcInvalidArgument);
    // SAFETY: NUL-terminated within 10 bytes.
    let msg = unsafe { std::ffi::CStr::from_ptr(small.as_ptr()) }
        .to_str()
        .unwrap();
    assert_eq!(msg, "policy:2:");
    // SAFETY: NULL err is allowed; NULL text with len 0 is the empty policy.
    assert_eq!(
        unsafe { kos_shim_policy_load(bad.as_ptr() as _, bad.len(), std::ptr::null_mut(), 0) },
        rcInvalidArgument
    );
    // SAFETY: NULL text with a length is rejected before any read.
    assert_eq!(
        unsafe { kos_shim_policy_load(std::ptr::null(), 5, err.as_mut_ptr(), 64) },
        rcInvalidArgument
    );
    let bin = b"allow call\n\xff";
    // SAFETY: valid buffers.
    assert_eq!(
        unsafe { kos_shim_policy_load(bin.as_ptr() as _, bin.len(), err.as_mut_ptr(), 64) },
        rcInvalidArgument
    );
    // SAFETY: NUL-terminated.
    let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) }
        .to_str()
        .unwrap();
    assert_eq!(msg, "policy:2:1: the policy text is not valid UTF-8");
    let good = b"allow call mid=1\nallow call mid=2\ndeny call\n";
    // SAFETY: valid buffers.
    assert_eq!(
        unsafe { kos_shim_policy_load(good.as_ptr() as _, good.len(), err.as_mut_ptr(), 64) },
        rcOk
    );
    assert_eq!(err[0], 0, "the message is empty on success");
    assert_eq!(call(3, 2), rcOk);
    let mut s = PolicyStats::default();
    // SAFETY: valid out-pointer; NULL is rejected.
    unsafe {
        assert_eq!(kos_shim_policy_stats(&mut s), rcOk);
        assert_eq!(
            kos_shim_policy_stats(std::ptr::null_mut()),
            rcInvalidArgument
        );
    }
    assert_eq!((s.rules, s.active), (3, 1));
    let mut hits = [7u64; 2];
    let mut n = 0usize;
    // SAFETY: valid buffers of the stated sizes.
    unsafe {
        assert_eq!(
            kos_shim_policy_rule_hits(hits.as_mut_ptr(), 2, &mut n),
            rcBufferTooSmall
        );
        assert_eq!((n, hits), (3, [0, 1]));
        assert_eq!(
            kos_shim_policy_rule_hits(std::ptr::null_mut(), 0, &mut n),
            rcBufferTooSmall
        );
        assert_eq!(
            kos_shim_policy_rule_hits(std::ptr::null_mut(), 1, &mut n),
            rcInvalidArgument
        );
        assert_eq!(
            kos_shim_policy_rule_hits(hits.as_mut_ptr(), 2, std::ptr::null_mut()),
            rcInvalidArgument
        );
        assert_eq!(kos_shim_policy_clear(), rcOk);
        assert_eq!(
            kos_shim_policy_rule_hits(std::ptr::null_mut(), 0, &mut n),
            rcOk
        );
    }
    assert_eq!(n, 0);
}

#[test]
fn hot_reload_under_eight_threads_never_tears_a_decision() {
    let _g = setup();
    // Policy A denies (iid=k, mid=1) by rule k on line k+1; policy B logs it
    // by rule k on line k+2. A decision mixing the two is detectable.
    const N: usize = 300;
    let mut a = String::new();
    let mut b = String::from("# policy B\n");
    for k in 0..N {
        a += &format!("deny call iid={k} mid=1\n");
        b += &format!("log call iid={k} mid=1..2\n");
    }
    a += "default allow\n";
    b += "default allow\n";
    policy::load(&a).unwrap();
    let before = policy::stats();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let per_thread = 20_000u64;
    let (denied, logged, loads) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8u64)
            .map(|t| {
                s.spawn(move || {
                    let (mut d, mut l) = (0u64, 0u64);
                    for i in 0..per_thread {
                        let k = ((i * 7 + t * 13) % N as u64) as u16;
                        let mut info = CallInfo::new(Op::Call, 1);
                        info.sent.iid = k;
                        info.sent.mid = 1;
                        info.sent.const_size = 24;
                        let dec = policy::decide_detail(&info);
                        assert_eq!(dec.rule, Some(k as u32));
                        match dec.verdict {
                            Verdict::Deny => {
                                assert_eq!(dec.line, k as u32 + 1);
                                d += 1;
                            }
                            Verdict::Log => {
                                assert_eq!(dec.line, k as u32 + 2);
                                l += 1;
                            }
                            v => panic!("torn decision: {v:?} {dec:?}"),
                        }
                    }
                    (d, l)
                })
            })
            .collect();
        let mut loads = 0u64;
        let reloader = s.spawn(|| {
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                policy::load(if n.is_multiple_of(2) { &b } else { &a }).unwrap();
                n += 1;
            }
            n
        });
        let (mut d, mut l) = (0, 0);
        for w in workers {
            let (wd, wl) = w.join().unwrap();
            d += wd;
            l += wl;
        }
        stop.store(true, Ordering::SeqCst);
        loads += reloader.join().unwrap();
        (d, l, loads)
    });
    assert_eq!(denied + logged, 8 * per_thread);
    let s = policy::stats();
    assert_eq!(s.denied - before.denied, denied);
    assert_eq!(s.logged - before.logged, logged);
    assert_eq!(s.loads - before.loads, loads);
    assert!(loads > 0);
    // Per-rule counters of a fresh policy add up exactly too.
    policy::load(&a).unwrap();
    let g = policy::stats().generation;
    for i in 0..1000u16 {
        let mut info = CallInfo::new(Op::Call, 1);
        info.sent.iid = i % N as u16;
        info.sent.mid = 1;
        policy::decide(&info);
    }
    let mut hits = vec![0u64; N];
    assert_eq!(policy::rule_hits(&mut hits), N);
    assert_eq!(policy::stats().generation, g);
    assert_eq!(hits.iter().sum::<u64>(), 1000);
}

#[test]
fn the_statistics_text_dump_includes_the_policy() {
    let _g = setup();
    use kos_ipc_shim::stats::dump::{render, Format};
    assert!(
        !render(Format::Text).contains("policy verdicts:"),
        "no policy: no section"
    );
    policy::load(DENY_MID2).unwrap();
    assert_eq!(call(3, 1), rcOk);
    assert_eq!(call(3, 2), rcSecurityDisallow);
    let text = render(Format::Text);
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("policy")).collect();
    assert_eq!(lines.len(), 7, "{text}");
    assert!(
        lines[0].starts_with("policy: active=1 mode=enforce failed_closed=0 rules=4 generation=")
    );
    assert!(lines[1].starts_with("policy verdicts: allow="));
    assert_eq!(
        lines[2],
        "policy rule line 1: allow call iid=3 mid=1 hits=1"
    );
    assert_eq!(lines[3], "policy rule line 2: deny call iid=3 mid=2 hits=1");
    assert_eq!(lines[4], "policy rule line 3: allow reply hits=0");
    assert_eq!(lines[5], "policy rule line 4: allow recv hits=0");
    assert_eq!(lines[6], "policy default deny: hits=0");
}

#[test]
fn names_resolve_against_the_process_map_and_expand_per_endpoint() {
    let _g = setup();
    extern "C" {
        fn kos_shim_policy_load(t: *const i8, len: usize, err: *mut i8, err_len: usize) -> Retcode;
    }
    // Both RIIDs named Echo: one rule each, both from line 1.
    let text = "deny call Echo.Quit\nallow call iid=Echo mid=Ping\nallow reply\nallow recv\n";
    // SAFETY: valid text; NULL err is allowed.
    let rc =
        unsafe { kos_shim_policy_load(text.as_ptr() as _, text.len(), std::ptr::null_mut(), 0) };
    assert_eq!(rc, rcOk);
    assert_eq!(policy::stats().rules, 6);
    let c2 = calls(2);
    assert_eq!(call(3, 2), rcSecurityDisallow);
    assert_eq!(call(6, 2), rcSecurityDisallow);
    assert_eq!(calls(2), c2, "the server never saw Quit");
    assert_eq!(call(3, 1), rcOk);
    assert_eq!(call(6, 1), rcOk);
    assert_eq!(call(4, 2), rcSecurityDisallow, "default deny");
    let mut info = CallInfo::new(Op::Call, 1);
    (info.sent.iid, info.sent.mid, info.sent.const_size) = (6, 2, 24);
    let d = policy::decide_detail(&info);
    assert_eq!(
        (d.rule, d.line),
        (Some(1), 1),
        "reports point at the source line"
    );
    let mut hits = [0u64; 8];
    assert_eq!(policy::rule_hits(&mut hits), 6);
    assert_eq!(&hits[..6], &[1, 2, 1, 1, 0, 0]);
    use kos_ipc_shim::stats::dump::{render, Format};
    let dump = render(Format::Text);
    let lines: Vec<&str> = dump
        .lines()
        .filter(|l| l.starts_with("policy rule"))
        .collect();
    assert_eq!(
        lines,
        [
            "policy rule line 1 (1 of 2): deny call iid=3 mid=2 hits=1",
            "policy rule line 1 (2 of 2): deny call iid=6 mid=2 hits=2",
            "policy rule line 2 (1 of 2): allow call iid=3 mid=1 hits=1",
            "policy rule line 2 (2 of 2): allow call iid=6 mid=1 hits=1",
            "policy rule line 3: allow reply hits=0",
            "policy rule line 4: allow recv hits=0",
        ]
    );
    // A name error changes nothing, through Rust and C alike.
    let g0 = policy::stats().generation;
    assert_eq!(
        policy::load("allow call\ndeny call Echo.Nope\n")
            .unwrap_err()
            .to_string(),
        "policy:2:16: interface Echo has no method 'Nope' (methods: Ping, Quit)"
    );
    let bad = b"deny call iid=Nope";
    let mut err = [0x55i8; 128];
    // SAFETY: valid text and buffer lengths.
    let rc = unsafe { kos_shim_policy_load(bad.as_ptr() as _, bad.len(), err.as_mut_ptr(), 128) };
    assert_eq!(rc, rcInvalidArgument);
    // SAFETY: the shim NUL-terminates within 128 bytes.
    let msg = unsafe { std::ffi::CStr::from_ptr(err.as_ptr()) }
        .to_str()
        .unwrap();
    assert_eq!(
        msg,
        "policy:1:15: unknown endpoint or interface 'Nope' (known: Echo)"
    );
    assert_eq!(policy::stats().generation, g0);
    assert_eq!(
        call(3, 2),
        rcSecurityDisallow,
        "the named policy is still in force"
    );
}

/// A thread's repeated message reuses its last decision (the memo): every
/// fact a rule reads still decides — the handle, the sizes — and a reload
/// decides anew for the same message. Hits stay exact.
#[test]
fn a_repeated_message_is_decided_by_the_policy_of_the_moment() {
    let _g = setup();
    policy::load("deny call handle=7 iid=3\nallow call iid=3 mid=1 bytes<=32\ndeny call iid=3\n")
        .unwrap();
    let decide = |handle: u32, size: u32| {
        let mut info = CallInfo::new(Op::Call, handle);
        (info.sent.iid, info.sent.mid, info.sent.const_size) = (3, 1, size);
        let d = policy::decide_detail(&info);
        (d.verdict, d.rule)
    };
    let (allow, deny) = (Verdict::Allow, Verdict::Deny);
    assert_eq!(decide(1, 24), (allow, Some(1)));
    assert_eq!(decide(1, 24), (allow, Some(1)), "the same message again");
    assert_eq!(decide(1, 40), (deny, Some(2)), "only the size differs");
    assert_eq!(decide(1, 24), (allow, Some(1)));
    assert_eq!(decide(7, 24), (deny, Some(0)), "only the handle differs");
    assert_eq!(decide(7, 24), (deny, Some(0)));
    let mut hits = [0u64; 8];
    assert_eq!(policy::rule_hits(&mut hits), 3);
    assert_eq!(&hits[..3], &[2, 3, 1]);
    policy::load("deny call iid=3 mid=1\n").unwrap();
    assert_eq!(decide(1, 24), (deny, Some(0)), "a reload decides anew");
    assert_eq!(decide(1, 24), (deny, Some(0)));
    assert_eq!(policy::rule_hits(&mut hits), 1);
    assert_eq!(hits[0], 2);
}
