//! The transport on the emulator: a round trip through call, recv and reply
//! with arenas, the iid/mid check, timeouts and interrupts, bad arguments,
//! and the Retcode mapping.

use core::ptr::{null, null_mut};
use std::thread;

use super::*;
use crate::abi::*;
use crate::host::arena::{kos_nk_arena_get, kos_nk_arena_store};
use crate::host::exports::{
    kos_host_channel_create, KnHandleClose, KnIpcCreateSyncObject, KnIpcSetInterrupt,
};

/// A request or response: the header and one arena reference.
#[repr(C)]
#[derive(Default)]
struct Msg {
    base: nk_message,
    text: nk_ptr_t,
}
const MSG: u32 = core::mem::size_of::<Msg>() as u32;

fn channel() -> (Handle, Handle) {
    let (mut c, mut s) = (0, 0);
    // SAFETY: both pointers are writable.
    assert_eq!(unsafe { kos_host_channel_create(&mut c, &mut s) }, rcOk);
    (c, s)
}

fn transport(h: Handle) -> NkKosTransport {
    // SAFETY: every bit pattern is a valid NkKosTransport (a NULL ops
    // pointer included); Init overwrites it whole.
    let mut t: NkKosTransport = unsafe { core::mem::zeroed() };
    // SAFETY: `t` is writable.
    assert_eq!(unsafe { NkKosTransport_Init(&mut t, h, null(), 0) }, NK_EOK);
    t
}

fn arena(buf: &mut [u8]) -> nk_arena {
    let start = buf.as_mut_ptr();
    nk_arena {
        start,
        current: start,
        end: start.wrapping_add(buf.len()),
    }
}

/// Serve one request: answer with the request's ids (mid + `shift`) and
/// its text reversed; returns what reply returned.
fn serve_one(server: Handle, shift: u16) -> nk_err_t {
    let mut t = transport(server);
    let mut req = Msg::default();
    req.base.set_size_ex(MSG);
    let mut req_buf = [0u8; 64];
    let mut req_arena = arena(&mut req_buf);
    // SAFETY: the buffers outlive the calls.
    let rc = unsafe { kos_host_transport_recv(&mut t.base, &mut req.base, &mut req_arena) };
    assert_eq!(rc, NK_EOK);
    let mut n: u32 = 0;
    // SAFETY: the arena and reference are valid; `n` is a 4-byte count.
    let text = unsafe { kos_nk_arena_get(&req_arena, &req.text, 1, (&raw mut n).cast(), 4) };
    assert!(!text.is_null());
    // SAFETY: nk_arena_get checked `n` bytes at `text` against the arena.
    let mut bytes = unsafe { core::slice::from_raw_parts(text.cast::<u8>(), n as usize) }.to_vec();
    bytes.reverse();
    let mut res = Msg {
        base: nk_message::new(req.base.iid, req.base.mid + shift, MSG),
        ..Msg::default()
    };
    let mut res_buf = [0u8; 64];
    let mut res_arena = arena(&mut res_buf);
    // SAFETY: valid arena, reference and source bytes.
    let stored = unsafe {
        kos_nk_arena_store(
            &mut res_arena,
            &mut res.text,
            bytes.as_ptr().cast(),
            bytes.len(),
            1,
        )
    };
    assert_eq!(stored, NK_EOK);
    // SAFETY: the buffers outlive the call.
    unsafe { kos_host_transport_reply(&mut t.base, &res.base, &res_arena) }
}

