//! ID-hashing study (learned hash functions): raw categorical IDs mapped into a smaller table by
//! modulo/universal hashing, frequency-ranked and co-access-learned mappings, with collision,
//! locality and load statistics.
//!
//! The hashing trick maps a large ID space into `R` rows and makes arbitrary (dissimilar) IDs
//! share rows; a mapping learned from history (Ghaemmaghami et al., "Learning to Collide",
//! arXiv 2203.15837) gives hot IDs their own rows and makes IDs that are accessed together share
//! the rest. [`run`] builds the mappings from a history window of a trace and measures them on the
//! following window: IDs per row, frequency-weighted collisions, rows per bag, LRU row-buffer
//! hit rate and device load. [`coaccess::generate`] is the built-in raw-ID stream.

pub mod coaccess;
mod error;
mod learn;
mod lru;
mod mapping;
mod stats;
mod study;
mod universal;

pub use coaccess::CoAccessConfig;
pub use error::HashError;
pub use learn::{co_access_rows, MIN_CO_ACCESS};
pub use lru::Lru;
pub use mapping::{Kind, TableMap};
pub use stats::{measure, MappingStats, Stats, ROW_HISTOGRAM};
pub use study::{map_trace, run, svg, Input, MappingReport, Report, Study, StudyConfig};
pub use universal::UniversalHash;
