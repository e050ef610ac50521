//! Multi-model real-time scenarios (XRBench): several DLRM workloads on one switch at given rates
//! and deadlines, cascaded, concurrent and cascaded-concurrent; latency distributions, deadline
//! misses and a score.
//!
//! A scenario file ([`spec`]) lists the models, their request rates and deadlines, and which
//! model runs after which. Each model's request batches are served on each system by the same
//! timing models `pifs compare` uses ([`run`]); the requests of all models then share the
//! switch as one first-come-first-served server ([`queue`]), and the outcomes are scored the way
//! XRBench scores them ([`score`]). `docs/scenario.md` describes the model and its limits.

pub mod queue;
pub mod report;
pub mod run;
pub mod score;
pub mod spec;

pub use run::{run, Report, RunError};
pub use spec::Scenario;

/// The built-in default scenario (`scenarios/concurrent.toml`): RM1 and RM2 concurrent on Pond
/// and PIFS-Rec.
pub const DEFAULT_SCENARIO: &str = include_str!("../../../scenarios/concurrent.toml");
