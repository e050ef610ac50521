//! Functional coverage: named coverpoints with declared bins, sampled by the testbenches and
//! merged by `pifs-regress` over every passing case.
//!
//! A testbench declares its coverpoints once ([`crate::regress::Testbench::cover`] returns them
//! with every count at zero) and each case samples into its own copy, which it hands back in its
//! [`crate::regress::CaseResult`]. Cases run on a thread pool; the runner merges the copies per
//! testbench in a [`CoverageReport`], writes `coverage.json` ([`CoverageReport::to_json`]) and
//! prints a table ([`CoverageReport::table`]). A bin is either a named value (`"H3"`) or an
//! inclusive range of a number (`"2-3"`, `"16+"`). Sampling a coverpoint or bin that was not
//! declared panics: it is a bug in the testbench (the runner reports the panic as a failure).
//!
//! The helpers at the end sample what the port and switch testbenches share: the host's
//! commands (bag lengths, row sizes, tag reuse) and the S2M flit stream (slot formats, valid
//! gaps).

use pifs_cxl::slots::format_name;
use pifs_cxl::{Decoder, Dir, Flit, FlitType};
use pifs_sim::Command;
use std::collections::HashMap;
use std::fmt::Write as _;

/// One bin of a coverpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bin {
    pub label: String,
    /// For a range bin: the inclusive range of values it counts.
    pub range: Option<(u64, u64)>,
    pub count: u64,
}

/// A named coverpoint: its bins in declaration order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Coverpoint {
    pub name: String,
    pub bins: Vec<Bin>,
}

impl Coverpoint {
    /// Bins sampled at least once.
    pub fn hit(&self) -> usize {
        self.bins.iter().filter(|b| b.count > 0).count()
    }

    /// Labels of the bins never sampled.
    pub fn unhit(&self) -> Vec<&str> {
        self.bins
            .iter()
            .filter(|b| b.count == 0)
            .map(|b| b.label.as_str())
            .collect()
    }

    /// The count of bin `label` (None if there is no such bin).
    pub fn count(&self, label: &str) -> Option<u64> {
        self.bins.iter().find(|b| b.label == label).map(|b| b.count)
    }
}

/// The label of the range `lo..=hi`: `"5"`, `"2-3"`, or `"16+"` when `hi` is `u64::MAX`.
pub fn range_label(lo: u64, hi: u64) -> String {
    if lo == hi {
        lo.to_string()
    } else if hi == u64::MAX {
        format!("{lo}+")
    } else {
        format!("{lo}-{hi}")
    }
}

/// The coverpoints of one testbench (declared, then sampled by one case, or merged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    points: Vec<Coverpoint>,
}

impl Coverage {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn points(&self) -> &[Coverpoint] {
        &self.points
    }

    pub fn point(&self, name: &str) -> Option<&Coverpoint> {
        self.points.iter().find(|p| p.name == name)
    }

    /// Whether coverpoint `name` is declared.
    pub fn has(&self, name: &str) -> bool {
        self.point(name).is_some()
    }

    fn add_point(&mut self, name: &str, bins: Vec<Bin>) -> &mut Self {
        assert!(!self.has(name), "coverpoint {name} declared twice");
        assert!(!bins.is_empty(), "coverpoint {name} without bins");
        self.points.push(Coverpoint {
            name: name.to_string(),
            bins,
        });
        self
    }

    /// Declare a coverpoint whose bins are named values.
    pub fn named(&mut self, name: &str, labels: &[&str]) -> &mut Self {
        let bins = labels
            .iter()
            .map(|l| Bin {
                label: l.to_string(),
                range: None,
                count: 0,
            })
            .collect();
        self.add_point(name, bins)
    }

    /// Declare a coverpoint over a number, one bin per inclusive range (`u64::MAX` as the upper
    /// end: open). Ranges must not overlap.
    pub fn ranges(&mut self, name: &str, ranges: &[(u64, u64)]) -> &mut Self {
        for (i, a) in ranges.iter().enumerate() {
            assert!(a.0 <= a.1, "coverpoint {name}: empty range {a:?}");
            for b in &ranges[i + 1..] {
                assert!(
                    a.1 < b.0 || b.1 < a.0,
                    "coverpoint {name}: {a:?} overlaps {b:?}"
                );
            }
        }
        let bins = ranges
            .iter()
            .map(|&(lo, hi)| Bin {
                label: range_label(lo, hi),
                range: Some((lo, hi)),
                count: 0,
            })
            .collect();
        self.add_point(name, bins)
    }

