//! The sharding planner (docs/placement.md): table-wise, row-wise and column-wise placement of
//! embedding tables on the devices, and a greedy cost-balanced plan in the manner of ZionEX
//! (Mudigere et al., "Software-Hardware Co-design for Fast and Scalable Training of Deep
//! Learning Recommendation Models", ISCA 2022, section 4: table-, row- and column-wise sharding
//! with a cost model and a greedy load balancer) and FBGEMM/TorchRec's planners
//! (`torchrec.distributed.planner`: per-shard cost estimates, a greedy partitioner placing the
//! largest shard first on the device with the least load).
//!
//! Cost of a table: the 64 B lines its lookups read per batch, measured from a trace (so
//! pooling factor, batch and dim enter through the trace; hotness enters for row-wise tables,
//! whose per-device share is counted row by row). The greedy plan splits a table whose cost is
//! above a device's fair share (total / devices) column-wise into as many groups as it needs
//! (at most its lines), or leaves it row-wise when its rows are one line; then it places the
//! tables and column groups largest first onto the least-loaded device (LPT, Graham 1969:
//! makespan within 4/3 - 1/(3m) of the optimum).

use crate::layout::{ColumnGroup, Layout, TableScheme};
use crate::system::Placement;
use pifs_dlrm::Trace;

/// Which plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanKind {
    /// Every table row-wise by the base placement (what runs without a plan).
    Row,
    /// Table t on device t mod devices.
    Table,
    /// Every table split into min(lines, devices) column groups, groups dealt round robin.
    Column,
    /// Cost-balanced: large tables column-split, then largest first onto the least-loaded.
    Greedy,
}

impl PlanKind {
    pub fn parse(s: &str) -> Option<PlanKind> {
        Some(match s {
            "row" => PlanKind::Row,
            "table" => PlanKind::Table,
            "column" => PlanKind::Column,
            "greedy" => PlanKind::Greedy,
            _ => return None,
        })
    }
}

/// Lines each table's lookups read per batch, averaged over `traces` (index = table).
pub fn table_costs(traces: &[&Trace], row_lines: usize) -> Vec<f64> {
    let tables = traces.iter().map(|t| t.tables).max().unwrap_or(0);
    let mut c = vec![0f64; tables];
    for tr in traces {
        for (t, ct) in c.iter_mut().enumerate().take(tr.tables) {
            let n: usize = (0..tr.batch).map(|b| tr.bag(t, b).len()).sum();
            *ct += (n * row_lines) as f64;
        }
    }
    let k = traces.len().max(1) as f64;
    c.iter_mut().for_each(|x| *x /= k);
    c
}

/// Longest processing time first: items in decreasing cost (ties: lower index) each onto the
/// device with the least load so far (ties: lower device), starting from `initial` loads.
/// Returns the device of each item.
pub fn lpt(costs: &[f64], initial: &[f64]) -> Vec<usize> {
    let mut load = initial.to_vec();
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let mut dev = vec![0; costs.len()];
    for i in order {
        let d = (0..load.len())
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .expect("at least one device");
        load[d] += costs[i];
        dev[i] = d;
    }
    dev
}

/// `lines` split into `g` near-equal consecutive groups: (line0, lines).
fn column_split(lines: usize, g: usize) -> Vec<(usize, usize)> {
    let g = g.clamp(1, lines.max(1));
    let mut out = Vec::with_capacity(g);
    let mut l0 = 0;
    for i in 0..g {
        let n = lines / g + usize::from(i < lines % g);
        out.push((l0, n));
        l0 += n;
    }
    out
}

/// Lines each device reads per batch for row-wise tables under `base`, measured from `traces`
/// (index = table, then device).
fn row_wise_loads(
    traces: &[&Trace],
    base: Placement,
    row_lines: usize,
    ports: usize,
) -> Vec<Vec<f64>> {
    let tables = traces.iter().map(|t| t.tables).max().unwrap_or(0);
    let mut l = vec![vec![0f64; ports]; tables];
    let row_bytes = row_lines as u64 * 64;
    for tr in traces {
        for (t, lt) in l.iter_mut().enumerate().take(tr.tables) {
            for b in 0..tr.batch {
                for &r in tr.bag(t, b) {
                    lt[base.port(t, r as u64, row_bytes, ports)] += row_lines as f64;
                }
            }
        }
    }
    let k = traces.len().max(1) as f64;
    l.iter_mut().flatten().for_each(|x| *x /= k);
    l
}

