//! Each lease holder's last decision under one policy: a thread that sends
//! the same kind of message again (the common case: a client calling one
//! method in a loop) gets the rule without the index lookup.
//!
//! A decision is a pure function of the policy and the [`Key`] (operation
//! class, handle, iid, mid and the three sizes, which size matchers read), so
//! a slot remembers the whole key and the first matching rule. The memo
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
use crate::lease::LEASES;

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
    rule: AtomicU64,
}

impl Slot {
    const fn empty() -> Slot {
        Slot {
            key: [const { AtomicU64::new(0) }; 4],
            rule: AtomicU64::new(0),
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

    /// The first matching rule remembered for `k` by the holder of `lease`
    /// (`Some(None)`: no rule matches), or `None` if its last key differs.
    #[inline(always)]
    pub(crate) fn get(&self, lease: usize, k: &Key) -> Option<Option<usize>> {
        let s = self.slots.get(lease)?;
        let w = words(k);
        let hit = s.key[0].load(Ordering::Relaxed) == w[0]
            && s.key[1].load(Ordering::Relaxed) == w[1]
            && s.key[2].load(Ordering::Relaxed) == w[2]
            && s.key[3].load(Ordering::Relaxed) == w[3];
        if !hit {
            return None;
        }
        Some((s.rule.load(Ordering::Relaxed) as usize).checked_sub(1))
    }

    /// Remember `rule` as the decision for `k` of the holder of `lease`.
    #[inline]
    pub(crate) fn put(&self, lease: usize, k: &Key, rule: Option<usize>) {
        let Some(s) = self.slots.get(lease) else {
            return;
        };
        for (slot, w) in s.key.iter().zip(words(k)) {
            slot.store(w, Ordering::Relaxed);
        }
        s.rule
            .store(rule.map_or(0, |r| r as u64 + 1), Ordering::Relaxed);
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

    #[test]
    fn a_slot_answers_only_its_last_key() {
        let mut m = Memo::new();
        assert_eq!(
            m.get(3, &key(0, 0, 0)),
            None,
            "an empty slot matches no key"
        );
        m.put(3, &key(7, 2, 40), Some(5));
        assert_eq!(m.get(3, &key(7, 2, 40)), Some(Some(5)));
        assert_eq!(m.get(4, &key(7, 2, 40)), None, "another lease's slot");
        assert_eq!(m.get(3, &key(7, 2, 41)), None, "a size differs");
        assert_eq!(m.get(3, &key(8, 2, 40)), None, "the handle differs");
        let recv = Key {
            class: Class::Recv,
            ..key(7, 2, 40)
        };
        assert_eq!(m.get(3, &recv), None, "the class differs");
        m.put(3, &key(7, 3, 40), None);
        assert_eq!(m.get(3, &key(7, 3, 40)), Some(None), "no rule matched");
        assert_eq!(m.get(3, &key(7, 2, 40)), None, "only the last key");
        m.put(LEASES, &key(7, 2, 40), Some(1)); // no such lease: ignored
        m.clear();
        assert_eq!(m.get(3, &key(7, 3, 40)), None);
    }
}
