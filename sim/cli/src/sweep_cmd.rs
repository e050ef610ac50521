//! `pifs sweep`: `pifs compare` over a grid of parameters. Every point is one `pifs compare`
//! process (the same command a cluster job would run, printed in the output), run in parallel
//! on the local cores; the points' JSON reports are merged into one CSV and one JSON row per
//! point, and charts of the speedups against each swept parameter.

use crate::compare_cmd::SysArgs;
use crate::workload::{DistArg, WorkloadArgs};
use crate::{bad_input, check_failed, write_atomically, BackendArg, Failure};
use anyhow::anyhow;
use clap::{Args, ValueEnum};
use pifs_systems::config::{SysConfig, PARAMS};
use pifs_systems::plot;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Workload parameters a sweep may vary, besides any configuration key (`section.field`).
const WORKLOAD_KEYS: &[(&str, &str)] = &[
    ("ports", "downstream ports = memory devices (switch.ports)"),
    (
        "devices",
        "same as ports: one memory device per downstream port",
    ),
    ("pooling", "lookups per table per sample (--lookups)"),
    ("dim", "embedding dimension (--dim)"),
    ("batch", "samples per batch (--batch)"),
    ("alpha", "Zipf exponent (--dist zipf --alpha)"),
];

#[derive(Args)]
pub struct SweepArgs {
    #[command(flatten)]
    pub w: WorkloadArgs,
    #[command(flatten)]
    pub sys: SysArgs,
    /// A swept parameter and its values, e.g. --vary ports=2,4,8,16 (repeatable; the grid is
    /// every combination). Keys: ports, devices, pooling, dim, batch, alpha, or any key of
    /// `pifs params`.
    #[arg(
        long = "vary",
        value_name = "KEY=V1,V2,...",
        required_unless_present = "merge"
    )]
    pub vary: Vec<String>,
    /// Batches per point.
    #[arg(long, default_value_t = 2)]
    pub batches: usize,
    /// Port accumulator of PIFS-Rec (model: the fast reference model, for large sweeps).
    #[arg(long, value_enum, default_value_t = BackendArg::Model)]
    pub backend: BackendArg,
    /// Points run at once (default: the number of cores).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output folder: sweep.csv, sweep.json, points/NNNN.json, speedup_<key>.svg.
    #[arg(long, required_unless_present = "merge")]
    pub out: Option<PathBuf>,
    /// Do not run the points; write a cluster job instead (slurm: DIR/sweep.slurm, a job
    /// array of one task per point, DIR/merge.slurm and DIR/submit.sh; see docs/cluster.md).
    #[arg(long, value_enum)]
    pub emit: Option<EmitArg>,
    /// Merge the points a job array wrote into DIR (points/NNNN.json) into sweep.csv,
    /// sweep.json and the charts, as a local sweep does. Exit 2 if a point is missing.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["vary", "out", "emit"])]
    pub merge: Option<PathBuf>,
    /// Continue an interrupted sweep in --out DIR: points whose points/NNNN.json is complete are
    /// kept, the others (missing, half-written, unreadable) are run. The grid must be the one
    /// DIR/commands.txt holds.
    #[arg(long, conflicts_with_all = ["merge", "emit"])]
    pub resume: bool,
    /// Slurm: job name (#SBATCH --job-name; the merge job gets "-merge" appended)
    /// [default: pifs-sweep].
    #[arg(long)]
    pub slurm_job_name: Option<String>,
    /// Slurm: time limit of one task (#SBATCH --time, e.g. 30, 2:00:00, 1-00:00:00)
    /// [default: 01:00:00].
    #[arg(long)]
    pub slurm_time: Option<String>,
    /// Slurm: memory of one task (#SBATCH --mem, e.g. 500M, 4G) [default: 2G].
    #[arg(long)]
    pub slurm_mem: Option<String>,
    /// Slurm: at most this many tasks running at once (the %N of #SBATCH --array).
    #[arg(long)]
    pub slurm_max_parallel: Option<usize>,
    /// Slurm: partition (#SBATCH --partition); the cluster's default if absent.
    #[arg(long)]
    pub slurm_partition: Option<String>,
    /// Slurm: account (#SBATCH --account); the user's default if absent.
    #[arg(long)]
    pub slurm_account: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum EmitArg {
    /// A Slurm job array (sbatch), one task per point, and a merge job.
    Slurm,
}

struct Axis {
    key: String,
    values: Vec<String>,
}

