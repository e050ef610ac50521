//! `pifs tiers`: memory tiers and power. The same workload runs on a DRAM-only pool and on
//! tiered pools (a DRAM cache of each size in `--cache-mb` in front of each backing in
//! `--backing`: 3DXP-class SCM, NAND flash), on the systems in `--systems`; the table and
//! `tiers.json` give latency, energy per batch, average power and the cache hit rate, and
//! `tiers.svg` plots average power against latency (`pifs_systems::tiers`). Every other
//! parameter is the system configuration's (`--config`, `--preset`, `--set`, as for
//! `pifs compare`).

use crate::compare_cmd::{load_batches, sim_failure, SysArgs};
use crate::workload::WorkloadArgs;
use crate::{bad_input, write_atomically, BackendArg, Failure};
use anyhow::anyhow;
use clap::Args;
use pifs_systems::compare::Workload;
use pifs_systems::systems::System;
use pifs_systems::tiers::{pools, run_tiers};
use std::path::PathBuf;

#[derive(Args)]
pub struct TiersArgs {
    /// Workload (default: --model rm1).
    #[command(flatten)]
    pub w: WorkloadArgs,
    #[command(flatten)]
    pub sys: SysArgs,
    /// Batches per pool (--model: each generated with its own seed; a trace file is one batch).
    #[arg(long, default_value_t = 2)]
    pub batches: usize,
    /// Which port accumulator PIFS-Rec runs (the Rust model by default: it is cycle-exact with
    /// the RTL and faster on the long NAND batches).
    #[arg(long, value_enum, default_value_t = BackendArg::Model)]
    pub backend: BackendArg,
    /// Systems, comma-separated: pond, beacon-d, beacon-s, pifs.
    #[arg(long, default_value = "pond,pifs", value_delimiter = ',')]
    pub systems: Vec<String>,
    /// Backing memories of the tiered pools, comma-separated: scm, nand.
    #[arg(long, default_value = "scm,nand", value_delimiter = ',')]
    pub backing: Vec<String>,
    /// DRAM cache sizes per device (MiB), comma-separated.
    #[arg(long, default_value = "0.0625,0.25,1,4", value_delimiter = ',')]
    pub cache_mb: Vec<f64>,
    /// Output directory: tiers.json and tiers.svg.
    #[arg(long, default_value = "out/tiers")]
    pub out: PathBuf,
}

pub fn run(mut a: TiersArgs) -> Result<(), Failure> {
    if a.w.model.is_none() && a.w.trace.is_none() {
        a.w.model = Some("rm1".into());
    }
    let base = a.sys.load().map_err(bad_input)?;
    let systems: Vec<System> = a
        .systems
        .iter()
        .map(|n| {
            System::ALL
                .into_iter()
                .find(|s| s.name() == n)
                .ok_or_else(|| anyhow!("--systems {n}: unknown (pond, beacon-d, beacon-s, pifs)"))
        })
        .collect::<anyhow::Result<_>>()
        .map_err(bad_input)?;
    let pools = pools(&base, &a.backing, &a.cache_mb).map_err(|e| bad_input(anyhow!(e)))?;
    let (batches, weights, name) = load_batches(&a.w, a.batches).map_err(bad_input)?;
    eprintln!(
        "pifs tiers: {name}, {} batch(es), {} pools x {} systems, backend {}",
        batches.len(),
        pools.len(),
        systems.len(),
        a.backend.name()
    );
    let workload = Workload {
        name: &name,
        batches: &batches,
        weights: &weights,
    };
    let report = run_tiers(
        &workload,
        &base,
        &pools,
        &systems,
        a.backend.into(),
        a.w.seed,
    )
    .map_err(sim_failure)?;
    std::fs::create_dir_all(&a.out)
        .map_err(|e| bad_input(anyhow!("--out {}: cannot create: {e}", a.out.display())))?;
    let json = serde_json::to_string_pretty(&report).map_err(|e| bad_input(anyhow!("{e}")))?;
    for (file, text) in [("tiers.json", json), ("tiers.svg", report.svg())] {
        write_atomically(&a.out.join(file), |tmp| {
            std::fs::write(tmp, &text).map_err(|e| anyhow!("{e}"))
        })
        .map_err(bad_input)?;
    }
    print!("{}", report.table());
    println!(
        "wrote {} and {}",
        a.out.join("tiers.json").display(),
        a.out.join("tiers.svg").display()
    );
    Ok(())
}
