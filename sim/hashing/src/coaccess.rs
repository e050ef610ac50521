//! The built-in raw-ID stream: an RM-shaped trace (tables, pooling factor from a DLRM preset)
//! whose IDs come from a large ID space with Zipf popularity and co-access structure.
//!
//! The ID space `0..id_space` of each table is cut into groups of `group` consecutive ranks;
//! group popularity is Zipf(`alpha`) over the groups (rank 1 hottest), and a bag is filled by
//! drawing a group, then `burst` members of it uniformly (with repetition), until it holds
//! `lookups` IDs. IDs of one group therefore appear together: the co-access a learned mapping
//! can find (e.g. items of one category or one session). Ranks are scattered over the ID space
//! by [`pifs_dlrm::RowScatter`], so hot IDs are not the small numbers. The structure is a
//! modelling choice: real traces have co-access, its shape differs by data set; `--trace` uses a
//! real one.

use std::collections::HashMap;

use pifs_dlrm::{RowScatter, Trace, ZipfSampler};
use pifs_rng::Rng;
use serde::Serialize;

use crate::error::HashError;

/// Parameters of the built-in stream.
#[derive(Clone, Debug, Serialize)]
pub struct CoAccessConfig {
    /// Embedding tables.
    pub tables: usize,
    /// Samples (bags per table).
    pub samples: usize,
    /// IDs per bag (pooling factor).
    pub lookups: usize,
    /// Raw IDs per table.
    pub id_space: u64,
    /// Zipf exponent of group popularity.
    pub alpha: f64,
    /// IDs per co-access group.
    pub group: u64,
    /// IDs drawn from a group each time it is picked for a bag.
    pub burst: usize,
    /// Seed of the stream.
    pub seed: u64,
}

/// Largest trace the generator builds (indices), to fail with a message instead of swapping.
pub const MAX_LOOKUPS: usize = 50_000_000;

/// The raw trace, and per table the ground-truth co-access group of every ID it holds.
pub fn generate(cfg: &CoAccessConfig) -> Result<(Trace, Vec<HashMap<u64, u64>>), HashError> {
    if cfg.tables == 0 {
        return Err(HashError::new("tables", "0, must be at least 1"));
    }
    if cfg.samples < 2 {
        return Err(HashError::new(
            "--batch",
            format!(
                "{}, must be at least 2 (history and evaluation)",
                cfg.samples
            ),
        ));
    }
    if cfg.lookups == 0 {
        return Err(HashError::new("--lookups", "0, must be at least 1"));
    }
    if cfg.group == 0 || cfg.group > cfg.id_space {
        return Err(HashError::new(
            "--group",
            format!("{}, must be 1..=--id-space ({})", cfg.group, cfg.id_space),
        ));
    }
    if cfg.id_space > 1 << 62 {
        return Err(HashError::new(
            "--id-space",
            format!("{}, must be at most 2^62", cfg.id_space),
        ));
    }
    if cfg.burst == 0 {
        return Err(HashError::new("--burst", "0, must be at least 1"));
    }
    let total = cfg
        .tables
        .checked_mul(cfg.samples)
        .and_then(|n| n.checked_mul(cfg.lookups))
        .filter(|&n| n <= MAX_LOOKUPS)
        .ok_or_else(|| {
            HashError::new(
                "--batch",
                format!(
                    "{} tables x {} samples x {} lookups exceeds {MAX_LOOKUPS} IDs",
                    cfg.tables, cfg.samples, cfg.lookups
                ),
            )
        })?;
    let groups = cfg.id_space / cfg.group;
    let zipf = ZipfSampler::new(groups, cfg.alpha)
        .map_err(|_| HashError::new("--alpha", format!("{}, must be finite and > 0", cfg.alpha)))?;
    let mut indices = Vec::with_capacity(total);
    let mut truth = Vec::with_capacity(cfg.tables);
    let mut master = Rng::new(cfg.seed);
    for t in 0..cfg.tables {
        let mut rng = master.fork(t as u64);
        let scatter = RowScatter::new(t as u64, cfg.id_space);
        let mut group_of: HashMap<u64, u64> = HashMap::new();
        for _ in 0..cfg.samples {
            let mut left = cfg.lookups;
            while left > 0 {
                let g = zipf.sample(&mut rng) - 1;
                for _ in 0..cfg.burst.min(left) {
                    let id = scatter.map(g * cfg.group + rng.below(cfg.group));
                    group_of.insert(id, g);
                    indices.push(id as i64);
                }
                left -= cfg.burst.min(left);
            }
        }
        truth.push(group_of);
    }
    let offsets = (0..=cfg.tables * cfg.samples)
        .map(|i| (i * cfg.lookups) as i64)
        .collect();
    Ok((
        Trace {
            tables: cfg.tables,
            batch: cfg.samples,
            indices,
            offsets,
        },
        truth,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> CoAccessConfig {
        CoAccessConfig {
            tables: 2,
            samples: 50,
            lookups: 10,
            id_space: 100_000,
            alpha: 1.05,
            group: 8,
            burst: 4,
            seed: 3,
        }
    }

    #[test]
    fn bags_are_bursts_of_one_group() {
        let (tr, truth) = generate(&cfg()).unwrap();
        tr.validate("gen").unwrap();
        assert_eq!(tr.lookups(), 2 * 50 * 10);
        for (t, group_of) in truth.iter().enumerate() {
            for b in 0..50 {
                let bag = tr.bag(t, b);
                // Bursts of 4, 4, then 2: positions 0-3, 4-7 and 8-9 are each one group.
                for chunk in bag.chunks(4) {
                    let g: Vec<u64> = chunk.iter().map(|&id| group_of[&(id as u64)]).collect();
                    assert!(g.iter().all(|&x| x == g[0]), "table {t} bag {b}: {g:?}");
                }
                assert!(bag.iter().all(|&id| (id as u64) < 100_000));
            }
        }
        assert_eq!(generate(&cfg()).unwrap().0, tr, "seeded");
    }

    #[test]
    fn rejects_bad_parameters() {
        let bad = [
            CoAccessConfig { group: 0, ..cfg() },
            CoAccessConfig {
                samples: 1,
                ..cfg()
            },
            CoAccessConfig { burst: 0, ..cfg() },
            CoAccessConfig {
                alpha: 0.0,
                ..cfg()
            },
            CoAccessConfig {
                samples: 1 << 30,
                ..cfg()
            },
        ];
        for c in bad {
            assert!(generate(&c).is_err(), "{c:?}");
        }
    }
}
