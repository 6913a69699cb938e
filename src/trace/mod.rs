//! Tracing: one fixed-size record per intercepted call, through lock-free
//! rings, drained to sinks (stderr text, `.kst` files, Chrome/Perfetto JSON,
//! CTF 1.8, a C callback).
//!
//! # Hot path
//! [`record()`] is called from `intercept::after` for every call. When tracing
//! is off it is one atomic load. When on, it builds a
//! [`KosShimTraceRecord`] and pushes it into the calling thread's ring
//! (std: one ring per thread, allocated on the thread's first traced call;
//! no_std with the C library: 8 shards shared by hashing the thread id, each
//! allocated on its first call; bare no_std: 8 static shards). A full ring
//! drops the record and counts it: **the writer never waits**. Nothing is
//! allocated on the steady path.
//!
//! # Drain
//! Builds with the C library (`clib`: host, preload, wrap) run a background
//! drainer thread; everyone can also drain synchronously with [`flush`]
//! (`kos_shim_trace_flush`, the only way in the bare no_std build, where
//! records go to the C callback set with `kos_shim_trace_set_sink`). The
//! drain holds the re-entrancy guard, so IPC made by sinks (a file write is
//! IPC on KasperskyOS) passes straight through the shim untraced. Drops are
//! reported as lost records in the output and by [`lost`].
//!
//! # Configuration (`clib`: every build but the bare core)
//! Read at first use through the C library's `getenv`: `KOS_SHIM_TRACE` (the
//! same spec as [`start`]; paths take `%p`, `%t`, `%n`),
//! `KOS_SHIM_TRACE_BUF` (records per ring, rounded up to a power of two,
//! 2..=1048576, default 4096), `KOS_SHIM_TRACE_PAYLOAD` (capture the first n
//! bytes, at most 4096, of each message's constant part and arena:
//! **sensitive**, off by default), `KOS_SHIM_TRACE_FILTER` (which methods,
//! by name: [`filter`]). `src/trace/sink.rs` is the one implementation.

pub mod record;
pub mod ring;

mod capi;
mod pool;
#[cfg(feature = "clib")]
mod sink;

#[cfg(feature = "clib")]
pub mod bytes;
#[cfg(feature = "clib")]
pub mod ctf;
#[cfg(feature = "clib")]
pub mod filter;
#[cfg(feature = "clib")]
pub mod json;
#[cfg(feature = "clib")]
pub mod kst;
#[cfg(feature = "std")]
pub mod merge;
#[cfg(feature = "std")]
pub mod summary;
#[cfg(feature = "clib")]
pub mod text;
#[cfg(feature = "clib")]
pub mod threads;

pub use capi::*;
pub use record::KosShimTraceRecord;

use core::sync::atomic::{AtomicU64, AtomicU8, AtomicUsize, Ordering};

use crate::abi::{rcInvalidArgument, rcUnimplemented, Retcode};
use crate::call::CallInfo;

const UNINIT: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNINIT);
/// Payload bytes captured per message part (0: off). Fixed once configured.
static PAYLOAD: AtomicUsize = AtomicUsize::new(0);
/// Records dropped without reaching a ring (a thread past its TLS teardown).
static ORPHAN_LOST: AtomicU64 = AtomicU64::new(0);
static ORPHAN_REPORTED: AtomicU64 = AtomicU64::new(0);
/// Records a failing sink could not write.
static SINK_LOST: AtomicU64 = AtomicU64::new(0);

/// Largest `KOS_SHIM_TRACE_PAYLOAD` accepted (bytes per part).
#[cfg(feature = "clib")]
pub(crate) const MAX_PAYLOAD: usize = 4096;

/// Hook: record one finished call. One relaxed load when tracing is off.
#[inline]
pub fn record(info: &CallInfo) {
    match STATE.load(Ordering::Acquire) {
        ON => record_on(info),
        UNINIT => {
            configure_from_env();
            if STATE.load(Ordering::Acquire) == ON {
                record_on(info)
            }
        }
        _ => {}
    }
}

/// Whether the pipeline should hand message bytes to [`record()`]
/// (`KOS_SHIM_TRACE_PAYLOAD` > 0 and tracing on).
#[inline]
pub fn payload_wanted() -> bool {
    PAYLOAD.load(Ordering::Relaxed) != 0 && STATE.load(Ordering::Relaxed) == ON
}

