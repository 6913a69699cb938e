//! kos-ipc-shim: tracing, policy checks and statistics for the KasperskyOS IPC
//! system calls `Call`, `CallEx`, `Recv`, `RecvEx` and `Reply`.
//!
//! The staticlib exports the five calls with the SDK's C signatures; every call
//! runs through one pipeline (validate → policy → forward → statistics →
//! trace) and is then forwarded to a [`backend`]: the real kernel (link-time
//! `--wrap`), the host kernel emulator ([`host`], feature `host`), or a table
//! registered at run time.
//!
//! Types and return-code values are those of the KasperskyOS Community
//! Edition SDK (see [`abi`], which cites the source of each fact); builds
//! against a real SDK check them against the SDK's own headers.
//!
//! # Three roles
//!
//! One pipeline, three ways to put it to work:
//!
//! | role | the shim… | C programs | Rust |
//! |---|---|---|---|
//! | **interpose** | sits between a program and the kernel below it | relink with `-Wl,--wrap=Call,...` and `libkos_ipc_shim_wrap.a` (feature `wrap`), or run with `LD_PRELOAD` (feature `preload`) | [`backend::set_backend`] puts any [`Backend`] below the shim |
//! | **replace** | *is* the kernel: the host emulator serves the calls | link `libkos_ipc_shim.a` (feature `host`) with the SDK-path headers | call the exports in [`entry`] and [`host`] |
//! | **observe** | sees every call, and may deny it | the policy, statistics and trace, configured from the environment | [`intercept::register`] an [`Interceptor`] |
//!
//! C and CMake projects take the library from an installed prefix
//! (`make install PREFIX=...`): `find_package(KosIpcShim)` and
//! `kos_ipc_shim_interpose(app)`, or `pkg-config --libs kos-ipc-shim-wrap`
//! (see the docs/sdk-integration.md, "Use it in your SDK project").
//!
//! The examples below use the host build (default features). The five calls
//! are the C ABI's, so Rust reaches them through `unsafe` calls whose
//! contract is the SDK's: headers whose descriptors (filled by
//! `PackOutMsg`/`PackInMsg`, or by hand) point at buffers that outlive the
//! call.
//!
//! ## Replace: the host emulator serves a round trip
//!
//! A client thread calls, a server thread receives and replies; no
//! KasperskyOS kernel is involved. Every call went through the pipeline.
//!
//! ```
//! use std::ptr::{null, null_mut};
//! use kos_ipc_shim::abi::*;
//! use kos_ipc_shim::entry::{Call, Recv, Reply};
//! use kos_ipc_shim::host::exports::kos_host_channel_create;
//! use kos_ipc_shim::host::pack::{PackInMsg, PackOutMsg};
//! use kos_ipc_shim::{calls, Op};
//!
//! /// A zeroed header (`SMsgHdr hdr = {0};`), for PackOutMsg / PackInMsg to fill.
//! fn header() -> SMsgHdr {
//!     SMsgHdr::ZERO
//! }
//! const SIZE: u32 = std::mem::size_of::<nk_message>() as u32;
//!
//! let (mut client, mut server) = (0, 0);
//! // SAFETY: both pointers are writable.
//! assert_eq!(unsafe { kos_host_channel_create(&mut client, &mut server) }, rcOk);
//!
//! // Server: receive one request, answer with method id + 100.
//! let server_thread = std::thread::spawn(move || {
//!     let mut req = nk_message::new(0, 0, SIZE); // size_ex: the buffer's capacity
//!     let mut inp = header();
//!     // SAFETY: `req` and `inp` outlive the calls that use them.
//!     unsafe {
//!         assert_eq!(PackInMsg(&mut inp, &mut req, null_mut()), rcOk);
//!         assert_eq!(Recv(server, &mut inp), rcOk);
//!     }
//!     let resp = nk_message::new(req.iid, req.mid + 100, SIZE);
//!     let mut out = header();
//!     // SAFETY: `resp` and `out` outlive the calls that use them.
//!     unsafe {
//!         assert_eq!(PackOutMsg(&mut out, &resp, null()), rcOk);
//!         assert_eq!(Reply(server, &out), rcOk);
//!     }
//!     (req.iid, req.mid)
//! });
//!
//! // Client: one Call, which blocks until the server replied.
//! let req = nk_message::new(7, 1, SIZE);
//! let mut resp = nk_message::new(0, 0, SIZE); // the buffer's capacity
//! let (mut out, mut inp) = (header(), header());
//! // SAFETY: the messages and headers outlive the calls that use them.
//! unsafe {
//!     assert_eq!(PackOutMsg(&mut out, &req, null()), rcOk);
//!     assert_eq!(PackInMsg(&mut inp, &mut resp, null_mut()), rcOk);
//!     assert_eq!(Call(client, &out, &mut inp), rcOk);
//! }
//! assert_eq!(server_thread.join().unwrap(), (7, 1));
//! // The server's response, not an error one (ex.err clear).
//! assert_eq!((resp.iid, resp.mid, resp.size_ex(), resp.err()), (7, 101, SIZE, false));
//! // One Call, one Recv, one Reply passed the pipeline.
//! assert_eq!([calls::passed(Op::Call), calls::passed(Op::Recv), calls::passed(Op::Reply)], [1, 1, 1]);
//! ```
//!
//! ## Observe: an interceptor counts what passes
//!
//! [`Interceptor::after`] sees every finished call with its return code;
//! [`Interceptor::before`] could deny it.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
//! use kos_ipc_shim::abi::*;
//! use kos_ipc_shim::{intercept, CallInfo, Interceptor, Op};
//! # use std::ptr::{null, null_mut};
//! # use kos_ipc_shim::entry::{Call, Recv, Reply};
//! # use kos_ipc_shim::host::{exports::kos_host_channel_create, pack::{PackInMsg, PackOutMsg}};
//! # fn header() -> SMsgHdr { SMsgHdr::ZERO }
//! # const SIZE: u32 = std::mem::size_of::<nk_message>() as u32;
//! # /// Serves `n` requests on a new channel, echoing each; returns the client handle.
//! # fn echo_server(n: usize) -> (Handle, std::thread::JoinHandle<()>) {
//! #     let (mut client, mut server) = (0, 0);
//! #     assert_eq!(unsafe { kos_host_channel_create(&mut client, &mut server) }, rcOk);
//! #     let t = std::thread::spawn(move || for _ in 0..n {
//! #         let mut req = nk_message::new(0, 0, SIZE);
//! #         let (mut inp, mut out) = (header(), header());
//! #         unsafe {
//! #             assert_eq!(PackInMsg(&mut inp, &mut req, null_mut()), rcOk);
//! #             assert_eq!(Recv(server, &mut inp), rcOk);
//! #             let resp = req;
//! #             assert_eq!(PackOutMsg(&mut out, &resp, null()), rcOk);
//! #             assert_eq!(Reply(server, &out), rcOk);
//! #         }
//! #     });
//! #     (client, t)
//! # }
//! # fn call(client: Handle, iid: u16, mid: u16) -> Retcode {
//! #     let req = nk_message::new(iid, mid, SIZE);
//! #     let mut resp = nk_message::new(0, 0, SIZE);
//! #     let (mut out, mut inp) = (header(), header());
//! #     unsafe {
//! #         assert_eq!(PackOutMsg(&mut out, &req, null()), rcOk);
//! #         assert_eq!(PackInMsg(&mut inp, &mut resp, null_mut()), rcOk);
//! #         Call(client, &out, &mut inp)
//! #     }
//! # }
//!
//! /// Counts finished calls per operation, and the failed ones.
//! struct Counter {
//!     per_op: [AtomicU64; 5],
//!     failed: AtomicU64,
//! }
//!
//! impl Interceptor for Counter {
//!     fn after(&self, info: &CallInfo) {
//!         self.per_op[info.op as usize].fetch_add(1, Relaxed);
//!         if info.rc != rcOk {
//!             self.failed.fetch_add(1, Relaxed);
//!         }
//!     }
//! }
//!
//! static COUNTER: Counter = Counter { per_op: [const { AtomicU64::new(0) }; 5], failed: AtomicU64::new(0) };
//! intercept::register(&COUNTER).expect("a free interceptor slot");
//!
//! // Three round trips through an echo server on the host emulator (hidden
//! // helpers: `echo_server` and `call` do what the "replace" example does).
//! let (client, server) = echo_server(3);
//! for mid in 1..=3 {
//!     assert_eq!(call(client, 0x10, mid), rcOk);
//! }
//! server.join().unwrap();
//! // And a Call on a handle that does not exist.
//! assert_eq!(call(0xBAD, 0x10, 1), rcInvalidArgument);
//!
//! let count = |op: Op| COUNTER.per_op[op as usize].load(Relaxed);
//! assert_eq!((count(Op::Call), count(Op::Recv), count(Op::Reply)), (4, 3, 3));
//! assert_eq!(COUNTER.failed.load(Relaxed), 1);
//! ```
//!
//! ## Interpose: a backend of your own below the shim
//!
//! In a C program linked with `--wrap`, the layer below the shim is the real
//! kernel (`__real_Call`, ...). From Rust, [`backend::set_backend`] installs
//! any [`Backend`]: here one that records the methods it forwards and passes
//! every call on to the host emulator.
//!
//! ```
//! use std::sync::Mutex;
//! use kos_ipc_shim::abi::*;
//! use kos_ipc_shim::{backend, host, Args, Backend, Op};
//! # use std::ptr::{null, null_mut};
//! # use kos_ipc_shim::entry::{Call, Recv, Reply};
//! # use kos_ipc_shim::host::{exports::kos_host_channel_create, pack::{PackInMsg, PackOutMsg}};
//! # fn header() -> SMsgHdr { SMsgHdr::ZERO }
//! # const SIZE: u32 = std::mem::size_of::<nk_message>() as u32;
//! # fn echo_server(n: usize) -> (Handle, std::thread::JoinHandle<()>) {
//! #     let (mut client, mut server) = (0, 0);
//! #     assert_eq!(unsafe { kos_host_channel_create(&mut client, &mut server) }, rcOk);
//! #     let t = std::thread::spawn(move || for _ in 0..n {
//! #         let mut req = nk_message::new(0, 0, SIZE);
//! #         let (mut inp, mut out) = (header(), header());
//! #         unsafe {
//! #             assert_eq!(PackInMsg(&mut inp, &mut req, null_mut()), rcOk);
//! #             assert_eq!(Recv(server, &mut inp), rcOk);
//! #             let resp = req;
//! #             assert_eq!(PackOutMsg(&mut out, &resp, null()), rcOk);
//! #             assert_eq!(Reply(server, &out), rcOk);
//! #         }
//! #     });
//! #     (client, t)
//! # }
//! # fn call(client: Handle, iid: u16, mid: u16) -> Retcode {
//! #     let req = nk_message::new(iid, mid, SIZE);
//! #     let mut resp = nk_message::new(0, 0, SIZE);
//! #     let (mut out, mut inp) = (header(), header());
//! #     unsafe {
//! #         assert_eq!(PackOutMsg(&mut out, &req, null()), rcOk);
//! #         assert_eq!(PackInMsg(&mut inp, &mut resp, null_mut()), rcOk);
//! #         Call(client, &out, &mut inp)
//! #     }
//! # }
//!
//! /// Records (operation, iid, mid) of every request it forwards.
//! struct Recorder {
//!     seen: Mutex<Vec<(Op, u16, u16)>>,
//! }
//!
//! impl Backend for Recorder {
//!     fn forward(&self, op: Op, args: &mut Args<'_>) -> Retcode {
//!         let rc = host::EMULATOR.forward(op, args); // the next layer down
//!         // What was sent (Call, Reply) or, once received, what arrived (Recv).
//!         let msg = match (&args.out, &args.inp) {
//!             (Some(out), _) => out.info(),
//!             (None, Some(inp)) if rc == rcOk => inp.info(),
//!             _ => return rc,
//!         };
//!         self.seen.lock().unwrap().push((op, msg.iid, msg.mid));
//!         rc
//!     }
//!     fn name(&self) -> &'static str {
//!         "recorder"
//!     }
//! }
//!
//! static RECORDER: Recorder = Recorder { seen: Mutex::new(Vec::new()) };
//! backend::set_backend(&RECORDER).expect("a free backend slot");
//! assert_eq!(backend::current().name(), "recorder");
//!
//! // One round trip through an echo server (hidden helpers, as above).
//! let (client, server) = echo_server(1);
//! assert_eq!(call(client, 0x20, 5), rcOk);
//! server.join().unwrap();
//!
//! let mut seen = RECORDER.seen.lock().unwrap().clone();
//! seen.sort_by_key(|&(op, ..)| op as u8); // the threads' order is not fixed
//! assert_eq!(seen, [(Op::Call, 0x20, 5), (Op::Recv, 0x20, 5), (Op::Reply, 0x20, 5)]);
//! backend::reset_backend(); // back to the emulator itself
//! ```
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

