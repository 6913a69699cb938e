//! The compiled form of a policy: a lookup index whose cost does not grow
//! with the number of rules.
//!
//! Per operation class, the iid space is cut into intervals at every rule's
//! iid bounds; inside an interval, the mid space is cut at the bounds of the
//! rules covering it, and inside that, the handle space at the handles of
//! the rules covering it. Each (iid, mid, handle) cell lists, in rule order,
//! the rules that match every message of the cell by operation, iid, mid and
//! handle, cut after the first rule with no size matchers (it always
//! matches, so nothing after it can win). Adjacent cells and tables with
//! identical content are merged.
//!
//! A decision finds the iid interval, then the mid interval inside it, then
//! the handle interval (a binary search), and scans the cell's list checking
//! only `bytes`, `arena` and `ncaps`; the first hit is exactly the first
//! matching rule of the linear order. The iid and mid levels are found in
//! one load where they are long: a class with more than [`DIRECT_MIN`] iid
//! intervals gets a *direct table* (65,536 `u16` entries, one per iid: the
//! position of its interval), and so do the [`MID_TABLES`] iid intervals
//! with the most mid intervals (more than [`DIRECT_MIN`]); shorter levels
//! keep the binary search (a few steps). Direct tables exist in builds with
//! a heap (feature `clib`: std, or the C library's `malloc` in the wrap
//! archive) only: 128 KiB each, at most `3 + MID_TABLES` (2.4 MiB) per
//! policy, allocated at load. In the bare core (no heap) the tables are
//! fixed-size statics and every level is a binary search.
//!
//! If a class's cells would exceed the build's budget, that class falls back
//! to one cell listing its rules (a linear scan): still exact, just slower.

use super::rules::{Class, Key, Rule};
use super::store::{Store, Zero};

/// One interval: values from `start` up to the next entry's `start`; its
/// content is `len` entries at `off` of the next level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Level {
    start: u32,
    off: u32,
    len: u32,
}

impl Zero for Level {
    const ZERO: Self = Level {
        start: 0,
        off: 0,
        len: 0,
    };
}

impl Level {
    /// Where its content is in the next level's table.
    #[inline]
    fn range(self) -> core::ops::Range<usize> {
        self.off as usize..self.off as usize + self.len as usize
    }
}

/// An iid interval (or, in `classes`, an operation class): a [`Level`] and
/// how its content is searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Node {
    level: Level,
    /// 0: binary search; n: direct table n - 1 gives the position of a
    /// value's interval in the content.
    direct: u32,
}

impl Zero for Node {
    const ZERO: Self = Node {
        level: Level::ZERO,
        direct: 0,
    };
}

/// A level gets a direct table only if it has more intervals than this
/// (a binary search over at most 8 is three steps).
pub(crate) const DIRECT_MIN: usize = 8;

/// Most direct tables for mid levels in one policy (the iid level has at
/// most one per class).
pub(crate) const MID_TABLES: usize = 16;

/// Entries of one direct table: one per 16-bit value.
const DIRECT_LEN: usize = 1 << 16;

#[cfg(feature = "clib")]
mod cap {
    pub(super) const IIDS: usize = 1 << 20;
    pub(super) const MIDS: usize = 1 << 22;
    pub(super) const HNDS: usize = 1 << 22;
    pub(super) const CAND: usize = 1 << 22;
    pub(super) const DIRECT: usize = (3 + super::MID_TABLES) * super::DIRECT_LEN;
}

#[cfg(not(feature = "clib"))]
mod cap {
    use super::super::MAX_RULES;
    pub(super) const IIDS: usize = 3 * (2 * MAX_RULES + 1);
    pub(super) const MIDS: usize = 8 * MAX_RULES;
    pub(super) const HNDS: usize = 16 * MAX_RULES;
    pub(super) const CAND: usize = 32 * MAX_RULES;
    /// No direct tables: 128 KiB each would dwarf the rest of the index.
    pub(super) const DIRECT: usize = 0;
}

