//! The NK transport: `NkKosTransport`, what NK-generated proxies and
//! dispatch loops send and receive through (`<coresrv/nk/transport-kos.h>`).
//!
//! As in the SDK (\[B\], `shared/kos-abi.md`) the transport sits on top of
//! `CallEx`, `RecvEx` and `Reply`: each function here packs the message's
//! header with `PackOutMsg`/`PackInMsg` and makes the system call through
//! the crate's own entry points, so every message the transport carries is
//! validated, policed, counted and traced like any direct call.
//!
//! - call: `CallEx(handle, callTimeout, callSyncHandle)`; then the response
//!   arena's bytes in use are the ones that arrived (descriptor 1's size),
//!   and a response whose iid or mid differ from the request's is refused
//!   with `NK_EBADMSG` (the SDK refuses it too \[B\]; which code it returns
//!   is not public).
//! - recv: `RecvEx(handle, recvTimeout, recvSyncHandle)`; the request's
//!   `replyHandle` and `threadId` are kept in the transport for the reply
//!   (one outstanding request per transport object, as the SDK's single
//!   `reply_handle`/`thread` fields \[D\] imply).
//! - reply: `Reply` on that handle, answering that thread.
//!
//! System call results become `NK_E*` codes through [`nk_err_from_retcode`],
//! the one mapping (its table is this project's choice: the SDK maps
//! Retcodes to NK codes \[B\], but which to which is not public).
//! Pointer checks: a NULL or misaligned transport or message, a transport
//! not set up by `NkKosTransport_Init` and an inconsistent arena are
//! `NK_EINVAL`; a NULL arena means "no arena" (the SDK's documentation
//! passes NULL arenas to generated methods). Panics never cross the C ABI.
#![allow(non_snake_case)]

use core::ffi::c_void;
use core::mem::align_of;

use crate::abi::{
    nk_arena, nk_err_t, nk_message, nk_transport, nk_transport_ops, rcBufferTooSmall,
    rcInvalidArgument, rcIpcInterrupt, rcNoCapability, rcNotConnected, rcOk, rcOutOfMemory,
    rcSecurityDisallow, rcTimeout, rtl_size_t, Handle, NkKosTransport, Retcode, SMsgHdr,
    INFINITE_TIMEOUT, INVALID_HANDLE, NK_EAGAIN, NK_EBADMSG, NK_EINVAL, NK_ENOMEM, NK_ENOTCONN,
    NK_EOK, NK_EPERM,
};
use crate::entry::{CallEx, RecvEx, Reply};
use crate::ffi::boundary_or;

use super::pack::{PackInMsg, PackOutMsg};

/// The operations `NkKosTransport_Init` installs; a transport is one of
/// ours exactly when its `base.ops` points here.
static KOS_TRANSPORT_OPS: nk_transport_ops = nk_transport_ops {
    call: Some(kos_host_transport_call),
    recv: Some(kos_host_transport_recv),
    reply: Some(kos_host_transport_reply),
    send: None,
    wait: None,
};

/// The NK code a transport function returns for a system call's result.
///
/// | Retcode | NK code | why |
/// |---|---|---|
/// | rcOk | NK_EOK | |
/// | rcTimeout, rcIpcInterrupt | NK_EAGAIN | nothing happened yet: try again |
/// | rcNotConnected | NK_ENOTCONN | the peer is gone |
/// | rcSecurityDisallow, rcNoCapability | NK_EPERM | a denial |
/// | rcBufferTooSmall, rcOutOfMemory | NK_ENOMEM | a buffer or table too small |
/// | rcInvalidArgument, any other | NK_EINVAL | |
///
/// The values on both sides are the SDK's (\[B\]); the pairing is this
/// project's, by the POSIX meaning of each NK name.
#[allow(non_upper_case_globals)] // the SDK's rc* names
pub fn nk_err_from_retcode(rc: Retcode) -> nk_err_t {
    match rc {
        rcOk => NK_EOK,
        rcTimeout | rcIpcInterrupt => NK_EAGAIN,
        rcNotConnected => NK_ENOTCONN,
        rcSecurityDisallow | rcNoCapability => NK_EPERM,
        rcBufferTooSmall | rcOutOfMemory => NK_ENOMEM,
        rcInvalidArgument => NK_EINVAL,
        _ => NK_EINVAL,
    }
}

