//! What dead or misbehaving processes leave in a world, written straight
//! into the shared region: each case must end in an error code or a reset,
//! never a hang or a read out of bounds.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::layout::{
    call_word, split_call, ChanWord, ProcWord, CALLS_PER_PROC, DONE, IDLE, MAGIC, PROC_LIVE,
    QUEUED, RECEIVING, REPLYING,
};
use super::{World, WorldConfig, SLOT_BYTES};
use crate::abi::{
    nk_message, rcFail, rcNotConnected, rcOk, rcTimeout, Handle, Retcode, SMsgHdr, INVALID_HANDLE,
};
use crate::entry::{Call, RecvEx};
use crate::host::pack::{PackInMsg, PackOutMsg};

/// A region of one test, unlinked when dropped.
struct Region(String);

impl Region {
    fn new(tag: &str) -> Region {
        let name = format!("kos-world-unit-{}-{tag}", std::process::id());
        let _ = World::unlink(&name);
        Region(name)
    }

    fn config(&self, entity: &str) -> WorldConfig {
        WorldConfig {
            name: self.0.clone(),
            entity: entity.into(),
            connections: Vec::new(),
            connect_timeout: Duration::ZERO,
        }
    }

    fn attach(&self, entity: &str) -> &'static World {
        World::attach(&self.config(entity)).expect("attach")
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        let _ = World::unlink(&self.0);
    }
}

/// A pid no process has (above Linux's largest `pid_max`).
const NO_PID: u32 = (1 << 22) + 1;

const SIZE: u32 = core::mem::size_of::<nk_message>() as u32;

/// One Call with an empty request; the return code.
fn call(h: Handle) -> Retcode {
    let req = nk_message::new(1, 2, SIZE);
    let mut resp = nk_message::new(0, 0, SIZE);
    let (mut out, mut inp) = (SMsgHdr::ZERO, SMsgHdr::ZERO);
    // SAFETY: the messages and headers outlive the calls that use them.
    unsafe {
        assert_eq!(PackOutMsg(&mut out, &req, core::ptr::null()), rcOk);
        assert_eq!(PackInMsg(&mut inp, &mut resp, core::ptr::null_mut()), rcOk);
        Call(h, &out, &mut inp)
    }
}

/// One RecvEx into a small buffer; the return code.
fn recv_ex(h: Handle, mdelay: u32) -> Retcode {
    let mut req = nk_message::new(0, 0, SIZE);
    let mut inp = SMsgHdr::ZERO;
    // SAFETY: the message and header outlive the calls that use them.
    unsafe {
        assert_eq!(PackInMsg(&mut inp, &mut req, core::ptr::null_mut()), rcOk);
        RecvEx(h, &mut inp, mdelay, INVALID_HANDLE)
    }
}

/// The open channel `id` of `w`'s entity: its index and word.
fn channel(w: &World, id: &str) -> (usize, ChanWord) {
    w.find_channel(&w.config.entity, id, Duration::ZERO)
        .expect("registered")
}

#[test]
fn a_registry_lock_left_by_a_dead_process_is_taken_over() {
    let r = Region::new("lock");
    let w = r.attach("a.Server");
    // Held by process slot 5, which no live process has.
    let dead = (6u64 << 56) | (7 << 32) | u64::from(NO_PID);
    w.shared.header.registry_lock.store(dead, Ordering::SeqCst);
    let t = Instant::now();
    let s = w.register("x").expect("register");
    assert!(t.elapsed() < Duration::from_secs(1));
    assert_eq!(w.shared.header.registry_lock.load(Ordering::SeqCst), 0);
    assert_eq!(crate::host::exports::KnHandleClose(s), rcOk);
}

#[test]
fn a_request_with_impossible_sizes_is_dropped_unread() {
    let r = Region::new("badreq");
    let w = r.attach("a.Server");
    let s = w.register("x").unwrap();
    let (_, word) = channel(w, "x");
    // A request in call slot 15 of this process (kept from our own calls).
    w.calls.fetch_or(1 << 15, Ordering::SeqCst);
    let head = &w.shared.heads[w.me * CALLS_PER_PROC + 15];
    head.channel.store(word.0, Ordering::Relaxed);
    head.ticket.store(0, Ordering::Relaxed);
    head.const_len.store(u32::MAX, Ordering::Relaxed);
    head.arena_len.store(u32::MAX, Ordering::Relaxed);
    head.word.store(call_word(1, QUEUED), Ordering::SeqCst);
    assert_eq!(recv_ex(s, 20), rcTimeout, "nothing valid to receive");
    assert_eq!(head.word.load(Ordering::SeqCst), call_word(1, DONE));
    assert_eq!(head.rc.load(Ordering::SeqCst), rcFail);
    assert_eq!(crate::host::exports::KnHandleClose(s), rcOk);
}

#[test]
fn a_response_with_impossible_sizes_is_an_error_for_its_caller() {
    let r = Region::new("badresp");
    let w = r.attach("a.Server");
    let s = w.register("y").unwrap();
    let (_, word) = channel(w, "y");
    let c = w.connect("y").unwrap();
    let caller = std::thread::spawn(move || call(c));
    // Play a broken server: take the request, answer with a size no slot has.
    let (slot, queued) = loop {
        if let Some(found) = w.oldest(word) {
            break found;
        }
        std::thread::yield_now();
    };
    let head = &w.shared.heads[slot];
    let (gen, _) = split_call(queued);
    assert!(head
        .word
        .compare_exchange(
            queued,
            call_word(gen, REPLYING),
            Ordering::SeqCst,
            Ordering::SeqCst
        )
        .is_ok());
    head.const_len
        .store(SLOT_BYTES as u32 + 8, Ordering::Relaxed);
    head.rc.store(rcOk, Ordering::Relaxed);
    head.word.store(call_word(gen, DONE), Ordering::SeqCst);
    super::channel::ring(head);
    assert_eq!(caller.join().unwrap(), rcFail);
    assert_eq!(split_call(head.word.load(Ordering::SeqCst)).1, IDLE);
    assert_eq!(crate::host::exports::KnHandleClose(c), rcOk);
    assert_eq!(crate::host::exports::KnHandleClose(s), rcOk);
}

