//! The `pifs` command-line tool: runs DLRM embedding workloads through the switch-port RTL (or
//! its reference model) and decodes CXL.mem flit streams.
//!
//! Exit codes: 0 success, 1 a check failed (bound, CRC, packing rule, port error), 2 bad input
//! or usage. Errors are one line on stderr.

use anyhow::{anyhow, Context};
use clap::{Args, Parser, Subcommand, ValueEnum};
use pifs_cxl::{decode_stream, Dir, Flit};
use pifs_sim::check::check_bound;
use pifs_sim::params::{LinkFaults, Timing};
use pifs_sim::system::{self, Backend, RunConfig};
use pifs_sim::{WaveFormat, WaveSpec};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

mod checkpoints_cmd;
mod compare_cmd;
mod hash_cmd;
mod plan_cmd;
mod resume;
mod resume_state;
mod scenario_cmd;
mod sweep_cmd;
mod tiers_cmd;
mod trace_cmd;
mod workload;

use workload::{load_workload, WorkloadArgs};

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
    /// Run Pond, BEACON-D, BEACON-S and PIFS-Rec on one workload and compare them.
    Compare(Box<compare_cmd::CompareArgs>),
    /// Run `pifs compare` over a grid of parameters in parallel; CSV, JSON and charts.
    Sweep(Box<sweep_cmd::SweepArgs>),
    /// Sharding plan of the tables over the devices and its per-device load (docs/placement.md).
    Plan(Box<plan_cmd::PlanArgs>),
    /// Print every system parameter with its unit, value and source.
    Params(compare_cmd::ParamsArgs),
    /// Trace tools: generate synthetic traces, print trace statistics.
    Trace {
        #[command(subcommand)]
        cmd: trace_cmd::TraceCmd,
    },
    /// Memory tiers and power: DRAM-only against tiered pools, energy and power against latency.
    Tiers(Box<tiers_cmd::TiersArgs>),
    /// ID hashing: collisions, locality and load of hashed, frequency-ranked and learned mappings.
    Hash(Box<hash_cmd::HashArgs>),
    /// Multi-model real-time scenarios (cascaded, concurrent, both) on one switch: deadline misses, XRBench score.
    Scenario(Box<scenario_cmd::ScenarioArgs>),
    /// Incremental checkpoints (Check-N-Run): full vs incremental vs quantized bytes per interval.
    Checkpoints(Box<checkpoints_cmd::CheckpointsArgs>),
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

impl BackendArg {
    fn name(self) -> &'static str {
        Backend::from(self).name()
    }
}

impl From<BackendArg> for Backend {
    fn from(b: BackendArg) -> Backend {
        match b {
            BackendArg::Rtl => Backend::Rtl,
            BackendArg::Model => Backend::Model,
        }
    }
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    w: WorkloadArgs,
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
    /// Device answers out of order (adds up to 64 ns of random delay per read).
    #[arg(long)]
    ooo: bool,
    /// MemRd-to-MemData latency of the devices, in ns.
    #[arg(long)]
    device_latency_ns: Option<f64>,
    /// Percentage of cycles the upstream side accepts a partial sum (back-pressure below 100).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100))]
    res_ready: u32,
    /// Ports simulated at once, each on its own thread (default: the machine's cores). The
    /// output does not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    jobs: Option<u64>,
    /// How rows are stored in device memory: fp32, fp16, or int8 row-wise (FBGEMM's fp16 scale
    /// and bias in front of the codes). Default: the weights' own format (fp32 for synthetic
    /// weights); other formats are converted when the devices are filled.
    #[arg(long, value_parser = parse_row_format)]
    row_format: Option<pifs_dlrm::RowFormat>,
    #[command(flatten)]
    wave: WaveArgs,
    /// Skip the float64 bound check of the pooled output.
    #[arg(long)]
    no_check: bool,
    #[command(flatten)]
    ckpt: resume::CheckpointArgs,
    #[command(flatten)]
    faults: FaultArgs,
}

/// Link faults and link-layer retry (docs/link-faults.md). Any of these switches retry on for
/// the S2M and M2S links; without them the links are fault-free and run no retry protocol.
#[derive(Args)]
struct FaultArgs {
    /// Link-layer retry on, even with no fault injected.
    #[arg(long)]
    llr: bool,
    /// Probability that a wire bit flips (per bit, 528 bits per flit).
    #[arg(long, value_name = "P")]
    link_ber: Option<f64>,
    /// Probability that a flit is lost (per flit).
    #[arg(long, value_name = "P")]
    link_drop_rate: Option<f64>,
    /// Probability that a device poisons a MemData line (per line).
    #[arg(long, value_name = "P")]
    poison_rate: Option<f64>,
    /// Link Layer Retry Buffer of every sender, in flits (8..=255).
    #[arg(long, value_name = "FLITS")]
    llrb_flits: Option<usize>,
    /// Fault soak: also run the workload without faults and fail (exit 1) unless the pooled
    /// output is bit for bit the same and no fault escaped the retry.
    #[arg(long)]
    compare_clean: bool,
}