fn aligned<T>(p: *const T) -> bool {
    !p.is_null() && (p as usize).is_multiple_of(align_of::<T>())
}

/// `t` as the `NkKosTransport` it is the base of, if `NkKosTransport_Init`
/// set it up (its ops are ours).
///
/// # Safety
/// `t` is NULL or points to a readable `nk_transport`.
unsafe fn ours(t: *mut nk_transport) -> Option<*mut NkKosTransport> {
    if !aligned(t.cast::<NkKosTransport>()) {
        return None;
    }
    // SAFETY: non-NULL and aligned; a readable nk_transport per the contract.
    let ops = unsafe { (*t).ops };
    // Only NkKosTransport_Init installs these ops, and only as the `base`
    // (offset 0) of an NkKosTransport.
    core::ptr::eq(ops, &KOS_TRANSPORT_OPS).then_some(t.cast::<NkKosTransport>())
}

/// After a receive through `hdr`: make the arena's bytes in use the ones
/// that arrived (descriptor 1's size, this project's convention for the
/// emulator). False when they would not fit the arena.
///
/// # Safety
/// `arena` is NULL or points to a writable `nk_arena`, the one `hdr` was
/// packed with.
unsafe fn arena_received(arena: *mut nk_arena, hdr: &SMsgHdr) -> bool {
    let got = hdr.descs()[1].size as usize;
    if arena.is_null() {
        return got == 0;
    }
    // SAFETY: non-NULL; writable per the contract (PackInMsg checked it).
    let a = unsafe { &mut *arena };
    if got > (a.end as usize).wrapping_sub(a.start as usize) {
        return false;
    }
    a.current = a.start.wrapping_add(got);
    true
}

/// Set up `transport` on the IPC handle `handle` (a client handle to call
/// through, or a server handle to receive and reply on): its operations are
/// the emulator's, the timeouts `INFINITE_TIMEOUT`, the sync objects and
/// the reply handle `INVALID_HANDLE`. `view` and `view_size` are accepted
/// and ignored: the SDK's examples always pass `NK_NULL, 0` and what else
/// they could mean is not public.
///
/// Returns NK_EOK, or NK_EINVAL for a NULL or misaligned `transport`
/// (nothing is written then).
///
/// # Safety
/// `transport` is NULL or points to a writable `NkKosTransport`.
#[no_mangle]
pub unsafe extern "C" fn NkKosTransport_Init(
    transport: *mut NkKosTransport,
    handle: Handle,
    view: *const c_void,
    view_size: rtl_size_t,
) -> nk_err_t {
    let _ = (view, view_size);
    boundary_or(NK_EINVAL, || {
        if !aligned(transport) {
            return NK_EINVAL;
        }
        let t = NkKosTransport {
            base: nk_transport {
                ops: &KOS_TRANSPORT_OPS,
            },
            handle,
            reply_handle: INVALID_HANDLE,
            thread: 0,
            recvTimeout: INFINITE_TIMEOUT,
            callTimeout: INFINITE_TIMEOUT,
            callSyncHandle: INVALID_HANDLE,
            recvSyncHandle: INVALID_HANDLE,
        };
        // SAFETY: non-NULL, aligned, writable per the contract.
        unsafe { transport.write(t) };
        NK_EOK
    })
}

