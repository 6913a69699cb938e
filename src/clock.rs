//! The clock the pipeline stamps calls with.
//!
//! [`now`] returns *ticks* of the cheapest monotonic counter the machine has:
//!
//! - x86_64: the time-stamp counter (`rdtsc`), when CPUID says it is
//!   invariant (leaf 0x8000_0007, EDX bit 8: constant rate, runs in all
//!   power states) — one instruction, no system call;
//! - aarch64: the generic timer's virtual count (`CNTVCT_EL0`, with its
//!   frequency in `CNTFRQ_EL0`), readable from user space;
//! - otherwise `clock_gettime(CLOCK_MONOTONIC)`, where a tick is 1 ns.
//!
//! `KOS_SHIM_CLOCK` chooses: `auto` (the default: the counter above) or
//! `monotonic` (also `os`: always `clock_gettime`). It is read through the C
//! library in every build that has one (host, preload, wrap); an unknown
//! word is reported on stderr with the valid ones, and `auto` applies. The
//! bare core (no C library) always uses `auto`.
//!
//! Ticks are converted to nanoseconds only on read ([`ticks_to_ns`]), never
//! per call. The TSC's rate is measured once against `CLOCK_MONOTONIC` over
//! ~5 ms (asleep in between, with the C library). So that no call waits for it, the measurement starts on
//! a thread of its own as soon as a part declares it needs time ([`need`]:
//! statistics `timing`, the trace, an interceptor; builds with the C
//! library), and nothing on the call path converts ticks: what a call needs
//! in seconds (the policy's report budget) comes from [`seconds`], which
//! reads `CLOCK_MONOTONIC` and needs no calibration. A conversion asked for
//! before the measurement finished (a dump in the first milliseconds) waits
//! for it. The generic timer's rate is read from `CNTFRQ_EL0`.
//!
//! The pipeline reads the clock only when some part needs time
//! ([`needed`]): statistics at level `timing`, the trace, or a registered
//! interceptor each set their bit with [`need`].

use core::sync::atomic::{AtomicU32, AtomicU8, Ordering};

/// Which counter [`now`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// x86_64 invariant time-stamp counter.
    Tsc,
    /// aarch64 generic timer, virtual count.
    Cntvct,
    /// `clock_gettime(CLOCK_MONOTONIC)`, 1 tick = 1 ns.
    Monotonic,
}

impl Source {
    /// Lower-case name used in dumps (`tsc`, `cntvct`, `monotonic`).
    pub const fn name(self) -> &'static str {
        match self {
            Source::Tsc => "tsc",
            Source::Cntvct => "cntvct",
            Source::Monotonic => "monotonic",
        }
    }
}

const SRC_UNKNOWN: u8 = 0;
const SRC_TSC: u8 = 1;
const SRC_CNTVCT: u8 = 2;
const SRC_MONO: u8 = 3;

static SOURCE: AtomicU8 = AtomicU8::new(SRC_UNKNOWN);

/// Current time in ticks of [`source`].
#[inline]
pub fn now() -> u64 {
    match SOURCE.load(Ordering::Relaxed) {
        SRC_TSC => hw::tsc(),
        SRC_CNTVCT => hw::cntvct(),
        SRC_MONO => monotonic_ns(),
        _ => {
            select();
            now()
        }
    }
}

/// `now()` if `timed`, else 0 — what the pipeline stamps calls with, so a
/// call made while nothing needs time costs no clock read.
#[inline]
pub fn now_if(timed: bool) -> u64 {
    if timed {
        now()
    } else {
        0
    }
}

/// The counter [`now`] reads (chosen on first use).
pub fn source() -> Source {
    if SOURCE.load(Ordering::Relaxed) == SRC_UNKNOWN {
        select();
    }
    match SOURCE.load(Ordering::Relaxed) {
        SRC_TSC => Source::Tsc,
        SRC_CNTVCT => Source::Cntvct,
        _ => Source::Monotonic,
    }
}

fn select() {
    let s = if forced_monotonic() {
        SRC_MONO
    } else if hw::has_invariant_tsc() {
        SRC_TSC
    } else if hw::has_cntvct() {
        SRC_CNTVCT
    } else {
        SRC_MONO
    };
    // Every thread computes the same answer; the first store wins and the
    // rest store the same value.
    let _ = SOURCE.compare_exchange(SRC_UNKNOWN, s, Ordering::Relaxed, Ordering::Relaxed);
}

