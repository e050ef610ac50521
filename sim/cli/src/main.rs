//! The `pifs` command-line tool: runs DLRM embedding workloads through the switch-port RTL (or
//! its reference model) and decodes CXL.mem flit streams.
//!
//! Exit codes: 0 success, 1 a check failed (bound, CRC, packing rule, port error), 2 bad input
//! or usage. Errors are one line on stderr.

use anyhow::{anyhow, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use pifs_cxl::{decode_stream, Dir, Flit};
use pifs_dlrm::{IndexDist, Trace, Weights};
use pifs_sim::check::check_bound;
use pifs_sim::params::Timing;
use pifs_sim::system::{self, Backend, RunConfig};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

mod trace_cmd;

#[derive(Parser)]
#[command(
    name = "pifs",
    version,
    about = "PIFS-Rec switch-port co-simulation workbench"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run an embedding workload through the switch ports and pool it.
    Run(Box<RunArgs>),
    /// CXL.mem flit tools.
    Flit {
        #[command(subcommand)]
        cmd: FlitCmd,
    },
    /// Trace tools: generate synthetic traces, print trace statistics.
    Trace {
        #[command(subcommand)]
        cmd: trace_cmd::TraceCmd,
    },
}

#[derive(Subcommand)]
enum FlitCmd {
    /// Decode a flit stream: one 66-byte flit per line as 132 hex characters ('-' = stdin).
    Decode(DecodeArgs),
}

#[derive(Args)]
struct DecodeArgs {
    /// Direction of the stream: m2s (host to device) or s2m (device to host).
    #[arg(long)]
    dir: Dir,
    /// File with one flit per line (blank lines and lines starting with '#' are skipped); '-' reads stdin.
    file: String,
    /// Print {"flits", "crc_errors", "messages", "errors"} as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum BackendArg {
    /// The Verilated RTL.
    Rtl,
    /// The pure-Rust reference model (bit-exact sums, cycle-exact without back-pressure).
    Model,
}

#[derive(Clone, Copy, ValueEnum)]
enum DistArg {
    Uniform,
    Zipf,
}

#[derive(Args)]
struct RunArgs {
    /// Trace .npz with `indices`, `offsets` and optional `lengths` (dlrm_datasets layout).
    #[arg(long, conflicts_with = "model")]
    trace: Option<PathBuf>,
    /// Tables in the trace when it has no `lengths` array.
    #[arg(long, requires = "trace")]
    tables: Option<usize>,
    /// Rows per table of the trace (indices must be below it); taken from --weights when given.
    #[arg(long, conflicts_with = "model")]
    rows: Option<u64>,
    /// Embedding dimension (floats per row); taken from --weights or the model when not given.
    #[arg(long)]
    dim: Option<usize>,
    /// Built-in workload: rm1, rm2 or rm3 (DeepRecSys configurations).
    #[arg(long, value_parser = ["rm1", "rm2", "rm3"])]
    model: Option<String>,
    /// Samples per batch for --model.
    #[arg(long, default_value_t = 4)]
    batch: usize,
    /// Index distribution for --model.
    #[arg(long, value_enum, default_value_t = DistArg::Uniform)]
    dist: DistArg,
    /// Zipf exponent for --dist zipf.
    #[arg(long, default_value_t = 1.05)]
    alpha: f64,
    /// Embedding tables .npz (table_0, table_1, ... float32 rows x dim); synthetic weights if absent.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Which port implementation runs.
    #[arg(long, value_enum, default_value_t = BackendArg::Rtl)]
    backend: BackendArg,
    /// Downstream ports (one memory device each); row r lives behind port r mod ports.
    #[arg(long, default_value_t = 1)]
    ports: usize,
    /// Write the pooled output, float32 (T*B, dim), as .npy.
    #[arg(long)]
    pooled: Option<PathBuf>,
    /// Write the stats document as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Seed of the generators (trace, response order, flit packing).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Device answers out of order (adds up to 64 ns of random delay per read).
    #[arg(long)]
    ooo: bool,
    /// MemRd-to-MemData latency of the devices, in ns.
    #[arg(long)]
    device_latency_ns: Option<f64>,
    /// Percentage of cycles the upstream side accepts a partial sum (back-pressure below 100).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    res_ready: u32,
    /// Write an FST waveform of port 0 (rtl backend).
    #[arg(long)]
    wave: Option<PathBuf>,
    /// Skip the float64 bound check of the pooled output.
    #[arg(long)]
    no_check: bool,
}

