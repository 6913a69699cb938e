//! The compiled form of a policy: a lookup index whose cost does not grow
//! with the number of rules.
//!
//! Per operation class, the iid space is cut into intervals at every rule's
//! iid bounds; inside an interval, the mid space is cut at the bounds of the
//! rules covering it, and inside that, the handle space at the handles of
//! the rules covering it. Each (iid, mid, handle) cell lists, in rule order,
//! the rules that match every message of the cell by operation, iid, mid and
//! handle, cut after the first rule with no size matchers (it always
//! matches, so nothing after it can win). A decision is three binary
//! searches and a scan of the cell's list checking only `bytes`, `arena` and
//! `ncaps`; the first hit is exactly the first matching rule of the linear
//! order. Adjacent cells and tables with identical content are merged.
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

#[cfg(feature = "std")]
mod cap {
    pub(super) const IIDS: usize = 1 << 20;
    pub(super) const MIDS: usize = 1 << 22;
    pub(super) const HNDS: usize = 1 << 22;
    pub(super) const CAND: usize = 1 << 22;
}

#[cfg(not(feature = "std"))]
mod cap {
    use super::super::MAX_RULES;
    pub(super) const IIDS: usize = 3 * (2 * MAX_RULES + 1);
    pub(super) const MIDS: usize = 8 * MAX_RULES;
    pub(super) const HNDS: usize = 16 * MAX_RULES;
    pub(super) const CAND: usize = 32 * MAX_RULES;
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
    classes: [Level; 3],
    iids: Store<Level, { cap::IIDS }>,
    mids: Store<Level, { cap::MIDS }>,
    hnds: Store<Level, { cap::HNDS }>,
    cand: Store<u32, { cap::CAND }>,
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

impl Index {
    /// An empty index (every lookup: no match).
    pub const fn new() -> Self {
        Index {
            classes: [Level::ZERO; 3],
            iids: Store::new(),
            mids: Store::new(),
            hnds: Store::new(),
            cand: Store::new(),
        }
    }

    /// Build the index of `rules` (replacing any previous content).
    pub fn build(&mut self, rules: &[Rule]) {
        self.iids.clear();
        self.mids.clear();
        self.hnds.clear();
        self.cand.clear();
        for c in Class::ALL {
            let lens = self.lens();
            let linear = self.build_class(rules, c).is_err();
            if linear {
                self.truncate(lens);
                self.build_linear(rules, c);
            }
            // `start` of a class entry flags the linear fallback.
            self.classes[c as usize] = Level {
                start: linear as u32,
                off: lens.0 as u32,
                len: (self.iids.len() - lens.0) as u32,
            };
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
        for c in Class::ALL {
            let i0 = self.iids.len();
            self.build_linear(rules, c);
            self.classes[c as usize] = Level {
                start: 1,
                off: i0 as u32,
                len: 1,
            };
        }
    }

    /// Whether class `c` was indexed (false: it fell back to a linear scan).
    pub fn is_indexed(&self, c: Class) -> bool {
        self.classes[c as usize].start == 0
    }

    /// Total table entries (a measure of the index's size).
    pub fn entries(&self) -> usize {
        self.iids.len() + self.mids.len() + self.hnds.len() + self.cand.len()
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
        let _ = self.iids.push(Level {
            start: 0,
            off: m0,
            len: 1,
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
        for &a in ib.iter() {
            let in_iid = |r: &&Rule| r.ops.contains(c) && r.iid.contains(a as u64);
            let mb = bounds_of(
                rules.iter().filter(in_iid).map(|r| (r.mid.lo, r.mid.hi)),
                0xFFFF,
            )?;
            let at_iid = self.lens();
            for &m in mb.iter() {
                let in_cell = |r: &&Rule| in_iid(r) && r.mid.contains(m as u64);
                let hb = bounds_of(
                    rules
                        .iter()
                        .filter(in_cell)
                        .filter_map(|r| r.handle.map(|h| (h as u64, h as u64))),
                    u32::MAX as u64,
                )?;
                let at_mid = self.lens();
                for &h in hb.iter() {
                    let start = self.cand.len();
                    for (i, r) in rules.iter().enumerate() {
                        if in_cell(&r) && r.handle.is_none_or(|x| x == h) {
                            self.cand.push(i as u32).map_err(|_| OverBudget)?;
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
            self.iids.push(table).map_err(|_| OverBudget)?;
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

    /// Index of the first rule of `rules` (the slice the index was built
    /// from) that matches `k`, or `None`.
    #[inline]
    pub fn first_match(&self, rules: &[Rule], k: &Key) -> Option<usize> {
        fn find(levels: &[Level], v: u32) -> Option<Level> {
            let i = levels.partition_point(|l| l.start <= v).checked_sub(1)?;
            Some(levels[i])
        }
        let cl = self.classes[k.class as usize];
        let t = find(
            self.iids.get(cl.off as usize..(cl.off + cl.len) as usize)?,
            k.iid as u32,
        )?;
        let t = find(
            self.mids.get(t.off as usize..(t.off + t.len) as usize)?,
            k.mid as u32,
        )?;
        let cell = find(
            self.hnds.get(t.off as usize..(t.off + t.len) as usize)?,
            k.handle,
        )?;
        let linear = cl.start == 1;
        for &r in self.list(cell) {
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
