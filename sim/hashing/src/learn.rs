//! The co-access-learned grouping of cold IDs: IDs that appear together in the same bags of the
//! history window are put in the same row, so that a bag touches fewer distinct rows and a
//! collision joins IDs that behave alike (Ghaemmaghami et al., arXiv 2203.15837: collisions
//! between similar IDs harm less than the hashing trick's arbitrary ones).
//!
//! The method (a modelling choice; the paper learns a low-dimensional embedding, this is the
//! cheapest scheme with the same aim):
//! 1. cold IDs = IDs of the history window not already assigned (not hot), numbered in order of
//!    first appearance; each row may hold `c = ceil(cold IDs / cold rows)` of them;
//! 2. every pair of distinct cold IDs in a bag (its first [`MAX_PAIR_IDS`]) counts one
//!    co-access; pairs seen in at least
//!    [`MIN_CO_ACCESS`] bags are merged (heaviest first, ties by first appearance) into groups by
//!    union-find, a merge skipped when the group would exceed `c`;
//! 3. groups are packed into the cold rows, largest first (ties by first appearance), each into
//!    the fullest row that still has room (best fit); a group that fits nowhere is split over the
//!    emptiest rows. Singletons thus fill rows in first-appearance order, so IDs first seen in
//!    the same bag still share rows.

use std::collections::{BTreeSet, HashMap};

/// Bags a pair must share to be merged: one shared bag is as likely chance as affinity.
pub const MIN_CO_ACCESS: u32 = 2;

/// Distinct cold IDs of a bag whose pairs are counted (the first ones, in bag order): bounds the
/// quadratic pair count for bags with large pooling factors (RM1-RM3 bags have at most 120).
pub const MAX_PAIR_IDS: usize = 128;

/// Rows `0..cold_rows` (relative to the cold region) for the cold IDs of `history`, i.e. the
/// IDs not in `assigned`. `cold_rows >= 1`.
pub fn co_access_rows(
    history: &[&[i64]],
    assigned: &HashMap<u64, u64>,
    cold_rows: u64,
) -> Vec<(u64, u64)> {
    assert!(cold_rows >= 1, "co_access_rows: no cold rows");
    let mut index: HashMap<u64, u32> = HashMap::new();
    let mut ids: Vec<u64> = Vec::new();
    let mut pairs: HashMap<(u32, u32), u32> = HashMap::new();
    let mut bag_ids: Vec<u32> = Vec::new();
    for bag in history {
        bag_ids.clear();
        for &raw in *bag {
            let id = raw as u64;
            if assigned.contains_key(&id) {
                continue;
            }
            let i = *index.entry(id).or_insert_with(|| {
                ids.push(id);
                (ids.len() - 1) as u32
            });
            if bag_ids.len() < MAX_PAIR_IDS && !bag_ids.contains(&i) {
                bag_ids.push(i);
            }
        }
        bag_ids.sort_unstable();
        for (k, &a) in bag_ids.iter().enumerate() {
            for &b in &bag_ids[k + 1..] {
                *pairs.entry((a, b)).or_default() += 1;
            }
        }
    }
    let n = ids.len();
    if n == 0 {
        return Vec::new();
    }
    let cap = n.div_ceil(cold_rows as usize);

    let mut edges: Vec<((u32, u32), u32)> = pairs
        .into_iter()
        .filter(|&(_, w)| w >= MIN_CO_ACCESS)
        .collect();
    edges.sort_unstable_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
    let mut uf = UnionFind::new(n);
    for ((a, b), _) in edges {
        uf.union_capped(a as usize, b as usize, cap);
    }

    // Groups in order of their first member; then largest first (stable keeps that order).
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut order: Vec<usize> = Vec::new();
    for i in 0..n {
        let r = uf.find(i);
        members
            .entry(r)
            .or_insert_with(|| {
                order.push(r);
                Vec::new()
            })
            .push(i);
    }
    order.sort_by_key(|r| std::cmp::Reverse(members[r].len()));

    // Rows keyed by (room left, row): best fit = the smallest room that is enough.
    let mut rows: BTreeSet<(usize, u64)> = (0..cold_rows).map(|r| (cap, r)).collect();
    let mut out = Vec::with_capacity(n);
    for r in order {
        let mut group = &members[&r][..];
        while !group.is_empty() {
            let fit = rows.range((group.len(), 0)..).next().copied();
            let (room, row) = fit.unwrap_or_else(|| *rows.last().expect("capacity covers all"));
            rows.remove(&(room, row));
            let take = group.len().min(room);
            out.extend(group[..take].iter().map(|&i| (ids[i], row)));
            group = &group[take..];
            if room > take {
                rows.insert((room - take, row));
            }
        }
    }
    out
}

/// Disjoint sets with their sizes.
struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Joins the sets of `a` and `b` unless that set would exceed `cap` members.
    fn union_capped(&mut self, a: usize, b: usize, cap: usize) {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb || self.size[ra] + self.size[rb] > cap {
            return;
        }
        if self.size[ra] < self.size[rb] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb] = ra;
        self.size[ra] += self.size[rb];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_that_recur_together_share_rows_and_rows_respect_capacity() {
        // Four groups of 3 IDs, each group appearing together in three bags, mixed with noise
        // IDs that appear once. 4 cold rows for 12 + 6 IDs: capacity ceil(18/4) = 5.
        let groups = [[10i64, 11, 12], [20, 21, 22], [30, 31, 32], [40, 41, 42]];
        let mut bags: Vec<Vec<i64>> = Vec::new();
        for rep in 0..3 {
            for (g, ids) in groups.iter().enumerate() {
                let mut b = ids.to_vec();
                if rep == 0 {
                    b.push(100 + g as i64);
                }
                bags.push(b);
            }
        }
        bags.push(vec![200, 201]);
        let hist: Vec<&[i64]> = bags.iter().map(|b| b.as_slice()).collect();
        let rows: HashMap<u64, u64> = co_access_rows(&hist, &HashMap::new(), 4)
            .into_iter()
            .collect();
        assert_eq!(rows.len(), 18, "every cold ID placed once");
        for g in &groups {
            let r: Vec<u64> = g.iter().map(|&id| rows[&(id as u64)]).collect();
            assert!(r.iter().all(|&x| x == r[0]), "group {g:?} split: {r:?}");
        }
        let mut load = [0usize; 4];
        for &r in rows.values() {
            load[r as usize] += 1;
        }
        assert!(load.iter().all(|&l| l <= 5), "{load:?}");
    }

    #[test]
    fn assigned_ids_are_left_out() {
        let bags = [vec![1i64, 2, 3], vec![1, 2, 3]];
        let hist: Vec<&[i64]> = bags.iter().map(|b| b.as_slice()).collect();
        let hot: HashMap<u64, u64> = [(1u64, 0u64)].into_iter().collect();
        let rows = co_access_rows(&hist, &hot, 1);
        let mut ids: Vec<u64> = rows.iter().map(|&(id, _)| id).collect();
        ids.sort();
        assert_eq!(ids, vec![2, 3]);
    }
}
