//! The statistics C API (`kos_shim_stats_*`).
//!
//! Every function returns a host-profile `Retcode`: rcOk, rcInvalidArgument
//! for a NULL out-pointer or an out-of-range enum value, rcBufferTooSmall
//! when a caller's array is too short (it is filled as far as it goes), rcBusy
//! when the capacity is set after the table exists, rcFail for a write error.
#![allow(non_camel_case_types)]

use crate::abi::{rcBufferTooSmall, rcInvalidArgument, rcOk, Retcode};
use crate::clock;
use crate::ffi::{boundary, boundary_or, write_out};

use super::{Entry, Level, RC_OTHER, RC_SLOTS};

/// Number of return-code counters in `kos_shim_stats_entry.rc`: one per
/// host-profile code, in the order rcOk, rcFail, rcInvalidArgument,
/// rcNotConnected, rcOutOfMemory, rcBufferTooSmall, rcTimeout,
/// rcIpcInterrupt, rcSecurityDisallow, rcUnimplemented, rcBusy,
/// rcHandleRevoked, rcNoCapability, then one for any other code
/// (`kos_shim_stats_rc_slot` gives the index of a code).
pub const KOS_SHIM_STATS_RC_SLOTS: usize = 14;
/// Index of the "any other code" counter in `kos_shim_stats_entry.rc`.
pub const KOS_SHIM_STATS_RC_OTHER: usize = 13;
/// Number of operations (`kos_shim_stats_global_t.calls_by_op`'s length).
pub const KOS_SHIM_STATS_OPS: usize = 5;
/// `kos_shim_stats_entry.op` of the overflow row.
pub const KOS_SHIM_OP_NONE: u32 = 255;

const _: () = {
    assert!(KOS_SHIM_STATS_RC_SLOTS == RC_SLOTS);
    assert!(KOS_SHIM_STATS_RC_OTHER == RC_OTHER);
};

/// How much the statistics record (`kos_shim_stats_set_level`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kos_shim_stats_level {
    /// Nothing.
    Off = 0,
    /// Counters only, no clock reads on the call path.
    Count = 1,
    /// Counters and latency histograms.
    Timing = 2,
}

/// Output format of `kos_shim_stats_write`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kos_shim_format {
    /// An aligned table for people.
    Text = 0,
    /// JSON, schema version 1 (docs/statistics.md).
    Json = 1,
}

/// Statistics of one key: operation × handle × interface id × method id.
///
/// Latency fields are nanoseconds and 0 when `timed` is 0 (level `count`).
/// Percentiles have at most 1.6 % relative error.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct kos_shim_stats_entry {
    /// Operation (`KOS_SHIM_OP_CALL` ... `KOS_SHIM_OP_REPLY`),
    /// `KOS_SHIM_OP_NONE` for the overflow row.
    pub op: u32,
    /// 1 for the overflow row: calls whose key found no room in the table
    /// (its key fields are 0); 0 otherwise.
    pub overflow: u32,
    /// IPC handle.
    pub handle: u32,
    /// Interface id (0 when no message was read: invalid or failed call).
    pub iid: u16,
    /// Method id.
    pub mid: u16,
    /// Calls.
    pub calls: u64,
    /// Calls that returned rcOk.
    pub ok: u64,
    /// calls - ok (policy denials included).
    pub errors: u64,
    /// Calls denied by the policy or an interceptor.
    pub denied: u64,
    /// Would-be denials only audited (audit mode; Recv/RecvEx).
    pub audit_denied: u64,
    /// Calls per return code (see `KOS_SHIM_STATS_RC_SLOTS`).
    pub rc: [u64; KOS_SHIM_STATS_RC_SLOTS],
    /// Constant-part bytes sent (messages denied or failed by a fault rule
    /// never left: not counted).
    pub out_const: u64,
    /// Arena bytes sent (as `out_const`).
    pub out_arena: u64,
    /// Constant-part bytes received (successful calls).
    pub in_const: u64,
    /// Arena bytes received.
    pub in_arena: u64,
    /// Calls with a measured latency.
    pub timed: u64,
    /// Sum of latencies.
    pub total_ns: u64,
    /// Shortest latency.
    pub min_ns: u64,
    /// Longest latency.
    pub max_ns: u64,
    /// Median latency.
    pub p50_ns: u64,
    /// 90th percentile.
    pub p90_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// 99.9th percentile.
    pub p999_ns: u64,
}

