//! Fuzz the header validation of `crate::msg` against a model of its rules.
//!
//! The first `CTL` input bytes build a KCE `SMsgHdr` (immSize, the two
//! indirect descriptors, the context fields, where the header sits), the rest
//! fills the constant part. Descriptors always point into buffers the target
//! owns, or claim sizes the checks must refuse (the C contract: a caller's
//! buffers are valid for the sizes it states). Then:
//!
//! - `MsgOut::from_raw` accepts exactly the headers the documented rules
//!   accept (immSize 0; descriptor 0 non-NULL, `sizeof(nk_message)` to
//!   `KOS_SHIM_MSG_MAX_SIZE` bytes, equal to `ex.size_ex`; descriptor 1 at most
//!   `KOS_SHIM_ARENA_MAX_SIZE` bytes and with a buffer if not empty), and its view
//!   reports the message's fields and exactly the descriptors' buffers;
//! - `MsgIn::from_raw` accepts the same headers but for the `size_ex` rule,
//!   with the descriptors' sizes as capacities, and `write` copies a message
//!   in only when both parts fit, storing the sizes that arrived in the
//!   descriptors (`rcBufferTooSmall` and the header unchanged otherwise);
//! - a NULL or misaligned header is refused with `rcInvalidArgument`.
#![no_main]

use std::mem::size_of;

use kos_ipc_shim::abi::{nk_message, rcBufferTooSmall, rcInvalidArgument, IndirDesc, SMsgHdr};
use kos_ipc_shim::msg::{
    HdrContext, MsgIn, MsgOut, Received, KOS_SHIM_ARENA_MAX_SIZE, KOS_SHIM_MSG_MAX_SIZE,
};
use libfuzzer_sys::fuzz_target;

/// Control bytes at the start of each input.
const CTL: usize = 20;
/// Size of the arena buffer descriptor 1 may point into.
const ARENA: usize = 256;
const MIN: usize = size_of::<nk_message>();
const MAX: usize = KOS_SHIM_MSG_MAX_SIZE as usize;

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

/// Descriptor 0's size: raw, inside the accepted range, at a boundary, or
/// near u32::MAX.
fn const_size(ctl: &[u8]) -> u32 {
    let raw = u32::from_le_bytes([ctl[3], ctl[4], ctl[5], 0]);
    match ctl[6] % 4 {
        0 => raw,
        1 => (MIN + raw as usize % (MAX - MIN + 1)) as u32,
        2 => [0, MIN - 1, MIN, MAX, MAX + 1][raw as usize % 5] as u32,
        _ => u32::MAX - (raw & 0xFF),
    }
}

