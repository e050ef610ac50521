//! The four ID-to-row mappings of the study, each a [`TableMap`] per table.
//!
//! - **modulo**: `row = id mod R`, the hashing trick at its simplest.
//! - **universal**: `row = ((a*id + b) mod p) mod R` (Carter-Wegman), seeded per table.
//! - **frequency**: the `k` most frequent IDs of the history window own rows `0..k`; every other
//!   ID shares rows `k..R` by universal hashing.
//! - **learned**: the same `k` hot rows; IDs unseen in the history are hashed into `n`
//!   newcomer rows `k..k+n`; cold IDs seen in the history share rows `k+n..R` in groups learned
//!   from co-access ([`crate::learn`]). With `n = 0` newcomers are hashed into all of `k..R`.
//!   After Ghaemmaghami et al., "Learning to Collide: Recommendation System Model Compression
//!   with Learned Hash Functions" (arXiv 2203.15837, 2022): a mapping derived from history and
//!   access patterns that makes similar IDs collide instead of arbitrary ones.

use std::collections::HashMap;

use serde::Serialize;

use crate::learn::co_access_rows;
use crate::universal::UniversalHash;

/// Which mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Modulo,
    Universal,
    Frequency,
    Learned,
}

impl Kind {
    /// Every mapping, in report order.
    pub const ALL: [Kind; 4] = [
        Kind::Modulo,
        Kind::Universal,
        Kind::Frequency,
        Kind::Learned,
    ];

    /// Lower-case name, as in the report and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Modulo => "modulo",
            Kind::Universal => "universal",
            Kind::Frequency => "frequency",
            Kind::Learned => "learned",
        }
    }
}

/// One table's mapping from raw IDs to rows `0..rows`: IDs in `assigned` take their row, the
/// others `base + h(id) mod span` (`h` = identity for modulo, universal otherwise).
#[derive(Clone, Debug)]
pub struct TableMap {
    rows: u64,
    assigned: HashMap<u64, u64>,
    base: u64,
    span: u64,
    hash: Option<UniversalHash>,
}

impl TableMap {
    /// `id mod rows`; `rows >= 1`.
    pub fn modulo(rows: u64) -> TableMap {
        TableMap {
            rows,
            assigned: HashMap::new(),
            base: 0,
            span: rows,
            hash: None,
        }
    }

    /// Universal hashing into `0..rows`; `rows >= 1`.
    pub fn universal(rows: u64, h: UniversalHash) -> TableMap {
        TableMap {
            rows,
            assigned: HashMap::new(),
            base: 0,
            span: rows,
            hash: Some(h),
        }
    }

    /// Frequency-ranked: the `hot` most frequent IDs of `history` (ties to the smaller ID) own
    /// rows `0..hot` in rank order; the rest are hashed by `h` into `hot..rows`. `hot < rows`.
    pub fn frequency(rows: u64, hot: u64, history: &[&[i64]], h: UniversalHash) -> TableMap {
        assert!(hot < rows, "frequency map: hot {hot} >= rows {rows}");
        TableMap {
            rows,
            assigned: hot_rows(history, hot),
            base: hot,
            span: rows - hot,
            hash: Some(h),
        }
    }

    /// Learned from co-access: hot IDs as in [`TableMap::frequency`]; IDs never seen in
    /// `history` are hashed by `h` into the `newcomers` rows after the hot ones; the other cold
    /// IDs of `history` get rows in `hot + newcomers..rows` from [`co_access_rows`]. With
    /// `newcomers == 0` unseen IDs are hashed over all of `hot..rows`.
    /// `hot + newcomers < rows`.
    pub fn learned(
        rows: u64,
        hot: u64,
        newcomers: u64,
        history: &[&[i64]],
        h: UniversalHash,
    ) -> TableMap {
        assert!(
            hot + newcomers < rows,
            "learned map: hot {hot} + newcomers {newcomers} >= rows {rows}"
        );
        let mut assigned = hot_rows(history, hot);
        let first = hot + newcomers;
        let cold = co_access_rows(history, &assigned, rows - first);
        assigned.extend(cold.into_iter().map(|(id, r)| (id, first + r)));
        TableMap {
            rows,
            assigned,
            base: hot,
            span: if newcomers == 0 {
                rows - hot
            } else {
                newcomers
            },
            hash: Some(h),
        }
    }

    /// The row of raw ID `id`, always below [`TableMap::rows`].
    pub fn row(&self, id: u64) -> u64 {
        if let Some(&r) = self.assigned.get(&id) {
            return r;
        }
        self.base
            + match self.hash {
                None => id % self.span,
                Some(h) => h.hash(id, self.span),
            }
    }