    fn point_mut(&mut self, name: &str) -> &mut Coverpoint {
        self.points
            .iter_mut()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("coverpoint {name} is not declared"))
    }

    /// Count one sample of the named bin `label` of `name`.
    pub fn sample(&mut self, name: &str, label: &str) {
        let p = self.point_mut(name);
        let bin = p
            .bins
            .iter_mut()
            .find(|b| b.label == label)
            .unwrap_or_else(|| panic!("coverpoint {name} has no bin {label:?}"));
        bin.count += 1;
    }

    /// Count one sample of value `v` in the range bin of `name` that holds it.
    pub fn sample_value(&mut self, name: &str, v: u64) {
        let p = self.point_mut(name);
        let bin = p
            .bins
            .iter_mut()
            .find(|b| b.range.is_some_and(|(lo, hi)| lo <= v && v <= hi))
            .unwrap_or_else(|| panic!("coverpoint {name} has no bin for the value {v}"));
        bin.count += 1;
    }

    /// Sample `label` into `name` if the testbench declared `name` (for the shared helpers).
    pub fn sample_if(&mut self, name: &str, label: &str) {
        if self.has(name) {
            self.sample(name, label);
        }
    }

    /// Sample value `v` into `name` if the testbench declared `name`.
    pub fn sample_value_if(&mut self, name: &str, v: u64) {
        if self.has(name) {
            self.sample_value(name, v);
        }
    }

    /// Add `other`'s counts to this one: coverpoints matched by name, bins by label; a
    /// coverpoint or bin this one lacks is appended (so merging into an empty [`Coverage`]
    /// copies).
    pub fn merge(&mut self, other: &Coverage) {
        for op in &other.points {
            match self.points.iter_mut().find(|p| p.name == op.name) {
                Some(p) => {
                    for ob in &op.bins {
                        match p.bins.iter_mut().find(|b| b.label == ob.label) {
                            Some(b) => b.count += ob.count,
                            None => p.bins.push(ob.clone()),
                        }
                    }
                }
                None => self.points.push(op.clone()),
            }
        }
    }

    /// Bins hit, and bins declared, over every coverpoint.
    pub fn totals(&self) -> (usize, usize) {
        self.points
            .iter()
            .fold((0, 0), |(h, t), p| (h + p.hit(), t + p.bins.len()))
    }
}

/// The coverage of a run: per testbench (in first-added order), the merge of its declaration
/// and of the samples of its passing cases.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoverageReport {
    pub testbenches: Vec<(String, Coverage)>,
    /// Cases whose samples were merged.
    pub cases_merged: usize,
}

impl CoverageReport {
    pub fn new() -> Self {
        Self::default()
    }

    /// Merge `cov` into testbench `name`'s coverage (added if new). Declarations go in with
    /// this too (all counts zero), so unhit bins are listed.
    pub fn add(&mut self, name: &str, cov: &Coverage) {
        match self.testbenches.iter_mut().find(|(n, _)| n == name) {
            Some((_, c)) => c.merge(cov),
            None => {
                let mut c = Coverage::new();
                c.merge(cov);
                self.testbenches.push((name.to_string(), c));
            }
        }
    }

    /// Merge one case's samples (counted in `cases_merged`).
    pub fn add_case(&mut self, name: &str, cov: &Coverage) {
        self.add(name, cov);
        self.cases_merged += 1;
    }

    pub fn get(&self, testbench: &str) -> Option<&Coverage> {
        self.testbenches
            .iter()
            .find(|(n, _)| n == testbench)
            .map(|(_, c)| c)
    }

    /// Bins hit, and bins declared, over every testbench.
    pub fn totals(&self) -> (usize, usize) {
        self.testbenches.iter().fold((0, 0), |(h, t), (_, c)| {
            let (a, b) = c.totals();
            (h + a, t + b)
        })
    }

