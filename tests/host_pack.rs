//! PackOutMsg / PackInMsg fill the header's descriptors as the SDK does; the
//! header checks the five calls apply, to packed and hand-filled headers
//! alike; and the kos_nk_arena_* helpers behind the SDK's nk_arena_* macros.

mod host_util;

use std::ffi::c_void;
use std::mem::size_of;
use std::ptr::{null, null_mut};
use std::sync::{Mutex, Once};

use host_util::*;
use kos_ipc_shim::abi::*;
use kos_ipc_shim::backend::{self, Args, Backend};
use kos_ipc_shim::host::arena::*;
use kos_ipc_shim::host::pack::{PackInMsg, PackOutMsg};
use kos_ipc_shim::msg::{MsgIn, MsgOut, KOS_SHIM_ARENA_MAX_SIZE, KOS_SHIM_MSG_MAX_SIZE};
use kos_ipc_shim::{host, Op};

/// Forwards every call to the emulator and remembers which (operation,
/// handle) reached it, so a test tells the shim's header check (the call
/// never reaches the backend) from the emulator's own answer.
struct Probe {
    reached: Mutex<Vec<(Op, Handle)>>,
}

impl Backend for Probe {
    fn forward(&self, op: Op, args: &mut Args<'_>) -> Retcode {
        self.reached.lock().unwrap().push((op, args.handle));
        host::EMULATOR.forward(op, args)
    }
    fn refused(&self, op: Op, args: &mut Args<'_>, rc: Retcode) {
        host::EMULATOR.refused(op, args, rc)
    }
    fn name(&self) -> &'static str {
        "probe"
    }
}

static PROBE: Probe = Probe {
    reached: Mutex::new(Vec::new()),
};

/// Install the probe (once per process; every test of this file may use it).
fn install_probe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| backend::set_backend(&PROBE).expect("a free backend slot"));
}

/// How many calls reached the backend on client handle `c` (Call, CallEx)
/// and server handle `s` (Recv, RecvEx, Reply), in that order.
///
/// Handle numbers are reused once closed, so a test compares against the
/// counts taken right after it created its channel: while it holds the
/// handles open, no other test can call on those numbers.
fn reached(c: Handle, s: Handle) -> [usize; 5] {
    let seen = PROBE.reached.lock().unwrap();
    let n = |op: Op, h: Handle| seen.iter().filter(|&&e| e == (op, h)).count();
    [
        n(Op::Call, c),
        n(Op::CallEx, c),
        n(Op::Recv, s),
        n(Op::RecvEx, s),
        n(Op::Reply, s),
    ]
}

/// The counts of [`reached`] since `base`.
fn reached_since(base: [usize; 5], c: Handle, s: Handle) -> [usize; 5] {
    let now = reached(c, s);
    std::array::from_fn(|i| now[i] - base[i])
}

/// The two descriptors of a header as (address, size).
fn descs(h: &SMsgHdr) -> [(usize, u32); 2] {
    h.descs().map(|d| (d.buf as usize, d.size))
}

fn addr<T>(p: *const T) -> usize {
    p as usize
}

const SIZE: u32 = MSG_SIZE as u32;
const NK_MESSAGE_SIZE: u32 = size_of::<nk_message>() as u32;

/// A header whose every field is non-zero, to see what packing overwrites.
fn dirty_header() -> SMsgHdr {
    let mut h = SMsgHdr::ZERO;
    h.replyHandle = 9;
    h.sender = 8;
    h.threadId = 7;
    h.traceId = 6;
    h.spanId = 5;
    h.set_descs(
        [IndirDesc {
            buf: 0x1000 as *mut c_void,
            size: 4,
        }; 2],
    );
    h.immSize = 4;
    h
}

/// The fields besides the descriptors: (replyHandle, sender, threadId,
/// traceId, spanId, immSize).
fn others(h: &SMsgHdr) -> (u32, u32, u32, u64, u64, u32) {
    (
        h.replyHandle,
        h.sender,
        h.threadId,
        h.traceId,
        h.spanId,
        h.immSize,
    )
}

