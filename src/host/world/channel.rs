//! The world's channel registry: register, find, close (retire), and the
//! queries on a channel (its oldest request, its counts).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::abi::{rcBusy, rcNotConnected, rcOutOfMemory, Retcode};

use super::futex;
use super::layout::{
    name_is, put_name, split_call, CallHead, ChanWord, ProcWord, CALLS_PER_PROC, CHAN_FREE,
    CHAN_OPEN, PROC_LIVE, QUEUED, RECEIVED, RECEIVING, REPLYING,
};
use super::World;

/// How long a connect sleeps between looks at the registry at most (a
/// registration wakes it earlier).
const CONNECT_SLICE: Duration = Duration::from_millis(100);

/// The registry lock, held while it lives.
struct RegistryLock<'a> {
    world: &'a World,
    mine: u64,
}

impl Drop for RegistryLock<'_> {
    fn drop(&mut self) {
        let _ = self.world.shared.header.registry_lock.compare_exchange(
            self.mine,
            0,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }
}

impl World {
    /// Take the registry lock; a holder found dead loses it.
    fn lock_registry(&self) -> RegistryLock<'_> {
        let lock = &self.shared.header.registry_lock;
        let mine = ((self.me as u64 + 1) << 56)
            | (u64::from(self.my_word.gen()) << 32)
            | u64::from(self.pid);
        loop {
            let held = match lock.compare_exchange(0, mine, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return RegistryLock { world: self, mine },
                Err(held) => held,
            };
            let holder = ((held >> 56) as usize).wrapping_sub(1);
            let word = ProcWord::new((held >> 32) as u32 & 0xFF_FFFF, held as u32, PROC_LIVE);
            if !self.live.alive(self.shared, holder, |now| now == word)
                && lock
                    .compare_exchange(held, mine, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                return RegistryLock { world: self, mine };
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Whether the process that opened the channel with word `w` lives.
    pub(crate) fn owner_alive(&self, w: ChanWord) -> bool {
        self.live
            .alive(self.shared, w.owner(), |now| now.gen() == w.owner_gen())
    }

    /// Open the channel (this entity, `id`) for this process.
    pub(crate) fn open_channel(&self, id: &str) -> Result<(usize, ChanWord), Retcode> {
        let entity = self.config.entity.as_bytes();
        let _lock = self.lock_registry();
        let mut free = None;
        for (i, ch) in self.shared.channels.iter().enumerate() {
            let w = ChanWord(ch.word.load(Ordering::Acquire));
            match w.state() {
                CHAN_OPEN if name_is(&ch.entity, entity) && name_is(&ch.id, id.as_bytes()) => {
                    if self.owner_alive(w) {
                        return Err(rcBusy);
                    }
                    self.retire(i, w);
                }
                CHAN_OPEN => {}
                _ => {
                    free.get_or_insert(i);
                }
            }
        }
        // Full: take a channel whose owner died.
        let free = free.or_else(|| {
            self.shared.channels.iter().enumerate().find_map(|(i, ch)| {
                let w = ChanWord(ch.word.load(Ordering::Acquire));
                (w.state() == CHAN_OPEN && !self.owner_alive(w) && self.retire(i, w)).then_some(i)
            })
        });
        let i = free.ok_or(rcOutOfMemory)?;
        let ch = &self.shared.channels[i];
        // Only registrants (holding the lock) move a channel out of FREE, so
        // its names may be written before the word says OPEN.
        let old = ChanWord(ch.word.load(Ordering::Acquire));
        put_name(&ch.entity, entity);
        put_name(&ch.id, id.as_bytes());
        // A receiver of the channel's last owner killed while counted must
        // not make every post of the new one wake nobody.
        ch.receivers.store(0, Ordering::Relaxed);
        let open = ChanWord::new(
            old.gen().wrapping_add(1),
            i,
            self.me,
            self.my_word.gen(),
            CHAN_OPEN,
        );
        ch.word.store(open.0, Ordering::SeqCst);
        self.shared
            .header
            .registry_seq
            .fetch_add(1, Ordering::SeqCst);
        futex::wake_all(&self.shared.header.registry_seq);
        Ok((i, open))
    }

    /// Find the open channel (`entity`, `id`) of a live process, waiting up
    /// to `wait` for it to be registered.
    pub(crate) fn find_channel(
        &self,
        entity: &str,
        id: &str,
        wait: Duration,
    ) -> Result<(usize, ChanWord), Retcode> {
        let deadline = Instant::now() + wait;
        let seq_word = &self.shared.header.registry_seq;
        loop {
            let seq = seq_word.load(Ordering::SeqCst);
            for (i, ch) in self.shared.channels.iter().enumerate() {
                let w = ChanWord(ch.word.load(Ordering::Acquire));
                if w.state() != CHAN_OPEN
                    || !name_is(&ch.entity, entity.as_bytes())
                    || !name_is(&ch.id, id.as_bytes())
                    || ch.word.load(Ordering::Acquire) != w.0
                {
                    continue;
                }
                if self.owner_alive(w) {
                    return Ok((i, w));
                }
                self.retire(i, w);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(rcNotConnected);
            }
            futex::wait(seq_word, seq, (deadline - now).min(CONNECT_SLICE));
        }
    }

    /// Close channel `index` if it still has word `w` (its server closed
    /// it, or its owner died): free the slot, wake the receivers and every
    /// caller with a request on it (they see the word changed), and waiting
    /// connects. Returns whether this call closed it.
    pub(crate) fn retire(&self, index: usize, w: ChanWord) -> bool {
        let Some(ch) = self.shared.channels.get(index) else {
            return false;
        };
        let free = ChanWord::new(w.gen(), index, 0, 0, CHAN_FREE);
        if ch
            .word
            .compare_exchange(w.0, free.0, Ordering::SeqCst, Ordering::Relaxed)
            .is_err()
        {
            return false;
        }
        ch.posted.fetch_add(1, Ordering::SeqCst);
        futex::wake_all(&ch.posted);
        for head in &self.shared.heads {
            let (_, state) = split_call(head.word.load(Ordering::Acquire));
            if matches!(state, QUEUED | RECEIVING | RECEIVED | REPLYING)
                && head.channel.load(Ordering::Acquire) == w.0
            {
                head.bell.fetch_add(1, Ordering::SeqCst);
                futex::wake_all(&head.bell);
            }
        }
        self.shared
            .header
            .registry_seq
            .fetch_add(1, Ordering::SeqCst);
        futex::wake_all(&self.shared.header.registry_seq);
        true
    }

    /// The QUEUED request on the channel with word `w` with the lowest
    /// ticket: its slot index and word. Only slots of attached processes
    /// are looked at.
    pub(crate) fn oldest(&self, w: ChanWord) -> Option<(usize, u64)> {
        let mut best: Option<(u64, usize, u64)> = None;
        self.for_each_queued(w, |i, word, ticket| {
            if best.is_none_or(|(t, _, _)| ticket < t) {
                best = Some((ticket, i, word));
            }
        });
        best.map(|(_, i, word)| (i, word))
    }

    /// Run `f(slot, word, ticket)` on every QUEUED request on channel `w`.
    fn for_each_queued(&self, w: ChanWord, mut f: impl FnMut(usize, u64, u64)) {
        for (p, proc_slot) in self.shared.procs.iter().enumerate() {
            if ProcWord(proc_slot.word.load(Ordering::Relaxed)).state() != PROC_LIVE {
                continue;
            }
            let first = p * CALLS_PER_PROC;
            for (k, head) in self.shared.heads[first..first + CALLS_PER_PROC]
                .iter()
                .enumerate()
            {
                if let Some((word, ticket)) = queued_on(head, w) {
                    f(first + k, word, ticket);
                }
            }
        }
    }

    /// (requests queued, receivers waiting) on channel `index` while it has word `w`.
    pub(crate) fn counts(&self, index: usize, w: ChanWord) -> (usize, usize) {
        let Some(ch) = self.shared.channels.get(index) else {
            return (0, 0);
        };
        if ch.word.load(Ordering::Acquire) != w.0 {
            return (0, 0);
        }
        let mut queued = 0;
        self.for_each_queued(w, |_, _, _| queued += 1);
        (queued, ch.receivers.load(Ordering::Relaxed) as usize)
    }
}

/// The word and ticket of `head` if it holds a QUEUED request on channel `w`.
fn queued_on(head: &CallHead, w: ChanWord) -> Option<(u64, u64)> {
    let word = head.word.load(Ordering::Acquire);
    if split_call(word).1 != QUEUED || head.channel.load(Ordering::Acquire) != w.0 {
        return None;
    }
    let ticket = head.ticket.load(Ordering::Acquire);
    // The caller writes channel and ticket before QUEUED and a new call is
    // a new generation: an unchanged word means they belong to it.
    (head.word.load(Ordering::Acquire) == word).then_some((word, ticket))
}

/// Ring `head`'s bell: its caller looks at the slot again.
pub(crate) fn ring(head: &CallHead) {
    head.bell.fetch_add(1, Ordering::SeqCst);
    if head.sleeping.load(Ordering::SeqCst) != 0 {
        futex::wake_all(&head.bell);
    }
}
