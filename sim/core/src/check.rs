//! Pooled output against the independent float64 reference and the recursive-summation bound
//! (n-1) * 2^-24 * sum|x_i| of DESIGN.md section 4.

use pifs_dlrm::PooledF64;
use serde::Serialize;

/// Outcome of the bound check.
#[derive(Clone, Debug, Default, Serialize)]
pub struct BoundReport {
    pub elements: usize,
    /// Elements outside the bound.
    pub violations: usize,
    /// Elements not comparable: the float64 reference is not finite, or exceeds the binary32
    /// range (so the binary32 sum legitimately overflows).
    pub skipped: usize,
    /// Largest |f32 - f64| / bound over elements with a non-zero bound (<= 1 passes).
    pub max_ratio: f64,
    /// First violation: (element index, f32 value, f64 value, bound).
    pub first_violation: Option<(usize, f32, f64, f64)>,
}

impl BoundReport {
    pub fn ok(&self) -> bool {
        self.violations == 0
    }
}

/// Compare `pooled` (binary32 bits, same layout as `reference.sum`) with the reference.
pub fn check_bound(pooled: &[u32], reference: &PooledF64) -> BoundReport {
    let mut r = BoundReport {
        elements: pooled.len(),
        ..Default::default()
    };
    for (i, &bits) in pooled.iter().enumerate() {
        let got = f32::from_bits(bits);
        let want = reference.sum[i];
        if !want.is_finite()
            || want.abs() > f32::MAX as f64
            || reference.abs_sum[i] > f32::MAX as f64
        {
            r.skipped += 1;
            continue;
        }
        let bound = reference.f32_bound(i);
        let err = (got as f64 - want).abs();
        // NaN never passes; an exact result always does.
        let pass = got.is_finite() && err <= bound;
        if bound > 0.0 && err.is_finite() {
            r.max_ratio = r.max_ratio.max(err / bound);
        }
        if !pass {
            r.violations += 1;
            if r.first_violation.is_none() {
                r.first_violation = Some((i, got, want, bound));
            }
        }
    }
    r
}