/// The words `KOS_SHIM_CLOCK` takes.
pub const CLOCK_WORDS: &str = "auto, monotonic, os";

/// Whether `KOS_SHIM_CLOCK`'s `word` forces the OS clock; None: not a word
/// it takes.
pub fn parse_clock(word: &str) -> Option<bool> {
    match word.trim() {
        "" | "auto" => Some(false),
        "monotonic" | "os" => Some(true),
        _ => None,
    }
}

/// Read `KOS_SHIM_CLOCK` now (at configuration), so a wrong word is
/// reported even when nothing needs the clock yet; no calibration happens.
#[cfg(feature = "clib")]
pub fn configure() {
    forced_monotonic();
}

/// `KOS_SHIM_CLOCK`, read (and a wrong word reported) once.
#[cfg(feature = "clib")]
fn forced_monotonic() -> bool {
    static FORCED: spin::Once<bool> = spin::Once::new();
    *FORCED.call_once(|| {
        let Some(v) = crate::sys::env("KOS_SHIM_CLOCK") else {
            return false;
        };
        parse_clock(v).unwrap_or_else(|| {
            crate::say!(
                crate::say::Level::Warn,
                "KOS_SHIM_CLOCK={v:?} is not one of {CLOCK_WORDS}; using auto"
            );
            false
        })
    })
}

#[cfg(not(feature = "clib"))]
fn forced_monotonic() -> bool {
    false
}

/// Fixed-point scale: `ns = ticks * mult >> SCALE_SHIFT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    mult: u64,
}

/// Fraction bits of [`Scale`]'s multiplier (resolution 2^-32 ns per tick).
const SCALE_SHIFT: u32 = 32;

impl Scale {
    /// 1 tick = 1 ns.
    pub const fn identity() -> Scale {
        Scale {
            mult: 1 << SCALE_SHIFT,
        }
    }

    /// The scale of a counter running at `hz` ticks per second (0 → identity).
    pub const fn from_hz(hz: u64) -> Scale {
        Scale::from_ratio(1_000_000_000, hz)
    }

    /// The scale for which `ticks` ticks last `ns` nanoseconds (0 → identity).
    pub const fn from_ratio(ns: u64, ticks: u64) -> Scale {
        if ticks == 0 || ns == 0 {
            return Scale::identity();
        }
        Scale {
            mult: shifted_div(ns, ticks),
        }
    }

    /// Convert `ticks` to nanoseconds (rounded to nearest, saturating).
    #[inline]
    pub const fn to_ns(self, ticks: u64) -> u64 {
        let ns = (ticks as u128 * self.mult as u128 + (1u128 << (SCALE_SHIFT - 1))) >> SCALE_SHIFT;
        if ns > u64::MAX as u128 {
            u64::MAX
        } else {
            ns as u64
        }
    }

    /// Convert nanoseconds to ticks: the inverse of [`Scale::to_ns`] up to
    /// rounding (saturating).
    #[inline]
    pub const fn to_ticks(self, ns: u64) -> u64 {
        if self.mult == 0 {
            return u64::MAX;
        }
        shifted_div(ns, self.mult)
    }

    /// Nanoseconds per tick as a float (for display).
    pub fn ns_per_tick(self) -> f64 {
        self.mult as f64 / (1u64 << SCALE_SHIFT) as f64
    }
}

/// `round((num << 32) / den)` in 64-bit arithmetic (no 128-bit division:
/// on aarch64 that pulls in a compiler-builtins object the `no_std`
/// archive cannot link). Saturates at `u64::MAX`.
const fn shifted_div(num: u64, den: u64) -> u64 {
    let q = num / den;
    if q >> 32 != 0 {
        return u64::MAX;
    }
    let r = num % den;
    let frac = shifted_frac(r, den);
    (q << 32).saturating_add(frac)
}

