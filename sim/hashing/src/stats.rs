//! Statistics of one mapping over the evaluation window: how many IDs share a row, how often an
//! access lands in a shared row (weighted by access frequency), locality (distinct rows per bag),
//! the hit rate of an LRU row buffer, and the load on devices that interleave rows.

use std::collections::HashMap;
use std::ops::Range;

use pifs_dlrm::Trace;
use serde::Serialize;

use crate::lru::Lru;

/// Labels of [`Stats::rows_by_ids`]: rows holding 1, 2, 3-4, ... distinct IDs.
pub const ROW_HISTOGRAM: [&str; 7] = ["1", "2", "3-4", "5-8", "9-16", "17-32", "33+"];

fn bucket(ids: u64) -> usize {
    match ids {
        0 | 1 => 0,
        2 => 1,
        3..=4 => 2,
        5..=8 => 3,
        9..=16 => 4,
        17..=32 => 5,
        _ => 6,
    }
}

/// One table's (or all tables') statistics: counts, then the figures derived from them.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Lookups in the window.
    pub accesses: u64,
    /// Bags in the window.
    pub bags: u64,
    /// Distinct raw IDs in the window (summed over tables).
    pub distinct_ids: u64,
    /// Distinct rows those IDs map to.
    pub rows_touched: u64,
    /// `distinct_ids / rows_touched`.
    pub ids_per_row_mean: f64,
    /// Most IDs of the window in one row.
    pub ids_per_row_max: u64,
    /// Rows touched, by the number of window IDs they hold ([`ROW_HISTOGRAM`] buckets).
    pub rows_by_ids: Vec<u64>,
    /// Accesses whose row holds at least one other ID of the window.
    pub shared_accesses: u64,
    /// `shared_accesses / accesses`: the frequency-weighted collision rate.
    pub shared_access_share: f64,
    /// Accesses whose row is also reached by a different ID in the same bag (the bag pools one
    /// vector for two IDs).
    pub in_bag_collisions: u64,
    /// `in_bag_collisions / accesses`.
    pub in_bag_collision_share: f64,
    /// Accesses whose row holds an ID of another co-access group (ground truth of the built-in
    /// stream; absent for a user trace): collisions between dissimilar IDs.
    pub dissimilar_accesses: Option<u64>,
    /// `dissimilar_accesses / accesses`.
    pub dissimilar_access_share: Option<f64>,
    /// Sum over accesses of the share of the row's other IDs that belong to another co-access
    /// group (0 for an ID alone in its row); ground truth as above.
    pub dissimilar_partners: Option<f64>,
    /// `dissimilar_partners / accesses`: how unlike, on average, the IDs an access collides
    /// with are (1 = every row-mate from another group, the hashing trick's expectation).
    pub dissimilar_partner_share: Option<f64>,
    /// Distinct IDs per bag, summed over bags.
    pub bag_ids: u64,
    /// Distinct rows per bag, summed over bags.
    pub bag_rows: u64,
    /// `bag_ids / bags`.
    pub ids_per_bag_mean: f64,
    /// `bag_rows / bags`: rows a bag fetches.
    pub rows_per_bag_mean: f64,
    /// Hits of the LRU row buffer (shared by all tables, fed sample by sample).
    pub buffer_hits: u64,
    /// `buffer_hits / accesses`.
    pub buffer_hit_rate: f64,
    /// Accesses per device, row `r` on device `r mod devices`.
    pub device_accesses: Vec<u64>,
    /// Busiest device over the mean (1 = balanced).
    pub device_max_over_mean: f64,
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl Stats {
    fn finish(&mut self) {
        self.ids_per_row_mean = ratio(self.distinct_ids, self.rows_touched);
        self.shared_access_share = ratio(self.shared_accesses, self.accesses);
        self.in_bag_collision_share = ratio(self.in_bag_collisions, self.accesses);
        self.dissimilar_access_share = self.dissimilar_accesses.map(|d| ratio(d, self.accesses));
        self.dissimilar_partner_share = self.dissimilar_partners.map(|d| {
            if self.accesses == 0 {
                0.0
            } else {
                d / self.accesses as f64
            }
        });
        self.ids_per_bag_mean = ratio(self.bag_ids, self.bags);
        self.rows_per_bag_mean = ratio(self.bag_rows, self.bags);
        self.buffer_hit_rate = ratio(self.buffer_hits, self.accesses);
        let max = self.device_accesses.iter().copied().max().unwrap_or(0);
        let n = self.device_accesses.len() as u64;
        self.device_max_over_mean = ratio(max * n, self.accesses);
    }

    /// Sums the counts of `parts` (one per table) and derives the figures again.
    fn total(parts: &[Stats]) -> Stats {
        let mut s = Stats {
            rows_by_ids: vec![0; ROW_HISTOGRAM.len()],
            device_accesses: vec![0; parts.first().map_or(0, |p| p.device_accesses.len())],
            dissimilar_accesses: parts.first().and_then(|p| p.dissimilar_accesses.map(|_| 0)),
            dissimilar_partners: parts
                .first()
                .and_then(|p| p.dissimilar_partners.map(|_| 0.0)),
            ..Stats::default()
        };
        for p in parts {
            s.accesses += p.accesses;
            s.bags += p.bags;
            s.distinct_ids += p.distinct_ids;
            s.rows_touched += p.rows_touched;
            s.ids_per_row_max = s.ids_per_row_max.max(p.ids_per_row_max);
            s.shared_accesses += p.shared_accesses;
            s.in_bag_collisions += p.in_bag_collisions;
            if let (Some(a), Some(b)) = (&mut s.dissimilar_accesses, p.dissimilar_accesses) {
                *a += b;
            }
            if let (Some(a), Some(b)) = (&mut s.dissimilar_partners, p.dissimilar_partners) {
                *a += b;
            }
            s.bag_ids += p.bag_ids;
            s.bag_rows += p.bag_rows;
            s.buffer_hits += p.buffer_hits;
            for (a, b) in s.rows_by_ids.iter_mut().zip(&p.rows_by_ids) {
                *a += b;
            }
            for (a, b) in s.device_accesses.iter_mut().zip(&p.device_accesses) {
                *a += b;
            }
        }
        s.finish();
        s
    }
}

