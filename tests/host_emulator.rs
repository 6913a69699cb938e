//! The host emulator through the exported system calls: round trips, order,
//! concurrency, timeouts, interrupts, closing, buffer limits, stale handles,
//! the header fields Recv fills and Reply's choice by `threadId`.
//!
//! Messages are built as SDK programs build them (KCE layout): an
//! `nk_message` made with `nk_message::new`, headers from `SMsgHdr::ZERO`
//! bound with `PackOutMsg` / `PackInMsg`. The helpers are in this file, so
//! the test depends on nothing but the crate's public API.

use std::mem::size_of;
use std::sync::{Arc, Barrier};
use std::thread;

use kos_ipc_shim::abi::*;
use kos_ipc_shim::entry::{Call, CallEx, Recv, RecvEx, Reply};
use kos_ipc_shim::host::arena::kos_nk_arena_store;
use kos_ipc_shim::host::exports::*;
use kos_ipc_shim::host::pack::{PackInMsg, PackOutMsg};

/// Interface and method id of every test message.
const IID: u16 = 7;
const MID: u16 = 3;

/// A constant part: the NK header, a value and a small text field.
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Msg {
    hdr: nk_message,
    value: u64,
    text: [u8; 16],
}

const MSG_SIZE: u32 = size_of::<Msg>() as u32;

impl Msg {
    /// A message to `IID`/`MID` carrying `value` and `text`.
    fn new(value: u64, text: &str) -> Msg {
        let mut t = [0u8; 16];
        t[..text.len()].copy_from_slice(text.as_bytes());
        Msg {
            hdr: nk_message::new(IID, MID, MSG_SIZE),
            value,
            text: t,
        }
    }

    /// A receive buffer: zeroed ids, `size_ex` its capacity.
    fn buffer() -> Msg {
        Msg {
            hdr: nk_message::new(0, 0, MSG_SIZE),
            value: 0,
            text: [0; 16],
        }
    }
}

/// A constant-part buffer followed by guard bytes, to prove nothing is
/// written past the capacity the header states.
#[repr(C, align(8))]
struct Guarded {
    msg: nk_message,
    guard: [u8; 64],
}

const GUARD: u8 = 0xA5;

impl Guarded {
    /// Capacity exactly `sizeof(nk_message)`; guard bytes set.
    fn new() -> Guarded {
        Guarded {
            msg: nk_message::new(0, 0, size_of::<nk_message>() as u32),
            guard: [GUARD; 64],
        }
    }

    fn guard_intact(&self) -> bool {
        self.guard.iter().all(|&b| b == GUARD)
    }
}

/// An arena over a byte array whose tail past `cap` is guard bytes.
struct ArenaBuf {
    bytes: [u8; 256],
    arena: nk_arena,
}

impl ArenaBuf {
    /// An arena over the first `cap` bytes, none in use.
    fn new(cap: usize) -> Box<ArenaBuf> {
        assert!(cap <= 256);
        let mut b = Box::new(ArenaBuf {
            bytes: [GUARD; 256],
            arena: nk_arena {
                start: std::ptr::null_mut(),
                current: std::ptr::null_mut(),
                end: std::ptr::null_mut(),
            },
        });
        let start = b.bytes.as_mut_ptr();
        b.arena = nk_arena {
            start,
            current: start,
            end: start.wrapping_add(cap),
        };
        b
    }

    /// Store `data` at the end of the bytes in use.
    fn store(&mut self, data: &[u8]) -> nk_ptr_t {
        let mut p = nk_ptr_t::default();
        // SAFETY: valid arena (its bytes live in this box), pointer and data.
        let rc = unsafe {
            kos_nk_arena_store(&mut self.arena, &mut p, data.as_ptr().cast(), data.len(), 1)
        };
        assert_eq!(rc, NK_EOK);
        p
    }

    /// The bytes a receive through `hdr` put in this arena: descriptor 1's
    /// size after the receive.
    fn received(&self, hdr: &SMsgHdr) -> &[u8] {
        let d = hdr.descs()[1];
        assert_eq!(d.buf, self.bytes.as_ptr() as *mut _, "descriptor 1 is ours");
        &self.bytes[..d.size as usize]
    }

    fn tail_intact(&self, cap: usize) -> bool {
        self.bytes[cap..].iter().all(|&b| b == GUARD)
    }
}

/// A header bound for sending `msg` (asserts success).
fn pack_out(msg: &Msg, arena: Option<&nk_arena>) -> SMsgHdr {
    let mut h = SMsgHdr::ZERO;
    let a = arena.map_or(std::ptr::null(), |a| a as *const nk_arena);
    // SAFETY: valid pointers; the caller keeps them alive while h is used.
    assert_eq!(unsafe { PackOutMsg(&mut h, &msg.hdr, a) }, rcOk);
    h
}

/// A header bound for receiving into `buf` (capacity `MSG_SIZE`).
fn pack_in(buf: &mut Msg, arena: Option<&mut nk_arena>) -> SMsgHdr {
    buf.hdr.set_size_ex(MSG_SIZE);
    pack_in_raw(&mut buf.hdr, arena)
}

