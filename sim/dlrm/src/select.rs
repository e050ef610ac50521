//! Subsets of large traces: range-list parsing ("0-7", "0,2,5-9") and a `.npz` reader that keeps
//! only selected tables and samples while streaming `indices`.

use std::fmt;
use std::ops::Range;
use std::path::Path;

use crate::error::DlrmError;
use crate::npy::{Expect, IntChunks, Npz};
use crate::trace::{check_offsets, lengths_mismatch, trace_shape, Trace, INT_TYPES, INT_WORDS};

/// Most elements a range list may expand to (a guard against "0-99999999999").
pub const MAX_LIST_LEN: usize = 1 << 20;

/// A range list or range that does not parse; `Display` is one line quoting the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeListError {
    /// The text as given.
    pub input: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for RangeListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}: {}", self.input, self.problem)
    }
}

impl std::error::Error for RangeListError {}

fn list_err(input: &str, problem: impl Into<String>) -> RangeListError {
    RangeListError {
        input: input.to_string(),
        problem: problem.into(),
    }
}

fn parse_num(input: &str, item: &str, text: &str) -> Result<usize, RangeListError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(list_err(input, format!("item {item:?} lacks a number")));
    }
    if !t.bytes().all(|c| c.is_ascii_digit()) {
        return Err(list_err(
            input,
            format!("{t:?} in item {item:?} is not a non-negative integer"),
        ));
    }
    t.parse::<usize>()
        .map_err(|_| list_err(input, format!("{t} in item {item:?} is too large")))
}

/// One item `a` or `a-b` (inclusive) as the half-open range `a..a+1` or `a..b+1`.
fn parse_item(input: &str, item: &str) -> Result<Range<usize>, RangeListError> {
    let item = item.trim();
    if item.is_empty() {
        return Err(list_err(
            input,
            "empty item (two commas in a row, or a leading or trailing comma)",
        ));
    }
    match item.split_once('-') {
        None => {
            let a = parse_num(input, item, item)?;
            Ok(a..a + 1)
        }
        Some((a, b)) => {
            let (a, b) = (parse_num(input, item, a)?, parse_num(input, item, b)?);
            if b < a {
                return Err(list_err(
                    input,
                    format!("range {item:?} is reversed (write {b}-{a})"),
                ));
            }
            let end = b
                .checked_add(1)
                .ok_or_else(|| list_err(input, format!("{b} in item {item:?} is too large")))?;
            Ok(a..end)
        }
    }
}

/// Parses a comma-separated list of numbers and inclusive ranges, e.g. `"0-7"` or `"0,2,5-9"`,
/// into the numbers in the order written (`"3,0-1"` gives `[3, 0, 1]`). Blanks around items are
/// ignored. Errors (one line): an empty item, a non-number, a reversed range such as `"7-3"`, a
/// number given twice, more than [`MAX_LIST_LEN`] numbers.
pub fn parse_index_list(input: &str) -> Result<Vec<usize>, RangeListError> {
    if input.trim().is_empty() {
        return Err(list_err(input, "empty list"));
    }
    let mut out: Vec<usize> = Vec::new();
    for item in input.split(',') {
        let r = parse_item(input, item)?;
        if out.len() + r.len() > MAX_LIST_LEN {
            return Err(list_err(
                input,
                format!("expands to more than {MAX_LIST_LEN} numbers"),
            ));
        }
        out.extend(r);
    }
    let mut sorted = out.clone();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(list_err(input, format!("{} is listed twice", w[0])));
    }
    Ok(out)
}

/// Parses one number `"5"` or one inclusive range `"0-63"` into a half-open range (`5..6`,
/// `0..64`). Errors as [`parse_index_list`]; a comma is an error too (one contiguous range only).
pub fn parse_range(input: &str) -> Result<Range<usize>, RangeListError> {
    if input.contains(',') {
        return Err(list_err(
            input,
            "expected one number or one range a-b, not a list",
        ));
    }
    parse_item(input, input)
}

/// Writes a selection of numbers back in the compact form [`parse_index_list`] reads (`0-3,7`).
pub fn format_index_list(items: &[usize]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < items.len() {
        let mut j = i;
        while j + 1 < items.len() && items[j + 1] == items[j] + 1 {
            j += 1;
        }
        parts.push(if j == i {
            items[i].to_string()
        } else {
            format!("{}-{}", items[i], items[j])
        });
        i = j + 1;
    }
    parts.join(",")
}

