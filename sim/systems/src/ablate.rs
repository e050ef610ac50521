//! Feature ablation of PIFS-Rec (`pifs compare --ablate`, docs/placement.md): PIFS-Rec alone on
//! one workload with each feature switched off and on, so each feature's contribution is a
//! measured number. The variants: the baseline (every feature off), each feature alone, all
//! on, and all on but one. A feature is one configuration key with an off and an on value
//! ([`FEATURES`]); only keys that exist in [`PARAMS`] take part.

use crate::compare::{compare, Latency, Workload};
use crate::config::{SysConfig, PARAMS};
use crate::systems::System;
use pifs_sim::port::SimError;
use pifs_sim::system::Backend;
use serde::Serialize;
use std::collections::BTreeMap;

/// One feature: a configuration key and its off and on values.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Feature {
    pub name: &'static str,
    pub key: &'static str,
    pub off: &'static str,
    pub on: &'static str,
}

/// The features, one line each. Keys missing from `PARAMS` are skipped, so a feature of
/// another branch is added here by one line.
pub const FEATURES: &[Feature] = &[
    Feature {
        name: "plan",
        key: "pifs.plan",
        off: "row",
        on: "greedy",
    },
    Feature {
        name: "spread",
        key: "pifs.spread",
        off: "off",
        on: "replicate",
    },
    // 256 lines (16 KiB per port): the largest buffer the Verilated switch is built with.
    Feature {
        name: "buffer",
        key: "pifs.buffer_lines",
        off: "0",
        on: "256",
    },
    // Quantized rows: int8 row-wise where a row fits one 64-byte line (dim <= 60), else fp16
    // ([`on_value`]).
    Feature {
        name: "quant",
        key: "device.row_format",
        off: "fp32",
        on: "int8",
    },
];

/// The value feature `f` takes when on, for rows of `dim` values: the row formats' `on` falls
/// back from int8 to fp16 where an int8 row does not fit one line.
pub fn on_value(f: &Feature, dim: usize) -> &'static str {
    if f.key == "device.row_format" && pifs_dlrm::RowFormat::Int8.check(dim).is_err() {
        "fp16"
    } else {
        f.on
    }
}

/// The features whose key this build knows.
pub fn features() -> Vec<Feature> {
    FEATURES
        .iter()
        .filter(|f| PARAMS.iter().any(|p| p.key == f.key))
        .copied()
        .collect()
}

/// One variant: its name and which features are on (index into the feature list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    pub name: String,
    pub on: Vec<bool>,
}

/// baseline, +each, all, all-each (in that order; a variant equal to an earlier one is still
/// listed, and measured once).
pub fn variants(features: &[Feature]) -> Vec<Variant> {
    let n = features.len();
    let mut v = vec![Variant {
        name: "baseline".into(),
        on: vec![false; n],
    }];
    for (i, f) in features.iter().enumerate() {
        let mut on = vec![false; n];
        on[i] = true;
        v.push(Variant {
            name: format!("+{}", f.name),
            on,
        });
    }
    v.push(Variant {
        name: "all".into(),
        on: vec![true; n],
    });
    for (i, f) in features.iter().enumerate() {
        let mut on = vec![true; n];
        on[i] = false;
        v.push(Variant {
            name: format!("all-{}", f.name),
            on,
        });
    }
    v
}

/// PIFS-Rec's figures for one variant.
#[derive(Clone, Debug, Serialize)]
pub struct AblationRow {
    pub variant: String,
    /// The feature settings of the variant (key = value).
    pub settings: BTreeMap<String, String>,
    pub latency_ns: Latency,
    /// Baseline mean latency over this variant's.
    pub speedup_over_baseline: f64,
    /// Lines per device per batch: max / mean.
    pub device_load_max_over_mean: f64,
    /// Bytes per batch toward the host, and from the devices (port links, device to switch).
    pub upstream_bytes: f64,
    pub device_bytes: f64,
    /// Hit rate of the on-switch row buffer, where the build has one (None otherwise).
    pub buffer_hit_rate: Option<f64>,
    /// Spreading's copies over all batches.
    pub migration_bytes: u64,
    pub sums_within_bound: bool,
}

/// What one feature is worth: mean-latency speedup of switching it on alone (baseline over
/// `+name`) and of switching it on last (`all-name` over `all`); above 1 = it helps.
#[derive(Clone, Debug, Serialize)]
pub struct Contribution {
    pub feature: &'static str,
    pub alone: f64,
    pub last: f64,
}

#[derive(Clone, Debug, Serialize)]
pub struct AblationReport {
    pub workload: String,
    pub batches: usize,
    pub backend: &'static str,
    pub features: Vec<Feature>,
    pub rows: Vec<AblationRow>,
    pub contributions: Vec<Contribution>,
}

/// The on-switch row buffer's hit rate from PIFS-Rec's report: its `buffer_hit_rate` key,
/// where the build reports one (None otherwise, and while the buffer is off).
fn buffer_hit_rate(p: &crate::compare::SystemReport) -> Option<f64> {
    serde_json::to_value(p)
        .ok()?
        .get("buffer_hit_rate")?
        .as_f64()
}

