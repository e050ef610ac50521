//! Modified-row tracking at the switch: one bit per row of every table (`bitvec`), set by each
//! MemWr the switch forwards. Two bitmaps serve Check-N-Run's two incremental policies: rows
//! written since the last checkpoint (consecutive increments) and rows written since the last
//! full baseline (one-shot increments).

use bitvec::prelude::{BitVec, Lsb0};

use crate::wire::AddressMap;

/// One bit per row of every table.
#[derive(Clone, Debug)]
pub struct RowBitmap {
    tables: Vec<BitVec<u64, Lsb0>>,
}

impl RowBitmap {
    /// All clear, for tables of `rows[t]` rows.
    pub fn new(rows: &[u64]) -> RowBitmap {
        RowBitmap {
            tables: rows
                .iter()
                .map(|&r| BitVec::repeat(false, r as usize))
                .collect(),
        }
    }

    /// Marks row `r` of table `t`.
    pub fn set(&mut self, t: usize, r: u64) {
        self.tables[t].set(r as usize, true);
    }

    /// Whether row `r` of table `t` is marked.
    pub fn get(&self, t: usize, r: u64) -> bool {
        self.tables[t][r as usize]
    }

    /// Number of tables.
    pub fn tables(&self) -> usize {
        self.tables.len()
    }

    /// Marked rows of table `t`.
    pub fn count(&self, t: usize) -> u64 {
        self.tables[t].count_ones() as u64
    }

    /// Marked rows of all tables.
    pub fn total(&self) -> u64 {
        (0..self.tables.len()).map(|t| self.count(t)).sum()
    }

    /// Marked rows of table `t`, ascending.
    pub fn rows(&self, t: usize) -> impl Iterator<Item = u64> + '_ {
        self.tables[t].iter_ones().map(|r| r as u64)
    }

    /// Clears every bit.
    pub fn clear(&mut self) {
        for b in &mut self.tables {
            b.fill(false);
        }
    }

    /// Bytes the bitmap occupies at one bit per row (each table rounded up to whole bytes).
    pub fn bytes(&self) -> u64 {
        self.tables
            .iter()
            .map(|b| (b.len() as u64).div_ceil(8))
            .sum()
    }
}

/// The switch's view of the training writes.
#[derive(Clone, Debug)]
pub struct SwitchTracker {
    /// Rows written since the last checkpoint.
    pub interval: RowBitmap,
    /// Rows written since the last full baseline.
    pub since_baseline: RowBitmap,
}

impl SwitchTracker {
    /// Clear bitmaps for the tables of `map`.
    pub fn new(map: &AddressMap) -> SwitchTracker {
        SwitchTracker {
            interval: RowBitmap::new(map.rows()),
            since_baseline: RowBitmap::new(map.rows()),
        }
    }

    /// Records a write of row `r` of table `t` crossing the switch.
    pub fn on_write(&mut self, t: usize, r: u64) {
        self.interval.set(t, r);
        self.since_baseline.set(t, r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pifs_rng::Rng;
    use std::collections::HashSet;

    /// The bitmaps hold exactly the rows a brute-force set of the written rows holds, through
    /// checkpoints (interval cleared) and a rebaseline (both cleared).
    #[test]
    fn bitmaps_match_a_hash_set() {
        let rows = [1000u64, 1, 77, 4096];
        let map = AddressMap::new(&rows, 8).unwrap();
        let mut tr = SwitchTracker::new(&map);
        let (mut since_ckpt, mut since_base) = (HashSet::new(), HashSet::new());
        let mut rng = Rng::new(4);
        for step in 0..6000 {
            let t = rng.below(4) as usize;
            let r = rng.below(rows[t]);
            tr.on_write(t, r);
            since_ckpt.insert((t, r));
            since_base.insert((t, r));
            if step % 1000 == 999 {
                for (bm, set) in [
                    (&tr.interval, &since_ckpt),
                    (&tr.since_baseline, &since_base),
                ] {
                    assert_eq!(bm.total(), set.len() as u64);
                    for t in 0..4 {
                        let mut want: Vec<u64> =
                            set.iter().filter(|e| e.0 == t).map(|e| e.1).collect();
                        want.sort_unstable();
                        assert_eq!(bm.rows(t).collect::<Vec<_>>(), want);
                        assert_eq!(bm.count(t), want.len() as u64);
                    }
                }
                tr.interval.clear();
                since_ckpt.clear();
                if step == 2999 {
                    tr.since_baseline.clear();
                    since_base.clear();
                }
            }
        }
        assert_eq!(tr.interval.bytes(), 125 + 1 + 10 + 512);
    }
}
