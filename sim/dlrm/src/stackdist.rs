//! LRU stack-distance profiles in the format of facebookresearch/dlrm's `--data-trace-file`
//! (`dist_emb_*.log`) and a generator that replays them the way dlrm's `trace_generate_lru` does.
//!
//! A profile is three comma-separated lines:
//!
//! ```text
//! 1, 2, 3, 4, 5, 6                 unique accesses: ids, in order of first use
//! 0, 1, 3, 4, 5                    stack distances, strictly increasing (0 = a new access)
//! 0.55, 0.64, 0.82, 0.91, 1.0      cumulative probability of each distance
//! ```
//!
//! Generation keeps an LRU stack that starts as the unique list (next unused id at the bottom,
//! i.e. least recently used) and, per access, draws a distance `d` from the CDF and then:
//! `d == 0`, or `d` deeper than the lines used so far, takes the bottom line (the next unused
//! unique id, or once all are used the least recently used one); otherwise it takes the line at
//! depth `d` from the top (`d == 1` is the most recent). The line taken moves to the top and is
//! the access. While `i` new accesses have been made and `i` is below the largest distance, the
//! draw is restricted to distances `<= i` by scaling the uniform variate with the CDF at the
//! largest such distance, as dlrm's `generate_stack_distance` does (without padding).

use std::fmt;
use std::path::Path;

use pifs_rng::Rng;
use serde::Serialize;

use crate::error::DlrmError;

/// Largest difference from 1.0 accepted for the last cumulative probability (profiles written by
/// dlrm sum floats and may end at 0.9999999999999999).
pub const CDF_END_TOLERANCE: f64 = 1e-6;

/// A parsed and checked stack-distance profile.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StackProfile {
    /// Where the profile came from (file name), used in errors and reports.
    pub source: String,
    /// Unique accesses in order of first use (line 1); not empty.
    pub unique: Vec<u64>,
    /// Stack distances, strictly increasing (line 2); not empty.
    pub distances: Vec<u64>,
    /// Cumulative probability of each distance (line 3): same length, in [0, 1], non-decreasing,
    /// last within [`CDF_END_TOLERANCE`] of 1 (it is treated as exactly 1).
    pub cdf: Vec<f64>,
}

impl fmt::Display for StackProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} unique, {} distances)",
            self.source,
            self.unique.len(),
            self.distances.len()
        )
    }
}

fn line_err(file: &str, line: usize, problem: impl fmt::Display) -> DlrmError {
    DlrmError::Invalid {
        file: format!("{file}:{line}"),
        field: [
            "unique accesses",
            "stack distances",
            "cumulative probabilities",
        ]
        .get(line.wrapping_sub(1))
        .copied()
        .unwrap_or("profile")
        .to_string(),
        problem: problem.to_string(),
    }
}

fn split_items(text: &str) -> Vec<&str> {
    text.split(',').map(str::trim).collect()
}

fn parse_ints(file: &str, line: usize, text: &str) -> Result<Vec<u64>, DlrmError> {
    split_items(text)
        .into_iter()
        .enumerate()
        .map(|(k, item)| {
            if item.is_empty() {
                return Err(line_err(file, line, format!("item {} is empty", k + 1)));
            }
            item.parse::<u64>().map_err(|_| {
                line_err(
                    file,
                    line,
                    format!("item {} ({item:?}) is not a non-negative integer", k + 1),
                )
            })
        })
        .collect()
}

