//! The on-switch row buffer of one downstream port (`rtl/pifs_switch_buffer.sv`), as a
//! transaction-level model that the switch model ([`crate::switch_model::ModelSwitch`]) runs in
//! the RTL's order: a set-associative SRAM of 64-byte lines keyed by line address, looked up for
//! every MemRd the port's read engine would issue; a hit delivers the line to the accumulator
//! and no MemRd leaves, a miss sends the MemRd and offers the returning line for insertion.
//!
//! Rules (the RTL implements the same ones; `docs/architecture.md` section 2):
//! - set = line address mod sets (sets = lines / ways, a power of two); the tag is the whole
//!   line address. Each line has a valid bit, an LRU age (the ages of a set are a permutation of
//!   0 .. ways-1, 0 = most recent) and a saturating hotness count ([`HOT_MAX`]).
//! - a lookup counts a hit or a miss; every lookup increments the saturating counter of
//!   `line mod` [`HOT_ENTRIES`] in the hotness table (aliasing lines share a counter, like one
//!   row of a count-min sketch). A hit makes its way the most recent and increments its count.
//!   A miss remembers the line address under the MemRd's tag.
//! - a line coming back from the device (its tag remembered by a miss) is a fill. It is not
//!   inserted (a bypass) if it is poisoned or its line is already buffered (two misses on the
//!   same line in flight). Otherwise:
//!   - [`BufferPolicy::Lru`]: the victim is the first invalid way, else the least recent way;
//!     the line is always inserted.
//!   - [`BufferPolicy::Hot`]: with h = the hotness table's count for the line, the line is a
//!     bypass if h < [`HOT_THRESHOLD`]; the victim is the first invalid way, else the way with
//!     the lowest count (lowest way on a tie), and the line is a bypass if that count is above
//!     h (the buffered line is hotter). An inserted line starts with count h.
//!
//!   Either way the inserted line becomes the most recent; replacing a valid line is an eviction.
//! - within one cycle the lookup goes first, then the fill (a fill sees the lookup's updates).

use crate::params::{HOT_ENTRIES, HOT_MAX, HOT_THRESHOLD, NUM_TAGS};
use crate::port::SimError;
use serde::Serialize;

/// Replacement policy of the row buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BufferPolicy {
    /// Insert every fill, evict the least recently used way.
    #[default]
    Lru,
    /// Insert only fills whose hotness count reached [`HOT_THRESHOLD`], evict the coldest way.
    Hot,
}

impl BufferPolicy {
    /// The name used in configuration (`pifs.buffer_policy`): "lru" or "hot".
    pub fn name(self) -> &'static str {
        match self {
            BufferPolicy::Lru => "lru",
            BufferPolicy::Hot => "hot",
        }
    }

    /// Parse a configuration name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "lru" => Some(BufferPolicy::Lru),
            "hot" => Some(BufferPolicy::Hot),
            _ => None,
        }
    }
}

/// Size and policy of every port's row buffer (`BufLines`, `BufWays` and `buf_policy_i` of
/// `pifs_switch_top`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BufferConfig {
    /// Capacity in 64-byte lines per port; 0 = no buffer.
    pub lines: usize,
    /// Ways per set (associativity).
    pub ways: usize,
    pub policy: BufferPolicy,
}

impl BufferConfig {
    /// No buffer (the default of the RTL and of every run).
    pub const OFF: BufferConfig = BufferConfig {
        lines: 0,
        ways: 4,
        policy: BufferPolicy::Lru,
    };

    pub fn on(&self) -> bool {
        self.lines > 0
    }

    pub fn sets(&self) -> usize {
        self.lines.checked_div(self.ways).unwrap_or(0)
    }

    /// Check the geometry the RTL accepts; the message names the field.
    pub fn validate(&self) -> Result<(), SimError> {
        if self.lines == 0 {
            return Ok(());
        }
        if !(1..=16).contains(&self.ways) {
            return Err(SimError::Config(format!(
                "buffer_ways {}: must be 1 ..= 16",
                self.ways
            )));
        }
        if !self.lines.is_multiple_of(self.ways) {
            return Err(SimError::Config(format!(
                "buffer_lines {}: not a multiple of buffer_ways {}",
                self.lines, self.ways
            )));
        }
        if !self.sets().is_power_of_two() {
            return Err(SimError::Config(format!(
                "buffer_lines {}: {} sets of {} ways is not a power of two",
                self.lines,
                self.sets(),
                self.ways
            )));
        }
        if self.lines > 1 << 20 {
            return Err(SimError::Config(format!(
                "buffer_lines {}: above 1048576 lines (64 MiB) per port",
                self.lines
            )));
        }
        Ok(())
    }
}

