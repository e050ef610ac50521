//! Built-in DLRM models (RM1-RM3) and seeded synthetic trace generators (uniform, Zipf, LRU
//! stack-distance profiles).

use pifs_rng::{splitmix64, Rng};
use serde::Serialize;

use crate::error::DlrmError;
use crate::stackdist::StackProfile;
use crate::trace::Trace;

/// A reference model's embedding configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ModelPreset {
    /// Lower-case name, e.g. "rm1".
    pub name: &'static str,
    /// Number of embedding tables.
    pub tables: usize,
    /// Rows per table.
    pub rows: u64,
    /// Embedding dimension.
    pub dim: usize,
    /// Lookups per table per sample (bag size).
    pub lookups: usize,
}

/// RM1 (DeepRecSys, Gupta et al. ISCA 2020): 8 tables x 4,000,000 rows, dim 32, 80 lookups.
pub const RM1: ModelPreset = ModelPreset {
    name: "rm1",
    tables: 8,
    rows: 4_000_000,
    dim: 32,
    lookups: 80,
};
/// RM2 (DeepRecSys): 32 tables x 500,000 rows, dim 64, 120 lookups.
pub const RM2: ModelPreset = ModelPreset {
    name: "rm2",
    tables: 32,
    rows: 500_000,
    dim: 64,
    lookups: 120,
};
/// RM3 (DeepRecSys): 10 tables x 2,000,000 rows, dim 32, 20 lookups.
pub const RM3: ModelPreset = ModelPreset {
    name: "rm3",
    tables: 10,
    rows: 2_000_000,
    dim: 32,
    lookups: 20,
};

/// Looks up a preset by name ("rm1", "rm2", "rm3", case-insensitive).
pub fn preset(name: &str) -> Option<ModelPreset> {
    [RM1, RM2, RM3]
        .into_iter()
        .find(|p| p.name.eq_ignore_ascii_case(name))
}

/// How synthetic indices are distributed over a table's rows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum IndexDist {
    /// Every row equally likely.
    Uniform,
    /// Rank k (1-based) has probability proportional to k^-alpha; ranks are scattered over row ids.
    Zipf {
        /// Exponent, finite and > 0 (1 and below are allowed).
        alpha: f64,
    },
    /// Replays an LRU stack-distance profile (dlrm `--data-trace-file` format, see
    /// [`StackProfile`]). Each table runs its own stream over all its bags (sample 0's lookups,
    /// then sample 1's, ...), starting from a fresh stack; profile id `x` becomes row `x mod rows`.
    StackDistance(StackProfile),
}

impl IndexDist {
    /// Short name for reports: `uniform`, `zipf 1.05`, `lru <profile file>`.
    pub fn label(&self) -> String {
        match self {
            IndexDist::Uniform => "uniform".to_string(),
            IndexDist::Zipf { alpha } => format!("zipf {alpha}"),
            IndexDist::StackDistance(p) => format!("lru {}", p.source),
        }
    }
}

/// Zipf sampler over ranks 1..=n by rejection-inversion (Hörmann and Derflinger 1996, "Rejection-inversion
/// to generate variates from monotone discrete distributions"), in the formulation of Apache Commons
/// RNG's `RejectionInversionZipfSampler`. Constant time per draw for any n; exact distribution.
#[derive(Clone, Debug)]
pub struct ZipfSampler {
    n: f64,
    alpha: f64,
    h_integral_x1: f64,
    h_integral_n: f64,
    s: f64,
}

