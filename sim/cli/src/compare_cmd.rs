//! `pifs compare` (Pond, BEACON-D, BEACON-S and PIFS-Rec side by side on one workload) and
//! `pifs params` (every system parameter with its unit, value and source).

use crate::resume::{self, CheckpointArgs, Identity};
use crate::resume_state::CompareState;
use crate::workload::{load_workload, WorkloadArgs};
use crate::{bad_input, check_failed, write_atomically, BackendArg, Failure};
use anyhow::anyhow;
use clap::Args;
use pifs_dlrm::Trace;
use pifs_sim::SimError;
use pifs_systems::ablate;
use pifs_systems::compare::{compare_from, CompareReport, SystemProgress, Workload};
use pifs_systems::config::{SysConfig, PARAMS};
use pifs_systems::plot;
use pifs_systems::systems::System;
use std::path::PathBuf;
use std::time::Instant;

/// The system description: a TOML file or a preset, then `--set` overrides.
#[derive(Args, Clone)]
pub struct SysArgs {
    /// System description (TOML; sections and keys as `pifs params` lists them).
    #[arg(long, conflicts_with = "preset")]
    pub config: Option<PathBuf>,
    /// Named configuration: default or paper.
    #[arg(long)]
    pub preset: Option<String>,
    /// Override one parameter, e.g. --set switch.traversal_ns=100 (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

impl SysArgs {
    pub fn load(&self) -> anyhow::Result<SysConfig> {
        let mut c = match (&self.config, &self.preset) {
            (Some(p), _) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| anyhow!("{}: cannot read: {e}", p.display()))?;
                SysConfig::from_toml(&text, &p.display().to_string()).map_err(|e| anyhow!(e))?
            }
            (None, Some(n)) => SysConfig::preset(n).map_err(|e| anyhow!(e))?,
            (None, None) => SysConfig::default(),
        };
        for kv in &self.set {
            c.set(kv).map_err(|e| anyhow!(e))?;
        }
        Ok(c)
    }
}

#[derive(Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub w: WorkloadArgs,
    #[command(flatten)]
    pub sys: SysArgs,
    /// Batches to run one after another (--model: each generated with its own seed; a trace
    /// file is one batch).
    #[arg(long, default_value_t = 4)]
    pub batches: usize,
    /// Which port accumulator PIFS-Rec runs.
    #[arg(long, value_enum, default_value_t = BackendArg::Rtl)]
    pub backend: BackendArg,
    /// Write the report as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write an SVG chart of the mean batch latency per system.
    #[arg(long)]
    pub plot: Option<PathBuf>,
    #[command(flatten)]
    pub ckpt: CheckpointArgs,
    /// Ablation instead of the comparison: PIFS-Rec alone with each feature (pifs.plan,
    /// pifs.spread, ...) off and on: baseline, each alone, all, all but each.
    #[arg(long)]
    pub ablate: bool,
}

/// The batches of a workload: `--model` generates `batches` of them with seeds seed, seed+1, ...
pub fn load_batches(
    w: &WorkloadArgs,
    batches: usize,
) -> anyhow::Result<(Vec<Trace>, pifs_dlrm::Weights, String)> {
    if batches == 0 || batches > 100_000 {
        return Err(anyhow!("--batches {batches}: must be 1..=100000"));
    }
    let (first, weights, name) = load_workload(w)?;
    let mut out = vec![first];
    if w.model.is_some() {
        for k in 1..batches {
            let mut wk = w.clone();
            wk.seed = w.seed.wrapping_add(k as u64);
            out.push(load_workload(&wk)?.0);
        }
    }
    Ok((out, weights, name))
}

pub(crate) fn sim_failure(e: SimError) -> Failure {
    match e {
        SimError::Config(_) => bad_input(anyhow!("{e}")),
        _ => check_failed(anyhow!("{e}")),
    }
}

pub fn run_compare(a: CompareArgs) -> Result<(), Failure> {
    if a.ablate {
        return run_ablate(a);
    }
    let started = Instant::now();
    let c = a.sys.load().map_err(bad_input)?;
    let (batches, weights, name) = load_batches(&a.w, a.batches).map_err(bad_input)?;
    let backend = a.backend.into();
    let id = Identity::of_process("compare", &batches);
    let (loaded, mut writer) = a.ckpt.open(&id).map_err(bad_input)?;
    let done: Vec<SystemProgress> = match &loaded {
        Some(l) => {
            let st: CompareState = resume::from_bytes(&l.path, &l.state).map_err(bad_input)?;
            let done = st.into_progress();
            if CompareState::units(&done) != l.units {
                return Err(bad_input(anyhow!(
                    "{}: units: the header says {} batch(es) done, the state holds {}",
                    l.path.display(),
                    l.units,
                    CompareState::units(&done)
                )));
            }
            eprintln!(
                "pifs compare: resuming from {} ({} of {} batch(es) done)",
                l.path.display(),
                l.units,
                batches.len() * System::ALL.len()
            );
            done
        }
        None => Vec::new(),
    };
    eprintln!(
        "pifs compare: {name}, {} batch(es), {} ports, backend {}, seed {}",
        batches.len(),
        c.switch.ports,
        a.backend.name(),
        a.w.seed
    );
    let workload = Workload {
        name: &name,
        batches: &batches,
        weights: &weights,
    };
    let total = (batches.len() * System::ALL.len()) as u64;
    let mut ckpt_err = None;
    let report = compare_from(
        &workload,
        &c,
        backend,
        a.w.seed,
        &System::ALL,
        done,
        |s, k| {
            if k == 0 {
                eprintln!("pifs compare: running {s}");
            }
        },
        |done| {
            let Some(w) = writer.as_mut() else {
                return Ok(());
            };
            w.maybe(CompareState::units(done), total, || {
                Ok((resume::to_bytes(&CompareState::from(done))?, Vec::new()))
            })
            .map_err(|e| {
                let msg = e.to_string();
                ckpt_err = Some(e);
                SimError::Check(msg)
            })
        },
    )
    .map_err(|e| match ckpt_err.take() {
        Some(ce) => bad_input(ce),
        None => sim_failure(e),
    })?;
    if let Some(w) = &writer {
        eprintln!("pifs compare: {}", w.summary());
    }
    let wall = started.elapsed().as_secs_f64();
    write_report(&report, wall, a.json.as_ref(), a.plot.as_ref())?;
    print!("{}", report.table());
    println!("wall {wall:.2} s");
    if !report.all_sums_ok() {
        return Err(check_failed(anyhow!(
            "a system's pooled output is outside the float64 bound"
        )));
    }
    Ok(())
}

