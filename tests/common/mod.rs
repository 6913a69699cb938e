//! A small request/response message and an unbound header, shared by
//! tests/alloc_free.rs, benches/host_roundtrip.rs and the test helper
//! modules tests/host_util and tests/interpose_util (each includes this file
//! with `#[path]`). A directory module, so cargo does not build it as a test.
#![allow(dead_code)]

use std::mem::size_of;

use kos_ipc_shim::abi::{nk_message, SMsgHdr};

/// A constant part: the NK header and one value, nothing in an arena.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct Msg {
    pub hdr: nk_message,
    pub value: u64,
}

/// A [`Msg`] of interface 1, method `mid`, with its own size in the header.
pub fn msg(kind: u16, mid: u16, value: u64) -> Msg {
    Msg {
        hdr: nk_message {
            iid: 1,
            mid,
            size: size_of::<Msg>() as u32,
            kind,
            ..Default::default()
        },
        value,
    }
}

/// A header bound to nothing (all NULL and 0), for PackOutMsg/PackInMsg.
pub fn unbound() -> SMsgHdr {
    SMsgHdr {
        msg: std::ptr::null_mut(),
        msg_size: 0,
        arena: std::ptr::null_mut(),
        magic: 0,
        dir: 0,
    }
}