/// `NkKosTransport`'s call (what `nk_transport_call` reaches): send `req`
/// with the bytes in use of `req_arena` and wait for the response in `res`
/// (capacity `res->ex.size_ex`, as `nk_req_reset` sets it) and `res_arena`,
/// through `CallEx(handle, ..., callTimeout, callSyncHandle)`.
///
/// Returns NK_EOK with the response in `res` and its arena bytes in use in
/// `res_arena` (an error response, `ex.err` set, is NK_EOK too: read
/// `nk_msg_get_err`); NK_EBADMSG when the response's iid or mid differ from
/// the request's; NK_EINVAL for a NULL or misaligned transport or message,
/// a transport not set up by `NkKosTransport_Init`, a message or arena
/// `PackOutMsg`/`PackInMsg` refuse; otherwise CallEx's result mapped by the
/// table of `nk_err_from_retcode` (rcTimeout and rcIpcInterrupt:
/// NK_EAGAIN; rcNotConnected: NK_ENOTCONN; rcSecurityDisallow: NK_EPERM;
/// rcBufferTooSmall: NK_ENOMEM).
///
/// # Safety
/// `transport` is NULL or points to an `nk_transport` (if set up by
/// `NkKosTransport_Init`, the `base` of its `NkKosTransport`; threads may
/// call through one transport at once); `req` is NULL or points to
/// `req->ex.size_ex` readable bytes; `res` is NULL or points to
/// `res->ex.size_ex` writable bytes; each arena is NULL or a valid
/// `nk_arena` over its buffer.
#[no_mangle]
pub unsafe extern "C" fn kos_host_transport_call(
    transport: *mut nk_transport,
    req: *const nk_message,
    req_arena: *const nk_arena,
    res: *mut nk_message,
    res_arena: *mut nk_arena,
) -> nk_err_t {
    boundary_or(NK_EINVAL, || {
        // SAFETY: the caller's contract.
        let Some(t) = (unsafe { ours(transport) }) else {
            return NK_EINVAL;
        };
        if !aligned(req) || !aligned(res.cast_const()) {
            return NK_EINVAL;
        }
        // SAFETY: non-NULL, aligned, readable per the contract.
        let asked = unsafe { ((*req).iid, (*req).mid) };
        // SAFETY: `t` is an NkKosTransport (ours() checked its ops); its
        // fields are only read here, as threads may share a client transport.
        let (handle, mdelay, sync) =
            unsafe { ((*t).handle, (*t).callTimeout, (*t).callSyncHandle) };
        let (mut out, mut inp) = (SMsgHdr::ZERO, SMsgHdr::ZERO);
        // SAFETY: the headers are ours; the buffers are the caller's, valid
        // for the whole call per the contract (`res` non-NULL and aligned).
        unsafe {
            if PackOutMsg(&mut out, req, req_arena) != rcOk
                || PackInMsg(&mut inp, res, res_arena) != rcOk
            {
                return NK_EINVAL;
            }
            let rc = CallEx(handle, &out, &mut inp, mdelay, sync);
            if rc != rcOk {
                return nk_err_from_retcode(rc);
            }
            if !arena_received(res_arena, &inp) {
                return NK_EBADMSG;
            }
            if ((*res).iid, (*res).mid) != asked {
                return NK_EBADMSG;
            }
        }
        NK_EOK
    })
}

