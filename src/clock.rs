//! The clock the pipeline stamps calls with.
//!
//! Ticks are nanoseconds of a monotonic clock here; [`ticks_to_ns`] is the
//! one conversion point, so a cheaper tick source can replace [`now`] without
//! touching its users.

/// Current time in ticks.
#[inline]
pub fn now() -> u64 {
    imp::now()
}

/// Convert a tick difference to nanoseconds.
#[inline]
pub fn ticks_to_ns(ticks: u64) -> u64 {
    ticks
}

#[cfg(feature = "std")]
mod imp {
    pub fn now() -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: ts is a valid out-pointer; CLOCK_MONOTONIC always exists on hosts.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    /// CLOCK_MONOTONIC's value on Linux and KasperskyOS's POSIX layer.
    const CLOCK_MONOTONIC: i32 = 1;

    pub fn now() -> u64 {
        let mut ts = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: ts is a valid out-pointer.
        unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) };
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }
}