/// A header bound for receiving into `msg`, whose `size_ex` is its capacity.
fn pack_in_raw(msg: &mut nk_message, arena: Option<&mut nk_arena>) -> SMsgHdr {
    let mut h = SMsgHdr::ZERO;
    let a = arena.map_or(std::ptr::null_mut(), |a| a as *mut nk_arena);
    // SAFETY: valid pointers; the caller keeps them alive while h is used.
    assert_eq!(unsafe { PackInMsg(&mut h, msg, a) }, rcOk);
    h
}

fn channel() -> (Handle, Handle) {
    let (mut c, mut s) = (0, 0);
    // SAFETY: valid out-pointers.
    assert_eq!(unsafe { kos_host_channel_create(&mut c, &mut s) }, rcOk);
    (c, s)
}

fn sync_object() -> Handle {
    let mut h = 0;
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { KnIpcCreateSyncObject(&mut h) }, rcOk);
    h
}

fn close(h: Handle) {
    assert_eq!(KnHandleClose(h), rcOk);
}

/// (queued requests, waiting receivers) of a channel.
fn info(h: Handle) -> (usize, usize) {
    let (mut q, mut w) = (0, 0);
    // SAFETY: valid out-pointers.
    assert_eq!(unsafe { kos_host_channel_info(h, &mut q, &mut w) }, rcOk);
    (q, w)
}

/// Wait (yielding) until the channel shows `queued` requests and `waiting` receivers.
fn wait_for(h: Handle, queued: usize, waiting: usize) {
    while info(h) != (queued, waiting) {
        thread::yield_now();
    }
}

fn call(h: Handle, out: &SMsgHdr, inp: &mut SMsgHdr) -> Retcode {
    // SAFETY: headers bound to live buffers.
    unsafe { Call(h, out, inp) }
}

fn call_ex(h: Handle, out: &SMsgHdr, inp: &mut SMsgHdr, mdelay: u32, sync: Handle) -> Retcode {
    // SAFETY: headers bound to live buffers.
    unsafe { CallEx(h, out, inp, mdelay, sync) }
}

fn recv(h: Handle, inp: &mut SMsgHdr) -> Retcode {
    // SAFETY: header bound to live buffers.
    unsafe { Recv(h, inp) }
}

fn recv_ex(h: Handle, inp: &mut SMsgHdr, mdelay: u32, sync: Handle) -> Retcode {
    // SAFETY: header bound to live buffers.
    unsafe { RecvEx(h, inp, mdelay, sync) }
}

fn reply(h: Handle, out: &SMsgHdr) -> Retcode {
    // SAFETY: header bound to live buffers.
    unsafe { Reply(h, out) }
}

/// Reply `msg` to the client thread `thread` (0: the oldest request).
fn reply_to(h: Handle, msg: &Msg, thread: u32) -> Retcode {
    let mut out = pack_out(msg, None);
    out.threadId = thread;
    reply(h, &out)
}

/// Client: send `value` and return (rc, response).
fn request(h: Handle, value: u64) -> (Retcode, Msg) {
    let req = Msg::new(value, "req");
    let out = pack_out(&req, None);
    let mut resp = Msg::buffer();
    let mut inp = pack_in(&mut resp, None);
    let rc = call(h, &out, &mut inp);
    (rc, resp)
}

/// Server: receive one request, answer `value * 2 + 1`; returns the request.
fn serve_one(s: Handle) -> Msg {
    let mut req = Msg::buffer();
    let mut inp = pack_in(&mut req, None);
    assert_eq!(recv(s, &mut inp), rcOk);
    let resp = Msg::new(req.value * 2 + 1, "resp");
    assert_eq!(reply(s, &pack_out(&resp, None)), rcOk);
    req
}

/// The calling thread's id as the kernel reports it in `threadId`.
fn my_tid() -> u32 {
    // SAFETY: gettid has no arguments and cannot fail.
    (unsafe { libc::syscall(libc::SYS_gettid) }) as u32
}

/// A received request: its buffer and the header it arrived through.
struct Received {
    msg: Box<Msg>,
    hdr: SMsgHdr,
}

/// Server: receive one request into a buffer of its own (asserts rcOk).
fn receive(s: Handle) -> Received {
    let mut msg = Box::new(Msg::buffer());
    let mut hdr = pack_in(&mut msg, None);
    assert_eq!(recv(s, &mut hdr), rcOk);
    Received { msg, hdr }
}

/// A client thread that sends `value`; its result is (rc, response, its thread id).
fn client(c: Handle, value: u64) -> thread::JoinHandle<(Retcode, Msg, u32)> {
    thread::spawn(move || {
        let (rc, resp) = request(c, value);
        (rc, resp, my_tid())
    })
}

