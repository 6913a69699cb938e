//! How many calls the shim saw, per operation: an always-on count,
//! independent of the statistics level (the statistics can be off), which
//! the interposition tests and the benchmark read from C to prove that every
//! call went through the shim — the fast path taken while every layer is off
//! included.
//!
//! Counted in `crate::tally`: a plain load and store per call on a line
//! only the calling thread writes. The statistics module keeps the detailed
//! per-key counters.

use crate::abi::{rcInvalidArgument, rcOk, Retcode};
use crate::ffi::{boundary, write_out};
use crate::op::Op;
use crate::tally::{self, Counter};

/// Count one call of `op` made by the calling thread.
#[inline(always)]
pub(crate) fn record(op: Op) {
    tally::bump(Counter::calls(op));
}

/// Count one call of `op` by the holder of lease `lease` (see
/// [`crate::lease::held_now`]).
#[inline(always)]
pub(crate) fn record_held(lease: usize, op: Op) {
    tally::bump_held(lease, Counter::calls(op));
}

/// Calls of `op` seen so far (validated or not, forwarded or refused).
pub fn passed(op: Op) -> u64 {
    tally::sum(Counter::calls(op))
}

/// Number of calls of operation `op` (`KOS_SHIM_OP_CALL` ... `KOS_SHIM_OP_REPLY`)
/// that went through the shim, whatever their result (rejected headers and
/// policy denials included; re-entrant calls excluded), counted whatever the
/// statistics level — also while every layer is off and calls take the fast
/// path straight to the kernel.
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
    fn counts_add_up() {
        // Other tests in this binary may call too: compare deltas.
        let before = passed(Op::RecvEx);
        for _ in 0..40 {
            record(Op::RecvEx);
        }
        let mut n = 0u64;
        // SAFETY: valid out-pointer.
        assert_eq!(unsafe { kos_shim_calls(KOS_SHIM_OP_RECVEX, &mut n) }, rcOk);
        assert!(n >= before + 40);
    }
}
