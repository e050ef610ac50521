//! Placement beyond row interleaving (docs/placement.md): the sharding planner, column-wise
//! sharding through the run loops, hotness detection and embedding spreading.
//!
//! - The greedy (LPT) planner stays within Graham's 4/3 - 1/(3m) of the brute-force optimum.
//! - Column-wise sharding pools the same bits as table-wise where the addition order is the
//!   same, and stays within the float64 bound against row-wise, on the port and switch loops.
//! - Page counters and the hot set equal a brute-force count.
//! - Migration and replication bytes follow from the rows of the moved pages.
//! - Spreading lowers max/mean device load on a Zipf trace.

use pifs_dlrm::{generate, pool_f64, IndexDist, Trace, Weights};
use pifs_rng::Rng;
use pifs_sim::check::check_bound;
use pifs_sim::hotness::{epochs, hot_set, page_counts, respread, HotConfig, SpreadMode};
use pifs_sim::layout::{imbalance, page_of, ColumnGroup, Layout, PageId, TableScheme};
use pifs_sim::plan::{lpt, plan, PlanKind};
use pifs_sim::system::{self, Backend, Placement, RunConfig};
use pifs_systems::systems::{run_batch_placed, Placed, System};
use pifs_systems::SysConfig;
use std::collections::HashMap;
use std::sync::Arc;

/// A trace whose table t has `lookups[t]` rows per bag, rows drawn uniformly from `rows`.
fn uneven_trace(lookups: &[usize], batch: usize, rows: u64, seed: u64) -> Trace {
    let mut rng = Rng::new(seed);
    let (mut indices, mut offsets) = (Vec::new(), vec![0i64]);
    for &n in lookups {
        for _ in 0..batch {
            for _ in 0..n {
                indices.push(rng.below(rows) as i64);
            }
            offsets.push(indices.len() as i64);
        }
    }
    Trace {
        tables: lookups.len(),
        batch,
        indices,
        offsets,
    }
}

/// Smallest makespan over every assignment of `costs` to `m` devices.
fn brute_force(costs: &[f64], m: usize) -> f64 {
    let n = costs.len();
    let mut best = f64::INFINITY;
    for code in 0..m.pow(n as u32) {
        let mut load = vec![0f64; m];
        let mut c = code;
        for &x in costs {
            load[c % m] += x;
            c /= m;
        }
        best = best.min(load.iter().copied().fold(0.0, f64::max));
    }
    best
}

fn makespan(costs: &[f64], dev: &[usize], m: usize) -> f64 {
    let mut load = vec![0f64; m];
    for (x, &d) in costs.iter().zip(dev) {
        load[d] += x;
    }
    load.iter().copied().fold(0.0, f64::max)
}

#[test]
fn lpt_is_within_grahams_bound_of_the_optimum() {
    let mut rng = Rng::new(7);
    let mut worst: f64 = 1.0;
    for _ in 0..300 {
        let m = rng.range(2, 4) as usize;
        let n = rng.range(1, 8) as usize;
        let costs: Vec<f64> = (0..n).map(|_| rng.range(1, 100) as f64).collect();
        let opt = brute_force(&costs, m);
        let got = makespan(&costs, &lpt(&costs, &vec![0.0; m]), m);
        let bound = 4.0 / 3.0 - 1.0 / (3.0 * m as f64);
        assert!(
            got <= bound * opt + 1e-9,
            "{costs:?} on {m}: LPT {got}, optimum {opt}"
        );
        assert!(got >= opt);
        worst = worst.max(got / opt);
    }
    // Graham's tight example: 2m+1 jobs 2m-1, 2m-1, 2m-2, 2m-2, ..., m, m, m on m machines.
    let m = 3;
    let costs = [5.0, 5.0, 4.0, 4.0, 3.0, 3.0, 3.0];
    let got = makespan(&costs, &lpt(&costs, &[0.0; 3]), m);
    assert_eq!(got, 11.0);
    assert_eq!(brute_force(&costs, m), 9.0);
    assert!(worst > 1.0, "some instance should be off the optimum");
}