/// Call method `mid` of interface 3 with `text`; the result and the
/// response's text.
fn call(t: *mut nk_transport, mid: u16, text: &[u8]) -> (nk_err_t, Vec<u8>) {
    let mut req = Msg {
        base: nk_message::new(3, mid, MSG),
        ..Msg::default()
    };
    let mut req_buf = [0u8; 64];
    let mut req_arena = arena(&mut req_buf);
    // SAFETY: valid arena, reference and source bytes.
    let stored = unsafe {
        kos_nk_arena_store(
            &mut req_arena,
            &mut req.text,
            text.as_ptr().cast(),
            text.len(),
            1,
        )
    };
    assert_eq!(stored, NK_EOK);
    let mut res = Msg::default();
    res.base.set_size_ex(MSG);
    let mut res_buf = [0u8; 64];
    let mut res_arena = arena(&mut res_buf);
    // SAFETY: the buffers outlive the call.
    let rc =
        unsafe { kos_host_transport_call(t, &req.base, &req_arena, &mut res.base, &mut res_arena) };
    let used = res_arena.current as usize - res_arena.start as usize;
    (rc, res_buf[..used].to_vec())
}

#[test]
fn init_sets_the_defaults_and_our_ops() {
    let t = transport(42);
    assert!(core::ptr::eq(t.base.ops, &KOS_TRANSPORT_OPS));
    assert_eq!(
        (t.handle, t.reply_handle, t.thread),
        (42, INVALID_HANDLE, 0)
    );
    assert_eq!(
        (t.recvTimeout, t.callTimeout),
        (INFINITE_TIMEOUT, INFINITE_TIMEOUT)
    );
    assert_eq!(
        (t.callSyncHandle, t.recvSyncHandle),
        (INVALID_HANDLE, INVALID_HANDLE)
    );
    // SAFETY: NULL is refused before any write.
    assert_eq!(
        unsafe { NkKosTransport_Init(null_mut(), 1, null(), 0) },
        NK_EINVAL
    );
}

#[test]
fn round_trip_with_arenas() {
    let (client, server) = channel();
    let s = thread::spawn(move || serve_one(server, 0));
    let mut t = transport(client);
    let (rc, text) = call(&mut t.base, 7, b"abc\0");
    assert_eq!(rc, NK_EOK);
    assert_eq!(text, b"\0cba");
    assert_eq!(s.join().unwrap(), NK_EOK);
    assert_eq!(KnHandleClose(client), rcOk);
    assert_eq!(KnHandleClose(server), rcOk);
}

#[test]
fn a_response_to_another_method_is_refused() {
    let (client, server) = channel();
    let s = thread::spawn(move || serve_one(server, 1));
    let mut t = transport(client);
    assert_eq!(call(&mut t.base, 7, b"x").0, NK_EBADMSG);
    // The server's reply itself went through.
    assert_eq!(s.join().unwrap(), NK_EOK);
    assert_eq!(KnHandleClose(client), rcOk);
    assert_eq!(KnHandleClose(server), rcOk);
}

#[test]
fn timeouts_and_interrupts_are_eagain() {
    let (client, server) = channel();
    let mut c = transport(client);
    c.callTimeout = 10;
    assert_eq!(call(&mut c.base, 1, b"x").0, NK_EAGAIN);

    let mut sync = INVALID_HANDLE;
    // SAFETY: `sync` is writable.
    assert_eq!(unsafe { KnIpcCreateSyncObject(&mut sync) }, rcOk);
    assert_eq!(KnIpcSetInterrupt(sync), rcOk);
    c.callTimeout = INFINITE_TIMEOUT;
    c.callSyncHandle = sync;
    assert_eq!(call(&mut c.base, 1, b"x").0, NK_EAGAIN);

    let mut s = transport(server);
    s.recvTimeout = 10;
    let mut req = Msg::default();
    req.base.set_size_ex(MSG);
    // SAFETY: the buffer outlives the call; no arena.
    let rc = unsafe { kos_host_transport_recv(&mut s.base, &mut req.base, null_mut()) };
    assert_eq!(rc, NK_EAGAIN);
    for h in [client, server, sync] {
        assert_eq!(KnHandleClose(h), rcOk);
    }
    // The server is gone: the peer is not connected.
    let (client, server) = channel();
    assert_eq!(KnHandleClose(server), rcOk);
    let mut c = transport(client);
    assert_eq!(call(&mut c.base, 1, b"x").0, NK_ENOTCONN);
    assert_eq!(KnHandleClose(client), rcOk);
}

