//! Side-by-side characterisation: every system serves the same batches, one after another
//! (closed loop: a batch starts when the previous one is done), and the report gives per-batch
//! latency, throughput, bytes per link, utilisation, what limits each system, and speedups.

use crate::config::SysConfig;
use crate::energy::BatchEnergy;
use crate::systems::{pifs_placement_on, pifs_placements, run_batch_placed, BatchResult, System};
use pifs_dlrm::{Trace, Weights};
use pifs_sim::check::check_bound;
use pifs_sim::port::SimError;
use pifs_sim::system::Backend;
use serde::Serialize;
use std::collections::BTreeMap;

/// Latency statistics over the batches, in ns.
#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
    pub min: f64,
    pub max: f64,
}

impl Latency {
    pub fn of(v: &[f64]) -> Latency {
        let mut s = v.to_vec();
        s.sort_by(f64::total_cmp);
        // Nearest-rank percentiles.
        let pct = |p: f64| s[((p / 100.0 * s.len() as f64).ceil() as usize).clamp(1, s.len()) - 1];
        Latency {
            mean: s.iter().sum::<f64>() / s.len() as f64,
            p50: pct(50.0),
            p99: pct(99.0),
            min: s[0],
            max: s[s.len() - 1],
        }
    }
}

/// One system over all batches.
#[derive(Clone, Debug, Serialize)]
pub struct SystemReport {
    pub latency_ns: Latency,
    /// Embedding rows looked up per second of simulated time.
    pub throughput_lookups_per_s: f64,
    /// Per batch, averaged: bytes toward the host on the upstream link, toward the switch on
    /// it, on each port link (device to switch), through the crossbar.
    pub upstream_bytes: f64,
    pub downstream_bytes: f64,
    pub port_bytes: Vec<f64>,
    pub crossbar_bytes: f64,
    /// Busy share of the upstream link (toward the host) and of each port link (device to
    /// switch) over the batch, averaged over batches.
    pub upstream_utilisation: f64,
    pub port_utilisation: Vec<f64>,
    /// Busiest resource of the first batch and its utilisation: what limits the system.
    pub limit: String,
    pub limit_utilisation: f64,
    /// Every batch's pooled output is within the float64 recursive-summation bound (bags that
    /// summed a poisoned line are reported in `poisoned_bags`, not compared).
    pub sums_within_bound: bool,
    /// `[batch, bag]` of every bag that summed a poisoned line (pooled as NaN).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub poisoned_bags: Vec<[usize; 2]>,
    /// Port-accumulator cycles summed over batches (pifs only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_cycles: Option<u64>,
    /// Energy per batch (J), by where it goes, averaged over batches.
    pub energy_j: BatchEnergy,
    /// Average power over all batches: total energy / total latency (W).
    pub avg_power_w: f64,
    /// Lines each device read per batch, averaged over batches, and max / mean of them (1 =
    /// even load).
    pub device_lines: Vec<f64>,
    pub device_load_max_over_mean: f64,
    /// Embedding spreading (PIFS-Rec): bytes copied between devices over all batches, and
    /// the time the copies took (included in the latencies).
    #[serde(skip_serializing_if = "is_zero")]
    pub migration_bytes: u64,
    #[serde(skip_serializing_if = "is_zero_f")]
    pub migration_ns: f64,
    /// Tiered devices: share of line reads the DRAM caches served, over all batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier_hit_rate: Option<f64>,
    /// PIFS-Rec with the row buffer on: hits over lookups, all ports and batches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer_hit_rate: Option<f64>,
    /// PIFS-Rec with the row buffer on: per port, hits, misses, bypasses and evictions summed
    /// over the batches, and the port's hit rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer_ports: Option<Vec<BufferPort>>,
}

/// One port's row buffer over all batches.
#[derive(Clone, Debug, Serialize)]
pub struct BufferPort {
    pub hits: u64,
    pub misses: u64,
    pub bypasses: u64,
    pub evictions: u64,
    pub hit_rate: f64,
}

