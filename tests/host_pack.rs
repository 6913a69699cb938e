//! PackOutMsg / PackInMsg and the nk_arena helpers.

mod host_util;

use std::mem::size_of;
use std::ptr::{null, null_mut};

use host_util::*;
use kos_ipc_shim::abi::*;
use kos_ipc_shim::host::arena::*;
use kos_ipc_shim::host::pack::{PackInMsg, PackOutMsg};
use kos_ipc_shim::msg::{MsgIn, MsgOut};

#[test]
fn pack_out_binds_and_the_header_validates() {
    let m = Msg::new(NK_MSG_KIND_REQUEST, 1, "x");
    let h = pack_out(&m, None);
    assert_eq!(h.magic, SMSGHDR_MAGIC);
    assert_eq!(h.dir, SMSGHDR_DIR_OUT);
    assert_eq!(h.msg_size, MSG_SIZE);
    // SAFETY: h is bound to `m`, alive here.
    let v = unsafe { MsgOut::from_raw(&h) }.expect("a packed header validates");
    assert_eq!(v.info().const_size as usize, MSG_SIZE);
    assert_eq!((v.info().iid, v.info().mid), (7, 3));
}

#[test]
fn pack_in_takes_capacity_from_buf_size() {
    let mut buf = Msg::buffer();
    let mut arena = ArenaBuf::new();
    arena.init(100);
    let mut h = pack_in(&mut buf, Some(&mut arena.arena));
    assert_eq!(h.dir, SMSGHDR_DIR_IN);
    // SAFETY: h is bound to live buffers.
    let v = unsafe { MsgIn::from_raw(&mut h) }.expect("a packed header validates");
    assert_eq!(v.const_capacity(), MSG_SIZE);
    assert_eq!(v.arena_capacity(), 100);
}

#[test]
fn pack_rejects_what_the_calls_would_reject_and_leaves_the_header_unbound() {
    let mut h = pack_out(&Msg::new(1, 1, ""), None);
    // SAFETY (every call below): pointers are NULL on purpose or valid.
    unsafe {
        assert_eq!(
            PackOutMsg(null_mut(), &Msg::new(1, 1, "").hdr, null()),
            rcInvalidArgument
        );
        assert_eq!(PackOutMsg(&mut h, null(), null()), rcInvalidArgument);
        assert_eq!(h.magic, 0, "a failed pack leaves the header unbound");

        let mut m = Msg::new(1, 1, "");
        m.hdr.size = size_of::<nk_message>() as u32 - 1;
        assert_eq!(PackOutMsg(&mut h, &m.hdr, null()), rcInvalidArgument);
        m.hdr.size = NK_MSG_MAX_SIZE + 1;
        assert_eq!(PackOutMsg(&mut h, &m.hdr, null()), rcInvalidArgument);
        m.hdr.size = size_of::<nk_message>() as u32;
        assert_eq!(
            PackOutMsg(&mut h, &m.hdr, null()),
            rcOk,
            "the smallest message"
        );

        // Misaligned constant part.
        let mut raw = [0u64; 8];
        let p = (raw.as_mut_ptr() as *mut u8).add(4) as *mut nk_message;
        p.write_unaligned(nk_message {
            size: 24,
            ..Default::default()
        });
        assert_eq!(PackOutMsg(&mut h, p, null()), rcInvalidArgument);
        assert_eq!(PackInMsg(&mut h, p, null_mut()), rcInvalidArgument);

        // Inconsistent arenas.
        let mut bytes = [0u8; 16];
        let s = bytes.as_mut_ptr();
        let bad = [
            nk_arena {
                start: s.add(8),
                current: s,
                end: s.add(16),
            },
            nk_arena {
                start: s,
                current: s.add(16),
                end: s.add(8),
            },
            nk_arena {
                start: null_mut(),
                current: s,
                end: s.add(16),
            },
        ];
        for a in &bad {
            assert_eq!(PackOutMsg(&mut h, &m.hdr, a), rcInvalidArgument);
            let mut b = Msg::buffer();
            b.hdr.size = MSG_SIZE as u32;
            assert_eq!(
                PackInMsg(&mut h, &mut b.hdr, a as *const _ as *mut _),
                rcInvalidArgument
            );
        }
        // An all-NULL arena is "no arena".
        let none = nk_arena {
            start: null_mut(),
            current: null_mut(),
            end: null_mut(),
        };
        assert_eq!(PackOutMsg(&mut h, &m.hdr, &none), rcOk);

        // PackInMsg: capacity from buf->size, same limits.
        let mut b = Msg::buffer();
        b.hdr.size = 8;
        assert_eq!(PackInMsg(&mut h, &mut b.hdr, null_mut()), rcInvalidArgument);
        assert_eq!(PackInMsg(&mut h, null_mut(), null_mut()), rcInvalidArgument);
        assert_eq!(
            PackInMsg(null_mut(), &mut b.hdr, null_mut()),
            rcInvalidArgument
        );
    }
}

