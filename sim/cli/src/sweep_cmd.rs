//! `pifs sweep`: `pifs compare` over a grid of parameters. Every point is one `pifs compare`
//! process (the same command a cluster job would run, printed in the output), run in parallel
//! on the local cores; the points' JSON reports are merged into one CSV and one JSON row per
//! point, and charts of the speedups against each swept parameter.

use crate::compare_cmd::SysArgs;
use crate::workload::{DistArg, WorkloadArgs};
use crate::{bad_input, check_failed, write_atomically, BackendArg, Failure};
use anyhow::anyhow;
use clap::Args;
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
    #[arg(long = "vary", value_name = "KEY=V1,V2,...", required = true)]
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
    #[arg(long)]
    pub out: PathBuf,
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
        push("trace", t.display().to_string());
    }
    if let Some(m) = &w.model {
        push("model", m.clone());
    }
    for (k, x) in [
        ("num-tables", w.num_tables.map(|x| x.to_string())),
        ("tables", w.tables.clone()),
        ("samples", w.samples.clone()),
        ("rows", w.rows.map(|x| x.to_string())),
        (
            "weights",
            w.weights.as_ref().map(|p| p.display().to_string()),
        ),
        (
            "profile",
            w.profile.as_ref().map(|p| p.display().to_string()),
        ),
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
        push("config", c.display().to_string());
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
    // The grid: every combination, the first axis varying slowest.
    let mut points: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for ax in &axes {
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
    if points.len() > 10_000 {
        return Err(bad_input(anyhow!("{} points: at most 10000", points.len())));
    }
    let dir = a.out.join("points");
    std::fs::create_dir_all(&dir)
        .map_err(|e| bad_input(anyhow!("{}: cannot create: {e}", dir.display())))?;
    let exe = std::env::current_exe().map_err(|e| bad_input(anyhow!("cannot find pifs: {e}")))?;
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, 256);
    let cmds: Vec<(PathBuf, Vec<String>)> = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let json = dir.join(format!("{i:04}.json"));
            let args = point_args(&a, p, &json);
            (json, args)
        })
        .collect();
    // The per-point commands, for replay or a cluster array.
    let script: String = cmds
        .iter()
        .map(|(_, args)| {
            let mut s = String::from("pifs");
            for x in args {
                s.push(' ');
                s += &shell_quote(x);
            }
            s + "\n"
        })
        .collect();
    std::fs::write(a.out.join("commands.txt"), script)
        .map_err(|e| bad_input(anyhow!("{}: cannot write: {e}", a.out.display())))?;

    eprintln!(
        "pifs sweep: {} point(s) x 4 systems, {jobs} at a time, backend {}, seed {}",
        points.len(),
        a.backend.name(),
        a.w.seed
    );
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failures: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let total = cmds.len();
    std::thread::scope(|s| {
        for _ in 0..jobs.min(total) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    break;
                }
                let out = Command::new(&exe).args(&cmds[i].1).output();
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
            a.out.display()
        )));
    }
    let rows = merge(&a.out, &axes, points.len()).map_err(bad_input)?;
    print!("{}", summary(&axes, &rows));
    println!(
        "wrote {}/sweep.csv, sweep.json, speedup_*.svg; wall {:.1} s",
        a.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One merged row: the point's values, each system's mean latency and the speedups.
type Row = (Vec<String>, Vec<(String, f64)>);

const COLUMNS: &[(&str, &str)] = &[
    ("pond_ns", "/systems/pond/latency_ns/mean"),
    ("beacon_d_ns", "/systems/beacon-d/latency_ns/mean"),
    ("beacon_s_ns", "/systems/beacon-s/latency_ns/mean"),
    ("pifs_ns", "/systems/pifs/latency_ns/mean"),
    ("pifs_over_pond", "/speedup/pifs_over_pond"),
    ("pifs_over_beacon", "/speedup/pifs_over_beacon"),
    (
        "upstream_pond_over_pifs",
        "/upstream_reduction_pond_over_pifs",
    ),
];

/// Read every point's JSON and write sweep.csv, sweep.json and the charts. The same function
/// merges the results of a cluster array (each task wrote points/NNNN.json).
fn merge(out: &Path, axes: &[Axis], n: usize) -> anyhow::Result<Vec<Row>> {
    let mut grid: Vec<Vec<String>> = vec![Vec::new()];
    for ax in axes {
        grid = grid
            .into_iter()
            .flat_map(|p| {
                ax.values
                    .iter()
                    .map(move |x| [p.clone(), vec![x.clone()]].concat())
            })
            .collect();
    }
    let mut rows = Vec::with_capacity(n);
    for (i, values) in grid.into_iter().enumerate().take(n) {
        let path = out.join("points").join(format!("{i:04}.json"));
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow!("{}: cannot read: {e}", path.display()))?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| anyhow!("{}: not JSON: {e}", path.display()))?;
        let cols = COLUMNS
            .iter()
            .map(|(name, ptr)| {
                let v = doc
                    .pointer(ptr)
                    .and_then(|v| v.as_f64())
                    .ok_or_else(|| anyhow!("{}: missing {ptr}", path.display()))?;
                Ok((name.to_string(), v))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        rows.push((values, cols));
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
    };
    w("sweep.csv", csv)?;
    w("sweep.json", serde_json::to_string_pretty(&json)?)?;
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
        "{:>10} {:>10} {:>10} {:>10} {:>10} {:>10}\n",
        "pond ns", "beacon-d", "beacon-s", "pifs ns", "vs pond", "vs beacon"
    );
    for (vals, cols) in rows {
        for (v, w) in vals.iter().zip(&width) {
            s += &format!("{v:>w$}");
        }
        for (_, v) in cols.iter().take(4) {
            s += &format!("{v:>10.0} ");
        }
        s += &format!("{:>9.2}x {:>9.2}x\n", cols[4].1, cols[5].1);
    }
    s
}
