//! Embedding weights: loaded from `.npz` or defined by the synthetic splitmix formula of DESIGN.md section 7.

use std::path::Path;

use crate::error::DlrmError;
use crate::npy::{self, list_names, shape_str, Dtype, Expect, NpyData, Npz, NpzWriter};
use crate::trace::Trace;

/// One loaded embedding table.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Number of rows.
    pub rows: usize,
    /// Row-major `rows x dim` weights.
    pub data: Vec<f32>,
}

/// Where embedding rows come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Weights {
    /// Rows computed on demand by [`synthetic_weight`]; every table has unbounded rows.
    Synthetic {
        /// Embedding dimension.
        dim: usize,
    },
    /// Tables read from a file.
    Loaded {
        /// Embedding dimension, shared by all tables.
        dim: usize,
        /// Table `t` is `tables[t]`.
        tables: Vec<Table>,
    },
}

/// Synthetic weight of table `t`, row `r`, column `c` (DESIGN.md section 7), in [-0.5, 0.5):
/// splitmix64 of `(t << 48) | (r << 16) | c` in wrapping u64 arithmetic, top 24 bits scaled.
pub fn synthetic_weight(t: u64, r: u64, c: u64) -> f32 {
    let key = (t << 48) | (r << 16) | c;
    let mut z = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 40) as f32 / 16_777_216.0 - 0.5
}

impl Weights {
    /// Embedding dimension.
    pub fn dim(&self) -> usize {
        match self {
            Weights::Synthetic { dim } | Weights::Loaded { dim, .. } => *dim,
        }
    }

    /// Number of tables, `None` for synthetic weights (any number).
    pub fn num_tables(&self) -> Option<usize> {
        match self {
            Weights::Synthetic { .. } => None,
            Weights::Loaded { tables, .. } => Some(tables.len()),
        }
    }

    /// Rows of table `t`: `None` for synthetic weights (unbounded) and for a table that does not exist.
    pub fn rows(&self, t: usize) -> Option<u64> {
        match self {
            Weights::Synthetic { .. } => None,
            Weights::Loaded { tables, .. } => tables.get(t).map(|tab| tab.rows as u64),
        }
    }

    /// Copies row `r` of table `t` into `out` (`out.len() == dim`).
    ///
    /// For loaded weights, `t` and `r` must exist (check the trace first with
    /// [`Weights::check_trace`]); otherwise this panics like slice indexing.
    pub fn row_into(&self, t: usize, r: u64, out: &mut [f32]) {
        match self {
            Weights::Synthetic { dim } => {
                assert_eq!(out.len(), *dim, "row_into: output length");
                for (c, o) in out.iter_mut().enumerate() {
                    *o = synthetic_weight(t as u64, r, c as u64);
                }
            }
            Weights::Loaded { dim, tables } => {
                let start = r as usize * dim;
                out.copy_from_slice(&tables[t].data[start..start + dim]);
            }
        }
    }

    /// Checks `trace` against these weights: table count (loaded weights must have exactly the
    /// trace's tables), non-negative indices, and indices below each table's rows.
    pub fn check_trace(&self, trace: &Trace, source: &str) -> Result<(), DlrmError> {
        match self {
            Weights::Synthetic { .. } => trace.validate(source),
            Weights::Loaded { tables, .. } => {
                if tables.len() != trace.tables {
                    return Err(DlrmError::invalid(
                        source,
                        "tables",
                        format!(
                            "trace has {} tables, but the weights have {}",
                            trace.tables,
                            tables.len()
                        ),
                    ));
                }
                let rows: Vec<u64> = tables.iter().map(|t| t.rows as u64).collect();
                trace.check_rows(&rows, source)
            }
        }
    }
}

fn table_number(name: &str) -> Option<usize> {
    let digits = name.strip_prefix("table_")?;
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    digits.parse().ok()
}

/// Reads weights from a `.npz` with arrays `table_0`, `table_1`, ... (float32, 2-D rows x dim,
/// C order). All tables share one dimension, which must equal `dim` if given. Other arrays are ignored.
pub fn read_weights_npz(path: &Path, dim: Option<usize>) -> Result<Weights, DlrmError> {
    weights_of(Npz::open(path)?, dim)
}

/// [`read_weights_npz`] of an archive held in memory (`name` stands for the file in errors).
pub fn read_weights_npz_bytes(
    name: &str,
    bytes: &[u8],
    dim: Option<usize>,
) -> Result<Weights, DlrmError> {
    weights_of(Npz::from_bytes(name, bytes)?, dim)
}