/// Most boundaries one dimension can have: two per rule plus the origin.
const BOUNDS: usize = 2 * super::MAX_RULES + 1;

/// Budget of one class's index (a third of each table), so a fallback for
/// the others always fits.
const CLASS_MIDS: usize = cap::MIDS / 3;
const CLASS_HNDS: usize = cap::HNDS / 3;
const CLASS_CAND: usize = cap::CAND / 3;

/// The lookup index of one policy (built by [`Index::build`]).
#[derive(Debug, Clone)]
pub struct Index {
    classes: [Node; 3],
    iids: Store<Node, { cap::IIDS }>,
    mids: Store<Level, { cap::MIDS }>,
    hnds: Store<Level, { cap::HNDS }>,
    cand: Store<u32, { cap::CAND }>,
    direct: Store<u16, { cap::DIRECT }>,
}

impl Default for Index {
    fn default() -> Self {
        Self::new()
    }
}

/// The class's index did not fit its budget.
struct OverBudget;

fn sorted_bounds(bounds: &mut Store<u32, BOUNDS>) {
    let s = bounds.as_mut_slice();
    s.sort_unstable();
    let mut w = 0;
    for r in 0..s.len() {
        if w == 0 || s[r] != s[w - 1] {
            s[w] = s[r];
            w += 1;
        }
    }
    bounds.truncate(w);
}

/// The sorted distinct bounds `{0} ∪ {lo, hi+1}` of `spans` (hi+1 omitted
/// past `max`).
fn bounds_of(
    spans: impl Iterator<Item = (u64, u64)>,
    max: u64,
) -> Result<Store<u32, BOUNDS>, OverBudget> {
    let mut b: Store<u32, BOUNDS> = Store::new();
    b.push(0).map_err(|_| OverBudget)?;
    for (lo, hi) in spans {
        b.push(lo as u32).map_err(|_| OverBudget)?;
        if hi < max {
            b.push(hi as u32 + 1).map_err(|_| OverBudget)?;
        }
    }
    sorted_bounds(&mut b);
    Ok(b)
}

/// Append to `direct` the table mapping every 16-bit value to the position
/// of its interval among those starting at `starts` (ascending, the first
/// at 0). Returns the table's [`Node::direct`] tag, or 0 (nothing appended)
/// if it does not fit or `starts` is not such a sequence.
fn direct_table(
    direct: &mut Store<u16, { cap::DIRECT }>,
    starts: impl Iterator<Item = u32>,
) -> u32 {
    let base = direct.len();
    if !base.is_multiple_of(DIRECT_LEN) {
        return 0;
    }
    let fill = || -> Option<()> {
        let mut filled = 0usize;
        let mut cur: Option<u16> = None;
        for (i, s) in starts.enumerate() {
            let (i, s) = (u16::try_from(i).ok()?, s as usize);
            match cur {
                None if s == 0 => {}
                Some(c) if s > filled && s < DIRECT_LEN => {
                    direct.push_n(c, s - filled).ok()?;
                    filled = s;
                }
                _ => return None,
            }
            cur = Some(i);
        }
        direct.push_n(cur?, DIRECT_LEN - filled).ok()
    };
    match fill() {
        Some(()) => (base / DIRECT_LEN) as u32 + 1,
        _ => {
            direct.truncate(base);
            0
        }
    }
}

/// The last of `levels` whose start is at most `v`. Short levels (most of
/// them: a level longer than [`DIRECT_MIN`] usually has a direct table) are
/// scanned, which costs fewer instructions than a binary search's set-up.
#[inline]
fn find<T>(levels: &[T], v: u32, start: impl Fn(&T) -> u32) -> Option<&T> {
    let i = if levels.len() <= DIRECT_MIN {
        levels.iter().take_while(|l| start(l) <= v).count()
    } else {
        levels.partition_point(|l| start(l) <= v)
    };
    levels.get(i.checked_sub(1)?)
}

