//! `pifs checkpoints`: the incremental-checkpoint study (Check-N-Run): full vs incremental vs
//! quantized checkpoint bytes per interval, with the training writes sent through the switch.
//! (Not `pifs run --checkpoint/--resume`, which saves simulator state.)

use crate::compare_cmd::load_batches;
use crate::workload::WorkloadArgs;
use crate::{bad_input, check_failed, write_atomically, Failure};
use anyhow::anyhow;
use clap::Args;
use pifs_incremental::study::{self, Batch, Report, StudyConfig, StudyError};
use pifs_systems::plot;
use std::path::{Path, PathBuf};
use std::time::Instant;

const ABOUT: &str = "The Check-N-Run incremental-checkpoint study (Eisenman et al., NSDI 2022): \
an online-training row-update stream (M2S RwD MemWr through the switch), modified-row bitmaps \
at the switch, and per checkpoint interval the bytes of full, consecutive-incremental, \
one-shot-incremental and quantized (--bits) one-shot checkpoints with the restore error. \
Default workload: --model rm1 --dist zipf. This is a study of checkpoint sizes, not the saving \
of simulator state (that is `pifs run --checkpoint/--resume`). Parameters and sources: \
docs/checkpoints.md.";

#[derive(Args)]
#[command(after_help = ABOUT, mut_arg("dist", |a| a.default_value("zipf")))]
pub struct CheckpointsArgs {
    #[command(flatten)]
    pub w: WorkloadArgs,
    /// Training batches: with --model, generated with seeds seed, seed+1, ...; with --trace, the
    /// file's samples split into this many consecutive mini-batches.
    #[arg(long, default_value_t = 40)]
    pub batches: usize,
    /// Batches per checkpoint interval (a shorter last interval is checkpointed too).
    #[arg(long, default_value_t = 10)]
    pub interval: usize,
    /// Quantized bit widths, comma-separated, each 1..=8 (8: fp32 scale/bias; below: fp16).
    #[arg(long, default_value = "8,4,2")]
    pub bits: String,
    /// Learning rate of the synthetic row update row -= lr * g (g in [-0.5, 0.5) per lookup).
    #[arg(long, default_value_t = 0.01)]
    pub lr: f32,
    /// One-shot takes a new full baseline when its increment would exceed this fraction of a
    /// full checkpoint, in (0, 1].
    #[arg(long, default_value_t = 0.5)]
    pub rebaseline: f64,
    /// Directory for checkpoints.json and checkpoints.svg (created if missing).
    #[arg(long, default_value = "out/checkpoints")]
    pub out: PathBuf,
}

fn parse_bits(s: &str) -> anyhow::Result<Vec<u8>> {
    s.split(',')
        .map(|p| {
            let p = p.trim();
            p.parse::<u8>()
                .map_err(|_| anyhow!("--bits {s}: '{p}' is not a bit width (1..=8)"))
        })
        .collect()
}

/// Rows per table: from loaded weights, else --rows (a trace), else the model preset.
fn table_rows(a: &CheckpointsArgs, tables: usize, weights: &pifs_dlrm::Weights) -> Vec<u64> {
    let preset =
        a.w.model
            .as_deref()
            .and_then(pifs_dlrm::preset)
            .map(|p| p.rows);
    (0..tables)
        .map(|t| weights.rows(t).or(a.w.rows).or(preset).unwrap_or(0))
        .collect()
}

fn study_failure(e: StudyError) -> Failure {
    match e {
        StudyError::BadInput(s) => bad_input(anyhow!("pifs checkpoints: {s}")),
        StudyError::Failed(s) => check_failed(anyhow!("pifs checkpoints: {s}")),
    }
}

pub fn run(mut a: CheckpointsArgs) -> Result<(), Failure> {
    let started = Instant::now();
    if a.w.trace.is_none() && a.w.model.is_none() {
        a.w.model = Some("rm1".into());
    }
    let cfg = StudyConfig {
        interval: a.interval,
        lr: a.lr,
        bits: parse_bits(&a.bits).map_err(bad_input)?,
        rebaseline: a.rebaseline,
        seed: a.w.seed,
    };
    // The study's own flags first, before anything is generated or read.
    cfg.check().map_err(study_failure)?;
    let from_trace = a.w.trace.is_some();
    let (traces, weights, name) =
        load_batches(&a.w, if from_trace { 1 } else { a.batches }).map_err(bad_input)?;
    let batches: Vec<Batch> = if from_trace {
        let t = &traces[0];
        if a.batches == 0 || a.batches > t.batch {
            return Err(bad_input(anyhow!(
                "--batches {}: the trace has {} samples to split into 1..={} batches",
                a.batches,
                t.batch,
                t.batch
            )));
        }
        (0..a.batches)
            .map(|k| Batch {
                trace: t,
                samples: k * t.batch / a.batches..(k + 1) * t.batch / a.batches,
            })
            .collect()
    } else {
        traces
            .iter()
            .map(|t| Batch {
                trace: t,
                samples: 0..t.batch,
            })
            .collect()
    };
    let rows = table_rows(&a, traces[0].tables, &weights);
    eprintln!(
        "pifs checkpoints: {name}, {} batch(es), checkpoint every {} batch(es), seed {}",
        batches.len(),
        a.interval,
        a.w.seed
    );
    let report = study::run(&name, &batches, &rows, &weights, &cfg).map_err(study_failure)?;
    write_outputs(&a.out, &report, started.elapsed().as_secs_f64())?;
    print!("{}", report.table());
    println!(
        "wrote {0}/checkpoints.json and {0}/checkpoints.svg",
        a.out.display()
    );
    println!("wall {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn write_outputs(dir: &Path, r: &Report, wall: f64) -> Result<(), Failure> {
    std::fs::create_dir_all(dir)
        .map_err(|e| bad_input(anyhow!("{}: cannot create: {e}", dir.display())))?;
    let mut doc = serde_json::to_value(r).map_err(|e| bad_input(anyhow!("{e}")))?;
    doc["wall_seconds"] = serde_json::json!(wall);
    doc["project_version"] = serde_json::json!(env!("CARGO_PKG_VERSION"));
    let text = serde_json::to_string_pretty(&doc).map_err(|e| bad_input(anyhow!("{e}")))?;
    write_atomically(&dir.join("checkpoints.json"), |tmp| {
        std::fs::write(tmp, &text).map_err(|e| anyhow!("{e}"))
    })
    .map_err(bad_input)?;
    // Full dwarfs the increments; it is named in the title and left off the axis.
    let xs: Vec<f64> = r.intervals.iter().map(|i| i.index as f64).collect();
    let series: Vec<(String, Vec<f64>)> = (1..r.totals.schemes.len())
        .map(|s| {
            let name = r.totals.schemes[s].scheme.clone();
            let ys = r
                .intervals
                .iter()
                .map(|i| i.schemes[s].write_bytes as f64 / 1e6)
                .collect();
            (name, ys)
        })
        .collect();
    let title = format!(
        "{}: checkpoint bytes per interval (full = {:.1} MB each)",
        r.workload,
        r.full_bytes as f64 / 1e6
    );
    let svg = plot::lines(&title, "checkpoint", "MB written", &xs, &series);
    write_atomically(&dir.join("checkpoints.svg"), |tmp| {
        std::fs::write(tmp, &svg).map_err(|e| anyhow!("{e}"))
    })
    .map_err(bad_input)
}