impl ZipfSampler {
    /// A sampler over ranks `1..=n` with exponent `alpha`; `n >= 1`, `alpha` finite and > 0.
    pub fn new(n: u64, alpha: f64) -> Result<ZipfSampler, DlrmError> {
        if n == 0 {
            return Err(DlrmError::invalid("zipf", "rows", "must be at least 1"));
        }
        if !(alpha.is_finite() && alpha > 0.0) {
            return Err(DlrmError::invalid(
                "zipf",
                "alpha",
                format!("{alpha} is not a finite number > 0"),
            ));
        }
        let mut z = ZipfSampler {
            n: n as f64,
            alpha,
            h_integral_x1: 0.0,
            h_integral_n: 0.0,
            s: 0.0,
        };
        z.h_integral_x1 = z.h_integral(1.5) - 1.0;
        z.h_integral_n = z.h_integral(z.n + 0.5);
        z.s = 2.0 - z.h_integral_inverse(z.h_integral(2.5) - z.h(2.0));
        Ok(z)
    }

    /// One rank in `1..=n`.
    pub fn sample(&self, rng: &mut Rng) -> u64 {
        loop {
            let u = self.h_integral_n + rng.unit_f64() * (self.h_integral_x1 - self.h_integral_n);
            let x = self.h_integral_inverse(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n);
            if k - x <= self.s || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }

    /// h(x) = x^-alpha.
    fn h(&self, x: f64) -> f64 {
        (-self.alpha * x.ln()).exp()
    }

    /// H(x) = (x^(1-alpha) - 1) / (1 - alpha), the integral of h from 1 (log x when alpha = 1).
    fn h_integral(&self, x: f64) -> f64 {
        let log_x = x.ln();
        helper2((1.0 - self.alpha) * log_x) * log_x
    }

    /// Inverse of H.
    fn h_integral_inverse(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.alpha)).max(-1.0);
        (helper1(t) * x).exp()
    }
}

/// log(1 + x) / x, accurate near 0.
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// (exp(x) - 1) / x, accurate near 0.
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x))
    }
}

/// A fixed bijection of `0..rows` per table, so that Zipf's hot ranks land on scattered row ids.
///
/// On the enclosing power-of-two domain `0..2^k` it applies `x*a1 + b`, `x ^= x >> (k/2 + 1)`,
/// `x*a2` (odd `a1`, `a2`; all mod 2^k, each a bijection), with constants drawn from splitmix64 of
/// the table number; values landing at or above `rows` are walked through the permutation again
/// (cycle-walking), which keeps the map a bijection of `0..rows`.
#[derive(Clone, Copy, Debug)]
pub struct RowScatter {
    rows: u64,
    mask: u64,
    shift: u32,
    a1: u64,
    b: u64,
    a2: u64,
}

impl RowScatter {
    /// The scatter for table `table` over `rows` rows (`rows >= 1`).
    pub fn new(table: u64, rows: u64) -> RowScatter {
        let bits = 64 - rows.saturating_sub(1).leading_zeros();
        let mask = if bits == 64 {
            u64::MAX
        } else {
            (1u64 << bits) - 1
        };
        let mut st = table ^ 0x5DEE_CE66_D1CE_5EED;
        RowScatter {
            rows,
            mask,
            shift: bits / 2 + 1,
            a1: splitmix64(&mut st) | 1,
            b: splitmix64(&mut st),
            a2: splitmix64(&mut st) | 1,
        }
    }

    fn step(&self, x: u64) -> u64 {
        let mut x = x.wrapping_mul(self.a1).wrapping_add(self.b) & self.mask;
        x ^= x >> self.shift;
        x.wrapping_mul(self.a2) & self.mask
    }

    /// The row id of zero-based rank `x` (`x < rows`).
    pub fn map(&self, x: u64) -> u64 {
        let mut y = self.step(x);
        while y >= self.rows {
            y = self.step(y);
        }
        y
    }
}