impl Index {
    /// An empty index (every lookup: no match).
    pub const fn new() -> Self {
        Index {
            classes: [Node::ZERO; 3],
            iids: Store::new(),
            mids: Store::new(),
            hnds: Store::new(),
            cand: Store::new(),
            direct: Store::new(),
        }
    }

    /// Build the index of `rules` (replacing any previous content).
    pub fn build(&mut self, rules: &[Rule]) {
        self.iids.clear();
        self.mids.clear();
        self.hnds.clear();
        self.cand.clear();
        self.direct.clear();
        for c in Class::ALL {
            let lens = self.lens();
            let linear = self.build_class(rules, c).is_err();
            if linear {
                self.truncate(lens);
                self.build_linear(rules, c);
            }
            // `start` of a class entry flags the linear fallback.
            self.classes[c as usize] = Node {
                level: Level {
                    start: linear as u32,
                    off: lens.0 as u32,
                    len: (self.iids.len() - lens.0) as u32,
                },
                direct: 0,
            };
        }
        self.build_direct();
    }

    /// Give the long iid levels, then the longest mid levels, their direct
    /// tables (as many as the budget holds).
    fn build_direct(&mut self) {
        if cap::DIRECT == 0 {
            return;
        }
        let long = |n: &Node| n.level.len as usize > DIRECT_MIN;
        let tables = self.classes.iter().filter(|n| long(n)).count()
            + self.iids.iter().filter(|n| long(n)).count().min(MID_TABLES);
        // One allocation of exactly the tables' size (no growth slack).
        self.direct.reserve(tables * DIRECT_LEN);
        for c in &mut self.classes {
            if long(c) {
                let starts = self.iids[c.level.range()].iter().map(|n| n.level.start);
                c.direct = direct_table(&mut self.direct, starts);
            }
        }
        for _ in 0..MID_TABLES {
            let longest = self
                .iids
                .iter()
                .enumerate()
                .filter(|(_, n)| n.direct == 0 && long(n))
                .max_by_key(|&(i, n)| (n.level.len, core::cmp::Reverse(i)));
            let Some((i, n)) = longest else { break };
            let starts = self.mids[n.level.range()].iter().map(|l| l.start);
            let tag = direct_table(&mut self.direct, starts);
            if tag == 0 {
                break;
            }
            self.iids.as_mut_slice()[i].direct = tag;
        }
    }

    fn lens(&self) -> (usize, usize, usize, usize) {
        (
            self.iids.len(),
            self.mids.len(),
            self.hnds.len(),
            self.cand.len(),
        )
    }

    fn truncate(&mut self, l: (usize, usize, usize, usize)) {
        self.iids.truncate(l.0);
        self.mids.truncate(l.1);
        self.hnds.truncate(l.2);
        self.cand.truncate(l.3);
    }

    /// Build every class as the linear fallback (tests compare it with the
    /// reference; real builds only fall back when over budget).
    #[cfg(test)]
    pub(crate) fn build_linear_only(&mut self, rules: &[Rule]) {
        self.truncate((0, 0, 0, 0));
        self.direct.clear();
        for c in Class::ALL {
            let i0 = self.iids.len();
            self.build_linear(rules, c);
            self.classes[c as usize] = Node {
                level: Level {
                    start: 1,
                    off: i0 as u32,
                    len: 1,
                },
                direct: 0,
            };
        }
    }

    /// Whether class `c` was indexed (false: it fell back to a linear scan).
    pub fn is_indexed(&self, c: Class) -> bool {
        self.classes[c as usize].level.start == 0
    }

    /// Total entries of the interval tables and candidate lists (a measure
    /// of the index's size that grows with the rules; direct tables are
    /// counted by [`Index::direct_tables`]).
    pub fn entries(&self) -> usize {
        self.iids.len() + self.mids.len() + self.hnds.len() + self.cand.len()
    }