#[test]
fn greedy_plan_balances_tables_within_the_bound() {
    // Tables of unequal cost, none above a device's fair share: the greedy plan is table-wise
    // LPT on the measured costs (lines per batch = lookups x batch x lines per row).
    let lookups = [3usize, 5, 2, 4, 4, 6, 1];
    let trace = uneven_trace(&lookups, 4, 1000, 3);
    let row_lines = 2;
    let m = 3;
    let p = plan(PlanKind::Greedy, Placement::Row, &[&trace], row_lines, m);
    let costs: Vec<f64> = lookups
        .iter()
        .map(|&n| (n * 4 * row_lines) as f64)
        .collect();
    let mut dev = Vec::new();
    for t in 0..lookups.len() {
        match p.layout.scheme(t) {
            TableScheme::Table { device } => dev.push(*device),
            s => panic!("table {t}: {s:?}, expected table-wise"),
        }
    }
    let got = makespan(&costs, &dev, m);
    let opt = brute_force(&costs, m);
    assert!(got <= (4.0 / 3.0 - 1.0 / 9.0) * opt, "{got} vs {opt}");
    // The predicted per-device load is the measured lines of the split.
    let (_, load) = p.layout.split(&trace, row_lines, m);
    let load: Vec<f64> = load.iter().map(|&x| x as f64).collect();
    assert_eq!(load, p.predicted);
}

#[test]
fn greedy_plan_splits_a_dominant_table_by_column() {
    // One table reads 10x the others: it is split into column groups so that no device gets
    // more than its share plus one group.
    let trace = uneven_trace(&[40, 4, 4, 4], 4, 1000, 5);
    let row_lines = 4;
    let p = plan(PlanKind::Greedy, Placement::Row, &[&trace], row_lines, 4);
    let TableScheme::Column { groups } = p.layout.scheme(0) else {
        panic!("table 0: {:?}", p.layout.scheme(0));
    };
    assert!(groups.len() >= 2);
    p.layout.validate(row_lines, 4).unwrap();
    let (_, load) = p.layout.split(&trace, row_lines, 4);
    let total: u64 = load.iter().sum();
    assert_eq!(total, trace.lookups() as u64 * row_lines as u64);
    assert!(imbalance(&load) < 1.5, "{load:?}");
}

fn run_cfg(ports: usize, layout: Layout) -> RunConfig {
    RunConfig {
        backend: Backend::Model,
        ports,
        piece_rows: Some(16),
        layout: Some(Arc::new(layout)),
        ..RunConfig::default()
    }
}

