//! Float64 reference of sum-pooled embedding bags, independent of any accelerator model.

use crate::error::DlrmError;
use crate::format::RowFormat;
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
    /// Whether the summed binary32 values are themselves rounded (int8 rows: `q * scale + bias`
    /// rounds once per value), which [`PooledF64::f32_bound`] then allows for.
    pub dequant_rounded: bool,
}

impl PooledF64 {
    /// Error bound of recursive float32 summation for output element `i`:
    /// `(n - 1) * 2^-24 * sum|x_i|` (zero for bags of at most one row); with
    /// `dequant_rounded`, `n * 2^-24 * sum|x_i|` (one more rounding per summed value).
    pub fn f32_bound(&self, i: usize) -> f64 {
        let n = self.n[i / self.dim.max(1)];
        let roundings = if self.dequant_rounded {
            n
        } else {
            n.saturating_sub(1)
        };
        roundings as f64 * f64::powi(2.0, -24) * self.abs_sum[i]
    }
}

/// Sums each bag's rows in float64: `sum[(t*B+b)*dim + c]` over the bag's rows of weight `c`,
/// rows as the weights store them ([`pool_f64_in`] with [`Weights::format`]).
/// The trace is checked against the weights first ([`Weights::check_trace`]); errors name the source "trace".
pub fn pool_f64(trace: &Trace, weights: &Weights) -> Result<PooledF64, DlrmError> {
    pool_f64_in(trace, weights, weights.format())
}

/// Sums each bag's rows stored in `fmt`, in float64: each looked-up row is
/// [`Weights::row_bytes_into`] in `fmt`, decoded exactly by [`RowFormat::decode_f64`] (so this
/// does not share the binary32 dequantisation of [`Weights::row_into`]). The trace is checked
/// against the weights first (errors name the source "trace"); a row `fmt` cannot hold is an
/// error naming "weights", the table and the row.
pub fn pool_f64_in(
    trace: &Trace,
    weights: &Weights,
    fmt: RowFormat,
) -> Result<PooledF64, DlrmError> {
    weights.check_trace(trace, "trace")?;
    let dim = weights.dim();
    let bags = trace.num_bags();
    let mut sum = vec![0.0f64; bags * dim];
    let mut abs_sum = vec![0.0f64; bags * dim];
    let mut n = Vec::with_capacity(bags);
    let mut bytes = Vec::with_capacity(fmt.row_bytes(dim));
    let mut row = vec![0.0f64; dim];
    for t in 0..trace.tables {
        for b in 0..trace.batch {
            let bag = trace.bag(t, b);
            let out = (t * trace.batch + b) * dim;
            for &r in bag {
                bytes.clear();
                weights
                    .row_bytes_into(t, r as u64, fmt, &mut bytes)
                    .map_err(|e| {
                        DlrmError::invalid(
                            "weights",
                            &format!("table_{t}"),
                            format!("row {r} in {fmt}: {e}"),
                        )
                    })?;
                fmt.decode_f64(&bytes, &mut row);
                for (c, &x) in row.iter().enumerate() {
                    sum[out + c] += x;
                    abs_sum[out + c] += x.abs();
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
        dequant_rounded: fmt == RowFormat::Int8,
    })
}