impl FaultArgs {
    /// The fault configuration asked for, or None.
    fn config(&self) -> Option<LinkFaults> {
        let any = self.llr
            || self.compare_clean
            || self.link_ber.is_some()
            || self.link_drop_rate.is_some()
            || self.poison_rate.is_some()
            || self.llrb_flits.is_some();
        any.then(|| {
            let d = LinkFaults::default();
            LinkFaults {
                bit_error_rate: self.link_ber.unwrap_or(d.bit_error_rate),
                flit_drop_rate: self.link_drop_rate.unwrap_or(d.flit_drop_rate),
                poison_rate: self.poison_rate.unwrap_or(d.poison_rate),
                llrb_flits: self.llrb_flits.unwrap_or(d.llrb_flits),
                ..d
            }
        })
    }
}

/// The flag that sets a fault parameter, for error messages.
fn fault_flag(msg: &str) -> &'static str {
    [
        ("link_bit_error_rate", "--link-ber"),
        ("link_flit_drop_rate", "--link-drop-rate"),
        ("device_poison_rate", "--poison-rate"),
        ("llrb_flits", "--llrb-flits"),
    ]
    .iter()
    .find(|(k, _)| msg.starts_with(k))
    .map_or("--link-*", |(_, f)| f)
}

/// Waveform options (rtl backend).
#[derive(Args)]
struct WaveArgs {
    /// Write a waveform of one port's model: FST, or VCD when the name ends in .vcd; a GTKWave
    /// save file grouping the port's signals is written beside it (same name, .gtkw).
    #[arg(long, value_name = "FILE")]
    wave: Option<PathBuf>,
    /// Waveform format, overriding the file name's extension.
    #[arg(long, value_enum, requires = "wave")]
    wave_format: Option<WaveFormatArg>,
    /// First cycle recorded.
    #[arg(long, value_name = "CYCLE", requires = "wave")]
    wave_from: Option<u64>,
    /// Cycle at which recording stops (not recorded); default: the end of the run.
    #[arg(long, value_name = "CYCLE", requires = "wave")]
    wave_to: Option<u64>,
    /// The port whose model is recorded.
    #[arg(long, value_name = "PORT", default_value_t = 0, requires = "wave")]
    wave_port: u32,
}

#[derive(Clone, Copy, ValueEnum)]
enum WaveFormatArg {
    Fst,
    Vcd,
}

