//! Snapshots of cycle counts and sum digests for named scenarios, at one port (RTL) and for the
//! RM1 batch-4 workload through the whole run loop. A changed number fails until reviewed
//! (`cargo insta review`); CI runs with snapshot updates off. Each scenario's sums are also
//! checked against the reference model here, so a snapshot never locks a wrong sum.

use pifs_rng::Rng;
use pifs_sim::model::ModelPort;
use pifs_sim::rtl::RtlPort;
use pifs_sim::system::{self, Backend, RunConfig};
use pifs_tb::{compare, digest, drive, random_bag, Scenario, Values};
use serde::Serialize;

#[derive(Serialize)]
struct PortSnap {
    flits: u64,
    lines: u64,
    result_lines: usize,
    cycles: u64,
    flit_stall_cycles: u64,
    cycles_per_flit: String,
    sums: String,
}

fn snap(sc: &Scenario) -> PortSnap {
    let mut rtl = RtlPort::new(sc.seed, None).unwrap();
    let r = drive(&mut rtl, sc).unwrap();
    let m = drive(&mut ModelPort::new(), sc).unwrap();
    let diffs = compare(&r, &m, true);
    assert!(diffs.is_empty(), "{diffs:#?}");
    PortSnap {
        flits: r.flits,
        lines: r.lines,
        result_lines: r.results.len(),
        cycles: r.cycles,
        flit_stall_cycles: r.flit_stall_cycles,
        cycles_per_flit: format!(
            "{:.2}",
            (r.flits + r.flit_stall_cycles) as f64 / r.flits as f64
        ),
        sums: digest(r.sums.iter().flat_map(|s| s.0.iter().copied())),
    }
}

fn scenario(seed: u64, bags: usize, rows: usize, lines: usize, ooo: bool) -> Scenario {
    let mut rng = Rng::new(seed);
    Scenario {
        bags: (0..bags)
            .map(|_| random_bag(&mut rng, rows, lines, Values::Plain, 0.0))
            .collect(),
        seed,
        out_of_order: ooo,
        gap_chance: 0.0,
        res_ready_percent: 100,
    }
}

#[test]
fn single_bag() {
    insta::assert_json_snapshot!(snap(&scenario(1, 1, 10, 2, false)));
}

#[test]
fn many_bags_interleaved() {
    insta::assert_json_snapshot!(snap(&scenario(2, 16, 8, 1, true)));
}

#[test]
fn out_of_order_responses() {
    insta::assert_json_snapshot!(snap(&scenario(3, 4, 20, 3, true)));
}

#[test]
fn back_to_back_rows_in_the_same_lanes() {
    insta::assert_json_snapshot!(snap(&scenario(4, 1, 256, 1, false)));
}

#[test]
fn line_rate_per_row_size() {
    let per: Vec<(usize, PortSnap)> = [1usize, 2, 3, 4, 8]
        .iter()
        .map(|&l| (l, snap(&scenario(5, 2, 128 / l, l, false))))
        .collect();
    insta::assert_json_snapshot!(per);
}

#[derive(Serialize)]
struct RunSnap {
    cycles: u64,
    bags: u64,
    lookups: u64,
    s2m_flits: u64,
    m2s_flits: u64,
    result_lines: u64,
    pooled: String,
}

/// RM1 at batch 4 (uniform, seed 1) through the port RTL and the model with `cfg`: they must
/// agree in sums and cycles; the RTL run's figures.
fn rm1_batch_4_run(cfg: RunConfig) -> RunSnap {
    let p = pifs_dlrm::RM1;
    let trace = pifs_dlrm::generate(
        p.tables,
        p.rows,
        4,
        p.lookups,
        pifs_dlrm::IndexDist::Uniform,
        1,
    )
    .unwrap();
    let weights = pifs_dlrm::Weights::Synthetic { dim: p.dim };
    let cfg = RunConfig {
        workload: "rm1".into(),
        ..cfg
    };
    let what = cfg.row_format;
    let out = system::run(&trace, &weights, &cfg).unwrap();
    let model = system::run(
        &trace,
        &weights,
        &RunConfig {
            backend: Backend::Model,
            ..cfg
        },
    )
    .unwrap();
    assert_eq!(
        out.pooled, model.pooled,
        "{what}: rtl and model pooled outputs differ"
    );
    assert_eq!(
        out.stats.cycles, model.stats.cycles,
        "{what}: rtl and model cycles differ"
    );
    let s = &out.stats;
    RunSnap {
        cycles: s.cycles,
        bags: s.bags,
        lookups: s.lookups,
        s2m_flits: s.ports[0].s2m_flits,
        m2s_flits: s.ports[0].m2s_flits,
        result_lines: s.ports[0].result_lines,
        pooled: digest(out.pooled.iter().copied()),
    }
}

#[test]
fn rm1_batch_4() {
    insta::assert_json_snapshot!(rm1_batch_4_run(RunConfig::default()));
}

/// RM1 at batch 4 with rows stored as fp16 and as int8 row-wise: one device line per row
/// instead of two, widened to the same two binary32 lines in the port. RTL and model agree; the
/// snapshot locks the cycles, the flits and the sums of each.
#[test]
fn rm1_batch_4_row_formats() {
    let snaps: std::collections::BTreeMap<_, _> =
        [pifs_dlrm::RowFormat::Fp16, pifs_dlrm::RowFormat::Int8]
            .into_iter()
            .map(|fmt| {
                let cfg = RunConfig {
                    row_format: fmt,
                    ..RunConfig::default()
                };
                (fmt.name(), rm1_batch_4_run(cfg))
            })
            .collect();
    insta::assert_json_snapshot!(snaps);
}