/// A mapping's statistics over all tables and per table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MappingStats {
    pub overall: Stats,
    pub per_table: Vec<Stats>,
}

/// The window of samples `eval` of `raw` and `mapped` (the same trace with every raw ID replaced
/// by its row: same tables, batch and offsets). `groups[t]` gives each ID's co-access group when
/// known. `buffer_rows` sizes the LRU buffer, `devices >= 1` the interleaving.
pub fn measure(
    raw: &Trace,
    mapped: &Trace,
    eval: Range<usize>,
    groups: Option<&[HashMap<u64, u64>]>,
    buffer_rows: usize,
    devices: usize,
) -> MappingStats {
    assert_eq!(
        raw.offsets, mapped.offsets,
        "mapped trace has another layout"
    );
    assert!(devices >= 1 && eval.end <= raw.batch);
    let mut per_table: Vec<Stats> = (0..raw.tables)
        .map(|t| table_stats(raw, mapped, t, eval.clone(), groups.map(|g| &g[t]), devices))
        .collect();
    let mut lru = Lru::new(buffer_rows);
    for b in eval {
        for (t, s) in per_table.iter_mut().enumerate() {
            for &row in mapped.bag(t, b) {
                s.buffer_hits += lru.access(t as u32, row as u64) as u64;
            }
        }
    }
    for s in &mut per_table {
        s.finish();
    }
    MappingStats {
        overall: Stats::total(&per_table),
        per_table,
    }
}