#[inline]
fn record_on(info: &CallInfo) {
    #[cfg(feature = "clib")]
    if carries_message(info) && !filter::keeps(info.iid(), info.message().mid) {
        return;
    }
    let Some(ring) = pool::mine() else {
        ORPHAN_LOST.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let _pos = if info.payload.is_empty() && info.response.is_empty() {
        ring.push_record(|| KosShimTraceRecord::from_call(info))
    } else {
        let rec = KosShimTraceRecord::from_call(info);
        // SAFETY: we run inside the call that filled `info.payload` and
        // `info.response` (called from intercept::after during dispatch), so
        // their bytes are still valid.
        let ((c, a), (rc, ra)) = unsafe { (info.payload.get(), info.response.get()) };
        ring.push_parts(&rec, &[c, a, rc, ra])
    };
    #[cfg(feature = "clib")]
    if _pos.is_some_and(|pos| ring.wants_drain(pos)) {
        sink::wake();
    }
}

/// Whether the call has a message to name it by: everything sent, and a
/// receive that succeeded.
#[cfg(feature = "clib")]
#[inline]
fn carries_message(info: &CallInfo) -> bool {
    info.op.sends() || info.rc == crate::abi::rcOk
}

/// Whether tracing is on, or not configured yet (for [`crate::layers`]).
#[inline]
pub(crate) fn layer_on() -> bool {
    STATE.load(Ordering::Relaxed) != OFF
}

/// Put whether tracing is on, and captures payloads, into the pipeline's
/// layers word.
pub(crate) fn publish() {
    use crate::layers::{PAYLOAD as P, TRACE as T};
    crate::layers::update(T | P, || {
        (if layer_on() { T } else { 0 }) | (if payload_wanted() { P } else { 0 })
    });
}

/// One-time configuration: builds with the C library read the environment
/// (and start the session `KOS_SHIM_TRACE` asks for); the bare core stays
/// off until [`start`].
/// Threads racing with it wait for it, once, so no early record is dropped
/// uncounted.
pub(crate) fn configure_from_env() {
    static ONCE: spin::Once<()> = spin::Once::new();
    ONCE.call_once(|| {
        #[cfg(feature = "clib")]
        {
            sink::configure_from_env();
            pool::init();
            sink::start_from_env();
        }
        let _ = STATE.compare_exchange(UNINIT, OFF, Ordering::AcqRel, Ordering::Acquire);
        publish();
    });
}

/// One item of a trace spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpecItem<'a> {
    /// `off`: stop tracing.
    Off,
    /// `stderr`: one text line per call through the `log` facade.
    Stderr,
    /// `file:PATH`: binary `.kst`.
    Kst(&'a str),
    /// `json:PATH`: Chrome Trace Event JSON.
    Json(&'a str),
    /// `ctf:DIR`: CTF 1.8 directory.
    Ctf(&'a str),
    /// `sink`: only the C callback (`kos_shim_trace_set_sink`).
    Callback,
}

/// Parse one comma-separated spec item.
pub fn parse_item(item: &str) -> Result<SpecItem<'_>, Retcode> {
    let item = item.trim();
    let (kind, arg) = match item.split_once(':') {
        Some((k, a)) => (k, Some(a)),
        None => (item, None),
    };
    let path = |a: Option<&'_ str>| match a {
        Some(p) if !p.trim().is_empty() => Ok(()),
        _ => Err(rcInvalidArgument),
    };
    Ok(match (kind, arg) {
        ("off", None) => SpecItem::Off,
        ("stderr", None) => SpecItem::Stderr,
        ("sink", None) => SpecItem::Callback,
        ("file", a) => {
            path(a)?;
            SpecItem::Kst(a.unwrap_or("").trim())
        }
        ("json", a) => {
            path(a)?;
            SpecItem::Json(a.unwrap_or("").trim())
        }
        ("ctf", a) => {
            path(a)?;
            SpecItem::Ctf(a.unwrap_or("").trim())
        }
        _ => return Err(rcInvalidArgument),
    })
}

/// Check a whole spec: every item valid, `off` alone. Returns whether it is `off`.
fn check_spec(spec: &str) -> Result<bool, Retcode> {
    let mut off = false;
    let mut n = 0;
    for item in spec.split(',') {
        let it = parse_item(item)?;
        off |= it == SpecItem::Off;
        n += 1;
        if !cfg!(feature = "clib") && !matches!(it, SpecItem::Off | SpecItem::Callback) {
            return Err(rcUnimplemented);
        }
    }
    if off && n > 1 {
        return Err(rcInvalidArgument);
    }
    Ok(off)
}

/// The words a trace spec takes.
pub const SPEC_WORDS: &str = "stderr, file:PATH, json:PATH, ctf:DIR, sink, off";

/// What is wrong with `spec`, in words (for `KOS_SHIM_TRACE`), or Ok.
#[cfg(feature = "clib")]
fn explain_spec(spec: &str) -> Result<(), alloc::string::String> {
    use alloc::format;
    let items: alloc::vec::Vec<&str> = spec.split(',').collect();
    for item in &items {
        if parse_item(item).is_ok() {
            continue;
        }
        let word = item.trim();
        let kind = word.split_once(':').map_or(word, |(k, _)| k);
        return Err(match kind {
            "file" | "json" | "ctf" => format!(
                "{word:?} needs a path after the colon (valid outputs: {SPEC_WORDS}, comma separated)"
            ),
            "off" | "stderr" | "sink" => {
                format!("{word:?} takes no argument (valid outputs: {SPEC_WORDS}, comma separated)")
            }
            _ => format!(
                "{word:?} is not an output; valid outputs: {SPEC_WORDS} (comma separated)"
            ),
        });
    }
    if items.len() > 1 && items.iter().any(|i| i.trim() == "off") {
        return Err(format!(
            "\"off\" stands alone (valid outputs: {SPEC_WORDS})"
        ));
    }
    Ok(())
}

/// Start tracing to the sinks in `spec` (`stderr`, `file:PATH.kst`,
/// `json:PATH.json`, `ctf:DIR`, `sink`, comma separated; `off` stops),
/// replacing whatever ran before (its sinks are drained and closed first).
///
/// Paths take `%p` (process id), `%t` (start time), `%n` (program name);
/// each is claimed at once (created; a live process's file is not
/// clobbered, see [`crate::outpath`]).
///
/// Errors: `rcInvalidArgument` for a malformed spec, `rcUnimplemented` for
/// file sinks in the bare no_std build (no C library), `rcFail` when a file
/// cannot be created (tracing is then off; the reason is said on stderr).
pub fn start(spec: &str) -> Result<(), Retcode> {
    if check_spec(spec)? {
        stop();
        return Ok(());
    }
    configure_from_env();
    pool::init();
    #[cfg(feature = "clib")]
    {
        // A session has a drainer thread: a forked child must replace it.
        crate::fork::install();
        sink::start(spec)
    }
    #[cfg(not(feature = "clib"))]
    {
        crate::clock::need(crate::clock::User::Trace, true);
        STATE.store(ON, Ordering::Release);
        publish();
        Ok(())
    }
}

/// Stop tracing: what the rings hold is drained to the sinks, which are then
/// finished and closed (JSON closed, CTF packet sizes written).
pub fn stop() {
    configure_from_env();
    STATE.store(OFF, Ordering::Release);
    crate::clock::need(crate::clock::User::Trace, false);
    publish();
    #[cfg(feature = "clib")]
    sink::stop();
    #[cfg(not(feature = "clib"))]
    flush();
}

/// In a forked child (`crate::fork`): the rings start empty (their records
/// are the parent's, see `pool::fork_child`), losses are counted from zero,
/// the thread names the parent's threads were registering are forgotten if
/// one was caught mid-way, and the child gets a session of its own (see
/// `sink::fork_child`).
#[cfg(feature = "clib")]
pub(crate) fn fork_child() {
    pool::fork_child();
    ORPHAN_LOST.store(0, Ordering::Relaxed);
    ORPHAN_REPORTED.store(0, Ordering::Relaxed);
    SINK_LOST.store(0, Ordering::Relaxed);
    threads::fork_child();
    capi::fork_child();
    sink::fork_child();
}

/// Whether tracing is on.
pub fn is_on() -> bool {
    STATE.load(Ordering::Acquire) == ON
}

/// Drain every ring to the sinks now and flush their buffers. Returns the
/// number of records delivered.
pub fn flush() -> u64 {
    let _inside = crate::guard::enter();
    #[cfg(feature = "clib")]
    {
        sink::flush()
    }
    #[cfg(not(feature = "clib"))]
    {
        capi::drain_to_callback()
    }
}

/// Records lost so far: dropped by full rings, by threads without a ring,
/// and by sinks that failed to write.
pub fn lost() -> u64 {
    pool::lost_total() + ORPHAN_LOST.load(Ordering::Relaxed) + SINK_LOST.load(Ordering::Relaxed)
}

/// Drain every ring, converting times to nanoseconds and emitting lost
/// records for drops since the last drain ([`pool::drain_rings`]: with the
/// C library, in time order across the rings). The caller serialises drains.
pub(crate) fn drain_all(deliver: &mut dyn FnMut(&KosShimTraceRecord, &[u8])) -> u64 {
    let n = pool::drain_rings(deliver);
    let orphan = ORPHAN_LOST.load(Ordering::Relaxed);
    let before = ORPHAN_REPORTED.swap(orphan, Ordering::Relaxed);
    if orphan > before {
        let at = crate::clock::ticks_to_ns(crate::clock::now());
        deliver(
            &KosShimTraceRecord::lost(u32::MAX, 0, at, orphan - before),
            &[],
        );
    }
    n
}

/// Count records a sink failed to write.
#[cfg(feature = "clib")]
pub(crate) fn count_sink_lost(n: u64) {
    SINK_LOST.fetch_add(n, Ordering::Relaxed);
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;

    #[test]
    fn a_bad_spec_is_explained_with_the_valid_words() {
        assert_eq!(explain_spec("file:/tmp/t.kst, ctf:/tmp/c ,stderr"), Ok(()));
        let bogus = explain_spec("stderr,bogus").unwrap_err();
        assert_eq!(
            bogus,
            format!("\"bogus\" is not an output; valid outputs: {SPEC_WORDS} (comma separated)")
        );
        assert!(explain_spec("json:")
            .unwrap_err()
            .starts_with("\"json:\" needs a path after the colon"));
        assert!(explain_spec("stderr:x")
            .unwrap_err()
            .starts_with("\"stderr:x\" takes no argument"));
        assert!(explain_spec("off,sink")
            .unwrap_err()
            .starts_with("\"off\" stands alone"));
        // Every spec explain_spec accepts, check_spec accepts too.
        for ok in ["off", "sink", "stderr,file:a,json:b,ctf:c"] {
            assert_eq!(explain_spec(ok), Ok(()));
            assert!(check_spec(ok).is_ok());
        }
    }
}
