//! The study: split a raw-ID trace into a history window (training) and an evaluation window,
//! build the four mappings per table from the history, and measure each over the evaluation
//! window next to the raw IDs (no hashing).

use std::collections::{HashMap, HashSet};

use pifs_dlrm::Trace;
use pifs_rng::Rng;
use serde::Serialize;

use crate::coaccess::CoAccessConfig;
use crate::error::HashError;
use crate::mapping::{Kind, TableMap};
use crate::stats::{measure, MappingStats, ROW_HISTOGRAM};
use crate::universal::UniversalHash;

/// Study parameters (defaults and sources in docs/hashing.md).
#[derive(Clone, Debug, Serialize)]
pub struct StudyConfig {
    /// Rows per mapped table; `None` = distinct IDs per table (mean over tables, whole trace)
    /// divided by `ids_per_row`, rounded up.
    pub rows: Option<u64>,
    /// Target IDs per row when `rows` is not given.
    pub ids_per_row: f64,
    /// Share of the rows that hot IDs own (frequency-ranked and learned mappings), in [0, 1).
    pub hot_share: f64,
    /// Share of the cold rows (`R - k`) the learned mapping reserves for IDs unseen in the
    /// history, in [0, 1); 0 hashes them over all cold rows.
    pub newcomer_share: f64,
    /// Share of the samples used as history (training); the rest is evaluated.
    pub history_share: f64,
    /// Rows of the LRU row buffer (shared by all tables).
    pub buffer_rows: usize,
    /// Devices the rows are interleaved over.
    pub devices: usize,
    /// Seed of the universal hash functions.
    pub seed: u64,
}

/// A raw-ID trace to study.
pub struct Input {
    /// Name for the report.
    pub name: String,
    /// The trace; its indices are raw IDs.
    pub trace: Trace,
    /// Ground-truth co-access group of each ID per table, when known (built-in stream).
    pub groups: Option<Vec<HashMap<u64, u64>>>,
    /// The generator's parameters, for the built-in stream.
    pub generator: Option<CoAccessConfig>,
}

/// One mapping's results.
#[derive(Clone, Debug, Serialize)]
pub struct MappingReport {
    /// `none` (raw IDs, one row each) or a [`Kind`] name.
    pub name: String,
    #[serde(flatten)]
    pub stats: MappingStats,
}

/// The whole report (`hash.json`).
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub workload: String,
    pub generator: Option<CoAccessConfig>,
    pub config: StudyConfig,
    pub tables: usize,
    pub samples: usize,
    pub history_samples: usize,
    pub eval_samples: usize,
    /// Rows per mapped table (R).
    pub rows: u64,
    /// Rows owned by hot IDs (k = floor(hot_share * R)).
    pub hot_rows: u64,
    /// Rows of the learned mapping for IDs unseen in the history
    /// (n = floor(newcomer_share * (R - k)), at most R - k - 1).
    pub newcomer_rows: u64,
    /// Share of the evaluation window's accesses whose ID never occurs in the history window
    /// (no mapping can have learned anything about them; they are hashed).
    pub unseen_access_share: f64,
    /// Labels of every `rows_by_ids` histogram.
    pub row_histogram: Vec<&'static str>,
    /// `none` first, then modulo, universal, frequency, learned.
    pub mappings: Vec<MappingReport>,
}

/// The report and the mappings built (one [`TableMap`] per table, in [`Kind::ALL`] order).
pub struct Study {
    pub report: Report,
    pub maps: Vec<(Kind, Vec<TableMap>)>,
}

