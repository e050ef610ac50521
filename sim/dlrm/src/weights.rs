//! Embedding weights: loaded from `.npz` or defined by the synthetic splitmix formula of DESIGN.md section 7.

use std::path::Path;

use crate::error::DlrmError;
use crate::format::{RowFormat, INT8_HEADER};
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
    /// Tables stored in a row format, as the device holds them (`.npz` of float16 or uint8
    /// tables).
    Packed {
        /// Embedding dimension (values per row), shared by all tables.
        dim: usize,
        /// How every row is stored.
        format: RowFormat,
        /// Table `t` is `tables[t]`.
        tables: Vec<PackedTable>,
    },
}

/// One embedding table stored in a [`RowFormat`].
#[derive(Clone, Debug, PartialEq)]
pub struct PackedTable {
    /// Number of rows.
    pub rows: usize,
    /// Row-major rows, `rows * format.row_bytes(dim)` bytes.
    pub bytes: Vec<u8>,
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
            Weights::Synthetic { dim }
            | Weights::Loaded { dim, .. }
            | Weights::Packed { dim, .. } => *dim,
        }
    }

    /// How rows are stored: [`RowFormat::Fp32`] for synthetic and float32 weights.
    pub fn format(&self) -> RowFormat {
        match self {
            Weights::Synthetic { .. } | Weights::Loaded { .. } => RowFormat::Fp32,
            Weights::Packed { format, .. } => *format,
        }
    }

    /// Number of tables, `None` for synthetic weights (any number).
    pub fn num_tables(&self) -> Option<usize> {
        match self {
            Weights::Synthetic { .. } => None,
            Weights::Loaded { tables, .. } => Some(tables.len()),
            Weights::Packed { tables, .. } => Some(tables.len()),
        }
    }

    /// Rows of table `t`: `None` for synthetic weights (unbounded) and for a table that does not exist.
    pub fn rows(&self, t: usize) -> Option<u64> {
        match self {
            Weights::Synthetic { .. } => None,
            Weights::Loaded { tables, .. } => tables.get(t).map(|tab| tab.rows as u64),
            Weights::Packed { tables, .. } => tables.get(t).map(|tab| tab.rows as u64),
        }
    }

    /// Copies row `r` of table `t` into `out` (`out.len() == dim`): the binary32 values the
    /// switch sums. fp16 converts exactly; int8 computes `(q as f32) * scale + bias` in binary32
    /// (the product is exact, the addition rounds to nearest even once).
    ///
    /// For loaded or packed weights, `t` and `r` must exist (check the trace first with
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
            Weights::Packed {
                dim,
                format,
                tables,
            } => {
                assert_eq!(out.len(), *dim, "row_into: output length");
                format.decode_f32(packed_row(*format, *dim, &tables[t], r), out);
            }
        }
    }

    /// Appends row `r` of table `t` stored in `fmt` (exactly `fmt.row_bytes(dim)` bytes): the
    /// stored bytes when `fmt` is [`Weights::format`], otherwise `fmt.encode` of the row's
    /// [`Weights::row_into`] values. On an encoding error (a value `fmt` cannot hold) nothing is
    /// appended and the error names the column and value (the caller names the table and row).
    ///
    /// `t` and `r` must exist, as for [`Weights::row_into`].
    pub fn row_bytes_into(
        &self,
        t: usize,
        r: u64,
        fmt: RowFormat,
        out: &mut Vec<u8>,
    ) -> Result<(), String> {
        let dim = self.dim();
        match self {
            Weights::Synthetic { .. } if fmt == RowFormat::Fp32 => {
                for c in 0..dim {
                    out.extend(synthetic_weight(t as u64, r, c as u64).to_le_bytes());
                }
            }
            Weights::Loaded { tables, .. } if fmt == RowFormat::Fp32 => {
                let start = r as usize * dim;
                for x in &tables[t].data[start..start + dim] {
                    out.extend(x.to_le_bytes());
                }
            }
            Weights::Packed { format, tables, .. } if fmt == *format => {
                out.extend_from_slice(packed_row(fmt, dim, &tables[t], r));
            }
            _ => {
                let mut row = vec![0.0f32; dim];
                self.row_into(t, r, &mut row);
                let len = out.len();
                if let Err(e) = fmt.encode(&row, out) {
                    out.truncate(len);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Checks `trace` against these weights: table count (loaded weights must have exactly the
    /// trace's tables), non-negative indices, and indices below each table's rows.
    pub fn check_trace(&self, trace: &Trace, source: &str) -> Result<(), DlrmError> {
        match self {
            Weights::Synthetic { .. } => trace.validate(source),
            Weights::Loaded { .. } | Weights::Packed { .. } => {
                self.check_sizes()?;
                let n = self
                    .num_tables()
                    .expect("loaded or packed weights have tables");
                if n != trace.tables {
                    return Err(DlrmError::invalid(
                        source,
                        "tables",
                        format!(
                            "trace has {} tables, but the weights have {n}",
                            trace.tables
                        ),
                    ));
                }
                let rows: Vec<u64> = (0..n)
                    .map(|t| self.rows(t).expect("table exists"))
                    .collect();
                trace.check_rows(&rows, source)
            }
        }
    }
}

impl Weights {
    /// Checks that every table holds exactly its rows (weights built in code rather than read).
    fn check_sizes(&self) -> Result<(), DlrmError> {
        let dim = self.dim();
        let (unit, sizes): (usize, Vec<(usize, usize)>) = match self {
            Weights::Synthetic { .. } => return Ok(()),
            Weights::Loaded { tables, .. } => {
                (dim, tables.iter().map(|t| (t.rows, t.data.len())).collect())
            }
            Weights::Packed { format, tables, .. } => (
                format.row_bytes(dim),
                tables.iter().map(|t| (t.rows, t.bytes.len())).collect(),
            ),
        };
        let what = if matches!(self, Weights::Loaded { .. }) {
            "values"
        } else {
            "bytes"
        };
        match sizes
            .iter()
            .position(|&(rows, len)| rows.checked_mul(unit) != Some(len))
        {
            None => Ok(()),
            Some(t) => Err(DlrmError::invalid(
                "weights",
                &format!("table_{t}"),
                format!(
                    "{} {what}, expected {} rows x {unit} {what} per row ({} dim {dim})",
                    sizes[t].1,
                    sizes[t].0,
                    self.format()
                ),
            )),
        }
    }
}

/// The stored bytes of row `r` of a packed table.
fn packed_row(format: RowFormat, dim: usize, table: &PackedTable, r: u64) -> &[u8] {
    let rb = format.row_bytes(dim);
    let start = r as usize * rb;
    &table.bytes[start..start + rb]
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

/// Reads weights from a `.npz` with arrays `table_0`, `table_1`, ... (2-D, C order), all of one
/// dtype: float32 `rows x dim` ([`Weights::Loaded`]), float16 `rows x dim` or uint8
/// `rows x (4 + dim)` in the int8 row-wise layout of [`RowFormat::Int8`] ([`Weights::Packed`]).
/// All tables share one dimension (values per row), which must equal `dim` if given. Other
/// arrays are ignored.
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
    let mut tables = Vec::with_capacity(numbers.len());
    let mut first: Option<Dtype> = None;
    let mut found_dim = dim;
    for t in numbers {
        let name = format!("table_{t}");
        // table_0 may be any table dtype; the others must match it (checked on the header,
        // before their data is read).
        let words = match first {
            None => TABLE_DTYPE_WORDS.to_string(),
            Some(d) => format!(
                "{} like table_0 (all tables share one dtype)",
                dtype_words(d)
            ),
        };
        let expect = Expect {
            dtypes: first.as_ref().map_or(TABLE_DTYPES, std::slice::from_ref),
            dtype_words: &words,
            ndims: &[2],
        };
        let a = npz.read(&name, &expect)?;
        first = Some(a.data.dtype());
        let (rows, cols) = (a.shape[0], a.shape[1]);
        let (d, layout) = if a.data.dtype() == Dtype::U8 {
            if cols <= INT8_HEADER {
                return Err(DlrmError::invalid(
                    &file,
                    &name,
                    format!(
                        "shape {}: uint8 rows hold a 4-byte fp16 scale and bias, then one code per value, so they need at least 5 columns",
                        shape_str(&a.shape)
                    ),
                ));
            }
            (cols - INT8_HEADER, " (uint8 rows of 4 + dim bytes)")
        } else {
            (cols, "")
        };
        match (found_dim, dim) {
            (Some(want), Some(_)) if d != want => {
                return Err(DlrmError::invalid(
                    &file,
                    &name,
                    format!("dim {d}{layout}, but --dim is {want}"),
                ));
            }
            (Some(want), None) if d != want => {
                return Err(DlrmError::invalid(
                    &file,
                    &name,
                    format!("dim {d}{layout}, but table_0 has dim {want}"),
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
        tables.push((rows, a.data));
    }
    let dim = found_dim.expect("at least one table");
    let packed = |format: RowFormat, tables: Vec<(usize, NpyData)>| Weights::Packed {
        dim,
        format,
        tables: tables
            .into_iter()
            .map(|(rows, data)| PackedTable {
                rows,
                bytes: match data {
                    NpyData::F16(v) => v.into_iter().flat_map(u16::to_le_bytes).collect(),
                    NpyData::U8(v) => v,
                    _ => unreachable!("dtype checked against table_0's"),
                },
            })
            .collect(),
    };
    Ok(match first.expect("at least one table") {
        Dtype::F16 => packed(RowFormat::Fp16, tables),
        Dtype::U8 => packed(RowFormat::Int8, tables),
        _ => Weights::Loaded {
            dim,
            tables: tables
                .into_iter()
                .map(|(rows, data)| match data {
                    NpyData::F32(data) => Table { rows, data },
                    _ => unreachable!("dtype checked against table_0's"),
                })
                .collect(),
        },
    })
}

/// Element types of `table_N` arrays.
const TABLE_DTYPES: &[Dtype] = &[Dtype::F32, Dtype::F16, Dtype::U8];
const TABLE_DTYPE_WORDS: &str = "float32 (<f4), float16 (<f2) or uint8 (|u1, int8 row-wise rows)";

fn dtype_words(d: Dtype) -> &'static str {
    match d {
        Dtype::F32 => "float32 (<f4)",
        Dtype::F16 => "float16 (<f2)",
        Dtype::U8 => "uint8 (|u1)",
        Dtype::I32 => "int32 (<i4)",
        Dtype::I64 => "int64 (<i8)",
        Dtype::F64 => "float64 (<f8)",
    }
}

/// Writes `tables` as `table_0`, `table_1`, ... (float32, rows x `dim`) to a `.npz`.
/// Each table's data must hold exactly `rows * dim` values.
pub fn write_weights_npz(path: &Path, tables: &[Table], dim: usize) -> Result<(), DlrmError> {
    let file = path.display().to_string();
    check_table_sizes(&file, tables, dim)?;
    let mut w = NpzWriter::create(path)?;
    for (t, tab) in tables.iter().enumerate() {
        w.add(&format!("table_{t}"), &[tab.rows, dim], &tab.data)?;
    }
    w.finish()
}

/// Writes `tables` (float32 values, rows x `dim`) stored in `fmt` as `table_0`, `table_1`, ...:
/// float32 `rows x dim` for fp32 (as [`write_weights_npz`]), float16 (`<f2`) `rows x dim` for
/// fp16, uint8 (`|u1`) `rows x (4 + dim)` in the int8 row-wise layout for int8, quantised by
/// [`RowFormat::encode`]. [`read_weights_npz`] reads them back as the stored rows. A value the
/// format cannot hold is an error naming the table and row; nothing is written then.
pub fn write_weights_npz_format(
    path: &Path,
    tables: &[Table],
    dim: usize,
    fmt: RowFormat,
) -> Result<(), DlrmError> {
    let file = path.display().to_string();
    if dim == 0 {
        return Err(DlrmError::invalid(&file, "dim", "must be at least 1"));
    }
    if fmt == RowFormat::Fp32 {
        return write_weights_npz(path, tables, dim);
    }
    check_table_sizes(&file, tables, dim)?;
    let mut packed = Vec::with_capacity(tables.len());
    for (t, tab) in tables.iter().enumerate() {
        let mut bytes = Vec::with_capacity(tab.rows * fmt.row_bytes(dim));
        for (r, row) in tab.data.chunks_exact(dim).enumerate() {
            fmt.encode(row, &mut bytes).map_err(|e| {
                DlrmError::invalid(&file, &format!("table_{t}"), format!("row {r}: {e}"))
            })?;
        }
        packed.push(bytes);
    }
    let (dtype, cols) = match fmt {
        RowFormat::Fp16 => (Dtype::F16, dim),
        _ => (Dtype::U8, fmt.row_bytes(dim)),
    };
    let mut w = NpzWriter::create(path)?;
    for (t, (tab, bytes)) in tables.iter().zip(&packed).enumerate() {
        w.add_raw(&format!("table_{t}"), dtype, &[tab.rows, cols], bytes)?;
    }
    w.finish()
}

/// Checks that each table holds exactly `rows * dim` values.
fn check_table_sizes(file: &str, tables: &[Table], dim: usize) -> Result<(), DlrmError> {
    for (t, tab) in tables.iter().enumerate() {
        if tab.rows.checked_mul(dim) != Some(tab.data.len()) {
            return Err(DlrmError::invalid(
                file,
                &format!("table_{t}"),
                format!(
                    "{} values, expected rows*dim = {}*{dim}",
                    tab.data.len(),
                    tab.rows
                ),
            ));
        }
    }
    Ok(())
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
