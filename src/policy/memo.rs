//! Each lease holder's last decision under one policy: a thread that sends
//! the same kind of message again (the common case: a client calling one
//! method in a loop) gets the rule without the index lookup.
//!
//! A decision is a pure function of the policy and the [`Key`] (operation
//! class, handle, iid, mid and the three sizes, which size matchers read), so
//! a slot remembers the whole key and what the decision came to (an
//! [`Outcome`]: rule, line, verdict and hit counter). The memo
//! lives in the [`super::reload::Active`] it belongs to: a replaced policy
//! takes its memo with it, and a reused static slot (the bare core) is
//! cleared when compiled.
//!
//! Slot `i` belongs to the holder of lease `i` ([`crate::lease`]) and is
//! touched only inside that thread's *leased* read of the policy
//! (`reload::read_leased`), which a signal handler on the same thread cannot
//! interrupt with a leased read of its own (it finds the lease's slot busy
//! and reads striped, without the memo). So each slot has one writer and one
//! reader at a time, and relaxed loads and stores (plain moves) suffice.

use core::sync::atomic::{AtomicU64, Ordering};

use super::rules::Key;
use crate::call::Verdict;
use crate::lease::LEASES;

/// What deciding a key came to under one policy, all a repeated key needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// The hit counter to bump: the rule's index, or the number of rules
    /// for the default.
    pub(crate) counter: u32,
    /// The matching rule (None: the default).
    pub(crate) rule: Option<u32>,
    /// Text line of the rule or `default` statement.
    pub(crate) line: u32,
    /// The verdict (from the action, the mode and the key's class).
    pub(crate) verdict: Verdict,
}

impl Outcome {
    /// Two words: counter and line; verdict and whether a rule matched.
    #[inline(always)]
    fn pack(&self) -> [u64; 2] {
        [
            self.counter as u64 | (self.line as u64) << 32,
            self.verdict as u64 | (self.rule.is_some() as u64) << 8,
        ]
    }

    #[inline(always)]
    fn unpack(w: [u64; 2]) -> Outcome {
        let counter = w[0] as u32;
        Outcome {
            counter,
            rule: (w[1] & 1 << 8 != 0).then_some(counter),
            line: (w[0] >> 32) as u32,
            // Only verdicts are stored: the fallback is never taken.
            verdict: Verdict::from_u8(w[1] as u8).unwrap_or(Verdict::Fault),
        }
    }
}

/// The key's words; the last one is never 0 (class + 1), so an empty slot
/// matches nothing.
#[inline(always)]
fn words(k: &Key) -> [u64; 4] {
    [
        (k.handle as u64) << 32 | (k.iid as u64) << 16 | k.mid as u64,
        k.bytes,
        k.arena,
        (k.ncaps as u64) << 8 | (k.class as u64 + 1),
    ]
}

/// One lease's last key and its first matching rule (`rule + 1`, 0: none).
#[repr(align(64))]
struct Slot {
    key: [AtomicU64; 4],
    outcome: [AtomicU64; 2],
}

impl Slot {
    const fn empty() -> Slot {
        Slot {
            key: [const { AtomicU64::new(0) }; 4],
            outcome: [const { AtomicU64::new(0) }; 2],
        }
    }
}

/// The last decision of every lease holder.
pub(crate) struct Memo {
    slots: [Slot; LEASES],
}

impl core::fmt::Debug for Memo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Memo")
    }
}

impl Memo {
    /// Nothing remembered.
    pub(crate) const fn new() -> Memo {
        Memo {
            slots: [const { Slot::empty() }; LEASES],
        }
    }

    /// Forget everything (a static slot compiled anew).
    pub(crate) fn clear(&mut self) {
        for s in &mut self.slots {
            *s = Slot::empty();
        }
    }

    /// The outcome remembered for `k` by the holder of `lease`, or `None`
    /// if its last key differs.
    #[inline(always)]
    pub(crate) fn get(&self, lease: usize, k: &Key) -> Option<Outcome> {
        let s = self.slots.get(lease)?;
        let w = words(k);
        let hit = s.key[0].load(Ordering::Relaxed) == w[0]
            && s.key[1].load(Ordering::Relaxed) == w[1]
            && s.key[2].load(Ordering::Relaxed) == w[2]
            && s.key[3].load(Ordering::Relaxed) == w[3];
        if !hit {
            return None;
        }
        Some(Outcome::unpack([
            s.outcome[0].load(Ordering::Relaxed),
            s.outcome[1].load(Ordering::Relaxed),
        ]))
    }

    /// Remember `o` as the outcome for `k` of the holder of `lease`.
    #[inline]
    pub(crate) fn put(&self, lease: usize, k: &Key, o: Outcome) {
        let Some(s) = self.slots.get(lease) else {
            return;
        };
        for (slot, w) in s.key.iter().zip(words(k)) {
            slot.store(w, Ordering::Relaxed);
        }
        for (slot, w) in s.outcome.iter().zip(o.pack()) {
            slot.store(w, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Class;

    fn key(handle: u32, mid: u16, bytes: u64) -> Key {
        Key {
            class: Class::Call,
            handle,
            iid: 1,
            mid,
            bytes,
            arena: 0,
            ncaps: 0,
        }
    }

    fn rule(i: u32, line: u32, verdict: Verdict) -> Outcome {
        Outcome {
            counter: i,
            rule: Some(i),
            line,
            verdict,
        }
    }

    #[test]
    fn a_slot_answers_only_its_last_key() {
        let mut m = Memo::new();
        assert_eq!(
            m.get(3, &key(0, 0, 0)),
            None,
            "an empty slot matches no key"
        );
        m.put(3, &key(7, 2, 40), rule(5, 12, Verdict::Log));
        assert_eq!(m.get(3, &key(7, 2, 40)), Some(rule(5, 12, Verdict::Log)));
        assert_eq!(m.get(4, &key(7, 2, 40)), None, "another lease's slot");
        assert_eq!(m.get(3, &key(7, 2, 41)), None, "a size differs");
        assert_eq!(m.get(3, &key(8, 2, 40)), None, "the handle differs");
        let recv = Key {
            class: Class::Recv,
            ..key(7, 2, 40)
        };
        assert_eq!(m.get(3, &recv), None, "the class differs");
        let default = Outcome {
            counter: 9,
            rule: None,
            line: 3,
            verdict: Verdict::Deny,
        };
        m.put(3, &key(7, 3, 40), default);
        assert_eq!(m.get(3, &key(7, 3, 40)), Some(default), "no rule matched");
        assert_eq!(m.get(3, &key(7, 2, 40)), None, "only the last key");
        m.put(LEASES, &key(7, 2, 40), rule(1, 1, Verdict::Allow)); // no such lease: ignored
        m.clear();
        assert_eq!(m.get(3, &key(7, 3, 40)), None);
    }

    /// Every field survives packing, at its extremes.
    #[test]
    fn outcomes_pack_and_unpack_whole() {
        for verdict in [
            Verdict::Allow,
            Verdict::Log,
            Verdict::Deny,
            Verdict::AuditDeny,
            Verdict::Fault,
        ] {
            for (counter, line, matched) in
                [(0, 0, true), (u32::MAX, u32::MAX, false), (7, 1, false)]
            {
                let o = Outcome {
                    counter,
                    rule: matched.then_some(counter),
                    line,
                    verdict,
                };
                assert_eq!(Outcome::unpack(o.pack()), o);
            }
        }
    }
}