/// Whether the checks common to both directions pass.
fn descriptors_valid(h: &SMsgHdr) -> bool {
    let [d0, d1] = h.descs();
    h.immSize == 0
        && !d0.buf.is_null()
        && (MIN..=MAX).contains(&(d0.size as usize))
        && d1.size as usize <= KOS_SHIM_ARENA_MAX_SIZE
        && !(d1.buf.is_null() && d1.size != 0)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < CTL {
        return;
    }
    let (ctl, payload) = data.split_at(CTL);
    // The constant part's buffer holds KOS_SHIM_MSG_MAX_SIZE bytes after any of
    // the offsets 0..=8 descriptor 0 may start at.
    let mut msg_buf = vec![0u64; MAX / 8 + 2];
    let msg_base = msg_buf.as_mut_ptr().cast::<u8>();
    let mut arena_buf = vec![0u8; ARENA];
    let arena_base = arena_buf.as_mut_ptr();

    let msg = if ctl[2] == 0 {
        std::ptr::null_mut()
    } else {
        msg_base.wrapping_add(ctl[2] as usize % 9)
    };
    let size0 = const_size(ctl);
    if !msg.is_null() {
        let n = payload.len().min(MAX);
        // SAFETY: msg has MAX writable bytes; payload has n readable ones.
        unsafe { std::ptr::copy_nonoverlapping(payload.as_ptr(), msg, n) };
        if ctl[7] & 1 == 1 {
            // SAFETY: msg has room for an nk_message; unaligned on purpose.
            unsafe {
                let p = msg.cast::<nk_message>();
                let mut m = p.read_unaligned();
                m.set_size_ex(size0);
                p.write_unaligned(m);
            }
        }
    }
    let (arena, arena_room) = if ctl[8] == 0xFF {
        (std::ptr::null_mut(), 0)
    } else {
        let off = ctl[8] as usize % (ARENA + 1);
        (arena_base.wrapping_add(off), ARENA - off)
    };
    // Descriptor 1's size: 0, within the buffer, or beyond KOS_SHIM_ARENA_MAX_SIZE;
    // never a size the checks accept but the buffer does not have.
    let size1 = match ctl[9] % 4 {
        0 => 0,
        1 if arena.is_null() => u32::from(ctl[10]),
        1 => (ctl[10] as usize % (arena_room + 1)) as u32,
        2 => (KOS_SHIM_ARENA_MAX_SIZE + 1) as u32 + u32::from(u16_at(ctl, 10)),
        _ => u32::MAX - u32::from(ctl[10]),
    };
    let ctx = HdrContext {
        sender: u32::from(u16_at(ctl, 12)),
        thread: u32::from(u16_at(ctl, 14)),
        trace_id: (u64::from(ctl[12]) << 40) | 7,
        span_id: (u64::from(ctl[13]) << 20) | 9,
    };
    let mut hdr = SMsgHdr::ZERO;
    hdr.replyHandle = u32::from(ctl[11]);
    hdr.sender = ctx.sender;
    hdr.threadId = ctx.thread;
    hdr.traceId = ctx.trace_id;
    hdr.spanId = ctx.span_id;
    hdr.set_descs([
        IndirDesc {
            buf: msg.cast(),
            size: size0,
        },
        IndirDesc {
            buf: arena.cast(),
            size: size1,
        },
    ]);
    hdr.immSize = if ctl[1] & 1 == 1 {
        u32::from(ctl[1])
    } else {
        0
    };

    let valid = descriptors_valid(&hdr);
    // SAFETY: msg is non-NULL whenever the message is read (valid).
    let m = valid.then(|| unsafe { msg.cast::<nk_message>().read_unaligned() });
    let out_valid = m.is_some_and(|m| m.size_ex() == size0);

    // NULL and misaligned headers.
    if ctl[0] & 1 == 1 {
        // SAFETY: NULL is refused without a read.
        unsafe {
            assert_eq!(
                MsgOut::from_raw(std::ptr::null()).err(),
                Some(rcInvalidArgument)
            );
            assert_eq!(
                MsgIn::from_raw(std::ptr::null_mut()).err(),
                Some(rcInvalidArgument)
            );
        }
        let mut words = [0u64; size_of::<SMsgHdr>() / 8 + 1];
        let p = words
            .as_mut_ptr()
            .cast::<u8>()
            .wrapping_add(4)
            .cast::<SMsgHdr>();
        // SAFETY: words has room for a header 4 bytes in; refused unread.
        unsafe {
            p.write_unaligned(hdr);
            assert_eq!(MsgOut::from_raw(p).err(), Some(rcInvalidArgument));
            assert_eq!(MsgIn::from_raw(p).err(), Some(rcInvalidArgument));
        }
    }

    // The header to send.
    // SAFETY: every descriptor the checks can accept lies inside our buffers.
    match unsafe { MsgOut::from_raw(&hdr) } {
        Ok(v) => {
            assert!(out_valid, "accepted: {hdr:?}");
            let m = m.unwrap();
            let i = v.info();
            assert_eq!(
                (i.iid, i.mid, i.err, i.ncaps, i.const_size, i.arena_size),
                (m.iid, m.mid, m.err(), m.ncaps(), size0, size1)
            );
            assert_eq!(v.constant().as_ptr(), msg.cast_const());
            assert_eq!(v.constant().len(), size0 as usize);
            assert_eq!(v.arena().len(), size1 as usize);
            if size1 != 0 {
                assert_eq!(v.arena().as_ptr(), arena.cast_const());
            }
            assert_eq!(v.context(), ctx);
        }
        Err(rc) => {
            assert_eq!(rc, rcInvalidArgument);
            assert!(!out_valid, "refused: {hdr:?}");
        }
    }

    // The same header as a receive buffer.
    let const_len = match ctl[17] % 3 {
        0 => MIN + ctl[16] as usize * 4,
        1 => size0 as usize,
        _ => size0 as usize + 1,
    };
    let arena_len = match ctl[18] % 3 {
        0 => ctl[19] as usize,
        1 => size1 as usize,
        _ => size1 as usize + 1,
    }
    .min(ARENA + 1);
    // SAFETY: as above; the buffers are writable.
    match unsafe { MsgIn::from_raw(&mut hdr) } {
        Ok(mut v) => {
            assert!(valid, "accepted: {hdr:?}");
            assert_eq!(
                (v.const_capacity(), v.arena_capacity()),
                (size0 as usize, size1 as usize)
            );
            assert_eq!(v.context(), ctx);
            let fits = const_len <= size0 as usize && arena_len <= size1 as usize;
            let src = vec![0xA5u8; const_len.min(MAX + 1)];
            let asrc = vec![0x5Au8; arena_len];
            match v.write(&src, &asrc) {
                Ok(r) => {
                    assert!(fits);
                    assert_eq!(
                        r,
                        Received {
                            const_size: src.len(),
                            arena_size: asrc.len()
                        }
                    );
                    let i = v.info();
                    assert!(i.const_size as usize <= src.len());
                    let d = hdr.descs();
                    assert_eq!(
                        (d[0].buf, d[0].size as usize, d[1].buf, d[1].size as usize),
                        (msg.cast(), src.len(), arena.cast(), asrc.len()),
                        "a receive stores the sizes that arrived"
                    );
                    // SAFETY: the bytes were just written inside our buffers.
                    unsafe {
                        assert_eq!(std::slice::from_raw_parts(msg, src.len()), &src[..]);
                        if !asrc.is_empty() {
                            assert_eq!(std::slice::from_raw_parts(arena, asrc.len()), &asrc[..]);
                        }
                    }
                }
                Err(rc) => {
                    assert_eq!(rc, rcBufferTooSmall);
                    assert!(!fits);
                    let d = hdr.descs();
                    assert_eq!((d[0].size, d[1].size), (size0, size1), "unchanged");
                }
            }
        }
        Err(rc) => {
            assert_eq!(rc, rcInvalidArgument);
            assert!(!valid, "refused: {hdr:?}");
        }
    }
});