impl StackProfile {
    /// Parses profile text. `source` names the file in errors, which are one line of the form
    /// `file:LINE: field: problem`.
    pub fn parse(text: &str, source: &str) -> Result<StackProfile, DlrmError> {
        let lines: Vec<&str> = text.lines().collect();
        let content = lines
            .iter()
            .rposition(|l| !l.trim().is_empty())
            .map_or(0, |p| p + 1);
        for i in 0..3 {
            match lines.get(i) {
                None => {
                    return Err(line_err(
                        source,
                        i + 1,
                        format!(
                            "missing: a profile has 3 lines (unique accesses, stack distances, cumulative probabilities), this one has {content}"
                        ),
                    ))
                }
                Some(l) if l.trim().is_empty() => {
                    return Err(line_err(source, i + 1, "empty line"))
                }
                Some(_) => {}
            }
        }
        if content > 3 {
            return Err(line_err(
                source,
                4,
                "unexpected text after the 3 profile lines",
            ));
        }
        let unique = parse_ints(source, 1, lines[0])?;
        let distances = parse_ints(source, 2, lines[1])?;
        let cdf = split_items(lines[2])
            .into_iter()
            .enumerate()
            .map(|(k, item)| match item.parse::<f64>() {
                Ok(p) if p.is_finite() && (0.0..=1.0 + CDF_END_TOLERANCE).contains(&p) => Ok(p),
                Ok(p) => Err(line_err(
                    source,
                    3,
                    format!("item {} ({p}) is not a probability in [0, 1]", k + 1),
                )),
                Err(_) if item.is_empty() => {
                    Err(line_err(source, 3, format!("item {} is empty", k + 1)))
                }
                Err(_) => Err(line_err(
                    source,
                    3,
                    format!("item {} ({item:?}) is not a number", k + 1),
                )),
            })
            .collect::<Result<Vec<f64>, _>>()?;
        if let Some(k) = distances.windows(2).position(|w| w[1] <= w[0]) {
            return Err(line_err(
                source,
                2,
                format!(
                    "not strictly increasing: item {} ({}) follows {}",
                    k + 2,
                    distances[k + 1],
                    distances[k]
                ),
            ));
        }
        if cdf.len() != distances.len() {
            return Err(line_err(
                source,
                3,
                format!(
                    "{} probabilities for {} stack distances (line 2); the lengths must match",
                    cdf.len(),
                    distances.len()
                ),
            ));
        }
        if let Some(k) = cdf.windows(2).position(|w| w[1] < w[0]) {
            return Err(line_err(
                source,
                3,
                format!(
                    "not non-decreasing: item {} ({}) is below item {} ({})",
                    k + 2,
                    cdf[k + 1],
                    k + 1,
                    cdf[k]
                ),
            ));
        }
        let last = *cdf.last().expect("a non-empty line has an item");
        if (last - 1.0).abs() > CDF_END_TOLERANCE {
            return Err(line_err(source, 3, format!("ends at {last}, expected 1.0")));
        }
        Ok(StackProfile {
            source: source.to_string(),
            unique,
            distances,
            cdf,
        })
    }

    /// Reads and parses a profile file.
    pub fn read(path: &Path) -> Result<StackProfile, DlrmError> {
        let file = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| DlrmError::io(&file, "read", e))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| DlrmError::invalid(&file, "profile", "not text (invalid UTF-8)"))?;
        StackProfile::parse(&text, &file)
    }

    /// A stream of accesses (profile ids) drawn from `rng`.
    pub fn stream<'a>(&'a self, rng: &'a mut Rng) -> LruStream<'a> {
        LruStream {
            profile: self,
            rng,
            stack: LruStack::new(&self.unique),
            new_refs: 0,
        }
    }

    /// The stack distance of one draw when `new_refs` new accesses have been made so far.
    fn draw_distance(&self, rng: &mut Rng, new_refs: u64) -> u64 {
        let max_d = *self.distances.last().expect("not empty");
        let mut u = rng.unit_f64();
        if new_refs < max_d {
            // Only distances reachable in a stack of `new_refs` used lines.
            let j = self.distances.partition_point(|&d| d <= new_refs);
            if j > 0 {
                u *= self.cdf[j - 1];
            }
        }
        let last = self.cdf.len() - 1;
        let j = self.cdf[..last].partition_point(|&f| f < u);
        self.distances[j]
    }
}

/// Accesses generated from a [`StackProfile`]: see the module documentation.
pub struct LruStream<'a> {
    profile: &'a StackProfile,
    rng: &'a mut Rng,
    stack: LruStack,
    new_refs: u64,
}

impl Iterator for LruStream<'_> {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        let d = self.profile.draw_distance(self.rng, self.new_refs);
        let used = self.new_refs.min(self.stack.len() as u64);
        let id = if d == 0 || d > used {
            self.new_refs += 1;
            self.stack.take_to_top(1)
        } else {
            self.stack.take_to_top(self.stack.len() - d as usize + 1)
        };
        Some(id)
    }
}