    /// Number of direct tables (iid or mid value to interval; 65,536 `u16`
    /// entries each).
    pub fn direct_tables(&self) -> usize {
        self.direct.len() / DIRECT_LEN
    }

    /// Whether class `c`'s iid level has a direct table.
    pub fn iid_direct(&self, c: Class) -> bool {
        self.classes[c as usize].direct != 0
    }

    /// Whether the mid level of class `c`'s iid interval holding `iid` has
    /// a direct table.
    #[cfg(test)]
    pub(crate) fn mid_direct(&self, c: Class, iid: u16) -> bool {
        let cl = self.classes[c as usize];
        find(&self.iids[cl.level.range()], iid as u32, |n| n.level.start)
            .is_some_and(|n| n.direct != 0)
    }

    /// Bytes the index's tables hold (every table and list; not the spare
    /// capacity of the build's vectors).
    pub fn bytes(&self) -> usize {
        use core::mem::size_of;
        self.iids.len() * size_of::<Node>()
            + (self.mids.len() + self.hnds.len()) * size_of::<Level>()
            + self.cand.len() * size_of::<u32>()
            + self.direct.len() * size_of::<u16>()
    }

    fn build_linear(&mut self, rules: &[Rule], c: Class) {
        let c0 = self.cand.len();
        let all = super::rules::Span::ALL16;
        for (i, r) in rules.iter().enumerate() {
            if r.ops.contains(c) {
                // Cannot fail: a class's rules fit in a third of the table.
                let _ = self.cand.push(i as u32);
                if !r.has_residual() && r.iid == all && r.mid == all {
                    break;
                }
            }
        }
        // One cell per level, scanned with the full matcher (see first_match).
        let (m0, h0) = (self.mids.len() as u32, self.hnds.len() as u32);
        let _ = self.hnds.push(Level {
            start: 0,
            off: c0 as u32,
            len: (self.cand.len() - c0) as u32,
        });
        let _ = self.mids.push(Level {
            start: 0,
            off: h0,
            len: 1,
        });
        let _ = self.iids.push(Node {
            level: Level {
                start: 0,
                off: m0,
                len: 1,
            },
            direct: 0,
        });
    }

    fn build_class(&mut self, rules: &[Rule], c: Class) -> Result<(), OverBudget> {
        let base = self.lens();
        let in_class = |r: &&Rule| r.ops.contains(c);
        let ib = bounds_of(
            rules.iter().filter(in_class).map(|r| (r.iid.lo, r.iid.hi)),
            0xFFFF,
        )?;
        let mut prev: Option<Level> = None;
        // (The iid level's entries are `Node`s; their direct tables come
        // after every class is built, in `build_direct`.)
        // The rules of the class covering the current iid interval, in rule
        // order: the mid and handle levels only look at these.
        let mut sub: Store<u32, { super::MAX_RULES }> = Store::new();
        for &a in ib.iter() {
            sub.clear();
            for (i, r) in rules.iter().enumerate() {
                if r.ops.contains(c) && r.iid.contains(a as u64) {
                    sub.push(i as u32).map_err(|_| OverBudget)?;
                }
            }
            let in_iid = || sub.iter().map(|&i| (i, &rules[i as usize]));
            let mb = bounds_of(in_iid().map(|(_, r)| (r.mid.lo, r.mid.hi)), 0xFFFF)?;
            let at_iid = self.lens();
            for &m in mb.iter() {
                let in_cell = || in_iid().filter(|(_, r)| r.mid.contains(m as u64));
                let hb = bounds_of(
                    in_cell().filter_map(|(_, r)| r.handle.map(|h| (h as u64, h as u64))),
                    u32::MAX as u64,
                )?;
                let at_mid = self.lens();
                for &h in hb.iter() {
                    let start = self.cand.len();
                    for (i, r) in in_cell() {
                        if r.handle.is_none_or(|x| x == h) {
                            self.cand.push(i).map_err(|_| OverBudget)?;
                            if !r.has_size_matchers() {
                                break;
                            }
                        }
                    }
                    let cell = Level {
                        start: h,
                        off: start as u32,
                        len: (self.cand.len() - start) as u32,
                    };
                    if let Some(last) = self.hnds[at_mid.2..].last() {
                        if self.list(*last) == self.list(cell) {
                            self.cand.truncate(start);
                            continue;
                        }
                    }
                    self.hnds.push(cell).map_err(|_| OverBudget)?;
                }
                let table = Level {
                    start: m,
                    off: at_mid.2 as u32,
                    len: (self.hnds.len() - at_mid.2) as u32,
                };
                if let Some(last) = self.mids[at_iid.1..].last() {
                    if self.same_hnds(*last, table) {
                        self.truncate(at_mid);
                        continue;
                    }
                }
                self.mids.push(table).map_err(|_| OverBudget)?;
                if self.mids.len() - base.1 > CLASS_MIDS
                    || self.hnds.len() - base.2 > CLASS_HNDS
                    || self.cand.len() - base.3 > CLASS_CAND
                {
                    return Err(OverBudget);
                }
            }
            let table = Level {
                start: a,
                off: at_iid.1 as u32,
                len: (self.mids.len() - at_iid.1) as u32,
            };
            if let Some(p) = prev {
                if self.same_mids(p, table) {
                    self.truncate(at_iid);
                    continue;
                }
            }
            self.iids
                .push(Node {
                    level: table,
                    direct: 0,
                })
                .map_err(|_| OverBudget)?;
            prev = Some(table);
        }
        Ok(())
    }