/// `NkKosTransport`'s receive (what `nk_transport_recv` reaches): wait for
/// a request into `req` (capacity `req->ex.size_ex`: `nk_req_reset` the
/// request union first) and `req_arena` (its whole buffer), through
/// `RecvEx(handle, ..., recvTimeout, recvSyncHandle)`. The request's reply
/// handle and client thread are kept in the transport for the next
/// `nk_transport_reply`.
///
/// Returns NK_EOK with the request in `req` and its arena bytes in use in
/// `req_arena`; NK_EINVAL for bad arguments (as for the call); otherwise
/// RecvEx's result mapped by `nk_err_from_retcode` (rcTimeout and
/// rcIpcInterrupt: NK_EAGAIN; rcNotConnected, the server handle closed:
/// NK_ENOTCONN; rcBufferTooSmall: NK_ENOMEM).
///
/// # Safety
/// `transport` as for `kos_host_transport_call`, but used by no other
/// thread during the call (one server thread per transport: it keeps the
/// request to answer); `req` is NULL or points to
/// `req->ex.size_ex` writable bytes; `req_arena` is NULL or a valid
/// `nk_arena` over a writable buffer.
#[no_mangle]
pub unsafe extern "C" fn kos_host_transport_recv(
    transport: *mut nk_transport,
    req: *mut nk_message,
    req_arena: *mut nk_arena,
) -> nk_err_t {
    boundary_or(NK_EINVAL, || {
        // SAFETY: the caller's contract.
        let Some(t) = (unsafe { ours(transport) }) else {
            return NK_EINVAL;
        };
        // SAFETY: an NkKosTransport (ours() checked its ops), used by this
        // thread alone per the contract.
        let t = unsafe { &mut *t };
        if !aligned(req.cast_const()) {
            return NK_EINVAL;
        }
        let mut inp = SMsgHdr::ZERO;
        // SAFETY: the header is ours; the buffers are the caller's, valid
        // for the whole call per the contract.
        unsafe {
            if PackInMsg(&mut inp, req, req_arena) != rcOk {
                return NK_EINVAL;
            }
            let rc = RecvEx(t.handle, &mut inp, t.recvTimeout, t.recvSyncHandle);
            if rc != rcOk {
                return nk_err_from_retcode(rc);
            }
            if !arena_received(req_arena, &inp) {
                return NK_EBADMSG;
            }
        }
        t.reply_handle = inp.replyHandle;
        t.thread = inp.threadId;
        NK_EOK
    })
}

/// `NkKosTransport`'s reply (what `nk_transport_reply` reaches): answer the
/// request the last `nk_transport_recv` on this transport received with
/// `res` (`res->ex.size_ex` bytes) and the bytes in use of `res_arena`,
/// through `Reply` on the handle it came in on, naming its client thread.
///
/// Returns NK_EOK; NK_EINVAL for bad arguments (as for the call), and when
/// there is no request to answer (none received, or already answered);
/// otherwise Reply's result mapped by `nk_err_from_retcode` (rcNotConnected,
/// the caller gave up: NK_ENOTCONN; rcBufferTooSmall: NK_ENOMEM;
/// rcSecurityDisallow: NK_EPERM).
///
/// # Safety
/// `transport` as for `kos_host_transport_recv`; `res` is NULL or points to
/// `res->ex.size_ex` readable bytes; `res_arena` is NULL or a valid
/// `nk_arena` over its buffer.
#[no_mangle]
pub unsafe extern "C" fn kos_host_transport_reply(
    transport: *mut nk_transport,
    res: *const nk_message,
    res_arena: *const nk_arena,
) -> nk_err_t {
    boundary_or(NK_EINVAL, || {
        // SAFETY: the caller's contract.
        let Some(t) = (unsafe { ours(transport) }) else {
            return NK_EINVAL;
        };
        // SAFETY: an NkKosTransport (ours() checked its ops), used by this
        // thread alone per the contract.
        let t = unsafe { &mut *t };
        if !aligned(res) {
            return NK_EINVAL;
        }
        let mut out = SMsgHdr::ZERO;
        // SAFETY: the header is ours; the buffers are the caller's, valid
        // for the whole call per the contract.
        unsafe {
            if PackOutMsg(&mut out, res, res_arena) != rcOk {
                return NK_EINVAL;
            }
        }
        // Without a received request, thread 0 would mean "the oldest one
        // waiting": refuse instead of answering a request this transport
        // never saw.
        if t.reply_handle == INVALID_HANDLE || t.thread == 0 {
            return NK_EINVAL;
        }
        out.threadId = t.thread;
        // SAFETY: the header points at the caller's buffers, valid per the contract.
        nk_err_from_retcode(unsafe { Reply(t.reply_handle, &out) })
    })
}

#[cfg(test)]
mod tests;