#[test]
fn round_trip_copies_constant_part_and_arena_exactly() {
    let (c, s) = channel();
    let server = thread::spawn(move || {
        let mut req = Msg::buffer();
        let mut arena = ArenaBuf::new(64);
        let mut inp = pack_in(&mut req, Some(&mut arena.arena));
        assert_eq!(recv(s, &mut inp), rcOk);
        assert_eq!(req, Msg::new(41, "ping"));
        assert!(!req.hdr.err(), "a request is not an error");
        assert_eq!(arena.received(&inp), b"hello arena");
        assert_eq!(inp.descs()[0].size, MSG_SIZE, "constant bytes received");
        assert!(arena.tail_intact(64));

        let resp = Msg::new(42, "pong");
        let mut ra = ArenaBuf::new(32);
        ra.store(b"reply bytes!");
        let out = pack_out(&resp, Some(&ra.arena));
        assert_eq!(reply(s, &out), rcOk);
    });

    let req = Msg::new(41, "ping");
    let mut ra = ArenaBuf::new(64);
    ra.store(b"hello ");
    ra.store(b"arena");
    let out = pack_out(&req, Some(&ra.arena));
    let mut resp = Msg::buffer();
    let mut arena = ArenaBuf::new(16);
    let mut inp = pack_in(&mut resp, Some(&mut arena.arena));
    assert_eq!(call(c, &out, &mut inp), rcOk);
    server.join().unwrap();

    assert_eq!(resp, Msg::new(42, "pong"));
    assert_eq!(arena.received(&inp), b"reply bytes!");
    assert!(arena.tail_intact(16));
    close(c);
    close(s);
}

#[test]
fn an_error_response_arrives_with_its_err_bit() {
    let (c, s) = channel();
    let server = thread::spawn(move || {
        let r = receive(s);
        assert!(!r.msg.hdr.err());
        let mut resp = Msg::new(r.msg.value, "failed");
        resp.hdr.set_err(true);
        assert_eq!(reply(s, &pack_out(&resp, None)), rcOk);
    });
    let (rc, resp) = request(c, 5);
    server.join().unwrap();
    assert_eq!(rc, rcOk, "an error response is still a delivered message");
    assert!(resp.hdr.err());
    assert_eq!((resp.hdr.iid, resp.hdr.mid, resp.value), (IID, MID, 5));
    close(c);
    close(s);
}

#[test]
fn requests_are_served_in_fifo_order() {
    let (c, s) = channel();
    let clients: Vec<_> = (0..5u64)
        .map(|i| {
            let t = thread::spawn(move || request(c, i));
            wait_for(s, i as usize + 1, 0); // queued one by one: a known order
            t
        })
        .collect();
    let order: Vec<u64> = (0..5).map(|_| serve_one(s).value).collect();
    assert_eq!(order, vec![0, 1, 2, 3, 4]);
    for (i, t) in clients.into_iter().enumerate() {
        let (rc, resp) = t.join().unwrap();
        assert_eq!(rc, rcOk);
        assert_eq!(resp.value, i as u64 * 2 + 1);
    }
    close(c);
    close(s);
}

#[test]
fn four_clients_two_servers_every_reply_matches_its_request() {
    const CLIENTS: u64 = 4;
    const CALLS: u64 = 2000;
    let (c, s) = channel();
    let servers: Vec<_> = (0..2)
        .map(|_| {
            thread::spawn(move || {
                let mut served = 0u64;
                loop {
                    let mut req = Msg::buffer();
                    let mut inp = pack_in(&mut req, None);
                    match recv(s, &mut inp) {
                        rc if rc == rcOk => {}
                        // Closed: while waiting, or before the next Recv.
                        rc if rc == rcNotConnected || rc == rcInvalidArgument => return served,
                        rc => panic!("Recv: {rc:#x}"),
                    }
                    let resp = Msg::new(req.value ^ 0x5555, "r");
                    assert_eq!(reply(s, &pack_out(&resp, None)), rcOk);
                    served += 1;
                }
            })
        })
        .collect();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            thread::spawn(move || {
                for seq in 0..CALLS {
                    let v = id << 32 | seq;
                    let (rc, resp) = request(c, v);
                    assert_eq!(rc, rcOk);
                    assert_eq!(resp.value, v ^ 0x5555, "reply for client {id} call {seq}");
                }
            })
        })
        .collect();
    for t in clients {
        t.join().unwrap();
    }
    close(s);
    let served: u64 = servers.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(served, CLIENTS * CALLS);
    close(c);
}

#[test]
fn servers_timing_out_in_recvex_lose_no_request() {
    // Receivers give up every millisecond (or poll) while callers keep
    // posting: a request handed to a receiver as it gives up is delivered,
    // a wake-up meant for it is passed on; every call gets its own reply.
    const CALLS: u64 = 300;
    let (c, s) = channel();
    let servers: Vec<_> = (0..2u32)
        .map(|k| {
            thread::spawn(move || loop {
                let mut req = Msg::buffer();
                let mut inp = pack_in(&mut req, None);
                match recv_ex(s, &mut inp, k, INVALID_HANDLE) {
                    rc if rc == rcOk => {
                        let resp = Msg::new(req.value + 1, "");
                        assert_eq!(reply(s, &pack_out(&resp, None)), rcOk);
                    }
                    rc if rc == rcTimeout => {}
                    // Closed: while waiting, or before the next RecvEx.
                    rc if rc == rcNotConnected || rc == rcInvalidArgument => return,
                    rc => panic!("RecvEx: {rc:#x}"),
                }
            })
        })
        .collect();
    let clients: Vec<_> = (0..3u64)
        .map(|id| {
            thread::spawn(move || {
                for seq in 0..CALLS {
                    let v = id << 32 | seq;
                    assert_eq!(request(c, v), (rcOk, Msg::new(v + 1, "")));
                }
            })
        })
        .collect();
    for t in clients {
        t.join().unwrap();
    }
    close(s);
    for t in servers {
        t.join().unwrap();
    }
    close(c);
}

