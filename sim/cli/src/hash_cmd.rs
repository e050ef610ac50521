//! `pifs hash`: the ID-hashing study: collisions, locality, buffer hit rate and device load of
//! hashed, frequency-ranked and learned ID mappings, on the built-in co-access stream or on the
//! raw IDs of a trace file; optionally writes the mapped trace for `pifs compare`.

use crate::workload::parse_selection;
use crate::{bad_input, write_atomically, Failure};
use anyhow::anyhow;
use clap::{Args, ValueEnum};
use pifs_hashing::{CoAccessConfig, Input, Kind, Report, StudyConfig};
use std::path::PathBuf;

#[derive(Clone, Copy, ValueEnum)]
pub enum MappingArg {
    Modulo,
    Universal,
    Frequency,
    Learned,
}

impl From<MappingArg> for Kind {
    fn from(m: MappingArg) -> Kind {
        match m {
            MappingArg::Modulo => Kind::Modulo,
            MappingArg::Universal => Kind::Universal,
            MappingArg::Frequency => Kind::Frequency,
            MappingArg::Learned => Kind::Learned,
        }
    }
}

#[derive(Args)]
pub struct HashArgs {
    /// Trace .npz whose indices are the raw IDs (instead of the built-in stream).
    #[arg(long, conflicts_with_all = ["model", "batch", "lookups", "id_space", "alpha", "group", "burst"])]
    trace: Option<PathBuf>,
    /// Tables in the trace file when it has no `lengths` array.
    #[arg(long, requires = "trace")]
    num_tables: Option<usize>,
    /// Only these tables of the trace file, e.g. 0-7 or 0,2,5-9.
    #[arg(long, requires = "trace")]
    tables: Option<String>,
    /// Only these samples of the trace file, e.g. 0-1023.
    #[arg(long, requires = "trace")]
    samples: Option<String>,
    /// Built-in stream: tables and lookups per bag of this DeepRecSys model.
    #[arg(long, default_value = "rm1", value_parser = ["rm1", "rm2", "rm3"])]
    model: String,
    /// Built-in stream: samples (bags per table); the first --history-share of them train.
    #[arg(long, default_value_t = 2048)]
    batch: usize,
    /// Built-in stream: IDs per bag, instead of the model's pooling factor.
    #[arg(long)]
    lookups: Option<usize>,
    /// Built-in stream: raw IDs per table.
    #[arg(long, default_value_t = 10_000_000)]
    id_space: u64,
    /// Built-in stream: Zipf exponent of co-access group popularity.
    #[arg(long, default_value_t = 1.05)]
    alpha: f64,
    /// Built-in stream: IDs per co-access group.
    #[arg(long, default_value_t = 8)]
    group: u64,
    /// Built-in stream: IDs drawn from a group each time a bag picks it.
    #[arg(long, default_value_t = 4)]
    burst: usize,
    /// Rows per mapped table (default: distinct IDs per table / --ids-per-row).
    #[arg(long)]
    rows: Option<u64>,
    /// Target IDs per row when --rows is not given.
    #[arg(long, default_value_t = 8.0)]
    ids_per_row: f64,
    /// Share of the rows owned by hot IDs (frequency and learned mappings), in [0, 1).
    #[arg(long, default_value_t = 0.5)]
    hot_share: f64,
    /// Share of the cold rows the learned mapping reserves for IDs unseen in the history, in
    /// [0, 1) (0: hash them over all cold rows).
    #[arg(long, default_value_t = 0.2)]
    newcomer_share: f64,
    /// Share of the samples used as history to build the mappings; the rest is evaluated.
    #[arg(long, default_value_t = 0.5)]
    history_share: f64,
    /// Rows of the LRU row buffer shared by all tables (0 = no buffer).
    #[arg(long, default_value_t = 8192)]
    buffer_rows: usize,
    /// Memory devices; row r is on device r mod devices.
    #[arg(long, default_value_t = 8)]
    devices: usize,
    /// Seed of the built-in stream and of the universal hash functions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Folder for hash.json and hash.svg (created if missing).
    #[arg(long, default_value = "out/hash")]
    out: PathBuf,
    /// Write the whole trace mapped by --out-mapping (indices < rows) as .npz.
    #[arg(long)]
    out_trace: Option<PathBuf>,
    /// Mapping written by --out-trace.
    #[arg(long, value_enum, default_value_t = MappingArg::Learned, requires = "out_trace")]
    out_mapping: MappingArg,
}

