//! Which optional layers are on, in one word the pipeline reads first.
//!
//! When nothing would look at a call — statistics `off`, no trace, no policy
//! and no learning, no Rust interceptor, no backend installed at run time —
//! and the build's backend is one whose lower layer checks its own arguments
//! (the kernel through `__real_*`, or the next library under `LD_PRELOAD`;
//! not the host emulator), [`crate::pipeline::dispatch`] forwards the
//! call at once: no re-entrancy guard, no header validation (the kernel
//! validates, as it does without the shim), only the always-on
//! [`crate::calls`] count. That keeps a linked-in but idle shim within a few
//! nanoseconds of the direct call.
//!
//! With the same backends, while only statistics, the trace (without
//! payload capture) and the policy are on ([`lean`]), the pipeline takes
//! its lean path: each call runs only the work of the layers in the word.
//! Interceptors, a backend installed at run time, payload capture, a
//! policy with fault rules and the first, configuring call take the full
//! path.
//!
//! The word is a cache of the layers' own state. Every layer publishes its
//! own bits ([`update`], [`set_if`]) after it turns on or off; this module
//! depends on none of them. Until the pipeline had them all read their
//! configuration (`pipeline::configure`), the word says "not idle".

use core::sync::atomic::{AtomicU32, Ordering};

/// Statistics level other than `off` (or not yet configured).
pub const STATS: u32 = 1 << 0;
/// Tracing on (or not yet configured).
pub const TRACE: u32 = 1 << 1;
/// A policy installed, learning on (or not yet configured).
pub const POLICY: u32 = 1 << 2;
/// At least one Rust interceptor registered.
pub const INTERCEPT: u32 = 1 << 3;
/// A backend installed at run time (its contract promises validated headers).
pub const BACKEND: u32 = 1 << 4;
/// The trace captures message bytes (`KOS_SHIM_TRACE_PAYLOAD`).
pub(crate) const PAYLOAD: u32 = 1 << 5;
/// The active policy has fault rules (`fail`, `delay`): applied on the full
/// path only, where the validated arguments they may shorten are.
pub(crate) const FAULTS: u32 = 1 << 6;
/// The layers have not all read their configuration yet (cleared by the
/// pipeline once it had them read it).
pub(crate) const UNCONFIGURED: u32 = 1 << 31;
/// What only the full path serves: interceptors (they see the whole
/// [`crate::CallInfo`]), a backend installed at run time (it takes
/// validated views), payload capture, fault rules, and the first
/// configuration.
const FULL: u32 = INTERCEPT | BACKEND | PAYLOAD | FAULTS | UNCONFIGURED;

static ON: AtomicU32 = AtomicU32::new(UNCONFIGURED);

/// Whether no layer is on: the pipeline may take the fast path.
#[inline(always)]
pub fn idle() -> bool {
    ON.load(Ordering::Relaxed) == 0
}

/// The layers that are on, as the bits above.
#[inline(always)]
pub fn on() -> u32 {
    ON.load(Ordering::Relaxed)
}

/// Whether the layers in `on` (a value of [`on`]) are all served by the
/// pipeline's lean path: statistics, trace (without payloads) and policy.
#[inline(always)]
pub fn lean(on: u32) -> bool {
    on & FULL == 0
}

/// Set the bits of `mask` to what `state()` says now (only its bits within
/// `mask` count). The layer that owns those bits calls it after it changed;
/// the other bits are left as they are. Correct under races: whoever
/// stores last checks afterwards that the state it stored is still the
/// truth, and stores again if not.
pub fn update(mask: u32, state: impl Fn() -> u32) {
    loop {
        let v = state() & mask;
        let _ = ON.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| Some(w & !mask | v));
        if state() & mask == v {
            return;
        }
    }
}

/// [`update`] of one bit that is set while `on()`.
pub fn set_if(bit: u32, on: impl Fn() -> bool) {
    update(bit, || if on() { bit } else { 0 });
}

#[cfg(all(test, feature = "std"))]
mod tests {
    use super::*;
    use crate::stats::{self, Level};

    /// Layers turned on and off from several threads at once: when they are
    /// done, the word says what the layers say (no lost update).
    #[test]
    fn the_word_matches_the_layers_after_racing_changes() {
        crate::pipeline::configure();
        let threads: std::vec::Vec<_> = (0..4)
            .map(|t| {
                std::thread::spawn(move || {
                    for i in 0..2_000 {
                        let on = (i + t) % 2 == 0;
                        stats::set_level(if on { Level::Count } else { Level::Off });
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(on() & STATS != 0, stats::level() != Level::Off);
        assert_eq!(on() & UNCONFIGURED, 0);
        let was = stats::level();
        stats::set_level(Level::Off);
        assert_eq!(on() & STATS, 0);
        stats::set_level(Level::Count);
        assert_eq!(on() & STATS, STATS);
        stats::set_level(was);
    }
}