/// Per-port buffer counts summed over batches, and the overall hit rate (None without a
/// buffer, or when a batch came from a checkpoint without them).
fn buffer_report(results: &[BatchResult]) -> (Option<f64>, Option<Vec<BufferPort>>) {
    let mut sum: Vec<pifs_sim::buffer::BufferCounters> = Vec::new();
    for r in results {
        let Some(b) = &r.buffer else {
            return (None, None);
        };
        sum.resize(b.len().max(sum.len()), Default::default());
        for (s, c) in sum.iter_mut().zip(b) {
            s.add(c);
        }
    }
    if sum.is_empty() {
        return (None, None);
    }
    let mut all = pifs_sim::buffer::BufferCounters::default();
    for s in &sum {
        all.add(s);
    }
    let ports = sum
        .iter()
        .map(|c| BufferPort {
            hits: c.hits,
            misses: c.misses,
            bypasses: c.bypasses,
            evictions: c.evictions,
            hit_rate: c.hit_rate(),
        })
        .collect();
    (Some(all.hit_rate()), Some(ports))
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

fn is_zero_f(x: &f64) -> bool {
    *x == 0.0
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize)]
pub struct CompareReport {
    pub workload: WorkloadEcho,
    pub backend: &'static str,
    pub config: BTreeMap<String, String>,
    pub systems: BTreeMap<String, SystemReport>,
    pub speedup: BTreeMap<String, f64>,
    /// Bytes over the upstream link toward the host, Pond over PIFS-Rec.
    pub upstream_reduction_pond_over_pifs: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct WorkloadEcho {
    pub name: String,
    pub tables: usize,
    pub batch: usize,
    pub batches: usize,
    pub dim: usize,
    pub lookups_per_batch: f64,
}

/// A workload: its batches, run one after another, and the embedding weights.
pub struct Workload<'a> {
    pub name: &'a str,
    pub batches: &'a [Trace],
    pub weights: &'a Weights,
}

/// Run every system in `systems` on every batch.
pub fn compare(
    w: &Workload,
    c: &SysConfig,
    backend: Backend,
    seed: u64,
    systems: &[System],
    progress: impl FnMut(&str, usize),
) -> Result<CompareReport, SimError> {
    compare_from(w, c, backend, seed, systems, Vec::new(), progress, |_| {
        Ok(())
    })
}

/// The batches one system has finished (pooled outputs dropped) and whether every one of their
/// pooled outputs was within the float64 bound: the state [`compare_from`] resumes from.
#[derive(Clone, Debug, Default)]
pub struct SystemProgress {
    pub results: Vec<BatchResult>,
    pub ok: bool,
}

