//! The server side across processes: Recv/RecvEx and Reply on a world
//! handle, and the requests a server thread holds ([`Held`]).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::abi::{
    rcBufferTooLarge, rcBufferTooSmall, rcFail, rcIpcInterrupt, rcNotConnected, rcOk, rcTimeout,
    Retcode,
};
use crate::msg::{HdrContext, MsgIn, MsgOut};

use super::super::sync::SyncObject;
use super::super::wait::Deadline;
use super::channel::ring;
use super::layout::{
    arena_offset, call_word, fits, load_bytes, split_call, store_bytes, CallHead, ProcWord,
    CALLS_PER_PROC, DONE, IDLE, QUEUED, RECEIVED, RECEIVING, REPLYING,
};
use super::{futex, Port, World};

/// Longest single sleep of a receiver (it is woken by posts, closing and
/// interrupts; the bound only limits the cost of a lost wake-up).
const RECV_SLICE: Duration = Duration::from_secs(1);

/// A request a server thread received from a world channel and has not
/// answered yet.
#[derive(Debug)]
pub(crate) struct Held {
    world: &'static World,
    slot: usize,
    gen: u64,
    /// The caller's process slot word at the time of the call.
    client: ProcWord,
    /// The calling thread.
    tid: u32,
}

impl Held {
    /// The calling thread (what Recv put in `threadId`).
    pub(crate) fn client_thread(&self) -> u32 {
        self.tid
    }

    fn head(&self) -> &'static CallHead {
        &self.world.shared.heads[self.slot]
    }

    /// Whether the caller still waits for this answer.
    pub(crate) fn live(&self) -> bool {
        self.head().word.load(Ordering::Acquire) == call_word(self.gen, RECEIVED)
    }

    /// Whether `other` is a request of the same call slot or client thread.
    pub(crate) fn same_caller(&self, other: &Held) -> bool {
        (core::ptr::eq(self.world, other.world) && self.slot == other.slot) || self.tid == other.tid
    }

    /// Complete the request with `rc` and no response (given up, refused);
    /// nothing happens if its caller no longer waits.
    pub(crate) fn complete(&self, rc: Retcode) {
        let head = self.head();
        if claim(head, self.gen, RECEIVED, REPLYING) {
            head.rc.store(rc, Ordering::Relaxed);
            if claim(head, self.gen, REPLYING, DONE) {
                ring(head);
            }
        }
    }
}

/// Move call `gen` of `head` from `from` to `to`.
fn claim(head: &CallHead, gen: u64, from: u64, to: u64) -> bool {
    head.word
        .compare_exchange(
            call_word(gen, from),
            call_word(gen, to),
            Ordering::SeqCst,
            Ordering::Relaxed,
        )
        .is_ok()
}