    /// Rows of the mapped table.
    pub fn rows(&self) -> u64 {
        self.rows
    }
}

/// Access counts of the IDs in `bags`.
pub(crate) fn counts(bags: &[&[i64]]) -> HashMap<u64, u64> {
    let mut c: HashMap<u64, u64> = HashMap::new();
    for bag in bags {
        for &id in *bag {
            *c.entry(id as u64).or_default() += 1;
        }
    }
    c
}

/// The `hot` most frequent IDs (count descending, then ID ascending) with rows `0..hot` by rank.
fn hot_rows(history: &[&[i64]], hot: u64) -> HashMap<u64, u64> {
    let mut ranked: Vec<(u64, u64)> = counts(history).into_iter().collect();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked
        .into_iter()
        .take(hot as usize)
        .enumerate()
        .map(|(rank, (id, _))| (id, rank as u64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pifs_rng::Rng;

    fn random_bags(seed: u64, n: usize, len: usize, ids: u64) -> Vec<Vec<i64>> {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|_| {
                (0..len)
                    .map(|_| {
                        // Skewed: a small ID is far likelier (squared uniform).
                        let u = rng.unit_f64();
                        (u * u * ids as f64) as i64
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn every_mapping_stays_below_rows() {
        let bags = random_bags(1, 200, 20, 5000);
        let hist: Vec<&[i64]> = bags.iter().map(|b| b.as_slice()).collect();
        let h = UniversalHash::seeded(9);
        for rows in [1u64, 2, 17, 100, 1000] {
            let hot = rows / 2;
            let mut maps = vec![TableMap::modulo(rows), TableMap::universal(rows, h)];
            if hot < rows {
                maps.push(TableMap::frequency(rows, hot, &hist, h));
                maps.push(TableMap::learned(rows, hot, 0, &hist, h));
                let newcomers = (rows - hot) / 3;
                if hot + newcomers < rows {
                    maps.push(TableMap::learned(rows, hot, newcomers, &hist, h));
                }
            }
            for m in &maps {
                for id in (0..20_000u64).chain([u64::MAX, 1 << 62]) {
                    assert!(m.row(id) < rows, "rows {rows}: id {id} -> {}", m.row(id));
                }
            }
        }
    }

    #[test]
    fn frequency_gives_the_top_ids_rows_of_their_own() {
        let bags = random_bags(2, 300, 30, 3000);
        let hist: Vec<&[i64]> = bags.iter().map(|b| b.as_slice()).collect();
        // The top 50 by a count made here with a BTreeMap (independent of `counts`).
        let mut c = std::collections::BTreeMap::<i64, u64>::new();
        for b in &bags {
            for &id in b {
                *c.entry(id).or_default() += 1;
            }
        }
        let mut v: Vec<(i64, u64)> = c.into_iter().collect();
        v.sort_by_key(|&(id, n)| (std::cmp::Reverse(n), id));
        let top: Vec<u64> = v.iter().take(50).map(|&(id, _)| id as u64).collect();
        for m in [
            TableMap::frequency(200, 50, &hist, UniversalHash::seeded(1)),
            TableMap::learned(200, 50, 0, &hist, UniversalHash::seeded(1)),
            TableMap::learned(200, 50, 30, &hist, UniversalHash::seeded(1)),
        ] {
            let rows: Vec<u64> = top.iter().map(|&id| m.row(id)).collect();
            assert_eq!(rows, (0..50).collect::<Vec<u64>>(), "rank order");
            // No other ID (seen or not) lands in a hot row.
            for id in 0..10_000u64 {
                if !top.contains(&id) {
                    assert!(m.row(id) >= 50, "id {id} in hot row {}", m.row(id));
                }
            }
        }
    }

    #[test]
    fn learned_keeps_newcomers_apart_from_learned_rows() {
        let bags = random_bags(3, 200, 20, 4000);
        let hist: Vec<&[i64]> = bags.iter().map(|b| b.as_slice()).collect();
        let seen: std::collections::HashSet<u64> =
            bags.iter().flatten().map(|&id| id as u64).collect();
        let m = TableMap::learned(300, 100, 50, &hist, UniversalHash::seeded(2));
        for id in 0..8000u64 {
            let r = m.row(id);
            if seen.contains(&id) {
                assert!(!(100..150).contains(&r), "seen id {id} in newcomer row {r}");
            } else {
                assert!((100..150).contains(&r), "unseen id {id} in row {r}");
            }
        }
    }

    #[test]
    fn modulo_is_the_remainder() {
        let m = TableMap::modulo(7);
        assert!((0..100u64).all(|x| m.row(x) == x % 7));
    }
}
