//! The scenario file (TOML): global settings, the system description, and one `[[model]]` table
//! per model. Unknown keys and out-of-range values are errors that name the file and the key
//! (`docs/scenario.md` lists every key with its unit, default and source).

use pifs_systems::systems::System;
use pifs_systems::SysConfig;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// How the models of a scenario depend on each other (XRBench's three execution patterns). The
/// `after` links decide it; the file's `mode` must agree, so a typo cannot silently change the
/// scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// One dependency tree: every model but the first runs `after` another one.
    Cascaded,
    /// Independent arrival streams, no `after`.
    Concurrent,
    /// Cascades and independent models at once (at least one `after`, at least two roots).
    CascadedConcurrent,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Cascaded => "cascaded",
            Mode::Concurrent => "concurrent",
            Mode::CascadedConcurrent => "cascaded-concurrent",
        }
    }
}

/// Inter-arrival times of a model's requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrival {
    /// Exponential inter-arrival times (a Poisson process) of mean 1/rate.
    Poisson,
    /// One request every 1/rate, the first at time 0 (XRBench's frame clock, without jitter).
    Periodic,
}

impl Arrival {
    pub fn name(self) -> &'static str {
        match self {
            Arrival::Poisson => "poisson",
            Arrival::Periodic => "periodic",
        }
    }
}

/// How requests of different models share the switch and the host link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Contention {
    /// One request batch at a time, first come first served, not preempted; a batch holds the
    /// fabric for its whole isolated latency (pessimistic: no overlap between batches).
    Serial,
    /// The next batch may start once the previous one's most utilised resource has done its
    /// work (its busy time); latency is still the isolated latency (optimistic: perfect overlap
    /// of everything but the bottleneck).
    Pipelined,
}

impl Contention {
    pub fn name(self) -> &'static str {
        match self {
            Contention::Serial => "serial",
            Contention::Pipelined => "pipelined",
        }
    }
}

/// Index distribution of a generated workload.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dist {
    Uniform,
    Zipf(f64),
}

/// Where a model's request batches come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Workload {
    /// A DeepRecSys model (rm1, rm2, rm3) generated with `pifs_dlrm::generate`.
    Preset { name: String, dist: Dist },
    /// A trace `.npz` (dlrm_datasets layout), cut into requests of `batch` samples; synthetic
    /// weights of `dim` floats, `rows` rows per table.
    Trace {
        path: PathBuf,
        rows: u64,
        dim: usize,
        num_tables: Option<usize>,
    },
}

/// One model of a scenario, validated.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelSpec {
    pub name: String,
    pub workload: Workload,
    /// Samples per request.
    pub batch: usize,
    /// Requests per second (roots only; a model with `after` runs once per frame of its root).
    pub rate_hz: Option<f64>,
    /// Arrival process of a root (a model with `after` has none of its own; unused there).
    pub arrival: Arrival,
    /// Deadline in microseconds, from the arrival of the frame at the root of the model's
    /// cascade (end to end; for a root, from its own arrival).
    pub deadline_us: f64,
    /// Index of the model this one runs after (defined earlier in the file).
    pub after: Option<usize>,
}

/// A validated scenario.
#[derive(Clone, Debug)]
pub struct Scenario {
    /// Where it came from (file name or "built-in default").
    pub source: String,
    pub mode: Mode,
    /// Arrivals are generated in [0, duration); every request is then served or dropped.
    pub duration_ms: f64,
    pub seed: u64,
    pub systems: Vec<System>,
    /// Distinct request batches per model (reused cyclically).
    pub pool: usize,
    pub contention: Contention,
    /// Drop a request that has not started by its deadline (XRBench's runtime does).
    pub drop_late: bool,
    /// Steepness of the real-time score relative to the deadline.
    pub rt_k: f64,
    pub preset: Option<String>,
    pub set: Vec<String>,
    pub config: SysConfig,
    pub models: Vec<ModelSpec>,
}

/// Default `rt_k`: XRBench v0.1's k = 15 per ms at a 60 fps deadline (16.7 ms) is k * D = 250.
pub const DEFAULT_RT_K: f64 = 250.0;
/// Default distinct request batches per model.
pub const DEFAULT_POOL: usize = 8;