impl From<&Entry> for kos_shim_stats_entry {
    fn from(e: &Entry) -> Self {
        let l = e.latency;
        kos_shim_stats_entry {
            op: e.key.map_or(KOS_SHIM_OP_NONE, |k| k.op as u32),
            overflow: e.key.is_none() as u32,
            handle: e.key.map_or(0, |k| k.handle),
            iid: e.key.map_or(0, |k| k.iid),
            mid: e.key.map_or(0, |k| k.mid),
            calls: e.calls,
            ok: e.ok,
            errors: e.errors,
            denied: e.denied,
            audit_denied: e.audit_denied,
            rc: e.rc,
            out_const: e.out_const,
            out_arena: e.out_arena,
            in_const: e.in_const,
            in_arena: e.in_arena,
            timed: l.map_or(0, |l| l.count),
            total_ns: l.map_or(0, |l| l.total_ns),
            min_ns: l.map_or(0, |l| l.min_ns),
            max_ns: l.map_or(0, |l| l.max_ns),
            p50_ns: l.map_or(0, |l| l.p50_ns),
            p90_ns: l.map_or(0, |l| l.p90_ns),
            p99_ns: l.map_or(0, |l| l.p99_ns),
            p999_ns: l.map_or(0, |l| l.p999_ns),
        }
    }
}

/// Process-wide statistics counters.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct kos_shim_stats_global_t {
    /// Calls recorded, all operations (equals the sum of `calls` over all
    /// entries, overflow row included, when no call is in flight).
    pub calls: u64,
    /// Calls recorded per operation, indexed by `KOS_SHIM_OP_*`.
    pub calls_by_op: [u64; KOS_SHIM_STATS_OPS],
    /// Calls that bypassed the pipeline because the thread was already
    /// inside the shim (the shim's own IPC); counted at every level.
    pub reentrant: u64,
    /// Calls counted in the overflow row because the table was full.
    pub dropped: u64,
    /// Keys in the table.
    pub keys: u64,
    /// The table's capacity (keys).
    pub capacity: u64,
    /// The current `kos_shim_stats_level`.
    pub level: u32,
    /// Reserved, 0.
    pub reserved: u32,
}

/// Copy the statistics of every key with calls into `out[0..cap]`; the
/// overflow row, if any, comes last. `*n` receives the number of rows there
/// are, even when they do not fit.
///
/// Returns rcOk; rcBufferTooSmall when `cap < *n` (the first `cap` rows are
/// written); rcInvalidArgument when `n` is NULL, or `out` is NULL with
/// `cap > 0`. `out` may be NULL with `cap == 0` to ask for the count.
///
/// # Safety
/// `out` is NULL or valid for writes of `cap` entries; `n` is NULL or valid
/// for a write.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_stats_snapshot(
    out: *mut kos_shim_stats_entry,
    cap: usize,
    n: *mut usize,
) -> Retcode {
    boundary(|| {
        if n.is_null() || (out.is_null() && cap > 0) {
            return rcInvalidArgument;
        }
        let mut count = 0usize;
        if let Some(t) = super::TABLE.get() {
            super::for_each_entry(t, clock::scale(), |e| {
                if count < cap {
                    // SAFETY: count < cap and out is valid for cap entries.
                    unsafe { out.add(count).write(e.into()) };
                }
                count += 1;
            });
        }
        // SAFETY: n is non-NULL and writable per the contract.
        unsafe { write_out(n, count) };
        if count > cap {
            rcBufferTooSmall
        } else {
            rcOk
        }
    })
}

