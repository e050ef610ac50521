//! Running a scenario: request batches per model, their service on each system (measured with
//! `pifs_systems::systems::run_batch`, the same models `pifs compare` runs), arrivals, the shared
//! queue ([`crate::queue`]) and the per-model results with the score ([`crate::score`]).

use crate::queue::{simulate, Outcome, Service, Stream};
use crate::score::{model_score, scenario_score};
use crate::spec::{Arrival, Contention, Dist, ModelSpec, Scenario, Workload};
use pifs_dlrm::{IndexDist, Trace, Weights};
use pifs_rng::Rng;
use pifs_sim::system::Backend;
use pifs_sim::SimError;
use pifs_systems::systems::run_batch;
use serde::Serialize;

/// Why a run could not finish.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The workload cannot be built (unreadable trace, rows out of range): bad input.
    #[error("{0}")]
    Input(String),
    /// A system model failed.
    #[error("{model} on {system}: {err}")]
    Sim {
        model: String,
        system: String,
        err: SimError,
    },
}

/// Latency summary in microseconds (nearest-rank percentiles).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Dist5 {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Dist5 {
    /// Summary of `sorted` (ascending, non-empty) values in ns, reported in us.
    fn of_sorted_ns(sorted: &[f64]) -> Dist5 {
        let n = sorted.len();
        let pct = |p: f64| sorted[((p / 100.0 * n as f64).ceil() as usize).clamp(1, n) - 1] / 1e3;
        Dist5 {
            mean: sorted.iter().sum::<f64>() / n as f64 / 1e3,
            p50: pct(50.0),
            p90: pct(90.0),
            p99: pct(99.0),
            max: sorted[n - 1] / 1e3,
        }
    }
}

/// One model on one system.
#[derive(Clone, Debug, Serialize)]
pub struct ModelResult {
    pub model: String,
    pub requests: usize,
    pub completed: usize,
    /// Dropped because they could not start by their deadline (or their predecessor was dropped).
    pub dropped: usize,
    /// Completed after their deadline.
    pub late: usize,
    /// (dropped + late) / requests.
    pub miss_rate: f64,
    /// End-to-end latency of the completed requests (frame arrival at the root to completion).
    pub latency_us: Option<Dist5>,
    /// Mean isolated service time and occupancy of the model's request batches.
    pub service_us_mean: f64,
    pub occupancy_us_mean: f64,
    pub rt_score_mean: f64,
    pub qoe: f64,
    pub score: f64,
    /// Sorted end-to-end latencies of the completed requests, ns (for the CDF plot).
    #[serde(skip)]
    pub latencies_ns: Vec<f64>,
}

/// One system.
#[derive(Clone, Debug, Serialize)]
pub struct SystemResult {
    pub system: String,
    /// Sum over models of requests per second x mean occupancy (1 = the fabric never idles).
    pub offered_load: f64,
    /// Busy time of the fabric over the time to serve everything.
    pub utilisation: f64,
    /// XRBench-style score, 0-100.
    pub score: f64,
    pub models: Vec<ModelResult>,
}

/// A model as run (the scenario echo in the report).
#[derive(Clone, Debug, Serialize)]
pub struct ModelEcho {
    pub name: String,
    pub workload: String,
    pub batch: usize,
    /// Distinct request batches, reused cyclically.
    pub distinct_batches: usize,
    pub lookups_per_request: usize,
    /// Requests per second (a cascaded model's is its root's).
    pub rate_hz: f64,
    pub arrival: String,
    pub deadline_us: f64,
    pub after: Option<String>,
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub source: String,
    pub mode: String,
    pub duration_ms: f64,
    pub seed: u64,
    pub pool: usize,
    pub contention: String,
    pub drop_late: bool,
    pub rt_k: f64,
    pub backend: String,
    pub preset: Option<String>,
    pub set: Vec<String>,
    /// Every system parameter as run (`pifs params` keys).
    pub config: std::collections::BTreeMap<String, String>,
    pub models: Vec<ModelEcho>,
    pub systems: Vec<SystemResult>,
}