fn check(cfg: &StudyConfig, trace: &Trace) -> Result<(), HashError> {
    if !(0.0..1.0).contains(&cfg.hot_share) {
        return Err(HashError::new(
            "--hot-share",
            format!("{}, must be in [0, 1)", cfg.hot_share),
        ));
    }
    if !(0.0..1.0).contains(&cfg.newcomer_share) {
        return Err(HashError::new(
            "--newcomer-share",
            format!("{}, must be in [0, 1)", cfg.newcomer_share),
        ));
    }
    if !(cfg.history_share > 0.0 && cfg.history_share < 1.0) {
        return Err(HashError::new(
            "--history-share",
            format!("{}, must be in (0, 1)", cfg.history_share),
        ));
    }
    if !(cfg.ids_per_row.is_finite() && cfg.ids_per_row >= 1.0) {
        return Err(HashError::new(
            "--ids-per-row",
            format!("{}, must be a number >= 1", cfg.ids_per_row),
        ));
    }
    if cfg.devices == 0 || cfg.devices > 1024 {
        return Err(HashError::new(
            "--devices",
            format!("{}, must be 1..=1024", cfg.devices),
        ));
    }
    if cfg.buffer_rows > 1 << 28 {
        return Err(HashError::new(
            "--buffer-rows",
            format!("{}, must be at most 2^28", cfg.buffer_rows),
        ));
    }
    if let Some(r) = cfg.rows {
        if !(2..=i64::MAX as u64).contains(&r) {
            return Err(HashError::new("--rows", format!("{r}, must be at least 2")));
        }
    }
    let h = history_samples(trace.batch, cfg.history_share);
    if h == 0 || h >= trace.batch {
        return Err(HashError::new(
            "--history-share",
            format!(
                "{} of {} sample(s) leaves no history or no evaluation window",
                cfg.history_share, trace.batch
            ),
        ));
    }
    Ok(())
}

fn history_samples(batch: usize, share: f64) -> usize {
    (batch as f64 * share).round() as usize
}

/// Distinct IDs per table, mean over tables, over the whole trace.
fn mean_distinct(trace: &Trace) -> f64 {
    let total: usize = (0..trace.tables)
        .map(|t| {
            let mut ids: Vec<i64> = (0..trace.batch)
                .flat_map(|b| trace.bag(t, b).iter().copied())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids.len()
        })
        .sum();
    total as f64 / trace.tables.max(1) as f64
}

/// Share of the accesses of samples `h..` whose ID does not occur in samples `..h` of its table.
fn unseen_share(trace: &Trace, h: usize) -> f64 {
    let (mut unseen, mut total) = (0usize, 0usize);
    for t in 0..trace.tables {
        let seen: HashSet<i64> = (0..h)
            .flat_map(|b| trace.bag(t, b).iter().copied())
            .collect();
        for b in h..trace.batch {
            total += trace.bag(t, b).len();
            unseen += trace
                .bag(t, b)
                .iter()
                .filter(|id| !seen.contains(id))
                .count();
        }
    }
    if total == 0 {
        0.0
    } else {
        unseen as f64 / total as f64
    }
}

/// `trace` with every index replaced by its row under `maps` (one per table).
pub fn map_trace(trace: &Trace, maps: &[TableMap]) -> Trace {
    let mut out = trace.clone();
    for (t, m) in maps.iter().enumerate() {
        let lo = trace.offsets[t * trace.batch] as usize;
        let hi = trace.offsets[(t + 1) * trace.batch] as usize;
        for x in &mut out.indices[lo..hi] {
            *x = m.row(*x as u64) as i64;
        }
    }
    out
}