fn default_seed() -> u64 {
    1
}
fn default_systems() -> Vec<String> {
    vec!["pond".into(), "pifs".into()]
}
fn default_pool() -> usize {
    DEFAULT_POOL
}
fn default_contention() -> Contention {
    Contention::Serial
}
fn default_true() -> bool {
    true
}
fn default_rt_k() -> f64 {
    DEFAULT_RT_K
}
fn default_batch() -> usize {
    4
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    mode: Mode,
    duration_ms: f64,
    #[serde(default = "default_seed")]
    seed: u64,
    #[serde(default = "default_systems")]
    systems: Vec<String>,
    #[serde(default = "default_pool")]
    pool: usize,
    #[serde(default = "default_contention")]
    contention: Contention,
    #[serde(default = "default_true")]
    drop_late: bool,
    #[serde(default = "default_rt_k")]
    rt_k: f64,
    #[serde(default)]
    system: RawSystem,
    model: Vec<RawModel>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSystem {
    preset: Option<String>,
    #[serde(default)]
    set: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    name: String,
    workload: String,
    #[serde(default = "default_batch")]
    batch: usize,
    dist: Option<String>,
    alpha: Option<f64>,
    rows: Option<u64>,
    dim: Option<usize>,
    num_tables: Option<usize>,
    rate_hz: Option<f64>,
    arrival: Option<Arrival>,
    deadline_us: f64,
    after: Option<String>,
}

/// Most requests one run may generate (all models together).
pub const MAX_REQUESTS: f64 = 2.0e6;

fn range(key: &str, v: f64, lo: f64, hi: f64, unit: &str) -> Result<(), String> {
    if v.is_finite() && v > lo && v <= hi {
        Ok(())
    } else {
        Err(format!(
            "{key} = {v} {unit}: must be above {lo} and at most {hi}"
        ))
    }
}

impl Scenario {
    /// Parse and validate a scenario. `source` names the file in errors; trace paths are
    /// relative to `base_dir` (the file's folder).
    pub fn parse(text: &str, source: &str, base_dir: &Path) -> Result<Scenario, String> {
        let raw: RawScenario = toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|sp| {
                    let start = sp.start.min(text.len());
                    let line_no = text[..start].matches('\n').count() + 1;
                    // The key on that line, when the error is about a value.
                    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                    let whole = text[line_start..].lines().next().unwrap_or("");
                    // A missing key has no line of its own: the span is the enclosing table.
                    let missing = e.message().starts_with("missing field");
                    match whole.split_once('=') {
                        Some((k, _)) if !missing && !k.trim().is_empty() && !k.contains('[') => {
                            format!(" (line {line_no}): {}", k.trim())
                        }
                        _ => format!(" (line {line_no})"),
                    }
                })
                .unwrap_or_default();
            format!("{source}{at}: {}", e.message().trim())
        })?;
        Self::validate(raw, source, base_dir).map_err(|e| format!("{source}: {e}"))
    }

    fn validate(raw: RawScenario, source: &str, base_dir: &Path) -> Result<Scenario, String> {
        range("duration_ms", raw.duration_ms, 0.0, 10_000.0, "ms")?;
        if raw.pool == 0 || raw.pool > 1000 {
            return Err(format!("pool = {}: must be 1..=1000", raw.pool));
        }
        range("rt_k", raw.rt_k, 0.0, 1e6, "(per deadline)")?;
        if raw.systems.is_empty() {
            return Err("systems: empty (give pond, beacon-d, beacon-s or pifs)".into());
        }
        let mut systems = Vec::new();
        for s in &raw.systems {
            let sys = System::ALL
                .into_iter()
                .find(|x| x.name() == s)
                .ok_or_else(|| {
                    format!("systems: unknown system {s:?} (pond, beacon-d, beacon-s, pifs)")
                })?;
            if systems.contains(&sys) {
                return Err(format!("systems: {s} listed twice"));
            }
            systems.push(sys);
        }
        let mut config = match &raw.system.preset {
            Some(p) => SysConfig::preset(p).map_err(|e| format!("system.preset: {e}"))?,
            None => SysConfig::default(),
        };
        for kv in &raw.system.set {
            config.set(kv).map_err(|e| format!("system.set: {e}"))?;
        }
        if raw.model.is_empty() {
            return Err("no [[model]] table".into());
        }
        let mut models: Vec<ModelSpec> = Vec::new();
        for (i, m) in raw.model.iter().enumerate() {
            let key = format!("model[{i}]");
            models.push(model_spec(m, &key, &models, base_dir)?);
        }
        let mode = derived_mode(&models);
        if mode != raw.mode {
            return Err(format!(
                "mode = {:?}, but the models' `after` links make the scenario {:?}",
                raw.mode.name(),
                mode.name()
            ));
        }
        let requests: f64 = models
            .iter()
            .map(|m| root_rate(&models, m) * raw.duration_ms / 1000.0)
            .sum();
        if requests > MAX_REQUESTS {
            return Err(format!(
                "{requests:.0} requests (rates x duration_ms): at most {MAX_REQUESTS:.0} per run"
            ));
        }
        Ok(Scenario {
            source: source.to_string(),
            mode,
            duration_ms: raw.duration_ms,
            seed: raw.seed,
            systems,
            pool: raw.pool,
            contention: raw.contention,
            drop_late: raw.drop_late,
            rt_k: raw.rt_k,
            preset: raw.system.preset,
            set: raw.system.set,
            config,
            models,
        })
    }

    /// Index of the root of model `i`'s cascade (itself when it has no `after`).
    pub fn root(&self, i: usize) -> usize {
        root_of(&self.models, i)
    }
}