/// A fixed set of lines ordered bottom (least recent) to top (most recent), supporting "take the
/// k-th line from the bottom and move it to the top" in O(log n): lines occupy slots in a Fenwick
/// tree of occupancy, a moved line takes the next free slot at the top, and the slots are
/// compacted when they run out.
struct LruStack {
    /// Fenwick tree over slots (1-based): number of occupied slots.
    tree: Vec<u32>,
    /// Id held by each slot (index = slot - 1), meaningful for occupied slots.
    ids: Vec<u64>,
    /// Occupied flag per slot.
    used: Vec<bool>,
    /// Slots handed out so far.
    next: usize,
    /// Lines in the stack.
    len: usize,
}

impl LruStack {
    fn new(bottom_to_top: &[u64]) -> LruStack {
        let mut s = LruStack {
            tree: Vec::new(),
            ids: Vec::new(),
            used: Vec::new(),
            next: 0,
            len: 0,
        };
        s.rebuild(bottom_to_top.to_vec());
        s
    }

    fn len(&self) -> usize {
        self.len
    }

    fn rebuild(&mut self, lines: Vec<u64>) {
        let cap = (2 * lines.len()).max(64).next_power_of_two();
        self.len = lines.len();
        self.next = lines.len();
        self.ids = lines;
        self.ids.resize(cap, 0);
        self.used = vec![false; cap];
        self.used[..self.len].fill(true);
        self.tree = vec![0; cap + 1];
        for i in 1..=cap {
            self.tree[i] += u32::from(self.used[i - 1]);
            let parent = i + (i & i.wrapping_neg());
            if parent <= cap {
                self.tree[parent] += self.tree[i];
            }
        }
    }

    fn add(&mut self, slot: usize, delta: i32) {
        let mut i = slot + 1;
        while i < self.tree.len() {
            self.tree[i] = self.tree[i].wrapping_add_signed(delta);
            i += i & i.wrapping_neg();
        }
    }

    /// Slot (0-based) of the k-th occupied slot, 1-based `k <= len`.
    fn find(&self, mut k: u32) -> usize {
        let cap = self.tree.len() - 1;
        let mut pos = 0;
        let mut step = cap.next_power_of_two();
        while step > 0 {
            let nxt = pos + step;
            if nxt <= cap && self.tree[nxt] < k {
                pos = nxt;
                k -= self.tree[nxt];
            }
            step >>= 1;
        }
        pos
    }

    /// Takes the k-th line from the bottom (1-based, `1..=len`), moves it to the top, returns it.
    fn take_to_top(&mut self, k: usize) -> u64 {
        debug_assert!((1..=self.len).contains(&k));
        let slot = self.find(k as u32);
        let id = self.ids[slot];
        if slot + 1 == self.next {
            return id; // already on top
        }
        if self.next == self.used.len() {
            let lines: Vec<u64> = (0..self.next)
                .filter(|&s| self.used[s])
                .map(|s| self.ids[s])
                .collect();
            self.rebuild(lines);
            return self.take_to_top(k);
        }
        self.used[slot] = false;
        self.add(slot, -1);
        let top = self.next;
        self.next += 1;
        self.ids[top] = id;
        self.used[top] = true;
        self.add(top, 1);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious O(n) stack: a Vec, bottom first.
    fn naive(lines: &[u64], ks: &[usize]) -> Vec<u64> {
        let mut v = lines.to_vec();
        ks.iter()
            .map(|&k| {
                let id = v.remove(k - 1);
                v.push(id);
                id
            })
            .collect()
    }

    #[test]
    fn fenwick_stack_matches_a_vec() {
        let mut rng = Rng::new(5);
        for n in [1usize, 2, 3, 10, 100] {
            let lines: Vec<u64> = (0..n as u64).map(|x| x * 7 + 1).collect();
            let ks: Vec<usize> = (0..5000)
                .map(|_| 1 + rng.below(n as u64) as usize)
                .collect();
            let mut s = LruStack::new(&lines);
            let got: Vec<u64> = ks.iter().map(|&k| s.take_to_top(k)).collect();
            assert_eq!(got, naive(&lines, &ks), "n = {n}");
        }
    }

    #[test]
    fn parses_dlrm_example() {
        let p = StackProfile::parse(
            "1, 2, 3, 4, 5, 6\n0, 1, 3, 4, 5\n0.55, 0.64, 0.82, 0.91, 1.0\n",
            "d.log",
        )
        .unwrap();
        assert_eq!(p.unique, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(p.distances, vec![0, 1, 3, 4, 5]);
        assert_eq!(p.cdf, vec![0.55, 0.64, 0.82, 0.91, 1.0]);
    }
}
