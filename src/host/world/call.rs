//! The client side across processes: Call and CallEx on a world handle.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::abi::{
    rcBufferTooLarge, rcFail, rcIpcInterrupt, rcNotConnected, rcOk, rcOutOfMemory, rcTimeout,
    Retcode,
};
use crate::msg::{HdrContext, MsgIn, MsgOut};

use super::super::sync::SyncObject;
use super::super::txn::client_tid;
use super::super::wait::Deadline;
use super::layout::{
    arena_offset, call_word, fits, load_bytes, split_call, store_bytes, CallHead, ChanWord,
    CALLS_PER_PROC, DONE, IDLE, QUEUED, RECEIVED, RECEIVING, REPLYING,
};
use super::{futex, Port, World, LIVENESS_SLICE};

/// Marks world correlation ids (the emulator's in-process ids stay below it).
const WORLD_CORRELATION: u64 = 1 << 63;

/// A call slot of this process, released when dropped.
pub(crate) struct CallSlot<'w> {
    world: &'w World,
    bit: u32,
}

impl CallSlot<'_> {
    pub(crate) fn index(&self) -> usize {
        self.world.me * CALLS_PER_PROC + self.bit as usize
    }
}

impl Drop for CallSlot<'_> {
    fn drop(&mut self) {
        self.world
            .calls
            .fetch_and(!(1 << self.bit), Ordering::Release);
    }
}

impl World {
    /// Take a free call slot of this process; a slot left over by a dead
    /// process that had this process slot before is reset first, unless a
    /// live server is still copying in it.
    pub(crate) fn take_call_slot(&self) -> Option<CallSlot<'_>> {
        let mut tried = 0u32;
        loop {
            let used = self.calls.load(Ordering::Acquire) | tried;
            let bit = (!used).trailing_zeros();
            if bit as usize >= CALLS_PER_PROC {
                return None;
            }
            if self.calls.fetch_or(1 << bit, Ordering::AcqRel) & (1 << bit) != 0 {
                continue; // another thread took it
            }
            let slot = CallSlot { world: self, bit };
            if self.reset_leftover(&self.shared.heads[slot.index()]) {
                return Some(slot);
            }
            tried |= 1 << bit;
        }
    }

    /// Make a slot no thread of ours uses IDLE: false while a live server
    /// copies in it (RECEIVING, REPLYING).
    fn reset_leftover(&self, head: &CallHead) -> bool {
        loop {
            let word = head.word.load(Ordering::Acquire);
            let (gen, state) = split_call(word);
            if state == IDLE {
                return true;
            }
            if matches!(state, RECEIVING | REPLYING)
                && self.owner_alive(ChanWord(head.channel.load(Ordering::Acquire)))
            {
                return false;
            }
            if head
                .word
                .compare_exchange(
                    word,
                    call_word(gen, IDLE),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                return true;
            }
        }
    }
}

/// Call (`deadline` Never, no `sync`) or CallEx on the world channel of
/// `port`; `correlation` receives the call's id once it has one.
pub(crate) fn call(
    port: &Port,
    out: &MsgOut<'_>,
    inp: &mut MsgIn<'_>,
    deadline: Deadline,
    sync: Option<&SyncObject>,
    correlation: &mut u64,
) -> Retcode {
    let world = port.world;
    let shared = world.shared;
    let Some(ch) = shared.channels.get(port.index) else {
        return rcNotConnected;
    };
    if ch.word.load(Ordering::Acquire) != port.word.0 {
        return rcNotConnected;
    }
    let (constant, arena) = (out.constant(), out.arena());
    if !fits(constant.len(), arena.len()) {
        return rcBufferTooLarge;
    }
    let Some(slot) = world.take_call_slot() else {
        return rcOutOfMemory;
    };
    let head: &'static CallHead = &shared.heads[slot.index()];
    let data = &shared.data[slot.index()];
    let gen = split_call(head.word.load(Ordering::Acquire)).0 + 1;
    let corr = shared.header.correlation.fetch_add(1, Ordering::Relaxed) | WORLD_CORRELATION;
    *correlation = corr;
    let sent = out.context();
    head.channel.store(port.word.0, Ordering::Relaxed);
    head.ticket.store(
        ch.tickets.fetch_add(1, Ordering::Relaxed),
        Ordering::Relaxed,
    );
    head.client.store(world.my_word.0, Ordering::Relaxed);
    head.correlation.store(corr, Ordering::Relaxed);
    head.trace_id.store(sent.trace_id, Ordering::Relaxed);
    head.span_id.store(sent.span_id, Ordering::Relaxed);
    head.tid.store(client_tid(), Ordering::Relaxed);
    head.rc.store(rcOk, Ordering::Relaxed);
    head.const_len
        .store(constant.len() as u32, Ordering::Relaxed);
    head.arena_len.store(arena.len() as u32, Ordering::Relaxed);
    head.const_cap
        .store(inp.const_capacity() as u32, Ordering::Relaxed);
    head.arena_cap
        .store(inp.arena_capacity() as u32, Ordering::Relaxed);
    head.replier.store(0, Ordering::Relaxed);
    store_bytes(data, 0, constant);
    store_bytes(data, arena_offset(constant.len()), arena);
    head.word.store(call_word(gen, QUEUED), Ordering::SeqCst);
    ch.posted.fetch_add(1, Ordering::SeqCst);
    if ch.receivers.load(Ordering::SeqCst) != 0 {
        futex::wake_all(&ch.posted);
    }
    let _watch = sync.map(|s| s.watch_bell(&head.bell));
    let rc = wait_for_reply(port, head, gen, deadline, sync);
    let rc = if rc == rcOk {
        take_response(head, data, inp)
    } else {
        rc
    };
    head.word.store(call_word(gen, IDLE), Ordering::Release);
    drop(slot);
    rc
}

