//! How many calls passed the pipeline, per operation: an always-on count,
//! independent of the statistics level (the statistics can be off), which
//! the interposition tests and the benchmark read from C to prove that every
//! call went through the shim.
//!
//! Sharded by thread (one cache line per shard), so that threads calling at
//! once do not all write one line. The statistics module keeps the detailed
//! per-key counters.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::abi::{rcInvalidArgument, rcOk, Retcode};
use crate::ffi::{boundary, write_out};
use crate::op::Op;

const SHARDS: usize = 16;

#[repr(align(64))]
struct Shard([AtomicU64; 5]);

static PASSED: [Shard; SHARDS] = [const { Shard([const { AtomicU64::new(0) }; 5]) }; SHARDS];

/// Count one call of `op` made by `thread` that went through the pipeline.
#[inline]
pub(crate) fn record(op: Op, thread: u64) {
    PASSED[(thread as usize) % SHARDS].0[op as usize].fetch_add(1, Ordering::Relaxed);
}

/// Calls of `op` that went through the pipeline (validation, policy,
/// forwarding or refusal, statistics, trace) since the process started.
pub fn passed(op: Op) -> u64 {
    PASSED
        .iter()
        .map(|s| s.0[op as usize].load(Ordering::Relaxed))
        .sum()
}

/// Number of calls of operation `op` (`KOS_SHIM_OP_CALL` ... `KOS_SHIM_OP_REPLY`)
/// that went through the shim's pipeline, whatever their result (rejected
/// headers and policy denials included; re-entrant calls excluded), counted
/// whatever the statistics level.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op::{KOS_SHIM_OP_RECVEX, KOS_SHIM_OP_REPLY};

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
        }
    }

    #[test]
    fn counts_from_all_shards_add_up() {
        // Other tests in this binary may call too: compare deltas.
        let before = passed(Op::RecvEx);
        for thread in 0..40u64 {
            record(Op::RecvEx, thread);
        }
        let mut n = 0u64;
        // SAFETY: valid out-pointer.
        assert_eq!(unsafe { kos_shim_calls(KOS_SHIM_OP_RECVEX, &mut n) }, rcOk);
        assert!(n >= before + 40);
    }
}