/// Seed of sub-stream `stream` of the scenario seed (independent of the order of use).
fn sub_seed(seed: u64, stream: u64) -> u64 {
    Rng::new(seed).fork(stream).next_u64()
}

/// Samples `range` of every table of `t` (bags stay table-major).
fn slice_samples(t: &Trace, range: std::ops::Range<usize>) -> Trace {
    let mut indices = Vec::new();
    let mut offsets = vec![0i64];
    for table in 0..t.tables {
        for b in range.clone() {
            indices.extend_from_slice(t.bag(table, b));
            offsets.push(indices.len() as i64);
        }
    }
    Trace {
        tables: t.tables,
        batch: range.len(),
        indices,
        offsets,
    }
}

/// The distinct request batches of model `idx` (at most `pool`) and its weights.
pub fn model_batches(
    m: &ModelSpec,
    idx: usize,
    pool: usize,
    seed: u64,
) -> Result<(Vec<Trace>, Weights), RunError> {
    match &m.workload {
        Workload::Preset { name, dist } => {
            let p = pifs_dlrm::preset(name).expect("preset checked by the parser");
            let traces = (0..pool)
                .map(|k| {
                    let dist = match dist {
                        Dist::Uniform => IndexDist::Uniform,
                        Dist::Zipf(a) => IndexDist::Zipf { alpha: *a },
                    };
                    let s = sub_seed(seed, 1000 * (idx as u64 + 1) + k as u64);
                    pifs_dlrm::generate(p.tables, p.rows, m.batch, p.lookups, dist, s)
                        .map_err(|e| RunError::Input(format!("model {}: {e}", m.name)))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((traces, Weights::Synthetic { dim: p.dim }))
        }
        Workload::Trace {
            path,
            rows,
            dim,
            num_tables,
        } => {
            let t = pifs_dlrm::read_trace_npz(path, *num_tables)
                .map_err(|e| RunError::Input(format!("model {}: {e}", m.name)))?;
            let src = path.display().to_string();
            t.check_rows(&[*rows], &src)
                .map_err(|e| RunError::Input(format!("model {}: {e}", m.name)))?;
            let k = (t.batch / m.batch).min(pool);
            if k == 0 {
                return Err(RunError::Input(format!(
                    "model {}: {src}: {} samples, fewer than batch = {}",
                    m.name, t.batch, m.batch
                )));
            }
            let traces = (0..k)
                .map(|j| slice_samples(&t, j * m.batch..(j + 1) * m.batch))
                .collect();
            Ok((traces, Weights::Synthetic { dim: *dim }))
        }
    }
}

/// Arrival times (ns) in [0, duration) of a root model.
pub fn arrivals(rate_hz: f64, arrival: Arrival, duration_ns: f64, seed: u64) -> Vec<f64> {
    let mean_gap = 1e9 / rate_hz;
    let mut out = Vec::new();
    match arrival {
        Arrival::Periodic => {
            let mut n = 0usize;
            while (n as f64) * mean_gap < duration_ns {
                out.push(n as f64 * mean_gap);
                n += 1;
            }
        }
        Arrival::Poisson => {
            let mut rng = Rng::new(seed);
            let mut t = -(1.0 - rng.unit_f64()).ln() * mean_gap;
            while t < duration_ns {
                out.push(t);
                t += -(1.0 - rng.unit_f64()).ln() * mean_gap;
            }
        }
    }
    out
}

fn workload_label(m: &ModelSpec) -> String {
    match &m.workload {
        Workload::Preset { name, dist } => match dist {
            Dist::Uniform => format!("{name} (uniform)"),
            Dist::Zipf(a) => format!("{name} (zipf {a})"),
        },
        Workload::Trace { path, .. } => path.display().to_string(),
    }
}

/// Run the scenario on every system it lists; `progress` hears what is being measured.
pub fn run(
    sc: &Scenario,
    backend: Backend,
    mut progress: impl FnMut(&str),
) -> Result<Report, RunError> {
    let duration_ns = sc.duration_ms * 1e6;
    let mut batches = Vec::new();
    for (i, m) in sc.models.iter().enumerate() {
        batches.push(model_batches(m, i, sc.pool, sc.seed)?);
    }
    let root_rate = |i: usize| sc.models[sc.root(i)].rate_hz.expect("a root has a rate");
    let arrivals_of: Vec<Vec<f64>> = sc
        .models
        .iter()
        .enumerate()
        .map(|(i, m)| match (m.after, m.rate_hz) {
            (None, Some(r)) => arrivals(
                r,
                m.arrival,
                duration_ns,
                sub_seed(sc.seed, 2000 + i as u64),
            ),
            _ => Vec::new(),
        })
        .collect();
    let echo: Vec<ModelEcho> = sc
        .models
        .iter()
        .zip(&batches)
        .enumerate()
        .map(|(i, (m, (traces, _)))| ModelEcho {
            name: m.name.clone(),
            workload: workload_label(m),
            batch: m.batch,
            distinct_batches: traces.len(),
            lookups_per_request: traces[0].lookups(),
            rate_hz: root_rate(i),
            arrival: sc.models[sc.root(i)].arrival.name().to_string(),
            deadline_us: m.deadline_us,
            after: m.after.map(|a| sc.models[a].name.clone()),
        })
        .collect();
    let mut systems = Vec::new();
    for &sys in &sc.systems {
        progress(&format!("measuring request batches on {}", sys.name()));
        let mut streams = Vec::new();
        for (i, (m, (traces, weights))) in sc.models.iter().zip(&batches).enumerate() {
            let mut service = Vec::new();
            for (k, t) in traces.iter().enumerate() {
                let s = sub_seed(sc.seed, 1000 * (i as u64 + 1) + k as u64);
                let r = run_batch(sys, t, weights, &sc.config, backend, s).map_err(|err| {
                    RunError::Sim {
                        model: m.name.clone(),
                        system: sys.name().to_string(),
                        err,
                    }
                })?;
                let busy = r
                    .resources
                    .first()
                    .map(|x| x.utilisation * r.latency_ns)
                    .unwrap_or(r.latency_ns);
                service.push(Service {
                    latency_ns: r.latency_ns,
                    occupancy_ns: match sc.contention {
                        Contention::Serial => r.latency_ns,
                        Contention::Pipelined => busy.min(r.latency_ns),
                    },
                });
            }
            streams.push(Stream {
                arrivals: arrivals_of[i].clone(),
                after: m.after,
                deadline_ns: m.deadline_us * 1e3,
                service,
            });
        }
        let out = simulate(&streams, sc.drop_late);
        systems.push(system_result(sc, sys.name(), &streams, &out, &root_rate));
    }
    Ok(Report {
        source: sc.source.clone(),
        mode: sc.mode.name().to_string(),
        duration_ms: sc.duration_ms,
        seed: sc.seed,
        pool: sc.pool,
        contention: sc.contention.name().to_string(),
        drop_late: sc.drop_late,
        rt_k: sc.rt_k,
        backend: backend.name().to_string(),
        preset: sc.preset.clone(),
        set: sc.set.clone(),
        config: sc.config.flat().into_iter().collect(),
        models: echo,
        systems,
    })
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        0.0
    } else {
        s / n as f64
    }
}

fn system_result(
    sc: &Scenario,
    name: &str,
    streams: &[Stream],
    out: &[Outcome],
    root_rate: &dyn Fn(usize) -> f64,
) -> SystemResult {
    let mut models = Vec::new();
    let mut scores = Vec::new();
    let mut offered = 0.0;
    for (i, (m, st)) in sc.models.iter().zip(streams).enumerate() {
        let mine: Vec<&Outcome> = out.iter().filter(|o| o.stream == i).collect();
        let mut lat: Vec<f64> = mine.iter().filter_map(|o| o.latency_ns()).collect();
        lat.sort_by(f64::total_cmp);
        let dropped = mine.iter().filter(|o| o.dropped()).count();
        let late = mine.iter().filter(|o| o.late()).count();
        let s = model_score(&mine, st.deadline_ns, sc.rt_k);
        let occ = mean(st.service.iter().map(|x| x.occupancy_ns));
        offered += root_rate(i) * occ / 1e9;
        scores.push(s);
        models.push(ModelResult {
            model: m.name.clone(),
            requests: mine.len(),
            completed: lat.len(),
            dropped,
            late,
            miss_rate: if mine.is_empty() {
                0.0
            } else {
                (dropped + late) as f64 / mine.len() as f64
            },
            latency_us: (!lat.is_empty()).then(|| Dist5::of_sorted_ns(&lat)),
            service_us_mean: mean(st.service.iter().map(|x| x.latency_ns)) / 1e3,
            occupancy_us_mean: occ / 1e3,
            rt_score_mean: s.rt_mean,
            qoe: s.qoe,
            score: s.score,
            latencies_ns: lat,
        });
    }
    let busy: f64 = out
        .iter()
        .filter_map(|o| {
            let st = &streams[o.stream];
            o.start_ns
                .map(|_| st.service[o.frame % st.service.len()].occupancy_ns)
        })
        .sum();
    let end = out
        .iter()
        .filter_map(|o| o.complete_ns)
        .fold(sc.duration_ms * 1e6, f64::max);
    SystemResult {
        system: name.to_string(),
        offered_load: offered,
        utilisation: busy / end,
        score: scenario_score(&scores),
        models,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periodic_arrivals_fill_the_duration() {
        let a = arrivals(1e6, Arrival::Periodic, 10_000.0, 1);
        assert_eq!(a.len(), 10);
        assert_eq!(a[3], 3000.0);
    }

    #[test]
    fn poisson_arrivals_have_the_asked_rate() {
        // 20,000 arrivals expected; the count is Poisson (sd ~141): within 5 sd.
        let a = arrivals(1e6, Arrival::Poisson, 2e7, 9);
        assert!(
            (a.len() as f64 - 20_000.0).abs() < 5.0 * 20_000f64.sqrt(),
            "{}",
            a.len()
        );
        assert!(a.windows(2).all(|w| w[1] >= w[0]) && *a.last().unwrap() < 2e7);
    }

    /// Without contention (periodic requests far apart) every request takes exactly the
    /// isolated latency of its batch, computed here by calling run_batch directly.
    #[test]
    fn without_contention_latency_is_the_isolated_batch_latency() {
        let text =
            "mode = \"concurrent\"\nduration_ms = 0.2\nsystems = [\"pond\", \"pifs\"]\npool = 2\n\
                    [[model]]\nname = \"m\"\nworkload = \"rm3\"\nbatch = 1\nrate_hz = 50000\n\
                    arrival = \"periodic\"\ndeadline_us = 20\n";
        let sc = Scenario::parse(text, "t.toml", std::path::Path::new(".")).unwrap();
        let r = run(&sc, Backend::Model, |_| {}).unwrap();
        let (traces, w) = model_batches(&sc.models[0], 0, 2, sc.seed).unwrap();
        for (k, sys) in sc.systems.iter().enumerate() {
            let iso: Vec<f64> = traces
                .iter()
                .enumerate()
                .map(|(j, t)| {
                    let s = sub_seed(sc.seed, 1000 + j as u64);
                    run_batch(*sys, t, &w, &sc.config, Backend::Model, s)
                        .unwrap()
                        .latency_ns
                })
                .collect();
            let m = &r.systems[k].models[0];
            // 10 periodic requests alternate between the two batches.
            assert_eq!((m.requests, m.completed, m.dropped, m.late), (10, 10, 0, 0));
            let mut want: Vec<f64> = (0..10).map(|n| iso[n % 2]).collect();
            want.sort_by(f64::total_cmp);
            assert_eq!(m.latencies_ns, want, "{}", sys.name());
            assert_eq!(m.miss_rate, 0.0);
            let offered = 50_000.0 * (iso[0] + iso[1]) / 2.0 / 1e9;
            assert!((r.systems[k].offered_load - offered).abs() < 1e-12);
        }
    }

    #[test]
    fn slicing_keeps_each_tables_bags() {
        let t = pifs_dlrm::generate(3, 100, 8, 5, IndexDist::Uniform, 4).unwrap();
        let s = slice_samples(&t, 2..5);
        s.validate("slice").unwrap();
        for table in 0..3 {
            for b in 0..3 {
                assert_eq!(s.bag(table, b), t.bag(table, b + 2));
            }
        }
    }
}
