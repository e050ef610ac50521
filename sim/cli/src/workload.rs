//! Workload flags shared by `pifs run`, `pifs compare` and `pifs sweep`: a built-in model
//! (RM1-RM3, uniform or Zipf) or a trace file, and the embedding weights.

use anyhow::anyhow;
use clap::{Args, ValueEnum};
use pifs_dlrm::{IndexDist, Trace, Weights};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum DistArg {
    Uniform,
    Zipf,
    /// Replay an LRU stack-distance profile (--profile, dlrm's --data-trace-file format).
    Lru,
}

#[derive(Args, Clone)]
pub struct WorkloadArgs {
    /// Trace .npz with `indices`, `offsets` and optional `lengths` (dlrm_datasets layout).
    #[arg(long, conflicts_with = "model")]
    pub trace: Option<PathBuf>,
    /// Tables in the trace file when it has no `lengths` array.
    #[arg(long, requires = "trace")]
    pub num_tables: Option<usize>,
    /// Only these tables of the trace file, e.g. 0-7 or 0,2,5-9 (renumbered from 0).
    #[arg(long, requires = "trace")]
    pub tables: Option<String>,
    /// Only these samples of the trace file, e.g. 0-63 (the indices are streamed, not loaded whole).
    #[arg(long, requires = "trace")]
    pub samples: Option<String>,
    /// Rows per table of the trace (indices must be below it); taken from --weights when given.
    #[arg(long, conflicts_with = "model")]
    pub rows: Option<u64>,
    /// Embedding dimension (floats per row); taken from --weights or the model when not given.
    #[arg(long)]
    pub dim: Option<usize>,
    /// Built-in workload: rm1, rm2 or rm3 (DeepRecSys configurations).
    #[arg(long, value_parser = ["rm1", "rm2", "rm3"])]
    pub model: Option<String>,
    /// Samples per batch for --model.
    #[arg(long, default_value_t = 4)]
    pub batch: usize,
    /// Index distribution for --model.
    #[arg(long, value_enum, default_value_t = DistArg::Uniform)]
    pub dist: DistArg,
    /// Zipf exponent for --dist zipf.
    #[arg(long, default_value_t = 1.05)]
    pub alpha: f64,
    /// Stack-distance profile for --dist lru: three comma-separated lines (unique accesses,
    /// stack distances, cumulative probabilities).
    #[arg(long)]
    pub profile: Option<std::path::PathBuf>,
    /// Lookups per table per sample (pooling factor) for --model, instead of the preset's.
    #[arg(long)]
    pub lookups: Option<usize>,
    /// Embedding tables .npz (table_0, table_1, ... float32 rows x dim); synthetic weights if absent.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Seed of the generators (trace, response order, flit packing).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Selected tables (in order) and sample range of a trace file; `None` = all.
pub type Selection = (Option<Vec<usize>>, Option<std::ops::Range<usize>>);

/// `--tables 0-7` and `--samples 0-63`.
pub fn parse_selection(tables: Option<&str>, samples: Option<&str>) -> anyhow::Result<Selection> {
    let tables = tables
        .map(pifs_dlrm::parse_index_list)
        .transpose()
        .map_err(|e| anyhow!("--tables {e}"))?;
    let samples = samples
        .map(pifs_dlrm::parse_range)
        .transpose()
        .map_err(|e| anyhow!("--samples {e}"))?;
    Ok((tables, samples))
}

/// Names the weights file in an error found by checking a trace against it (the table count
/// and the rows come from the weights, the message's file is the trace).
fn weights_note(a: &WorkloadArgs) -> String {
    a.weights
        .as_ref()
        .map(|p| format!(" (table sizes from --weights {})", p.display()))
        .unwrap_or_default()
}

pub fn load_workload(a: &WorkloadArgs) -> anyhow::Result<(Trace, Weights, String)> {
    let weights = match &a.weights {
        Some(p) => Some(pifs_dlrm::read_weights_npz(p, a.dim).map_err(|e| anyhow!("{e}"))?),
        None => None,
    };
    if let Some(tp) = &a.trace {
        let (tables, samples) = parse_selection(a.tables.as_deref(), a.samples.as_deref())?;
        let trace = pifs_dlrm::read_trace_npz_subset(tp, a.num_tables, tables.as_deref(), samples)
            .map_err(|e| anyhow!("{e}"))?;
        let src = tp.display().to_string();
        let weights = match weights {
            Some(w) => {
                w.check_trace(&trace, &src)
                    .map_err(|e| anyhow!("{e}{}", weights_note(a)))?;
                if let Some(r) = a.rows {
                    trace.check_rows(&[r], &src).map_err(|e| anyhow!("{e}"))?;
                }
                w
            }
            None => {
                let rows = a.rows.ok_or_else(|| {
                    anyhow!("--trace without --weights needs --rows (rows per table)")
                })?;
                let dim = a
                    .dim
                    .ok_or_else(|| anyhow!("--trace without --weights needs --dim"))?;
                if dim == 0 {
                    return Err(anyhow!("--dim 0: must be at least 1"));
                }
                trace
                    .check_rows(&[rows], &src)
                    .map_err(|e| anyhow!("{e}"))?;
                Weights::Synthetic { dim }
            }
        };
        let name = tp
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        return Ok((trace, weights, name));
    }
    let Some(m) = &a.model else {
        return Err(anyhow!("give a workload: --trace FILE.npz (with --rows/--dim or --weights) or --model rm1|rm2|rm3"));
    };
    let p = pifs_dlrm::preset(m).ok_or_else(|| anyhow!("--model {m}: unknown (rm1, rm2, rm3)"))?;
    if a.batch == 0 || a.batch > 1 << 20 {
        return Err(anyhow!("--batch {}: must be 1..=1048576", a.batch));
    }
    // --dim and --lookups change the preset (synthetic weights of any dimension).
    let dim = a.dim.unwrap_or(p.dim);
    if dim == 0 || dim > 4096 {
        return Err(anyhow!("--dim {dim}: must be 1..=4096"));
    }
    let lookups = a.lookups.unwrap_or(p.lookups);
    if lookups > 100_000 {
        return Err(anyhow!("--lookups {lookups}: must be at most 100000"));
    }
    if a.profile.is_some() && !matches!(a.dist, DistArg::Lru) {
        return Err(anyhow!("--profile is only for --dist lru"));
    }
    let dist = match a.dist {
        DistArg::Uniform => IndexDist::Uniform,
        DistArg::Zipf => IndexDist::Zipf { alpha: a.alpha },
        DistArg::Lru => {
            let path = a
                .profile
                .as_ref()
                .ok_or_else(|| anyhow!("--dist lru needs --profile FILE"))?;
            IndexDist::StackDistance(
                pifs_dlrm::StackProfile::read(path).map_err(|e| anyhow!("{e}"))?,
            )
        }
    };
    let dist_name = dist.label();
    let trace = pifs_dlrm::generate(p.tables, p.rows, a.batch, lookups, dist, a.seed)
        .map_err(|e| anyhow!("{e}"))?;
    let weights = match weights {
        Some(w) => {
            w.check_trace(&trace, m)
                .map_err(|e| anyhow!("{e}{}", weights_note(a)))?;
            w
        }
        None => Weights::Synthetic { dim },
    };
    if weights.dim() != dim {
        let file = a.weights.as_ref().map(|p| p.display().to_string());
        return Err(anyhow!(
            "{}: table_0: dim {}, but --model {m} has dim {dim} (--dim changes it)",
            file.as_deref().unwrap_or("--weights"),
            weights.dim()
        ));
    }
    Ok((trace, weights, format!("{} ({dist_name})", p.name)))
}
