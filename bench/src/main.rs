//! `pifs-bench` (run by `make bench`) measures the workbench's performance figures (Rust
//! co-simulation vs native C++ Verilator speed, cycles per flit, lookups per second, peak memory)
//! and prints them as `name=value` lines and a table.
//!
//! Usage: pifs-bench --native PATH [--pifs PATH] [--out DIR] [--seconds S] [--seed N]
//!   --native   the native harness binary (testbenches/native/build.sh prints its path)
//!   --pifs     the `pifs` tool (default: beside this binary)
//!   --out      folder for the stimulus file and the child runs' outputs (default out/bench)
//!   --seconds  target length of each timed run (default 2.5)
//!   --seed     seed of the stimulus values and packing and of the RM1 traces (default 1)
//! Internal: `pifs-bench --rss-of PROGRAM ARGS...` (see [`rss_of`]).

mod stimulus;

use anyhow::{anyhow, bail, Context, Result};
use pifs_dlrm::{IndexDist, Weights};
use pifs_rng::Rng;
use pifs_sim::model::ModelPort;
use pifs_sim::rtl::RtlPort;
use pifs_sim::system::{self, Backend, RunConfig};
use pifs_tb::{drive, random_bag, Scenario, Values};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;
use stimulus::{Recorder, Stimulus};

/// Cycles per window of the co-simulation replay: the run loop's step (`system::drive_port`
/// advances the ports in steps of min(device latency, 32) cycles, 32 with the default timing).
const STEP: u64 = 32;
/// Repetitions of each co-simulation speed measurement; the best counts.
const REPS: usize = 3;

struct Opts {
    native: PathBuf,
    pifs: PathBuf,
    out: PathBuf,
    seconds: f64,
    seed: u64,
}

fn parse_args() -> Result<Opts> {
    let mut native = None;
    let mut pifs = None;
    let mut out = PathBuf::from("out/bench");
    let mut seconds = 2.5;
    let mut seed = 1;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| anyhow!("{a}: missing value"));
        match a.as_str() {
            "--native" => native = Some(PathBuf::from(val()?)),
            "--pifs" => pifs = Some(PathBuf::from(val()?)),
            "--out" => out = PathBuf::from(val()?),
            "--seconds" => {
                seconds = val()?.parse().context("--seconds")?;
            }
            "--seed" => seed = val()?.parse().context("--seed")?,
            "-h" | "--help" => {
                println!("usage: pifs-bench --native PATH [--pifs PATH] [--out DIR] [--seconds S] [--seed N]");
                std::process::exit(0);
            }
            _ => bail!("unknown argument {a} (see --help)"),
        }
    }
    let native = native.ok_or_else(|| anyhow!("--native PATH is required"))?;
    let pifs = match pifs {
        Some(p) => p,
        None => std::env::current_exe()?
            .parent()
            .ok_or_else(|| anyhow!("no folder for the current executable"))?
            .join("pifs"),
    };
    Ok(Opts {
        native,
        pifs,
        out,
        seconds,
        seed,
    })
}

/// The figures, in print order: (name, value, unit / note for the table).
#[derive(Default)]
struct Report {
    lines: Vec<(String, String, String)>,
}

impl Report {
    fn add(&mut self, name: &str, value: String, note: impl Into<String>) {
        eprintln!("bench: {name}={value}");
        self.lines.push((name.to_string(), value, note.into()));
    }
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("pifs-bench: error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--rss-of") {
        return rss_of(&argv[2..]);
    }
    if argv.get(1).map(String::as_str) == Some("--replay-rep") {
        return replay_rep(&argv[2..]);
    }
    let o = parse_args()?;
    std::fs::create_dir_all(&o.out).with_context(|| format!("{}", o.out.display()))?;
    let wall = Instant::now();
    let mut rep = Report::default();
    let cpu = cpu_model();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let vl = pifs_sim::rtl::verilator_version();
    eprintln!("bench: {cores} cores, {cpu}, {vl}");

    line_rate(&mut rep)?;
    cosim_vs_native(&mut rep, &o)?;
    lookups(&mut rep, &o)?;
    peak_rss(&mut rep, &o)?;

