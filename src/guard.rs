//! Re-entrancy guard and thread identity.
//!
//! On KasperskyOS, console and file output are themselves IPC (libc → VFS →
//! `Call`). While a thread is inside the shim, any IPC it makes — from a log
//! sink, a trace writer, an interceptor — must go straight to the backend, or
//! the shim would recurse into itself. [`enter`] marks the thread as inside.

#[cfg(feature = "std")]
mod imp {
    use core::cell::Cell;

    std::thread_local! {
        static INSIDE: Cell<bool> = const { Cell::new(false) };
        static TID: Cell<u64> = const { Cell::new(0) };
    }

    pub fn try_enter() -> bool {
        INSIDE.with(|c| !c.replace(true))
    }

    pub fn leave() {
        INSIDE.with(|c| c.set(false));
    }

    pub fn thread_id() -> u64 {
        TID.with(|c| {
            let mut id = c.get();
            if id == 0 {
                id = os_thread_id();
                c.set(id);
            }
            id
        })
    }

    /// The calling thread's id is read again on its next use.
    pub fn forget_thread_id() {
        let _ = TID.try_with(|c| c.set(0));
    }

    #[cfg(target_os = "linux")]
    fn os_thread_id() -> u64 {
        // SAFETY: gettid has no arguments and cannot fail.
        (unsafe { libc::syscall(libc::SYS_gettid) }) as u64
    }

    #[cfg(not(target_os = "linux"))]
    fn os_thread_id() -> u64 {
        // SAFETY: pthread_self has no preconditions.
        (unsafe { libc::pthread_self() }) as u64
    }
}

#[cfg(not(feature = "std"))]
mod imp {
    //! Without thread-locals, threads inside the shim are kept in a small
    //! lock-free open-addressed set keyed by `pthread_self()`.
    use core::sync::atomic::{AtomicUsize, Ordering};

    extern "C" {
        fn pthread_self() -> usize;
    }

    const SLOTS: usize = 256;
    static INSIDE: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];

    fn me() -> usize {
        // SAFETY: pthread_self has no preconditions.
        unsafe { pthread_self() }
    }

    fn home(id: usize) -> usize {
        (id.wrapping_mul(0x9E37_79B9_7F4A_7C15_u64 as usize) >> 8) % SLOTS
    }

    pub fn try_enter() -> bool {
        let id = me();
        let h = home(id);
        // Already inside? Only this thread ever stores its own id, so a scan is exact.
        for i in 0..SLOTS {
            if INSIDE[(h + i) % SLOTS].load(Ordering::Relaxed) == id {
                return false;
            }
        }
        for i in 0..SLOTS {
            let slot = &INSIDE[(h + i) % SLOTS];
            if slot
                .compare_exchange(0, id, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return true;
            }
        }
        // More than SLOTS threads inside at once: treat as re-entrant (pass through)
        // rather than block.
        false
    }

    pub fn leave() {
        let id = me();
        let h = home(id);
        for i in 0..SLOTS {
            let slot = &INSIDE[(h + i) % SLOTS];
            if slot.load(Ordering::Relaxed) == id {
                slot.store(0, Ordering::Release);
                return;
            }
        }
    }

    pub fn thread_id() -> u64 {
        me() as u64
    }
}

/// Proof that the current thread is inside the shim; leaving drops it.
#[must_use]
pub struct Inside(());

impl Drop for Inside {
    fn drop(&mut self) {
        imp::leave();
    }
}

/// Mark the thread as inside the shim, or `None` if it already is.
#[inline]
pub fn enter() -> Option<Inside> {
    if imp::try_enter() {
        Some(Inside(()))
    } else {
        None
    }
}

/// An id for the calling thread (the OS thread id on Linux hosts).
#[inline]
pub fn thread_id() -> u64 {
    imp::thread_id()
}

/// In a forked child (`crate::fork`): the one thread it has is a new OS
/// thread (Linux: its id is the child's process id), but its thread-local
/// copy of the id is the forking thread's in the parent. Read it again, so
/// the child's records, statistics and ring ownership carry the child's id.
#[cfg(feature = "std")]
pub fn fork_child() {
    imp::forget_thread_id();
}
