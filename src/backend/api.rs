//! The interface between the pipeline and whatever a call is forwarded to:
//! the validated arguments ([`Args`]) and the [`Backend`] trait. Plain
//! definitions over the message views and the ABI, so that a backend (the
//! host emulator among them) depends on this and not on the registry in
//! [`crate::backend`], which names the build's default backend.

use crate::abi::{Handle, Retcode, SMsgHdr};
use crate::msg::{MsgIn, MsgOut};
use crate::op::Op;

/// The arguments of one intercepted system call, validated.
///
/// `out` is present for Call, CallEx and Reply; `inp` for Call, CallEx, Recv
/// and RecvEx. `mdelay` and `sync` matter only for CallEx and RecvEx.
#[derive(Debug)]
pub struct Args<'a> {
    /// The IPC handle the call is made on.
    pub handle: Handle,
    /// The message to send.
    pub out: Option<MsgOut<'a>>,
    /// Where to receive.
    pub inp: Option<MsgIn<'a>>,
    /// Timeout in milliseconds (`INFINITE_TIMEOUT`: none).
    pub mdelay: u32,
    /// IPC synchronization object (`INVALID_HANDLE`: not interruptible).
    pub sync: Handle,
    /// Correlation id a backend may set so that the client's Call and the
    /// server's Recv/Reply of one message can be matched (0: unknown).
    pub correlation: u64,
    /// Reply: the client thread the backend answered, when it knows it
    /// (`msgOut->threadId` 0 lets the kernel pick; 0 here: unknown).
    pub answered: u32,
}

/// The layer the shim forwards to.
///
/// Implementations must be thread-safe: every thread of the program calls
/// through the same backend. `forward` is called after validation and
/// policy; it must behave like the kernel's entry point for `op`.
///
/// # Example: a kernel that echoes every request
///
/// A backend receives the validated messages ([`MsgOut`], [`MsgIn`]) and
/// answers through them; it never touches raw headers.
///
/// ```
/// use std::ptr::{null, null_mut};
/// use kos_ipc_shim::abi::*;
/// use kos_ipc_shim::entry::Call;
/// use kos_ipc_shim::host::pack::{PackInMsg, PackOutMsg};
/// use kos_ipc_shim::{backend, Args, Backend, Op};
///
/// /// Call/CallEx get their own request back as the response; nothing else
/// /// is implemented.
/// struct Echo;
///
/// impl Backend for Echo {
///     fn forward(&self, op: Op, args: &mut Args<'_>) -> Retcode {
///         match (op, &args.out, &mut args.inp) {
///             (Op::Call | Op::CallEx, Some(out), Some(inp)) => {
///                 match inp.write(out.constant(), out.arena()) {
///                     Ok(_) => rcOk,
///                     Err(rc) => rc, // rcBufferTooSmall: it does not fit
///                 }
///             }
///             _ => rcUnimplemented,
///         }
///     }
///     fn name(&self) -> &'static str {
///         "echo"
///     }
/// }
///
/// static ECHO: Echo = Echo;
/// backend::set_backend(&ECHO).expect("a free backend slot");
///
/// let size = std::mem::size_of::<nk_message>() as u32;
/// let req = nk_message::new(3, 9, size);
/// let mut resp = nk_message::new(0, 0, size); // size_ex: the buffer's capacity
/// let (mut out, mut inp) = (SMsgHdr::ZERO, SMsgHdr::ZERO);
/// // SAFETY: the messages and headers outlive the calls that use them.
/// unsafe {
///     assert_eq!(PackOutMsg(&mut out, &req, null()), rcOk);
///     assert_eq!(PackInMsg(&mut inp, &mut resp, null_mut()), rcOk);
///     assert_eq!(Call(42, &out, &mut inp), rcOk);
/// }
/// assert_eq!(resp, req);
/// backend::reset_backend();
/// ```
pub trait Backend: Sync {
    /// Perform `op` with `args`, returning the kernel's return code.
    fn forward(&self, op: Op, args: &mut Args<'_>) -> Retcode;

    /// Told when the shim refused `op` before forwarding it (policy denial).
    /// A backend that tracks pending requests completes the one a refused
    /// Reply was answering, with `rc`, so its caller is not left waiting.
    fn refused(&self, _op: Op, _args: &mut Args<'_>, _rc: Retcode) {}

    /// A short name for diagnostics.
    fn name(&self) -> &'static str;
}

/// The caller's header pointers, for a backend that forwards them unchanged
/// to the next layer: NULL where `op` takes no such header.
pub fn raw_headers(args: &mut Args<'_>) -> (*const SMsgHdr, *mut SMsgHdr) {
    let out = args.out.as_ref().map_or(core::ptr::null(), MsgOut::as_ptr);
    let inp = args
        .inp
        .as_mut()
        .map_or(core::ptr::null_mut(), MsgIn::as_mut_ptr);
    (out, inp)
}