/// Wait until the call `gen` in `head` is DONE (rcOk: the response is
/// there, or the error code) or given up (timeout, interrupt while
/// queued, channel closed or its server dead).
fn wait_for_reply(
    port: &Port,
    head: &CallHead,
    gen: u64,
    deadline: Deadline,
    sync: Option<&SyncObject>,
) -> Retcode {
    let world = port.world;
    let ch = &world.shared.channels[port.index];
    let mut next_check = Instant::now() + LIVENESS_SLICE;
    let mut spin = futex::Spin::default();
    loop {
        let bell = head.bell.load(Ordering::SeqCst);
        let word = head.word.load(Ordering::SeqCst);
        let (g, state) = split_call(word);
        if g != gen {
            return rcFail; // not ours any more: the world was tampered with
        }
        let now = Instant::now();
        let check = now >= next_check;
        if check {
            next_check = now + LIVENESS_SLICE;
        }
        let gone = |check: bool| {
            ch.word.load(Ordering::SeqCst) != port.word.0
                || (check && !world.owner_alive(port.word))
        };
        let give_up = match state {
            DONE => return head.rc.load(Ordering::Acquire),
            QUEUED if sync.is_some_and(SyncObject::is_set) => Some(rcIpcInterrupt),
            QUEUED | RECEIVED if deadline.passed() => Some(rcTimeout),
            QUEUED | RECEIVED if gone(check) => Some(rcNotConnected),
            // A server copies: only its death ends the wait.
            RECEIVING | REPLYING if check && !world.owner_alive(port.word) => Some(rcNotConnected),
            QUEUED | RECEIVED | RECEIVING | REPLYING => None,
            _ => return rcFail,
        };
        if let Some(rc) = give_up {
            if head
                .word
                .compare_exchange(
                    word,
                    call_word(gen, IDLE),
                    Ordering::AcqRel,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                if rc == rcNotConnected {
                    world.retire(port.index, port.word);
                }
                return rc;
            }
            continue; // the state moved on meanwhile
        }
        if spin.again() {
            continue;
        }
        let mut until = next_check;
        if let (QUEUED | RECEIVED, Deadline::At(at)) = (state, deadline) {
            until = until.min(at);
        }
        let wait = until.saturating_duration_since(Instant::now());
        if wait.is_zero() {
            continue;
        }
        head.sleeping.store(1, Ordering::SeqCst);
        if head.word.load(Ordering::SeqCst) == word {
            futex::wait(&head.bell, bell, wait.min(Duration::from_secs(1)));
        }
        head.sleeping.store(0, Ordering::Relaxed);
    }
}

/// Copy the response of a DONE call out of the slot into the caller's
/// buffers (sizes validated: the slot is shared memory).
fn take_response(head: &CallHead, data: &super::layout::CallData, inp: &mut MsgIn<'_>) -> Retcode {
    let cl = head.const_len.load(Ordering::Acquire) as usize;
    let al = head.arena_len.load(Ordering::Acquire) as usize;
    if !fits(cl, al) {
        return rcFail;
    }
    let written = inp.write_with(cl, al, |part, dst| {
        let offset = if part == 0 { 0 } else { arena_offset(cl) };
        load_bytes(data, offset, dst);
    });
    if let Err(rc) = written {
        return rc;
    }
    let ctx = inp.context();
    inp.set_context(&HdrContext {
        sender: head.replier.load(Ordering::Acquire),
        ..ctx
    });
    rcOk
}