/// Reads part of a trace `.npz` (layout as in [`crate::read_trace_npz`], whose `tables` argument
/// this shares): the tables `table_sel` (in that order, renumbered 0..; all when `None`) and the
/// samples `sample_sel` (a half-open range of batch positions; all when `None`). The result is a
/// valid [`Trace`] of `table_sel.len()` tables x `sample_sel.len()` samples; its bag (k, j) is the
/// file's bag (`table_sel[k]`, `sample_sel.start + j`).
///
/// `offsets` is loaded whole; `lengths` is only streamed and compared with `offsets`; `indices` is
/// streamed from the archive member a chunk (1 MiB) at a time, keeping only the selected bags'
/// rows, and reading stops after the last selected bag (so the memory held is the offsets plus the
/// selected rows). The whole-file checks of `offsets` (starts at 0, monotonic, ends at
/// `len(indices)`) and of `lengths` still apply; negative indices are reported only inside the
/// selection, with their position in the file.
///
/// Errors, one line naming the file and the field: everything [`crate::read_trace_npz`] reports,
/// plus `table selection` (empty, a table listed twice, a table >= T) and `sample selection`
/// (empty, or reaching past the batch).
pub fn read_trace_npz_subset(
    path: &Path,
    tables: Option<usize>,
    table_sel: Option<&[usize]>,
    sample_sel: Option<Range<usize>>,
) -> Result<Trace, DlrmError> {
    subset_of(Npz::open(path)?, tables, table_sel, sample_sel)
}

/// [`read_trace_npz_subset`] of an open archive.
pub(crate) fn subset_of(
    mut npz: Npz,
    tables: Option<usize>,
    table_sel: Option<&[usize]>,
    sample_sel: Option<Range<usize>>,
) -> Result<Trace, DlrmError> {
    let file = npz.file().to_string();
    if npz.has("per_sample_weights") {
        return Err(DlrmError::Unsupported {
            file,
            field: "per_sample_weights".to_string(),
            problem: "present, but weighted pooling is not supported yet".to_string(),
        });
    }
    if tables == Some(0) {
        return Err(DlrmError::invalid(&file, "tables", "must be at least 1"));
    }
    let ints_1d = Expect {
        dtypes: INT_TYPES,
        dtype_words: INT_WORDS,
        ndims: &[1],
    };
    let ints_2d = Expect {
        dtypes: INT_TYPES,
        dtype_words: INT_WORDS,
        ndims: &[2],
    };
    let offsets = npz
        .read("offsets", &ints_1d)?
        .data
        .into_i64()
        .expect("integer dtype checked");
    if offsets.is_empty() {
        return Err(DlrmError::invalid(
            &file,
            "offsets",
            "empty, expected at least one element (0)",
        ));
    }
    let n_indices = npz.with_member("indices", &ints_1d, |h, _, _| Ok(h.count))?;
    let has_lengths = npz.has("lengths");
    let lengths_shape = if has_lengths {
        Some(npz.with_member("lengths", &ints_2d, |h, _, _| Ok(h.shape.clone()))?)
    } else {
        None
    };
    let (t, b) = trace_shape(&file, offsets.len(), lengths_shape.as_deref(), tables)?;
    check_offsets(&offsets, n_indices, &file)?;
    if has_lengths {
        npz.with_member("lengths", &ints_2d, |h, r, f| {
            let mut chunks = IntChunks::new(r, h, f, "lengths");
            while let Some((start, lens)) = chunks.next_chunk()? {
                for (k, &want) in lens.iter().enumerate() {
                    let i = start + k;
                    if want != offsets[i + 1] - offsets[i] {
                        return Err(lengths_mismatch(f, i, b, want, &offsets));
                    }
                }
            }
            Ok(())
        })?;
    }

    let all_tables: Vec<usize>;
    let table_sel = match table_sel {
        Some(s) => s,
        None => {
            all_tables = (0..t).collect();
            &all_tables
        }
    };
    check_table_selection(&file, table_sel, t)?;
    // An explicit selection must select something; the whole of an empty batch is fine.
    let explicit = sample_sel.is_some();
    let samples = sample_sel.unwrap_or(0..b);
    if explicit && samples.is_empty() {
        return Err(DlrmError::invalid(
            &file,
            "sample selection",
            format!("{}..{} selects no samples", samples.start, samples.end),
        ));
    }
    if samples.end > b {
        return Err(DlrmError::invalid(
            &file,
            "sample selection",
            format!(
                "samples {}-{} reach past the batch of {b} samples (0-{})",
                samples.start,
                samples.end - 1,
                b.saturating_sub(1)
            ),
        ));
    }

    // Output offsets, and for each selected table its contiguous span of the file's indices.
    let nb = samples.len();
    let mut out_offsets = Vec::with_capacity(table_sel.len() * nb + 1);
    out_offsets.push(0i64);
    // (source start, source end, destination start)
    let mut spans = Vec::with_capacity(table_sel.len());
    for &tt in table_sel {
        let first = tt * b + samples.start;
        let (src0, src1) = (offsets[first], offsets[first + nb]);
        spans.push((
            src0 as usize,
            src1 as usize,
            *out_offsets.last().expect("non-empty"),
        ));
        for s in 0..nb {
            let bag = first + s;
            let last = *out_offsets.last().expect("non-empty");
            out_offsets.push(last + offsets[bag + 1] - offsets[bag]);
        }
    }
    spans.retain(|&(s0, s1, _)| s1 > s0);
    spans.sort_unstable();
    let total = *out_offsets.last().expect("non-empty") as usize;
    let stop = spans.iter().map(|s| s.1).max().unwrap_or(0);
    let mut indices = vec![0i64; total];
    if stop > 0 {
        npz.with_member("indices", &ints_1d, |h, r, f| {
            let mut chunks = IntChunks::new(r, h, f, "indices");
            let mut k = 0;
            while let Some((c0, vals)) = chunks.next_chunk()? {
                let c1 = c0 + vals.len();
                while k < spans.len() && spans[k].1 <= c0 {
                    k += 1;
                }
                for &(s0, s1, d0) in spans[k..].iter().take_while(|s| s.0 < c1) {
                    let (lo, hi) = (s0.max(c0), s1.min(c1));
                    let src = &vals[lo - c0..hi - c0];
                    if let Some(p) = src.iter().position(|&v| v < 0) {
                        return Err(negative_index(f, &offsets, b, lo + p, src[p]));
                    }
                    let d = d0 as usize + (lo - s0);
                    indices[d..d + src.len()].copy_from_slice(src);
                }
                if c1 >= stop {
                    break;
                }
            }
            Ok(())
        })?;
    }
    let trace = Trace {
        tables: table_sel.len(),
        batch: nb,
        indices,
        offsets: out_offsets,
    };
    trace.validate(&file)?;
    Ok(trace)
}