fn root_of(models: &[ModelSpec], mut i: usize) -> usize {
    while let Some(p) = models[i].after {
        i = p;
    }
    i
}

fn root_rate(models: &[ModelSpec], m: &ModelSpec) -> f64 {
    match m.after {
        None => m.rate_hz.unwrap_or(0.0),
        Some(p) => models[root_of(models, p)].rate_hz.unwrap_or(0.0),
    }
}

/// The mode that the `after` links describe.
pub fn derived_mode(models: &[ModelSpec]) -> Mode {
    let roots = models.iter().filter(|m| m.after.is_none()).count();
    let linked = models.len() - roots;
    match (linked, roots) {
        (0, _) => Mode::Concurrent,
        (_, 1) => Mode::Cascaded,
        _ => Mode::CascadedConcurrent,
    }
}

fn model_spec(
    m: &RawModel,
    key: &str,
    earlier: &[ModelSpec],
    base_dir: &Path,
) -> Result<ModelSpec, String> {
    let name = m.name.trim();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "{key}.name = {:?}: use letters, digits, '-' and '_'",
            m.name
        ));
    }
    if earlier.iter().any(|e| e.name == name) {
        return Err(format!("{key}.name = {name:?}: defined twice"));
    }
    if m.batch == 0 || m.batch > 65_536 {
        return Err(format!("{key}.batch = {}: must be 1..=65536", m.batch));
    }
    range(&format!("{key}.deadline_us"), m.deadline_us, 0.0, 1e9, "us")?;
    let after = match &m.after {
        None => None,
        Some(a) => Some(earlier.iter().position(|e| &e.name == a).ok_or_else(|| {
            format!("{key}.after = {a:?}: must name a model defined above this one")
        })?),
    };
    let (rate_hz, arrival) = match (after, m.rate_hz, m.arrival) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(format!(
                "{key}: a model with `after` runs once per frame of the model it follows; \
                 remove rate_hz and arrival"
            ))
        }
        (Some(_), None, None) => (None, Arrival::Periodic),
        (None, None, _) => return Err(format!("{key}.rate_hz: missing (requests per second)")),
        (None, Some(r), a) => {
            range(&format!("{key}.rate_hz"), r, 0.0, 1e9, "Hz")?;
            (Some(r), a.unwrap_or(Arrival::Poisson))
        }
    };
    let workload = if m.workload.ends_with(".npz") {
        if m.dist.is_some() || m.alpha.is_some() {
            return Err(format!(
                "{key}: dist and alpha are for rm1|rm2|rm3, not a trace"
            ));
        }
        let rows = m
            .rows
            .ok_or_else(|| format!("{key}.rows: missing (rows per table of the trace)"))?;
        let dim = m
            .dim
            .ok_or_else(|| format!("{key}.dim: missing (floats per embedding row)"))?;
        if rows == 0 {
            return Err(format!("{key}.rows = 0: must be at least 1"));
        }
        if dim == 0 || dim > 4096 {
            return Err(format!("{key}.dim = {dim}: must be 1..=4096"));
        }
        Workload::Trace {
            path: base_dir.join(&m.workload),
            rows,
            dim,
            num_tables: m.num_tables,
        }
    } else {
        if pifs_dlrm::preset(&m.workload).is_none() {
            return Err(format!(
                "{key}.workload = {:?}: rm1, rm2, rm3 or a trace file ending in .npz",
                m.workload
            ));
        }
        if m.rows.is_some() || m.dim.is_some() || m.num_tables.is_some() {
            return Err(format!(
                "{key}: rows, dim and num_tables are for a trace workload"
            ));
        }
        let dist = match (m.dist.as_deref(), m.alpha) {
            (None | Some("uniform"), None) => Dist::Uniform,
            (Some("zipf"), a) => {
                let a = a.unwrap_or(1.05);
                range(&format!("{key}.alpha"), a, 0.0, 100.0, "")?;
                Dist::Zipf(a)
            }
            (None | Some("uniform"), Some(_)) => {
                return Err(format!("{key}.alpha: only with dist = \"zipf\""))
            }
            (Some(d), _) => return Err(format!("{key}.dist = {d:?}: uniform or zipf")),
        };
        Workload::Preset {
            name: m.workload.to_ascii_lowercase(),
            dist,
        }
    };
    Ok(ModelSpec {
        name: name.to_string(),
        workload,
        batch: m.batch,
        rate_hz,
        arrival,
        deadline_us: m.deadline_us,
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "mode = \"concurrent\"\nduration_ms = 1\n";
    const A: &str =
        "[[model]]\nname = \"a\"\nworkload = \"rm1\"\nrate_hz = 1000\ndeadline_us = 10\n";

    fn parse(text: &str) -> Result<Scenario, String> {
        Scenario::parse(text, "s.toml", Path::new("."))
    }

    #[test]
    fn defaults_and_the_built_in_file() {
        let s = parse(&format!("{HEAD}{A}")).unwrap();
        assert_eq!(s.systems, vec![System::Pond, System::Pifs]);
        assert_eq!(
            (s.pool, s.contention, s.drop_late),
            (DEFAULT_POOL, Contention::Serial, true)
        );
        assert_eq!(s.models[0].arrival, Arrival::Poisson);
        assert_eq!(s.models[0].batch, 4);
        let d = parse(crate::DEFAULT_SCENARIO).unwrap();
        assert_eq!(d.mode, Mode::Concurrent);
        assert_eq!(d.models.len(), 2);
    }

    #[test]
    fn mode_follows_the_after_links() {
        let b = "[[model]]\nname = \"b\"\nworkload = \"rm3\"\nafter = \"a\"\ndeadline_us = 10\n";
        let c = "[[model]]\nname = \"c\"\nworkload = \"rm2\"\nrate_hz = 10\ndeadline_us = 10\n";
        let casc = format!("{}{A}{b}", HEAD.replace("concurrent", "cascaded"));
        let s = parse(&casc).unwrap();
        assert_eq!(
            (s.mode, s.models[1].after, s.root(1)),
            (Mode::Cascaded, Some(0), 0)
        );
        let cc = format!(
            "{}{A}{b}{c}",
            HEAD.replace("concurrent", "cascaded-concurrent")
        );
        assert_eq!(parse(&cc).unwrap().mode, Mode::CascadedConcurrent);
        // The same models under the wrong mode name.
        let e = parse(&format!("{HEAD}{A}{b}")).unwrap_err();
        assert!(
            e.starts_with("s.toml: mode") && e.contains("cascaded"),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_file_and_the_key() {
        let cases = [
            (A.replace("rate_hz", "rate"), "rate"),
            (A.replace("10\n", "\"ten\"\n"), "deadline_us"),
            (A.replace("1000", "0"), "model[0].rate_hz"),
            (A.replace("rm1", "rm7"), "model[0].workload"),
            (format!("{A}{A}"), "model[1].name"),
            (A.replace("rate_hz = 1000\n", ""), "model[0].rate_hz"),
            (A.replace("rm1", "t.npz"), "model[0].rows"),
            (format!("{A}after = \"a\"\n"), "model[0].after"),
            (format!("pool = 0\n{A}"), "pool"),
            (
                A.replace("deadline_us = 10\n", ""),
                "missing field `deadline_us`",
            ),
            (format!("[system]\npreset = \"nope\"\n{A}"), "system.preset"),
        ];
        // A missing top-level key is not blamed on the key of the first line.
        let e = parse(&format!("duration_ms = 1\n{A}")).unwrap_err();
        assert_eq!(e, "s.toml (line 1): missing field `mode`");
        for (body, key) in cases {
            let e = parse(&format!("{HEAD}{body}")).unwrap_err();
            assert!(e.starts_with("s.toml") && e.contains(key), "{key}: {e}");
            assert!(!e.contains('\n'), "one line: {e}");
        }
    }
}