#[test]
fn pack_out_points_descriptor_0_at_the_message_and_1_at_the_arena_bytes_in_use() {
    let m = Msg::new(1, "x");
    let mut a = ArenaBuf::new();
    a.init(100);
    a.store(b"hello");
    let mut h = dirty_header();
    // SAFETY: valid header, message and arena, alive while h is used.
    assert_eq!(unsafe { PackOutMsg(&mut h, &m.hdr, &a.arena) }, rcOk);
    assert_eq!(
        descs(&h),
        [(addr(&m.hdr), SIZE), (a.arena.start as usize, 5)],
        "{{msg, msg->ex.size_ex}}, {{arena->start, current - start}}"
    );
    assert_eq!(
        others(&h),
        (0, 0, 0, 0, 0, 0),
        "immSize 0, the rest cleared"
    );
    assert_eq!(a.used(), b"hello", "the arena is left as it was");

    // SAFETY: h points at `m` and the arena, alive here.
    let v = unsafe { MsgOut::from_raw(&h) }.expect("a packed header validates");
    let i = v.info();
    assert_eq!(
        (i.iid, i.mid, i.err, i.ncaps, i.const_size, i.arena_size),
        (7, 3, false, 0, SIZE, 5)
    );
    assert_eq!(v.constant().len(), MSG_SIZE);
    assert_eq!(v.constant().as_ptr() as usize, addr(&m.hdr));
    assert_eq!(v.arena(), b"hello");

    // ex.err and ex.ncaps are read from the message.
    let mut e = Msg::error(2, "e");
    e.hdr.set_ncaps(3);
    // SAFETY: as above.
    assert_eq!(unsafe { PackOutMsg(&mut h, &e.hdr, null()) }, rcOk);
    // SAFETY: h points at `e`, alive here.
    let i = unsafe { MsgOut::from_raw(&h) }.unwrap().info();
    assert_eq!((i.err, i.ncaps, i.const_size), (true, 3, SIZE));

    // No arena: descriptor 1 is {NULL, 0}; so is an all-NULL arena.
    let none = nk_arena {
        start: null_mut(),
        current: null_mut(),
        end: null_mut(),
    };
    for arena in [null(), &none as *const nk_arena] {
        let mut h = dirty_header();
        // SAFETY: valid header and message; arena NULL or all-NULL.
        assert_eq!(unsafe { PackOutMsg(&mut h, &m.hdr, arena) }, rcOk);
        assert_eq!(descs(&h), [(addr(&m.hdr), SIZE), (0, 0)]);
        // SAFETY: h points at `m`.
        let v = unsafe { MsgOut::from_raw(&h) }.unwrap();
        assert_eq!((v.info().arena_size, v.arena()), (0, &b""[..]));
    }

    // An empty arena: its buffer with 0 bytes.
    a.reset();
    // SAFETY: as above.
    assert_eq!(unsafe { PackOutMsg(&mut h, &m.hdr, &a.arena) }, rcOk);
    assert_eq!(
        descs(&h),
        [(addr(&m.hdr), SIZE), (a.arena.start as usize, 0)]
    );
}

#[test]
fn pack_in_gives_the_capacities() {
    let mut buf = Msg::buffer();
    let mut a = ArenaBuf::new();
    a.init(100);
    a.store(b"0123456789");
    let mut h = dirty_header();
    // SAFETY: valid header, buffer and arena, alive while h is used.
    assert_eq!(
        unsafe { PackInMsg(&mut h, &mut buf.hdr, &mut a.arena) },
        rcOk
    );
    assert_eq!(
        descs(&h),
        [(addr(&buf.hdr), SIZE), (a.arena.start as usize, 100)],
        "{{buf, buf->ex.size_ex}}, {{arena->start, end - start}}: not the 10 bytes in use"
    );
    assert_eq!(others(&h), (0, 0, 0, 0, 0, 0));
    // SAFETY: h points at live buffers.
    let v = unsafe { MsgIn::from_raw(&mut h) }.expect("a packed header validates");
    assert_eq!((v.const_capacity(), v.arena_capacity()), (MSG_SIZE, 100));

    // The capacity is whatever buf->ex.size_ex says: here one nk_message.
    let mut g = Guarded::new();
    let mut h = pack_in_raw(&mut g.msg, None);
    assert_eq!(descs(&h), [(addr(&g.msg), NK_MESSAGE_SIZE), (0, 0)]);
    // SAFETY: h points at `g`.
    let v = unsafe { MsgIn::from_raw(&mut h) }.unwrap();
    assert_eq!((v.const_capacity(), v.arena_capacity()), (24, 0));
}