/// `round((rem << 32) / den)` for `rem < den`: 32 steps of binary long
/// division.
const fn shifted_frac(mut rem: u64, den: u64) -> u64 {
    let mut q = 0u64;
    let mut i = 0;
    while i < 32 {
        // rem < den ≤ u64::MAX, so 2·rem may need 65 bits: look first.
        let over = rem >> 63 != 0;
        rem <<= 1;
        q <<= 1;
        if over || rem >= den {
            rem = rem.wrapping_sub(den);
            q |= 1;
        }
        i += 1;
    }
    // Round to nearest: the remainder is at least half the divisor.
    if rem >= den - rem {
        q + 1
    } else {
        q
    }
}

static SCALE: spin::Once<Scale> = spin::Once::new();

/// The calibrated scale of [`source`]: computed once (see the module docs).
pub fn scale() -> Scale {
    *SCALE.call_once(|| match source() {
        Source::Tsc => calibrate_against_monotonic(),
        Source::Cntvct => Scale::from_hz(hw::cntfrq()),
        Source::Monotonic => Scale::identity(),
    })
}

/// Calibrate now rather than on the first conversion (e.g. at start-up, so a
/// later dump does not pause for it).
pub fn calibrate() {
    let _ = scale();
}

/// Whether the scale is known, so that a conversion returns at once.
pub fn calibrated() -> bool {
    SCALE.is_completed()
}

/// Start the calibration on a thread of its own, once; without the C
/// library's threads (or when none can start) it stays lazy.
fn calibrate_in_background() {
    #[cfg(feature = "clib")]
    {
        use core::sync::atomic::AtomicBool;
        static STARTED: AtomicBool = AtomicBool::new(false);
        if SCALE.is_completed() || STARTED.swap(true, Ordering::Relaxed) {
            return;
        }
        if source() != Source::Tsc {
            // Nothing to measure: the scale is a constant or a register.
            calibrate();
        } else {
            let _ = crate::sys::spawn(calibrate);
        }
    }
}

/// Whole seconds of `CLOCK_MONOTONIC`: for what the call path measures in
/// seconds (the policy's reports per second). Never calibrates.
pub fn seconds() -> u64 {
    monotonic_ns() / 1_000_000_000
}

/// Convert a tick difference to nanoseconds.
#[inline]
pub fn ticks_to_ns(ticks: u64) -> u64 {
    scale().to_ns(ticks)
}

/// Nanoseconds per tick of [`source`] (1.0 for the OS clock).
pub fn ns_per_tick() -> f64 {
    scale().ns_per_tick()
}

/// How long the TSC calibration watches `CLOCK_MONOTONIC`: long enough that
/// the ~50 ns uncertainty of the readings is ≤ 1e-5 of the interval.
const CALIBRATION_NS: u64 = 5_000_000;

fn calibrate_against_monotonic() -> Scale {
    // One sample: a tick reading bracketed by two OS clock readings; its
    // OS-clock time is the bracket's midpoint. A thread preempted inside the
    // bracket would skew it by up to the preemption, so keep the narrowest
    // of a few tries (≤ 1 µs is ≤ 1e-4 of the interval at each end).
    let sample = || {
        let mut best = (0u64, 0u64, u64::MAX);
        for _ in 0..1000 {
            let a = monotonic_ns();
            let t = now();
            let b = monotonic_ns();
            if b - a < best.2 {
                best = (t, a + (b - a) / 2, b - a);
            }
            if best.2 <= 1_000 {
                break;
            }
        }
        (best.0, best.1)
    };
    let (t0, m0) = sample();
    loop {
        let (t1, m1) = sample();
        if m1.saturating_sub(m0) >= CALIBRATION_NS && t1 > t0 {
            return Scale::from_ratio(m1 - m0, t1 - t0);
        }
        // Asleep, not spinning: on a busy machine a spinning calibration
        // takes a CPU from the threads making calls.
        #[cfg(feature = "clib")]
        crate::sys::sleep_ms(1);
        #[cfg(not(feature = "clib"))]
        core::hint::spin_loop();
    }
}

/// `clock_gettime(CLOCK_MONOTONIC)` in nanoseconds.
pub fn monotonic_ns() -> u64 {
    os::monotonic_ns()
}

/// A part of the shim that may need call timestamps (see [`need`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum User {
    /// Statistics at level `timing`.
    Stats = 1 << 0,
    /// The trace recorder.
    Trace = 1 << 1,
    /// A registered Rust interceptor (it may read `start`/`end`).
    Interceptor = 1 << 2,
}