/// Fill `*out` with the process-wide counters.
///
/// Returns rcOk, or rcInvalidArgument when `out` is NULL.
///
/// # Safety
/// `out` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_stats_global(out: *mut kos_shim_stats_global_t) -> Retcode {
    boundary(|| {
        let g = super::global();
        let v = kos_shim_stats_global_t {
            calls: g.calls,
            calls_by_op: g.by_op,
            reentrant: g.reentrant,
            dropped: g.dropped,
            keys: g.keys as u64,
            capacity: g.capacity as u64,
            level: g.level as u32,
            reserved: 0,
        };
        // SAFETY: out is NULL (checked by write_out) or writable per the contract.
        if unsafe { write_out(out, v) } {
            rcOk
        } else {
            rcInvalidArgument
        }
    })
}

/// Zero every counter (global ones included). Keys stay in the table, but
/// rows without calls are not reported. Returns rcOk.
#[no_mangle]
pub extern "C" fn kos_shim_stats_reset() -> Retcode {
    boundary(|| {
        super::reset();
        rcOk
    })
}

/// Set the level (a `kos_shim_stats_level` value) for later calls; it
/// overrides `KOS_SHIM_STATS`'s level (its dump destinations stay).
///
/// Returns rcOk, or rcInvalidArgument for a value outside the enum. (The
/// parameter is a plain integer so that no out-of-range C value can reach a
/// Rust enum.)
#[no_mangle]
pub extern "C" fn kos_shim_stats_set_level(level: u32) -> Retcode {
    boundary(|| match Level::from_u32(level) {
        Some(l) => {
            super::set_level(l);
            rcOk
        }
        None => rcInvalidArgument,
    })
}

/// Set the table's capacity (distinct keys; default 1024, or
/// `KOS_SHIM_STATS_CAP`). Must come before the first recorded call.
///
/// Returns rcOk; rcBusy when the table already exists; rcInvalidArgument
/// for 0 or more than 1048576 (32 in the bare no_std core, which has no heap).
#[no_mangle]
pub extern "C" fn kos_shim_stats_set_capacity(cap: usize) -> Retcode {
    boundary(|| match super::set_capacity(cap) {
        Ok(()) => rcOk,
        Err(rc) => rc,
    })
}

/// The index in `kos_shim_stats_entry.rc` of the counter for `rc`
/// (`KOS_SHIM_STATS_RC_OTHER` for a code without a counter of its own).
#[no_mangle]
pub extern "C" fn kos_shim_stats_rc_slot(rc: Retcode) -> usize {
    boundary_or(RC_OTHER, || super::rc_slot(rc))
}

/// Write the statistics to the file descriptor `fd` as text or JSON (a
/// `kos_shim_format` value). The text is an aligned table, one row per key,
/// sorted by total time; names come from `KOS_SHIM_NAMES` when set.
///
/// Returns rcOk; rcInvalidArgument for an unknown format or a negative fd;
/// rcFail when the write fails (e.g. a closed fd).
///
/// Available in std builds (declared when `KOS_SHIM_STD` or `KOS_SHIM_HOST`
/// is defined; the host compatibility headers define the latter).
// `host` implies `std`; naming it too gives the header the guard C programs
// of the host profile get.
#[cfg(any(feature = "std", feature = "host"))]
#[no_mangle]
pub extern "C" fn kos_shim_stats_write(fd: i32, fmt: u32) -> Retcode {
    boundary(|| {
        let fmt = match fmt {
            0 => super::dump::Format::Text,
            1 => super::dump::Format::Json,
            _ => return rcInvalidArgument,
        };
        if fd < 0 {
            return rcInvalidArgument;
        }
        match super::dump::write_fd(fd, fmt) {
            Ok(()) => rcOk,
            Err(_) => crate::abi::rcFail,
        }
    })
}