#[test]
fn arena_store_get_reset() {
    let mut a = ArenaBuf::new();
    a.init(10);
    let p1 = a.store(b"abc");
    let p2 = a.store(b"defgh");
    assert_eq!((p1.offset, p1.size, p2.offset, p2.size), (0, 3, 3, 5));
    let mut p3 = nk_ptr_t::default();
    let mut n = 0usize;
    // SAFETY (every call below): valid arena, references and out-pointers, or NULL on purpose.
    unsafe {
        assert_eq!(
            nk_arena_store(&mut a.arena, &mut p3, b"xyz".as_ptr().cast(), 3),
            rcBufferTooSmall
        );
        assert_eq!(a.used(), b"abcdefgh", "a failed store changes nothing");
        assert_eq!(
            nk_arena_store(&mut a.arena, &mut p3, b"xy".as_ptr().cast(), 2),
            rcOk
        );
        assert_eq!(nk_arena_store(&mut a.arena, &mut p3, null(), 0), rcOk);
        assert_eq!((p3.offset, p3.size), (10, 0));
        assert_eq!(
            nk_arena_store(&mut a.arena, &mut p3, null(), 1),
            rcInvalidArgument
        );
        assert_eq!(
            nk_arena_store(null_mut(), &mut p3, b"x".as_ptr().cast(), 1),
            rcInvalidArgument
        );
        assert_eq!(
            nk_arena_store(&mut a.arena, null_mut(), b"x".as_ptr().cast(), 1),
            rcInvalidArgument
        );
        assert!(a.tail_intact(10));

        let got = nk_arena_get(&a.arena, &p2, &mut n) as *const u8;
        assert_eq!((std::slice::from_raw_parts(got, n), n), (&b"defgh"[..], 5));
        assert!(nk_arena_get(&a.arena, &nk_ptr_t { offset: 8, size: 3 }, &mut n).is_null());
        assert!(nk_arena_get(
            &a.arena,
            &nk_ptr_t {
                offset: u32::MAX,
                size: 2
            },
            null_mut()
        )
        .is_null());
        assert!(nk_arena_get(null(), &p1, null_mut()).is_null());
        assert!(nk_arena_get(&a.arena, null(), null_mut()).is_null());

        nk_arena_reset(&mut a.arena);
        assert_eq!(a.used(), b"");
        assert!(
            nk_arena_get(&a.arena, &p1, null_mut()).is_null(),
            "past current after reset"
        );

        let mut empty = nk_arena {
            start: null_mut(),
            current: null_mut(),
            end: null_mut(),
        };
        nk_arena_init(&mut empty, null_mut(), 16);
        assert!(empty.start.is_null() && empty.end.is_null());
        assert_eq!(
            nk_arena_store(&mut empty, &mut p3, b"x".as_ptr().cast(), 1),
            rcInvalidArgument
        );
        nk_arena_init(null_mut(), null_mut(), 0);
        nk_arena_reset(null_mut());
    }
}