#[test]
fn callex_and_recvex_time_out() {
    let (c, s) = channel();
    let req = Msg::new(1, "t");
    let out = pack_out(&req, None);
    let mut resp = Msg::buffer();
    let mut inp = pack_in(&mut resp, None);
    assert_eq!(call_ex(c, &out, &mut inp, 0, INVALID_HANDLE), rcTimeout);
    assert_eq!(call_ex(c, &out, &mut inp, 15, INVALID_HANDLE), rcTimeout);
    assert_eq!(info(c), (0, 0), "timed-out requests are withdrawn");

    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv_ex(s, &mut rin, 0, INVALID_HANDLE), rcTimeout);
    assert_eq!(recv_ex(s, &mut rin, 15, INVALID_HANDLE), rcTimeout);
    assert_eq!(info(s), (0, 0), "a timed-out receiver is no longer listed");

    // A queued request is received by a polling RecvEx.
    let t = thread::spawn(move || request(c, 9));
    wait_for(s, 1, 0);
    assert_eq!(recv_ex(s, &mut rin, 0, INVALID_HANDLE), rcOk);
    assert_eq!(buf.value, 9);
    assert_eq!(reply(s, &pack_out(&Msg::new(10, ""), None)), rcOk);
    assert_eq!(t.join().unwrap().0, rcOk);
    close(c);
    close(s);
}

#[test]
fn interrupt_before_reception_returns_ipc_interrupt() {
    let (c, s) = channel();
    let sync = sync_object();
    let t = thread::spawn(move || {
        let req = Msg::new(1, "i");
        let out = pack_out(&req, None);
        let mut resp = Msg::buffer();
        let mut inp = pack_in(&mut resp, None);
        call_ex(c, &out, &mut inp, INFINITE_TIMEOUT, sync)
    });
    wait_for(s, 1, 0);
    assert_eq!(KnIpcSetInterrupt(sync), rcOk);
    assert_eq!(t.join().unwrap(), rcIpcInterrupt);
    assert_eq!(info(s), (0, 0), "the interrupted request left the queue");

    // Still set: the next CallEx and RecvEx return at once.
    let req = Msg::new(1, "i");
    let out = pack_out(&req, None);
    let mut resp = Msg::buffer();
    let mut inp = pack_in(&mut resp, None);
    assert_eq!(
        call_ex(c, &out, &mut inp, INFINITE_TIMEOUT, sync),
        rcIpcInterrupt
    );
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv_ex(s, &mut rin, INFINITE_TIMEOUT, sync), rcIpcInterrupt);
    assert_eq!(KnIpcClearInterrupt(sync), rcOk);
    assert_eq!(call_ex(c, &out, &mut inp, 0, sync), rcTimeout);
    close(sync);
    close(c);
    close(s);
}

#[test]
fn interrupt_wakes_a_waiting_recvex() {
    let (c, s) = channel();
    let sync = sync_object();
    let t = thread::spawn(move || {
        let mut buf = Msg::buffer();
        let mut rin = pack_in(&mut buf, None);
        recv_ex(s, &mut rin, INFINITE_TIMEOUT, sync)
    });
    wait_for(s, 0, 1);
    assert_eq!(KnIpcSetInterrupt(sync), rcOk);
    assert_eq!(t.join().unwrap(), rcIpcInterrupt);
    assert_eq!(info(s), (0, 0));
    close(sync);
    close(c);
    close(s);
}

#[test]
fn interrupt_after_reception_does_not_stop_the_call() {
    let (c, s) = channel();
    let sync = sync_object();
    let t = thread::spawn(move || {
        let req = Msg::new(5, "i");
        let out = pack_out(&req, None);
        let mut resp = Msg::buffer();
        let mut inp = pack_in(&mut resp, None);
        (
            call_ex(c, &out, &mut inp, INFINITE_TIMEOUT, sync),
            resp.value,
        )
    });
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv(s, &mut rin), rcOk);
    assert_eq!(KnIpcSetInterrupt(sync), rcOk);
    for _ in 0..100 {
        thread::yield_now(); // give the caller a chance to (wrongly) give up
    }
    assert_eq!(reply(s, &pack_out(&Msg::new(6, ""), None)), rcOk);
    assert_eq!(t.join().unwrap(), (rcOk, 6));
    close(sync);
    close(c);
    close(s);
}

#[test]
fn closing_the_server_disconnects_queued_received_and_later_calls() {
    let (c, s) = channel();
    // One request received but not answered, two queued behind it.
    let first = thread::spawn(move || request(c, 1).0);
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv(s, &mut rin), rcOk);
    let queued: Vec<_> = (0..2)
        .map(|i| {
            let t = thread::spawn(move || request(c, 10 + i).0);
            wait_for(s, i as usize + 1, 0);
            t
        })
        .collect();
    close(s);
    assert_eq!(first.join().unwrap(), rcNotConnected);
    for t in queued {
        assert_eq!(t.join().unwrap(), rcNotConnected);
    }
    assert_eq!(
        reply(s, &pack_out(&Msg::new(0, ""), None)),
        rcInvalidArgument,
        "closed handle"
    );
    assert_eq!(request(c, 3).0, rcNotConnected, "later calls");
    close(c);
}

