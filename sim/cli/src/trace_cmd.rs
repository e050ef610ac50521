//! `pifs trace gen` (synthetic traces of the built-in models as `.npz`), `pifs trace weights`
//! (the synthetic weights of a built-in model as a weights `.npz` in a row format) and
//! `pifs trace stats` (pooling factors, unique rows and reuse of a trace `.npz`, or of a subset
//! of its tables and samples). Every error is bad input: the caller prints it as one line and exits 2.

use std::path::{Path, PathBuf};

use crate::workload::parse_selection;
use crate::write_atomically;
use anyhow::{anyhow, Context};
use clap::{Args, Subcommand, ValueEnum};
use pifs_dlrm::{IndexDist, RowFormat, StackProfile, Table, TableStats, TraceStats};

#[derive(Subcommand)]
pub enum TraceCmd {
    /// Generate a synthetic trace of a built-in model and write it as .npz (indices, offsets, lengths).
    Gen(GenArgs),
    /// Write the synthetic weights of a built-in model (DESIGN.md section 7 formula, the model's
    /// tables and dim, --rows rows each) as a weights .npz, stored in --row-format.
    Weights(WeightsArgs),
    /// Print statistics of a trace .npz: per table bags, lookups, pooling factor, unique rows, reuse.
    Stats(StatsArgs),
}

#[derive(Clone, Copy, ValueEnum)]
pub enum GenDist {
    /// Every row equally likely.
    Uniform,
    /// Zipf over ranks with exponent --alpha, ranks scattered over row ids.
    Zipf,
    /// Replay an LRU stack-distance profile (--profile, dlrm --data-trace-file format).
    Lru,
}