// The C-library layer's builds have a heap (malloc) for configuration and
// outputs; the bare core has none.
#[cfg(feature = "clib")]
extern crate alloc;

/// Without std, the heap is the C library's `malloc`.
#[cfg(all(feature = "clib", not(feature = "std"), not(test)))]
#[global_allocator]
static HEAP: sys::CAlloc = sys::CAlloc;

/// cbindgen:ignore
/// (The C definitions are the SDK-path headers under include/kos.)
pub mod abi;
pub mod backend;
pub mod call;
pub mod calls;
pub mod clock;
pub mod entry;
mod fault;
mod ffi;
#[cfg(feature = "clib")]
mod fork;
pub mod guard;
#[cfg(feature = "host")]
pub mod host;
/// cbindgen:ignore
/// (Rust-only: the interface descriptions have no C API.)
#[cfg(feature = "clib")]
pub mod idl;
pub mod intercept;
#[cfg(feature = "clib")]
pub mod json_text;
pub mod layers;
pub mod lease;
#[cfg(feature = "clib")]
pub mod locator;
pub mod msg;
#[cfg(feature = "clib")]
pub mod names;
pub mod op;
#[cfg(feature = "clib")]
pub mod outpath;
pub mod pipeline;
pub mod policy;
#[cfg(feature = "clib")]
pub mod say;
pub mod stats;
/// cbindgen:ignore
/// (Declarations of the C library's own functions.)
#[cfg(feature = "clib")]
pub mod sys;
mod tally;
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