/// Recv (`deadline` Never, no `sync`) or RecvEx on the world channel of
/// the server `port`: take the oldest request and copy it into `inp`.
/// Returns the held request and its correlation id.
pub(crate) fn recv(
    port: &Port,
    inp: &mut MsgIn<'_>,
    deadline: Deadline,
    sync: Option<&SyncObject>,
) -> Result<(Held, u64), Retcode> {
    let world = port.world;
    let Some(ch) = world.shared.channels.get(port.index) else {
        return Err(rcNotConnected);
    };
    let _watch = sync.map(|s| s.watch_bell(&ch.posted));
    let mut spin = futex::Spin::default();
    loop {
        let seq = ch.posted.load(Ordering::SeqCst);
        if ch.word.load(Ordering::SeqCst) != port.word.0 {
            return Err(rcNotConnected);
        }
        if let Some((slot, word)) = world.oldest(port.word) {
            let (gen, _) = split_call(word);
            let head = &world.shared.heads[slot];
            if claim(head, gen, QUEUED, RECEIVING) {
                match deliver(world, slot, gen, inp) {
                    Ok(got) => return Ok(got),
                    Err(rc) if rc == rcBufferTooSmall => return Err(rc),
                    Err(_) => continue, // a corrupt request: dropped
                }
            }
            continue;
        }
        if sync.is_some_and(SyncObject::is_set) {
            return Err(rcIpcInterrupt);
        }
        if deadline.passed() {
            return Err(rcTimeout);
        }
        if spin.again() {
            continue;
        }
        let wait = match deadline {
            Deadline::Never => RECV_SLICE,
            Deadline::At(at) => at.saturating_duration_since(Instant::now()).min(RECV_SLICE),
        };
        ch.receivers.fetch_add(1, Ordering::SeqCst);
        if ch.posted.load(Ordering::SeqCst) == seq {
            futex::wait(&ch.posted, seq, wait);
        }
        ch.receivers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Copy the request we hold in RECEIVING into `inp` and fill the header as
/// Recv does; the request becomes RECEIVED, or DONE with rcBufferTooSmall
/// for both sides when it does not fit.
fn deliver(
    world: &'static World,
    slot: usize,
    gen: u64,
    inp: &mut MsgIn<'_>,
) -> Result<(Held, u64), Retcode> {
    let head = &world.shared.heads[slot];
    let data = &world.shared.data[slot];
    let fail = |rc: Retcode| {
        head.rc.store(rc, Ordering::Relaxed);
        if claim(head, gen, RECEIVING, DONE) {
            ring(head);
        }
        Err(rc)
    };
    let cl = head.const_len.load(Ordering::Acquire) as usize;
    let al = head.arena_len.load(Ordering::Acquire) as usize;
    if !fits(cl, al) {
        return fail(rcFail);
    }
    if cl > inp.const_capacity() || al > inp.arena_capacity() {
        return fail(rcBufferTooSmall);
    }
    let written = inp.write_with(cl, al, |part, dst| {
        let offset = if part == 0 { 0 } else { arena_offset(cl) };
        load_bytes(data, offset, dst);
    });
    if let Err(rc) = written {
        return fail(rc);
    }
    let client = ProcWord(head.client.load(Ordering::Acquire));
    let tid = head.tid.load(Ordering::Acquire);
    let correlation = head.correlation.load(Ordering::Acquire);
    inp.set_context(&HdrContext {
        sender: client.pid(),
        thread: tid,
        trace_id: head.trace_id.load(Ordering::Acquire),
        span_id: head.span_id.load(Ordering::Acquire),
    });
    if !claim(head, gen, RECEIVING, RECEIVED) {
        return Err(rcFail); // only a dead-server reset moves RECEIVING on
    }
    ring(head);
    Ok((
        Held {
            world,
            slot,
            gen,
            client,
            tid,
        },
        correlation,
    ))
}

/// Reply to the held request `held` with `out`. rcNotConnected if its
/// caller no longer waits (timed out, gone) or its process died (the slot
/// is freed); rcBufferTooSmall (both sides) when the response does not fit
/// the caller's buffers; rcBufferTooLarge (both sides) when it does not fit
/// a slot ([`super::SLOT_BYTES`]).
pub(crate) fn reply(held: &Held, out: &MsgOut<'_>) -> Retcode {
    let head = held.head();
    if !claim(head, held.gen, RECEIVED, REPLYING) {
        return rcNotConnected;
    }
    let world = held.world;
    let client_proc = held.slot / CALLS_PER_PROC;
    if !world
        .live
        .alive(world.shared, client_proc, |now| now == held.client)
    {
        claim(head, held.gen, REPLYING, IDLE);
        return rcNotConnected;
    }
    let (constant, arena) = (out.constant(), out.arena());
    let rc = if constant.len() > head.const_cap.load(Ordering::Relaxed) as usize
        || arena.len() > head.arena_cap.load(Ordering::Relaxed) as usize
    {
        rcBufferTooSmall
    } else if !fits(constant.len(), arena.len()) {
        rcBufferTooLarge
    } else {
        let data = &world.shared.data[held.slot];
        store_bytes(data, 0, constant);
        store_bytes(data, arena_offset(constant.len()), arena);
        head.const_len
            .store(constant.len() as u32, Ordering::Relaxed);
        head.arena_len.store(arena.len() as u32, Ordering::Relaxed);
        head.replier.store(world.pid, Ordering::Relaxed);
        rcOk
    };
    head.rc.store(rc, Ordering::Relaxed);
    // A CAS, not a store: should a caller have wrongly taken us for dead
    // and left, its slot's next call is not touched.
    if claim(head, held.gen, REPLYING, DONE) {
        ring(head);
    }
    rc
}
