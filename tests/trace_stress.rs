//! 16 threads x 100k traced calls through a deliberately small ring (64
//! records): every call is either delivered or counted lost, exactly.
//! Its own test binary because the trace state is process-wide.

use std::collections::HashSet;
use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use kos_ipc_shim::trace::{self, record::KOS_SHIM_TRACE_KIND_LOST, KosShimTraceRecord};
use kos_ipc_shim::{CallInfo, Op};

static CALLS: AtomicU64 = AtomicU64::new(0);
static LOST: AtomicU64 = AtomicU64::new(0);
static OURS: Mutex<Option<HashSet<u64>>> = Mutex::new(None);

unsafe extern "C" fn count(
    _ctx: *mut c_void,
    rec: *const KosShimTraceRecord,
    _payload: *const u8,
    _len: usize,
) {
    // SAFETY: the tracer passes a valid record for the duration of the call.
    let rec = unsafe { &*rec };
    if rec.kind == KOS_SHIM_TRACE_KIND_LOST {
        LOST.fetch_add(rec.dropped, Ordering::Relaxed);
    } else if OURS.lock().unwrap().as_ref().unwrap().contains(&rec.thread) {
        CALLS.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn written_plus_lost_equals_calls_exactly() {
    const THREADS: usize = 16;
    const PER: u64 = 100_000;
    // SAFETY: no other thread exists yet in this test binary.
    unsafe { std::env::set_var("KOS_SHIM_TRACE_BUF", "64") };
    *OURS.lock().unwrap() = Some(HashSet::new());
    // SAFETY: `count` is a valid sink for any context.
    assert_eq!(
        unsafe { trace::kos_shim_trace_set_sink(Some(count), std::ptr::null_mut()) },
        0
    );
    trace::start("sink").unwrap();
    let lost_before = trace::lost();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            std::thread::spawn(|| {
                let mut info = CallInfo::new(Op::Call, 3);
                OURS.lock().unwrap().as_mut().unwrap().insert(info.thread);
                for i in 0..PER {
                    info.start = i;
                    info.end = i + 1;
                    trace::record(&info);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    trace::flush();
    let calls = CALLS.load(Ordering::Relaxed);
    let lost = LOST.load(Ordering::Relaxed);
    eprintln!("delivered {calls}, lost {lost}");
    assert_eq!(calls + lost, THREADS as u64 * PER);
    assert_eq!(trace::lost() - lost_before, lost);
    assert!(
        lost > 0,
        "a 64-record ring under 16 busy threads must overflow"
    );
    trace::stop();
}
