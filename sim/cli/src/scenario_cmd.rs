//! `pifs scenario`: multi-model real-time scenarios (XRBench-style) on Pond, BEACON and
//! PIFS-Rec: per-model latency distributions, deadline misses and a score (docs/scenario.md).

use crate::{bad_input, check_failed, write_atomically, BackendArg, Failure};
use anyhow::anyhow;
use clap::Args;
use pifs_scenario::spec::Contention;
use pifs_scenario::{RunError, Scenario, DEFAULT_SCENARIO};
use pifs_sim::SimError;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(Args)]
pub struct ScenarioArgs {
    /// Scenario file (TOML, see docs/scenario.md); without it the built-in default runs
    /// (scenarios/concurrent.toml: RM1 + RM2 concurrent on Pond and PIFS-Rec).
    pub file: Option<PathBuf>,
    /// Write scenario.json, scenario.svg (deadline-miss bars) and scenario_cdf.svg (latency
    /// CDFs) into this folder (created if missing).
    #[arg(long, default_value = "out/scenario")]
    pub out: PathBuf,
    /// Which port accumulator PIFS-Rec runs: the Rust model (fast) or the Verilated RTL.
    #[arg(long, value_enum, default_value_t = BackendArg::Model)]
    pub backend: BackendArg,
    /// Replace the file's duration_ms (ms of arrivals), e.g. for a quick look.
    #[arg(long)]
    pub duration_ms: Option<f64>,
    /// Replace the file's contention model: serial (pessimistic) or pipelined (optimistic).
    #[arg(long, value_parser = ["serial", "pipelined"])]
    pub contention: Option<String>,
}

fn load(a: &ScenarioArgs) -> anyhow::Result<Scenario> {
    let (text, source, base) = match &a.file {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .map_err(|e| anyhow!("{}: cannot read: {e}", p.display()))?;
            let base = p.parent().map(Path::to_path_buf).unwrap_or_default();
            (text, p.display().to_string(), base)
        }
        None => (
            DEFAULT_SCENARIO.to_string(),
            "built-in default (scenarios/concurrent.toml)".to_string(),
            PathBuf::from("."),
        ),
    };
    let mut sc = Scenario::parse(&text, &source, &base).map_err(|e| anyhow!(e))?;
    if let Some(d) = a.duration_ms {
        if !(d.is_finite() && d > 0.0 && d <= 10_000.0) {
            return Err(anyhow!(
                "--duration-ms {d}: must be above 0 and at most 10000"
            ));
        }
        sc.duration_ms = d;
    }
    match a.contention.as_deref() {
        Some("serial") => sc.contention = Contention::Serial,
        Some(_) => sc.contention = Contention::Pipelined,
        None => {}
    }
    Ok(sc)
}

pub fn run(a: ScenarioArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let sc = load(&a).map_err(bad_input)?;
    let d = &a.out;
    std::fs::create_dir_all(d)
        .map_err(|e| bad_input(anyhow!("{}: cannot create: {e}", d.display())))?;
    eprintln!(
        "pifs scenario: {} ({}, {} model(s), {} ms, seed {}, backend {})",
        sc.source,
        sc.mode.name(),
        sc.models.len(),
        sc.duration_ms,
        sc.seed,
        a.backend.name()
    );
    let report = pifs_scenario::run(&sc, a.backend.into(), |msg| {
        eprintln!("pifs scenario: {msg}")
    })
    .map_err(|e| match e {
        RunError::Input(_)
        | RunError::Sim {
            err: SimError::Config(_),
            ..
        } => bad_input(anyhow!("{e}")),
        RunError::Sim { .. } => check_failed(anyhow!("{e}")),
    })?;
    let wall = started.elapsed().as_secs_f64();
    let mut doc = serde_json::to_value(&report).map_err(|e| bad_input(anyhow!("{e}")))?;
    doc["wall_seconds"] = serde_json::json!(wall);
    doc["project_version"] = serde_json::json!(env!("CARGO_PKG_VERSION"));
    let json = serde_json::to_string_pretty(&doc).map_err(|e| bad_input(anyhow!("{e}")))?;
    for (name, text) in [
        ("scenario.json", json),
        ("scenario.svg", report.miss_svg()),
        ("scenario_cdf.svg", report.cdf_svg()),
    ] {
        write_atomically(&d.join(name), |tmp| {
            std::fs::write(tmp, &text).map_err(|e| anyhow!("{e}"))
        })
        .map_err(bad_input)?;
    }
    print!("{}", report.table());
    println!(
        "wrote {0}/scenario.json, {0}/scenario.svg and {0}/scenario_cdf.svg",
        d.display()
    );
    println!("wall {wall:.2} s");
    Ok(())
}