#[test]
fn column_wise_pools_the_table_wise_bits_and_stays_within_the_bound() {
    let trace = generate(3, 50_000, 5, 40, IndexDist::Zipf { alpha: 1.05 }, 9).unwrap();
    let dim = 64; // 4 lines per row
    let w = Weights::Synthetic { dim };
    let ports = 8;
    let mut table = Layout::new(Placement::Row);
    table.tables = (0..3).map(|t| TableScheme::Table { device: t }).collect();
    let mut column = Layout::new(Placement::Row);
    column.tables = (0..3)
        .map(|t| TableScheme::Column {
            groups: (0..4)
                .map(|l| ColumnGroup {
                    device: (t * 4 + l) % ports,
                    line0: l,
                    lines: 1,
                })
                .collect(),
        })
        .collect();
    let reference = pool_f64(&trace, &w).unwrap();
    let a = system::run(&trace, &w, &run_cfg(ports, table.clone())).unwrap();
    let b = system::run(&trace, &w, &run_cfg(ports, column.clone())).unwrap();
    // Each lane adds the bag's rows in trace order in both: same bits.
    assert_eq!(a.pooled, b.pooled);
    // Every device of the column plan read one line of each row of its tables.
    for (p, ps) in b.stats.ports.iter().enumerate() {
        let tables: Vec<usize> = (0..3)
            .filter(|t| (t * 4..t * 4 + 4).any(|x| x % ports == p))
            .collect();
        let want: u64 = tables
            .iter()
            .map(|&t| {
                let groups = (0..4).filter(|l| (t * 4 + l) % ports == p).count() as u64;
                groups * (0..5).map(|b| trace.bag(t, b).len() as u64).sum::<u64>()
            })
            .sum();
        assert_eq!(ps.device.reads, want, "port {p}");
    }
    // The switch loop (dispatchers issue the column group's lines) pools the same bits.
    let s = pifs_sim::switch_run::run_switch(&trace, &w, &run_cfg(ports, column.clone())).unwrap();
    assert_eq!(s.pooled, b.pooled);
    // And so does the Verilated switch.
    let rtl = RunConfig {
        backend: Backend::Rtl,
        ..run_cfg(ports, column)
    };
    let s = pifs_sim::switch_run::run_switch(&trace, &w, &rtl).unwrap();
    assert_eq!(s.pooled, b.pooled);
    // Row-wise adds the per-device partials at the host: another order, within the bound.
    let row = system::run(&trace, &w, &run_cfg(ports, Layout::new(Placement::Row))).unwrap();
    assert!(check_bound(&row.pooled, &reference).ok());
    assert!(check_bound(&b.pooled, &reference).ok());
}

#[test]
fn page_counts_and_hot_set_equal_a_brute_force_count() {
    let trace = generate(4, 20_000, 8, 30, IndexDist::Zipf { alpha: 1.2 }, 2).unwrap();
    let row_lines = 3; // 192-byte rows: pages do not hold a whole number of rows
    let page_bytes = 1024;
    let layout = Layout::new(Placement::Row);
    let got = page_counts(&[&trace], &layout, row_lines, page_bytes);
    let mut want: HashMap<PageId, u64> = HashMap::new();
    for t in 0..trace.tables {
        for b in 0..trace.batch {
            for &r in trace.bag(t, b) {
                let first_byte = r as u64 * 192;
                *want.entry((t, first_byte / 1024)).or_default() += 3;
            }
        }
    }
    assert_eq!(got.len(), want.len());
    for (k, v) in &want {
        assert_eq!(got[k], *v, "{k:?}");
    }
    let mut sorted: Vec<(PageId, u64)> = want.into_iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    assert_eq!(hot_set(&got, 10, 0.0), sorted[..10].to_vec());
    let total: u64 = sorted.iter().map(|x| x.1).sum();
    let share = 0.01;
    let above: Vec<_> = sorted
        .iter()
        .copied()
        .filter(|x| x.1 as f64 >= share * total as f64)
        .collect();
    assert!(!above.is_empty() && above.len() < 1000);
    assert_eq!(hot_set(&got, 1000, share), above);
}

/// One table, dim 32 (128-byte rows), 512-byte pages (4 rows each): page 2 (rows 8..12) takes
/// most accesses; rows 100.. the rest.
fn hammer_trace() -> Trace {
    let mut indices = Vec::new();
    let mut offsets = vec![0i64];
    for b in 0..8i64 {
        for k in 0..12 {
            indices.push(8 + (b + k) % 4);
        }
        indices.push(100 + b);
        offsets.push(indices.len() as i64);
    }
    Trace {
        tables: 1,
        batch: 8,
        indices,
        offsets,
    }
}