#[test]
fn pack_refuses_null_and_misaligned_pointers() {
    let m = Msg::new(1, "");
    let mut b = Msg::buffer();
    // SAFETY (every call below): pointers are NULL or misaligned on purpose,
    // or valid.
    unsafe {
        assert_eq!(PackOutMsg(null_mut(), &m.hdr, null()), rcInvalidArgument);
        assert_eq!(
            PackInMsg(null_mut(), &mut b.hdr, null_mut()),
            rcInvalidArgument
        );

        // A misaligned header is refused and not written.
        let mut raw = [0xEEEE_EEEE_EEEE_EEEEu64; 16];
        let p = raw.as_mut_ptr().cast::<u8>().add(4).cast::<SMsgHdr>();
        assert_eq!(PackOutMsg(p, &m.hdr, null()), rcInvalidArgument);
        assert_eq!(PackInMsg(p, &mut b.hdr, null_mut()), rcInvalidArgument);
        assert!(raw.iter().all(|&w| w == 0xEEEE_EEEE_EEEE_EEEE));

        // NULL message: refused, and descriptor 0 left empty so that every
        // call refuses the header too.
        let mut h = pack_out(&m, None);
        assert_eq!(PackOutMsg(&mut h, null(), null()), rcInvalidArgument);
        assert_eq!(descs(&h)[0], (0, 0));
        assert_eq!(MsgOut::from_raw(&h).err(), Some(rcInvalidArgument));
        let mut h = pack_in(&mut b, None);
        assert_eq!(PackInMsg(&mut h, null_mut(), null_mut()), rcInvalidArgument);
        assert_eq!(descs(&h)[0], (0, 0));
        assert_eq!(MsgIn::from_raw(&mut h).err(), Some(rcInvalidArgument));

        // Misaligned constant part.
        let mut raw = [0u64; 8];
        let p = raw.as_mut_ptr().cast::<u8>().add(4).cast::<nk_message>();
        p.write_unaligned(nk_message::new(1, 1, NK_MESSAGE_SIZE));
        assert_eq!(PackOutMsg(&mut h, p, null()), rcInvalidArgument);
        assert_eq!(PackInMsg(&mut h, p, null_mut()), rcInvalidArgument);
        assert_eq!(MsgIn::from_raw(&mut h).err(), Some(rcInvalidArgument));

        // Misaligned nk_arena.
        let mut bytes = [0u8; 16];
        let s = bytes.as_mut_ptr();
        let mut raw = [0u64; 8];
        let pa = raw.as_mut_ptr().cast::<u8>().add(4).cast::<nk_arena>();
        pa.write_unaligned(nk_arena {
            start: s,
            current: s,
            end: s.add(16),
        });
        assert_eq!(PackOutMsg(&mut h, &m.hdr, pa), rcInvalidArgument);
        assert_eq!(PackInMsg(&mut h, &mut b.hdr, pa), rcInvalidArgument);
    }
}

#[test]
fn pack_refuses_constant_parts_of_the_wrong_size() {
    // A buffer of KOS_SHIM_MSG_MAX_SIZE + 8 bytes, so every size tried is backed.
    let mut big = vec![0u64; KOS_SHIM_MSG_MAX_SIZE as usize / 8 + 1];
    let msg = big.as_mut_ptr().cast::<nk_message>();
    for (size, ok) in [
        (0, false),
        (NK_MESSAGE_SIZE - 1, false),
        (NK_MESSAGE_SIZE, true),
        (SIZE, true),
        (KOS_SHIM_MSG_MAX_SIZE, true),
        (KOS_SHIM_MSG_MAX_SIZE + 1, false),
    ] {
        let expect = if ok { rcOk } else { rcInvalidArgument };
        // SAFETY: msg points to KOS_SHIM_MSG_MAX_SIZE + 8 writable, aligned bytes.
        unsafe {
            msg.write(nk_message::new(1, 2, size));
            let mut h = dirty_header();
            assert_eq!(
                PackOutMsg(&mut h, msg, null()),
                expect,
                "out, size_ex {size}"
            );
            let want = if ok { (msg as usize, size) } else { (0, 0) };
            assert_eq!(descs(&h)[0], want, "out, size_ex {size}");
            assert_eq!(MsgOut::from_raw(&h).is_ok(), ok);
            let mut h = dirty_header();
            assert_eq!(
                PackInMsg(&mut h, msg, null_mut()),
                expect,
                "in, size_ex {size}"
            );
            assert_eq!(descs(&h)[0], want, "in, size_ex {size}");
            assert_eq!(MsgIn::from_raw(&mut h).is_ok(), ok);
        }
    }
}