/// An error with the exit code it maps to.
struct Failure {
    code: u8,
    err: anyhow::Error,
}

fn bad_input(err: anyhow::Error) -> Failure {
    Failure { code: 2, err }
}

fn check_failed(err: anyhow::Error) -> Failure {
    Failure { code: 1, err }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let res = match cli.cmd {
        Cmd::Run(a) => run(*a),
        Cmd::Flit {
            cmd: FlitCmd::Decode(a),
        } => decode(a),
        Cmd::Trace { cmd } => trace_cmd::run_trace(cmd).map_err(bad_input),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("pifs: error: {:#}", f.err);
            ExitCode::from(f.code)
        }
    }
}

fn run(a: RunArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let (trace, weights, name) = load_workload(&a).map_err(bad_input)?;
    let mut timing = Timing::default();
    if a.ooo {
        timing.device_jitter_ns = 64.0;
    }
    if let Some(l) = a.device_latency_ns {
        timing.device_latency_ns = l;
    }
    timing
        .validate()
        .map_err(|e| bad_input(anyhow!("--device-latency-ns: {e}")))?;
    if a.ports == 0 || a.ports > 64 {
        return Err(bad_input(anyhow!("--ports {}: must be 1..=64", a.ports)));
    }
    if a.wave.is_some() && matches!(a.backend, BackendArg::Model) {
        return Err(bad_input(anyhow!("--wave needs --backend rtl")));
    }
    let cfg = RunConfig {
        backend: match a.backend {
            BackendArg::Rtl => Backend::Rtl,
            BackendArg::Model => Backend::Model,
        },
        ports: a.ports,
        seed: a.seed,
        timing,
        res_ready_percent: a.res_ready,
        wave: a.wave.clone(),
        workload: name.clone(),
        ..RunConfig::default()
    };
    eprintln!(
        "pifs: {name}: {} bags, {} lookups, dim {} on {} port(s), backend {}, seed {}",
        trace.num_bags(),
        trace.lookups(),
        weights.dim(),
        a.ports,
        cfg.backend.name(),
        a.seed
    );
    let out = system::run(&trace, &weights, &cfg).map_err(|e| match e {
        pifs_sim::SimError::Config(_) => bad_input(anyhow!("{e}")),
        _ => check_failed(anyhow!("{e}")),
    })?;
    let wall = started.elapsed().as_secs_f64();

    let bound = if a.no_check {
        None
    } else {
        let reference =
            pifs_dlrm::pool_f64(&trace, &weights).map_err(|e| bad_input(anyhow!("{e}")))?;
        Some(check_bound(&out.pooled, &reference))
    };
    if let Some(p) = &a.pooled {
        let data: Vec<f32> = out.pooled.iter().map(|&b| f32::from_bits(b)).collect();
        write_atomically(p, |tmp| {
            pifs_dlrm::write_npy_f32(tmp, trace.num_bags(), out.dim, &data)
                .map_err(|e| anyhow!("{e}"))
        })
        .map_err(bad_input)?;
    }
    if let Some(p) = &a.json {
        let mut doc = serde_json::to_value(&out.stats).map_err(|e| bad_input(anyhow!("{e}")))?;
        doc["wall_seconds"] = serde_json::json!(wall);
        if let Some(b) = &bound {
            doc["check"] = serde_json::to_value(b).map_err(|e| bad_input(anyhow!("{e}")))?;
        }
        let text = serde_json::to_string_pretty(&doc).map_err(|e| bad_input(anyhow!("{e}")))?;
        write_atomically(p, |tmp| {
            std::fs::write(tmp, &text).map_err(|e| anyhow!("{e}"))
        })
        .map_err(bad_input)?;
    }

    let s = &out.stats;
    println!(
        "workload   {name}: {} tables x batch {}, dim {} ({} line(s) per row)",
        s.config.tables, s.config.batch, s.config.dim, s.config.row_lines
    );
    println!(
        "backend    {}{}",
        s.backend,
        s.verilator
            .as_ref()
            .map(|v| format!(" ({v})"))
            .unwrap_or_default()
    );
    println!(
        "bags       {}   lookups {}   lines {}",
        s.bags, s.lookups, s.lines
    );
    println!(
        "cycles     {}   ({:.3} us at {} GHz)",
        s.cycles,
        s.time_ns / 1000.0,
        s.config.timing.clock_ghz
    );
    println!("port  pieces  lookups  s2m_flits  util   results  last_cycle");
    for p in &s.ports {
        println!(
            "{:<5} {:<7} {:<8} {:<10} {:<6.3} {:<8} {}",
            p.port,
            p.bags,
            p.lookups,
            p.s2m_flits,
            p.utilisation,
            p.result_lines,
            p.last_result_cycle
        );
    }
    println!("wall       {wall:.2} s");
    if let Some(b) = bound {
        if b.ok() {
            println!(
                "check      ok: {} elements within the float64 bound (max err/bound {:.3}, {} not comparable)",
                b.elements, b.max_ratio, b.skipped
            );
        } else {
            let (i, got, want, bnd) = b.first_violation.unwrap();
            return Err(check_failed(anyhow!(
                "{} of {} pooled elements outside the float64 bound; first: element {i} (bag {}, column {}) = {got:e}, float64 {want:e}, bound {bnd:e}",
                b.violations,
                b.elements,
                i / out.dim,
                i % out.dim
            )));
        }
    }
    Ok(())
}