#[test]
fn migration_and_replication_bytes_follow_from_the_moved_pages() {
    let trace = hammer_trace();
    let (row_lines, ports) = (2usize, 4usize);
    let base = Layout::new(Placement::Row);
    let mut hc = HotConfig {
        mode: SpreadMode::Migrate,
        page_bytes: 512,
        epoch_batches: 1,
        hot_pages: 1,
        min_share: 0.0,
        replicas: 2,
    };
    let (l, moves) = respread(&base, &[&trace], &hc, row_lines, ports);
    let dest = l.pages[&(0, 2)].clone();
    assert_eq!(dest.len(), 1);
    // Rows 8..12 live on devices 0..4 (row mod 4): the three not on the destination move.
    let moved: Vec<u64> = (8..12).filter(|r| (r % 4) as usize != dest[0]).collect();
    assert_eq!(moved.len(), 3);
    assert_eq!(moves.iter().map(|m| m.bytes).sum::<u64>(), 3 * 128);
    for m in &moves {
        assert_eq!(m.to, dest[0]);
        assert_eq!(m.bytes, 128, "one row from each other device");
        assert!(moved.iter().any(|&r| (r % 4) as usize == m.from));
    }
    // After the move every access of the page goes to the destination.
    let (shares, _) = l.split(&trace, row_lines, ports);
    for sh in shares.iter().flatten() {
        for &r in &sh.rows {
            if page_of(r, 128, 512) == 2 {
                assert_eq!(sh.device, dest[0]);
            }
        }
    }
    // A second epoch on the same counters: the page is already there, nothing moves.
    let (_, again) = respread(&l, &[&trace], &hc, row_lines, ports);
    assert!(again.is_empty());

    hc.mode = SpreadMode::Replicate;
    let (l, moves) = respread(&base, &[&trace], &hc, row_lines, ports);
    let copies = l.pages[&(0, 2)].clone();
    assert_eq!(copies.len(), 2);
    let want: u64 = copies
        .iter()
        .map(|&d| (8..12u64).filter(|r| (r % 4) as usize != d).count() as u64 * 128)
        .sum();
    assert_eq!(moves.iter().map(|m| m.bytes).sum::<u64>(), want);
    assert_eq!(want, 2 * 3 * 128);

    // The timing model charges the copies: bytes reported, time added to the latency.
    let mut c = SysConfig::default();
    c.switch.ports = ports;
    c.pifs.level = "ports".into();
    let w = Weights::Synthetic { dim: 32 };
    let placed = Placed {
        layout: Arc::new(l.clone()),
        moves: moves.clone(),
    };
    let free = Placed {
        layout: Arc::new(l),
        moves: Vec::new(),
    };
    let r = run_batch_placed(
        System::Pifs,
        &trace,
        &w,
        &c,
        Backend::Model,
        1,
        Some(&placed),
    )
    .unwrap();
    let r0 =
        run_batch_placed(System::Pifs, &trace, &w, &c, Backend::Model, 1, Some(&free)).unwrap();
    assert_eq!(r.migration_bytes, want);
    // Six 64 B-line pairs cross port links and a device write each: at least their line time.
    let min_ns = (want / 64) as f64 * 64.0 / c.device.gbps / ports as f64;
    assert!(r.migration_ns >= min_ns, "{} < {min_ns}", r.migration_ns);
    assert!(r.latency_ns >= r0.latency_ns + r.migration_ns - 1.0);
    assert_eq!(r.pooled, r0.pooled);
}

