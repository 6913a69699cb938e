//! Helpers shared by the host emulator tests: message buffers, packing, and
//! thin safe wrappers over the exported C functions.
#![allow(dead_code)]

use std::mem::size_of;

use kos_ipc_shim::abi::*;
use kos_ipc_shim::entry::{Call, CallEx, Recv, RecvEx, Reply};
use kos_ipc_shim::host::arena::kos_nk_arena_store;
use kos_ipc_shim::host::exports::*;
use kos_ipc_shim::host::pack::{PackInMsg, PackOutMsg};

/// A constant part: the NK header, a value and a small text field.
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msg {
    pub hdr: nk_message,
    pub value: u64,
    pub text: [u8; 16],
}

pub const MSG_SIZE: usize = size_of::<Msg>();

impl Msg {
    /// A message to interface 7, method 3, of `MSG_SIZE` bytes (its
    /// `ex.size_ex`), no handles, not an error.
    pub fn new(value: u64, text: &str) -> Msg {
        let mut t = [0u8; 16];
        t[..text.len()].copy_from_slice(text.as_bytes());
        Msg {
            hdr: nk_message::new(7, 3, MSG_SIZE as u32),
            value,
            text: t,
        }
    }

    /// The same message as an error response (`ex.err` set).
    pub fn error(value: u64, text: &str) -> Msg {
        let mut m = Msg::new(value, text);
        m.hdr.set_err(true);
        m
    }

    /// A receive buffer: zeroed but for `ex.size_ex` (the capacity).
    pub fn buffer() -> Msg {
        let mut m = Msg::new(0, "");
        m.hdr.iid = 0;
        m.hdr.mid = 0;
        m
    }
}

/// A constant-part buffer followed by guard bytes, to prove nothing is
/// written past the capacity the header states.
#[repr(C, align(8))]
pub struct Guarded {
    pub msg: nk_message,
    pub guard: [u8; 64],
}

pub const GUARD: u8 = 0xA5;

impl Guarded {
    /// Capacity exactly `sizeof(nk_message)`; guard bytes set.
    pub fn new() -> Guarded {
        Guarded {
            msg: nk_message::new(0, 0, size_of::<nk_message>() as u32),
            guard: [GUARD; 64],
        }
    }

    pub fn guard_intact(&self) -> bool {
        self.guard.iter().all(|&b| b == GUARD)
    }
}

/// An arena over a byte array whose tail past `cap` is guard bytes. The
/// bytes come first and are 8-aligned, so a block aligned in offset (what
/// `kos_nk_arena_store` aligns) is aligned in memory too.
#[repr(C, align(8))]
pub struct ArenaBuf {
    pub bytes: [u8; 256],
    pub arena: nk_arena,
}

impl ArenaBuf {
    pub fn new() -> Box<ArenaBuf> {
        Box::new(ArenaBuf {
            bytes: [GUARD; 256],
            arena: nk_arena {
                start: std::ptr::null_mut(),
                current: std::ptr::null_mut(),
                end: std::ptr::null_mut(),
            },
        })
    }

    /// Make the arena an empty one over the first `cap` bytes, as the C
    /// inline `nk_arena_init(a, buf, buf + cap)` does.
    pub fn init(&mut self, cap: usize) {
        assert!(cap <= self.bytes.len());
        let start = self.bytes.as_mut_ptr();
        self.arena = nk_arena {
            start,
            current: start,
            // in bounds: cap <= bytes.len()
            end: start.wrapping_add(cap),
        };
    }

    /// Empty the arena, as the C inline `nk_arena_reset` does.
    pub fn reset(&mut self) {
        self.arena.current = self.arena.start;
    }

    /// Store `data` (`nk_arena_store(nk_char_t, ...)`: alignment 1),
    /// returning its reference.
    pub fn store(&mut self, data: &[u8]) -> nk_ptr_t {
        let mut p = nk_ptr_t::default();
        // SAFETY: valid arena, pointer and data; the box outlives the call.
        let rc = unsafe {
            kos_nk_arena_store(&mut self.arena, &mut p, data.as_ptr().cast(), data.len(), 1)
        };
        assert_eq!(rc, NK_EOK);
        p
    }

    /// Bytes in use `[start, current)`.
    pub fn used(&self) -> &[u8] {
        if self.arena.start.is_null() {
            return &[];
        }
        let n = self.arena.current as usize - self.arena.start as usize;
        &self.bytes[..n]
    }

    pub fn tail_intact(&self, cap: usize) -> bool {
        self.bytes[cap..].iter().all(|&b| b == GUARD)
    }
}

/// Pack an outgoing header (asserts success).
pub fn pack_out(msg: &Msg, arena: Option<&nk_arena>) -> SMsgHdr {
    let mut h = SMsgHdr::ZERO;
    let a = arena.map_or(std::ptr::null(), |a| a as *const nk_arena);
    // SAFETY: valid pointers; the caller keeps them alive while h is used.
    assert_eq!(unsafe { PackOutMsg(&mut h, &msg.hdr, a) }, rcOk);
    h
}

