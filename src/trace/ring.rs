//! A bounded lock-free ring of trace records.
//!
//! Dmitry Vyukov's bounded queue: every slot carries a sequence number that
//! says whose turn it is. A producer claims position `pos` with one CAS on
//! `head` when the slot's sequence equals `pos`, writes the record and
//! publishes it with `seq = pos + 1`; the consumer takes it when `seq ==
//! pos + 1` and hands the slot to the next lap with `seq = pos + capacity`.
//! A producer that finds the slot still holding last lap's record drops its
//! record and counts it in `lost`: **it never waits for the consumer**. With
//! one producer per ring (std: per-thread rings) the CAS never fails; with
//! several (no_std: shared shards) a failed CAS only means another producer
//! got the slot first, and the loop retries on the next position.
//!
//! There is one consumer at a time (the `consuming` flag; a second consumer
//! gets `None`). Each slot has `stride` payload bytes next to it, written
//! and read under the same sequence protocol as the record.
//!
//! Built with `--cfg loom`, the atomics and the record cell are loom's, and
//! `loom_tests` explores every interleaving of two producers and a consumer.

use super::record::KosShimTraceRecord as Record;

#[cfg(not(loom))]
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
#[cfg(loom)]
use loom::sync::atomic::{AtomicBool, AtomicU64, Ordering};

#[cfg(loom)]
use loom::cell::UnsafeCell as RecCell;

/// `core`'s UnsafeCell with loom's `with`/`with_mut` interface.
#[cfg(not(loom))]
struct RecCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> RecCell<T> {
    const fn new(v: T) -> Self {
        RecCell(core::cell::UnsafeCell::new(v))
    }
    fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }
    fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// One ring slot: the turn counter and the record.
pub struct Slot {
    seq: AtomicU64,
    rec: RecCell<Record>,
}

impl Slot {
    /// An empty slot for static storage; [`Ring::init`] numbers it before first use.
    #[cfg(not(loom))]
    pub const fn empty() -> Slot {
        Slot {
            seq: AtomicU64::new(0),
            rec: RecCell::new(Record {
                start: 0,
                duration: 0,
                thread: 0,
                correlation: 0,
                handle: 0,
                rc: 0,
                iid: 0,
                mid: 0,
                op: 0,
                verdict: 0,
                kind: 0,
                flags: 0,
                const_out: 0,
                arena_out: 0,
                const_in: 0,
                arena_in: 0,
                ncaps_out: 0,
                ncaps_in: 0,
                ring: 0,
                payload_const: 0,
                payload_arena: 0,
                payload_resp_const: 0,
                payload_resp_arena: 0,
                dropped: 0,
                peer_task: 0,
                peer_thread: 0,
                trace_id: 0,
                span_id: 0,
            }),
        }
    }

    /// An empty slot (allocating builds).
    pub fn new() -> Slot {
        Slot {
            seq: AtomicU64::new(0),
            rec: RecCell::new(Record::default()),
        }
    }
}

impl Default for Slot {
    fn default() -> Self {
        Slot::new()
    }
}

// SAFETY: a slot's cells are accessed only under the sequence protocol
// described on `Ring`'s Sync impl: one thread at a time.
unsafe impl Sync for Slot {}

/// Keeps the producer's and the consumer's counters on separate cache lines.
#[repr(align(64))]
struct Padded<T>(T);

/// A bounded ring of records; see the module documentation.
pub struct Ring<'s> {
    head: Padded<AtomicU64>,
    tail: Padded<AtomicU64>,
    lost: AtomicU64,
    reported: AtomicU64,
    consuming: AtomicBool,
    /// Only one thread ever pushes at a time (std's per-thread rings): the
    /// position is taken with a plain store instead of a CAS.
    single: bool,
    mask: u64,
    id: u32,
    slots: &'s [Slot],
    payload: &'s [core::cell::UnsafeCell<u8>],
    stride: usize,
}

// SAFETY: a slot's record and payload bytes are written only by the producer
// that won the slot's position (seq == pos, then CAS on head; or, for a
// single-producer ring, the one thread allowed to push) and read only
// by the single consumer after the Release store seq = pos + 1; the consumer
// hands the slot back with a Release store after its last read. No two
// threads ever access one slot's cells at the same time.
unsafe impl Sync for Ring<'_> {}
// SAFETY: the ring owns no thread-bound state; see Sync above.
unsafe impl Send for Ring<'_> {}