/// A synthetic trace: `tables` x `batch` bags, each of exactly `lookups` indices in `0..rows` drawn
/// from `dist`. Table t draws from its own stream, forked in table order from `Rng::new(seed)`.
/// Zipf ranks are mapped to row ids by [`RowScatter`] (fixed per table, independent of the seed).
/// Stack-distance profiles are replayed per table as one access stream cut into bags in sample
/// order, ids taken modulo `rows` (unlike dlrm, which restarts the profile for every bag and
/// removes duplicates with `np.unique`, bags keep exactly `lookups` indices and their duplicates).
/// Duplicates within a bag are allowed, as in real traces.
///
/// Errors: `rows == 0` with `lookups > 0`, a Zipf alpha that is not finite and > 0, or a trace
/// too large to address.
pub fn generate(
    tables: usize,
    rows: u64,
    batch: usize,
    lookups: usize,
    dist: IndexDist,
    seed: u64,
) -> Result<Trace, DlrmError> {
    if rows == 0 && lookups > 0 && tables > 0 && batch > 0 {
        return Err(DlrmError::invalid(
            "generator",
            "rows",
            "must be at least 1",
        ));
    }
    if rows > i64::MAX as u64 {
        return Err(DlrmError::invalid(
            "generator",
            "rows",
            format!("{rows} exceeds the int64 index range"),
        ));
    }
    let zipf = match dist {
        IndexDist::Uniform | IndexDist::StackDistance(_) => None,
        IndexDist::Zipf { alpha } => Some(ZipfSampler::new(rows.max(1), alpha).map_err(|_| {
            DlrmError::invalid(
                "generator",
                "alpha",
                format!("{alpha} is not a finite number > 0"),
            )
        })?),
    };
    let total = tables
        .checked_mul(batch)
        .and_then(|bags| bags.checked_mul(lookups))
        .filter(|&n| i64::try_from(n).is_ok())
        .ok_or_else(|| {
            DlrmError::invalid(
                "generator",
                "lookups",
                format!("{tables} tables x {batch} samples x {lookups} lookups is too large"),
            )
        })?;
    let mut indices = Vec::with_capacity(total);
    let mut master = Rng::new(seed);
    for t in 0..tables {
        let mut rng = master.fork(t as u64);
        if let IndexDist::StackDistance(profile) = &dist {
            indices.extend(
                profile
                    .stream(&mut rng)
                    .take(batch * lookups)
                    .map(|id| (id % rows) as i64),
            );
            continue;
        }
        let scatter = RowScatter::new(t as u64, rows.max(1));
        for _ in 0..batch * lookups {
            let row = match &zipf {
                None => rng.below(rows),
                Some(z) => scatter.map(z.sample(&mut rng) - 1),
            };
            indices.push(row as i64);
        }
    }
    let offsets = (0..=tables * batch).map(|i| (i * lookups) as i64).collect();
    Ok(Trace {
        tables,
        batch,
        indices,
        offsets,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scatter_is_a_bijection() {
        for rows in [1u64, 2, 3, 7, 8, 9, 1000, 1023, 1024, 1025] {
            for table in 0..3 {
                let s = RowScatter::new(table, rows);
                let mut seen = vec![false; rows as usize];
                for x in 0..rows {
                    let y = s.map(x);
                    assert!(y < rows);
                    assert!(
                        !seen[y as usize],
                        "rows {rows} table {table}: {y} hit twice"
                    );
                    seen[y as usize] = true;
                }
            }
        }
    }

    #[test]
    fn scatter_moves_hot_ranks_apart_per_table() {
        let a = RowScatter::new(0, 4_000_000);
        let b = RowScatter::new(1, 4_000_000);
        let hot: Vec<u64> = (0..4).map(|x| a.map(x)).collect();
        assert!(hot.iter().all(|&r| r > 1000), "{hot:?}");
        assert_ne!(a.map(0), b.map(0));
    }

    #[test]
    fn zipf_rejects_bad_parameters() {
        assert!(ZipfSampler::new(10, 0.0).is_err());
        assert!(ZipfSampler::new(10, -1.0).is_err());
        assert!(ZipfSampler::new(10, f64::NAN).is_err());
        assert!(ZipfSampler::new(0, 1.0).is_err());
    }

    #[test]
    fn zipf_single_row_always_rank_one() {
        let z = ZipfSampler::new(1, 0.7).unwrap();
        let mut rng = Rng::new(3);
        assert!((0..1000).all(|_| z.sample(&mut rng) == 1));
    }
}
