//! `pifs plan`: the sharding plan of a workload's tables over the devices (table-, row-,
//! column-wise or greedy cost-balanced; docs/placement.md), the per-device load its cost model
//! predicts, and with `--run` the load PIFS-Rec measures when it runs on it.

use crate::compare_cmd::{load_batches, sim_failure, SysArgs};
use crate::workload::WorkloadArgs;
use crate::{bad_input, write_atomically, BackendArg, Failure};
use anyhow::anyhow;
use clap::Args;
use pifs_sim::layout::TableScheme;
use pifs_sim::plan::{plan, PlanKind};
use pifs_systems::systems::{run_batch_placed, Placed, System};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub w: WorkloadArgs,
    #[command(flatten)]
    pub sys: SysArgs,
    /// The plan: row, table, column or greedy (default: the configuration's pifs.plan).
    #[arg(long)]
    pub plan: Option<String>,
    /// Batches of the workload the plan is made from (the profile; --model: each with its own
    /// seed) and, with --run, run on it.
    #[arg(long, default_value_t = 1)]
    pub batches: usize,
    /// Also run PIFS-Rec on the plan and report the load each device measured.
    #[arg(long)]
    pub run: bool,
    /// Which port accumulator the --run uses.
    #[arg(long, value_enum, default_value_t = BackendArg::Model)]
    pub backend: BackendArg,
    /// Write the plan and loads as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

#[derive(Serialize)]
struct TableRow {
    table: usize,
    #[serde(flatten)]
    scheme: TableScheme,
    devices: Vec<usize>,
    /// Lines per batch the table's lookups read (its cost).
    cost_lines: f64,
}

#[derive(Serialize)]
struct PlanReport {
    workload: String,
    plan: String,
    ports: usize,
    base_placement: pifs_sim::system::Placement,
    tables: Vec<TableRow>,
    predicted_lines: Vec<f64>,
    predicted_max_over_mean: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    measured_lines: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    measured_max_over_mean: Option<f64>,
}

fn max_over_mean(v: &[f64]) -> f64 {
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    if mean > 0.0 {
        v.iter().copied().fold(0.0, f64::max) / mean
    } else {
        0.0
    }
}

/// Without --model or --trace: RM1 and RM2, one after the other.
pub fn run(a: PlanArgs) -> Result<(), Failure> {
    let mut c = a.sys.load().map_err(bad_input)?;
    if let Some(p) = &a.plan {
        if PlanKind::parse(p).is_none() {
            return Err(bad_input(anyhow!(
                "--plan {p}: must be row, table, column or greedy"
            )));
        }
        c.pifs.plan = p.clone();
    }
    let workloads: Vec<WorkloadArgs> = if a.w.model.is_none() && a.w.trace.is_none() {
        ["rm1", "rm2"]
            .iter()
            .map(|m| WorkloadArgs {
                model: Some(m.to_string()),
                ..a.w.clone()
            })
            .collect()
    } else {
        vec![a.w.clone()]
    };
    // Every workload loads before anything runs or prints.
    let loaded = workloads
        .iter()
        .map(|w| load_batches(w, a.batches))
        .collect::<anyhow::Result<Vec<_>>>()
        .map_err(bad_input)?;
    let mut reports = Vec::new();
    for (batches, weights, name) in loaded {
        reports.push(one(&a, &c, batches, weights, name)?);
    }
    if let Some(path) = &a.json {
        let doc = serde_json::json!({ "plans": reports });
        let text = serde_json::to_string_pretty(&doc).map_err(|e| bad_input(anyhow!("{e}")))?;
        write_atomically(path, |tmp| {
            std::fs::write(tmp, &text).map_err(|e| anyhow!("{e}"))
        })
        .map_err(bad_input)?;
    }
    Ok(())
}

fn one(
    a: &PlanArgs,
    c: &pifs_systems::SysConfig,
    batches: Vec<pifs_dlrm::Trace>,
    weights: pifs_dlrm::Weights,
    name: String,
) -> Result<PlanReport, Failure> {
    let kind = PlanKind::parse(&c.pifs.plan).expect("validated");
    let row_lines = weights.dim().div_ceil(16);
    let ports = c.switch.ports;
    let profile: Vec<&pifs_dlrm::Trace> = batches.iter().collect();
    let p = plan(kind, c.placement(), &profile, row_lines, ports);
    let costs = pifs_sim::plan::table_costs(&profile, row_lines);
    let tables: Vec<TableRow> = (0..batches[0].tables)
        .map(|t| {
            let scheme = p.layout.scheme(t).clone();
            let devices = match &scheme {
                TableScheme::Row => (0..ports).collect(),
                TableScheme::Table { device } => vec![*device],
                TableScheme::Column { groups } => groups.iter().map(|g| g.device).collect(),
            };
            TableRow {
                table: t,
                scheme,
                devices,
                cost_lines: costs.get(t).copied().unwrap_or(0.0),
            }
        })
        .collect();
    let measured = if a.run {
        let placed = Placed {
            layout: Arc::new(p.layout.clone()),
            moves: Vec::new(),
        };
        let mut sum = vec![0f64; ports];
        for (k, t) in batches.iter().enumerate() {
            eprintln!("pifs plan: running PIFS-Rec on batch {k}");
            let r = run_batch_placed(
                System::Pifs,
                t,
                &weights,
                c,
                a.backend.into(),
                a.w.seed.wrapping_add(k as u64),
                Some(&placed),
            )
            .map_err(sim_failure)?;
            for (s, &l) in sum.iter_mut().zip(&r.device_lines) {
                *s += l as f64;
            }
        }
        Some(
            sum.iter()
                .map(|s| s / batches.len() as f64)
                .collect::<Vec<_>>(),
        )
    } else {
        None
    };
    let report = PlanReport {
        workload: name,
        plan: c.pifs.plan.clone(),
        ports,
        base_placement: c.placement(),
        predicted_max_over_mean: max_over_mean(&p.predicted),
        predicted_lines: p.predicted,
        measured_max_over_mean: measured.as_deref().map(max_over_mean),
        measured_lines: measured,
        tables,
    };
    if let Some(path) = &a.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| bad_input(anyhow!("{e}")))?;
        write_atomically(path, |tmp| {
            std::fs::write(tmp, &text).map_err(|e| anyhow!("{e}"))
        })
        .map_err(bad_input)?;
    }
    println!(
        "plan {} of {} on {} device(s) ({} table(s), {} line(s) per row)",
        report.plan,
        report.workload,
        ports,
        report.tables.len(),
        row_lines
    );
    println!("table  scheme  cost lines/batch  devices");
    for t in &report.tables {
        let (scheme, devs) = match &t.scheme {
            TableScheme::Row => ("row".to_string(), "all (row interleave)".to_string()),
            TableScheme::Table { device } => ("table".to_string(), device.to_string()),
            TableScheme::Column { groups } => (
                "column".to_string(),
                groups
                    .iter()
                    .map(|g| format!("{}:lines {}..{}", g.device, g.line0, g.line0 + g.lines))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
        };
        println!(
            "{:<6} {:<7} {:>16.0}  {}",
            t.table, scheme, t.cost_lines, devs
        );
    }
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "predicted lines/batch per device: {}  (max/mean {:.3})",
        fmt(&report.predicted_lines),
        report.predicted_max_over_mean
    );
    if let (Some(m), Some(r)) = (&report.measured_lines, report.measured_max_over_mean) {
        println!(
            "measured  lines/batch per device: {}  (max/mean {r:.3})",
            fmt(m)
        );
    }
    Ok(report)
}
