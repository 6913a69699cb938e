//! Helpers shared by the interposition tests: a counting Rust backend and
//! message headers packed with the emulator's PackOutMsg/PackInMsg.
#![allow(dead_code)]

use std::mem::size_of;
use std::sync::atomic::{AtomicU64, Ordering};

use kos_ipc_shim::abi::*;
use kos_ipc_shim::backend::{Args, Backend};
use kos_ipc_shim::host::pack::{PackInMsg, PackOutMsg};
use kos_ipc_shim::Op;

/// Interface id every test message carries.
pub const IID: u16 = 0x51;
/// Method ids are kept below this (counter table width).
pub const MIDS: usize = 16;

/// A constant part: the NK header and one value.
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy)]
pub struct Msg {
    pub hdr: nk_message,
    pub value: u64,
}

impl Msg {
    pub fn request(mid: u16, value: u64) -> Msg {
        Msg {
            hdr: nk_message::new(IID, mid, size_of::<Msg>() as u32),
            value,
        }
    }

    /// A receive buffer (ids 0, `ex.size_ex` = capacity).
    pub fn buffer() -> Msg {
        Msg {
            hdr: nk_message::new(0, 0, size_of::<Msg>() as u32),
            value: 0,
        }
    }
}

/// `msg` packed for sending.
pub fn out_hdr(msg: &Msg) -> SMsgHdr {
    let mut h = SMsgHdr::ZERO;
    // SAFETY: valid header and message; no arena.
    let rc = unsafe { PackOutMsg(&mut h, &msg.hdr, std::ptr::null()) };
    assert_eq!(rc, rcOk);
    h
}

/// `buf` packed for receiving.
pub fn in_hdr(buf: &mut Msg) -> SMsgHdr {
    let mut h = SMsgHdr::ZERO;
    // SAFETY: valid header and buffer; no arena.
    let rc = unsafe { PackInMsg(&mut h, &mut buf.hdr, std::ptr::null_mut()) };
    assert_eq!(rc, rcOk);
    h
}

/// A backend that counts what reaches it, per operation and method id.
/// Call/CallEx answer with the request itself but `value + 1`; Recv/RecvEx
/// deliver a request with method `recv_mid`; Reply is accepted.
pub struct Counting {
    counts: [[AtomicU64; MIDS]; 5],
    refused: [AtomicU64; 5],
    pub recv_mid: u16,
}

impl Counting {
    pub const fn new(recv_mid: u16) -> Counting {
        Counting {
            counts: [const { [const { AtomicU64::new(0) }; MIDS] }; 5],
            refused: [const { AtomicU64::new(0) }; 5],
            recv_mid,
        }
    }

    /// Calls of `op` with method `mid` that reached this backend.
    pub fn count(&self, op: Op, mid: u16) -> u64 {
        self.counts[op as usize][mid as usize].load(Ordering::SeqCst)
    }

    /// Calls of `op` the shim refused before forwarding (told via `refused`).
    pub fn refused(&self, op: Op) -> u64 {
        self.refused[op as usize].load(Ordering::SeqCst)
    }
}

fn bytes_of(m: &Msg) -> &[u8] {
    // SAFETY: Msg is plain old data without padding (24 + 8 bytes).
    unsafe { std::slice::from_raw_parts((m as *const Msg).cast::<u8>(), size_of::<Msg>()) }
}

impl Backend for Counting {
    fn forward(&self, op: Op, args: &mut Args<'_>) -> Retcode {
        let mid = match (op, &args.out) {
            (Op::Recv | Op::RecvEx, _) => self.recv_mid,
            (_, Some(out)) => out.info().mid,
            _ => 0,
        };
        self.counts[op as usize][mid as usize % MIDS].fetch_add(1, Ordering::SeqCst);
        match op {
            Op::Call | Op::CallEx => {
                let out = args.out.as_ref().expect("validated");
                // SAFETY: the constant part is a Msg (the tests send only Msg).
                let mut m = unsafe { (out.constant().as_ptr() as *const Msg).read_unaligned() };
                m.value += 1;
                let inp = args.inp.as_mut().expect("validated");
                match inp.write(bytes_of(&m), &[]) {
                    Ok(_) => rcOk,
                    Err(rc) => rc,
                }
            }
            Op::Recv | Op::RecvEx => {
                let m = Msg::request(self.recv_mid, 7);
                match args
                    .inp
                    .as_mut()
                    .expect("validated")
                    .write(bytes_of(&m), &[])
                {
                    Ok(_) => rcOk,
                    Err(rc) => rc,
                }
            }
            Op::Reply => rcOk,
        }
    }

    fn refused(&self, op: Op, _args: &mut Args<'_>, _rc: Retcode) {
        self.refused[op as usize].fetch_add(1, Ordering::SeqCst);
    }

    fn name(&self) -> &'static str {
        "counting"
    }
}