#[test]
fn pack_refuses_inconsistent_and_oversized_arenas() {
    let m = Msg::new(1, "");
    let mut b = Msg::buffer();
    let mut bytes = [0u8; 16];
    let s = bytes.as_mut_ptr();
    let arena = |start: *mut u8, current: *mut u8, end: *mut u8| nk_arena {
        start,
        current,
        end,
    };
    let over = KOS_SHIM_ARENA_MAX_SIZE + 1;
    let bad = [
        (
            "current < start",
            arena(s.wrapping_add(8), s, s.wrapping_add(16)),
        ),
        (
            "end < current",
            arena(s, s.wrapping_add(16), s.wrapping_add(8)),
        ),
        ("NULL current", arena(s, null_mut(), s.wrapping_add(16))),
        ("NULL start", arena(null_mut(), s, s.wrapping_add(16))),
        (
            "NULL start, end set",
            arena(null_mut(), null_mut(), s.wrapping_add(16)),
        ),
    ];
    for (what, a) in &bad {
        // SAFETY: valid header and message; the arena is read, never its bytes.
        unsafe {
            let mut h = pack_out(&m, None);
            assert_eq!(PackOutMsg(&mut h, &m.hdr, a), rcInvalidArgument, "{what}");
            assert_eq!(descs(&h)[0], (0, 0), "{what}: left for the calls to refuse");
            let mut h = pack_in(&mut b, None);
            assert_eq!(
                PackInMsg(&mut h, &mut b.hdr, a as *const nk_arena as *mut nk_arena),
                rcInvalidArgument,
                "{what}"
            );
            assert_eq!(descs(&h)[0], (0, 0), "{what}");
        }
    }

    // Sizes up to KOS_SHIM_ARENA_MAX_SIZE pass, one more byte does not. Only the
    // pointers are compared: the bytes beyond the 16 real ones are never read.
    let at = |n: usize| s.wrapping_add(n);
    // SAFETY: as above.
    unsafe {
        let mut h = SMsgHdr::ZERO;
        let used_max = arena(s, at(KOS_SHIM_ARENA_MAX_SIZE), at(KOS_SHIM_ARENA_MAX_SIZE));
        assert_eq!(PackOutMsg(&mut h, &m.hdr, &used_max), rcOk);
        assert_eq!(descs(&h)[1], (s as usize, KOS_SHIM_ARENA_MAX_SIZE as u32));
        let used_over = arena(s, at(over), at(over));
        assert_eq!(PackOutMsg(&mut h, &m.hdr, &used_over), rcInvalidArgument);
        assert_eq!(descs(&h)[0], (0, 0));
        // PackInMsg looks at the capacity: 16 bytes in use, too much room.
        let mut cap_max = arena(s, at(16), at(KOS_SHIM_ARENA_MAX_SIZE));
        assert_eq!(PackInMsg(&mut h, &mut b.hdr, &mut cap_max), rcOk);
        assert_eq!(descs(&h)[1], (s as usize, KOS_SHIM_ARENA_MAX_SIZE as u32));
        let mut cap_over = arena(s, at(16), at(over));
        assert_eq!(
            PackInMsg(&mut h, &mut b.hdr, &mut cap_over),
            rcInvalidArgument
        );
        // ...which PackOutMsg does not: only current - start is sent.
        assert_eq!(PackOutMsg(&mut h, &m.hdr, &cap_over), rcOk);
        assert_eq!(descs(&h)[1], (s as usize, 16));
    }
}

/// A hand-filled header over `msg` with `n` arena bytes at `arena`.
fn hand(msg: &Msg, arena: &[u8]) -> SMsgHdr {
    hand_header(
        (&msg.hdr as *const nk_message).cast_mut(),
        msg.hdr.size_ex(),
        arena.as_ptr().cast_mut(),
        arena.len() as u32,
    )
}

#[test]
fn hand_filled_headers_make_a_round_trip_and_receives_store_what_arrived() {
    install_probe();
    let (c, s) = channel();
    let base = reached(c, s);
    let server = std::thread::spawn(move || {
        let mut req = Msg::buffer();
        let mut ab = [0u8; 64];
        let mut inp = hand_header(&mut req.hdr, SIZE, ab.as_mut_ptr(), 64);
        assert_eq!(recv(s, &mut inp), rcOk);
        assert_eq!(req, Msg::new(41, "ping"));
        assert_eq!(&ab[..5], b"hello");
        assert_eq!(
            descs(&inp),
            [(addr(&req.hdr), SIZE), (ab.as_ptr() as usize, 5)],
            "a receive stores the sizes that arrived in the descriptors"
        );
        let resp = Msg::new(42, "pong");
        assert_eq!(reply(s, &hand(&resp, &[])), rcOk);
    });
    let req = Msg::new(41, "ping");
    let out = hand(&req, b"hello");
    let mut resp = Msg::buffer();
    let mut rab = [0xA5u8; 16];
    let mut inp = hand_header(&mut resp.hdr, SIZE, rab.as_mut_ptr(), 16);
    assert_eq!(call(c, &out, &mut inp), rcOk);
    server.join().unwrap();
    assert_eq!(resp, Msg::new(42, "pong"));
    assert_eq!(
        descs(&inp),
        [(addr(&resp.hdr), SIZE), (rab.as_ptr() as usize, 0)]
    );
    assert!(rab.iter().all(|&x| x == 0xA5), "no arena bytes came back");
    // Call, CallEx, Recv, RecvEx, Reply.
    assert_eq!(reached_since(base, c, s), [1, 0, 1, 0, 1]);
    close(c);
    close(s);
}