#[test]
fn closing_the_server_wakes_a_waiting_recv() {
    let (c, s) = channel();
    let t = thread::spawn(move || {
        let mut buf = Msg::buffer();
        let mut rin = pack_in(&mut buf, None);
        recv(s, &mut rin)
    });
    wait_for(s, 0, 1);
    close(s);
    assert_eq!(t.join().unwrap(), rcNotConnected);
    close(c);
}

#[test]
fn a_closed_client_handle_is_invalid_and_others_still_work() {
    let (c, s) = channel();
    close(c);
    assert_eq!(request(c, 1).0, rcInvalidArgument);
    assert_eq!(KnHandleClose(c), rcInvalidArgument, "double close");
    close(s);
}

#[test]
fn a_request_too_large_for_recv_is_refused_on_both_sides() {
    let (c, s) = channel();
    let t = thread::spawn(move || request(c, 77).0);
    wait_for(s, 1, 0);
    let mut small = Guarded::new();
    let mut rin = pack_in_raw(&mut small.msg, None);
    assert_eq!(recv(s, &mut rin), rcBufferTooSmall);
    assert_eq!(t.join().unwrap(), rcBufferTooSmall);
    assert!(small.guard_intact());
    assert_eq!(small.msg.iid, 0, "nothing written when it does not fit");
    assert_eq!(rin.sender, 0, "no header field filled either");
    assert_eq!(info(s), (0, 0), "the request was consumed");
    assert_eq!(
        reply(s, &pack_out(&Msg::new(0, ""), None)),
        rcInvalidArgument,
        "nothing to answer"
    );

    // Arena bytes with no arena to receive them.
    let t = thread::spawn(move || {
        let req = Msg::new(1, "");
        let mut ra = ArenaBuf::new(8);
        ra.store(b"12345678");
        let out = pack_out(&req, Some(&ra.arena));
        let mut resp = Msg::buffer();
        let mut inp = pack_in(&mut resp, None);
        call(c, &out, &mut inp)
    });
    let mut buf = Msg::buffer();
    let mut arena = ArenaBuf::new(4);
    let mut rin = pack_in(&mut buf, Some(&mut arena.arena));
    assert_eq!(recv(s, &mut rin), rcBufferTooSmall);
    assert_eq!(t.join().unwrap(), rcBufferTooSmall);
    assert!(arena.tail_intact(0));
    close(c);
    close(s);
}

#[test]
fn a_request_too_large_for_a_waiting_receiver_is_refused_on_both_sides() {
    // The server waits first, so the caller hands the request over directly.
    let (c, s) = channel();
    let server = thread::spawn(move || {
        let mut small = Guarded::new();
        let mut rin = pack_in_raw(&mut small.msg, None);
        let rc = recv(s, &mut rin);
        (rc, small.guard_intact(), small.msg.iid)
    });
    wait_for(s, 0, 1);
    assert_eq!(request(c, 5).0, rcBufferTooSmall);
    assert_eq!(server.join().unwrap(), (rcBufferTooSmall, true, 0));
    assert_eq!(info(s), (0, 0));
    close(c);
    close(s);
}

#[test]
fn a_large_arena_reaches_a_waiting_receiver_intact() {
    const N: usize = 200 * 1024; // above the direct hand-off limit
    let (c, s) = channel();
    let server = thread::spawn(move || {
        let mut buf = Msg::buffer();
        let mut bytes = vec![0u8; N + 16];
        let start = bytes.as_mut_ptr();
        let mut arena = nk_arena {
            start,
            current: start,
            end: start.wrapping_add(N + 16),
        };
        let mut rin = pack_in(&mut buf, Some(&mut arena));
        assert_eq!(recv(s, &mut rin), rcOk);
        let used = rin.descs()[1].size as usize;
        assert_eq!(reply(s, &pack_out(&Msg::new(0, ""), None)), rcOk);
        (
            used,
            bytes[..N]
                .iter()
                .enumerate()
                .all(|(i, &b)| b == (i % 251) as u8),
        )
    });
    wait_for(s, 0, 1);
    let mut data: Vec<u8> = (0..N).map(|i| (i % 251) as u8).collect();
    let arena = nk_arena {
        start: data.as_mut_ptr(),
        current: data.as_mut_ptr().wrapping_add(N),
        end: data.as_mut_ptr().wrapping_add(N),
    };
    let req = Msg::new(1, "big");
    let out = pack_out(&req, Some(&arena));
    let mut resp = Msg::buffer();
    let mut inp = pack_in(&mut resp, None);
    assert_eq!(call(c, &out, &mut inp), rcOk);
    assert_eq!(server.join().unwrap(), (N, true));
    close(c);
    close(s);
}

