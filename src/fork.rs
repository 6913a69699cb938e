//! Fork safety: what a child process sets right after `fork()`, before it
//! makes its first call (one handler, registered through the C library's
//! `pthread_atfork` at the shim's first use, see [`install`]).
//!
//! The child has one thread, the one that called `fork()`; every other
//! thread of the parent (the trace drainer, a thread that was inside the
//! shim) is gone, with whatever lock it held. The handler:
//!
//! - policy: frees the reload lock and the reader announcements of threads
//!   that no longer exist (a later load would wait for them forever); the
//!   policy and its counters (fault rules' `n` too) continue as they were;
//! - output paths: forgets the parent's lock files (they are the parent's;
//!   the child's exit must not remove them);
//! - statistics: the table starts at zero and the dump paths are claimed
//!   again at the child's first dump, so its dumps hold the child's calls
//!   alone, in a file of its own (`%p` is the child's id; a path without
//!   `%p` becomes `<path>.<pid>`, as for any second process);
//! - thread id: the calling thread's cached id is the parent's thread's;
//!   it is read again (the child's records carry the child's id);
//! - trace: the rings are emptied (their records, and any push or drain a
//!   parent's thread was in the middle of, are the parent's); the rings of
//!   the parent's other threads go to the child's new threads; the
//!   parent's session (its files, its drainer) is forgotten without a
//!   write; the child's session, from the same spec, is opened when it
//!   first has records, and it gets a drainer thread of its own.
//!
//! Every file the shim opens is close-on-exec, so after `exec` nothing of
//! it is left in the new program; and as a child claims its output paths
//! only when it writes, one that execs leaves no file behind.
//!
//! Host builds (std: the host archive, the preload library) only: the wrap
//! archive is built for KasperskyOS, which has neither `fork()` nor
//! `pthread_atfork()` (the SDK's POSIX limitations list both as not
//! implemented), and its files are opened without the `e` mode flag.

/// Register the child handler once (host builds: std, Linux). The wrap
/// archive (no_std) does not: it is built for KasperskyOS, which has no
/// `fork()`, and whose C library has no `pthread_atfork()`.
pub(crate) fn install() {
    #[cfg(feature = "std")]
    install_handler();
}

#[cfg(feature = "std")]
fn install_handler() {
    static ONCE: spin::Once<()> = spin::Once::new();
    ONCE.call_once(|| {
        if !crate::sys::at_fork_child(child) {
            crate::say!(
                crate::say::Level::Error,
                "pthread_atfork failed: a forked child may find the shim's locks held"
            );
        }
    });
}

#[cfg_attr(not(feature = "std"), allow(dead_code))]
extern "C" fn child() {
    // No panic may leave this handler: it runs inside the C library's fork.
    let _ = crate::ffi::boundary(|| {
        let _inside = crate::guard::enter();
        #[cfg(feature = "std")]
        crate::guard::fork_child();
        crate::policy::fork_child();
        crate::locator::fork_child();
        crate::outpath::fork_child();
        crate::stats::fork_child();
        crate::trace::fork_child();
        crate::abi::rcOk
    });
}
