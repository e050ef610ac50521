//! Where every row of every table lives, beyond the one-rule [`Placement`]: a scheme per table
//! (row-wise, table-wise or column-wise sharding, docs/placement.md) and, on top of it, pages
//! that embedding spreading moved or replicated ([`crate::hotness`]). The run loops
//! ([`crate::system::run`], [`crate::switch_run::run_switch`]) split every bag with
//! [`Layout::split`]: each share is the rows one device serves and the column group (lines) of
//! those rows it holds; the host adds the shares of a column group in port order and
//! concatenates the column groups, so a column-sharded table needs no addition at the host.

use crate::system::Placement;
use pifs_dlrm::Trace;
use serde::Serialize;
use std::collections::BTreeMap;

/// How one table is placed on the devices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "scheme")]
pub enum TableScheme {
    /// Rows spread by the base [`Placement`] (row r on device r mod ports by default).
    Row,
    /// The whole table on one device.
    Table { device: usize },
    /// Column-wise: each group's device holds lines `line0 .. line0 + lines` of every row; the
    /// groups cover the row's lines once each.
    Column { groups: Vec<ColumnGroup> },
}

/// One column group of a column-sharded table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ColumnGroup {
    pub device: usize,
    pub line0: usize,
    pub lines: usize,
}

/// Which copy of a replicated page serves an access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplicaPick {
    /// The replica whose device has been given the fewest lines so far in this batch (lowest
    /// device on a tie): the host knows what it has issued.
    LeastLoaded,
    /// The page's replicas in turn.
    RoundRobin,
}

/// (table, page index): page p of table t holds the rows whose first byte lies in
/// `[p * page_bytes, (p + 1) * page_bytes)` of the table.
pub type PageId = (usize, u64);

/// Page of row `row` whose rows are `row_bytes` long.
pub fn page_of(row: u64, row_bytes: u64, page_bytes: u64) -> u64 {
    row * row_bytes / page_bytes.max(1)
}

/// Rows of page `page`: the rows whose first byte lies in it.
pub fn page_rows(page: u64, row_bytes: u64, page_bytes: u64) -> std::ops::Range<u64> {
    let first = (page * page_bytes).div_ceil(row_bytes);
    let end = ((page + 1) * page_bytes).div_ceil(row_bytes);
    first..end
}

/// The placement of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub base: Placement,
    /// Scheme per table (index = table); tables past the end are [`TableScheme::Row`].
    pub tables: Vec<TableScheme>,
    /// Page size of `pages`, bytes.
    pub page_bytes: u64,
    /// Pages embedding spreading placed: the devices holding a full copy (one = migrated,
    /// several = replicated). Only tables that are not column-sharded.
    pub pages: BTreeMap<PageId, Vec<usize>>,
    pub pick: ReplicaPick,
}

/// What one device serves of one bag: `rows` (in trace order), lines `line0 .. line0 + lines`
/// of each.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Share {
    pub device: usize,
    pub line0: usize,
    pub lines: usize,
    pub rows: Vec<u64>,
}

const ROW: TableScheme = TableScheme::Row;

impl Layout {
    /// Every table by `base`, nothing spread.
    pub fn new(base: Placement) -> Layout {
        Layout {
            base,
            tables: Vec::new(),
            page_bytes: 4096,
            pages: BTreeMap::new(),
            pick: ReplicaPick::LeastLoaded,
        }
    }

    pub fn scheme(&self, t: usize) -> &TableScheme {
        self.tables.get(t).unwrap_or(&ROW)
    }

    /// Device of row `r` of table `t` before spreading (a column-sharded table: its first
    /// group's device).
    pub fn home(&self, t: usize, r: u64, row_bytes: u64, ports: usize) -> usize {
        match self.scheme(t) {
            TableScheme::Row => self.base.port(t, r, row_bytes, ports),
            TableScheme::Table { device } => *device,
            TableScheme::Column { groups } => groups.first().map_or(0, |g| g.device),
        }
    }

    /// Devices holding a full copy of row `r` of table `t` after spreading, or None when the
    /// row sits at its home.
    pub fn spread_copies(&self, t: usize, r: u64, row_bytes: u64) -> Option<&[usize]> {
        if self.pages.is_empty() {
            return None;
        }
        self.pages
            .get(&(t, page_of(r, row_bytes, self.page_bytes)))
            .map(Vec::as_slice)
    }