/// Pack a receive header over `buf` with capacity `MSG_SIZE` (asserts success).
pub fn pack_in(buf: &mut Msg, arena: Option<&mut nk_arena>) -> SMsgHdr {
    buf.hdr.set_size_ex(MSG_SIZE as u32);
    pack_in_raw(&mut buf.hdr, arena)
}

/// Pack a receive header over `msg`, whose `ex.size_ex` is already its capacity.
pub fn pack_in_raw(msg: &mut nk_message, arena: Option<&mut nk_arena>) -> SMsgHdr {
    let mut h = SMsgHdr::ZERO;
    let a = arena.map_or(std::ptr::null_mut(), |a| a as *mut nk_arena);
    // SAFETY: valid pointers; the caller keeps them alive while h is used.
    assert_eq!(unsafe { PackInMsg(&mut h, msg, a) }, rcOk);
    h
}

/// A header filled by hand, as an SDK program may do without PackXMsg:
/// descriptor 0 = `(msg, msg_size)`, descriptor 1 = `(arena, arena_size)`,
/// every other field 0.
pub fn hand_header(
    msg: *mut nk_message,
    msg_size: u32,
    arena: *mut u8,
    arena_size: u32,
) -> SMsgHdr {
    let mut h = SMsgHdr::ZERO;
    h.set_descs([
        IndirDesc {
            buf: msg.cast(),
            size: msg_size,
        },
        IndirDesc {
            buf: arena.cast(),
            size: arena_size,
        },
    ]);
    h
}

pub fn channel() -> (Handle, Handle) {
    let (mut c, mut s) = (0, 0);
    // SAFETY: valid out-pointers.
    assert_eq!(unsafe { kos_host_channel_create(&mut c, &mut s) }, rcOk);
    (c, s)
}

pub fn sync_object() -> Handle {
    let mut h = 0;
    // SAFETY: valid out-pointer.
    assert_eq!(unsafe { KnIpcCreateSyncObject(&mut h) }, rcOk);
    h
}

pub fn close(h: Handle) {
    assert_eq!(KnHandleClose(h), rcOk);
}

/// (queued requests, waiting receivers) of a channel.
pub fn info(h: Handle) -> (usize, usize) {
    let (mut q, mut w) = (0, 0);
    // SAFETY: valid out-pointers.
    assert_eq!(unsafe { kos_host_channel_info(h, &mut q, &mut w) }, rcOk);
    (q, w)
}

/// Wait (yielding) until the channel shows `queued` requests and `waiting` receivers.
pub fn wait_for(h: Handle, queued: usize, waiting: usize) {
    while info(h) != (queued, waiting) {
        std::thread::yield_now();
    }
}

pub fn call(h: Handle, out: &SMsgHdr, inp: &mut SMsgHdr) -> Retcode {
    // SAFETY: headers pointing at live buffers.
    unsafe { Call(h, out, inp) }
}

pub fn call_ex(h: Handle, out: &SMsgHdr, inp: &mut SMsgHdr, mdelay: u32, sync: Handle) -> Retcode {
    // SAFETY: headers pointing at live buffers.
    unsafe { CallEx(h, out, inp, mdelay, sync) }
}

pub fn recv(h: Handle, inp: &mut SMsgHdr) -> Retcode {
    // SAFETY: a header pointing at live buffers.
    unsafe { Recv(h, inp) }
}

pub fn recv_ex(h: Handle, inp: &mut SMsgHdr, mdelay: u32, sync: Handle) -> Retcode {
    // SAFETY: a header pointing at live buffers.
    unsafe { RecvEx(h, inp, mdelay, sync) }
}

pub fn reply(h: Handle, out: &SMsgHdr) -> Retcode {
    // SAFETY: a header pointing at live buffers.
    unsafe { Reply(h, out) }
}

/// Client: send `value` and return (rc, response).
pub fn request(h: Handle, value: u64) -> (Retcode, Msg) {
    let req = Msg::new(value, "req");
    let out = pack_out(&req, None);
    let mut resp = Msg::buffer();
    let mut inp = pack_in(&mut resp, None);
    let rc = call(h, &out, &mut inp);
    (rc, resp)
}

/// Server: receive one request, answer `value * 2 + 1`; returns the request.
pub fn serve_one(s: Handle) -> Msg {
    let mut req = Msg::buffer();
    let mut inp = pack_in(&mut req, None);
    assert_eq!(recv(s, &mut inp), rcOk);
    let resp = Msg::new(req.value * 2 + 1, "resp");
    let out = pack_out(&resp, None);
    assert_eq!(reply(s, &out), rcOk);
    req
}