/// Set bits of [`User`]s that need time. Statistics start as a user until
/// their configuration is read (the default level is decided there).
static NEEDED: AtomicU32 = AtomicU32::new(User::Stats as u32);

/// Declare whether `who` needs the pipeline to stamp calls
/// (`CallInfo::start`/`end`). A part that reads them calls
/// `need(User::X, true)` when it turns on.
pub fn need(who: User, on: bool) {
    if on {
        NEEDED.fetch_or(who as u32, Ordering::Relaxed);
        // Who stamps calls converts the stamps later: measure the rate now,
        // off the call path.
        calibrate_in_background();
    } else {
        NEEDED.fetch_and(!(who as u32), Ordering::Relaxed);
    }
}

/// Whether any part needs the pipeline to stamp calls with [`now`].
#[inline]
pub fn needed() -> bool {
    NEEDED.load(Ordering::Relaxed) != 0
}

#[cfg(target_arch = "x86_64")]
mod hw {
    use core::arch::x86_64::{__cpuid, _rdtsc};

    pub fn has_invariant_tsc() -> bool {
        // CPUID exists on every x86_64 CPU. Leaf 0x8000_0007 is valid when
        // the highest extended leaf (leaf 0x8000_0000's EAX) reaches it.
        #[allow(unused_unsafe)]
        // SAFETY: cpuid is always available on x86_64 and has no side effects.
        let max_ext = unsafe { __cpuid(0x8000_0000) }.eax;
        if max_ext < 0x8000_0007 {
            return false;
        }
        #[allow(unused_unsafe)]
        // SAFETY: as above; the leaf was just checked to exist.
        let edx = unsafe { __cpuid(0x8000_0007) }.edx;
        edx & (1 << 8) != 0
    }

    #[inline(always)]
    pub fn tsc() -> u64 {
        #[allow(unused_unsafe)]
        // SAFETY: rdtsc is available on every x86_64 CPU (user mode unless the
        // OS sets CR4.TSD, which no host OS we run on does); no side effects.
        unsafe {
            _rdtsc()
        }
    }

    pub fn has_cntvct() -> bool {
        false
    }
    pub fn cntvct() -> u64 {
        super::monotonic_ns()
    }
    pub fn cntfrq() -> u64 {
        0
    }
}

#[cfg(target_arch = "aarch64")]
mod hw {
    pub fn has_invariant_tsc() -> bool {
        false
    }
    pub fn tsc() -> u64 {
        super::monotonic_ns()
    }

    /// The generic timer is architectural on ARMv8-A and EL0 access to the
    /// virtual count is enabled by Linux and KasperskyOS; a zero frequency
    /// register means a broken firmware, so fall back to the OS clock.
    pub fn has_cntvct() -> bool {
        cntfrq() != 0
    }

    #[inline(always)]
    pub fn cntvct() -> u64 {
        let v: u64;
        // SAFETY: reading CNTVCT_EL0 has no side effects; the ISB keeps the
        // read from being hoisted above earlier instructions (as the vDSO does).
        unsafe {
            core::arch::asm!("isb", "mrs {v}, cntvct_el0", v = out(reg) v, options(nomem, nostack, preserves_flags));
        }
        v
    }