    println!("machine={cores} cores, {cpu}");
    println!("verilator={vl}");
    for (n, v, _) in &rep.lines {
        println!("{n}={v}");
    }
    println!();
    println!("{:<28} {:>14}  note", "figure", "value");
    for (n, v, note) in &rep.lines {
        println!("{n:<28} {v:>14}  {note}");
    }
    println!(
        "(pifs-bench: {:.0} s; machine: {cores} cores, {cpu}; {vl})",
        wall.elapsed().as_secs_f64()
    );
    Ok(())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

/// Bags of `rows` rows of `lines` lines, plain values, responses in order and back to back.
fn scenario(seed: u64, bags: usize, rows: usize, lines: usize) -> Scenario {
    let mut rng = Rng::new(seed);
    Scenario {
        bags: (0..bags)
            .map(|_| random_bag(&mut rng, rows, lines, Values::Plain, 0.0))
            .collect(),
        seed,
        out_of_order: false,
        gap_chance: 0.0,
        res_ready_percent: 100,
    }
}

/// Cycles per DRS data flit at one port under back-to-back responses, per row size (the
/// snapshot test line_rate_per_row_size's scenarios: 2 bags of 128/lines rows).
fn line_rate(rep: &mut Report) -> Result<()> {
    for lines in [1usize, 2, 3, 4, 8] {
        let sc = scenario(5, 2, 128 / lines, lines);
        let mut rtl = RtlPort::new(sc.seed, None)?;
        let r = drive(&mut rtl, &sc)?;
        let m = drive(&mut ModelPort::new(), &sc)?;
        let diffs = pifs_tb::compare(&r, &m, true);
        if !diffs.is_empty() {
            bail!("line rate, {lines} lines: RTL and model differ: {diffs:?}");
        }
        let cpf = (r.flits + r.flit_stall_cycles) as f64 / r.flits as f64;
        rep.add(
            &format!("cycles_per_flit_lines{lines}"),
            format!("{cpf:.2}"),
            format!(
                "rows of {lines} line(s): {} flits, {} stall cycles (expected 1.00)",
                r.flits, r.flit_stall_cycles
            ),
        );
    }
    Ok(())
}

/// Record RM1-shaped pieces (32 rows x 2 lines, the run loop's piece size) through the RTL.
fn record(seed: u64, bags: usize) -> Result<(Stimulus, f64)> {
    let sc = scenario(seed, bags, 32, 2);
    let mut rec = Recorder {
        port: RtlPort::new(seed, None)?,
        stim: Stimulus::default(),
    };
    let t = Instant::now();
    let out = drive(&mut rec, &sc)?;
    let secs = t.elapsed().as_secs_f64();
    if out.cmd_errors + out.tag_errors + out.crc_errors + out.proto_errors > 0 {
        bail!("recording run reported port errors: {out:?}");
    }
    Ok((rec.stim, secs))
}

fn cosim_vs_native(rep: &mut Report, o: &Opts) -> Result<()> {
    // Size the stimulus so that one replay runs about o.seconds: time a replay of a short one.
    let probe_bags = 256;
    let (probe, _) = record(o.seed, probe_bags)?;
    let r = stimulus::replay(&probe, STEP, o.seed)?;
    let bags = ((o.seconds / r.seconds * probe_bags as f64) as usize).max(probe_bags);
    eprintln!(
        "bench: recording {bags} bags (probe: {} cycles replayed in {:.2} s)",
        probe.cycles, r.seconds
    );
    let (stim, rec_secs) = record(o.seed, bags)?;
    let path = o.out.join("stimulus.bin");
    stimulus::write(&stim, STEP, o.seed, &path).with_context(|| format!("{}", path.display()))?;
    eprintln!(
        "bench: stimulus: {} cycles, {} commands, {} flits ({:.1} MB) in {}; recorded in {rec_secs:.2} s",
        stim.cycles,
        stim.cmds.len(),
        stim.flits.len(),
        std::fs::metadata(&path)?.len() as f64 / 1e6,
        path.display()
    );

    // Alternate the two sides (Rust, native, Rust, ...) so that a change of machine load hits
    // both alike; the best repetition of each counts.
    let (mut best_rust, mut rust_secs) = (0f64, 0f64);
    let (mut best_native, mut native_secs) = (0f64, 0f64);
    let mut best_inproc = 0f64;
    for k in 0..REPS {
        // Rust co-simulation (RtlPort -> PortSim, pushes per window, run, take) in a fresh
        // process of its own, like the native harness: it reads the file, then times the loop.
        let (cps, secs) = rust_rep(&path, &stim)?;
        eprintln!("bench: cosim rep {k}: {secs:.3} s, {cps:.0} cycles/s");
        if cps > best_rust {
            (best_rust, rust_secs) = (cps, secs);
        }
        // Native C++ harness on the same file (it loads the file before timing).
        let (cps, secs) = native_rep(&o.native, &path, &stim)?;
        if cps > best_native {
            (best_native, native_secs) = (cps, secs);
        }
        // The same Rust replay inside this long-running process, for comparison.
        let r = stimulus::replay(&stim, STEP, o.seed)?;
        check_replay(&r, &stim)?;
        best_inproc = best_inproc.max(r.cycles as f64 / r.seconds);
    }
    rep.add(
        "cosim_cycles_per_s",
        format!("{best_rust:.0}"),
        format!(
            "Rust -> RtlPort -> PortSim, windows of {STEP} cycles, best of {REPS} ({:.2} s, {} cycles: {bags} bags of 32 rows x 2 lines)",
            rust_secs, stim.cycles
        ),
    );
    rep.add(
        "native_cycles_per_s",
        format!("{best_native:.0}"),
        format!("C++ main -> port_sim.cpp's PortSim, same model/flags/stimulus, best of {REPS} ({native_secs:.2} s)"),
    );
    rep.add(
        "cosim_vs_native",
        format!("{:.3}", best_rust / best_native),
        "cosim_cycles_per_s / native_cycles_per_s (1.0 = no binding overhead)",
    );
    rep.add(
        "cosim_inprocess_cycles_per_s",
        format!("{best_inproc:.0}"),
        "the Rust replay run inside pifs-bench itself after its other work, best of 3 (the same machine code runs slower in a long-lived process)",
    );
    Ok(())
}

/// A replay must give the recording's cycles and digests.
fn check_replay(r: &stimulus::Replay, stim: &Stimulus) -> Result<()> {
    if r.cycles != stim.cycles
        || r.results != stim.results
        || r.arrivals != stim.arrivals
        || r.result_count != stim.result_count
    {
        bail!(
            "Rust replay differs from the recording ({} vs {} cycles, {} vs {} results)",
            r.cycles,
            stim.cycles,
            r.result_count,
            stim.result_count
        );
    }
    Ok(())
}

/// `pifs-bench --replay-rep STIMULUS.bin`: one timed Rust replay of the file in this fresh
/// process; prints one line in the native harness's format (`rep=0 seconds=.. cycles=..
/// results=.. errors=.. digest=..`), errors being the port's error counters.
fn replay_rep(args: &[String]) -> Result<()> {
    let path = args
        .first()
        .ok_or_else(|| anyhow!("--replay-rep STIMULUS.bin"))?;
    let (stim, step, seed) = stimulus::read(Path::new(path)).with_context(|| path.clone())?;
    let r = stimulus::replay(&stim, step, seed)?;
    println!(
        "rep=0 seconds={} cycles={} results={} errors={} digest={:016x}{:016x}",
        r.seconds, r.cycles, r.result_count, r.errors, r.results.0, r.arrivals.0
    );
    Ok(())
}

/// One repetition of the Rust co-simulation in a child process (`--replay-rep`).
fn rust_rep(path: &Path, stim: &Stimulus) -> Result<(f64, f64)> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.arg("--replay-rep").arg(path);
    child_rep(cmd, "Rust replay", stim)
}