    /// The report as JSON (`coverage.json`), keys in this order, bins in declaration order:
    ///
    /// ```text
    /// {"coverpoints": [
    ///    {"testbench": "random_workload", "name": "bag_rows",
    ///     "bins": {"0": 31, "1": 12, "2-3": 20, ...}, "hit": 8, "total": 8},
    ///    ...],
    ///  "summary": {"bins_hit": 97, "bins_total": 101, "cases_merged": 70}}
    /// ```
    ///
    /// One entry per (testbench, coverpoint); `bins` maps each bin's label to the number of
    /// samples that fell in it, summed over the passing cases (cases that failed, panicked or
    /// timed out are not merged; `cases_merged` counts those that were); `hit` is the number of
    /// bins with a count above zero and `total` the number of bins; `summary` sums `hit` and
    /// `total` over every entry.
    pub fn to_json(&self) -> String {
        let mut s = String::from("{\n  \"coverpoints\": [");
        let mut first = true;
        for (tb, cov) in &self.testbenches {
            for p in cov.points() {
                s += if first { "\n" } else { ",\n" };
                first = false;
                let bins: Vec<String> = p
                    .bins
                    .iter()
                    .map(|b| format!("{}: {}", json_str(&b.label), b.count))
                    .collect();
                let _ = write!(
                    s,
                    "    {{\"testbench\": {}, \"name\": {}, \"bins\": {{{}}}, \"hit\": {}, \"total\": {}}}",
                    json_str(tb),
                    json_str(&p.name),
                    bins.join(", "),
                    p.hit(),
                    p.bins.len()
                );
            }
        }
        let (hit, total) = self.totals();
        let _ = write!(
            s,
            "\n  ],\n  \"summary\": {{\"bins_hit\": {hit}, \"bins_total\": {total}, \"cases_merged\": {}}}\n}}\n",
            self.cases_merged
        );
        s
    }

    /// A short table: one row per coverpoint (testbench, name, hit/total, the unhit bins), then
    /// the totals.
    pub fn table(&self) -> String {
        let rows: Vec<(&str, &str, String, String)> = self
            .testbenches
            .iter()
            .flat_map(|(tb, c)| {
                c.points().iter().map(move |p| {
                    (
                        tb.as_str(),
                        p.name.as_str(),
                        format!("{}/{}", p.hit(), p.bins.len()),
                        p.unhit().join(" "),
                    )
                })
            })
            .collect();
        let w0 = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(9);
        let w1 = rows.iter().map(|r| r.1.len()).max().unwrap_or(0).max(10);
        let mut s = format!(
            "{:<w0$}  {:<w1$}  {:>7}  UNHIT BINS\n",
            "TESTBENCH", "COVERPOINT", "HIT"
        );
        for (tb, name, hit, unhit) in &rows {
            let unhit = if unhit.is_empty() { "-" } else { unhit };
            let _ = writeln!(s, "{tb:<w0$}  {name:<w1$}  {hit:>7}  {unhit}");
        }
        let (hit, total) = self.totals();
        let pct = if total == 0 {
            0.0
        } else {
            100.0 * hit as f64 / total as f64
        };
        let _ = writeln!(
            s,
            "functional coverage: {hit} of {total} bins hit ({pct:.1}%) over {} passing case(s)",
            self.cases_merged
        );
        s
    }
}

/// `s` as a JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

// ---------------------------------------------------------------------------------------------
// Coverpoints shared by the testbenches, and their samplers.

/// Rows per bag (at one port): the empty bag, one row, powers of two up to the 256 tags.
pub const BAG_ROWS: &str = "bag_rows";
pub const BAG_ROWS_BINS: &[(u64, u64)] = &[
    (0, 0),
    (1, 1),
    (2, 3),
    (4, 7),
    (8, 15),
    (16, 63),
    (64, 255),
    (256, 256),
];
/// Row size in 64-byte lines, 1 .. 8: one bin each.
pub const ROW_LINES: &str = "row_lines";
pub const ROW_LINES_BINS: &[(u64, u64)] = &[
    (1, 1),
    (2, 2),
    (3, 3),
    (4, 4),
    (5, 5),
    (6, 6),
    (7, 7),
    (8, 8),
];
/// A row maps a tag an earlier row at the same port used: the distance in rows mapped at that
/// port since (1: the row right before it; counted once per row, its nearest reuse).
pub const TAG_REUSE: &str = "tag_reuse_rows";
pub const TAG_REUSE_BINS: &[(u64, u64)] = &[(1, 1), (2, 15), (16, 63), (64, u64::MAX)];
/// The S2M slot formats the packer produced: slot 0 H3/H4/H5, slots 1-3 G0/G4/G5/G6, and
/// all-data flits.
pub const SLOT_FORMATS: &str = "slot_formats";
pub const SLOT_FORMAT_BINS: &[&str] = &["H3", "H4", "H5", "G0", "G4", "G5", "G6", "all-data"];
/// Idle cycles between consecutive flits offered on an S2M stream.
pub const FLIT_GAP: &str = "flit_gap_cycles";

