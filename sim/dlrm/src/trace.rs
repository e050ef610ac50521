//! Embedding-lookup traces in the FBGEMM table-batched layout, read from and written to `.npz`.

use std::path::Path;

use crate::error::DlrmError;
use crate::npy::{shape_str, Dtype, Npz, NpzWriter};

pub(crate) const INT_WORDS: &str = "int64 (<i8) or int32 (<i4)";
pub(crate) const INT_TYPES: &[Dtype] = &[Dtype::I64, Dtype::I32];

/// A batch of embedding bags: `tables` x `batch` bags, table-major (bag `t * batch + b`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// Number of embedding tables T.
    pub tables: usize,
    /// Samples per batch B.
    pub batch: usize,
    /// Row indices of all bags, concatenated.
    pub indices: Vec<i64>,
    /// Bag boundaries, length T*B+1: bag i is `indices[offsets[i]..offsets[i+1]]`.
    pub offsets: Vec<i64>,
}

impl Trace {
    /// Number of bags, `tables * batch`.
    pub fn num_bags(&self) -> usize {
        self.tables * self.batch
    }

    /// The rows of bag (table `t`, sample `b`).
    ///
    /// The trace must be valid ([`Trace::validate`]; every trace this crate reads or generates is),
    /// and `t < tables`, `b < batch`; otherwise this panics like slice indexing.
    pub fn bag(&self, t: usize, b: usize) -> &[i64] {
        assert!(
            t < self.tables && b < self.batch,
            "bag ({t}, {b}) outside {} x {}",
            self.tables,
            self.batch
        );
        let i = t * self.batch + b;
        &self.indices[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// Total number of lookups (indices) in the trace.
    pub fn lookups(&self) -> usize {
        self.indices.len()
    }

    /// Table and sample of flat index position `pos` (the trace must be valid).
    fn locate(&self, pos: usize) -> (usize, usize, usize) {
        let bag = self.offsets.partition_point(|&o| o as usize <= pos) - 1;
        let bag = bag.min(self.num_bags().saturating_sub(1));
        let within = pos - self.offsets[bag] as usize;
        if self.batch == 0 {
            return (0, 0, within);
        }
        (bag / self.batch, bag % self.batch, within)
    }

    /// Checks the layout: `offsets` has T*B+1 entries, starts at 0, never decreases and ends at
    /// `indices.len()`; no index is negative. `source` names the file in errors.
    pub fn validate(&self, source: &str) -> Result<(), DlrmError> {
        let bags = self
            .tables
            .checked_mul(self.batch)
            .filter(|&n| n < usize::MAX)
            .ok_or_else(|| DlrmError::invalid(source, "offsets", "tables x batch overflows"))?;
        if self.offsets.len() != bags + 1 {
            return Err(DlrmError::invalid(
                source,
                "offsets",
                format!(
                    "length {}, expected tables*batch+1 = {}*{}+1 = {}",
                    self.offsets.len(),
                    self.tables,
                    self.batch,
                    bags + 1
                ),
            ));
        }
        check_offsets(&self.offsets, self.indices.len(), source)?;
        if let Some(pos) = self.indices.iter().position(|&i| i < 0) {
            let (t, b, within) = self.locate(pos);
            return Err(DlrmError::invalid(
                source,
                "indices",
                format!(
                    "negative index {} at position {pos} (table {t}, sample {b}, position {within} in the bag)",
                    self.indices[pos]
                ),
            ));
        }
        Ok(())
    }

    /// Checks every index is in `0..rows[t]` for its table `t` (`rows.len() == 1` means all tables
    /// have that many rows). The error names the bag and the position. `source` names the file.
    pub fn check_rows(&self, rows: &[u64], source: &str) -> Result<(), DlrmError> {
        self.validate(source)?;
        if rows.len() != 1 && rows.len() != self.tables {
            return Err(DlrmError::invalid(
                source,
                "tables",
                format!(
                    "trace has {} tables, but row counts are given for {}",
                    self.tables,
                    rows.len()
                ),
            ));
        }
        for t in 0..self.tables {
            let limit = if rows.len() == 1 { rows[0] } else { rows[t] };
            for b in 0..self.batch {
                let bag = t * self.batch + b;
                let start = self.offsets[bag] as usize;
                let rows_of_bag = &self.indices[start..self.offsets[bag + 1] as usize];
                if let Some(p) = rows_of_bag.iter().position(|&i| i < 0 || i as u64 >= limit) {
                    return Err(DlrmError::IndexOutOfRange {
                        file: source.to_string(),
                        table: t,
                        sample: b,
                        position: p,
                        flat: start + p,
                        index: rows_of_bag[p],
                        rows: limit,
                    });
                }
            }
        }
        Ok(())
    }

    /// Bag sizes as a T x B row-major array (the `lengths` array of the trace format).
    pub fn lengths(&self) -> Vec<i64> {
        self.offsets.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

pub(crate) fn check_offsets(
    offsets: &[i64],
    n_indices: usize,
    source: &str,
) -> Result<(), DlrmError> {
    match offsets.first() {
        None => {
            return Err(DlrmError::invalid(
                source,
                "offsets",
                "empty, expected at least one element (0)",
            ))
        }
        Some(&first) if first != 0 => {
            return Err(DlrmError::invalid(
                source,
                "offsets",
                format!("starts at {first}, expected 0"),
            ));
        }
        Some(_) => {}
    }
    if let Some(i) = offsets.windows(2).position(|w| w[0] > w[1]) {
        return Err(DlrmError::invalid(
            source,
            "offsets",
            format!(
                "not monotonic at position {} (offsets[{}] = {} > offsets[{}] = {})",
                i + 1,
                i,
                offsets[i],
                i + 1,
                offsets[i + 1]
            ),
        ));
    }
    let last = *offsets.last().expect("non-empty");
    if last != n_indices as i64 {
        return Err(DlrmError::invalid(
            source,
            "offsets",
            format!("last element is {last}, but indices has {n_indices} elements"),
        ));
    }
    Ok(())
}

/// Reads a trace `.npz`: `indices` (1-D int64/int32), `offsets` (1-D int64/int32, length T*B+1,
/// starting at 0, non-decreasing, ending at `len(indices)`), optional `lengths` (T x B int64/int32,
/// which fixes T and B and must agree with the differences of `offsets`). `per_sample_weights` is
/// rejected (weighted pooling is not supported yet).
///
/// Without `lengths`, T is `tables` (default 1) and B = (len(offsets) - 1) / T, which must divide
/// exactly. With both, they must agree.
pub fn read_trace_npz(path: &Path, tables: Option<usize>) -> Result<Trace, DlrmError> {
    // The whole trace is the subset with every table and every sample.
    crate::select::read_trace_npz_subset(path, tables, None, None)
}

/// [`read_trace_npz`] of an archive held in memory (`name` stands for the file in errors).
pub fn read_trace_npz_bytes(
    name: &str,
    bytes: &[u8],
    tables: Option<usize>,
) -> Result<Trace, DlrmError> {
    crate::select::subset_of(Npz::from_bytes(name, bytes)?, tables, None, None)
}

/// T and B of a trace whose `offsets` has `offsets_len` (>= 1) elements: from the `lengths` shape
/// when present (it must agree with `tables` and with `offsets`), else T = `tables` (default 1)
/// and B = (offsets_len - 1) / T, which must divide exactly.
pub(crate) fn trace_shape(
    file: &str,
    offsets_len: usize,
    lengths_shape: Option<&[usize]>,
    tables: Option<usize>,
) -> Result<(usize, usize), DlrmError> {
    let bags = offsets_len - 1;
    match lengths_shape {
        Some(shape) => {
            let (lt, lb) = (shape[0], shape[1]);
            if let Some(want) = tables {
                if want != lt {
                    return Err(DlrmError::invalid(
                        file,
                        "lengths",
                        format!(
                            "shape {} gives {lt} tables, but {want} tables were requested",
                            shape_str(shape)
                        ),
                    ));
                }
            }
            if lt.checked_mul(lb) != Some(bags) {
                return Err(DlrmError::invalid(
                    file,
                    "offsets",
                    format!(
                        "length {offsets_len}, but lengths has shape {}, so expected {lt}*{lb}+1",
                        shape_str(shape)
                    ),
                ));
            }
            Ok((lt, lb))
        }
        None => {
            let t = tables.unwrap_or(1);
            if !bags.is_multiple_of(t) {
                return Err(DlrmError::invalid(
                    file,
                    "offsets",
                    format!("{bags} bags (length {offsets_len}) do not divide into {t} tables"),
                ));
            }
            Ok((t, bags / t))
        }
    }
}

/// The error for `lengths` (flat position `i`, batch `b`) disagreeing with `offsets`.
pub(crate) fn lengths_mismatch(
    file: &str,
    i: usize,
    b: usize,
    want: i64,
    offsets: &[i64],
) -> DlrmError {
    DlrmError::invalid(
        file,
        "lengths",
        format!(
            "[{}, {}] is {want}, but offsets give a bag of {} (offsets[{}..={}] = {}..{})",
            i / b,
            i % b,
            offsets[i + 1] - offsets[i],
            i,
            i + 1,
            offsets[i],
            offsets[i + 1]
        ),
    )
}

/// Writes `trace` as a `.npz` (stored members, like `np.savez`) with int64 `indices`, `offsets`
/// and `lengths` (T x B). The trace is validated first.
pub fn write_trace_npz(path: &Path, trace: &Trace) -> Result<(), DlrmError> {
    let file = path.display().to_string();
    trace.validate(&file)?;
    let mut w = NpzWriter::create(path)?;
    w.add("indices", &[trace.indices.len()], &trace.indices)?;
    w.add("offsets", &[trace.offsets.len()], &trace.offsets)?;
    w.add("lengths", &[trace.tables, trace.batch], &trace.lengths())?;
    w.finish()
}