#[test]
fn a_receive_into_a_larger_buffer_stores_the_smaller_size_until_packed_again() {
    let (c, s) = channel();
    let server = std::thread::spawn(move || {
        let mut buf = Msg::buffer();
        let mut a = ArenaBuf::new();
        a.init(100);
        let mut inp = pack_in(&mut buf, Some(&mut a.arena));
        assert_eq!(recv(s, &mut inp), rcOk);
        // A bare nk_message (24 bytes) and 3 arena bytes arrived.
        assert_eq!(
            descs(&inp),
            [
                (addr(&buf.hdr), NK_MESSAGE_SIZE),
                (a.arena.start as usize, 3)
            ]
        );
        assert_eq!((buf.hdr.iid, buf.hdr.mid, buf.hdr.size_ex()), (5, 6, 24));
        assert_eq!(&a.bytes[..3], b"abc");
        assert!(a.tail_intact(3));
        // The receive wrote the header, not the nk_arena: nothing is in
        // use until `current` is set from descriptor 1, as the NK transport
        // does before nk_arena_get.
        let abc = nkp(0, 3);
        assert_eq!(get(&a, abc, 1), (null_mut(), 0));
        a.arena.current = a.arena.start.wrapping_add(inp.descs()[1].size as usize);
        assert_eq!(get(&a, abc, 1), (a.arena.start.cast(), 3));
        // Packing again restores the capacities.
        let inp = pack_in(&mut buf, Some(&mut a.arena));
        assert_eq!(
            descs(&inp),
            [(addr(&buf.hdr), SIZE), (a.arena.start as usize, 100)]
        );
        assert_eq!(reply(s, &pack_out(&Msg::new(0, ""), None)), rcOk);
    });
    let small = nk_message::new(5, 6, NK_MESSAGE_SIZE);
    let mut a = ArenaBuf::new();
    a.init(16);
    a.store(b"abc");
    let mut out = SMsgHdr::ZERO;
    // SAFETY: valid header, message and arena, alive while out is used.
    assert_eq!(unsafe { PackOutMsg(&mut out, &small, &a.arena) }, rcOk);
    let mut resp = Msg::buffer();
    let mut inp = pack_in(&mut resp, None);
    assert_eq!(call(c, &out, &mut inp), rcOk);
    server.join().unwrap();
    close(c);
    close(s);
}