#[test]
fn a_world_of_another_layout_or_size_is_refused() {
    let r = Region::new("layout");
    let w = r.attach("a.Server");
    w.shared.header.magic.store(MAGIC ^ 1, Ordering::SeqCst);
    let err = World::attach(&r.config("b.Client")).unwrap_err();
    assert!(err.contains("layout"), "{err}");
    w.shared.header.magic.store(MAGIC, Ordering::SeqCst);

    let small = Region::new("small");
    let path = super::region::shm_path(&small.0).unwrap();
    // SAFETY: a NUL-terminated path; the fd is closed below.
    let fd = unsafe { libc::shm_open(path.as_ptr(), libc::O_RDWR | libc::O_CREAT, 0o600) };
    assert!(fd >= 0);
    // SAFETY: our fd.
    unsafe {
        assert_eq!(libc::ftruncate(fd, 4096), 0);
        libc::close(fd);
    }
    let err = World::attach(&small.config("a.Server")).unwrap_err();
    assert!(err.contains("bytes"), "{err}");
}

#[test]
fn a_dead_process_slot_is_taken_over_with_its_leftovers_reset() {
    let r = Region::new("leftover");
    let first = r.attach("a.Server");
    let s = first.register("z").unwrap();
    let (_, word) = channel(first, "z");
    let live = r.attach("c.Server");
    let s_live = live.register("w").unwrap();
    let (_, live_word) = channel(live, "w");
    // The first process "dies": its slot names a process that is gone,
    // with calls left in every state.
    let states = [QUEUED, RECEIVING, REPLYING, DONE];
    for (k, state) in states.iter().enumerate() {
        let head = &first.shared.heads[first.me * CALLS_PER_PROC + k];
        head.channel.store(word.0, Ordering::Relaxed);
        head.word.store(call_word(3, *state), Ordering::SeqCst);
    }
    // ... and one a live server is copying.
    let busy = &first.shared.heads[first.me * CALLS_PER_PROC + states.len()];
    busy.channel.store(live_word.0, Ordering::Relaxed);
    busy.word.store(call_word(3, RECEIVING), Ordering::SeqCst);
    let proc_slot = &first.shared.procs[first.me];
    let old = ProcWord(proc_slot.word.load(Ordering::SeqCst));
    proc_slot.word.store(
        ProcWord::new(old.gen(), NO_PID, PROC_LIVE).0,
        Ordering::SeqCst,
    );

    let second = r.attach("b.Server");
    assert_eq!(second.me, first.me, "the dead process's slot is reused");
    assert_ne!(second.my_word.gen(), old.gen(), "in a new generation");
    // Its channel died with it: not found, and freed for others.
    assert_eq!(
        second
            .find_channel("a.Server", "z", Duration::ZERO)
            .unwrap_err(),
        rcNotConnected
    );
    // The calls it left are reset as the new owner takes the slots (even
    // RECEIVING/REPLYING ones: their server is dead too), but for the one
    // a live server copies in, which is skipped.
    let slots: Vec<_> = (0..=states.len())
        .map(|_| second.take_call_slot().expect("a slot"))
        .collect();
    let base = second.me * CALLS_PER_PROC;
    let taken: Vec<usize> = slots.iter().map(|s| s.index() - base).collect();
    assert_eq!(taken, [0, 1, 2, 3, 5]);
    for slot in &slots[..states.len()] {
        let word = second.shared.heads[slot.index()]
            .word
            .load(Ordering::SeqCst);
        assert_eq!(split_call(word), (3, IDLE));
    }
    assert_eq!(busy.word.load(Ordering::SeqCst), call_word(3, RECEIVING));
    drop(slots);
    let _ = crate::host::exports::KnHandleClose(s);
    assert_eq!(crate::host::exports::KnHandleClose(s_live), rcOk);
}

#[test]
fn the_environment_is_parsed_strictly() {
    use super::config::parse_connections;
    assert_eq!(
        parse_connections("echo=echo.Server, log = sys.Log,").unwrap(),
        [
            ("echo".to_owned(), "echo.Server".to_owned()),
            ("log".to_owned(), "sys.Log".to_owned())
        ]
    );
    for bad in [
        "echo",
        "=echo.Server",
        "echo=",
        &format!("x={}", "e".repeat(64)),
    ] {
        assert!(parse_connections(bad).is_err(), "{bad:?}");
    }
    for good in ["w", "kos.world_1-2"] {
        assert!(super::region::shm_path(good).is_ok(), "{good:?}");
    }
    for bad in ["", ".hidden", "a/b", "a b", &"w".repeat(201)] {
        assert!(super::region::shm_path(bad).is_err(), "{bad:?}");
    }
    let mut config = Region::new("names").config(&"e".repeat(64));
    assert!(World::attach(&config).unwrap_err().contains("63"));
    config.entity = "ok".into();
    config.connections = vec![("id".into(), String::new())];
    assert!(World::attach(&config).is_err());
}