/// Declare the command coverpoints (bag rows, row lines, tag reuse).
pub fn declare_cmd_points(cov: &mut Coverage, tag_reuse: bool) {
    cov.ranges(BAG_ROWS, BAG_ROWS_BINS)
        .ranges(ROW_LINES, ROW_LINES_BINS);
    if tag_reuse {
        cov.ranges(TAG_REUSE, TAG_REUSE_BINS);
    }
}

/// Follows the commands of one port: bag lengths, row sizes and tag reuse.
#[derive(Default)]
pub struct CmdTap {
    /// Lines of the bag open in each slot.
    slot_lines: HashMap<u8, u64>,
    /// Per tag: the index of the row that used it last.
    last_use: HashMap<u32, u64>,
    rows: u64,
}

impl CmdTap {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sample one command (port accumulator or switch) into the declared points.
    pub fn sample(&mut self, cov: &mut Coverage, cmd: &Command) {
        match *cmd {
            Command::BagOpen { bag, rows, lines } => {
                self.slot_lines.insert(bag, lines as u64);
                cov.sample_value_if(BAG_ROWS, rows as u64);
                cov.sample_value_if(ROW_LINES, lines as u64);
            }
            Command::RowMap { bag, tag } => {
                let lines = self.slot_lines.get(&bag).copied().unwrap_or(1);
                self.row(cov, tag as u32, lines);
            }
            Command::RowRead { tag, lines, .. } => self.row(cov, tag as u32, lines as u64),
        }
    }

    fn row(&mut self, cov: &mut Coverage, tag: u32, lines: u64) {
        let me = self.rows;
        self.rows += 1;
        let mut nearest: Option<u64> = None;
        for t in tag..tag + lines as u32 {
            if let Some(prev) = self.last_use.insert(t, me) {
                let d = me - prev;
                nearest = Some(nearest.map_or(d, |n| n.min(d)));
            }
        }
        if let Some(d) = nearest {
            cov.sample_value_if(TAG_REUSE, d);
        }
    }
}

/// Follows one S2M flit stream: slot formats (decoded as the port's ingress reads them) and
/// the idle cycles between flits.
pub struct FlitTap {
    dec: Decoder,
    prev: Option<u64>,
}

impl Default for FlitTap {
    fn default() -> Self {
        FlitTap {
            dec: Decoder::new(Dir::S2M),
            prev: None,
        }
    }
}

impl FlitTap {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next flit starts a new burst: no gap is sampled before it.
    pub fn break_gap(&mut self) {
        self.prev = None;
    }

