//! Log-linear latency buckets (HDR-histogram style), in clock ticks.
//!
//! Values below 64 ticks have a bucket each (exact). Above, every power of
//! two `[2^e, 2^(e+1))` is split into 32 equal buckets, so a bucket's width is
//! at most 1/32 of its lower bound and its midpoint is within **1/64 ≈ 1.6 %**
//! of every value in it. Buckets cover up to 2^40 ticks (≈ 366 s at 3 GHz,
//! 18 min at 1 GHz); larger values land in the last bucket, and percentiles
//! are clamped to the exact maximum, so a lone outlier is still reported
//! right. That covers 50 ns … 60 s at ≤ 1.6 % for every tick rate of at least
//! 1 GHz (the TSC, the OS clock) and, at the generic timer's tens of MHz,
//! everything from 64 ticks up (below that the counter's own resolution
//! dominates).
//!
//! Buckets are counted in ticks and converted to ns only when read.

/// Mantissa bits: 2^5 = 32 buckets per power of two.
pub(crate) const SUB_BITS: u32 = 5;
const SUB: usize = 1 << SUB_BITS;
/// Values below this have their own bucket.
const LINEAR: u64 = 2 * SUB as u64;
/// Values at or above 2^MAX_EXP ticks share the last bucket.
pub(crate) const MAX_EXP: u32 = 40;
/// Number of buckets.
pub(crate) const BUCKETS: usize = (MAX_EXP - SUB_BITS) as usize * SUB + SUB;

/// The bucket of a value in ticks.
#[inline]
pub const fn index(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let e = 63 - v.leading_zeros();
    if e >= MAX_EXP {
        return BUCKETS - 1;
    }
    let shift = e - SUB_BITS;
    shift as usize * SUB + (v >> shift) as usize
}

/// `[low, low + width)` of bucket `i`.
pub const fn bounds(i: usize) -> (u64, u64) {
    if (i as u64) < LINEAR {
        return (i as u64, 1);
    }
    let shift = (i / SUB - 1) as u32;
    let m = (i % SUB + SUB) as u64;
    (m << shift, 1 << shift)
}

/// The value reported for bucket `i`: its midpoint (exact for width 1).
pub const fn representative(i: usize) -> u64 {
    let (low, width) = bounds(i);
    low + width / 2
}

/// The quantiles every dump reports, in thousandths: p50, p90, p99, p99.9.
pub(crate) const QUANTILES_PER_MILLE: [u64; 4] = [500, 900, 990, 999];

/// Values (ticks) at `QUANTILES_PER_MILLE` of a histogram given bucket by bucket, or
/// `None` when it is empty. `count(i)` is bucket `i`'s count; the results are
/// clamped to `[min, max]`, the exact extremes.
///
/// The value at quantile q is the one of rank ⌈q·n⌉ (1-based): the bucket
/// holding that rank is found exactly, so the error is the bucket's alone.
pub fn quantiles(count: impl Fn(usize) -> u64, min: u64, max: u64) -> Option<[u64; 4]> {
    let mut total = 0u64;
    for i in 0..BUCKETS {
        total += count(i);
    }
    if total == 0 {
        return None;
    }
    let mut ranks = [0u64; 4];
    for (r, q) in ranks.iter_mut().zip(QUANTILES_PER_MILLE) {
        // ⌈total·q/1000⌉ without overflow or 128-bit division.
        let rank = total / 1000 * q + (total % 1000 * q).div_ceil(1000);
        *r = rank.clamp(1, total);
    }
    let mut out = [0u64; 4];
    let mut next = 0;
    let mut seen = 0u64;
    for i in 0..BUCKETS {
        seen += count(i);
        while next < 4 && seen >= ranks[next] {
            out[next] = representative(i).clamp(min, max.max(min));
            next += 1;
        }
        if next == 4 {
            break;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_ordered() {
        let mut expect_low = 0u64;
        for i in 0..BUCKETS {
            let (low, width) = bounds(i);
            assert_eq!(low, expect_low, "bucket {i}");
            assert_eq!(index(low), i);
            assert_eq!(index(low + width - 1), i);
            expect_low = low + width;
        }
        assert_eq!(expect_low, 1 << MAX_EXP);
        assert_eq!(index(1 << MAX_EXP), BUCKETS - 1);
        assert_eq!(index(u64::MAX), BUCKETS - 1);
        assert_eq!(BUCKETS, 1152);
    }

    #[test]
    fn midpoint_error_is_at_most_one_64th() {
        // Every bucket edge and midpoint within range.
        for i in 0..BUCKETS {
            let (low, width) = bounds(i);
            let rep = representative(i);
            for v in [low, low + width / 2, low + width - 1] {
                let err = rep.abs_diff(v) as f64 / v.max(1) as f64;
                assert!(err <= 1.0 / 64.0, "v={v} rep={rep} err={err}");
            }
        }
    }

    #[test]
    fn quantiles_of_known_values() {
        // 1000 values 1..=1000 ticks: p50 is 500, p90 900, p99 990, p99.9 999.
        let mut counts = [0u64; BUCKETS];
        for v in 1..=1000u64 {
            counts[index(v)] += 1;
        }
        let q = quantiles(|i| counts[i], 1, 1000).unwrap();
        for (got, want) in q.iter().zip([500u64, 900, 990, 999]) {
            let err = got.abs_diff(want) as f64 / want as f64;
            assert!(err <= 1.0 / 64.0, "{got} vs {want}");
        }
        assert_eq!(quantiles(|_| 0, 0, 0), None);
        // A single value: every quantile is that value (clamped to min=max).
        let mut one = [0u64; BUCKETS];
        one[index(123_456)] = 1;
        assert_eq!(quantiles(|i| one[i], 123_456, 123_456), Some([123_456; 4]));
    }
}
