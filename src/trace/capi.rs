//! C API of the tracer: start/stop/flush/lost and the callback sink.

use core::ffi::{c_char, c_void};

use super::record::KosShimTraceRecord;
use crate::abi::{rcInvalidArgument, rcOk, Retcode};
use crate::ffi::{boundary, boundary_or, c_str};

/// A C trace sink: called once per record (calls and lost counts) from the
/// thread that drains (the drainer thread, or the caller of
/// `kos_shim_trace_flush`), never concurrently with itself. `payload` holds
/// `record->payload_const` bytes of the constant part followed by
/// `record->payload_arena` bytes of the arena, then for a Call/CallEx that
/// succeeded `record->payload_resp_const` and `record->payload_resp_arena`
/// bytes of the response (`payload_len` in total; NULL when 0). IPC the
/// sink makes is not traced. Both pointers are valid only during the call.
pub type KosShimTraceSinkFn = Option<
    unsafe extern "C" fn(
        ctx: *mut c_void,
        record: *const KosShimTraceRecord,
        payload: *const u8,
        payload_len: usize,
    ),
>;

/// The C sink and its context.
#[derive(Clone, Copy)]
pub(crate) struct Callback {
    f: KosShimTraceSinkFn,
    ctx: usize,
}

impl Callback {
    /// Hand one record to the C sink, if one is set.
    pub(crate) fn deliver(&self, rec: &KosShimTraceRecord, payload: &[u8]) {
        if let Some(f) = self.f {
            let p = if payload.is_empty() {
                core::ptr::null()
            } else {
                payload.as_ptr()
            };
            // SAFETY: the C caller registered `f` with `ctx` through
            // kos_shim_trace_set_sink and promised both stay valid until
            // replaced; rec and payload are valid for the call.
            unsafe { f(self.ctx as *mut c_void, rec, p, payload.len()) };
        }
    }
}

static CALLBACK: spin::Mutex<Callback> = spin::Mutex::new(Callback { f: None, ctx: 0 });

/// In a forked child (`crate::fork`): a drain pass of the parent's may
/// have held the sink's lock while taking its snapshot.
#[cfg(feature = "clib")]
pub(crate) fn fork_child() {
    if CALLBACK.is_locked() {
        // SAFETY: the child has one thread, this one, which is not taking a
        // snapshot; the holder was a thread of the parent and is gone.
        unsafe { CALLBACK.force_unlock() };
    }
}

/// The C sink now (a snapshot for one drain pass).
pub(crate) fn callback() -> Callback {
    *CALLBACK.lock()
}

/// The bare no_std core: drain every ring to the C sink; the number of
/// call records.
#[cfg(not(feature = "clib"))]
pub(crate) fn drain_to_callback() -> u64 {
    static CONSUMER: spin::Mutex<()> = spin::Mutex::new(());
    let _one = CONSUMER.lock();
    let cb = callback();
    super::drain_all(&mut |r, p| cb.deliver(r, p))
}

/// Set (or, with `sink` NULL, remove) the C trace sink. Records reach it
/// whenever tracing is on, whatever the spec; with the spec `sink` it is the
/// only output (the way to trace in the bare core, built without the C
/// library). `ctx` is passed back
/// unchanged. Returns rcOk.
///
/// # Safety
/// `sink`, if non-NULL, must be safe to call with `ctx` from any thread until
/// it is replaced; it must not call kos_shim_trace_* functions.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_trace_set_sink(
    sink: KosShimTraceSinkFn,
    ctx: *mut c_void,
) -> Retcode {
    boundary(|| {
        *CALLBACK.lock() = Callback {
            f: sink,
            ctx: ctx as usize,
        };
        rcOk
    })
}

/// Start tracing. `spec` is a comma-separated list of sinks: `stderr` (one
/// text line per call via the log facade), `file:PATH` (binary .kst),
/// `json:PATH` (Chrome Trace Event JSON for Perfetto / chrome://tracing),
/// `ctf:DIR` (CTF 1.8 for babeltrace2), `sink` (only the C callback); `off`
/// alone stops. Paths take `%p` (process id), `%t` (start time), `%n`
/// (program name); each file is created at once. A running session is
/// drained and closed first.
///
/// Returns rcOk; rcInvalidArgument (NULL or malformed spec); rcUnimplemented
/// (file outputs in the bare core, built without the C library); rcFail (a
/// file could not be created: tracing is then off, the reason is printed on
/// stderr).
///
/// # Safety
/// `spec` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_trace_start(spec: *const c_char) -> Retcode {
    // SAFETY: the caller's contract on `spec`.
    let spec = unsafe { c_str(spec) };
    boundary(|| match spec {
        None => rcInvalidArgument,
        Some(s) => match super::start(s) {
            Ok(()) => rcOk,
            Err(rc) => rc,
        },
    })
}

/// Stop tracing: buffered records are written, files finished and closed
/// (also done at exit). Returns rcOk.
#[no_mangle]
pub extern "C" fn kos_shim_trace_stop() -> Retcode {
    boundary(|| {
        super::stop();
        rcOk
    })
}

/// Move every buffered record to the sinks now and flush file buffers (the
/// only way records move in the bare core, built without the C library).
/// Returns rcOk.
#[no_mangle]
pub extern "C" fn kos_shim_trace_flush() -> Retcode {
    boundary(|| {
        super::flush();
        rcOk
    })
}

/// Records lost so far: dropped because a ring was full (each such drop
/// also appears as a lost record in the outputs), plus records a failing
/// output could not write (counted once per failing output; the reason is
/// printed on stderr when the output fails).
#[no_mangle]
pub extern "C" fn kos_shim_trace_lost() -> u64 {
    boundary_or(u64::MAX, super::lost)
}