#[test]
fn a_response_too_large_for_the_caller_is_refused_on_both_sides() {
    let (c, s) = channel();
    let t = thread::spawn(move || {
        let req = Msg::new(1, "");
        let out = pack_out(&req, None);
        let mut small = Guarded::new();
        let mut inp = pack_in_raw(&mut small.msg, None);
        let rc = call(c, &out, &mut inp);
        (rc, small.guard_intact(), small.msg.iid)
    });
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv(s, &mut rin), rcOk);
    let resp = Msg::new(2, "too big");
    assert_eq!(reply(s, &pack_out(&resp, None)), rcBufferTooSmall);
    assert_eq!(t.join().unwrap(), (rcBufferTooSmall, true, 0));
    close(c);
    close(s);
}

#[test]
fn reply_needs_a_pending_request_on_a_server_handle() {
    let (c, s) = channel();
    let out = pack_out(&Msg::new(0, ""), None);
    assert_eq!(reply(s, &out), rcInvalidArgument);
    assert_eq!(reply(c, &out), rcInvalidArgument);
    // Wrong handle kinds for Call and Recv.
    let sync = sync_object();
    assert_eq!(request(s, 1).0, rcInvalidArgument);
    assert_eq!(request(sync, 1).0, rcInvalidArgument);
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(recv(c, &mut rin), rcInvalidArgument);
    assert_eq!(recv(sync, &mut rin), rcInvalidArgument);
    // A syncHandle that is not a sync object.
    assert_eq!(recv_ex(s, &mut rin, 0, c), rcInvalidArgument);
    let req = Msg::new(1, "");
    let mut resp_buf = Msg::buffer();
    let mut inp = pack_in(&mut resp_buf, None);
    assert_eq!(
        call_ex(c, &pack_out(&req, None), &mut inp, 0, s),
        rcInvalidArgument
    );
    close(sync);
    close(c);
    close(s);
}

#[test]
fn reply_after_the_caller_timed_out_is_not_connected_and_writes_nothing() {
    let (c, s) = channel();
    // The caller must time out *after* the server received its request; on
    // a loaded machine it may time out before, so retry until it happened.
    loop {
        let t = thread::spawn(move || {
            let req = Msg::new(1, "");
            let out = pack_out(&req, None);
            let mut resp = Msg::buffer();
            resp.value = 0xDEAD;
            let mut inp = pack_in(&mut resp, None);
            let rc = call_ex(c, &out, &mut inp, 30, INVALID_HANDLE);
            (rc, resp.value)
        });
        let mut buf = Msg::buffer();
        let mut rin = pack_in(&mut buf, None);
        let received = recv_ex(s, &mut rin, 1000, INVALID_HANDLE);
        assert_eq!(t.join().unwrap(), (rcTimeout, 0xDEAD));
        if received != rcOk {
            assert_eq!(received, rcTimeout);
            continue;
        }
        assert_eq!(
            reply(s, &pack_out(&Msg::new(0xBEEF, ""), None)),
            rcNotConnected
        );
        break;
    }
    // The next call is unaffected by the stale request.
    let t = thread::spawn(move || request(c, 4));
    assert_eq!(serve_one(s).value, 4);
    assert_eq!(t.join().unwrap().0, rcOk);
    close(c);
    close(s);
}

#[test]
fn receiving_again_without_reply_keeps_the_earlier_request() {
    let (c, s) = channel();
    let first = thread::spawn(move || request(c, 1));
    let a = receive(s);
    let second = thread::spawn(move || request(c, 2));
    let b = receive(s);
    assert_eq!((a.msg.value, b.msg.value), (1, 2));
    // threadId 0: the oldest unanswered request, then the next.
    assert_eq!(reply_to(s, &Msg::new(10, ""), 0), rcOk);
    assert_eq!(first.join().unwrap(), (rcOk, Msg::new(10, "")));
    assert_eq!(reply_to(s, &Msg::new(20, ""), 0), rcOk);
    assert_eq!(second.join().unwrap(), (rcOk, Msg::new(20, "")));
    assert_eq!(reply_to(s, &Msg::new(30, ""), 0), rcInvalidArgument);
    close(c);
    close(s);
}

#[test]
fn one_server_thread_answers_two_client_threads_in_reverse_order() {
    let (c, s) = channel();
    // Both requests are received before either is answered.
    let a = client(c, 100);
    wait_for(s, 1, 0);
    let b = client(c, 200);
    wait_for(s, 2, 0);
    let ra = receive(s);
    let rb = receive(s);
    assert_eq!((ra.msg.value, rb.msg.value), (100, 200), "FIFO");
    assert_ne!(ra.hdr.threadId, rb.hdr.threadId);

    // Answer the later one first, by its client's thread id.
    assert_eq!(reply_to(s, &Msg::new(201, "to b"), rb.hdr.threadId), rcOk);
    let (rc, resp, tid_b) = b.join().unwrap();
    assert_eq!((rc, resp), (rcOk, Msg::new(201, "to b")));
    assert_eq!(tid_b, rb.hdr.threadId, "threadId named b's thread");
    assert!(!a.is_finished(), "a still waits for its own answer");

    assert_eq!(reply_to(s, &Msg::new(101, "to a"), ra.hdr.threadId), rcOk);
    let (rc, resp, tid_a) = a.join().unwrap();
    assert_eq!((rc, resp), (rcOk, Msg::new(101, "to a")));
    assert_eq!(tid_a, ra.hdr.threadId);
    close(c);
    close(s);
}