/// `pifs compare --ablate`.
fn run_ablate(a: CompareArgs) -> Result<(), Failure> {
    let started = Instant::now();
    if a.plot.is_some() {
        return Err(bad_input(anyhow!(
            "--ablate with --plot: the ablation writes a table and --json, no chart"
        )));
    }
    if a.ckpt.checkpoint.is_some() || a.ckpt.resume.is_some() {
        return Err(bad_input(anyhow!(
            "--ablate with --checkpoint/--resume: an ablation is not checkpointed"
        )));
    }
    let c = a.sys.load().map_err(bad_input)?;
    let (batches, weights, name) = load_batches(&a.w, a.batches).map_err(bad_input)?;
    let features = ablate::features();
    eprintln!(
        "pifs compare --ablate: {name}, {} batch(es), {} ports, backend {}, seed {}, features {}",
        batches.len(),
        c.switch.ports,
        a.backend.name(),
        a.w.seed,
        features.iter().map(|f| f.key).collect::<Vec<_>>().join(" ")
    );
    let workload = Workload {
        name: &name,
        batches: &batches,
        weights: &weights,
    };
    let report = ablate::ablate(&workload, &c, a.backend.into(), a.w.seed, &features, |v| {
        eprintln!("pifs compare --ablate: running {v}")
    })
    .map_err(sim_failure)?;
    let wall = started.elapsed().as_secs_f64();
    if let Some(p) = &a.json {
        let mut doc = serde_json::to_value(&report).map_err(|e| bad_input(anyhow!("{e}")))?;
        doc["wall_seconds"] = serde_json::json!(wall);
        doc["project_version"] = serde_json::json!(env!("CARGO_PKG_VERSION"));
        doc["config"] = serde_json::json!(c
            .flat()
            .into_iter()
            .collect::<std::collections::BTreeMap<_, _>>());
        let text = serde_json::to_string_pretty(&doc).map_err(|e| bad_input(anyhow!("{e}")))?;
        write_atomically(p, |tmp| {
            std::fs::write(tmp, &text).map_err(|e| anyhow!("{e}"))
        })
        .map_err(bad_input)?;
    }
    print!("{}", report.table());
    println!("wall {wall:.2} s");
    if !report.all_sums_ok() {
        return Err(check_failed(anyhow!(
            "a variant's pooled output is outside the float64 bound"
        )));
    }
    Ok(())
}

fn write_report(
    r: &CompareReport,
    wall: f64,
    json: Option<&PathBuf>,
    svg: Option<&PathBuf>,
) -> Result<(), Failure> {
    if let Some(p) = json {
        let mut doc = serde_json::to_value(r).map_err(|e| bad_input(anyhow!("{e}")))?;
        doc["wall_seconds"] = serde_json::json!(wall);
        doc["project_version"] = serde_json::json!(env!("CARGO_PKG_VERSION"));
        if r.backend == "rtl" {
            doc["verilator"] = serde_json::json!(pifs_sim::rtl::verilator_version());
        }
        let text = serde_json::to_string_pretty(&doc).map_err(|e| bad_input(anyhow!("{e}")))?;
        write_atomically(p, |tmp| {
            std::fs::write(tmp, &text).map_err(|e| anyhow!("{e}"))
        })
        .map_err(bad_input)?;
    }
    if let Some(p) = svg {
        let names: Vec<String> = ["pond", "beacon-d", "beacon-s", "pifs"]
            .iter()
            .filter(|n| r.systems.contains_key(**n))
            .map(|n| n.to_string())
            .collect();
        let vals: Vec<f64> = names.iter().map(|n| r.systems[n].latency_ns.mean).collect();
        let title = format!("{}: mean batch latency", r.workload.name);
        let text = plot::bars(&title, "ns", &names, &vals);
        write_atomically(p, |tmp| {
            std::fs::write(tmp, &text).map_err(|e| anyhow!("{e}"))
        })
        .map_err(bad_input)?;
    }
    Ok(())
}

#[derive(Args)]
pub struct ParamsArgs {
    #[command(flatten)]
    pub sys: SysArgs,
    /// Print the configuration as TOML instead of the table.
    #[arg(long)]
    pub toml: bool,
}

pub fn run_params(a: ParamsArgs) -> Result<(), Failure> {
    let c = a.sys.load().map_err(bad_input)?;
    if a.toml {
        print!(
            "{}",
            toml::to_string(&c).map_err(|e| bad_input(anyhow!("{e}")))?
        );
        return Ok(());
    }
    println!("{:<26} {:>10}  {:<14} source", "key", "value", "unit");
    for ((k, v), p) in c.flat().iter().zip(PARAMS) {
        println!("{k:<26} {v:>10}  {:<14} {}", p.unit, p.source());
    }
    Ok(())
}