#[derive(Args)]
pub struct GenArgs {
    /// Built-in workload: rm1, rm2 or rm3 (DeepRecSys configurations).
    #[arg(long, value_parser = ["rm1", "rm2", "rm3"])]
    model: String,
    /// Samples per batch.
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Index distribution.
    #[arg(long, value_enum, default_value_t = GenDist::Uniform)]
    dist: GenDist,
    /// Zipf exponent for --dist zipf (finite, > 0; default 1.05).
    #[arg(long, allow_negative_numbers = true)]
    alpha: Option<f64>,
    /// Stack-distance profile for --dist lru: three comma-separated lines (unique accesses,
    /// stack distances, cumulative probabilities). Profile ids map to rows modulo the table's rows.
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Seed of the generator (table t draws from the t-th fork of the seed's stream).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output trace .npz.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
pub struct WeightsArgs {
    /// Built-in workload: rm1, rm2 or rm3 (its number of tables and dim).
    #[arg(long, value_parser = ["rm1", "rm2", "rm3"])]
    model: String,
    /// Rows per table (at most the model's rows).
    #[arg(long)]
    rows: u64,
    /// How the rows are stored: fp32 (float32 tables), fp16 (float16) or int8 (uint8 rows of
    /// fp16 scale, fp16 bias and dim codes, FBGEMM row-wise).
    #[arg(long, default_value = "fp32")]
    row_format: RowFormat,
    /// Output weights .npz (table_0, table_1, ...).
    #[arg(long)]
    out: PathBuf,
}

/// Most values `pifs trace weights` builds in memory (1 GiB of float32).
const MAX_WEIGHT_VALUES: u64 = 1 << 28;

#[derive(Args)]
pub struct StatsArgs {
    /// Trace .npz with `indices`, `offsets` and optional `lengths` (dlrm_datasets layout).
    file: PathBuf,
    /// Tables in the file when it has no `lengths` array (default 1).
    #[arg(long)]
    num_tables: Option<usize>,
    /// Only these tables, e.g. 0-7 or 0,2,5-9 (in that order, renumbered from 0).
    #[arg(long)]
    tables: Option<String>,
    /// Only these samples (batch positions), one range, e.g. 0-63.
    #[arg(long)]
    samples: Option<String>,
    /// Also write the statistics as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Runs a `pifs trace` subcommand. Every error is bad input (exit 2), one line.
pub fn run_trace(cmd: TraceCmd) -> anyhow::Result<()> {
    match cmd {
        TraceCmd::Gen(a) => gen(a),
        TraceCmd::Weights(a) => weights(a),
        TraceCmd::Stats(a) => stats(a),
    }
}

fn gen(a: GenArgs) -> anyhow::Result<()> {
    let p = pifs_dlrm::preset(&a.model)
        .ok_or_else(|| anyhow!("--model {}: unknown (rm1, rm2, rm3)", a.model))?;
    if a.batch == 0 || a.batch > 1 << 20 {
        return Err(anyhow!("--batch {}: must be 1..=1048576", a.batch));
    }
    if a.alpha.is_some() && !matches!(a.dist, GenDist::Zipf) {
        return Err(anyhow!("--alpha is only for --dist zipf"));
    }
    if a.profile.is_some() && !matches!(a.dist, GenDist::Lru) {
        return Err(anyhow!("--profile is only for --dist lru"));
    }
    let dist = match a.dist {
        GenDist::Uniform => IndexDist::Uniform,
        GenDist::Zipf => {
            let alpha = a.alpha.unwrap_or(1.05);
            if !(alpha.is_finite() && alpha > 0.0) {
                return Err(anyhow!("--alpha {alpha}: must be a finite number > 0"));
            }
            IndexDist::Zipf { alpha }
        }
        GenDist::Lru => {
            let path = a
                .profile
                .as_ref()
                .ok_or_else(|| anyhow!("--dist lru needs --profile FILE"))?;
            IndexDist::StackDistance(StackProfile::read(path).map_err(|e| anyhow!("{e}"))?)
        }
    };
    let label = dist.label();
    let trace = pifs_dlrm::generate(p.tables, p.rows, a.batch, p.lookups, dist, a.seed)
        .map_err(|e| anyhow!("{e}"))?;
    write_atomically(&a.out, |tmp| {
        pifs_dlrm::write_trace_npz(tmp, &trace).map_err(|e| anyhow!("{e}"))
    })?;
    println!(
        "wrote      {}: {} ({label}), {} tables x batch {}, {} lookups per bag, rows 0..{}, seed {}",
        a.out.display(),
        p.name,
        trace.tables,
        trace.batch,
        p.lookups,
        p.rows,
        a.seed
    );
    Ok(())
}

fn weights(a: WeightsArgs) -> anyhow::Result<()> {
    let p = pifs_dlrm::preset(&a.model)
        .ok_or_else(|| anyhow!("--model {}: unknown (rm1, rm2, rm3)", a.model))?;
    if a.rows == 0 || a.rows > p.rows {
        return Err(anyhow!(
            "--rows {}: must be 1..={} ({}'s rows)",
            a.rows,
            p.rows,
            p.name
        ));
    }
    let values = a.rows * (p.tables * p.dim) as u64;
    if values > MAX_WEIGHT_VALUES {
        return Err(anyhow!(
            "--rows {}: {} tables x {} rows x dim {} is {values} values, more than {MAX_WEIGHT_VALUES}",
            a.rows,
            p.tables,
            a.rows,
            p.dim
        ));
    }
    let rows = a.rows as usize;
    let tables: Vec<Table> = (0..p.tables as u64)
        .map(|t| Table {
            rows,
            data: (0..a.rows)
                .flat_map(|r| (0..p.dim as u64).map(move |c| pifs_dlrm::synthetic_weight(t, r, c)))
                .collect(),
        })
        .collect();
    write_atomically(&a.out, |tmp| {
        pifs_dlrm::write_weights_npz_format(tmp, &tables, p.dim, a.row_format)
            .map_err(|e| anyhow!("{e}"))
    })?;
    println!(
        "wrote      {}: {} synthetic weights in {}, {} tables x {} rows, dim {}",
        a.out.display(),
        p.name,
        a.row_format,
        p.tables,
        a.rows,
        p.dim
    );
    Ok(())
}

fn stats(a: StatsArgs) -> anyhow::Result<()> {
    if a.num_tables == Some(0) {
        return Err(anyhow!("--num-tables 0: must be at least 1"));
    }
    let (tables, samples) = parse_selection(a.tables.as_deref(), a.samples.as_deref())?;
    let trace =
        pifs_dlrm::read_trace_npz_subset(&a.file, a.num_tables, tables.as_deref(), samples.clone())
            .map_err(|e| anyhow!("{e}"))?;
    let s = pifs_dlrm::trace_stats(&trace);
    // Table numbers in the file, for the selected (renumbered) tables.
    let file_tables: Vec<usize> = tables.clone().unwrap_or_else(|| (0..s.tables).collect());
    let table_sel = tables.as_deref().map(pifs_dlrm::format_index_list);
    let sample_sel = samples
        .as_ref()
        .map(|r| format!("{}-{}", r.start, r.end - 1));

    if let Some(j) = &a.json {
        let mut doc = serde_json::to_value(&s).map_err(|e| anyhow!("{e}"))?;
        doc["file"] = serde_json::json!(a.file.display().to_string());
        doc["selection"] = serde_json::json!({ "tables": table_sel, "samples": sample_sel });
        for (k, &ft) in file_tables.iter().enumerate() {
            doc["per_table"][k]["file_table"] = serde_json::json!(ft);
        }
        let text = serde_json::to_string_pretty(&doc).map_err(|e| anyhow!("{e}"))?;
        write_atomically(j, |tmp| {
            std::fs::write(tmp, &text).with_context(|| format!("{}: cannot write", j.display()))
        })?;
    }
    print!(
        "{}",
        render(
            &a.file,
            &s,
            &file_tables,
            table_sel.as_deref(),
            sample_sel.as_deref()
        )
    );
    Ok(())
}

/// The reuse bucket label: "1", "2", "3-4", "5-8", ...
fn bucket_label(lo: u64, hi: u64) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

fn table_line(name: &str, t: &TableStats) -> String {
    let once = t.reuse.first().map_or(0, |b| b.rows);
    format!(
        "{name:<6} {:>8} {:>11} {:>9.2} {:>5} {:>5} {:>5} {:>6} {:>10} {:>9.3}\n",
        t.bags,
        t.lookups,
        t.pooling.mean,
        t.pooling.min,
        t.pooling.p50,
        t.pooling.p99,
        t.pooling.max,
        t.unique_rows,
        if t.unique_rows == 0 {
            0.0
        } else {
            once as f64 / t.unique_rows as f64
        }
    )
}

/// The human-readable report printed by `pifs trace stats`.
/// `file_tables[k]` is the file's number of table k of `s`.
fn render(
    file: &Path,
    s: &TraceStats,
    file_tables: &[usize],
    tables: Option<&str>,
    samples: Option<&str>,
) -> String {
    let mut out = format!(
        "trace      {}: {} table(s) x batch {}",
        file.display(),
        s.tables,
        s.batch
    );
    if tables.is_some() || samples.is_some() {
        out += &format!(
            " (selected: tables {}, samples {})",
            tables.unwrap_or("all"),
            samples.unwrap_or("all")
        );
    }
    out += "\n";
    out += &format!(
        "{:<6} {:>8} {:>11} {:>9} {:>5} {:>5} {:>5} {:>6} {:>10} {:>9}\n",
        "table", "bags", "lookups", "pool_mean", "min", "p50", "p99", "max", "unique", "once_frac"
    );
    for (t, ft) in s.per_table.iter().zip(file_tables) {
        out += &table_line(&ft.to_string(), t);
    }
    out += &table_line("total", &s.total);
    out += "reuse      rows by times accessed (all tables)\n";
    out += &format!(
        "{:<10} {:>10} {:>11} {:>8}\n",
        "times", "rows", "lookups", "lookup%"
    );
    for b in &s.total.reuse {
        out += &format!(
            "{:<10} {:>10} {:>11} {:>8.2}\n",
            bucket_label(b.lo, b.hi),
            b.rows,
            b.lookups,
            if s.total.lookups == 0 {
                0.0
            } else {
                100.0 * b.lookups as f64 / s.total.lookups as f64
            }
        );
    }
    out
}