/// Cumulative counts of one port's buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BufferCounters {
    /// Lookups served from the buffer (no MemRd).
    pub hits: u64,
    /// Lookups that sent a MemRd.
    pub misses: u64,
    /// Returning lines of misses that were not inserted.
    pub bypasses: u64,
    /// Insertions that replaced a valid line.
    pub evictions: u64,
}

impl BufferCounters {
    /// Hits over lookups (0 without lookups).
    pub fn hit_rate(&self) -> f64 {
        let n = self.hits + self.misses;
        if n == 0 {
            0.0
        } else {
            self.hits as f64 / n as f64
        }
    }

    pub fn add(&mut self, o: &BufferCounters) {
        self.hits += o.hits;
        self.misses += o.misses;
        self.bypasses += o.bypasses;
        self.evictions += o.evictions;
    }
}

#[derive(Clone, Copy, Default)]
struct Way {
    valid: bool,
    line: u64,
    age: u8,
    count: u8,
}

/// One port's row buffer.
pub struct LineBuffer {
    cfg: BufferConfig,
    ways: Vec<Way>,
    data: Vec<[u8; 64]>,
    hot: Vec<u8>,
    /// Line address of the miss waiting under each tag.
    pending: Vec<Option<u64>>,
    pub counters: BufferCounters,
}

impl LineBuffer {
    /// An empty buffer (`cfg` validated, lines > 0).
    pub fn new(cfg: BufferConfig) -> Result<Self, SimError> {
        cfg.validate()?;
        if !cfg.on() {
            return Err(SimError::Config("buffer_lines is 0: no buffer".into()));
        }
        let ways = (0..cfg.lines)
            .map(|i| Way {
                age: (i % cfg.ways) as u8,
                ..Way::default()
            })
            .collect();
        Ok(LineBuffer {
            cfg,
            ways,
            data: vec![[0; 64]; cfg.lines],
            hot: vec![0; HOT_ENTRIES],
            pending: vec![None; NUM_TAGS],
            counters: BufferCounters::default(),
        })
    }

    pub fn config(&self) -> BufferConfig {
        self.cfg
    }

    fn set_of(&self, line: u64) -> usize {
        (line as usize & (self.cfg.sets() - 1)) * self.cfg.ways
    }

    fn find(&self, base: usize, line: u64) -> Option<usize> {
        (base..base + self.cfg.ways).find(|&i| self.ways[i].valid && self.ways[i].line == line)
    }

    /// Make way `i` of the set at `base` the most recent.
    fn touch(&mut self, base: usize, i: usize) {
        let a = self.ways[i].age;
        for w in &mut self.ways[base..base + self.cfg.ways] {
            if w.age < a {
                w.age += 1;
            }
        }
        self.ways[i].age = 0;
    }

    /// Whether a lookup of `line` would hit now (no state change).
    pub fn probe(&self, line: u64) -> bool {
        self.find(self.set_of(line), line).is_some()
    }

    /// Look up `line` for the MemRd with tag `tag`: the buffered data on a hit (no MemRd), None
    /// on a miss (the MemRd goes out and its line is remembered under `tag`).
    pub fn lookup(&mut self, tag: u16, line: u64) -> Option<[u8; 64]> {
        let h = &mut self.hot[line as usize & (HOT_ENTRIES - 1)];
        *h = (*h + 1).min(HOT_MAX);
        let base = self.set_of(line);
        match self.find(base, line) {
            Some(i) => {
                self.counters.hits += 1;
                self.touch(base, i);
                self.ways[i].count = (self.ways[i].count + 1).min(HOT_MAX);
                Some(self.data[i])
            }
            None => {
                self.counters.misses += 1;
                if let Some(p) = self.pending.get_mut(tag as usize) {
                    *p = Some(line);
                }
                None
            }
        }
    }

