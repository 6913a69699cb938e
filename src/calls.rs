//! How many calls passed the pipeline, per operation, and how many took the
//! re-entrant no-intercept path: the minimal count API the interposition
//! tests read from C to prove every call went through the shim.
//!
//! The statistics module keeps the detailed per-key counters; these five
//! counters exist in every build (also `no_std` and with statistics off).

use core::sync::atomic::{AtomicU64, Ordering};

use crate::abi::{rcInvalidArgument, rcOk, Retcode};
use crate::ffi::{boundary, write_out};
use crate::op::Op;

/// `op` value of `Call` for [`kos_shim_calls`].
pub const KOS_SHIM_OP_CALL: u32 = 0;
/// `op` value of `CallEx` for [`kos_shim_calls`].
pub const KOS_SHIM_OP_CALLEX: u32 = 1;
/// `op` value of `Recv` for [`kos_shim_calls`].
pub const KOS_SHIM_OP_RECV: u32 = 2;
/// `op` value of `RecvEx` for [`kos_shim_calls`].
pub const KOS_SHIM_OP_RECVEX: u32 = 3;
/// `op` value of `Reply` for [`kos_shim_calls`].
pub const KOS_SHIM_OP_REPLY: u32 = 4;

const _: () = {
    assert!(KOS_SHIM_OP_CALL == Op::Call as u32);
    assert!(KOS_SHIM_OP_CALLEX == Op::CallEx as u32);
    assert!(KOS_SHIM_OP_RECV == Op::Recv as u32);
    assert!(KOS_SHIM_OP_RECVEX == Op::RecvEx as u32);
    assert!(KOS_SHIM_OP_REPLY == Op::Reply as u32);
};

static PASSED: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

/// Count one call of `op` that went through the whole pipeline.
#[inline]
pub(crate) fn record(op: Op) {
    PASSED[op as usize].fetch_add(1, Ordering::Relaxed);
}

/// Calls of `op` that went through the pipeline (validation, policy,
/// forwarding or refusal, statistics, trace) since the process started.
pub fn passed(op: Op) -> u64 {
    PASSED[op as usize].load(Ordering::Relaxed)
}

/// Number of calls of operation `op` (`KOS_SHIM_OP_CALL` ... `KOS_SHIM_OP_REPLY`)
/// that went through the shim's pipeline, whatever their result (rejected
/// headers and policy denials included; re-entrant calls excluded).
///
/// Returns rcOk and writes `*count`; rcInvalidArgument for an unknown `op`
/// or a NULL `count` (nothing written).
///
/// # Safety
/// `count` is NULL or valid for a write of a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_calls(op: u32, count: *mut u64) -> Retcode {
    boundary(|| {
        let Some(op) = u8::try_from(op).ok().and_then(Op::from_u8) else {
            return rcInvalidArgument;
        };
        // SAFETY: NULL or writable per the caller's contract; write_out checks NULL.
        if unsafe { write_out(count, passed(op)) } {
            rcOk
        } else {
            rcInvalidArgument
        }
    })
}

/// Number of IPC calls made by a thread that was already inside the shim
/// (from a trace sink, a log writer or an interceptor): they went straight to
/// the backend, untraced and unpoliced.
///
/// Returns rcOk and writes `*count`; rcInvalidArgument for a NULL `count`.
///
/// # Safety
/// `count` is NULL or valid for a write of a `uint64_t`.
#[no_mangle]
pub unsafe extern "C" fn kos_shim_reentrant_calls(count: *mut u64) -> Retcode {
    boundary(|| {
        // SAFETY: NULL or writable per the caller's contract; write_out checks NULL.
        if unsafe { write_out(count, crate::intercept::reentrant_calls()) } {
            rcOk
        } else {
            rcInvalidArgument
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_arguments_are_rejected_without_writing() {
        let mut n = 77u64;
        // SAFETY: valid out-pointer / NULL, both allowed.
        unsafe {
            assert_eq!(kos_shim_calls(5, &mut n), rcInvalidArgument);
            assert_eq!(kos_shim_calls(256, &mut n), rcInvalidArgument);
            assert_eq!(kos_shim_calls(u32::MAX, &mut n), rcInvalidArgument);
            assert_eq!(n, 77);
            assert_eq!(
                kos_shim_calls(KOS_SHIM_OP_REPLY, core::ptr::null_mut()),
                rcInvalidArgument
            );
            assert_eq!(
                kos_shim_reentrant_calls(core::ptr::null_mut()),
                rcInvalidArgument
            );
        }
    }

    #[test]
    fn recorded_calls_are_counted_per_operation() {
        // Other tests in this binary may call too: compare deltas of an op they never use here.
        let before = passed(Op::RecvEx);
        record(Op::RecvEx);
        record(Op::RecvEx);
        let mut n = 0u64;
        // SAFETY: valid out-pointer.
        assert_eq!(unsafe { kos_shim_calls(KOS_SHIM_OP_RECVEX, &mut n) }, rcOk);
        assert!(n >= before + 2);
    }
}