/// The raw-ID input and the embedding dimension to suggest for `pifs compare`.
fn input(a: &HashArgs) -> anyhow::Result<(Input, Option<usize>)> {
    if let Some(path) = &a.trace {
        let (tables, samples) = parse_selection(a.tables.as_deref(), a.samples.as_deref())?;
        let trace =
            pifs_dlrm::read_trace_npz_subset(path, a.num_tables, tables.as_deref(), samples)
                .map_err(|e| anyhow!("{e}"))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let input = Input {
            name,
            trace,
            groups: None,
            generator: None,
        };
        return Ok((input, None));
    }
    let p = pifs_dlrm::preset(&a.model).ok_or_else(|| anyhow!("--model {}: unknown", a.model))?;
    let gen = CoAccessConfig {
        tables: p.tables,
        samples: a.batch,
        lookups: a.lookups.unwrap_or(p.lookups),
        id_space: a.id_space,
        alpha: a.alpha,
        group: a.group,
        burst: a.burst,
        seed: a.seed,
    };
    let (trace, groups) = pifs_hashing::coaccess::generate(&gen).map_err(|e| anyhow!("{e}"))?;
    let input = Input {
        name: format!("{} (co-access zipf {})", p.name, a.alpha),
        trace,
        groups: Some(groups),
        generator: Some(gen),
    };
    Ok((input, Some(p.dim)))
}

pub fn run(a: HashArgs) -> Result<(), Failure> {
    let (input, dim) = input(&a).map_err(bad_input)?;
    let cfg = StudyConfig {
        rows: a.rows,
        ids_per_row: a.ids_per_row,
        hot_share: a.hot_share,
        newcomer_share: a.newcomer_share,
        history_share: a.history_share,
        buffer_rows: a.buffer_rows,
        devices: a.devices,
        seed: a.seed,
    };
    let trace = a.out_trace.as_ref().map(|_| input.trace.clone());
    let study = pifs_hashing::run(input, &cfg).map_err(|e| bad_input(anyhow!("{e}")))?;
    let r = &study.report;
    print_table(r);

    let dir = &a.out;
    std::fs::create_dir_all(dir)
        .map_err(|e| bad_input(anyhow!("{}: cannot create: {e}", dir.display())))?;
    let json = serde_json::to_string_pretty(r).map_err(|e| bad_input(anyhow!("{e}")))?;
    for (name, text) in [("hash.json", json), ("hash.svg", pifs_hashing::svg(r))] {
        write_atomically(&dir.join(name), |tmp| {
            std::fs::write(tmp, &text).map_err(|e| anyhow!("{e}"))
        })
        .map_err(bad_input)?;
    }
    println!("wrote {}/hash.json and hash.svg", dir.display());
    if let (Some(path), Some(trace)) = (&a.out_trace, &trace) {
        let kind = Kind::from(a.out_mapping);
        let maps = &study
            .maps
            .iter()
            .find(|(k, _)| *k == kind)
            .expect("every kind is built")
            .1;
        let mapped = pifs_hashing::map_trace(trace, maps);
        write_atomically(path, |tmp| {
            pifs_dlrm::write_trace_npz(tmp, &mapped).map_err(|e| anyhow!("{e}"))
        })
        .map_err(bad_input)?;
        println!(
            "wrote {} ({} mapping); run it: pifs compare --trace {} --rows {} --dim {}",
            path.display(),
            kind.name(),
            path.display(),
            r.rows,
            dim.map_or("<dim>".to_string(), |d| d.to_string())
        );
    }
    Ok(())
}

fn print_table(r: &Report) {
    println!(
        "pifs hash: {}: {} table(s) x {} samples, history {} / evaluation {}; R = {} rows per table ({} hot, {} for newcomers in learned), LRU buffer {} rows, {} devices",
        r.workload,
        r.tables,
        r.samples,
        r.history_samples,
        r.eval_samples,
        r.rows,
        r.hot_rows,
        r.newcomer_rows,
        r.config.buffer_rows,
        r.config.devices
    );
    let pct = |x: f64| format!("{:.2}", 100.0 * x);
    println!(
        "{}% of the evaluation accesses are to IDs absent from the history (hashed by every mapping)",
        pct(r.unseen_access_share)
    );
    println!(
        "{:<10} {:>9} {:>8} {:>7} {:>8} {:>9} {:>8} {:>8} {:>9} {:>8} {:>8} {:>9}",
        "mapping",
        "ids",
        "rows",
        "ids/row",
        "max/row",
        "shared%",
        "mixed%",
        "unlike%",
        "in-bag%",
        "rows/bag",
        "hit%",
        "load max"
    );
    for m in &r.mappings {
        let s = &m.stats.overall;
        println!(
            "{:<10} {:>9} {:>8} {:>7.2} {:>8} {:>9} {:>8} {:>8} {:>9} {:>8.2} {:>8} {:>9.3}",
            m.name,
            s.distinct_ids,
            s.rows_touched,
            s.ids_per_row_mean,
            s.ids_per_row_max,
            pct(s.shared_access_share),
            s.dissimilar_access_share.map_or("-".to_string(), pct),
            s.dissimilar_partner_share.map_or("-".to_string(), pct),
            pct(s.in_bag_collision_share),
            s.rows_per_bag_mean,
            pct(s.buffer_hit_rate),
            s.device_max_over_mean
        );
    }
}