/// [`compare`] continued from `done`: entry i holds the batches system i of `systems` has
/// finished (systems run one after another, batches in order), as an earlier run of the same
/// comparison produced them. `after_batch` is called with all progress after every batch
/// (checkpoints). Each batch runs on fresh models (seed `seed + k`), so nothing else carries over.
#[allow(clippy::too_many_arguments)]
pub fn compare_from(
    w: &Workload,
    c: &SysConfig,
    backend: Backend,
    seed: u64,
    systems: &[System],
    mut done: Vec<SystemProgress>,
    mut progress: impl FnMut(&str, usize),
    mut after_batch: impl FnMut(&[SystemProgress]) -> Result<(), SimError>,
) -> Result<CompareReport, SimError> {
    let (name, batches, weights) = (w.name, w.batches, w.weights);
    if batches.is_empty() {
        return Err(SimError::Config("no batches to run".into()));
    }
    if done.len() > systems.len() || done.iter().any(|d| d.results.len() > batches.len()) {
        return Err(SimError::Config(
            "checkpoint holds more systems or batches than the comparison has".into(),
        ));
    }
    let refs: Vec<_> = batches
        .iter()
        .map(|t| {
            pifs_dlrm::pool_f64_in(t, weights, c.row_format())
                .map_err(|e| SimError::Config(e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let lookups: usize = batches.iter().map(|t| t.lookups()).sum();
    let placements = if systems.contains(&System::Pifs) && pifs_placement_on(c) {
        pifs_placements(c, batches, weights.dim())
    } else {
        Vec::new()
    };
    let mut out = BTreeMap::new();
    for (i, &s) in systems.iter().enumerate() {
        if done.len() == i {
            done.push(SystemProgress {
                results: Vec::new(),
                ok: true,
            });
        }
        for (k, t) in batches.iter().enumerate().skip(done[i].results.len()) {
            progress(s.name(), k);
            let placed = (s == System::Pifs).then(|| placements.get(k)).flatten();
            let mut r = run_batch_placed(
                s,
                t,
                weights,
                c,
                backend,
                seed.wrapping_add(k as u64),
                placed,
            )?;
            // A poisoned bag is NaN in the pooled output and in the reference alike.
            done[i].ok &= if r.poisoned_bags.is_empty() {
                check_bound(&r.pooled, &refs[k]).ok()
            } else {
                let dim = weights.dim();
                let mut reference = refs[k].clone();
                for &b in &r.poisoned_bags {
                    reference.sum[b * dim..(b + 1) * dim].fill(f64::NAN);
                }
                check_bound(&r.pooled, &reference).ok()
            };
            r.pooled = Vec::new();
            done[i].results.push(r);
            after_batch(&done)?;
        }
        let (results, ok) = (&done[i].results, done[i].ok);
        let poisoned_bags: Vec<[usize; 2]> = results
            .iter()
            .enumerate()
            .flat_map(|(k, r)| r.poisoned_bags.iter().map(move |&b| [k, b]))
            .collect();
        let lat: Vec<f64> = results.iter().map(|r| r.latency_ns).collect();
        let n = results.len() as f64;
        let avg = |f: &dyn Fn(&BatchResult) -> f64| results.iter().map(f).sum::<f64>() / n;
        let total_ns: f64 = lat.iter().sum();
        let ports = c.switch.ports;
        let util = |name: &str| {
            avg(&|r| {
                r.resources
                    .iter()
                    .find(|x| x.name == name)
                    .map_or(0.0, |x| x.utilisation)
            })
        };
        let up_util = util("host_link.s2m");
        let device_lines: Vec<f64> = (0..ports)
            .map(|p| avg(&|r| r.device_lines.get(p).copied().unwrap_or(0) as f64))
            .collect();
        let dl_max = device_lines.iter().copied().fold(0.0, f64::max);
        let dl_mean = device_lines.iter().sum::<f64>() / ports.max(1) as f64;
        let (buffer_hit_rate, buffer_ports) = buffer_report(results);
        let first = &results[0];
        let (limit, limit_util) = first
            .resources
            .first()
            .map_or((String::new(), 0.0), |r| (r.name.clone(), r.utilisation));
        out.insert(
            s.name().to_string(),
            SystemReport {
                latency_ns: Latency::of(&lat),
                throughput_lookups_per_s: if total_ns > 0.0 {
                    lookups as f64 / total_ns * 1e9
                } else {
                    0.0
                },
                upstream_bytes: avg(&|r| r.upstream_bytes as f64),
                downstream_bytes: avg(&|r| r.downstream_bytes as f64),
                port_bytes: (0..ports)
                    .map(|p| avg(&|r| r.port_bytes[p] as f64))
                    .collect(),
                crossbar_bytes: avg(&|r| r.crossbar_bytes as f64),
                upstream_utilisation: up_util,
                port_utilisation: (0..ports).map(|p| util(&format!("port{p}.s2m"))).collect(),
                limit,
                limit_utilisation: limit_util,
                sums_within_bound: ok,
                poisoned_bags,
                port_cycles: results.iter().map(|r| r.port_cycles).sum(),
                energy_j: BatchEnergy {
                    links_j: avg(&|r| r.energy.links_j),
                    crossbar_j: avg(&|r| r.energy.crossbar_j),
                    adders_j: avg(&|r| r.energy.adders_j),
                    dram_j: avg(&|r| r.energy.dram_j),
                    backing_j: avg(&|r| r.energy.backing_j),
                    static_j: avg(&|r| r.energy.static_j),
                    total_j: avg(&|r| r.energy.total_j),
                    static_w: first.energy.static_w,
                    avg_power_w: avg(&|r| r.energy.avg_power_w),
                },
                avg_power_w: if total_ns > 0.0 {
                    results.iter().map(|r| r.energy.total_j).sum::<f64>() / (total_ns * 1e-9)
                } else {
                    0.0
                },
                tier_hit_rate: hit_rate(results),
                device_load_max_over_mean: if dl_mean > 0.0 { dl_max / dl_mean } else { 0.0 },
                device_lines,
                migration_bytes: results.iter().map(|r| r.migration_bytes).sum(),
                migration_ns: results.iter().map(|r| r.migration_ns).sum(),
                buffer_hit_rate,
                buffer_ports,
            },
        );
    }
    let mean = |k: &str| out.get(k).map(|r: &SystemReport| r.latency_ns.mean);
    let mut speedup = BTreeMap::new();
    if let Some(p) = mean("pifs") {
        if let Some(x) = mean("pond") {
            speedup.insert("pifs_over_pond".into(), x / p);
        }
        let bd = mean("beacon-d");
        let bs = mean("beacon-s");
        if let Some(x) = bd {
            speedup.insert("pifs_over_beacon_d".into(), x / p);
        }
        if let Some(x) = bs {
            speedup.insert("pifs_over_beacon_s".into(), x / p);
        }
        // Against the better (faster) BEACON variant.
        if let Some(best) = [bd, bs].into_iter().flatten().reduce(f64::min) {
            speedup.insert("pifs_over_beacon".into(), best / p);
        }
    }
    let up = |k: &str| out.get(k).map(|r: &SystemReport| r.upstream_bytes);
    let reduction = match (up("pond"), up("pifs")) {
        (Some(a), Some(b)) if b > 0.0 => a / b,
        _ => 0.0,
    };
    let t0 = &batches[0];
    Ok(CompareReport {
        workload: WorkloadEcho {
            name: name.to_string(),
            tables: t0.tables,
            batch: t0.batch,
            batches: batches.len(),
            dim: weights.dim(),
            lookups_per_batch: lookups as f64 / batches.len() as f64,
        },
        backend: backend.name(),
        config: c.flat().into_iter().collect(),
        systems: out,
        speedup,
        upstream_reduction_pond_over_pifs: reduction,
    })
}

/// Share of tiered reads that hit, over all batches (None for DRAM-only devices).
pub fn hit_rate(results: &[BatchResult]) -> Option<f64> {
    let (mut h, mut m) = (0u64, 0u64);
    for t in results.iter().map(|r| r.tier) {
        let t = t?;
        h += t.hits;
        m += t.misses;
    }
    Some(if h + m > 0 {
        h as f64 / (h + m) as f64
    } else {
        0.0
    })
}

impl CompareReport {
    /// The human table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{}: {} tables x batch {} x {} batch(es), dim {}, {:.0} lookups/batch, backend {}\n",
            self.workload.name,
            self.workload.tables,
            self.workload.batch,
            self.workload.batches,
            self.workload.dim,
            self.workload.lookups_per_batch,
            self.backend
        );
        s += &format!(
            "{:<9} {:>10} {:>10} {:>10} {:>12} {:>11} {:>11} {:>6} {:>10} {:>8}  {}\n",
            "system",
            "mean ns",
            "p50 ns",
            "p99 ns",
            "Mlookups/s",
            "up KB/b",
            "port KB/b",
            "up %",
            "uJ/batch",
            "avg W",
            "limited by"
        );
        for name in ["pond", "beacon-d", "beacon-s", "pifs"] {
            let Some(r) = self.systems.get(name) else {
                continue;
            };
            let port_kb: f64 = r.port_bytes.iter().sum::<f64>() / 1e3;
            s += &format!(
                "{:<9} {:>10.0} {:>10.0} {:>10.0} {:>12.1} {:>11.1} {:>11.1} {:>6.1} {:>10.2} {:>8.1}  {} ({:.0}%){}\n",
                name,
                r.latency_ns.mean,
                r.latency_ns.p50,
                r.latency_ns.p99,
                r.throughput_lookups_per_s / 1e6,
                r.upstream_bytes / 1e3,
                port_kb,
                r.upstream_utilisation * 100.0,
                r.energy_j.total_j * 1e6,
                r.avg_power_w,
                r.limit,
                r.limit_utilisation * 100.0,
                if r.sums_within_bound { "" } else { "  SUMS OUT OF BOUND" }
            );
            if r.migration_bytes > 0 {
                s += &format!(
                    "  {name}: migration_bytes {} ({:.0} ns of copies, in the latencies); device load max/mean {:.3}\n",
                    r.migration_bytes, r.migration_ns, r.device_load_max_over_mean
                );
            }
            if !r.poisoned_bags.is_empty() {
                s += &format!(
                    "  {name}: {} bag(s) summed a poisoned line and are pooled as NaN (poisoned_bags in the JSON)\n",
                    r.poisoned_bags.len()
                );
            }
        }
        for (k, v) in &self.speedup {
            s += &format!("speedup {k} = {v:.2}x\n");
        }
        s += &format!(
            "upstream bytes pond/pifs = {:.1}x\n",
            self.upstream_reduction_pond_over_pifs
        );
        s
    }

    pub fn all_sums_ok(&self) -> bool {
        self.systems.values().all(|r| r.sums_within_bound)
    }
}