impl WaveArgs {
    /// The waveform asked for, checked against the number of ports.
    fn spec(&self, ports: usize) -> Result<Option<WaveSpec>, Failure> {
        let Some(path) = &self.wave else {
            return Ok(None);
        };
        let mut spec = WaveSpec::new(path);
        if let Some(f) = self.wave_format {
            spec.format = match f {
                WaveFormatArg::Fst => WaveFormat::Fst,
                WaveFormatArg::Vcd => WaveFormat::Vcd,
            };
        }
        spec.from = self.wave_from.unwrap_or(0);
        spec.to = self.wave_to;
        spec.port = self.wave_port;
        if spec.port as usize >= ports {
            return Err(bad_input(anyhow!(
                "--wave-port {}: the run has {ports} port(s)",
                spec.port
            )));
        }
        spec.check().map_err(|e| bad_input(anyhow!("{e}")))?;
        Ok(Some(spec))
    }
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

/// A closed stdout (`pifs params | head`) ends the process quietly, as it does other Unix tools,
/// instead of panicking in `println!` (Rust starts with SIGPIPE ignored).
fn exit_quietly_on_closed_pipe() {
    #[cfg(unix)]
    // SAFETY: called first in main, before any thread starts; restores the default action.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    exit_quietly_on_closed_pipe();
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
        Cmd::Compare(a) => compare_cmd::run_compare(*a),
        Cmd::Params(a) => compare_cmd::run_params(a),
        Cmd::Plan(a) => plan_cmd::run(*a),
        Cmd::Sweep(a) => sweep_cmd::run_sweep(*a),
        Cmd::Trace { cmd } => trace_cmd::run_trace(cmd).map_err(bad_input),
        Cmd::Tiers(a) => tiers_cmd::run(*a),
        Cmd::Hash(a) => hash_cmd::run(*a),
        Cmd::Scenario(a) => scenario_cmd::run(*a),
        Cmd::Checkpoints(a) => checkpoints_cmd::run(*a),
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
    let (trace, weights, name) = load_workload(&a.w).map_err(bad_input)?;
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
    let wave = a.wave.spec(a.ports)?;
    if wave.is_some() && matches!(a.backend, BackendArg::Model) {
        return Err(bad_input(anyhow!("--wave needs --backend rtl")));
    }
    let faults = a.faults.config();
    if let Some(f) = &faults {
        f.validate(0)
            .map_err(|e| bad_input(anyhow!("{}: {e}", fault_flag(&e))))?;
        if a.faults.compare_clean && f.poison_rate > 0.0 {
            return Err(bad_input(anyhow!(
                "--compare-clean with --poison-rate {}: poisoned bags are NaN on purpose, so the sums cannot equal the fault-free run's",
                f.poison_rate
            )));
        }
    }
    let cfg = RunConfig {
        backend: a.backend.into(),
        ports: a.ports,
        seed: a.w.seed,
        timing,
        res_ready_percent: a.res_ready,
        wave: wave.clone(),
        workload: name.clone(),
        faults,
        threads: a.jobs.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            |j| j as usize,
        ),
        row_format: a.row_format.unwrap_or(weights.format()),
        ..RunConfig::default()
    };
    if wave.is_some() && (a.ckpt.checkpoint.is_some() || a.ckpt.resume.is_some()) {
        return Err(bad_input(anyhow!(
            "--wave cannot be combined with --checkpoint or --resume (a resumed run would record only part of the waveform)"
        )));
    }
    if cfg.faults.is_some() && (a.ckpt.checkpoint.is_some() || a.ckpt.resume.is_some()) {
        return Err(bad_input(anyhow!(
            "--llr/--link-*/--poison-rate cannot be combined with --checkpoint or --resume (a checkpoint does not keep the per-link retry counters yet)"
        )));
    }
    let id = resume::Identity::of_process("run", std::slice::from_ref(&trace));
    let (loaded, mut writer) = a.ckpt.open(&id).map_err(bad_input)?;
    let done = match &loaded {
        Some(l) => {
            let st: resume_state::RunState =
                resume::from_bytes(&l.path, &l.state).map_err(bad_input)?;
            if st.ports.len() as u64 != l.units || st.ports.len() > a.ports {
                return Err(bad_input(anyhow!(
                    "{}: units: the header says {} port(s) done, the state holds {} of {}",
                    l.path.display(),
                    l.units,
                    st.ports.len(),
                    a.ports
                )));
            }
            eprintln!(
                "pifs: resuming from {} ({} of {} port(s) done)",
                l.path.display(),
                l.units,
                a.ports
            );
            st.ports.into_iter().map(|p| p.into_outcome()).collect()
        }
        None => Vec::new(),
    };
    eprintln!(
        "pifs: {name}: {} bags, {} lookups, dim {} on {} port(s), backend {}, seed {}",
        trace.num_bags(),
        trace.lookups(),
        weights.dim(),
        a.ports,
        cfg.backend.name(),
        a.w.seed
    );
    let mut ckpt_err = None;
    let total = a.ports as u64;
    let out = system::run_from(&trace, &weights, &cfg, done, |done| {
        let Some(w) = writer.as_mut() else {
            return Ok(());
        };
        w.maybe(done.len() as u64, total, || {
            let st = resume_state::RunState {
                ports: done.iter().map(resume_state::SavedPort::from).collect(),
            };
            Ok((resume::to_bytes(&st)?, Vec::new()))
        })
        .map_err(|e| {
            let msg = e.to_string();
            ckpt_err = Some(e);
            pifs_sim::SimError::Check(msg)
        })
    })
    .map_err(|e| match (ckpt_err.take(), e) {
        (Some(ce), _) => bad_input(ce),
        (None, e @ pifs_sim::SimError::Config(_)) => bad_input(anyhow!("{e}")),
        (None, e) => check_failed(anyhow!("{e}")),
    })?;
    if let Some(w) = &writer {
        eprintln!("pifs: {}", w.summary());
    }
    let wall = started.elapsed().as_secs_f64();
    let soak = if a.faults.compare_clean {
        let clean = system::run(
            &trace,
            &weights,
            &RunConfig {
                faults: None,
                wave: None,
                ..cfg.clone()
            },
        )
        .map_err(|e| check_failed(anyhow!("fault-free run: {e}")))?;
        let differ = out
            .pooled
            .iter()
            .zip(&clean.pooled)
            .filter(|(a, b)| a != b)
            .count();
        Some((differ, clean.stats.cycles))
    } else {
        None
    };

