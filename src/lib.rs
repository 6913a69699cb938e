//! kos-ipc-shim: tracing, policy checks and statistics for the KasperskyOS IPC
//! system calls `Call`, `CallEx`, `Recv`, `RecvEx` and `Reply`.
//!
//! The staticlib exports the five calls with the SDK's C signatures; every call
//! runs through one pipeline (validate → policy → forward → statistics →
//! trace) and is then forwarded to a [`backend`]: the real kernel (link-time
//! `--wrap`), the host kernel emulator ([`host`], feature `host`), or a table
//! registered at run time.
//!
//! Types and return-code values are the **host profile**'s (see [`abi`]): the
//! public SDK material does not fix them, so builds against a real SDK take
//! them from the SDK's own headers.
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod backend;
pub mod calls;
pub mod clock;
pub mod entry;
mod ffi;
pub mod guard;
#[cfg(feature = "host")]
pub mod host;
pub mod intercept;
pub mod msg;
#[cfg(feature = "std")]
pub mod names;
pub mod op;
pub mod pipeline;
pub mod policy;
pub mod stats;
pub mod trace;

pub use abi::{Handle, Retcode};
pub use backend::{Args, Backend};
pub use intercept::{CallInfo, Interceptor, Verdict};
pub use msg::{MsgIn, MsgInfo, MsgOut};
pub use op::Op;

#[cfg(all(not(feature = "std"), not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    extern "C" {
        fn abort() -> !;
    }
    // SAFETY: abort has no preconditions and never returns.
    unsafe { abort() }
}

#[cfg(test)]
mod header_test {
    /// The committed header must equal the one cbindgen generates now
    /// (`make header` refreshes it).
    #[test]
    fn committed_header_is_current() {
        let fresh = include_str!(concat!(env!("OUT_DIR"), "/kos_ipc_shim.h"));
        let committed = include_str!("../include/kos_ipc_shim.h");
        assert!(
            fresh == committed,
            "include/kos_ipc_shim.h is stale: run `make header` and commit it"
        );
    }
}