/// One repetition of the native harness on `path`.
fn native_rep(native: &Path, path: &Path, stim: &Stimulus) -> Result<(f64, f64)> {
    let mut cmd = Command::new(native);
    cmd.arg(path).args(["--reps", "1"]);
    child_rep(cmd, "native harness", stim)
}

/// Run one replay process, check its cycles, result count, errors and digests against the
/// recording and return (cycles per second, seconds).
fn child_rep(mut cmd: Command, who: &str, stim: &Stimulus) -> Result<(f64, f64)> {
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run the {who}"))?;
    if !out.status.success() {
        bail!("{who} failed ({})", out.status);
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("rep="))
        .ok_or_else(|| anyhow!("{who} printed no repetition:\n{text}"))?;
    let kv = |key: &str| -> Result<String> {
        line.split_whitespace()
            .find_map(|f| f.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .map(str::to_string)
            .ok_or_else(|| anyhow!("{who}: no {key} in `{line}`"))
    };
    let cycles: u64 = kv("cycles")?.parse()?;
    let results: u64 = kv("results")?.parse()?;
    let errors: u64 = kv("errors")?.parse()?;
    let digest = kv("digest")?;
    let seconds: f64 = kv("seconds")?.parse()?;
    let want = format!("{:016x}{:016x}", stim.results.0, stim.arrivals.0);
    if cycles != stim.cycles || results != stim.result_count || errors != 0 || digest != want {
        bail!(
            "{who} replay differs from the recording: `{line}` (want {} cycles, {} results, digest {want})",
            stim.cycles,
            stim.result_count
        );
    }
    eprintln!("bench: {who} {line}");
    Ok((cycles as f64 / seconds, seconds))
}

/// How RM1 is run for a lookups/s figure: the switch RTL (or its model) with its dispatcher, or
/// 8 separate port models (`pifs run`) on `threads` threads.
#[derive(Clone, Copy)]
enum Level {
    Switch,
    Ports { threads: usize },
}

/// One RM1 run at 8 ports, timed around the run loop (trace generation excluded): seconds,
/// lookups, cycles simulated (switch cycles at switch level, the sum over the ports otherwise).
fn rm1_run(backend: Backend, level: Level, batch: usize, seed: u64) -> Result<(f64, u64, u64)> {
    let p = pifs_dlrm::RM1;
    let trace = pifs_dlrm::generate(p.tables, p.rows, batch, p.lookups, IndexDist::Uniform, seed)?;
    let weights = Weights::Synthetic { dim: p.dim };
    let cfg = RunConfig {
        backend,
        ports: 8,
        seed,
        workload: "rm1".into(),
        threads: match level {
            Level::Switch => 1,
            Level::Ports { threads } => threads,
        },
        ..RunConfig::default()
    };
    let t = Instant::now();
    let out = match level {
        Level::Switch => pifs_sim::switch_run::run_switch(&trace, &weights, &cfg)?,
        Level::Ports { .. } => system::run(&trace, &weights, &cfg)?,
    };
    let secs = t.elapsed().as_secs_f64();
    let port_cycles = match level {
        Level::Switch => out.stats.cycles,
        Level::Ports { .. } => out.stats.ports.iter().map(|s| s.counters.cycles).sum(),
    };
    Ok((secs, out.stats.lookups, port_cycles))
}

fn lookups(rep: &mut Report, o: &Opts) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runs = [
        ("rtl_lookups_per_s", Backend::Rtl, Level::Switch, 4usize),
        ("model_lookups_per_s", Backend::Model, Level::Switch, 32),
        (
            "rtl_ports_lookups_per_s",
            Backend::Rtl,
            Level::Ports { threads: cores },
            8,
        ),
        (
            "rtl_ports_1thread_lookups_per_s",
            Backend::Rtl,
            Level::Ports { threads: 1 },
            8,
        ),
        (
            "model_ports_lookups_per_s",
            Backend::Model,
            Level::Ports { threads: cores },
            64,
        ),
        (
            "model_ports_1thread_lookups_per_s",
            Backend::Model,
            Level::Ports { threads: 1 },
            64,
        ),
    ];
    for (name, backend, level, probe) in runs {
        let (secs, _, _) = rm1_run(backend, level, probe, o.seed)?;
        let batch = ((o.seconds / secs * probe as f64) as usize).max(probe);
        let (secs, lookups, cycles) = rm1_run(backend, level, batch, o.seed)?;
        let what = match level {
            Level::Switch => {
                "the 8-port switch (dispatchers, ports, upstream) as one model".to_string()
            }
            Level::Ports { threads } => format!("8 separate port models on {threads} thread(s)"),
        };
        rep.add(
            name,
            format!("{:.0}", lookups as f64 / secs),
            format!("RM1 batch {batch}, {what}: {lookups} lookups in {secs:.2} s"),
        );
        if name == "rtl_lookups_per_s" {
            rep.add(
                "rtl_switch_cycles_per_s",
                format!("{:.0}", cycles as f64 / secs),
                format!("the same run: {cycles} switch cycles simulated per second"),
            );
        }
    }
    Ok(())
}