#[test]
fn spreading_lowers_max_over_mean_load_on_zipf() {
    let batches: Vec<Trace> = (0..4)
        .map(|k| generate(8, 4_000_000, 16, 80, IndexDist::Zipf { alpha: 1.05 }, 1 + k).unwrap())
        .collect();
    let (row_lines, ports) = (2usize, 8usize);
    let base = Layout::new(Placement::Row);
    for mode in [SpreadMode::Replicate, SpreadMode::Migrate] {
        let hc = HotConfig {
            mode,
            page_bytes: 4096,
            epoch_batches: 1,
            hot_pages: 32,
            min_share: 0.0,
            replicas: 2,
        };
        let e = epochs(&base, &batches, &hc, row_lines, ports);
        assert!(e[0].1.is_empty(), "the first epoch has no counters yet");
        for (k, (layout, _)) in e.iter().enumerate().skip(1) {
            let (_, before) = base.split(&batches[k], row_lines, ports);
            let (_, after) = layout.split(&batches[k], row_lines, ports);
            assert_eq!(before.iter().sum::<u64>(), after.iter().sum::<u64>());
            assert!(
                imbalance(&after) < imbalance(&before),
                "{mode:?} batch {k}: {} -> {}",
                imbalance(&before),
                imbalance(&after)
            );
        }
    }
    // Through pifs compare's PIFS-Rec run: the device loads it reports.
    let w = Weights::Synthetic { dim: 32 };
    let wl = pifs_systems::compare::Workload {
        name: "rm1",
        batches: &batches,
        weights: &w,
    };
    let run = |spread: &str| {
        let mut c = SysConfig::default();
        c.set(&format!("pifs.spread={spread}")).unwrap();
        let r =
            pifs_systems::compare::compare(&wl, &c, Backend::Model, 1, &[System::Pifs], |_, _| {})
                .unwrap();
        assert!(r.all_sums_ok());
        r.systems["pifs"].clone()
    };
    let off = run("off");
    let on = run("replicate");
    assert!(on.device_load_max_over_mean < off.device_load_max_over_mean);
    assert!(on.migration_bytes > 0 && off.migration_bytes == 0);
}

#[test]
fn defaults_place_nothing_differently() {
    let c = SysConfig::default();
    assert!(!pifs_systems::systems::pifs_placement_on(&c));
    // A layout with every table row-wise and nothing spread splits like the interleaving.
    let trace = generate(3, 1000, 4, 10, IndexDist::Uniform, 4).unwrap();
    let (shares, _) = Layout::new(Placement::Row).split(&trace, 2, 5);
    for (bag, sh) in shares.iter().enumerate() {
        for s in sh {
            for &r in &s.rows {
                assert_eq!(s.device, (r % 5) as usize, "bag {bag}");
            }
        }
    }
}

#[test]
fn replica_picks_alternate_or_follow_the_load() {
    // Page 0 (rows 0..4 at 128 B rows, 512 B pages) replicated on devices 1 and 3.
    let mut l = Layout::new(Placement::Row);
    l.page_bytes = 512;
    l.pages.insert((0, 0), vec![1, 3]);
    let trace = Trace {
        tables: 1,
        batch: 1,
        // Rows 5 and 9 live on device 1 (row mod 4) and load it first; then page 0 six times.
        indices: vec![5, 9, 0, 1, 2, 3, 0, 1],
        offsets: vec![0, 8],
    };
    l.pick = pifs_sim::layout::ReplicaPick::RoundRobin;
    let (shares, load) = l.split(&trace, 2, 4);
    let on = |d: usize| -> Vec<u64> {
        shares[0]
            .iter()
            .filter(|s| s.device == d)
            .flat_map(|s| s.rows.clone())
            .collect()
    };
    assert_eq!(on(1), [5, 9, 0, 2, 0]);
    assert_eq!(on(3), [1, 3, 1]);
    assert_eq!(load, [0, 10, 0, 6]);
    // Least-loaded: device 1 has 4 lines from rows 5 and 9, so device 3 takes accesses until
    // it has as many, then the tie goes to the lower device.
    l.pick = pifs_sim::layout::ReplicaPick::LeastLoaded;
    let (shares, load) = l.split(&trace, 2, 4);
    let on = |d: usize| -> Vec<u64> {
        shares[0]
            .iter()
            .filter(|s| s.device == d)
            .flat_map(|s| s.rows.clone())
            .collect()
    };
    assert_eq!(on(3), [0, 1, 3, 1]);
    assert_eq!(on(1), [5, 9, 2, 0]);
    assert_eq!(load, [0, 8, 0, 8]);
}