    pub fn cntfrq() -> u64 {
        let f: u64;
        // SAFETY: reading CNTFRQ_EL0 has no side effects.
        unsafe {
            core::arch::asm!("mrs {f}, cntfrq_el0", f = out(reg) f, options(nomem, nostack, preserves_flags));
        }
        f
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
mod hw {
    pub fn has_invariant_tsc() -> bool {
        false
    }
    pub fn tsc() -> u64 {
        super::monotonic_ns()
    }
    pub fn has_cntvct() -> bool {
        false
    }
    pub fn cntvct() -> u64 {
        super::monotonic_ns()
    }
    pub fn cntfrq() -> u64 {
        0
    }
}

#[cfg(feature = "clib")]
mod os {
    pub use crate::sys::monotonic_ns;
}

/// The bare core declares the one C function it reads the time with.
#[cfg(not(feature = "clib"))]
mod os {
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

    pub fn monotonic_ns() -> u64 {
        let mut ts = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: ts is a valid out-pointer.
        unsafe { clock_gettime(CLOCK_MONOTONIC, &mut ts) };
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_scale_is_exact() {
        for t in [0, 1, 999, 1_000_000_007, u64::MAX / 2] {
            assert_eq!(Scale::identity().to_ns(t), t);
            assert_eq!(Scale::identity().to_ticks(t), t);
        }
    }

    #[test]
    fn scale_from_frequency() {
        // 2.5 GHz TSC: 0.4 ns per tick.
        let s = Scale::from_hz(2_500_000_000);
        assert_eq!(s.to_ns(2_500_000_000), 1_000_000_000);
        assert_eq!(s.to_ns(1000), 400);
        // 24 MHz generic timer (Raspberry Pi 4, QEMU virt uses 62.5 MHz).
        let s = Scale::from_hz(24_000_000);
        assert_eq!(s.to_ns(24), 1000);
        assert_eq!(s.to_ns(24_000_000), 1_000_000_000);
        let s = Scale::from_hz(62_500_000);
        assert_eq!(s.to_ns(625), 10_000);
        // 1 GHz is the identity.
        assert_eq!(Scale::from_hz(1_000_000_000), Scale::identity());
        assert_eq!(Scale::from_hz(0), Scale::identity());
    }

    #[test]
    fn scale_from_ratio_and_back() {
        let s = Scale::from_ratio(1_000_000, 3_000_000); // 3 ticks per ns
        assert_eq!(s.to_ns(3_000_000_000), 1_000_000_000);
        let t = s.to_ticks(1_000_000_000);
        assert!((2_999_999_990..=3_000_000_010).contains(&t), "{t}");
        // Relative error of a round trip stays below 1e-8.
        for ns in [50u64, 1_000, 123_456_789, 60_000_000_000] {
            let back = s.to_ns(s.to_ticks(ns));
            assert!(ns.abs_diff(back) <= 1 + ns / 100_000_000, "{ns} -> {back}");
        }
    }

    #[test]
    fn shifted_division_matches_128_bit_arithmetic() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let num = x >> (x % 40);
            let den = (x.rotate_left(17) >> (x % 61)).max(1);
            let exact = ((num as u128) << 32) as f64 / den as f64;
            let got = shifted_div(num, den);
            if exact >= u64::MAX as f64 {
                assert_eq!(got, u64::MAX);
            } else {
                let want = (((num as u128) << 32) + den as u128 / 2) / den as u128;
                assert_eq!(got as u128, want, "{num} / {den}");
            }
        }
    }

    #[test]
    fn conversion_saturates_instead_of_wrapping() {
        let slow = Scale::from_hz(1000); // 1 ms per tick
        assert_eq!(slow.to_ns(u64::MAX), u64::MAX);
        assert_eq!(slow.to_ns(1), 1_000_000);
    }

    /// The tick clock agrees with CLOCK_MONOTONIC: the converted length of an
    /// interval lies between the OS-clock readings that bracket its ends
    /// (with 1% slack for calibration), whatever the machine's load.
    #[cfg(feature = "std")]
    #[test]
    fn ticks_agree_with_monotonic() {
        calibrate();
        let m0a = monotonic_ns();
        let t0 = now();
        let m0b = monotonic_ns();
        std::thread::sleep(std::time::Duration::from_millis(10));
        let m1a = monotonic_ns();
        let t1 = now();
        let m1b = monotonic_ns();
        let ns = ticks_to_ns(t1 - t0);
        let lo = (m1a - m0b) as f64 * 0.99;
        let hi = (m1b - m0a) as f64 * 1.01;
        assert!(
            (lo..=hi).contains(&(ns as f64)),
            "{ns} ns not in [{lo}, {hi}] (source {:?})",
            source()
        );
    }

    #[test]
    fn clock_words() {
        assert_eq!(parse_clock("monotonic"), Some(true));
        assert_eq!(parse_clock(" os "), Some(true));
        assert_eq!(parse_clock("auto"), Some(false));
        assert_eq!(parse_clock(""), Some(false));
        assert_eq!(parse_clock("bogus"), None);
    }

    #[test]
    fn now_if_false_reads_nothing() {
        assert_eq!(now_if(false), 0);
        assert!(now_if(true) > 0);
    }
}