/// Runs the study on `input`.
pub fn run(input: Input, cfg: &StudyConfig) -> Result<Study, HashError> {
    let trace = &input.trace;
    trace
        .validate(&input.name)
        .map_err(|e| HashError::new("trace", e.to_string()))?;
    if trace.tables == 0 || trace.batch < 2 {
        return Err(HashError::new(
            "trace",
            format!(
                "{} table(s) x {} sample(s): needs at least 1 table and 2 samples",
                trace.tables, trace.batch
            ),
        ));
    }
    check(cfg, trace)?;
    let h = history_samples(trace.batch, cfg.history_share);
    let rows = cfg
        .rows
        .unwrap_or_else(|| ((mean_distinct(trace) / cfg.ids_per_row).ceil() as u64).max(2));
    let hot = ((cfg.hot_share * rows as f64).floor() as u64).min(rows - 1);
    let newcomers = ((cfg.newcomer_share * (rows - hot) as f64).floor() as u64).min(rows - hot - 1);

    let mut seeds = Rng::new(cfg.seed);
    let hashes: Vec<UniversalHash> = (0..trace.tables)
        .map(|t| UniversalHash::draw(&mut seeds.fork(t as u64)))
        .collect();
    let mut maps = Vec::new();
    for kind in Kind::ALL {
        let per_table = (0..trace.tables)
            .map(|t| {
                let hist: Vec<&[i64]> = (0..h).map(|b| trace.bag(t, b)).collect();
                match kind {
                    Kind::Modulo => TableMap::modulo(rows),
                    Kind::Universal => TableMap::universal(rows, hashes[t]),
                    Kind::Frequency => TableMap::frequency(rows, hot, &hist, hashes[t]),
                    Kind::Learned => TableMap::learned(rows, hot, newcomers, &hist, hashes[t]),
                }
            })
            .collect::<Vec<_>>();
        maps.push((kind, per_table));
    }

    let eval = h..trace.batch;
    let groups = input.groups.as_deref();
    let measure_on = |mapped: &Trace| {
        measure(
            trace,
            mapped,
            eval.clone(),
            groups,
            cfg.buffer_rows,
            cfg.devices,
        )
    };
    let mut mappings = vec![MappingReport {
        name: "none".to_string(),
        stats: measure_on(trace),
    }];
    for (kind, m) in &maps {
        mappings.push(MappingReport {
            name: kind.name().to_string(),
            stats: measure_on(&map_trace(trace, m)),
        });
    }
    Ok(Study {
        report: Report {
            workload: input.name,
            generator: input.generator,
            config: cfg.clone(),
            tables: trace.tables,
            samples: trace.batch,
            history_samples: h,
            eval_samples: trace.batch - h,
            rows,
            hot_rows: hot,
            newcomer_rows: newcomers,
            unseen_access_share: unseen_share(trace, h),
            row_histogram: ROW_HISTOGRAM.to_vec(),
            mappings,
        },
        maps,
    })
}