fn weights_of(mut npz: Npz, dim: Option<usize>) -> Result<Weights, DlrmError> {
    let file = npz.file().to_string();
    let mut numbers: Vec<usize> = npz.names().iter().filter_map(|n| table_number(n)).collect();
    numbers.sort_unstable();
    if numbers.is_empty() {
        return Err(DlrmError::Missing {
            file,
            array: "table_0".to_string(),
            present: list_names(npz.names()),
        });
    }
    if let Some(gap) = numbers
        .iter()
        .enumerate()
        .find(|(i, &n)| *i != n)
        .map(|(i, _)| i)
    {
        return Err(DlrmError::Missing {
            file,
            array: format!("table_{gap}"),
            present: list_names(
                &numbers
                    .iter()
                    .map(|n| format!("table_{n}"))
                    .collect::<Vec<_>>(),
            ),
        });
    }
    if dim == Some(0) {
        return Err(DlrmError::invalid(&file, "dim", "must be at least 1"));
    }
    let expect = Expect {
        dtypes: &[Dtype::F32],
        dtype_words: "float32 (<f4)",
        ndims: &[2],
    };
    let mut tables = Vec::with_capacity(numbers.len());
    let mut found_dim = dim;
    for t in numbers {
        let name = format!("table_{t}");
        let a = npz.read(&name, &expect)?;
        let (rows, d) = (a.shape[0], a.shape[1]);
        match (found_dim, dim) {
            (Some(want), Some(_)) if d != want => {
                return Err(DlrmError::invalid(
                    &file,
                    &name,
                    format!("dim {d}, but --dim is {want}"),
                ));
            }
            (Some(want), None) if d != want => {
                return Err(DlrmError::invalid(
                    &file,
                    &name,
                    format!("dim {d}, but table_0 has dim {want}"),
                ));
            }
            (None, _) if d == 0 => {
                return Err(DlrmError::invalid(
                    &file,
                    &name,
                    format!("shape {}: dim 0", shape_str(&a.shape)),
                ));
            }
            _ => found_dim = Some(d),
        }
        let NpyData::F32(data) = a.data else {
            unreachable!("dtype checked against float32")
        };
        tables.push(Table { rows, data });
    }
    Ok(Weights::Loaded {
        dim: found_dim.expect("at least one table"),
        tables,
    })
}

/// Writes `tables` as `table_0`, `table_1`, ... (float32, rows x `dim`) to a `.npz`.
/// Each table's data must hold exactly `rows * dim` values.
pub fn write_weights_npz(path: &Path, tables: &[Table], dim: usize) -> Result<(), DlrmError> {
    let file = path.display().to_string();
    for (t, tab) in tables.iter().enumerate() {
        if tab.rows.checked_mul(dim) != Some(tab.data.len()) {
            return Err(DlrmError::invalid(
                &file,
                &format!("table_{t}"),
                format!(
                    "{} values, expected rows*dim = {}*{dim}",
                    tab.data.len(),
                    tab.rows
                ),
            ));
        }
    }
    let mut w = NpzWriter::create(path)?;
    for (t, tab) in tables.iter().enumerate() {
        w.add(&format!("table_{t}"), &[tab.rows, dim], &tab.data)?;
    }
    w.finish()
}

/// Writes a float32 `rows x cols` array (e.g. a pooled output) as `.npy`.
/// `data` must hold exactly `rows * cols` values.
pub fn write_npy_f32(path: &Path, rows: usize, cols: usize, data: &[f32]) -> Result<(), DlrmError> {
    if rows.checked_mul(cols) != Some(data.len()) {
        return Err(DlrmError::invalid(
            &path.display().to_string(),
            "array",
            format!("{} values, expected rows*cols = {rows}*{cols}", data.len()),
        ));
    }
    npy::write_npy_file(path, &[rows, cols], data)
}

/// Reads a 1-D or 2-D float32 (`<f4`) `.npy` and returns its shape and data. Other dtypes are
/// rejected rather than converted (see [`read_npy`] for the general reader).
pub fn read_npy_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>), DlrmError> {
    let expect = Expect {
        dtypes: &[Dtype::F32],
        dtype_words: "float32 (<f4)",
        ndims: &[1, 2],
    };
    let a = npy::read_npy_file(path, &expect)?;
    match a.data {
        NpyData::F32(v) => Ok((a.shape, v)),
        _ => unreachable!("dtype checked against float32"),
    }
}

/// Reads any 1-D or 2-D `.npy` of `<i4`, `<i8`, `<f4` or `<f8` (little-endian, C order,
/// format 1.0/2.0/3.0) in its own element type.
pub fn read_npy(path: &Path) -> Result<npy::NpyArray, DlrmError> {
    let expect = Expect {
        dtypes: &[Dtype::I32, Dtype::I64, Dtype::F32, Dtype::F64],
        dtype_words: "int32 (<i4), int64 (<i8), float32 (<f4) or float64 (<f8)",
        ndims: &[1, 2],
    };
    npy::read_npy_file(path, &expect)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_numbers_are_strict() {
        assert_eq!(table_number("table_0"), Some(0));
        assert_eq!(table_number("table_12"), Some(12));
        assert_eq!(table_number("table_01"), None);
        assert_eq!(table_number("table_"), None);
        assert_eq!(table_number("table_x"), None);
        assert_eq!(table_number("tables_1"), None);
    }
}