    fn list(&self, cell: Level) -> &[u32] {
        &self.cand[cell.off as usize..][..cell.len as usize]
    }

    fn same_hnds(&self, a: Level, b: Level) -> bool {
        a.len == b.len
            && self.hnds[a.off as usize..][..a.len as usize]
                .iter()
                .zip(&self.hnds[b.off as usize..][..b.len as usize])
                .all(|(x, y)| x.start == y.start && self.list(*x) == self.list(*y))
    }

    fn same_mids(&self, a: Level, b: Level) -> bool {
        a.len == b.len
            && self.mids[a.off as usize..][..a.len as usize]
                .iter()
                .zip(&self.mids[b.off as usize..][..b.len as usize])
                .all(|(x, y)| x.start == y.start && self.same_hnds(*x, *y))
    }

    /// The entry of `levels` holding `v`: one load from direct table
    /// `tag - 1` if `tag` is not 0, a binary search otherwise.
    #[inline]
    fn pick<'a, T>(
        &self,
        levels: &'a [T],
        tag: u32,
        v: u16,
        start: impl Fn(&T) -> u32,
    ) -> Option<&'a T> {
        if tag != 0 {
            let slot = ((tag - 1) as usize) << 16 | v as usize;
            if let Some(&i) = self.direct.get(slot) {
                return levels.get(i as usize);
            }
        }
        find(levels, v as u32, start)
    }

    /// Index of the first rule of `rules` (the slice the index was built
    /// from) that matches `k`, or `None`.
    #[inline]
    pub fn first_match(&self, rules: &[Rule], k: &Key) -> Option<usize> {
        let cl = self.classes[k.class as usize];
        let iids = self.iids.get(cl.level.range())?;
        let t = self.pick(iids, cl.direct, k.iid, |n| n.level.start)?;
        let mids = self.mids.get(t.level.range())?;
        let t = self.pick(mids, t.direct, k.mid, |l| l.start)?;
        let cell = find(self.hnds.get(t.range())?, k.handle, |l| l.start)?;
        let linear = cl.level.start == 1;
        for &r in self.list(*cell) {
            let rule = rules.get(r as usize)?;
            let hit = if linear {
                rule.matches(k)
            } else {
                rule.size_matches(k)
            };
            if hit {
                return Some(r as usize);
            }
        }
        None
    }
}