    /// Sample the flit offered from cycle `at`. A flit with a bad CRC or of an unknown type
    /// gives no format (the decoder skips it, as the port does).
    pub fn sample(&mut self, cov: &mut Coverage, at: u64, flit: &Flit) {
        if let Some(p) = self.prev {
            cov.sample_value_if(FLIT_GAP, at.saturating_sub(p + 1));
        }
        self.prev = Some(at);
        if cov.has(SLOT_FORMATS) && flit.crc_ok() {
            if self.dec.all_data_due() {
                cov.sample(SLOT_FORMATS, "all-data");
            } else {
                let h = flit.header();
                if h.ty == FlitType::Protocol {
                    for (slot, &code) in h.slots.iter().enumerate() {
                        if let Some(name) = format_name(Dir::S2M, slot, code) {
                            cov.sample(SLOT_FORMATS, name);
                        }
                    }
                }
            }
        }
        let _ = self.dec.push_lenient(flit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared() -> Coverage {
        let mut c = Coverage::new();
        c.ranges("len", &[(0, 0), (1, 3), (4, u64::MAX)])
            .named("fmt", &["A", "B", "C"]);
        c
    }

    #[test]
    fn range_labels() {
        assert_eq!(range_label(0, 0), "0");
        assert_eq!(range_label(2, 3), "2-3");
        assert_eq!(range_label(16, u64::MAX), "16+");
    }

    #[test]
    fn samples_land_in_their_bins() {
        let mut c = declared();
        for v in [0, 1, 3, 4, 1000, u64::MAX] {
            c.sample_value("len", v);
        }
        c.sample("fmt", "B");
        let len = c.point("len").unwrap();
        assert_eq!(
            len.bins.iter().map(|b| b.count).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        let fmt = c.point("fmt").unwrap();
        assert_eq!(fmt.hit(), 1);
        assert_eq!(fmt.unhit(), ["A", "C"]);
        assert_eq!(c.totals(), (4, 6));
    }

    #[test]
    #[should_panic(expected = "has no bin")]
    fn an_undeclared_bin_panics() {
        declared().sample("fmt", "D");
    }

    #[test]
    #[should_panic(expected = "not declared")]
    fn an_undeclared_point_panics() {
        declared().sample_value("rows", 1);
    }

    #[test]
    #[should_panic(expected = "overlaps")]
    fn overlapping_ranges_are_refused() {
        Coverage::new().ranges("x", &[(0, 4), (4, 8)]);
    }

    #[test]
    fn merge_sums_counts_and_keeps_unhit_bins() {
        let mut a = declared();
        a.sample_value("len", 2);
        a.sample("fmt", "A");
        let mut b = declared();
        b.sample_value("len", 2);
        b.sample_value("len", 9);
        b.sample("fmt", "A");
        let mut m = declared();
        m.merge(&a);
        m.merge(&b);
        let counts = |c: &Coverage, p: &str| -> Vec<u64> {
            c.point(p).unwrap().bins.iter().map(|b| b.count).collect()
        };
        assert_eq!(counts(&m, "len"), [0, 2, 1]);
        assert_eq!(counts(&m, "fmt"), [2, 0, 0]);
        assert_eq!(m.totals(), (3, 6));
        // Order does not matter, and merging into an empty coverage copies.
        let mut n = Coverage::new();
        n.merge(&b);
        n.merge(&a);
        assert_eq!(counts(&n, "len"), counts(&m, "len"));
        assert_eq!(counts(&n, "fmt"), counts(&m, "fmt"));
        // A point or bin only the other side has is appended.
        let mut extra = Coverage::new();
        extra.named("fmt", &["Z"]).named("new", &["x"]);
        extra.sample("fmt", "Z");
        m.merge(&extra);
        assert_eq!(m.point("fmt").unwrap().count("Z"), Some(1));
        assert!(m.has("new"));
        assert_eq!(m.totals(), (4, 8));
    }

    #[test]
    fn report_merges_per_testbench_and_counts_cases() {
        let mut r = CoverageReport::new();
        r.add("tb1", &declared());
        r.add("tb2", &declared());
        let mut case = declared();
        case.sample("fmt", "C");
        r.add_case("tb1", &case);
        r.add_case("tb1", &case);
        assert_eq!(r.cases_merged, 2);
        assert_eq!(
            r.get("tb1").unwrap().point("fmt").unwrap().count("C"),
            Some(2)
        );
        assert_eq!(r.get("tb2").unwrap().totals(), (0, 6));
        assert_eq!(r.totals(), (1, 12));
        let t = r.table();
        assert!(t.contains("tb1        fmt"), "{t}");
        assert!(t.contains("1 of 12 bins hit"), "{t}");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_str("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }

    #[test]
    fn tag_reuse_distance_is_the_nearest_earlier_row() {
        let mut c = Coverage::new();
        declare_cmd_points(&mut c, true);
        let mut tap = CmdTap::new();
        let open = |bag, rows, lines| Command::BagOpen { bag, rows, lines };
        let map = |bag, tag| Command::RowMap { bag, tag };
        // Slot 0: two-line rows at tags 0 and 2; slot 1: one-line rows at tags 1, 3, 0.
        for cmd in [
            open(0, 2, 2),
            map(0, 0),
            map(0, 2),
            open(1, 3, 1),
            map(1, 1),
            map(1, 3),
            map(1, 0),
        ] {
            tap.sample(&mut c, &cmd);
        }
        // Row 2 (tag 1) reuses row 0's tag 1 at distance 2; row 3 (tag 3) reuses row 1's at
        // distance 2; row 4 (tag 0) reuses row 0's at distance 4.
        let p = c.point(TAG_REUSE).unwrap();
        assert_eq!(p.count("2-15"), Some(3));
        assert_eq!(p.count("1"), Some(0));
        assert_eq!(c.point(BAG_ROWS).unwrap().count("2-3"), Some(2));
        assert_eq!(c.point(ROW_LINES).unwrap().count("2"), Some(1));
    }
}