fn parse_axis(s: &str) -> anyhow::Result<Axis> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| anyhow!("--vary {s}: expected KEY=V1,V2,..."))?;
    let key = k.trim().to_string();
    let known = WORKLOAD_KEYS.iter().any(|(w, _)| *w == key) || PARAMS.iter().any(|p| p.key == key);
    if !known {
        let w: Vec<_> = WORKLOAD_KEYS.iter().map(|(k, _)| *k).collect();
        return Err(anyhow!(
            "--vary {s}: unknown key {key} (one of {}, or a key of pifs params)",
            w.join(", ")
        ));
    }
    let values: Vec<String> = v.split(',').map(|x| x.trim().to_string()).collect();
    if values.iter().any(|x| x.is_empty()) {
        return Err(anyhow!("--vary {s}: empty value"));
    }
    // Workload axes are numbers; configuration keys are checked by SysConfig::set.
    if WORKLOAD_KEYS.iter().any(|(w, _)| *w == key) {
        if let Some(x) = values.iter().find(|x| x.parse::<f64>().is_err()) {
            return Err(anyhow!("--vary {s}: {x} is not a number"));
        }
    }
    Ok(Axis { key, values })
}

/// A path as an absolute path (the commands run on cluster nodes, from any folder).
fn abs(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}

/// The `pifs compare` arguments of one point (without the program name).
fn point_args(a: &SweepArgs, point: &[(String, String)], json: &Path) -> Vec<String> {
    let w = &a.w;
    let get = |k: &str| point.iter().find(|(pk, _)| pk == k).map(|(_, v)| v.clone());
    let mut v: Vec<String> = vec!["compare".into()];
    let mut push = |k: &str, x: String| {
        v.push(format!("--{k}"));
        v.push(x);
    };
    if let Some(t) = &w.trace {
        push("trace", abs(t));
    }
    if let Some(m) = &w.model {
        push("model", m.clone());
    }
    for (k, x) in [
        ("num-tables", w.num_tables.map(|x| x.to_string())),
        ("tables", w.tables.clone()),
        ("samples", w.samples.clone()),
        ("rows", w.rows.map(|x| x.to_string())),
        ("weights", w.weights.as_deref().map(abs)),
        ("profile", w.profile.as_deref().map(abs)),
    ] {
        if let Some(x) = x {
            push(k, x);
        }
    }
    if let Some(x) = get("dim").or(w.dim.map(|d| d.to_string())) {
        push("dim", x);
    }
    if let Some(x) = get("pooling").or(w.lookups.map(|d| d.to_string())) {
        push("lookups", x);
    }
    push("batch", get("batch").unwrap_or(w.batch.to_string()));
    let alpha = get("alpha");
    let dist = if alpha.is_some() {
        "zipf"
    } else {
        match w.dist {
            DistArg::Uniform => "uniform",
            DistArg::Zipf => "zipf",
            DistArg::Lru => "lru",
        }
    };
    push("dist", dist.into());
    push("alpha", alpha.unwrap_or(w.alpha.to_string()));
    push("seed", w.seed.to_string());
    if let Some(c) = &a.sys.config {
        push("config", abs(c));
    }
    if let Some(p) = &a.sys.preset {
        push("preset", p.clone());
    }
    for s in &a.sys.set {
        push("set", s.clone());
    }
    for (k, x) in point {
        match k.as_str() {
            "ports" | "devices" => push("set", format!("switch.ports={x}")),
            "dim" | "pooling" | "batch" | "alpha" => {}
            _ => push("set", format!("{k}={x}")),
        }
    }
    push("batches", a.batches.to_string());
    push("backend", a.backend.name().into());
    push("json", json.display().to_string());
    v
}

fn shell_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=,:".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

