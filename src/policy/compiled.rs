//! The compiled form of a policy: a lookup index whose cost does not grow
//! with the number of rules.
//!
//! Per operation class, the iid space is cut into intervals at every rule's
//! iid bounds; inside an interval, the mid space is cut at the bounds of the
//! rules covering it. Each (iid, mid) cell lists, in rule order, the rules
//! that match every message of the cell by operation, iid and mid, cut after
//! the first rule with no other matchers (it always matches, so nothing after
//! it can win). A decision is two binary searches and a scan of the cell's
//! list checking only the remaining matchers (handle, bytes, arena, ncaps);
//! the first hit is exactly the first matching rule of the linear order.
//! Adjacent cells (and intervals) with identical lists are merged.
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
    pub(super) const CAND: usize = 1 << 22;
}

#[cfg(not(feature = "std"))]
mod cap {
    use super::super::MAX_RULES;
    pub(super) const IIDS: usize = 3 * (2 * MAX_RULES + 1);
    pub(super) const MIDS: usize = 16 * MAX_RULES;
    pub(super) const CAND: usize = 32 * MAX_RULES;
}

/// Most boundaries one class can have: two per rule plus the origin.
const BOUNDS: usize = 2 * super::MAX_RULES + 1;

/// Budget of one class's index (a third of each table), so a fallback for
/// the others always fits.
const CLASS_MIDS: usize = cap::MIDS / 3;
const CLASS_CAND: usize = cap::CAND / 3;

/// The lookup index of one policy (built by [`Index::build`]).
#[derive(Debug, Clone)]
pub struct Index {
    classes: [Level; 3],
    iids: Store<Level, { cap::IIDS }>,
    mids: Store<Level, { cap::MIDS }>,
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

impl Index {
    /// An empty index (every lookup: no match).
    pub const fn new() -> Self {
        Index {
            classes: [Level::ZERO; 3],
            iids: Store::new(),
            mids: Store::new(),
            cand: Store::new(),
        }
    }

    /// Build the index of `rules` (replacing any previous content).
    pub fn build(&mut self, rules: &[Rule]) {
        self.iids.clear();
        self.mids.clear();
        self.cand.clear();
        for c in Class::ALL {
            let (i0, m0, c0) = (self.iids.len(), self.mids.len(), self.cand.len());
            let linear = self.build_class(rules, c).is_err();
            if linear {
                self.iids.truncate(i0);
                self.mids.truncate(m0);
                self.cand.truncate(c0);
                self.build_linear(rules, c);
            }
            // `start` of a class entry flags the linear fallback.
            self.classes[c as usize] = Level {
                start: linear as u32,
                off: i0 as u32,
                len: (self.iids.len() - i0) as u32,
            };
        }
    }

    /// Whether class `c` was indexed (false: it fell back to a linear scan).
    pub fn is_indexed(&self, c: Class) -> bool {
        self.classes[c as usize].start == 0
    }

    /// Total table entries (a measure of the index's size).
    pub fn entries(&self) -> usize {
        self.iids.len() + self.mids.len() + self.cand.len()
    }

    fn build_linear(&mut self, rules: &[Rule], c: Class) {
        let off = self.mids.len() as u32;
        let c0 = self.cand.len();
        for (i, r) in rules.iter().enumerate() {
            if r.ops.contains(c) {
                // Cannot fail: a class's rules fit in a third of the table.
                let _ = self.cand.push(i as u32);
                let all = super::rules::Span::ALL16;
                if !r.has_residual() && r.iid == all && r.mid == all {
                    break;
                }
            }
        }
        let _ = self.mids.push(Level {
            start: 0,
            off: c0 as u32,
            len: (self.cand.len() - c0) as u32,
        });
        // The single cell is scanned with the full matcher (see first_match).
        let _ = self.iids.push(Level {
            start: 0,
            off,
            len: 1,
        });
    }

    fn build_class(&mut self, rules: &[Rule], c: Class) -> Result<(), OverBudget> {
        let m_base = self.mids.len();
        let c_base = self.cand.len();
        let mut ib: Store<u32, BOUNDS> = Store::new();
        ib.push(0).map_err(|_| OverBudget)?;
        for r in rules.iter().filter(|r| r.ops.contains(c)) {
            ib.push(r.iid.lo as u32).map_err(|_| OverBudget)?;
            if r.iid.hi < 0xFFFF {
                ib.push(r.iid.hi as u32 + 1).map_err(|_| OverBudget)?;
            }
        }
        sorted_bounds(&mut ib);
        let mut prev: Option<Level> = None;
        for &a in ib.iter() {
            let covers = |r: &&Rule| r.ops.contains(c) && r.iid.contains(a as u64);
            let mut mb: Store<u32, BOUNDS> = Store::new();
            mb.push(0).map_err(|_| OverBudget)?;
            for r in rules.iter().filter(covers) {
                mb.push(r.mid.lo as u32).map_err(|_| OverBudget)?;
                if r.mid.hi < 0xFFFF {
                    mb.push(r.mid.hi as u32 + 1).map_err(|_| OverBudget)?;
                }
            }
            sorted_bounds(&mut mb);
            let (mids0, cand0) = (self.mids.len(), self.cand.len());
            for &m in mb.iter() {
                let start = self.cand.len();
                for (i, r) in rules.iter().enumerate() {
                    if covers(&r) && r.mid.contains(m as u64) {
                        self.cand.push(i as u32).map_err(|_| OverBudget)?;
                        if !r.has_residual() {
                            break;
                        }
                    }
                }
                let cell = Level {
                    start: m,
                    off: start as u32,
                    len: (self.cand.len() - start) as u32,
                };
                if let Some(last) = self.mids[mids0..].last().copied() {
                    if self.list(last) == self.list(cell) {
                        self.cand.truncate(start);
                        continue;
                    }
                }
                self.mids.push(cell).map_err(|_| OverBudget)?;
                if self.mids.len() - m_base > CLASS_MIDS || self.cand.len() - c_base > CLASS_CAND {
                    return Err(OverBudget);
                }
            }
            let table = Level {
                start: a,
                off: mids0 as u32,
                len: (self.mids.len() - mids0) as u32,
            };
            if let Some(p) = prev {
                if self.same_table(p, table) {
                    self.mids.truncate(mids0);
                    self.cand.truncate(cand0);
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

    fn same_table(&self, a: Level, b: Level) -> bool {
        a.len == b.len
            && self.mids[a.off as usize..][..a.len as usize]
                .iter()
                .zip(&self.mids[b.off as usize..][..b.len as usize])
                .all(|(x, y)| x.start == y.start && self.list(*x) == self.list(*y))
    }

    /// Index of the first rule of `rules` (the slice the index was built
    /// from) that matches `k`, or `None`.
    #[inline]
    pub fn first_match(&self, rules: &[Rule], k: &Key) -> Option<usize> {
        let cl = self.classes[k.class as usize];
        let iids = self.iids.get(cl.off as usize..(cl.off + cl.len) as usize)?;
        let i = iids
            .partition_point(|l| l.start <= k.iid as u32)
            .checked_sub(1)?;
        let t = iids[i];
        let mids = self.mids.get(t.off as usize..(t.off + t.len) as usize)?;
        let j = mids
            .partition_point(|l| l.start <= k.mid as u32)
            .checked_sub(1)?;
        let linear = cl.start == 1;
        for &r in self.list(mids[j]) {
            let rule = rules.get(r as usize)?;
            let hit = if linear {
                rule.matches(k)
            } else {
                rule.residual_matches(k)
            };
            if hit {
                return Some(r as usize);
            }
        }
        None
    }
}