/// Run every variant of `features` on `w`, starting from `base` (its other keys stay).
pub fn ablate(
    w: &Workload,
    base: &SysConfig,
    backend: Backend,
    seed: u64,
    features: &[Feature],
    mut progress: impl FnMut(&str),
) -> Result<AblationReport, SimError> {
    let dim = w.weights.dim();
    let features: &[Feature] = &features
        .iter()
        .map(|f| Feature {
            on: on_value(f, dim),
            ..*f
        })
        .collect::<Vec<_>>();
    let mut measured: BTreeMap<Vec<bool>, AblationRow> = BTreeMap::new();
    let mut rows = Vec::new();
    for v in variants(features) {
        let mut c = base.clone();
        let mut settings = BTreeMap::new();
        for (f, &on) in features.iter().zip(&v.on) {
            let val = if on { f.on } else { f.off };
            c.set(&format!("{}={val}", f.key))
                .map_err(SimError::Config)?;
            settings.insert(f.key.to_string(), val.to_string());
        }
        let row = match measured.get(&v.on) {
            Some(r) => r.clone(),
            None => {
                progress(&v.name);
                let r = compare(w, &c, backend, seed, &[System::Pifs], |_, _| {})?;
                let p = &r.systems["pifs"];
                let row = AblationRow {
                    variant: String::new(),
                    settings: BTreeMap::new(),
                    latency_ns: p.latency_ns.clone(),
                    speedup_over_baseline: 0.0,
                    device_load_max_over_mean: p.device_load_max_over_mean,
                    upstream_bytes: p.upstream_bytes,
                    device_bytes: p.port_bytes.iter().sum(),
                    buffer_hit_rate: buffer_hit_rate(p),
                    migration_bytes: p.migration_bytes,
                    sums_within_bound: p.sums_within_bound,
                };
                measured.insert(v.on.clone(), row.clone());
                row
            }
        };
        rows.push(AblationRow {
            variant: v.name,
            settings,
            ..row
        });
    }
    let base_ns = rows[0].latency_ns.mean;
    for r in &mut rows {
        r.speedup_over_baseline = if r.latency_ns.mean > 0.0 {
            base_ns / r.latency_ns.mean
        } else {
            0.0
        };
    }
    let mean = |name: &str| {
        rows.iter()
            .find(|r| r.variant == name)
            .map_or(f64::NAN, |r| r.latency_ns.mean)
    };
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let contributions = features
        .iter()
        .map(|f| Contribution {
            feature: f.name,
            alone: ratio(mean("baseline"), mean(&format!("+{}", f.name))),
            last: ratio(mean(&format!("all-{}", f.name)), mean("all")),
        })
        .collect();
    Ok(AblationReport {
        workload: w.name.to_string(),
        batches: w.batches.len(),
        backend: backend.name(),
        features: features.to_vec(),
        rows,
        contributions,
    })
}

impl AblationReport {
    pub fn table(&self) -> String {
        let mut s = format!(
            "ablation of PIFS-Rec: {}, {} batch(es), backend {}; features: {}\n",
            self.workload,
            self.batches,
            self.backend,
            self.features
                .iter()
                .map(|f| format!("{} ({} {} -> {})", f.name, f.key, f.off, f.on))
                .collect::<Vec<_>>()
                .join(", ")
        );
        s += &format!(
            "{:<16} {:>10} {:>10} {:>8} {:>10} {:>10} {:>11} {:>8} {:>11}\n",
            "variant",
            "mean ns",
            "p99 ns",
            "speedup",
            "load max/mean",
            "up KB/b",
            "device KB/b",
            "buf hit",
            "migr KB"
        );
        for r in &self.rows {
            s += &format!(
                "{:<16} {:>10.0} {:>10.0} {:>8.3} {:>13.3} {:>10.1} {:>11.1} {:>8} {:>11.1}{}\n",
                r.variant,
                r.latency_ns.mean,
                r.latency_ns.p99,
                r.speedup_over_baseline,
                r.device_load_max_over_mean,
                r.upstream_bytes / 1e3,
                r.device_bytes / 1e3,
                r.buffer_hit_rate
                    .map_or("-".to_string(), |h| format!("{:.1}%", h * 100.0)),
                r.migration_bytes as f64 / 1e3,
                if r.sums_within_bound {
                    ""
                } else {
                    "  SUMS OUT OF BOUND"
                }
            );
        }
        for c in &self.contributions {
            s += &format!(
                "feature {}: {:.3}x alone (baseline / +{}), {:.3}x switched on last (all-{} / all)\n",
                c.feature, c.alone, c.feature, c.last, c.feature
            );
        }
        s
    }

    pub fn all_sums_ok(&self) -> bool {
        self.rows.iter().all(|r| r.sums_within_bound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_are_baseline_each_all_and_all_but_each() {
        let f = [
            Feature {
                name: "a",
                key: "pifs.plan",
                off: "row",
                on: "table",
            },
            Feature {
                name: "b",
                key: "pifs.spread",
                off: "off",
                on: "migrate",
            },
            Feature {
                name: "c",
                key: "pifs.combine",
                off: "host",
                on: "usp",
            },
        ];
        let v = variants(&f);
        let names: Vec<&str> = v.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(
            names,
            ["baseline", "+a", "+b", "+c", "all", "all-a", "all-b", "all-c"]
        );
        assert_eq!(v[2].on, [false, true, false]);
        assert_eq!(v[6].on, [true, false, true]);
    }

    #[test]
    fn every_feature_key_is_a_parameter_with_valid_values() {
        for f in features() {
            let mut c = SysConfig::default();
            c.set(&format!("{}={}", f.key, f.off)).unwrap();
            assert_eq!(c, SysConfig::default(), "{}: off is the default", f.key);
            c.set(&format!("{}={}", f.key, f.on)).unwrap();
        }
    }
}