pub fn run_sweep(a: SweepArgs) -> Result<(), Failure> {
    let started = Instant::now();
    if let Some(dir) = &a.merge {
        return merge_dir(dir, started);
    }
    // Validate everything up front: the axes, the configuration with every --set.
    let axes: Vec<Axis> = a
        .vary
        .iter()
        .map(|s| parse_axis(s))
        .collect::<anyhow::Result<_>>()
        .map_err(bad_input)?;
    let base = a.sys.load().map_err(bad_input)?;
    for ax in &axes {
        if PARAMS.iter().any(|p| p.key == ax.key) {
            for x in &ax.values {
                let mut c: SysConfig = base.clone();
                c.set(&format!("{}={x}", ax.key))
                    .map_err(|e| bad_input(anyhow!(e)))?;
            }
        }
    }
    if a.w.model.is_none()
        && axes
            .iter()
            .any(|x| ["pooling", "batch", "alpha"].contains(&x.key.as_str()))
    {
        return Err(bad_input(anyhow!(
            "--vary pooling/batch/alpha needs --model (a trace file fixes them)"
        )));
    }
    let points = grid(&axes);
    if points.len() > 10_000 {
        return Err(bad_input(anyhow!("{} points: at most 10000", points.len())));
    }
    // Absolute, so that the commands run from any folder (a cluster task starts elsewhere).
    let out = a
        .out
        .as_deref()
        .expect("clap: --out is required without --merge");
    let out = std::path::absolute(out).map_err(|e| bad_input(anyhow!("{}: {e}", out.display())))?;
    let slurm = match a.emit {
        Some(EmitArg::Slurm) => Some(SlurmOpts::new(&a, &out).map_err(bad_input)?),
        None => {
            let given = [
                ("job-name", a.slurm_job_name.is_some()),
                ("time", a.slurm_time.is_some()),
                ("mem", a.slurm_mem.is_some()),
                ("max-parallel", a.slurm_max_parallel.is_some()),
                ("partition", a.slurm_partition.is_some()),
                ("account", a.slurm_account.is_some()),
            ];
            if let Some((k, _)) = given.iter().find(|(_, g)| *g) {
                return Err(bad_input(anyhow!("--slurm-{k} needs --emit slurm")));
            }
            None
        }
    };
    let dir = out.join("points");
    let exe = std::env::current_exe().map_err(|e| bad_input(anyhow!("cannot find pifs: {e}")))?;
    let cmds: Vec<Vec<String>> = points
        .iter()
        .enumerate()
        .map(|(i, p)| point_args(&a, p, &dir.join(point_file(i))))
        .collect();
    // The per-point commands, for replay or a cluster array (task i runs line i + 1).
    let script: String = cmds
        .iter()
        .map(|args| {
            let mut s = String::from("pifs");
            for x in args {
                s.push(' ');
                s += &shell_quote(x);
            }
            s + "\n"
        })
        .collect();
    if a.resume {
        let path = out.join("commands.txt");
        match std::fs::read_to_string(&path) {
            Ok(old) if old == script => {}
            Ok(_) => {
                return Err(bad_input(anyhow!(
                    "{}: --resume: the folder holds a sweep of another grid or other options (its commands differ from this command's); rerun without --resume to start over",
                    path.display()
                )))
            }
            Err(e) => {
                return Err(bad_input(anyhow!(
                    "{}: --resume: cannot read ({e}): no sweep to resume in {}",
                    path.display(),
                    out.display()
                )))
            }
        }
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| bad_input(anyhow!("{}: cannot create: {e}", dir.display())))?;
    remove_stale(&out, &script).map_err(bad_input)?;
    let grid_doc = serde_json::json!({
        "points": points.len(),
        "axes": axes
            .iter()
            .map(|x| serde_json::json!({"key": x.key, "values": x.values}))
            .collect::<Vec<_>>(),
    });
    let write = |name: &str, text: &str| {
        write_atomically(&out.join(name), |tmp| {
            std::fs::write(tmp, text).map_err(|e| anyhow!("{e}"))
        })
        .map_err(bad_input)
    };
    write("commands.txt", &script)?;
    write(
        "grid.json",
        &serde_json::to_string_pretty(&grid_doc).unwrap(),
    )?;
    if let Some(s) = slurm {
        return emit_slurm(&s, &out, points.len(), &exe).map_err(bad_input);
    }

    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 256);
    eprintln!(
        "pifs sweep: {} point(s) x 4 systems, {jobs} at a time, backend {}, seed {}",
        points.len(),
        a.backend.name(),
        a.w.seed
    );
    // Points to run: all, or with --resume those without a complete result.
    let todo: Vec<usize> = (0..cmds.len())
        .filter(|&i| !(a.resume && point_complete(&dir.join(point_file(i)))))
        .collect();
    if a.resume {
        eprintln!(
            "pifs sweep: resuming: {} of {} point(s) already done, running {}",
            cmds.len() - todo.len(),
            cmds.len(),
            todo.len()
        );
    }
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let total = todo.len();
    std::thread::scope(|s| {
        for _ in 0..jobs.min(total) {
            s.spawn(|| loop {
                let j = next.fetch_add(1, Ordering::SeqCst);
                if j >= total {
                    break;
                }
                let i = todo[j];
                let mut cmd = Command::new(&exe);
                cmd.args(&cmds[i]);
                die_with_parent(&mut cmd);
                let out = cmd.output();
                let ok = matches!(&out, Ok(o) if o.status.success());
                if !ok {
                    let why = match &out {
                        Ok(o) => String::from_utf8_lossy(&o.stderr)
                            .lines()
                            .rev()
                            .find(|l| l.contains("error"))
                            .unwrap_or("failed")
                            .to_string(),
                        Err(e) => e.to_string(),
                    };
                    failures.lock().unwrap().push(format!("point {i}: {why}"));
                }
                let d = done.fetch_add(1, Ordering::SeqCst) + 1;
                let bar = 30 * d / total;
                eprint!(
                    "\r[{}{}] {d}/{total} points, {:.0} s ",
                    "#".repeat(bar),
                    " ".repeat(30 - bar),
                    started.elapsed().as_secs_f64()
                );
            });
        }
    });
    eprintln!();
    let failures = failures.into_inner().unwrap();
    if let Some(f) = failures.first() {
        return Err(check_failed(anyhow!(
            "{} of {total} points failed; first: {f} (commands in {}/commands.txt)",
            failures.len(),
            out.display()
        )));
    }
    finish(&out, &axes, points.len(), started)
}