/// Three bar charts stacked in one SVG: frequency-weighted collision share, buffer hit rate and
/// device load (max/mean) per mapping.
pub fn svg(r: &Report) -> String {
    let names: Vec<String> = r.mappings.iter().map(|m| m.name.clone()).collect();
    let pick = |f: fn(&crate::stats::Stats) -> f64| -> Vec<f64> {
        r.mappings.iter().map(|m| f(&m.stats.overall)).collect()
    };
    let charts = [
        pifs_systems::plot::bars(
            &format!("{}: accesses to a shared row (R = {})", r.workload, r.rows),
            "share of accesses",
            &names,
            &pick(|s| s.shared_access_share),
        ),
        pifs_systems::plot::bars(
            &format!("LRU row buffer hit rate ({} rows)", r.config.buffer_rows),
            "hit rate",
            &names,
            &pick(|s| s.buffer_hit_rate),
        ),
        pifs_systems::plot::bars(
            &format!("device load over {} devices", r.config.devices),
            "busiest / mean",
            &names,
            &pick(|s| s.device_max_over_mean),
        ),
    ];
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"{}\">\n",
        360 * charts.len()
    );
    for (i, c) in charts.iter().enumerate() {
        out += &format!("<g transform=\"translate(0,{})\">\n{c}</g>\n", 360 * i);
    }
    out + "</svg>\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(rows: u64) -> StudyConfig {
        StudyConfig {
            rows: Some(rows),
            ids_per_row: 8.0,
            hot_share: 0.5,
            newcomer_share: 0.2,
            history_share: 0.5,
            buffer_rows: 16,
            devices: 4,
            seed: 1,
        }
    }

    /// Half the samples are history, half evaluation; the same 8 hot IDs (multiples of R, so
    /// `id mod R` puts all of them in row 0) recur in every bag next to cold IDs seen once.
    fn adversarial(rows: u64) -> Trace {
        let batch = 40;
        let mut indices = Vec::new();
        let mut offsets = vec![0i64];
        let mut cold = 1_000_003i64;
        for _ in 0..batch {
            for h in 0..8 {
                indices.push((h * rows) as i64);
            }
            for _ in 0..2 {
                indices.push(cold);
                cold += 7;
            }
            offsets.push(indices.len() as i64);
        }
        Trace {
            tables: 1,
            batch,
            indices,
            offsets,
        }
    }

    #[test]
    fn frequency_and_learned_collide_less_than_modulo_on_skewed_ids() {
        // By construction: 80% of accesses go to 8 hot IDs that modulo puts in one row (all
        // shared), while frequency and learned give each a row of its own (k = 16 >= 8), so only
        // the 20% cold accesses can be shared.
        let rows = 32;
        let s = run(
            Input {
                name: "adversarial".into(),
                trace: adversarial(rows),
                groups: None,
                generator: None,
            },
            &cfg(rows),
        )
        .unwrap();
        let share = |n: &str| {
            s.report
                .mappings
                .iter()
                .find(|m| m.name == n)
                .unwrap()
                .stats
                .overall
                .shared_access_share
        };
        assert!(share("modulo") >= 0.8, "{}", share("modulo"));
        assert!(share("frequency") <= 0.2, "{}", share("frequency"));
        assert!(share("learned") <= 0.2, "{}", share("learned"));
        assert_eq!(share("none"), 0.0);
        // Every evaluation bag holds 2 cold IDs never seen before out of 10.
        assert!((s.report.unseen_access_share - 0.2).abs() < 1e-12);
    }

    #[test]
    fn learned_mapping_cuts_rows_per_bag_on_the_built_in_stream() {
        // The stream draws IDs in bursts of one co-access group; groups recurring in the history
        // are put in one row, so evaluation bags fetch fewer distinct rows than under universal
        // hashing, and fewer dissimilar IDs collide.
        let gen = CoAccessConfig {
            tables: 2,
            samples: 400,
            lookups: 40,
            id_space: 200_000,
            alpha: 1.05,
            group: 8,
            burst: 4,
            seed: 5,
        };
        let (trace, groups) = crate::coaccess::generate(&gen).unwrap();
        let s = run(
            Input {
                name: "built-in".into(),
                trace: trace.clone(),
                groups: Some(groups),
                generator: Some(gen),
            },
            &StudyConfig {
                rows: None,
                ..cfg(0)
            },
        )
        .unwrap();
        let o = |n: &str| {
            s.report
                .mappings
                .iter()
                .find(|m| m.name == n)
                .unwrap()
                .stats
                .overall
                .clone()
        };
        let (u, l) = (o("universal"), o("learned"));
        assert!(l.rows_per_bag_mean < u.rows_per_bag_mean, "{l:?} vs {u:?}");
        assert!(
            l.dissimilar_access_share.unwrap() < u.dissimilar_access_share.unwrap(),
            "{l:?} vs {u:?}"
        );
        // Mapped traces are in range.
        for (_, maps) in &s.maps {
            let m = map_trace(&trace, maps);
            m.check_rows(&[s.report.rows], "mapped").unwrap();
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        let tr = adversarial(32);
        let input = || Input {
            name: "x".into(),
            trace: tr.clone(),
            groups: None,
            generator: None,
        };
        for c in [
            StudyConfig {
                hot_share: 1.0,
                ..cfg(32)
            },
            StudyConfig {
                history_share: 0.0,
                ..cfg(32)
            },
            StudyConfig {
                devices: 0,
                ..cfg(32)
            },
            StudyConfig {
                rows: Some(1),
                ..cfg(32)
            },
            StudyConfig {
                ids_per_row: 0.5,
                ..cfg(32)
            },
        ] {
            assert!(run(input(), &c).is_err(), "{c:?}");
        }
    }
}