/// `pifs-bench --rss-of PROGRAM ARGS...`: run PROGRAM, print its peak RSS (`child_maxrss_kb`,
/// from wait4's rusage) and this process's own (`self_hwm_kb`), exit 1 if it failed.
///
/// The measuring process must be small: Rust spawns children with vfork semantics, and Linux
/// folds the peak RSS of the address space a child came from (the spawner's) into the child's
/// `ru_maxrss` at exec. Measured straight from the benchmark process (tens of MB of stimulus), a
/// 14 MB run reads as the benchmark's own peak. So the benchmark re-executes itself in this mode
/// (a fresh few-MB process) and reads the grandchild's figure: a floor of `self_hwm_kb`, never
/// more than the real peak.
fn rss_of(args: &[String]) -> Result<()> {
    let (prog, rest) = args
        .split_first()
        .ok_or_else(|| anyhow!("--rss-of: no program"))?;
    let self_hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let t = Instant::now();
    let child = Command::new(prog)
        .args(rest)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {prog}"))?;
    let mut status = 0;
    // SAFETY: rusage is plain data; wait4 fills it for this one child.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut ru) };
    if r < 0 {
        bail!("wait4: {}", std::io::Error::last_os_error());
    }
    println!(
        "child_maxrss_kb={} self_hwm_kb={self_hwm} wall_s={:.3} status={status}",
        ru.ru_maxrss,
        t.elapsed().as_secs_f64()
    );
    if !(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0) {
        bail!("{prog} failed (wait status {status:#x})");
    }
    Ok(())
}