/// A point's result is complete: its JSON parses and holds every figure the merge reads. A
/// point killed while writing leaves only `NNNN.json.partial` (written, then renamed), but a
/// damaged or truncated file is caught here too and the point is run again.
fn point_complete(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    COLUMNS
        .iter()
        .all(|(_, ptr, _)| doc.pointer(ptr).is_some_and(|v| v.is_number()))
}

/// A point's process dies with the sweep (Linux: the parent-death signal), so that a killed
/// sweep leaves no point running, to race the resumed sweep for its file.
fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// Every combination of the axes' values, the first axis varying slowest.
fn grid(axes: &[Axis]) -> Vec<Vec<(String, String)>> {
    let mut points: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for ax in axes {
        points = points
            .into_iter()
            .flat_map(|p| {
                ax.values.iter().map(move |x| {
                    let mut q = p.clone();
                    q.push((ax.key.clone(), x.clone()));
                    q
                })
            })
            .collect();
    }
    points
}

fn point_file(i: usize) -> String {
    format!("{i:04}.json")
}

/// Merge, print the table and where the files went.
fn finish(out: &Path, axes: &[Axis], n: usize, started: Instant) -> Result<(), Failure> {
    let rows = merge(out, axes, n)?;
    print!("{}", summary(axes, &rows));
    println!(
        "wrote {}/sweep.csv, sweep.json, speedup_*.svg; wall {:.1} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `pifs sweep --merge DIR`: the grid from DIR/grid.json, the points from DIR/points.
fn merge_dir(dir: &Path, started: Instant) -> Result<(), Failure> {
    let path = dir.join("grid.json");
    let text = std::fs::read_to_string(&path).map_err(|e| {
        bad_input(anyhow!(
            "{}: cannot read ({e}); it is written by pifs sweep --out {}",
            path.display(),
            dir.display()
        ))
    })?;
    let (axes, n) = parse_grid(&text)
        .map_err(|e| bad_input(anyhow!("{}: {e} (not a pifs sweep grid)", path.display())))?;
    finish(dir, &axes, n, started)
}

/// The axes and point count of a grid.json; the error names the field at fault.
fn parse_grid(text: &str) -> Result<(Vec<Axis>, usize), String> {
    if text.trim().is_empty() {
        return Err("empty file".into());
    }
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let n = doc
        .get("points")
        .ok_or("points: missing")?
        .as_u64()
        .and_then(|n| usize::try_from(n).ok())
        .ok_or("points: not a non-negative integer")?;
    let axes = doc
        .get("axes")
        .ok_or("axes: missing")?
        .as_array()
        .ok_or("axes: not a list")?
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let key = x
                .get("key")
                .and_then(|k| k.as_str())
                .ok_or(format!("axes[{i}].key: missing or not a string"))?;
            let values = x
                .get("values")
                .and_then(|v| v.as_array())
                .and_then(|v| {
                    v.iter()
                        .map(|v| v.as_str().map(String::from))
                        .collect::<Option<Vec<_>>>()
                })
                .filter(|v| !v.is_empty())
                .ok_or(format!(
                    "axes[{i}].values: missing, empty or not a list of strings"
                ))?;
            Ok(Axis {
                key: key.to_string(),
                values,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let combos = axes
        .iter()
        .try_fold(1usize, |acc, a| acc.checked_mul(a.values.len()));
    if combos != Some(n) {
        let combos = combos.map_or("too many".to_string(), |c| c.to_string());
        return Err(format!(
            "points: {n}, but the axes give {combos} combination(s)"
        ));
    }
    Ok((axes, n))
}

/// A new grid's commands differ from the folder's: remove the old points and merged results,
/// so that a merge cannot take a point of the earlier sweep for one of this one.
fn remove_stale(out: &Path, script: &str) -> anyhow::Result<()> {
    match std::fs::read_to_string(out.join("commands.txt")) {
        Ok(old) if old == script => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        _ => {}
    }
    let names = [
        "sweep.csv",
        "sweep.json",
        "grid.json",
        "sweep.slurm",
        "merge.slurm",
        "submit.sh",
    ];
    let mut stale: Vec<PathBuf> = names.iter().map(|n| out.join(n)).collect();
    let listed = |d: &Path, keep: &dyn Fn(&str) -> bool| -> Vec<PathBuf> {
        std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| keep(&e.file_name().to_string_lossy()))
            .map(|e| e.path())
            .collect()
    };
    stale.extend(listed(out, &|n| {
        n.starts_with("speedup_") && n.ends_with(".svg")
    }));
    stale.extend(listed(&out.join("points"), &|n| {
        n.strip_suffix(".json")
            .is_some_and(|d| d.len() >= 4 && d.bytes().all(|b| b.is_ascii_digit()))
    }));
    for p in stale {
        match std::fs::remove_file(&p) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(anyhow!(
                    "{}: cannot remove a stale result: {e}",
                    p.display()
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// The `#SBATCH` settings of an emitted job, checked.
struct SlurmOpts {
    job_name: String,
    time: String,
    mem: String,
    max_parallel: Option<usize>,
    partition: Option<String>,
    account: Option<String>,
}

impl SlurmOpts {
    fn new(a: &SweepArgs, out: &Path) -> anyhow::Result<SlurmOpts> {
        let check = |flag: &str, v: &str, ok: &dyn Fn(char) -> bool| {
            if v.is_empty() || !v.chars().all(ok) {
                Err(anyhow!("--{flag} {v:?}: not a valid Slurm value"))
            } else {
                Ok(v.to_string())
            }
        };
        let name = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
        let list = |c: char| c.is_ascii_alphanumeric() || "-_.,".contains(c);
        let mem_arg = a.slurm_mem.as_deref().unwrap_or("2G");
        let mem = mem_arg
            .strip_suffix(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't'])
            .unwrap_or(mem_arg);
        check("slurm-mem", mem, &|c| c.is_ascii_digit())
            .map_err(|_| anyhow!("--slurm-mem {mem_arg}: expected e.g. 2G or 500M"))?;
        if a.slurm_max_parallel == Some(0) {
            return Err(anyhow!("--slurm-max-parallel 0: at least 1"));
        }
        // The log paths go into #SBATCH lines, which sbatch does not unquote; % is a pattern.
        let o = out.display().to_string();
        if let Some(c) = o
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || "%\"'\\$`".contains(*c))
        {
            return Err(anyhow!(
                "--out {o}: the character {c:?} cannot go into an #SBATCH line; choose another folder"
            ));
        }
        Ok(SlurmOpts {
            job_name: check(
                "slurm-job-name",
                a.slurm_job_name.as_deref().unwrap_or("pifs-sweep"),
                &name,
            )?,
            time: check(
                "slurm-time",
                a.slurm_time.as_deref().unwrap_or("01:00:00"),
                &|c| c.is_ascii_digit() || ":-".contains(c),
            )?,
            mem: mem_arg.to_string(),
            max_parallel: a.slurm_max_parallel,
            partition: a
                .slurm_partition
                .as_deref()
                .map(|v| check("slurm-partition", v, &list))
                .transpose()?,
            account: a
                .slurm_account
                .as_deref()
                .map(|v| check("slurm-account", v, &name))
                .transpose()?,
        })
    }

    /// The #SBATCH lines both jobs share.
    fn common(&self) -> String {
        let mut s = String::new();
        for (k, v) in [("partition", &self.partition), ("account", &self.account)] {
            if let Some(v) = v {
                s += &format!("#SBATCH --{k}={v}\n");
            }
        }
        s
    }
}

/// Write DIR/sweep.slurm (the array: task i runs line i + 1 of commands.txt), DIR/merge.slurm
/// (`pifs sweep --merge DIR`) and DIR/submit.sh (the array, then the merge with afterok).
fn emit_slurm(s: &SlurmOpts, out: &Path, n: usize, exe: &Path) -> anyhow::Result<()> {
    let logs = out.join("logs");
    std::fs::create_dir_all(&logs)
        .map_err(|e| anyhow!("{}: cannot create: {e}", logs.display()))?;
    let d = out.display().to_string();
    let qd = shell_quote(&d);
    let qexe = shell_quote(&exe.display().to_string());
    let last = n - 1;
    let limit = s.max_parallel.map_or(String::new(), |m| format!("%{m}"));
    let array = format!(
        r#"#!/bin/bash
# pifs sweep: {n} point(s), one Slurm array task per point (written by pifs sweep --emit slurm).
# Task i runs line i+1 of {d}/commands.txt, the command a local pifs sweep runs for
# point i; it writes {d}/points/NNNN.json (NNNN = i).
#
#   submit the array and the merge:  bash {d}/submit.sh [sbatch options for both]
#   or by hand:                      sbatch {d}/sweep.slurm
#                                    sbatch --dependency=afterok:<jobid> {d}/merge.slurm
#   rerun tasks 3 and 7:             sbatch --array=3,7 {d}/sweep.slurm
#   run task 0 here, without Slurm:  SLURM_ARRAY_TASK_ID=0 bash {d}/sweep.slurm
#
# Environment: PIFS_BIN          the pifs binary (default {exe}); set it if the
#                                nodes see the binary under another path
#              PIFS_TASK_OFFSET  added to SLURM_ARRAY_TASK_ID (for arrays longer than the
#                                cluster's MaxArraySize, submitted in pieces)
# Options given to sbatch (or SBATCH_* variables) override the #SBATCH lines below.
#SBATCH --job-name={name}
#SBATCH --array=0-{last}{limit}
#SBATCH --output={d}/logs/%x_%A_%a.out
#SBATCH --time={time}
#SBATCH --cpus-per-task=1
#SBATCH --mem={mem}
{common}set -euo pipefail
dir={qd}
default_bin={qexe}
pifs_bin="${{PIFS_BIN:-$default_bin}}"
points={n}
id="${{SLURM_ARRAY_TASK_ID:?not set: submit with sbatch, or set it to a point, 0..{last}}}"
offset="${{PIFS_TASK_OFFSET:-0}}"
for v in "$id" "$offset"; do
  case "$v" in
    '' | *[!0-9]*) echo "pifs sweep task: SLURM_ARRAY_TASK_ID=$id and PIFS_TASK_OFFSET=$offset must be numbers" >&2; exit 2 ;;
  esac
done
task=$((10#$id + 10#$offset))
if [ "$task" -ge "$points" ]; then
  echo "pifs sweep task $task: no such point (0..{last})" >&2
  exit 2
fi
line=$(sed -n "$((task + 1))p" "$dir/commands.txt")
eval "set -- $line"
if [ "${{1:-}}" != pifs ]; then
  echo "pifs sweep task $task: line $((task + 1)) of $dir/commands.txt is not a pifs command" >&2
  exit 2
fi
shift
echo "pifs sweep task $task of $points on ${{HOSTNAME:-?}}: $line" >&2
exec "$pifs_bin" "$@"
"#,
        exe = exe.display(),
        name = s.job_name,
        time = s.time,
        mem = s.mem,
        common = s.common(),
    );
    let merge = format!(
        r#"#!/bin/bash
# pifs sweep: merge {d}/points/NNNN.json into sweep.csv, sweep.json and speedup_<key>.svg
# (pifs sweep --merge). Submit it after the array: sbatch --dependency=afterok:<jobid> {d}/merge.slurm
# or run it here: bash {d}/merge.slurm. It fails (exit 2) naming the missing points if a task
# did not finish. Environment: PIFS_BIN, the pifs binary (default {exe}).
#SBATCH --job-name={name}-merge
#SBATCH --output={d}/logs/%x_%j.out
#SBATCH --time=00:15:00
#SBATCH --cpus-per-task=1
#SBATCH --mem={mem}
{common}set -euo pipefail
default_bin={qexe}
exec "${{PIFS_BIN:-$default_bin}}" sweep --merge {qd}
"#,
        exe = exe.display(),
        name = s.job_name,
        mem = s.mem,
        common = s.common(),
    );
    let submit = format!(
        r#"#!/bin/bash
# Submit {d}/sweep.slurm ({n} tasks), then {d}/merge.slurm to start once every task
# succeeded (--dependency=afterok). Arguments go to both sbatch calls, e.g. --qos=short.
set -euo pipefail
dir={qd}
array=$(sbatch --parsable "$@" "$dir/sweep.slurm")
array=${{array%%;*}}
merge=$(sbatch --parsable --dependency="afterok:$array" "$@" "$dir/merge.slurm")
merge=${{merge%%;*}}
echo "array job $array: {n} task(s), logs in $dir/logs/"
echo "merge job $merge: starts when every task succeeded; writes $dir/sweep.csv, sweep.json, speedup_*.svg"
echo "a failed task leaves the merge job pending for ever: scancel $merge, rerun the task, then merge (docs/cluster.md)"
"#
    );
    for (file, text) in [
        ("sweep.slurm", array),
        ("merge.slurm", merge),
        ("submit.sh", submit),
    ] {
        let path = out.join(file);
        write_atomically(&path, |tmp| {
            std::fs::write(tmp, &text)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(tmp, std::fs::Permissions::from_mode(0o755))?;
            }
            Ok(())
        })?;
    }
    println!(
        "wrote {d}/commands.txt, sweep.slurm ({n} array task(s)), merge.slurm, submit.sh\n\
         submit: bash {d}/submit.sh   (or sbatch {d}/sweep.slurm, then \
         sbatch --dependency=afterok:<jobid> {d}/merge.slurm)"
    );
    Ok(())
}

/// One merged row: the point's values, each system's mean latency, energy and power, and the
/// speedups.
type Row = (Vec<String>, Vec<(String, f64)>);

/// CSV/JSON column, JSON pointer into the point's compare report, and the factor to the
/// column's unit (energy per batch in uJ; power in W).
const COLUMNS: &[(&str, &str, f64)] = &[
    ("pond_ns", "/systems/pond/latency_ns/mean", 1.0),
    ("beacon_d_ns", "/systems/beacon-d/latency_ns/mean", 1.0),
    ("beacon_s_ns", "/systems/beacon-s/latency_ns/mean", 1.0),
    ("pifs_ns", "/systems/pifs/latency_ns/mean", 1.0),
    ("pifs_over_pond", "/speedup/pifs_over_pond", 1.0),
    ("pifs_over_beacon", "/speedup/pifs_over_beacon", 1.0),
    (
        "upstream_pond_over_pifs",
        "/upstream_reduction_pond_over_pifs",
        1.0,
    ),
    ("pond_uj", "/systems/pond/energy_j/total_j", 1e6),
    ("beacon_d_uj", "/systems/beacon-d/energy_j/total_j", 1e6),
    ("beacon_s_uj", "/systems/beacon-s/energy_j/total_j", 1e6),
    ("pifs_uj", "/systems/pifs/energy_j/total_j", 1e6),
    ("pond_w", "/systems/pond/avg_power_w", 1.0),
    ("beacon_d_w", "/systems/beacon-d/avg_power_w", 1.0),
    ("beacon_s_w", "/systems/beacon-s/avg_power_w", 1.0),
    ("pifs_w", "/systems/pifs/avg_power_w", 1.0),
];

/// Sorted point ids as sbatch's `--array` takes them: runs as ranges, `0-3,7,9-12`.
fn id_ranges(ids: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        parts.push(if j == i {
            ids[i].to_string()
        } else {
            format!("{}-{}", ids[i], ids[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

/// Read every point's JSON and write sweep.csv, sweep.json and the charts: after a local run,
/// and for `pifs sweep --merge` after a cluster array (each task wrote points/NNNN.json).
/// Nothing is written unless every point is there (exit 2 naming the missing ones) and every
/// point's sums are within the bound (exit 1), as a local sweep stops on a failed point.
fn merge(out: &Path, axes: &[Axis], n: usize) -> Result<Vec<Row>, Failure> {
    let paths: Vec<PathBuf> = (0..n)
        .map(|i| out.join("points").join(point_file(i)))
        .collect();
    let missing: Vec<usize> = (0..n).filter(|&i| !paths[i].exists()).collect();
    if !missing.is_empty() {
        let ids = id_ranges(&missing);
        let rerun = if out.join("sweep.slurm").exists() {
            format!("sbatch --array={ids} {}/sweep.slurm", out.display())
        } else {
            format!("their lines (point + 1) of {}/commands.txt", out.display())
        };
        return Err(bad_input(anyhow!(
            "{}: {} of {n} points missing (no points/NNNN.json for point {ids}); nothing merged; \
             rerun them ({rerun}), then pifs sweep --merge {}",
            out.display(),
            missing.len(),
            out.display()
        )));
    }
    let mut rows = Vec::with_capacity(n);
    let mut out_of_bound = Vec::new();
    for ((i, values), path) in grid(axes).into_iter().enumerate().zip(&paths) {
        let values: Vec<String> = values.into_iter().map(|(_, v)| v).collect();
        let text = std::fs::read_to_string(path)
            .map_err(|e| bad_input(anyhow!("{}: cannot read: {e}", path.display())))?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| bad_input(anyhow!("{}: not JSON: {e}", path.display())))?;
        let cols = COLUMNS
            .iter()
            .map(|(name, ptr, scale)| {
                let v = doc
                    .pointer(ptr)
                    .ok_or_else(|| anyhow!("{}: {ptr}: missing", path.display()))?;
                let v = v
                    .as_f64()
                    .ok_or_else(|| anyhow!("{}: {ptr}: {v} is not a number", path.display()))?;
                if !(v.is_finite() && v >= 0.0) {
                    return Err(anyhow!(
                        "{}: {ptr}: {v} is out of range (a latency, ratio, energy or power, >= 0)",
                        path.display()
                    ));
                }
                Ok((name.to_string(), v * scale))
            })
            .collect::<anyhow::Result<Vec<_>>>()
            .map_err(bad_input)?;
        let sums_ok = doc["systems"]
            .as_object()
            .is_some_and(|m| m.values().all(|s| s["sums_within_bound"] == true));
        if !sums_ok {
            out_of_bound.push(i.to_string());
        }
        rows.push((values, cols));
    }
    if !out_of_bound.is_empty() {
        return Err(check_failed(anyhow!(
            "{}: point(s) {} have a pooled output outside the float64 bound; nothing merged",
            out.display(),
            out_of_bound.join(",")
        )));
    }
    let mut csv: String = axes
        .iter()
        .map(|a| a.key.clone())
        .chain(COLUMNS.iter().map(|c| c.0.to_string()))
        .collect::<Vec<_>>()
        .join(",");
    csv.push('\n');
    let mut json = Vec::new();
    for (vals, cols) in &rows {
        let line: Vec<String> = vals
            .iter()
            .cloned()
            .chain(cols.iter().map(|(_, v)| format!("{v:.4}")))
            .collect();
        csv += &line.join(",");
        csv.push('\n');
        let mut o = serde_json::Map::new();
        for (ax, v) in axes.iter().zip(vals) {
            o.insert(
                ax.key.clone(),
                serde_json::json!(v
                    .parse::<f64>()
                    .ok()
                    .map_or(serde_json::json!(v), |x| serde_json::json!(x))),
            );
        }
        for (k, v) in cols {
            o.insert(k.clone(), serde_json::json!(v));
        }
        json.push(serde_json::Value::Object(o));
    }
    let w = |name: &str, text: String| {
        write_atomically(&out.join(name), |tmp| {
            std::fs::write(tmp, &text).map_err(|e| anyhow!("{e}"))
        })
        .map_err(bad_input)
    };
    w("sweep.csv", csv)?;
    w("sweep.json", serde_json::to_string_pretty(&json).unwrap())?;
    // Charts: speedup against each axis, the other axes at their first value.
    for (k, ax) in axes.iter().enumerate() {
        let pts: Vec<&Row> = rows
            .iter()
            .filter(|(v, _)| {
                v.iter()
                    .enumerate()
                    .all(|(j, x)| j == k || *x == axes[j].values[0])
            })
            .collect();
        let xs: Vec<f64> = pts
            .iter()
            .map(|(v, _)| v[k].parse().unwrap_or(0.0))
            .collect();
        let series: Vec<(String, Vec<f64>)> = ["pifs_over_pond", "pifs_over_beacon"]
            .iter()
            .map(|s| {
                let ys = pts
                    .iter()
                    .map(|(_, c)| c.iter().find(|(n, _)| n == s).map_or(0.0, |x| x.1))
                    .collect();
                (s.to_string(), ys)
            })
            .collect();
        let svg = plot::lines(
            &format!("PIFS-Rec speedup vs {}", ax.key),
            &ax.key,
            "speedup (x)",
            &xs,
            &series,
        );
        w(&format!("speedup_{}.svg", ax.key.replace('.', "_")), svg)?;
    }
    Ok(rows)
}

fn summary(axes: &[Axis], rows: &[Row]) -> String {
    let width: Vec<usize> = axes.iter().map(|a| a.key.len().max(10) + 2).collect();
    let mut s: String = axes
        .iter()
        .zip(&width)
        .map(|(a, w)| format!("{:>w$}", a.key))
        .collect();
    s += &format!(
        "{:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9} {:>9}\n",
        "pond ns", "beacon-d", "beacon-s", "pifs ns", "vs pond", "vs beacon", "pond W", "pifs W"
    );
    for (vals, cols) in rows {
        for (v, w) in vals.iter().zip(&width) {
            s += &format!("{v:>w$}");
        }
        for (_, v) in cols.iter().take(4) {
            s += &format!("{v:>10.0} ");
        }
        let col = |k: &str| cols.iter().find(|(n, _)| n == k).map_or(0.0, |c| c.1);
        s += &format!(
            "{:>9.2}x {:>9.2}x {:>9.1} {:>9.1}\n",
            col("pifs_over_pond"),
            col("pifs_over_beacon"),
            col("pond_w"),
            col("pifs_w")
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::id_ranges;

    #[test]
    fn missing_points_become_sbatch_array_ranges() {
        assert_eq!(id_ranges(&[]), "");
        assert_eq!(id_ranges(&[4]), "4");
        assert_eq!(id_ranges(&[0, 1, 2, 3, 7, 9, 10, 11, 12]), "0-3,7,9-12");
        assert_eq!(id_ranges(&[1, 3, 5]), "1,3,5");
    }
}
