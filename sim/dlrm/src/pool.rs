//! Float64 reference of sum-pooled embedding bags, independent of any accelerator model.

use crate::error::DlrmError;
use crate::trace::Trace;
use crate::weights::Weights;

/// Pooled output in float64 with what is needed to bound float32 summation error.
#[derive(Clone, Debug, PartialEq)]
pub struct PooledF64 {
    /// Embedding dimension D.
    pub dim: usize,
    /// `sum[(t*B + b)*D + c]`: sum over bag (t, b) of column c, in f64 (empty bag: +0.0).
    pub sum: Vec<f64>,
    /// Same layout: sum of the absolute values of the summed weights.
    pub abs_sum: Vec<f64>,
    /// Rows in each bag (length T*B).
    pub n: Vec<usize>,
}

impl PooledF64 {
    /// Error bound of recursive float32 summation for output element `i`:
    /// `(n - 1) * 2^-24 * sum|x_i|` (zero for bags of at most one row).
    pub fn f32_bound(&self, i: usize) -> f64 {
        let n = self.n[i / self.dim.max(1)];
        n.saturating_sub(1) as f64 * f64::powi(2.0, -24) * self.abs_sum[i]
    }
}

/// Sums each bag's rows in float64: `sum[(t*B+b)*dim + c]` over the bag's rows of weight `c`.
/// The trace is checked against the weights first ([`Weights::check_trace`]); errors name the source "trace".
pub fn pool_f64(trace: &Trace, weights: &Weights) -> Result<PooledF64, DlrmError> {
    weights.check_trace(trace, "trace")?;
    let dim = weights.dim();
    let bags = trace.num_bags();
    let mut sum = vec![0.0f64; bags * dim];
    let mut abs_sum = vec![0.0f64; bags * dim];
    let mut n = Vec::with_capacity(bags);
    let mut row = vec![0.0f32; dim];
    for t in 0..trace.tables {
        for b in 0..trace.batch {
            let bag = trace.bag(t, b);
            let out = (t * trace.batch + b) * dim;
            for &r in bag {
                weights.row_into(t, r as u64, &mut row);
                for (c, &x) in row.iter().enumerate() {
                    sum[out + c] += f64::from(x);
                    abs_sum[out + c] += f64::from(x).abs();
                }
            }
            n.push(bag.len());
        }
    }
    Ok(PooledF64 {
        dim,
        sum,
        abs_sum,
        n,
    })
}
