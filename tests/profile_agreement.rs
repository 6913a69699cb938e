//! The ABI profile bridge (src/profile/kos_profile.c), compiled by build.rs
//! against the host compatibility headers (include/kos), agrees with the
//! Rust host profile (src/msg.rs) on every header: valid or not, ids, sizes,
//! capacities and return codes; and the constants build.rs reads from the
//! compiled bridge equal the Rust host profile's.
#![cfg(feature = "host")]
#![allow(non_upper_case_globals)]

use std::mem::{align_of, size_of};

use kos_ipc_shim::abi::*;
use kos_ipc_shim::msg::{MsgIn, MsgInfo, MsgOut};

/// The constants build.rs read from the bridge's compiled constant table.
mod from_bridge {
    use kos_ipc_shim::abi::{rtl_uint32_t, Handle, Retcode};
    include!(concat!(env!("OUT_DIR"), "/profile_consts_host.rs"));
}

#[repr(C)]
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Info {
    iid: u16,
    mid: u16,
    kind: u16,
    ncaps: u16,
    const_size: u32,
    arena_size: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy)]
struct Buffers {
    msg: *mut u8,
    msg_size: usize,
    arena: *mut u8,
    arena_used: usize,
    arena_cap: usize,
}

extern "C" {
    fn kos_shim_profile_out(h: *const SMsgHdr, info: *mut Info) -> Retcode;
    fn kos_shim_profile_in(h: *const SMsgHdr) -> Retcode;
    fn kos_shim_profile_in_info(h: *const SMsgHdr, info: *mut Info);
    fn kos_shim_profile_buffers(h: *const SMsgHdr, b: *mut Buffers);
    fn kos_shim_profile_info_size() -> usize;
}

fn to_info(i: MsgInfo) -> Info {
    Info {
        iid: i.iid,
        mid: i.mid,
        kind: i.kind,
        ncaps: i.ncaps,
        const_size: i.const_size,
        arena_size: i.arena_size,
    }
}

#[test]
fn constants_read_from_the_bridge_equal_the_host_profile() {
    let pairs = [
        (from_bridge::rcOk, rcOk),
        (from_bridge::rcFail, rcFail),
        (from_bridge::rcInvalidArgument, rcInvalidArgument),
        (from_bridge::rcNotConnected, rcNotConnected),
        (from_bridge::rcOutOfMemory, rcOutOfMemory),
        (from_bridge::rcBufferTooSmall, rcBufferTooSmall),
        (from_bridge::rcTimeout, rcTimeout),
        (from_bridge::rcIpcInterrupt, rcIpcInterrupt),
        (from_bridge::rcSecurityDisallow, rcSecurityDisallow),
        (from_bridge::rcUnimplemented, rcUnimplemented),
        (from_bridge::rcBusy, rcBusy),
        (from_bridge::rcHandleRevoked, rcHandleRevoked),
        (from_bridge::rcNoCapability, rcNoCapability),
    ];
    for (i, (bridge, rust)) in pairs.iter().enumerate() {
        assert_eq!(bridge, rust, "rc constant #{i}");
    }
    assert_eq!(from_bridge::INVALID_HANDLE, INVALID_HANDLE);
    assert_eq!(from_bridge::INFINITE_TIMEOUT, INFINITE_TIMEOUT);
    // SAFETY: no arguments.
    assert_eq!(unsafe { kos_shim_profile_info_size() }, size_of::<Info>());
}

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

#[repr(C, align(8))]
struct MsgBuf([u8; 128]);

/// A fake address for arena bounds: never dereferenced by the checks.
const ARENA_BASE: usize = 0x7000_0000;

fn arena_for(rng: &mut Rng) -> nk_arena {
    let ptr = |v: usize| v as *mut u8;
    match rng.below(10) {
        0 => nk_arena {
            start: ptr(0),
            current: ptr(0),
            end: ptr(0),
        },
        1 => {
            // Malformed: NULL start with non-NULL others, or current/end out of order.
            let a = rng.below(4096) as usize;
            let b = rng.below(4096) as usize;
            nk_arena {
                start: ptr(if rng.chance(50) {
                    0
                } else {
                    ARENA_BASE + a.max(b) + 1
                }),
                current: ptr(ARENA_BASE + a.min(b)),
                end: ptr(ARENA_BASE + a.max(b)),
            }
        }
        2 => {
            // Near and over the size limit.
            let cap = NK_ARENA_MAX_SIZE - 2 + rng.below(5) as usize;
            nk_arena {
                start: ptr(ARENA_BASE),
                current: ptr(ARENA_BASE + rng.below(cap as u64 + 1) as usize),
                end: ptr(ARENA_BASE + cap),
            }
        }
        _ => {
            let cap = rng.below(8192) as usize;
            let used = rng.below(cap as u64 + 1) as usize;
            nk_arena {
                start: ptr(ARENA_BASE),
                current: ptr(ARENA_BASE + used),
                end: ptr(ARENA_BASE + cap),
            }
        }
    }
}