fn table_stats(
    raw: &Trace,
    mapped: &Trace,
    t: usize,
    eval: Range<usize>,
    groups: Option<&HashMap<u64, u64>>,
    devices: usize,
) -> Stats {
    let bags = || {
        eval.clone()
            .map(move |b| raw.bag(t, b).iter().zip(mapped.bag(t, b)))
    };
    let mut id_row: HashMap<u64, u64> = HashMap::new();
    for bag in bags() {
        for (&id, &row) in bag {
            id_row.insert(id as u64, row as u64);
        }
    }
    // Per row: distinct IDs, (first group, holds another group), and IDs per (row, group).
    let group_of = |id: u64| groups.and_then(|g| g.get(&id).copied()).unwrap_or(u64::MAX);
    let mut row_ids: HashMap<u64, u64> = HashMap::new();
    let mut row_groups: HashMap<u64, (u64, bool)> = HashMap::new();
    let mut row_group_ids: HashMap<(u64, u64), u64> = HashMap::new();
    for (&id, &row) in &id_row {
        *row_ids.entry(row).or_default() += 1;
        if groups.is_some() {
            let gi = group_of(id);
            let e = row_groups.entry(row).or_insert((gi, false));
            e.1 |= e.0 != gi;
            *row_group_ids.entry((row, gi)).or_default() += 1;
        }
    }
    let mut s = Stats {
        distinct_ids: id_row.len() as u64,
        rows_touched: row_ids.len() as u64,
        ids_per_row_max: row_ids.values().copied().max().unwrap_or(0),
        rows_by_ids: vec![0; ROW_HISTOGRAM.len()],
        dissimilar_accesses: groups.map(|_| 0),
        dissimilar_partners: groups.map(|_| 0.0),
        device_accesses: vec![0; devices],
        ..Stats::default()
    };
    for &n in row_ids.values() {
        s.rows_by_ids[bucket(n)] += 1;
    }
    let mut pairs: Vec<(u64, u64)> = Vec::new();
    for bag in bags() {
        pairs.clear();
        pairs.extend(bag.map(|(&id, &row)| (row as u64, id as u64)));
        s.bags += 1;
        s.accesses += pairs.len() as u64;
        for &(row, id) in &pairs {
            let n = row_ids[&row];
            s.shared_accesses += (n >= 2) as u64;
            if let Some(d) = &mut s.dissimilar_accesses {
                *d += row_groups[&row].1 as u64;
            }
            if let (Some(d), true) = (&mut s.dissimilar_partners, n >= 2) {
                let unlike = n - row_group_ids[&(row, group_of(id))];
                *d += unlike as f64 / (n - 1) as f64;
            }
            s.device_accesses[(row % devices as u64) as usize] += 1;
        }
        // In-bag: sort by (row, id); a row's run holding two IDs makes every access to it count.
        let n = pairs.len();
        pairs.sort_unstable();
        let mut i = 0;
        while i < n {
            let mut j = i;
            let mut ids = 0;
            while j < n && pairs[j].0 == pairs[i].0 {
                if j == i || pairs[j].1 != pairs[j - 1].1 {
                    ids += 1;
                }
                j += 1;
            }
            s.bag_rows += 1;
            s.bag_ids += ids;
            if ids >= 2 {
                s.in_bag_collisions += (j - i) as u64;
            }
            i = j;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use pifs_rng::Rng;

    /// A trace of `tables` x `batch` bags of random IDs in `0..ids` and the trace of `id mod m`.
    fn pair(seed: u64, tables: usize, batch: usize, ids: u64, m: u64) -> (Trace, Trace) {
        let mut rng = Rng::new(seed);
        let mut offsets = vec![0i64];
        let mut indices = Vec::new();
        for _ in 0..tables * batch {
            for _ in 0..rng.range(0, 6) {
                indices.push(rng.below(ids) as i64);
            }
            offsets.push(indices.len() as i64);
        }
        let raw = Trace {
            tables,
            batch,
            indices,
            offsets,
        };
        let mut mapped = raw.clone();
        mapped.indices.iter_mut().for_each(|x| *x %= m as i64);
        (raw, mapped)
    }

    /// Every access of the window as (table, sample, id, row), listed plainly.
    fn accesses(raw: &Trace, mapped: &Trace, eval: Range<usize>) -> Vec<(usize, usize, u64, u64)> {
        let mut v = Vec::new();
        for t in 0..raw.tables {
            for b in eval.clone() {
                for (&i, &r) in raw.bag(t, b).iter().zip(mapped.bag(t, b)) {
                    v.push((t, b, i as u64, r as u64));
                }
            }
        }
        v
    }

    #[test]
    fn collision_counts_match_a_brute_force_pairwise_count() {
        for seed in 0..20 {
            let (raw, mapped) = pair(seed, 2, 12, 30, 7);
            let eval = 4..12;
            // group = id / 3 (the ground truth for the dissimilar count)
            let groups: Vec<HashMap<u64, u64>> = (0..2)
                .map(|_| (0..30u64).map(|i| (i, i / 3)).collect())
                .collect();
            let got = measure(&raw, &mapped, eval.clone(), Some(&groups), 0, 3);
            let acc = accesses(&raw, &mapped, eval.clone());
            // Pairwise definitions: any access of the same table to the same row with another id.
            let shared = acc
                .iter()
                .filter(|a| acc.iter().any(|b| b.0 == a.0 && b.3 == a.3 && b.2 != a.2))
                .count() as u64;
            let in_bag = acc
                .iter()
                .filter(|a| {
                    acc.iter()
                        .any(|b| b.0 == a.0 && b.1 == a.1 && b.3 == a.3 && b.2 != a.2)
                })
                .count() as u64;
            let dissimilar = acc
                .iter()
                .filter(|a| {
                    acc.iter()
                        .any(|b| b.0 == a.0 && b.3 == a.3 && b.2 / 3 != a.2 / 3)
                })
                .count() as u64;
            // Per access: the share of its distinct row-mates (other IDs, same table and row)
            // in another group.
            let partners: f64 = acc
                .iter()
                .map(|a| {
                    let mut mates: Vec<u64> = acc
                        .iter()
                        .filter(|b| b.0 == a.0 && b.3 == a.3 && b.2 != a.2)
                        .map(|b| b.2)
                        .collect();
                    mates.sort();
                    mates.dedup();
                    let unlike = mates.iter().filter(|&&m| m / 3 != a.2 / 3).count();
                    if mates.is_empty() {
                        0.0
                    } else {
                        unlike as f64 / mates.len() as f64
                    }
                })
                .sum();
            let o = &got.overall;
            let p = o.dissimilar_partners.unwrap();
            assert!(
                (p - partners).abs() < 1e-9,
                "seed {seed}: {p} vs {partners}"
            );
            assert_eq!(o.accesses, acc.len() as u64);
            assert_eq!(o.shared_accesses, shared, "seed {seed}");
            assert_eq!(o.in_bag_collisions, in_bag, "seed {seed}");
            assert_eq!(o.dissimilar_accesses, Some(dissimilar), "seed {seed}");
            // IDs per row: distinct (table, id) and (table, row), and the largest row.
            let mut ids: Vec<(usize, u64)> = acc.iter().map(|a| (a.0, a.2)).collect();
            ids.sort();
            ids.dedup();
            let mut rows: Vec<(usize, u64)> = acc.iter().map(|a| (a.0, a.3)).collect();
            rows.sort();
            rows.dedup();
            assert_eq!(o.distinct_ids, ids.len() as u64);
            assert_eq!(o.rows_touched, rows.len() as u64);
            let per_row: Vec<u64> = rows
                .iter()
                .map(|r| ids.iter().filter(|i| i.0 == r.0 && i.1 % 7 == r.1).count() as u64)
                .collect();
            assert_eq!(
                o.ids_per_row_max,
                per_row.iter().copied().max().unwrap_or(0)
            );
            assert_eq!(o.rows_by_ids.iter().sum::<u64>(), rows.len() as u64);
            assert_eq!(
                o.rows_by_ids[0],
                per_row.iter().filter(|&&n| n == 1).count() as u64
            );
            assert_eq!(
                o.rows_by_ids[1],
                per_row.iter().filter(|&&n| n == 2).count() as u64
            );
            // Devices: row mod 3.
            for d in 0..3u64 {
                let want = acc.iter().filter(|a| a.3 % 3 == d).count() as u64;
                assert_eq!(o.device_accesses[d as usize], want);
            }
            // Per-bag distinct rows summed.
            let mut bag_rows: Vec<(usize, usize, u64)> =
                acc.iter().map(|a| (a.0, a.1, a.3)).collect();
            bag_rows.sort();
            bag_rows.dedup();
            assert_eq!(o.bag_rows, bag_rows.len() as u64);
        }
    }

    #[test]
    fn buffer_sees_tables_interleaved_sample_by_sample() {
        // Table 0 and table 1 both touch row 5 in every sample: distinct keys, so a 1-row
        // buffer always misses, a 2-row buffer hits from the second sample on.
        let raw = Trace {
            tables: 2,
            batch: 3,
            indices: vec![5; 6],
            offsets: (0..=6).collect(),
        };
        let one = measure(&raw, &raw, 0..3, None, 1, 1).overall;
        assert_eq!(one.buffer_hits, 0);
        let two = measure(&raw, &raw, 0..3, None, 2, 1).overall;
        assert_eq!(two.buffer_hits, 4);
    }
}