/// Write through a temporary file and rename, so an interrupted run never leaves a partial file.
fn write_atomically(
    path: &Path,
    f: impl FnOnce(&Path) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".partial");
    let tmp = PathBuf::from(tmp);
    f(&tmp).with_context(|| format!("{}: cannot write", path.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("{}: cannot write", path.display()))
}

fn load_workload(a: &RunArgs) -> anyhow::Result<(Trace, Weights, String)> {
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

fn decode(a: DecodeArgs) -> Result<(), Failure> {
    let (name, text) = if a.file == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| bad_input(anyhow!("<stdin>: cannot read: {e}")))?;
        ("<stdin>".to_string(), s)
    } else {
        let s = std::fs::read(&a.file)
            .map_err(|e| bad_input(anyhow!("{}: cannot read: {e}", a.file)))?;
        let s = String::from_utf8(s)
            .map_err(|_| bad_input(anyhow!("{}: not text (invalid UTF-8)", a.file)))?;
        (a.file.clone(), s)
    };
    let mut flits = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let f = Flit::from_hex(t).map_err(|e| bad_input(anyhow!("{name}:{}: {e}", n + 1)))?;
        flits.push(f);
    }
    let report = decode_stream(a.dir, &flits);
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| bad_input(anyhow!("{e}")))?
        );
    } else {
        println!(
            "flits {}   crc_errors {}   messages {}",
            report.flits,
            report.crc_errors,
            report.messages.len()
        );
        for m in &report.messages {
            println!("{}", serde_json::to_string(m).unwrap_or_default());
        }
        for e in &report.errors {
            println!("error: {e}");
        }
    }
    if report.crc_errors > 0 || !report.errors.is_empty() {
        return Err(check_failed(anyhow!(
            "{name}: {} CRC error(s), {} packing error(s)",
            report.crc_errors,
            report.errors.len()
        )));
    }
    Ok(())
}
