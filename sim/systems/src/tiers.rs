//! The memory-tiers study: one workload on a DRAM-only pool and on tiered pools (a DRAM cache
//! of several sizes in front of SCM or NAND), on several systems, with latency, energy per
//! batch, average power and cache hit rate, each pool against the DRAM-only one.

use crate::compare::{compare, Workload};
use crate::config::SysConfig;
use crate::energy::BatchEnergy;
use crate::plot::{self, Point};
use crate::systems::System;
use pifs_sim::port::SimError;
use pifs_sim::system::Backend;
use serde::Serialize;
use std::collections::BTreeMap;

/// One pool on one system.
#[derive(Clone, Debug, Serialize)]
pub struct TierRow {
    pub pool: String,
    /// none, scm or nand.
    pub backing: String,
    /// DRAM cache per device (0 for DRAM only).
    pub cache_mb: f64,
    pub system: String,
    /// Mean batch latency.
    pub latency_ns: f64,
    pub energy_j_per_batch: f64,
    pub avg_power_w: f64,
    pub static_w: f64,
    /// Share of line reads the DRAM caches served (absent for DRAM only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hit_rate: Option<f64>,
    /// This pool's average power and mean latency over the DRAM-only pool's, same system.
    pub power_vs_dram: f64,
    pub latency_vs_dram: f64,
    pub energy: BatchEnergy,
}

/// The whole study.
#[derive(Clone, Debug, Serialize)]
pub struct TierReport {
    pub workload: String,
    pub batches: usize,
    pub backend: &'static str,
    /// The base configuration (every pool is it with `tier.*` changed).
    pub config: BTreeMap<String, String>,
    pub rows: Vec<TierRow>,
}

/// The pools: DRAM only, then every backing with every cache size. Errors name the value.
pub fn pools(
    base: &SysConfig,
    backings: &[String],
    cache_mb: &[f64],
) -> Result<Vec<(String, SysConfig)>, String> {
    let mut dram = base.clone();
    dram.set("tier.backing=none")?;
    let mut out = vec![("dram".to_string(), dram)];
    for b in backings {
        if !["scm", "nand"].contains(&b.as_str()) {
            return Err(format!("--backing {b}: must be scm or nand"));
        }
        for &mb in cache_mb {
            let mut c = base.clone();
            c.set(&format!("tier.backing={b}"))?;
            c.set(&format!("tier.cache_mb={mb}")).map_err(|e| {
                format!(
                    "--cache-mb {mb}: {}",
                    e.split_once(": ").map_or(&*e, |x| x.1)
                )
            })?;
            out.push((format!("{b}+{mb}MiB"), c));
        }
    }
    Ok(out)
}

/// Run every pool on every system; the first pool is the DRAM-only baseline. Fails with
/// `SimError::Check` when a system's sums leave the float64 bound.
pub fn run_tiers(
    w: &Workload,
    base: &SysConfig,
    pools: &[(String, SysConfig)],
    systems: &[System],
    backend: Backend,
    seed: u64,
) -> Result<TierReport, SimError> {
    let mut rows = Vec::new();
    let mut baseline: Vec<(f64, f64)> = Vec::new();
    for (pool, c) in pools {
        let r = compare(w, c, backend, seed, systems, |_, _| {})?;
        if !r.all_sums_ok() {
            return Err(SimError::Check(format!(
                "{pool}: a system's pooled output is outside the float64 bound"
            )));
        }
        for (k, s) in systems.iter().enumerate() {
            let sr = &r.systems[s.name()];
            if baseline.len() == k {
                baseline.push((sr.avg_power_w, sr.latency_ns.mean));
            }
            rows.push(TierRow {
                pool: pool.clone(),
                backing: c.tier.backing.clone(),
                cache_mb: if c.backing().is_some() {
                    c.tier.cache_mb
                } else {
                    0.0
                },
                system: s.name().into(),
                latency_ns: sr.latency_ns.mean,
                energy_j_per_batch: sr.energy_j.total_j,
                avg_power_w: sr.avg_power_w,
                static_w: sr.energy_j.static_w,
                hit_rate: sr.tier_hit_rate,
                power_vs_dram: sr.avg_power_w / baseline[k].0,
                latency_vs_dram: sr.latency_ns.mean / baseline[k].1,
                energy: sr.energy_j.clone(),
            });
        }
    }
    Ok(TierReport {
        workload: w.name.to_string(),
        batches: w.batches.len(),
        backend: backend.name(),
        config: base.flat().into_iter().collect(),
        rows,
    })
}

impl TierReport {
    /// The human table.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{}: {} batch(es), backend {}\n{:<16} {:<9} {:>11} {:>10} {:>8} {:>7} {:>8} {:>9}\n",
            self.workload,
            self.batches,
            self.backend,
            "pool",
            "system",
            "latency ns",
            "uJ/batch",
            "avg W",
            "hit %",
            "W/dram",
            "lat/dram"
        );
        for x in &self.rows {
            s += &format!(
                "{:<16} {:<9} {:>11.0} {:>10.2} {:>8.1} {:>7} {:>8.3} {:>9.2}\n",
                x.pool,
                x.system,
                x.latency_ns,
                x.energy_j_per_batch * 1e6,
                x.avg_power_w,
                x.hit_rate
                    .map_or("-".to_string(), |h| format!("{:.1}", h * 100.0)),
                x.power_vs_dram,
                x.latency_vs_dram
            );
        }
        s
    }

    /// Average power against mean latency, one colour per system, each point labelled with
    /// its pool.
    pub fn svg(&self) -> String {
        let mut series: Vec<(String, Vec<Point>)> = Vec::new();
        for x in &self.rows {
            let p = Point {
                x: x.latency_ns / 1e3,
                y: x.avg_power_w,
                label: x.pool.clone(),
            };
            match series.iter_mut().find(|(n, _)| *n == x.system) {
                Some((_, v)) => v.push(p),
                None => series.push((x.system.clone(), vec![p])),
            }
        }
        plot::scatter(
            &format!("{}: average power against batch latency", self.workload),
            "mean batch latency (us, log scale)",
            "average power (W)",
            &series,
        )
    }
}