/// A plan and the per-device load its cost model predicts (lines per batch).
#[derive(Clone, Debug)]
pub struct Plan {
    pub layout: Layout,
    pub predicted: Vec<f64>,
}

/// Plan `kind` for the tables of `traces` (the profile) on `ports` devices.
pub fn plan(
    kind: PlanKind,
    base: Placement,
    traces: &[&Trace],
    row_lines: usize,
    ports: usize,
) -> Plan {
    let costs = table_costs(traces, row_lines);
    let rowl = row_wise_loads(traces, base, row_lines, ports);
    let n = costs.len();
    let mut layout = Layout::new(base);
    let columns = |g: usize, first: usize| TableScheme::Column {
        groups: column_split(row_lines, g)
            .into_iter()
            .enumerate()
            .map(|(i, (line0, lines))| ColumnGroup {
                device: (first + i) % ports,
                line0,
                lines,
            })
            .collect(),
    };
    layout.tables = match kind {
        PlanKind::Row => vec![TableScheme::Row; n],
        PlanKind::Table => (0..n)
            .map(|t| TableScheme::Table { device: t % ports })
            .collect(),
        PlanKind::Column => {
            let g = row_lines.min(ports);
            (0..n).map(|t| columns(g, t * g)).collect()
        }
        PlanKind::Greedy => greedy(&costs, &rowl, row_lines, ports),
    };
    let predicted = predict(&layout, &costs, &rowl, row_lines, ports);
    Plan { layout, predicted }
}

fn greedy(costs: &[f64], rowl: &[Vec<f64>], row_lines: usize, ports: usize) -> Vec<TableScheme> {
    let total: f64 = costs.iter().sum();
    let fair = total / ports as f64;
    let mut schemes = vec![TableScheme::Row; costs.len()];
    let mut initial = vec![0f64; ports];
    // Items: (table, line0, lines, cost).
    let mut items: Vec<(usize, usize, usize, f64)> = Vec::new();
    for (t, &c) in costs.iter().enumerate() {
        if c > fair && fair > 0.0 {
            if row_lines >= 2 {
                let g = ((c / fair).ceil() as usize).min(row_lines);
                for (l0, l) in column_split(row_lines, g) {
                    items.push((t, l0, l, c * l as f64 / row_lines as f64));
                }
            } else {
                // One-line rows cannot be split by column: row-wise over every device.
                for (d, x) in rowl[t].iter().enumerate() {
                    initial[d] += x;
                }
            }
        } else {
            items.push((t, 0, row_lines, c));
        }
    }
    let dev = lpt(&items.iter().map(|i| i.3).collect::<Vec<_>>(), &initial);
    for (k, &(t, l0, l, _)) in items.iter().enumerate() {
        if l == row_lines {
            schemes[t] = TableScheme::Table { device: dev[k] };
        } else {
            let g = ColumnGroup {
                device: dev[k],
                line0: l0,
                lines: l,
            };
            match &mut schemes[t] {
                TableScheme::Column { groups } => groups.push(g),
                s => *s = TableScheme::Column { groups: vec![g] },
            }
        }
    }
    schemes
}

/// Per-device lines per batch the cost model predicts for `layout` (spread pages ignored).
fn predict(
    layout: &Layout,
    costs: &[f64],
    rowl: &[Vec<f64>],
    row_lines: usize,
    ports: usize,
) -> Vec<f64> {
    let mut load = vec![0f64; ports];
    for (t, &c) in costs.iter().enumerate() {
        match layout.scheme(t) {
            TableScheme::Row => {
                for (d, x) in rowl[t].iter().enumerate() {
                    load[d] += x;
                }
            }
            TableScheme::Table { device } => load[*device] += c,
            TableScheme::Column { groups } => {
                for g in groups {
                    load[g.device] += c * g.lines as f64 / row_lines as f64;
                }
            }
        }
    }
    load
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_split_is_near_equal_and_covers() {
        assert_eq!(column_split(4, 2), vec![(0, 2), (2, 2)]);
        assert_eq!(column_split(5, 3), vec![(0, 2), (2, 2), (4, 1)]);
        assert_eq!(column_split(2, 8), vec![(0, 1), (1, 1)]);
    }
}
