//! Fuzz the message validation of `crate::msg`: headers with arbitrary
//! fields, sizes and arena pointers (kept inside buffers the target owns, as
//! the C contract requires) are either rejected with rcInvalidArgument or
//! give views whose sizes are within those buffers.
#![no_main]

use kos_ipc_shim::abi::{
    nk_arena, nk_message, rcBufferTooSmall, rcInvalidArgument, SMsgHdr, NK_MSG_MAX_SIZE,
    SMSGHDR_DIR_IN, SMSGHDR_DIR_OUT, SMSGHDR_MAGIC,
};
use kos_ipc_shim::msg::{MsgIn, MsgOut};
use libfuzzer_sys::fuzz_target;

const ARENA: usize = 256;

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let (ctl, payload) = data.split_at(16);
    // The constant-part buffer is as large as any size validation accepts.
    let mut msg_buf = vec![0u64; NK_MSG_MAX_SIZE as usize / 8 + 1];
    let msg_bytes = msg_buf.len() * 8;
    // SAFETY: u64 storage viewed as bytes, same length.
    let bytes =
        unsafe { std::slice::from_raw_parts_mut(msg_buf.as_mut_ptr() as *mut u8, msg_bytes) };
    let n = payload.len().min(bytes.len());
    bytes[..n].copy_from_slice(&payload[..n]);
    let mut arena_buf = vec![0u8; ARENA];
    let base = arena_buf.as_mut_ptr();
    let off = |v: u8| (v as usize) % (ARENA + 1);
    // Arena pointers inside [base, base+ARENA] in any order, or NULL.
    let ptr = |v: u8| {
        if v == 0xFF {
            std::ptr::null_mut()
        } else {
            base.wrapping_add(off(v))
        }
    };
    let mut arena = nk_arena {
        start: ptr(ctl[0]),
        current: ptr(ctl[1]),
        end: ptr(ctl[2]),
    };
    let msg_ptr =
        (msg_buf.as_mut_ptr() as *mut u8).wrapping_add((ctl[4] % 9) as usize) as *mut nk_message;
    let size = u32::from_le_bytes([ctl[5], ctl[6], ctl[7], 0]) as usize;
    let mut hdr = SMsgHdr {
        msg: if ctl[8] == 0 {
            std::ptr::null_mut()
        } else {
            msg_ptr
        },
        msg_size: size.min(msg_bytes - 8),
        arena: if ctl[9] & 1 == 0 {
            std::ptr::null_mut()
        } else {
            &mut arena
        },
        magic: if ctl[10] == 0 { 0 } else { SMSGHDR_MAGIC },
        dir: if ctl[11] & 1 == 0 {
            SMSGHDR_DIR_OUT
        } else {
            SMSGHDR_DIR_IN
        },
    };
    // SAFETY: every pointer in hdr is NULL or inside buffers of the stated sizes.
    match unsafe { MsgOut::from_raw(&hdr) } {
        Ok(m) => {
            let info = m.info();
            assert_eq!(m.constant().len(), info.const_size as usize);
            assert_eq!(m.arena().len(), info.arena_size as usize);
            assert!(info.arena_size as usize <= ARENA);
        }
        Err(rc) => assert_eq!(rc, rcInvalidArgument),
    }
    let write_len = (ctl[12] as usize) * 4;
    let arena_len = ctl[13] as usize;
    // SAFETY: as above; the buffers are writable.
    match unsafe { MsgIn::from_raw(&mut hdr) } {
        Ok(mut m) => {
            let src = vec![0xA5u8; write_len.max(24)];
            let asrc = vec![0x5Au8; arena_len];
            match m.write(&src, &asrc) {
                Ok(r) => {
                    assert!(r.const_size <= m.const_capacity());
                    assert!(r.arena_size <= m.arena_capacity());
                    let _ = m.info();
                }
                Err(rc) => assert_eq!(rc, rcBufferTooSmall),
            }
        }
        Err(rc) => assert_eq!(rc, rcInvalidArgument),
    }
});