    let bound = if a.no_check {
        None
    } else {
        let mut reference = pifs_dlrm::pool_f64_in(&trace, &weights, cfg.row_format)
            .map_err(|e| bad_input(anyhow!("{e}")))?;
        // A poisoned bag is reported as poisoned (NaN), not compared as a number.
        for &b in &out.poisoned_bags {
            reference.sum[b * out.dim..(b + 1) * out.dim].fill(f64::NAN);
        }
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
    if let Some(lf) = &s.link_faults {
        println!("all    injected  detected  retry_req  retried  timeouts  discarded  escaped");
        for (name, l) in [("s2m", &lf.s2m), ("m2s", &lf.m2s)] {
            println!(
                "{name:<6} {:<9} {:<9} {:<10} {:<8} {:<9} {:<10} {}",
                l.injected,
                l.detected,
                l.retry_requests,
                l.retried,
                l.timeouts,
                l.discarded,
                l.escaped
            );
        }
    }
    if s.link_faults.is_some() {
        println!("port link  injected  detected  retry_req  retried  escaped");
        for p in &s.ports {
            if let Some(l) = &p.links {
                for (name, x) in [("s2m", &l.s2m), ("m2s", &l.m2s)] {
                    println!(
                        "{:<4} {name:<5} {:<9} {:<9} {:<10} {:<8} {}",
                        p.port, x.injected, x.detected, x.retry_requests, x.retried, x.escaped
                    );
                }
            }
        }
    }
    if !out.poisoned_bags.is_empty() {
        let shown: Vec<String> = out
            .poisoned_bags
            .iter()
            .take(20)
            .map(|b| b.to_string())
            .collect();
        println!(
            "poisoned   {} bag(s) summed a poisoned line, pooled as NaN: {}{}",
            out.poisoned_bags.len(),
            shown.join(" "),
            if out.poisoned_bags.len() > 20 {
                " ..."
            } else {
                ""
            }
        );
    }
    println!("wall       {wall:.2} s");
    if let Some(w) = &wave {
        let window = match w.to {
            Some(to) => format!("cycles {}..{to}", w.from),
            None => format!("cycles {}..end", w.from),
        };
        let save = w.save_file();
        let gtkwave = if save.is_file() {
            format!("; GTKWave: gtkwave {}", save.display())
        } else {
            String::new()
        };
        println!(
            "wave       {} (port {}, {window}{gtkwave})",
            w.path.display(),
            w.port
        );
    }
    if let (Some((differ, clean_cycles)), Some(lf)) = (soak, &s.link_faults) {
        let escaped = lf.s2m.escaped + lf.m2s.escaped;
        let injected = lf.s2m.injected + lf.m2s.injected;
        let retried = lf.s2m.retry_requests + lf.m2s.retry_requests;
        println!(
            "soak       {injected} faults injected, {retried} retries, {escaped} escaped; {} of {} pooled elements differ from the fault-free run ({clean_cycles} cycles without faults, {} with)",
            differ,
            out.pooled.len(),
            s.cycles
        );
        if escaped > 0 || differ > 0 {
            return Err(check_failed(anyhow!(
                "fault soak failed: {escaped} fault(s) escaped, {differ} pooled element(s) differ from the fault-free run"
            )));
        }
    }
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
    let res = f(&tmp)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(anyhow::Error::from))
        .with_context(|| format!("{}: cannot write", path.display()));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

fn decode(a: DecodeArgs) -> Result<(), Failure> {
    let (name, bytes) = if a.file == "-" {
        let mut s = Vec::new();
        std::io::stdin()
            .read_to_end(&mut s)
            .map_err(|e| bad_input(anyhow!("<stdin>: cannot read: {e}")))?;
        ("<stdin>".to_string(), s)
    } else {
        let s = std::fs::read(&a.file)
            .map_err(|e| bad_input(anyhow!("{}: cannot read: {e}", a.file)))?;
        (a.file.clone(), s)
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..at].iter().filter(|&&b| b == b'\n').count() + 1;
        bad_input(anyhow!(
            "{name}:{line}: not text (invalid UTF-8 at byte {at}), expected one flit per line as 132 hex characters"
        ))
    })?;
    let mut flits = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let f = Flit::from_hex(t).map_err(|e| bad_input(anyhow!("{name}:{}: {e}", n + 1)))?;
        flits.push(f);
    }
    if flits.is_empty() {
        return Err(bad_input(anyhow!(
            "{name}: no flits (the input is empty or holds only blank and '#' lines)"
        )));
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

fn parse_row_format(s: &str) -> Result<pifs_dlrm::RowFormat, String> {
    s.parse()
}