#[test]
fn recv_fills_the_header_and_reply_picks_the_request_by_thread_id() {
    let (c, s) = channel();
    let traced = thread::spawn(move || {
        let req = Msg::new(7, "traced");
        let mut out = pack_out(&req, None);
        out.traceId = 0x0123_4567_89AB_CDEF;
        out.spanId = 0xFEDC_BA98_7654_3210;
        let mut resp = Msg::buffer();
        let mut inp = pack_in(&mut resp, None);
        let rc = call(c, &out, &mut inp);
        (rc, resp.value, inp.sender, my_tid())
    });
    wait_for(s, 1, 0);
    let plain = client(c, 8);
    wait_for(s, 2, 0);

    let first = receive(s);
    let second = receive(s);
    let pid = std::process::id();
    for r in [&first, &second] {
        assert_eq!(r.hdr.replyHandle, s, "the server handle it came in on");
        assert_eq!(r.hdr.sender, pid, "the client's task");
        assert_ne!(r.hdr.threadId, 0);
    }
    assert_eq!(
        (first.hdr.traceId, first.hdr.spanId),
        (0x0123_4567_89AB_CDEF, 0xFEDC_BA98_7654_3210),
        "the client's trace context arrives"
    );
    assert_eq!((second.hdr.traceId, second.hdr.spanId), (0, 0));

    // An unknown thread id answers nothing, and the reply header is only read.
    let unknown = first.hdr.threadId ^ second.hdr.threadId ^ 0x4000_0000;
    assert_eq!(reply_to(s, &Msg::new(0, ""), unknown), rcInvalidArgument);
    assert_eq!(info(s), (0, 0));

    // threadId 0 answers the request received first; the other context
    // fields of a reply header mean nothing to Reply, which never writes it.
    let resp = Msg::new(70, "first");
    let mut out = pack_out(&resp, None);
    (out.replyHandle, out.sender, out.traceId, out.spanId) = (0xAAAA, 0xBBBB, 0x5151, 0x6161);
    let descs = out.descs();
    assert_eq!(reply(s, &out), rcOk);
    // SAFETY: a plain read of a live local (volatile: the compiler may not
    // assume Reply left it as it was).
    let after = unsafe { std::ptr::read_volatile(&out) };
    assert_eq!(
        (
            after.replyHandle,
            after.sender,
            after.threadId,
            after.traceId,
            after.spanId
        ),
        (0xAAAA, 0xBBBB, 0, 0x5151, 0x6161),
        "Reply wrote nothing into its header"
    );
    assert_eq!(
        (after.descs()[0].size, after.descs()[1].size),
        (descs[0].size, descs[1].size)
    );
    let (rc, value, sender, tid) = traced.join().unwrap();
    assert_eq!((rc, value), (rcOk, 70));
    assert_eq!(sender, pid, "the response header names the server's task");
    assert_eq!(tid, first.hdr.threadId, "threadId was the caller's thread");
    assert!(!plain.is_finished());

    assert_eq!(reply_to(s, &Msg::new(80, ""), second.hdr.threadId), rcOk);
    let (rc, resp, tid) = plain.join().unwrap();
    assert_eq!((rc, resp.value, tid), (rcOk, 80, second.hdr.threadId));
    assert_eq!(
        reply_to(s, &Msg::new(0, ""), second.hdr.threadId),
        rcInvalidArgument
    );
    close(c);
    close(s);
}

#[test]
fn a_server_thread_holds_sixteen_unanswered_requests_and_refuses_a_seventeenth() {
    const HELD: usize = 16;
    let (c, s) = channel();
    let clients: Vec<_> = (0..=HELD as u64).map(|i| client(c, i)).collect();
    wait_for(s, HELD + 1, 0);
    let held: Vec<Received> = (0..HELD).map(|_| receive(s)).collect();
    assert_eq!(info(s), (1, 0));
    // The 17th receive is refused at once and takes nothing.
    let mut buf = Msg::buffer();
    let mut rin = pack_in(&mut buf, None);
    assert_eq!(
        recv_ex(s, &mut rin, INFINITE_TIMEOUT, INVALID_HANDLE),
        rcOutOfMemory
    );
    assert_eq!(recv(s, &mut rin), rcOutOfMemory);
    assert_eq!(info(s), (1, 0), "the request is still queued");
    // Another thread may still receive it.
    let other = thread::spawn(move || serve_one(s).value);
    // Answer the held ones, newest first.
    for r in held.iter().rev() {
        assert_eq!(
            reply_to(s, &Msg::new(r.msg.value + 1000, ""), r.hdr.threadId),
            rcOk
        );
    }
    let late = other.join().unwrap();
    for (i, t) in clients.into_iter().enumerate() {
        let i = i as u64;
        let expect = if i == late { i * 2 + 1 } else { i + 1000 };
        let (rc, resp, _) = t.join().unwrap();
        assert_eq!((rc, resp.value), (rcOk, expect), "client {i}");
    }
    // With room again, this thread receives as before.
    let t = client(c, 5);
    assert_eq!(serve_one(s).value, 5);
    assert_eq!(t.join().unwrap().0, rcOk);
    close(c);
    close(s);
}