/// Ways to spoil a valid hand-filled header; `out` says whether the check
/// applies to a header to send only (`ex.size_ex` against descriptor 0).
type Spoil = (&'static str, bool, fn(&mut SMsgHdr, &mut [u64]));

fn spoilers() -> Vec<Spoil> {
    fn set(h: &mut SMsgHdr, i: usize, buf: *mut c_void, size: u32) {
        let mut d = h.descs();
        d[i] = IndirDesc { buf, size };
        h.set_descs(d);
    }
    vec![
        ("immSize != 0", false, |h, _| h.immSize = 4),
        ("descriptor 0 NULL", false, |h, _| {
            set(h, 0, null_mut(), SIZE)
        }),
        ("descriptor 0 below sizeof(nk_message)", false, |h, m| {
            set(h, 0, m.as_mut_ptr().cast(), NK_MESSAGE_SIZE - 1);
            // SAFETY: m holds a Msg.
            unsafe { (*m.as_mut_ptr().cast::<nk_message>()).set_size_ex(NK_MESSAGE_SIZE - 1) };
        }),
        ("descriptor 0 above KOS_SHIM_MSG_MAX_SIZE", false, |h, m| {
            set(h, 0, m.as_mut_ptr().cast(), KOS_SHIM_MSG_MAX_SIZE + 1);
            // SAFETY: m holds a Msg.
            unsafe {
                (*m.as_mut_ptr().cast::<nk_message>()).set_size_ex(KOS_SHIM_MSG_MAX_SIZE + 1)
            };
        }),
        ("arena size without a buffer", false, |h, _| {
            set(h, 1, null_mut(), 8)
        }),
        ("arena above KOS_SHIM_ARENA_MAX_SIZE", false, |h, m| {
            set(
                h,
                1,
                m.as_mut_ptr().cast(),
                KOS_SHIM_ARENA_MAX_SIZE as u32 + 1,
            )
        }),
        ("size_ex below descriptor 0", true, |h, m| {
            set(h, 0, m.as_mut_ptr().cast(), SIZE);
            // SAFETY: m holds a Msg.
            unsafe { (*m.as_mut_ptr().cast::<nk_message>()).set_size_ex(SIZE - 8) };
        }),
        ("size_ex above descriptor 0", true, |h, m| {
            set(h, 0, m.as_mut_ptr().cast(), NK_MESSAGE_SIZE);
            // SAFETY: m holds a Msg.
            unsafe { (*m.as_mut_ptr().cast::<nk_message>()).set_size_ex(SIZE) };
        }),
    ]
}

/// A hand-filled header over the Msg at the start of `m` (`SIZE` bytes,
/// no arena).
fn hand_over(m: &mut [u64]) -> SMsgHdr {
    let p = m.as_mut_ptr().cast::<Msg>();
    // SAFETY: m is 8-aligned and at least a Msg long.
    unsafe { p.write(Msg::new(1, "m")) };
    hand_header(p.cast(), SIZE, null_mut(), 0)
}

#[test]
fn the_calls_refuse_spoilt_hand_filled_headers_before_the_backend() {
    install_probe();
    let (c, s) = channel();
    let base = reached(c, s);
    // Backing for the largest size a spoilt descriptor claims, so that a
    // header wrongly accepted could not make the emulator read or write
    // past real memory (it would fail the test with rcTimeout instead).
    let words = KOS_SHIM_ARENA_MAX_SIZE / 8 + 1;
    let mut mo = vec![0u64; words];
    let mut mi = vec![0u64; words];

    // The unspoilt headers pass the checks: the CallEx reaches the
    // emulator and times out there, for want of a server.
    let out = hand_over(&mut mo);
    let mut inp = hand_over(&mut mi);
    assert_eq!(call_ex(c, &out, &mut inp, 10, INVALID_HANDLE), rcTimeout);
    assert_eq!(reached_since(base, c, s), [0, 1, 0, 0, 0]);
    let mut inp = hand_over(&mut mi);
    assert_eq!(recv_ex(s, &mut inp, 10, INVALID_HANDLE), rcTimeout);
    assert_eq!(reached_since(base, c, s), [0, 1, 0, 1, 0]);
    // A receive buffer's size_ex is not compared with its descriptor: the
    // descriptor is the capacity.
    let mut inp = hand_over(&mut mi);
    // SAFETY: mi holds a Msg.
    unsafe { (*mi.as_mut_ptr().cast::<nk_message>()).set_size_ex(0) };
    // SAFETY: inp points at mi, alive here.
    assert_eq!(
        unsafe { MsgIn::from_raw(&mut inp) }
            .unwrap()
            .const_capacity(),
        MSG_SIZE
    );

    for (what, out_only, spoil) in spoilers() {
        // As the message to send: CallEx and Reply refuse it.
        let mut out = hand_over(&mut mo);
        spoil(&mut out, &mut mo);
        let mut inp = hand_over(&mut mi);
        // SAFETY: out points at mo, alive here.
        assert_eq!(
            unsafe { MsgOut::from_raw(&out) }.err(),
            Some(rcInvalidArgument),
            "{what}"
        );
        assert_eq!(
            call_ex(c, &out, &mut inp, 10, INVALID_HANDLE),
            rcInvalidArgument,
            "{what}"
        );
        assert_eq!(reply(s, &out), rcInvalidArgument, "{what}");
        // As the buffer to receive into: CallEx and RecvEx refuse it,
        // unless the check is one of a message to send.
        if !out_only {
            let out = hand_over(&mut mo);
            let mut inp = hand_over(&mut mi);
            spoil(&mut inp, &mut mi);
            // SAFETY: inp points at mi, alive here.
            assert_eq!(
                unsafe { MsgIn::from_raw(&mut inp) }.err(),
                Some(rcInvalidArgument),
                "{what}"
            );
            assert_eq!(
                call_ex(c, &out, &mut inp, 10, INVALID_HANDLE),
                rcInvalidArgument,
                "{what}"
            );
            assert_eq!(
                recv_ex(s, &mut inp, 10, INVALID_HANDLE),
                rcInvalidArgument,
                "{what}"
            );
        }
        assert_eq!(
            reached_since(base, c, s),
            [0, 1, 0, 1, 0],
            "{what}: refused before the backend"
        );
    }
    close(c);
    close(s);
}

// --- kos_nk_arena_store / _alloc / _get -----------------------------------

/// `kos_nk_arena_store` of `data` aligned to `align`, with `p` preset to a
/// sentinel; (result, reference).
fn store(a: &mut ArenaBuf, data: &[u8], align: usize) -> (nk_err_t, nk_ptr_t) {
    let mut p = UNTOUCHED;
    // SAFETY: valid arena, reference and data.
    let rc = unsafe {
        kos_nk_arena_store(
            &mut a.arena,
            &mut p,
            data.as_ptr().cast(),
            data.len(),
            align,
        )
    };
    (rc, p)
}

/// `[start, current, end)` of the arena as offsets from `start`.
fn offsets(a: &ArenaBuf) -> (usize, usize) {
    let s = a.arena.start as usize;
    (a.arena.current as usize - s, a.arena.end as usize - s)
}

const UNTOUCHED: nk_ptr_t = nkp(77, 77);

const fn nkp(offset: u32, size: u32) -> nk_ptr_t {
    nk_ptr_t { offset, size }
}

#[test]
fn arena_store_and_alloc_align_each_block_to_its_type() {
    let mut a = ArenaBuf::new();
    a.init(64);
    assert_eq!(store(&mut a, b"abc", 1), (NK_EOK, nkp(0, 3)));
    let word = 0x1122_3344u32.to_ne_bytes();
    assert_eq!(store(&mut a, &word, 4), (NK_EOK, nkp(4, 4)));
    assert_eq!(store(&mut a, &[1, 2], 2), (NK_EOK, nkp(8, 2)));
    let long = 0x0102_0304_0506_0708u64.to_ne_bytes();
    assert_eq!(store(&mut a, &long, 8), (NK_EOK, nkp(16, 8)));
    assert_eq!(offsets(&a), (24, 64));
    assert_eq!(&a.bytes[..3], b"abc");
    assert_eq!(a.bytes[4..8], word);
    assert_eq!(a.bytes[8..10], [1, 2]);
    assert_eq!(a.bytes[16..24], long);
    // The blocks are aligned in memory, not only in offset.
    assert_eq!(a.arena.start as usize % 8, 0);

    let mut p = UNTOUCHED;
    // SAFETY: valid arena and reference.
    let block = unsafe { kos_nk_arena_alloc(&mut a.arena, &mut p, 6, 4) };
    assert_eq!(block as usize, a.arena.start as usize + 24);
    assert_eq!((p.offset, p.size), (24, 6));
    assert_eq!(offsets(&a), (30, 64));

    // Nothing to store: a reference of size 0 at the next aligned offset.
    let mut p = UNTOUCHED;
    // SAFETY: valid arena and reference; NULL data with size 0 is allowed.
    assert_eq!(
        unsafe { kos_nk_arena_store(&mut a.arena, &mut p, null(), 0, 8) },
        NK_EOK
    );
    assert_eq!((p.offset, p.size, offsets(&a).0), (32, 0, 32));
    assert!(a.tail_intact(64));
}

#[test]
fn arena_without_room_is_left_unchanged() {
    let mut a = ArenaBuf::new();
    a.init(10);
    assert_eq!(store(&mut a, b"abcdefg", 1).0, NK_EOK);
    // 4 bytes with 3 free; 3 bytes that fit, but not once aligned to 4.
    assert_eq!(store(&mut a, b"wxyz", 1), (NK_ENOMEM, UNTOUCHED));
    assert_eq!(store(&mut a, b"xyz", 4), (NK_ENOMEM, UNTOUCHED));
    let mut p = UNTOUCHED;
    // SAFETY: valid arena and reference.
    unsafe {
        assert!(kos_nk_arena_alloc(&mut a.arena, &mut p, 4, 1).is_null());
        assert!(kos_nk_arena_alloc(&mut a.arena, &mut p, 3, 4).is_null());
        assert!(kos_nk_arena_alloc(&mut a.arena, &mut p, usize::MAX, 1).is_null());
    }
    assert_eq!(p, UNTOUCHED);
    assert_eq!(
        a.used(),
        b"abcdefg",
        "a failed store or alloc changes nothing"
    );
    assert_eq!(offsets(&a), (7, 10));
    assert!(a.tail_intact(7), "not a byte written");
    // Exactly the room left.
    assert_eq!(store(&mut a, b"hij", 1), (NK_EOK, nkp(7, 3)));
    assert_eq!(a.used(), b"abcdefghij");
    assert!(a.tail_intact(10));
}

#[test]
fn arena_helpers_refuse_bad_arguments() {
    let mut a = ArenaBuf::new();
    a.init(32);
    assert_eq!(store(&mut a, b"ab", 1).0, NK_EOK);
    let mut p = UNTOUCHED;
    let x = b"x".as_ptr().cast::<c_void>();
    // SAFETY (every call below): pointers valid or NULL on purpose.
    unsafe {
        assert_eq!(kos_nk_arena_store(null_mut(), &mut p, x, 1, 1), NK_EINVAL);
        assert_eq!(
            kos_nk_arena_store(&mut a.arena, null_mut(), x, 1, 1),
            NK_EINVAL
        );
        assert_eq!(
            kos_nk_arena_store(&mut a.arena, &mut p, null(), 1, 1),
            NK_EINVAL
        );
        for align in [0, 3, 6] {
            assert_eq!(
                kos_nk_arena_store(&mut a.arena, &mut p, x, 1, align),
                NK_EINVAL
            );
            assert!(kos_nk_arena_alloc(&mut a.arena, &mut p, 1, align).is_null());
        }
        assert!(kos_nk_arena_alloc(null_mut(), &mut p, 1, 1).is_null());
        assert!(kos_nk_arena_alloc(&mut a.arena, null_mut(), 1, 1).is_null());
        assert_eq!(p, UNTOUCHED);
        assert_eq!(a.used(), b"ab");

        // Inconsistent arenas, or one without a buffer.
        let s = a.bytes.as_mut_ptr();
        for mut bad in [
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
                current: null_mut(),
                end: null_mut(),
            },
            nk_arena {
                start: null_mut(),
                current: s,
                end: s.add(16),
            },
        ] {
            let before = (bad.start, bad.current, bad.end);
            assert_eq!(kos_nk_arena_store(&mut bad, &mut p, x, 1, 1), NK_EINVAL);
            assert!(kos_nk_arena_alloc(&mut bad, &mut p, 1, 1).is_null());
            assert_eq!((bad.start, bad.current, bad.end), before);
            let mut n = 99u32;
            let got = kos_nk_arena_get(&bad, &nkp(0, 0), 1, (&mut n as *mut u32).cast(), 4);
            assert!(got.is_null());
            assert_eq!(n, 0);
        }
        assert_eq!(p, UNTOUCHED);
    }
}

