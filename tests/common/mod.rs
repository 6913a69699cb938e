//! A small request/response message shared by tests/alloc_free.rs,
//! benches/host_roundtrip.rs and the test helper modules tests/host_util and
//! tests/interpose_util (each includes this file with `#[path]`). A
//! directory module, so cargo does not build it as a test.
#![allow(dead_code)]

use std::mem::size_of;

use kos_ipc_shim::abi::nk_message;

/// A constant part: the NK header and one value, nothing in an arena.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct Msg {
    pub hdr: nk_message,
    pub value: u64,
}

/// Size of a [`Msg`]: what its `ex.size_ex` says.
pub const MSG_SIZE: u32 = size_of::<Msg>() as u32;

/// A [`Msg`] to interface 1, method `mid`, with its own size in `ex.size_ex`.
pub fn msg(mid: u16, value: u64) -> Msg {
    Msg {
        hdr: nk_message::new(1, mid, MSG_SIZE),
        value,
    }
}

/// A receive buffer for one [`Msg`]: zeroed ids, `ex.size_ex` the capacity
/// (what PackInMsg reads, as after the SDK's `nk_req_reset`).
pub fn buffer() -> Msg {
    Msg {
        hdr: nk_message::new(0, 0, MSG_SIZE),
        value: 0,
    }
}