/// Run `args` under `pifs-bench --rss-of`; returns (peak RSS kB, measurer's own kB, wall s).
fn child_peak_rss(args: &[std::ffi::OsString]) -> Result<(u64, u64, f64)> {
    let me = std::env::current_exe()?;
    let out = Command::new(&me)
        .arg("--rss-of")
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", me.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("peak-RSS child run failed: {text}");
    }
    let kv = |key: &str| -> Result<String> {
        text.split_whitespace()
            .find_map(|f| f.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .map(str::to_string)
            .ok_or_else(|| anyhow!("--rss-of printed no {key}: `{text}`"))
    };
    Ok((
        kv("child_maxrss_kb")?.parse()?,
        kv("self_hwm_kb")?.parse()?,
        kv("wall_s")?.parse()?,
    ))
}

/// Peak RSS of `pifs run` as `make run` runs it, at batch 4 (the default) and 40.
fn peak_rss(rep: &mut Report, o: &Opts) -> Result<()> {
    if !o.pifs.is_file() {
        bail!(
            "{}: no pifs binary (build it, or pass --pifs)",
            o.pifs.display()
        );
    }
    for batch in [4usize, 40] {
        let dir: &Path = &o.out;
        let args: Vec<std::ffi::OsString> = [
            o.pifs.clone().into_os_string(),
            "run".into(),
            "--model".into(),
            "rm1".into(),
            "--ports".into(),
            "1".into(),
            "--seed".into(),
            o.seed.to_string().into(),
            "--batch".into(),
            batch.to_string().into(),
            "--json".into(),
            dir.join(format!("rss_batch{batch}.json")).into_os_string(),
            "--pooled".into(),
            dir.join(format!("rss_batch{batch}.npy")).into_os_string(),
        ]
        .into();
        let (kb, floor, secs) = child_peak_rss(&args)?;
        let name = if batch == 40 {
            "peak_rss_mb".to_string()
        } else {
            format!("peak_rss_mb_batch{batch}")
        };
        rep.add(
            &name,
            format!("{:.1}", kb as f64 / 1024.0),
            format!(
                "`pifs run --model rm1 --batch {batch}` (make run's workload{}), ru_maxrss, {secs:.2} s wall (measurer {:.1} MB)",
                if batch == 4 { "" } else { " x 10" },
                floor as f64 / 1024.0
            ),
        );
    }
    Ok(())
}
