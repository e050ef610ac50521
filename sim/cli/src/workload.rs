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
}

#[derive(Args, Clone)]
pub struct WorkloadArgs {
    /// Trace .npz with `indices`, `offsets` and optional `lengths` (dlrm_datasets layout).
    #[arg(long, conflicts_with = "model")]
    pub trace: Option<PathBuf>,
    /// Tables in the trace when it has no `lengths` array.
    #[arg(long, requires = "trace")]
    pub tables: Option<usize>,
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
    /// Embedding tables .npz (table_0, table_1, ... float32 rows x dim); synthetic weights if absent.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Seed of the generators (trace, response order, flit packing).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn load_workload(a: &WorkloadArgs) -> anyhow::Result<(Trace, Weights, String)> {
    let weights = match &a.weights {
        Some(p) => Some(pifs_dlrm::read_weights_npz(p, a.dim).map_err(|e| anyhow!("{e}"))?),
        None => None,
    };
    if let Some(tp) = &a.trace {
        let trace = pifs_dlrm::read_trace_npz(tp, a.tables).map_err(|e| anyhow!("{e}"))?;
        let src = tp.display().to_string();
        let weights = match weights {
            Some(w) => {
                w.check_trace(&trace, &src).map_err(|e| anyhow!("{e}"))?;
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
    if let Some(d) = a.dim {
        if d != p.dim {
            return Err(anyhow!("--dim {d}: {} has dim {}", p.name, p.dim));
        }
    }
    let dist = match a.dist {
        DistArg::Uniform => IndexDist::Uniform,
        DistArg::Zipf => IndexDist::Zipf { alpha: a.alpha },
    };
    let trace = pifs_dlrm::generate(p.tables, p.rows, a.batch, p.lookups, dist, a.seed)
        .map_err(|e| anyhow!("{e}"))?;
    let weights = match weights {
        Some(w) => {
            w.check_trace(&trace, m).map_err(|e| anyhow!("{e}"))?;
            w
        }
        None => Weights::Synthetic { dim: p.dim },
    };
    let dist_name = match a.dist {
        DistArg::Uniform => "uniform".to_string(),
        DistArg::Zipf => format!("zipf {}", a.alpha),
    };
    Ok((trace, weights, format!("{} ({dist_name})", p.name)))
}