fn check_table_selection(file: &str, sel: &[usize], t: usize) -> Result<(), DlrmError> {
    if sel.is_empty() {
        return Err(DlrmError::invalid(
            file,
            "table selection",
            "selects no tables",
        ));
    }
    if let Some(&bad) = sel.iter().find(|&&x| x >= t) {
        return Err(DlrmError::invalid(
            file,
            "table selection",
            format!(
                "table {bad} out of range: the trace has {t} table(s) (0-{})",
                t.saturating_sub(1)
            ),
        ));
    }
    let mut seen = vec![false; t];
    for &x in sel {
        if std::mem::replace(&mut seen[x], true) {
            return Err(DlrmError::invalid(
                file,
                "table selection",
                format!("table {x} selected twice"),
            ));
        }
    }
    Ok(())
}

/// The error for a negative value at flat position `pos` of the file's `indices`.
fn negative_index(file: &str, offsets: &[i64], b: usize, pos: usize, value: i64) -> DlrmError {
    let bag = offsets.partition_point(|&o| o as usize <= pos) - 1;
    let within = pos - offsets[bag] as usize;
    DlrmError::invalid(
        file,
        "indices",
        format!(
            "negative index {value} at position {pos} (table {}, sample {}, position {within} in the bag)",
            bag / b,
            bag % b
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_in_written_order() {
        assert_eq!(parse_index_list("0-7").unwrap(), (0..8).collect::<Vec<_>>());
        assert_eq!(
            parse_index_list("0,2,5-9").unwrap(),
            vec![0, 2, 5, 6, 7, 8, 9]
        );
        assert_eq!(parse_index_list(" 3 , 0-1 ").unwrap(), vec![3, 0, 1]);
        assert_eq!(parse_index_list("4-4").unwrap(), vec![4]);
    }

    #[test]
    fn bad_lists_give_one_line_errors() {
        for (input, needle) in [
            ("", "empty list"),
            ("1,,2", "empty item"),
            ("1,", "empty item"),
            ("a", "not a non-negative integer"),
            ("-3", "lacks a number"),
            ("3-", "lacks a number"),
            ("7-3", "reversed"),
            ("1-2-3", "not a non-negative integer"),
            ("0-3,2", "2 is listed twice"),
            ("0-99999999999", "more than"),
            ("99999999999999999999999", "too large"),
            ("1.5", "not a non-negative integer"),
        ] {
            let e = parse_index_list(input).unwrap_err().to_string();
            assert!(e.contains(needle), "{input:?}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn ranges_are_single_and_inclusive() {
        assert_eq!(parse_range("0-63").unwrap(), 0..64);
        assert_eq!(parse_range("5").unwrap(), 5..6);
        assert!(parse_range("0,1")
            .unwrap_err()
            .to_string()
            .contains("not a list"));
        assert!(parse_range("9-2").is_err());
    }

    #[test]
    fn format_round_trips() {
        for s in ["0-7", "0,2,5-9", "3,0-1", "4"] {
            assert_eq!(format_index_list(&parse_index_list(s).unwrap()), s);
        }
    }
}