    /// Check devices against `ports` and column groups against the row's `row_lines` lines.
    pub fn validate(&self, row_lines: usize, ports: usize) -> Result<(), String> {
        let dev = |d: usize, what: &str| {
            if d < ports {
                Ok(())
            } else {
                Err(format!("{what}: device {d}, the run has {ports} port(s)"))
            }
        };
        if self.page_bytes == 0 {
            return Err("page size 0 bytes".into());
        }
        for (t, s) in self.tables.iter().enumerate() {
            match s {
                TableScheme::Row => {}
                TableScheme::Table { device } => dev(*device, &format!("table {t}"))?,
                TableScheme::Column { groups } => {
                    let mut next = 0;
                    for g in groups {
                        dev(g.device, &format!("table {t} column group"))?;
                        if g.line0 != next || g.lines == 0 {
                            return Err(format!(
                                "table {t}: column groups must cover lines 0..{row_lines} in order, each at least one line"
                            ));
                        }
                        next += g.lines;
                    }
                    if next != row_lines {
                        return Err(format!(
                            "table {t}: column groups cover {next} line(s), a row has {row_lines}"
                        ));
                    }
                }
            }
        }
        for (&(t, p), devs) in &self.pages {
            if devs.is_empty() {
                return Err(format!("table {t} page {p}: no device"));
            }
            if matches!(self.scheme(t), TableScheme::Column { .. }) {
                return Err(format!(
                    "table {t} page {p}: a column-sharded table's pages are not spread"
                ));
            }
            for &d in devs {
                dev(d, &format!("table {t} page {p}"))?;
            }
        }
        Ok(())
    }

    /// Split every bag of `trace` over the devices: per bag (t*B+b), its shares in device
    /// order (column groups in group order); and the lines each device reads. Replicas are
    /// picked in bag order, so the split is a function of the trace alone.
    pub fn split(
        &self,
        trace: &Trace,
        row_lines: usize,
        ports: usize,
    ) -> (Vec<Vec<Share>>, Vec<u64>) {
        let row_bytes = row_lines as u64 * 64;
        let mut load = vec![0u64; ports];
        let mut turn: BTreeMap<PageId, usize> = BTreeMap::new();
        let mut out = Vec::with_capacity(trace.num_bags());
        for t in 0..trace.tables {
            for b in 0..trace.batch {
                let rows = trace.bag(t, b);
                if let TableScheme::Column { groups } = self.scheme(t) {
                    let mut shares = Vec::new();
                    for g in groups {
                        if !rows.is_empty() {
                            load[g.device] += (rows.len() * g.lines) as u64;
                            shares.push(Share {
                                device: g.device,
                                line0: g.line0,
                                lines: g.lines,
                                rows: rows.iter().map(|&r| r as u64).collect(),
                            });
                        }
                    }
                    out.push(shares);
                    continue;
                }
                let mut per: Vec<Vec<u64>> = vec![Vec::new(); ports];
                for &r in rows {
                    let r = r as u64;
                    let d = match self.spread_copies(t, r, row_bytes) {
                        None => self.home(t, r, row_bytes, ports),
                        Some([d]) => *d,
                        Some(devs) => match self.pick {
                            ReplicaPick::LeastLoaded => *devs
                                .iter()
                                .min_by_key(|&&d| (load[d], d))
                                .expect("a spread page has a device"),
                            ReplicaPick::RoundRobin => {
                                let k = turn
                                    .entry((t, page_of(r, row_bytes, self.page_bytes)))
                                    .or_insert(0);
                                let d = devs[*k % devs.len()];
                                *k += 1;
                                d
                            }
                        },
                    };
                    load[d] += row_lines as u64;
                    per[d].push(r);
                }
                out.push(
                    per.into_iter()
                        .enumerate()
                        .filter(|(_, r)| !r.is_empty())
                        .map(|(device, rows)| Share {
                            device,
                            line0: 0,
                            lines: row_lines,
                            rows,
                        })
                        .collect(),
                );
            }
        }
        (out, load)
    }
}

/// max / mean of per-device loads (1.0 for perfectly even, 0 loads give 0).
pub fn imbalance(load: &[u64]) -> f64 {
    let total: u64 = load.iter().sum();
    if total == 0 || load.is_empty() {
        return 0.0;
    }
    *load.iter().max().unwrap() as f64 / (total as f64 / load.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_rows_partition_the_rows() {
        // 96-byte rows over 256-byte pages: a row belongs to the page its first byte is in.
        let mut seen = Vec::new();
        for p in 0..6 {
            for r in page_rows(p, 96, 256) {
                assert_eq!(page_of(r, 96, 256), p);
                seen.push(r);
            }
        }
        assert_eq!(seen, (0..seen.len() as u64).collect::<Vec<_>>());
    }

    #[test]
    fn column_groups_must_tile_the_row() {
        let mut l = Layout::new(Placement::Row);
        l.tables = vec![TableScheme::Column {
            groups: vec![
                ColumnGroup {
                    device: 0,
                    line0: 0,
                    lines: 1,
                },
                ColumnGroup {
                    device: 1,
                    line0: 2,
                    lines: 1,
                },
            ],
        }];
        assert!(l.validate(3, 2).is_err());
        l.tables = vec![TableScheme::Column {
            groups: vec![
                ColumnGroup {
                    device: 0,
                    line0: 0,
                    lines: 1,
                },
                ColumnGroup {
                    device: 3,
                    line0: 1,
                    lines: 2,
                },
            ],
        }];
        assert!(l.validate(3, 2).is_err(), "device 3 of 2 ports");
        assert!(l.validate(3, 4).is_ok());
    }
}