impl<'s> Ring<'s> {
    /// A ring over `slots` (length a power of two, at least 2) with
    /// `payload.len() / slots.len()` payload bytes per slot. With
    /// `single_producer`, the caller guarantees that pushes never overlap
    /// (one owning thread at a time, ownership handed over with
    /// Release/Acquire). Call [`Ring::init`] before the ring is shared.
    pub fn over(
        id: u32,
        slots: &'s [Slot],
        payload: &'s [core::cell::UnsafeCell<u8>],
        single_producer: bool,
    ) -> Ring<'s> {
        assert!(slots.len() >= 2 && slots.len().is_power_of_two());
        assert!(payload.len().is_multiple_of(slots.len()));
        Ring {
            head: Padded(AtomicU64::new(0)),
            tail: Padded(AtomicU64::new(0)),
            lost: AtomicU64::new(0),
            reported: AtomicU64::new(0),
            consuming: AtomicBool::new(false),
            single: single_producer,
            mask: slots.len() as u64 - 1,
            id,
            slots,
            payload,
            stride: payload.len() / slots.len(),
        }
    }

    /// Number the slots for the first lap. Only before the ring is shared.
    pub fn init(&self) {
        for (i, s) in self.slots.iter().enumerate() {
            s.seq.store(i as u64, Ordering::Relaxed);
        }
        self.head.0.store(0, Ordering::Relaxed);
        self.tail.0.store(0, Ordering::Relaxed);
    }

    /// Empty the ring and zero its counters, as [`Ring::init`] left it. For
    /// a forked child (`crate::fork`), whose copy of the ring holds the
    /// parent's records and may have been caught mid-way by a thread the
    /// child does not have: a producer's won slot never published, a
    /// consumer's `consuming` flag never cleared (every later drain would
    /// be turned away). Only while no other thread can reach the ring.
    pub fn reset(&self) {
        self.init();
        self.lost.store(0, Ordering::Relaxed);
        self.reported.store(0, Ordering::Relaxed);
        self.consuming.store(false, Ordering::Release);
    }

    /// The ring's index (reported in lost records).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Capacity in records.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Payload bytes a slot holds (constant part and arena share them).
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Records dropped because the ring was full, since it was made.
    pub fn lost(&self) -> u64 {
        self.lost.load(Ordering::Relaxed)
    }

    /// Whether the record pushed at `pos` begins a quarter of the ring and
    /// the ring is at least half full: then the drainer should come early.
    /// (Reading the consumer's position costs a cache miss, so it is read
    /// only at quarter points; the capacity is a power of two, so a mask
    /// finds them, no division.)
    #[inline(always)]
    pub fn wants_drain(&self, pos: u64) -> bool {
        pos & (self.mask >> 2) == 0 && self.len() * 2 >= self.slots.len() as u64
    }

    /// Records pushed and not yet drained (approximate while producers run).
    pub fn len(&self) -> u64 {
        let h = self.head.0.load(Ordering::Relaxed);
        let t = self.tail.0.load(Ordering::Relaxed);
        h.saturating_sub(t)
    }

    /// Whether no record waits (approximate while producers run).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append `rec` with up to `stride/4` bytes of each payload part (the
    /// record's `payload_*` lengths are set to what was kept). Returns the
    /// record's position, or `None` — and counts the record lost — if the
    /// ring is full. Never waits.
    #[inline]
    pub fn push(&self, rec: &Record, constant: &[u8], arena: &[u8]) -> Option<u64> {
        self.push_parts(rec, &[constant, arena, &[], &[]])
    }

    /// [`Ring::push`] with the four payload parts a record can carry: the
    /// message's constant part and arena, then (Call/CallEx) the response's;
    /// each is cut to a quarter of the slot's payload bytes.
    pub fn push_parts(&self, rec: &Record, parts: &[&[u8]; 4]) -> Option<u64> {
        self.claim(|slot, pos| self.fill(slot, pos, rec, parts))
    }

    /// [`Ring::push`] of a record without payload (its `payload_*` lengths
    /// are 0): `make` builds the record only once a slot is won, written
    /// straight into it (inlined, the fields go from the caller's values to
    /// the slot with no record on the stack in between).
    #[inline(always)]
    pub fn push_record(&self, make: impl FnOnce() -> Record) -> Option<u64> {
        self.claim(|slot, _| {
            let r = Record {
                ring: self.id,
                payload_const: 0,
                payload_arena: 0,
                payload_resp_const: 0,
                payload_resp_arena: 0,
                ..make()
            };
            // SAFETY: this producer won the slot's position (see the Sync
            // impl): nobody else touches it until the Release store of seq.
            slot.rec.with_mut(|p| unsafe { p.write(r) });
        })
    }

    /// Take the next position, `fill` its slot and publish it; `None` (and
    /// the record counted lost) when the ring is full.
    #[inline(always)]
    fn claim(&self, fill: impl FnOnce(&Slot, u64)) -> Option<u64> {
        let mut pos = self.head.0.load(Ordering::Relaxed);
        if self.single {
            let slot = &self.slots[(pos & self.mask) as usize];
            if slot.seq.load(Ordering::Acquire) != pos {
                self.lost.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            self.head.0.store(pos + 1, Ordering::Relaxed);
            fill(slot, pos);
            slot.seq.store(pos + 1, Ordering::Release);
            return Some(pos);
        }
        loop {
            let slot = &self.slots[(pos & self.mask) as usize];
            let seq = slot.seq.load(Ordering::Acquire);
            let dif = seq.wrapping_sub(pos) as i64;
            if dif == 0 {
                match self.head.0.compare_exchange_weak(
                    pos,
                    pos + 1,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        fill(slot, pos);
                        slot.seq.store(pos + 1, Ordering::Release);
                        return Some(pos);
                    }
                    Err(now) => pos = now,
                }
            } else if dif < 0 {
                // The slot still holds last lap's record: full.
                self.lost.fetch_add(1, Ordering::Relaxed);
                return None;
            } else {
                pos = self.head.0.load(Ordering::Relaxed);
            }
        }
    }

    fn fill(&self, slot: &Slot, pos: u64, rec: &Record, parts: &[&[u8]; 4]) {
        let quarter = (self.stride / 4).min(u16::MAX as usize);
        let lens = parts.map(|p| p.len().min(quarter));
        let mut r = *rec;
        r.ring = self.id;
        r.payload_const = lens[0] as u16;
        r.payload_arena = lens[1] as u16;
        r.payload_resp_const = lens[2] as u16;
        r.payload_resp_arena = lens[3] as u16;
        // SAFETY: this producer won position `pos` (see the Sync impl): nobody
        // else touches the slot until the Release store of seq that follows.
        slot.rec.with_mut(|p| unsafe { p.write(r) });
        let base = (pos & self.mask) as usize * self.stride;
        let mut at = 0;
        for (part, len) in parts.iter().zip(lens) {
            if len == 0 {
                continue;
            }
            // SAFETY: as above; the four lengths are each at most a quarter
            // of the stride, so base + at + len <= base + stride lies inside
            // the payload region, which has stride bytes per slot.
            unsafe {
                let dst = core::cell::UnsafeCell::raw_get(self.payload.as_ptr().add(base + at));
                core::ptr::copy_nonoverlapping(part.as_ptr(), dst, len);
            }
            at += len;
        }
    }

    /// Take up to `max` records in order, calling `f(record, payload)` for
    /// each (payload: the parts [`Ring::push_parts`] took, in order). `None` if
    /// another consumer is draining this ring right now.
    pub fn drain(&self, max: usize, mut f: impl FnMut(&Record, &[u8])) -> Option<usize> {
        if self
            .consuming
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            return None;
        }
        struct Release<'a>(&'a AtomicBool);
        impl Drop for Release<'_> {
            fn drop(&mut self) {
                self.0.store(false, Ordering::Release);
            }
        }
        let _release = Release(&self.consuming);
        let mut pos = self.tail.0.load(Ordering::Relaxed);
        let mut n = 0;
        while n < max {
            let slot = &self.slots[(pos & self.mask) as usize];
            if slot.seq.load(Ordering::Acquire) != pos + 1 {
                break;
            }
            // SAFETY: seq == pos + 1 (Acquire) means the producer finished
            // the slot and no one else touches it until we hand it back.
            let rec = slot.rec.with(|p| unsafe { *p });
            let len = rec.payload_len().min(self.stride);
            let payload: &[u8] = if len == 0 {
                &[]
            } else {
                let base = (pos & self.mask) as usize * self.stride;
                // SAFETY: as above, and base + len lies in the slot's stride.
                unsafe {
                    core::slice::from_raw_parts(
                        core::cell::UnsafeCell::raw_get(self.payload.as_ptr().add(base)),
                        len,
                    )
                }
            };
            // A panic in `f` leaves the slot and `tail` as they were: the
            // record is delivered again by the next drain, never lost.
            f(&rec, payload);
            self.tail.0.store(pos + 1, Ordering::Relaxed);
            slot.seq.store(pos + self.mask + 1, Ordering::Release);
            pos += 1;
            n += 1;
        }
        Some(n)
    }

    /// Records lost since the previous call (consumer side; for lost records).
    pub fn take_lost(&self) -> u64 {
        let now = self.lost.load(Ordering::Relaxed);
        let before = self.reported.swap(now, Ordering::Relaxed);
        now.saturating_sub(before)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    fn ring(cap: usize, stride: usize) -> Ring<'static> {
        ring_for(cap, stride, false)
    }

    fn ring_for(cap: usize, stride: usize, single: bool) -> Ring<'static> {
        let slots: &'static [Slot] = Vec::from_iter((0..cap).map(|_| Slot::new())).leak();
        let payload: &'static [core::cell::UnsafeCell<u8>] =
            Vec::from_iter((0..cap * stride).map(|_| core::cell::UnsafeCell::new(0))).leak();
        let r = Ring::over(0, slots, payload, single);
        r.init();
        r
    }

    fn rec(n: u64) -> Record {
        Record {
            correlation: n,
            ..Default::default()
        }
    }

    #[test]
    fn full_ring_drops_and_counts_then_recovers() {
        for single in [false, true] {
            full_then_recovers(ring_for(4, 0, single));
        }
    }

    fn full_then_recovers(r: Ring<'static>) {
        for i in 0..6 {
            assert_eq!(r.push(&rec(i), &[], &[]), (i < 4).then_some(i));
        }
        assert_eq!(r.lost(), 2);
        assert_eq!(r.take_lost(), 2);
        assert_eq!(r.take_lost(), 0);
        let mut got = vec![];
        assert_eq!(r.drain(3, |x, _| got.push(x.correlation)), Some(3));
        assert_eq!(r.push(&rec(10), &[], &[]), Some(4));
        assert_eq!(r.drain(usize::MAX, |x, _| got.push(x.correlation)), Some(2));
        assert_eq!(got, vec![0, 1, 2, 3, 10]);
        assert!(r.is_empty());
    }

    #[test]
    fn payload_is_cut_to_a_quarter_of_the_stride_per_part() {
        let r = ring(2, 16);
        assert!(r.push(&rec(1), b"constant", b"ar").is_some());
        assert!(r
            .push_parts(&rec(2), &[b"req", b"", b"response", b"a"])
            .is_some());
        let mut seen = vec![];
        r.drain(2, |x, p| {
            let lens = (
                x.payload_const,
                x.payload_arena,
                x.payload_resp_const,
                x.payload_resp_arena,
            );
            seen.push((lens, p.to_vec()));
        });
        assert_eq!(
            seen,
            vec![
                ((4, 2, 0, 0), b"consar".to_vec()),
                ((3, 0, 4, 1), b"reqrespa".to_vec())
            ]
        );
    }

    #[test]
    fn a_second_consumer_is_turned_away() {
        let r = ring(2, 0);
        assert!(r.push(&rec(1), &[], &[]).is_some());
        let inner = r.drain(1, |_, _| assert_eq!(r.drain(1, |_, _| {}), None));
        assert_eq!(inner, Some(1));
    }

    #[test]
    fn a_reset_ring_is_as_new_whatever_a_vanished_thread_left() {
        for single in [false, true] {
            let r = ring_for(4, 8, single);
            for i in 0..6 {
                let _ = r.push(&rec(i), b"p", &[]);
            }
            assert_eq!(r.lost(), 2);
            // A fork caught a consumer inside a drain and a producer that had
            // won a slot and not published it: in the child neither finishes.
            r.consuming.store(true, Ordering::Relaxed);
            assert_eq!(r.drain(usize::MAX, |_, _| {}), None);
            r.head
                .0
                .store(r.head.0.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            r.reset();
            assert_eq!((r.lost(), r.take_lost(), r.len()), (0, 0, 0));
            let mut got = vec![];
            for i in 10..14 {
                assert_eq!(r.push(&rec(i), b"q", &[]), Some(i - 10));
            }
            assert_eq!(r.push(&rec(14), &[], &[]), None);
            let n = r.drain(usize::MAX, |x, p| got.push((x.correlation, p.to_vec())));
            assert_eq!(n, Some(4));
            let want: Vec<_> = (10..14).map(|i| (i, b"q".to_vec())).collect();
            assert_eq!(got, want);
            assert_eq!(r.take_lost(), 1);
        }
    }

    /// 16 producers share 4 small rings (the no_std shard layout, so CASes
    /// contend) while a consumer drains: every push is either drained exactly
    /// once, in per-producer order, or counted lost.
    #[test]
    fn shared_rings_under_contention_account_for_every_push() {
        const THREADS: u64 = 16;
        const PER: u64 = 20_000;
        let rings: Arc<Vec<Ring<'static>>> = Arc::new((0..4).map(|_| ring(64, 0)).collect());
        let pushed = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let consumer = {
            let (rings, done) = (rings.clone(), done.clone());
            std::thread::spawn(move || {
                let mut last = vec![None::<u64>; THREADS as usize];
                let mut drained = 0u64;
                loop {
                    let finished = done.load(Ordering::Acquire);
                    for r in rings.iter() {
                        r.drain(usize::MAX, |x, _| {
                            let (t, i) = (x.thread as usize, x.correlation);
                            assert!(last[t].is_none_or(|l| l < i), "order or duplicate");
                            last[t] = Some(i);
                            drained += 1;
                        });
                    }
                    if finished {
                        return drained;
                    }
                    std::thread::yield_now();
                }
            })
        };
        let producers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (rings, pushed) = (rings.clone(), pushed.clone());
                std::thread::spawn(move || {
                    for i in 0..PER {
                        let r = Record {
                            thread: t,
                            correlation: i,
                            ..Default::default()
                        };
                        if rings[(t % 4) as usize].push(&r, &[], &[]).is_some() {
                            pushed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        done.store(true, Ordering::Release);
        let drained = consumer.join().unwrap();
        let lost: u64 = rings.iter().map(|r| r.lost()).sum();
        assert_eq!(drained, pushed.load(Ordering::Relaxed) as u64);
        assert_eq!(drained + lost, THREADS * PER);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;

    fn ring(cap: usize) -> Ring<'static> {
        ring_for(cap, false)
    }

    fn ring_for(cap: usize, single: bool) -> Ring<'static> {
        let slots: &'static [Slot] = Vec::from_iter((0..cap).map(|_| Slot::new())).leak();
        let r = Ring::over(0, slots, &[], single);
        r.init();
        r
    }

    /// The single-producer path (std's per-thread rings): one producer
    /// pushes three records into 2 slots while the consumer drains twice.
    /// Delivered in order, each once, delivered + lost == 3.
    #[test]
    fn single_producer_one_consumer() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(|| {
            let r = Arc::new(ring_for(2, true));
            let producer = {
                let r = r.clone();
                loom::thread::spawn(move || {
                    (0..3u64)
                        .filter(|&i| {
                            let rec = Record {
                                correlation: i,
                                ..Default::default()
                            };
                            r.push(&rec, &[], &[]).is_some()
                        })
                        .count() as u64
                })
            };
            let mut seen = vec![];
            r.drain(usize::MAX, |x, _| seen.push(x.correlation));
            r.drain(usize::MAX, |x, _| seen.push(x.correlation));
            let ok = producer.join().unwrap();
            r.drain(usize::MAX, |x, _| seen.push(x.correlation));
            assert_eq!(seen.len() as u64, ok);
            assert_eq!(ok + r.lost(), 3);
            assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        });
    }

    /// Two producers push two records each into a 2-slot ring while the
    /// consumer drains once; then the rest is drained. In every interleaving
    /// with up to 3 preemptions (loom's bound; the unbounded run takes
    /// minutes and found nothing more):
    /// each record is delivered at most once, in per-producer order, and
    /// delivered + lost == pushed attempts.
    #[test]
    fn two_producers_one_consumer() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(|| {
            let r = Arc::new(ring(2));
            let producers: Vec<_> = (0..2u64)
                .map(|t| {
                    let r = r.clone();
                    loom::thread::spawn(move || {
                        let mut ok = 0u64;
                        for i in 0..2u64 {
                            let rec = Record {
                                thread: t,
                                correlation: i,
                                ..Default::default()
                            };
                            if r.push(&rec, &[], &[]).is_some() {
                                ok += 1;
                            }
                        }
                        ok
                    })
                })
                .collect();
            let mut seen: Vec<(u64, u64)> = vec![];
            r.drain(usize::MAX, |x, _| seen.push((x.thread, x.correlation)));
            let ok: u64 = producers.into_iter().map(|p| p.join().unwrap()).sum();
            r.drain(usize::MAX, |x, _| seen.push((x.thread, x.correlation)));
            assert_eq!(seen.len() as u64, ok);
            assert_eq!(ok + r.lost(), 4);
            for t in 0..2 {
                let mine: Vec<u64> = seen.iter().filter(|s| s.0 == t).map(|s| s.1).collect();
                assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
            }
        });
    }
}