#[test]
fn a_server_thread_ending_without_reply_disconnects_its_callers() {
    let (c, s) = channel();
    let a = thread::spawn(move || request(c, 1).0);
    wait_for(s, 1, 0);
    let b = thread::spawn(move || request(c, 2).0);
    wait_for(s, 2, 0);
    thread::spawn(move || {
        receive(s);
        receive(s);
    })
    .join()
    .unwrap();
    assert_eq!(a.join().unwrap(), rcNotConnected);
    assert_eq!(b.join().unwrap(), rcNotConnected);
    close(c);
    close(s);
}

#[test]
fn stale_and_foreign_handle_values_are_rejected() {
    let (c, s) = channel();
    close(c);
    close(s);
    let (c2, s2) = channel();
    assert_ne!((c, s), (c2, s2), "a reused slot gets a new generation");
    for h in [c, s, 0, INVALID_HANDLE, 0x1234_5FFF] {
        assert_eq!(request(h, 1).0, rcInvalidArgument, "handle {h:#x}");
        assert_eq!(KnHandleClose(h), rcInvalidArgument, "handle {h:#x}");
        assert_eq!(KnIpcSetInterrupt(h), rcInvalidArgument, "handle {h:#x}");
    }
    assert_eq!(
        KnIpcSetInterrupt(c2),
        rcInvalidArgument,
        "not a sync object"
    );
    assert_eq!(
        KnIpcClearInterrupt(s2),
        rcInvalidArgument,
        "not a sync object"
    );
    close(c2);
    close(s2);
}

#[test]
fn names_register_connect_and_free_on_close() {
    let name = c"host-test-service";
    let (mut s, mut s2, mut c) = (0, 0, 0);
    // SAFETY (all calls below): valid C strings and out-pointers, or NULL on purpose.
    unsafe {
        assert_eq!(kos_host_server_register(name.as_ptr(), &mut s), rcOk);
        assert_eq!(kos_host_server_register(name.as_ptr(), &mut s2), rcBusy);
        assert_eq!(
            kos_host_connect(c"host-test-nobody".as_ptr(), &mut c),
            rcNotConnected
        );
        assert_eq!(
            kos_host_connect(std::ptr::null(), &mut c),
            rcInvalidArgument
        );
        assert_eq!(
            kos_host_connect(name.as_ptr(), std::ptr::null_mut()),
            rcInvalidArgument
        );
        assert_eq!(kos_host_connect(c"".as_ptr(), &mut c), rcInvalidArgument);
        assert_eq!(
            kos_host_server_register(std::ptr::null(), &mut s2),
            rcInvalidArgument
        );
        assert_eq!(
            kos_host_channel_create(std::ptr::null_mut(), &mut s2),
            rcInvalidArgument
        );
        assert_eq!(
            KnIpcCreateSyncObject(std::ptr::null_mut()),
            rcInvalidArgument
        );
        assert_eq!(kos_host_connect(name.as_ptr(), &mut c), rcOk);
    }
    let t = thread::spawn(move || request(c, 20));
    assert_eq!(serve_one(s).value, 20);
    assert_eq!(t.join().unwrap(), (rcOk, Msg::new(41, "resp")));
    close(s);
    assert_eq!(request(c, 1).0, rcNotConnected);
    // SAFETY: valid C strings and out-pointers.
    unsafe {
        let mut gone = 0;
        assert_eq!(kos_host_connect(name.as_ptr(), &mut gone), rcNotConnected);
        assert_eq!(kos_host_server_register(name.as_ptr(), &mut s2), rcOk);
    }
    close(s2);
    close(c);
}

#[test]
fn many_threads_close_while_calls_are_in_flight_without_hanging() {
    // Clients keep calling with short timeouts while the server closes:
    // every call ends with one of the documented codes, none hangs.
    let (c, s) = channel();
    let start = Arc::new(Barrier::new(4));
    let clients: Vec<_> = (0..3)
        .map(|i| {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                loop {
                    let req = Msg::new(i, "");
                    let out = pack_out(&req, None);
                    let mut resp = Msg::buffer();
                    let mut inp = pack_in(&mut resp, None);
                    match call_ex(c, &out, &mut inp, 5, INVALID_HANDLE) {
                        rc if rc == rcOk || rc == rcTimeout => {}
                        rc if rc == rcNotConnected => return,
                        rc => panic!("CallEx: {rc:#x}"),
                    }
                }
            })
        })
        .collect();
    start.wait();
    for _ in 0..200 {
        let mut buf = Msg::buffer();
        let mut rin = pack_in(&mut buf, None);
        if recv_ex(s, &mut rin, 5, INVALID_HANDLE) == rcOk {
            let r = reply(s, &pack_out(&Msg::new(0, ""), None));
            assert!(r == rcOk || r == rcNotConnected, "Reply: {r:#x}");
        }
    }
    close(s);
    for t in clients {
        t.join().unwrap();
    }
    close(c);
}