/// `kos_nk_arena_get` with a 4-byte count preset to 99: (address, count).
fn get(a: &ArenaBuf, p: nk_ptr_t, elem: usize) -> (*mut c_void, u32) {
    let mut n = 99u32;
    // SAFETY: valid arena, reference and count.
    let got = unsafe { kos_nk_arena_get(&a.arena, &p, elem, (&mut n as *mut u32).cast(), 4) };
    (got, n)
}

#[test]
fn arena_get_checks_the_reference_against_the_bytes_in_use() {
    let mut a = ArenaBuf::new();
    a.init(64);
    let (_, text) = store(&mut a, b"defgh", 1);
    let pair: Vec<u8> = [1u32, 2u32].iter().flat_map(|v| v.to_ne_bytes()).collect();
    let (_, words) = store(&mut a, &pair, 4);
    assert_eq!((text, words), (nkp(0, 5), nkp(8, 8)));
    let start = a.arena.start as usize;

    let (got, n) = get(&a, text, 1);
    assert_eq!((got as usize, n), (start, 5));
    // SAFETY: got points at the 5 stored bytes.
    assert_eq!(
        unsafe { std::slice::from_raw_parts(got.cast::<u8>(), 5) },
        b"defgh"
    );
    // The block ending exactly at current.
    assert_eq!(get(&a, words, 4), (a.arena.start.wrapping_add(8).cast(), 2));

    // Count widths: 8 bytes written whole, 4 bytes and not one more.
    let mut wide = u64::MAX;
    let mut narrow = [u32::MAX; 2];
    // SAFETY: valid arena, reference and counts of the stated widths.
    unsafe {
        assert!(
            !kos_nk_arena_get(&a.arena, &words, 4, (&mut wide as *mut u64).cast(), 8).is_null()
        );
        assert!(!kos_nk_arena_get(&a.arena, &words, 4, narrow.as_mut_ptr().cast(), 4).is_null());
        // No count wanted.
        assert_eq!(
            kos_nk_arena_get(&a.arena, &text, 1, null_mut(), 4) as usize,
            start
        );
    }
    assert_eq!(wide, 2);
    assert_eq!(narrow, [2, u32::MAX]);
    // 1 and 2 bytes too (an nk_uint8_t or nk_uint16_t count); any other
    // width gets NULL and is left alone, never a stale count beside a block.
    let (mut byte, mut half, mut odd) = ([u8::MAX; 2], [u16::MAX; 2], [0xAAu8; 3]);
    // SAFETY: valid arena and reference; each count has the stated width.
    unsafe {
        assert!(!kos_nk_arena_get(&a.arena, &text, 1, byte.as_mut_ptr().cast(), 1).is_null());
        assert!(!kos_nk_arena_get(&a.arena, &text, 1, half.as_mut_ptr().cast(), 2).is_null());
        assert!(kos_nk_arena_get(&a.arena, &text, 1, odd.as_mut_ptr().cast(), 3).is_null());
    }
    assert_eq!((byte, half, odd), ([5, u8::MAX], [5, u16::MAX], [0xAA; 3]));

    // Bad references: NULL and a count of 0.
    for (what, r, elem) in [
        ("one byte past current", nkp(12, 5), 1),
        ("past current, within the capacity", nkp(16, 4), 1),
        ("offset + size overflows 32 bits", nkp(u32::MAX, 2), 1),
        ("size far past current", nkp(8, u32::MAX), 1),
        ("not a whole number of elements", nkp(8, 6), 4),
        ("element size 0", words, 0),
    ] {
        assert_eq!(get(&a, r, elem), (null_mut(), 0), "{what}");
    }
    let mut n = 99u32;
    // SAFETY: NULL on purpose, count valid.
    unsafe {
        assert!(kos_nk_arena_get(null(), &text, 1, (&mut n as *mut u32).cast(), 4).is_null());
        assert_eq!(n, 0);
        n = 99;
        assert!(kos_nk_arena_get(&a.arena, null(), 1, (&mut n as *mut u32).cast(), 4).is_null());
        assert_eq!(n, 0);
    }

    // After a reset nothing is in use: every reference is past current.
    a.reset();
    assert_eq!(get(&a, text, 1), (null_mut(), 0));
    assert_eq!(a.used(), b"");
    let (got, n) = get(&a, nkp(0, 0), 1);
    assert_eq!(
        (got as usize, n),
        (start, 0),
        "an empty block at start is still there"
    );
}