    /// A line reached the accumulator from the device with tag `tag`: insert it or bypass it
    /// if a miss is waiting under that tag; ignore it otherwise.
    pub fn fill(&mut self, tag: u16, poison: bool, data: &[u8; 64]) {
        let Some(line) = self.pending.get_mut(tag as usize).and_then(Option::take) else {
            return;
        };
        let base = self.set_of(line);
        if poison || self.find(base, line).is_some() {
            self.counters.bypasses += 1;
            return;
        }
        let set = base..base + self.cfg.ways;
        let invalid = set.clone().find(|&i| !self.ways[i].valid);
        let h = self.hot[line as usize & (HOT_ENTRIES - 1)];
        let victim = match self.cfg.policy {
            BufferPolicy::Lru => invalid.unwrap_or_else(|| {
                set.clone()
                    .max_by_key(|&i| self.ways[i].age)
                    .expect("ways >= 1")
            }),
            BufferPolicy::Hot => {
                if h < HOT_THRESHOLD {
                    self.counters.bypasses += 1;
                    return;
                }
                let v = invalid.unwrap_or_else(|| {
                    // min_by_key returns the first minimum: the lowest way on a tie.
                    set.clone()
                        .min_by_key(|&i| self.ways[i].count)
                        .expect("ways >= 1")
                });
                if self.ways[v].valid && self.ways[v].count > h {
                    self.counters.bypasses += 1;
                    return;
                }
                v
            }
        };
        if self.ways[victim].valid {
            self.counters.evictions += 1;
        }
        self.ways[victim].valid = true;
        self.ways[victim].line = line;
        self.ways[victim].count = h;
        self.data[victim] = *data;
        self.touch(base, victim);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(lines: usize, ways: usize, policy: BufferPolicy) -> BufferConfig {
        BufferConfig {
            lines,
            ways,
            policy,
        }
    }

    #[test]
    fn geometry_is_checked() {
        assert!(cfg(0, 3, BufferPolicy::Lru).validate().is_ok());
        assert!(cfg(64, 4, BufferPolicy::Lru).validate().is_ok());
        assert!(cfg(12, 3, BufferPolicy::Hot).validate().is_ok());
        let e = cfg(10, 4, BufferPolicy::Lru).validate().unwrap_err();
        assert!(e.to_string().contains("not a multiple"), "{e}");
        let e = cfg(24, 4, BufferPolicy::Lru).validate().unwrap_err();
        assert!(e.to_string().contains("power of two"), "{e}");
        assert!(cfg(16, 0, BufferPolicy::Lru).validate().is_err());
    }

    #[test]
    fn a_line_inserted_then_hits_and_lru_evicts_the_oldest() {
        // One set of 2 ways: lines 1, 2 fill it; a hit on 1 makes 2 the LRU; 3 evicts 2.
        let mut b = LineBuffer::new(cfg(2, 2, BufferPolicy::Lru)).unwrap();
        let d = |x: u8| [x; 64];
        for (tag, line) in [(0u16, 1u64), (1, 2)] {
            assert!(b.lookup(tag, line).is_none());
            b.fill(tag, false, &d(line as u8));
        }
        assert_eq!(b.lookup(2, 1), Some(d(1)));
        assert!(b.lookup(3, 3).is_none());
        b.fill(3, false, &d(3));
        assert!(b.probe(1) && b.probe(3) && !b.probe(2));
        assert_eq!(
            b.counters,
            BufferCounters {
                hits: 1,
                misses: 3,
                bypasses: 0,
                evictions: 1
            }
        );
        // A poisoned line and a line whose tag has no miss waiting are not inserted.
        assert!(b.lookup(4, 9).is_none());
        b.fill(4, true, &d(9));
        b.fill(5, false, &d(7));
        assert!(!b.probe(9) && !b.probe(7));
        assert_eq!(b.counters.bypasses, 1);
    }

    #[test]
    fn hot_policy_inserts_from_the_threshold_and_keeps_hotter_lines() {
        let mut b = LineBuffer::new(cfg(1, 1, BufferPolicy::Hot)).unwrap();
        let d = [0u8; 64];
        // First access of line 5: count 1 < threshold 2: bypass.
        assert!(b.lookup(0, 5).is_none());
        b.fill(0, false, &d);
        assert!(!b.probe(5));
        // Second access: count 2: inserted.
        assert!(b.lookup(0, 5).is_none());
        b.fill(0, false, &d);
        assert!(b.probe(5));
        // Hits raise the buffered line's count to 4.
        assert!(b.lookup(1, 5).is_some());
        assert!(b.lookup(1, 5).is_some());
        // Line 6 at counts 1 (below the threshold), 2, 3 (colder than 4) is bypassed; at 4 it
        // replaces line 5.
        for _ in 0..3 {
            assert!(b.lookup(2, 6).is_none());
            b.fill(2, false, &d);
            assert!(b.probe(5));
        }
        assert!(b.lookup(2, 6).is_none());
        b.fill(2, false, &d);
        assert!(b.probe(6) && !b.probe(5));
        assert_eq!(
            b.counters,
            BufferCounters {
                hits: 2,
                misses: 6,
                bypasses: 4,
                evictions: 1
            }
        );
    }
}