#[test]
fn bridge_and_rust_host_profile_agree_on_generated_headers() {
    const CASES: usize = 20_000;
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut out_ok, mut out_bad, mut in_ok, mut in_bad) = (0, 0, 0, 0);
    for case in 0..CASES {
        let mut buf = MsgBuf([0; 128]);
        let size_field = match rng.below(6) {
            0 => rng.below(24) as u32,
            1 => rng.below(u32::MAX as u64) as u32,
            2 => NK_MSG_MAX_SIZE + rng.below(3) as u32 - 1,
            _ => 24 + rng.below(104) as u32,
        };
        let m = nk_message {
            iid: rng.next() as u16,
            mid: rng.next() as u16,
            size: size_field,
            kind: rng.below(5) as u16,
            ncaps: rng.below(8) as u16,
            flags: 0,
            reserved: 0,
        };
        // SAFETY: buf is 8-aligned and larger than an nk_message.
        unsafe { (buf.0.as_mut_ptr() as *mut nk_message).write(m) };
        let msg: *mut nk_message = match rng.below(20) {
            0 => std::ptr::null_mut(),
            1 => buf.0.as_mut_ptr().wrapping_add(4).cast(),
            _ => buf.0.as_mut_ptr().cast(),
        };
        let msg_size = match rng.below(4) {
            0 => rng.below(NK_MSG_MAX_SIZE as u64 + 64) as usize,
            _ => size_field as usize,
        };
        let mut arena_store = [arena_for(&mut rng), arena_for(&mut rng)];
        let arena: *mut nk_arena = match rng.below(10) {
            0..=2 => std::ptr::null_mut(),
            3 => (arena_store.as_mut_ptr() as *mut u8).wrapping_add(4).cast(),
            _ => &mut arena_store[0],
        };
        let dir = match rng.below(10) {
            0 => rng.next() as u32,
            1..=4 => SMSGHDR_DIR_IN,
            _ => SMSGHDR_DIR_OUT,
        };
        let magic = if rng.chance(5) {
            rng.next() as u32
        } else {
            SMSGHDR_MAGIC
        };
        // Two copies, so that a misaligned pointer into the first stays inside.
        let h = || SMsgHdr {
            msg,
            msg_size,
            arena,
            magic,
            dir,
        };
        let mut hdr_store = [h(), h()];
        let hdr: *mut SMsgHdr = match rng.below(40) {
            0 => std::ptr::null_mut(),
            1 => (hdr_store.as_mut_ptr() as *mut u8).wrapping_add(4).cast(),
            _ => &mut hdr_store[0],
        };
        assert_eq!(align_of::<SMsgHdr>(), 8);

        // Outgoing view.
        // SAFETY: hdr is NULL, misaligned (rejected before any read), or a live
        // header whose msg is NULL, misaligned or a 128-byte buffer (only the
        // 24-byte nk_message is read) and whose arena struct is live.
        let rust = unsafe { MsgOut::from_raw(hdr) }.map(|m| to_info(m.info()));
        let mut info = Info::default();
        // SAFETY: as above; info is a valid out-pointer.
        let rc = unsafe { kos_shim_profile_out(hdr, &mut info) };
        let bridge = if rc == rcOk { Ok(info) } else { Err(rc) };
        assert_eq!(rust, bridge, "case {case}: outgoing view");
        if rust.is_ok() {
            out_ok += 1;
        } else {
            out_bad += 1;
        }

        // Receive view.
        // SAFETY: as above.
        let rust_in = unsafe { MsgIn::from_raw(hdr) };
        // SAFETY: as above.
        let rc = unsafe { kos_shim_profile_in(hdr) };
        match rust_in {
            Err(e) => {
                assert_eq!(e, rc, "case {case}: receive check");
                in_bad += 1;
            }
            Ok(view) => {
                assert_eq!(rc, rcOk, "case {case}: receive check");
                let mut b = Buffers {
                    msg: std::ptr::null_mut(),
                    msg_size: 0,
                    arena: std::ptr::null_mut(),
                    arena_used: 0,
                    arena_cap: 0,
                };
                let mut info = Info::default();
                // SAFETY: a validated header; out-pointers valid.
                unsafe {
                    kos_shim_profile_buffers(hdr, &mut b);
                    kos_shim_profile_in_info(hdr, &mut info);
                }
                assert_eq!(view.const_capacity(), b.msg_size, "case {case}: capacity");
                assert_eq!(
                    view.arena_capacity(),
                    b.arena_cap,
                    "case {case}: arena capacity"
                );
                assert_eq!(
                    b.msg,
                    msg.cast::<u8>(),
                    "case {case}: constant part address"
                );
                assert_eq!(to_info(view.info()), info, "case {case}: received info");
                in_ok += 1;
            }
        }
    }
    // The generator covers both sides of every check.
    assert_eq!(out_ok + out_bad, CASES);
    assert_eq!(in_ok + in_bad, CASES);
    assert!(
        out_ok > CASES / 10 && out_bad > CASES / 10,
        "out {out_ok}/{out_bad}"
    );
    assert!(
        in_ok > CASES / 20 && in_bad > CASES / 10,
        "in {in_ok}/{in_bad}"
    );
    println!("profile agreement: {CASES} headers; outgoing {out_ok} valid / {out_bad} invalid, receive {in_ok} valid / {in_bad} invalid");
}