#[test]
fn bad_arguments_are_einval() {
    let mut t = transport(1);
    let mut m = Msg::default();
    m.base.set_size_ex(MSG);
    let mut foreign = nk_transport { ops: null() };
    // SAFETY: each call gets NULL or valid pointers; nothing is sent.
    unsafe {
        assert_eq!(
            kos_host_transport_call(null_mut(), &m.base, null(), &mut m.base, null_mut()),
            NK_EINVAL
        );
        assert_eq!(
            kos_host_transport_call(&mut foreign, &m.base, null(), &mut m.base, null_mut()),
            NK_EINVAL
        );
        assert_eq!(
            kos_host_transport_call(&mut t.base, null(), null(), &mut m.base, null_mut()),
            NK_EINVAL
        );
        let req = m.base;
        assert_eq!(
            kos_host_transport_call(&mut t.base, &req, null(), null_mut(), null_mut()),
            NK_EINVAL
        );
        assert_eq!(
            kos_host_transport_recv(&mut t.base, null_mut(), null_mut()),
            NK_EINVAL
        );
        assert_eq!(
            kos_host_transport_reply(&mut t.base, null(), null()),
            NK_EINVAL
        );
        // Nothing received yet: nothing to answer.
        assert_eq!(
            kos_host_transport_reply(&mut t.base, &m.base, null()),
            NK_EINVAL
        );
        // An arena whose current lies beyond its end.
        let mut buf = [0u8; 8];
        let mut bad = arena(&mut buf);
        bad.current = bad.end.wrapping_add(1);
        assert_eq!(
            kos_host_transport_call(&mut t.base, &req, &bad, &mut m.base, null_mut()),
            NK_EINVAL
        );
    }
}

#[test]
fn retcodes_map_to_nk_codes() {
    let table = [
        (rcOk, NK_EOK),
        (rcTimeout, NK_EAGAIN),
        (rcIpcInterrupt, NK_EAGAIN),
        (rcNotConnected, NK_ENOTCONN),
        (rcSecurityDisallow, NK_EPERM),
        (rcNoCapability, NK_EPERM),
        (rcBufferTooSmall, NK_ENOMEM),
        (rcOutOfMemory, NK_ENOMEM),
        (rcInvalidArgument, NK_EINVAL),
        (rcFail, NK_EINVAL),
        (rcBusy, NK_EINVAL),
    ];
    for (rc, nk) in table {
        assert_eq!(nk_err_from_retcode(rc), nk, "{:?}", retcode_name(rc));
    }
}

#[test]
fn threads_share_one_client_transport() {
    const THREADS: usize = 4;
    const CALLS: usize = 50;
    let (client, server) = channel();
    let s = thread::spawn(move || {
        for _ in 0..THREADS * CALLS {
            assert_eq!(serve_one(server, 0), NK_EOK);
        }
    });
    let shared = Box::leak(Box::new(transport(client)));
    let addr = shared as *mut NkKosTransport as usize;
    let clients: Vec<_> = (0..THREADS)
        .map(|i| {
            thread::spawn(move || {
                for n in 0..CALLS {
                    let text = format!("{i}:{n}\0");
                    // The transport is leaked, so it outlives every thread;
                    // calls only read it, through this raw pointer.
                    let t = addr as *mut nk_transport;
                    let (rc, got) = call(t, i as u16, text.as_bytes());
                    assert_eq!(rc, NK_EOK);
                    let mut want = text.into_bytes();
                    want.reverse();
                    assert_eq!(got, want);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    s.join().unwrap();
    assert_eq!(KnHandleClose(client), rcOk);
    assert_eq!(KnHandleClose(server), rcOk);
}
