//! The Check-N-Run study: train on a batch stream, write the updated rows through the switch,
//! track them there, and account for full, incremental and quantized checkpoints per interval.
//!
//! Training model (modelling choices, documented in docs/checkpoints.md): in each batch every
//! distinct row that the batch looks up is updated once, `row -= lr * g`, as an embedding
//! optimizer applies the summed gradient of a batch; `g_c = sqrt(k) * u(seed, batch, t, r, c)`
//! where `k` is how often the batch looked the row up (a sum of `k` independent per-lookup
//! gradients of equal spread grows as `sqrt(k)`) and `u` is a splitmix64 hash mapped to
//! [-0.5, 0.5).
//! Rows start from the workload's weights; only rows written so far are kept (the pool's image
//! of modified rows), filled from the line data the switch decodes.
//!
//! Checkpoint schemes (Check-N-Run section 4): `full` writes every row each interval;
//! `consecutive` writes the rows modified since the previous checkpoint (a restore replays the
//! baseline and every increment); `one-shot` writes the rows modified since the last full
//! baseline (a restore needs the baseline and the latest increment) and takes a new baseline
//! when the increment would exceed `rebaseline` x the full size; `one-shot qB` is one-shot with
//! every row (baselines too) quantized to B bits. All schemes start from a baseline of the
//! initial model in their own format (counted in capacity, not in the interval writes).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;

use pifs_dlrm::{Trace, Weights};
use pifs_rng::splitmix64;
use serde::Serialize;

use crate::quant::{self, ScaleBias};
use crate::tracker::{RowBitmap, SwitchTracker};
use crate::wire::{AddressMap, WriteLink, LINK_FLIT_BYTES};

/// Most rows (all tables) a run may track: two bitmaps of 2^32 bits are 1 GiB.
pub const MAX_TOTAL_ROWS: u64 = 1 << 32;

/// One training batch: samples `samples` of `trace` (every table).
#[derive(Clone, Debug)]
pub struct Batch<'a> {
    /// The trace holding the batch.
    pub trace: &'a Trace,
    /// Its samples.
    pub samples: Range<usize>,
}

/// Study parameters (units and sources in docs/checkpoints.md).
#[derive(Clone, Debug, Serialize)]
pub struct StudyConfig {
    /// Batches per checkpoint interval (>= 1); a shorter last interval is checkpointed too.
    pub interval: usize,
    /// Learning rate of the synthetic update.
    pub lr: f32,
    /// Quantized bit widths (each 1..=8, distinct).
    pub bits: Vec<u8>,
    /// One-shot takes a new full baseline when its increment would exceed this fraction of a
    /// full checkpoint, in (0, 1].
    pub rebaseline: f64,
    /// Seed of the gradients and the flit packer.
    pub seed: u64,
}

/// Why a study did not run.
#[derive(Clone, Debug, PartialEq)]
pub enum StudyError {
    /// A parameter or the workload is out of range.
    BadInput(String),
    /// An internal check failed (the link lost or garbled a write).
    Failed(String),
}

impl std::fmt::Display for StudyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StudyError::BadInput(s) | StudyError::Failed(s) => f.write_str(s),
        }
    }
}

/// Quantization error of the rows restored from one checkpoint, against the true fp32 rows.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct ErrorStats {
    /// Rows compared.
    pub rows: u64,
    /// Root mean square error over all elements.
    pub rmse: f64,
    /// Largest absolute element error.
    pub max_abs: f64,
    /// Mean over rows of ||x - x'|| / ||x|| (rows with ||x|| = 0 are left out).
    pub mean_rel_l2: f64,
}

/// One scheme in one interval.
#[derive(Clone, Debug, Serialize)]
pub struct SchemeInterval {
    /// `full`, `consecutive`, `one-shot` or `one-shot qB`.
    pub scheme: String,
    /// Bytes written by this checkpoint.
    pub write_bytes: u64,
    /// Bytes stored to be able to restore this checkpoint (after older files are deleted).
    pub capacity_bytes: u64,
    /// Restore error of the checkpointed rows (quantized schemes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorStats>,
}

/// One checkpoint interval.
#[derive(Clone, Debug, Serialize)]
pub struct IntervalRecord {
    /// 1-based checkpoint number.
    pub index: usize,
    /// First batch of the interval (0-based).
    pub first_batch: usize,
    /// Batches in the interval.
    pub batches: usize,
    /// Embedding lookups of those batches.
    pub lookups: u64,
    /// Row updates (distinct rows per batch, summed over batches).
    pub row_writes: u64,
    /// M2S RwD MemWr messages (one per 64-byte line written).
    pub memwr_messages: u64,
    /// 68B flits on the host-to-switch link.
    pub flits: u64,
    /// Bytes on that link (flits x 68).
    pub link_bytes: u64,
    /// Rows whose bit is set in the since-last-checkpoint bitmap.
    pub modified_rows: u64,
    /// `modified_rows` / rows of all tables.
    pub modified_fraction: f64,
    /// Rows whose bit is set in the since-last-baseline bitmap.
    pub since_baseline_rows: u64,
    /// Whether one-shot took a new full baseline at this checkpoint.
    pub rebaseline: bool,
    /// Bytes and error per scheme.
    pub schemes: Vec<SchemeInterval>,
}

/// One scheme over the run.
#[derive(Clone, Debug, Serialize)]
pub struct SchemeTotal {
    /// Scheme name.
    pub scheme: String,
    /// Bytes written over all checkpoints.
    pub write_bytes: u64,
    /// Full's write bytes / this scheme's.
    pub write_reduction: f64,
    /// Largest capacity over the run.
    pub peak_capacity_bytes: u64,
    /// Full's peak capacity / this scheme's.
    pub capacity_reduction: f64,
    /// Worst restore error over the checkpoints (quantized schemes only; max of each field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worst_error: Option<ErrorStats>,
}

/// The training stream's totals and each scheme's totals.
#[derive(Clone, Debug, Serialize)]
pub struct Totals {
    /// Batches trained.
    pub batches: usize,
    /// Embedding lookups.
    pub lookups: u64,
    /// Row updates.
    pub row_writes: u64,
    /// MemWr messages.
    pub memwr_messages: u64,
    /// Flits.
    pub flits: u64,
    /// Link bytes.
    pub link_bytes: u64,
    /// Per scheme, in the order of the interval records.
    pub schemes: Vec<SchemeTotal>,
}

/// A quantized format in the report.
#[derive(Clone, Debug, Serialize)]
pub struct QuantFormat {
    /// Bits per element.
    pub bits: u8,
    /// Scale/bias format.
    pub scale_bias: ScaleBias,
    /// Bytes of one quantized row.
    pub row_bytes: u64,
    /// Whether the range is searched greedily.
    pub greedy_range: bool,
}

/// The whole study.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Workload name.
    pub workload: String,
    /// Parameters.
    pub config: StudyConfig,
    /// Rows of each table.
    pub rows_per_table: Vec<u64>,
    /// Floats per row.
    pub dim: usize,
    /// Bytes of an fp32 row (dim x 4).
    pub row_bytes: u64,
    /// MemWr lines per row update.
    pub lines_per_row: u64,
    /// Bytes of one full fp32 checkpoint.
    pub full_bytes: u64,
    /// Bytes of one tracking bitmap (the switch keeps two).
    pub bitmap_bytes: u64,
    /// Bytes on the link per flit.
    pub link_flit_bytes: u64,
    /// Quantized formats.
    pub formats: Vec<QuantFormat>,
    /// Per checkpoint interval.
    pub intervals: Vec<IntervalRecord>,
    /// Over the run.
    pub totals: Totals,
}

/// Bytes naming `n` modified rows of a table of `rows` rows: a list of 4-byte row numbers
/// (8-byte above 2^32 rows) or the table's bitmap, whichever is smaller (modelling choice).
pub fn index_bytes(n: u64, rows: u64) -> u64 {
    let width = if rows <= 1 << 32 { 4 } else { 8 };
    (n * width).min(rows.div_ceil(8))
}

/// Bytes of an incremental checkpoint of the rows marked in `bm`, `row_bytes` each.
fn incremental_bytes(bm: &RowBitmap, rows: &[u64], row_bytes: u64) -> u64 {
    rows.iter()
        .enumerate()
        .map(|(t, &r)| {
            let n = bm.count(t);
            n * row_bytes + index_bytes(n, r)
        })
        .sum()
}

/// Gradient element in [-0.5, 0.5) for (batch, table, row, column): splitmix64 chained over the
/// fields, top 24 bits scaled. A row looked up `k` times in batch `batch` moves by
/// `-lr * sqrt(k) * grad_unit(seed, batch, t, r, c)`.
pub fn grad_unit(seed: u64, batch: u64, t: usize, r: u64, c: usize) -> f32 {
    let mut s = seed ^ batch.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let h = splitmix64(&mut s) ^ ((t as u64) << 48 | r);
    let mut s = h;
    let h = splitmix64(&mut s) ^ c as u64;
    let mut s = h;
    (splitmix64(&mut s) >> 40) as f32 / 16_777_216.0 - 0.5
}

fn key(t: usize, r: u64) -> u64 {
    (t as u64) << 48 | r
}

/// One row's restore error in one format: squared error, squared norm, largest element error.
#[derive(Clone, Copy)]
struct RowError {
    d2: f64,
    x2: f64,
    max_abs: f64,
}

impl RowError {
    fn of(x: &[f32], y: &[f32]) -> RowError {
        let mut e = RowError {
            d2: 0.0,
            x2: 0.0,
            max_abs: 0.0,
        };
        for (&a, &b) in x.iter().zip(y) {
            let d = a as f64 - b as f64;
            e.d2 += d * d;
            e.x2 += a as f64 * a as f64;
            e.max_abs = e.max_abs.max(d.abs());
        }
        e
    }
}

/// A modified row in the pool: its current value and, once a checkpoint has quantized this
/// value, its restore error per format (dropped when the row is written again).
struct PoolRow {
    w: Box<[f32]>,
    errors: Option<Box<[RowError]>>,
}

/// Error sums of one quantized format over one checkpoint.
#[derive(Default)]
struct ErrorAcc {
    rows: u64,
    elems: u64,
    sum_sq: f64,
    max_abs: f64,
    rel_sum: f64,
    rel_rows: u64,
}

impl ErrorAcc {
    fn add(&mut self, e: &RowError, dim: usize) {
        self.rows += 1;
        self.elems += dim as u64;
        self.sum_sq += e.d2;
        self.max_abs = self.max_abs.max(e.max_abs);
        if e.x2 > 0.0 {
            self.rel_sum += (e.d2 / e.x2).sqrt();
            self.rel_rows += 1;
        }
    }

    fn stats(&self) -> ErrorStats {
        ErrorStats {
            rows: self.rows,
            rmse: if self.elems > 0 {
                (self.sum_sq / self.elems as f64).sqrt()
            } else {
                0.0
            },
            max_abs: self.max_abs,
            mean_rel_l2: if self.rel_rows > 0 {
                self.rel_sum / self.rel_rows as f64
            } else {
                0.0
            },
        }
    }
}

impl StudyConfig {
    /// Checks the parameters alone (before any workload is loaded).
    pub fn check(&self) -> Result<(), StudyError> {
        let bad = |s: String| Err(StudyError::BadInput(s));
        if self.interval == 0 {
            return bad("--interval 0: must be at least 1 batch".into());
        }
        if self.bits.is_empty() {
            return bad("--bits: give at least one width".into());
        }
        for (i, &b) in self.bits.iter().enumerate() {
            if !quant::BITS.contains(&b) {
                return bad(format!("--bits {b}: unsupported width (1..=8)"));
            }
            if self.bits[..i].contains(&b) {
                return bad(format!("--bits {b}: given twice"));
            }
        }
        if !(self.lr.is_finite() && self.lr >= 0.0) {
            return bad(format!("--lr {}: must be finite and >= 0", self.lr));
        }
        if !(self.rebaseline > 0.0 && self.rebaseline <= 1.0) {
            return bad(format!(
                "--rebaseline {}: must be in (0, 1]",
                self.rebaseline
            ));
        }
        Ok(())
    }
}

fn check_config(
    cfg: &StudyConfig,
    rows: &[u64],
    dim: usize,
    batches: usize,
) -> Result<(), StudyError> {
    cfg.check()?;
    let bad = |s: String| Err(StudyError::BadInput(s));
    if batches == 0 {
        return bad("no batches to train on".into());
    }
    if rows.is_empty() || rows.len() > 1 << 16 {
        return bad(format!("{} tables: must be 1..=65536", rows.len()));
    }
    if dim == 0 {
        return bad("dim 0: must be at least 1".into());
    }
    let total: u64 = rows.iter().fold(0u64, |a, &r| a.saturating_add(r));
    if total > MAX_TOTAL_ROWS {
        return bad(format!(
            "{total} rows in all tables: the switch's bitmaps allow at most {MAX_TOTAL_ROWS}"
        ));
    }
    Ok(())
}

/// Runs the study over `batches` of tables with `rows[t]` rows and `weights`.
pub fn run(
    workload: &str,
    batches: &[Batch<'_>],
    rows: &[u64],
    weights: &Weights,
    cfg: &StudyConfig,
) -> Result<Report, StudyError> {
    let dim = weights.dim();
    check_config(cfg, rows, dim, batches.len())?;
    let map = AddressMap::new(rows, dim).map_err(StudyError::BadInput)?;
    let mut tracker = SwitchTracker::new(&map);
    let mut link = WriteLink::new(cfg.seed);
    let mut image: HashMap<u64, PoolRow> = HashMap::new();
    let row_bytes = dim as u64 * 4;
    let full_bytes: u64 = rows.iter().map(|&r| r * row_bytes).sum();
    let formats: Vec<QuantFormat> = cfg
        .bits
        .iter()
        .map(|&bits| {
            let sb = ScaleBias::for_bits(bits);
            QuantFormat {
                bits,
                scale_bias: sb,
                row_bytes: quant::row_bytes(dim, bits, sb),
                greedy_range: bits <= quant::GREEDY_MAX_BITS,
            }
        })
        .collect();
    let mut intervals = Vec::new();
    let mut consecutive_sum = 0u64;
    let (mut cur, mut buf) = (IntervalRecord::empty(0), vec![0f32; dim]);
    for (bi, batch) in batches.iter().enumerate() {
        if bi % cfg.interval == 0 {
            cur = IntervalRecord::empty(bi);
            cur.index = intervals.len() + 1;
        }
        let (m0, f0) = (link.messages, link.flits);
        // Distinct rows of the batch, in first-lookup order, with their lookup counts.
        let trace = batch.trace;
        let mut order: Vec<(usize, u64)> = Vec::new();
        let mut counts: HashMap<u64, u32> = HashMap::new();
        for t in 0..trace.tables {
            for b in batch.samples.clone() {
                for &r in trace.bag(t, b) {
                    let (t, r) = (t, r as u64);
                    if t >= rows.len() || r >= rows[t] {
                        return Err(StudyError::BadInput(format!(
                            "batch {bi}: table {t} row {r} outside the tables' {} rows",
                            rows.get(t).copied().unwrap_or(0)
                        )));
                    }
                    cur.lookups += 1;
                    let n = counts.entry(key(t, r)).or_insert(0);
                    if *n == 0 {
                        order.push((t, r));
                    }
                    *n += 1;
                }
            }
        }
        for &(t, r) in &order {
            match image.get(&key(t, r)) {
                Some(row) => buf.copy_from_slice(&row.w),
                None => weights.row_into(t, r, &mut buf),
            }
            let k = (counts[&key(t, r)] as f32).sqrt();
            for (c, v) in buf.iter_mut().enumerate() {
                *v -= cfg.lr * k * grad_unit(cfg.seed, bi as u64, t, r, c);
            }
            link.write_row(&map, t, r, &buf);
        }
        cur.row_writes += order.len() as u64;
        let mut stray = None;
        link.flush(|addr, data| {
            let Some((t, r, line)) = map.locate(addr) else {
                stray = Some(addr);
                return;
            };
            tracker.on_write(t, r);
            let row = image.entry(key(t, r)).or_insert_with(|| {
                let mut w = vec![0f32; dim].into_boxed_slice();
                weights.row_into(t, r, &mut w);
                PoolRow { w, errors: None }
            });
            row.errors = None;
            for (k, v) in row
                .w
                .iter_mut()
                .skip(line as usize * 16)
                .take(16)
                .enumerate()
            {
                *v = f32::from_le_bytes([
                    data[4 * k],
                    data[4 * k + 1],
                    data[4 * k + 2],
                    data[4 * k + 3],
                ]);
            }
        })
        .map_err(StudyError::Failed)?;
        if let Some(a) = stray {
            return Err(StudyError::Failed(format!(
                "MemWr to {a:#x} outside every table"
            )));
        }
        cur.memwr_messages += link.messages - m0;
        cur.flits += link.flits - f0;
        cur.batches += 1;
        if (bi + 1) % cfg.interval == 0 || bi + 1 == batches.len() {
            cur.link_bytes = cur.flits * LINK_FLIT_BYTES;
            cur.modified_rows = tracker.interval.total();
            cur.modified_fraction = cur.modified_rows as f64 / rows.iter().sum::<u64>() as f64;
            cur.since_baseline_rows = tracker.since_baseline.total();
            let consecutive = incremental_bytes(&tracker.interval, rows, row_bytes);
            let oneshot = incremental_bytes(&tracker.since_baseline, rows, row_bytes);
            cur.rebaseline = oneshot as f64 > cfg.rebaseline * full_bytes as f64;
            consecutive_sum += consecutive;
            let (ow, oc) = if cur.rebaseline {
                (full_bytes, full_bytes)
            } else {
                (oneshot, full_bytes + oneshot)
            };
            cur.schemes = vec![
                SchemeInterval::new("full", full_bytes, full_bytes, None),
                SchemeInterval::new(
                    "consecutive",
                    consecutive,
                    full_bytes + consecutive_sum,
                    None,
                ),
                SchemeInterval::new("one-shot", ow, oc, None),
            ];
            let errors = restore_errors(&tracker.since_baseline, &mut image, &formats)?;
            for (f, err) in formats.iter().zip(errors) {
                let fq: u64 = rows.iter().map(|&r| r * f.row_bytes).sum();
                let oq = incremental_bytes(&tracker.since_baseline, rows, f.row_bytes);
                let (w, c) = if cur.rebaseline {
                    (fq, fq)
                } else {
                    (oq, fq + oq)
                };
                cur.schemes.push(SchemeInterval::new(
                    &format!("one-shot q{}", f.bits),
                    w,
                    c,
                    Some(err),
                ));
            }
            tracker.interval.clear();
            if cur.rebaseline {
                tracker.since_baseline.clear();
            }
            intervals.push(std::mem::replace(&mut cur, IntervalRecord::empty(bi + 1)));
        }
    }
    let totals = totals(batches.len(), &intervals);
    Ok(Report {
        workload: workload.to_string(),
        config: cfg.clone(),
        rows_per_table: rows.to_vec(),
        dim,
        row_bytes,
        lines_per_row: map.lines_per_row(),
        full_bytes,
        bitmap_bytes: tracker.interval.bytes(),
        link_flit_bytes: LINK_FLIT_BYTES,
        formats,
        intervals,
        totals,
    })
}

/// Quantizes and restores every row marked in `bm` in each format; errors against the pool's
/// rows. A row's errors are kept until it is written again, so a row unchanged since the last
/// checkpoint is not quantized twice.
fn restore_errors(
    bm: &RowBitmap,
    image: &mut HashMap<u64, PoolRow>,
    formats: &[QuantFormat],
) -> Result<Vec<ErrorStats>, StudyError> {
    let mut accs: Vec<ErrorAcc> = formats.iter().map(|_| ErrorAcc::default()).collect();
    let mut back = Vec::new();
    for t in 0..bm.tables() {
        for r in bm.rows(t) {
            let row = image.get_mut(&key(t, r)).ok_or_else(|| {
                StudyError::Failed(format!(
                    "table {t} row {r} is tracked but was never written"
                ))
            })?;
            if row.errors.is_none() {
                back.resize(row.w.len(), 0.0);
                let mut errs = Vec::with_capacity(formats.len());
                for f in formats {
                    let q = quant::quantize(&row.w, f.bits, f.scale_bias).map_err(|e| {
                        StudyError::BadInput(format!("table {t} row {r}: {} bits: {e}", f.bits))
                    })?;
                    q.dequantize_into(&mut back);
                    errs.push(RowError::of(&row.w, &back));
                }
                row.errors = Some(errs.into_boxed_slice());
            }
            if let Some(errs) = &row.errors {
                for (acc, e) in accs.iter_mut().zip(errs.iter()) {
                    acc.add(e, row.w.len());
                }
            }
        }
    }
    Ok(accs.iter().map(ErrorAcc::stats).collect())
}

fn totals(batches: usize, intervals: &[IntervalRecord]) -> Totals {
    let sum = |f: fn(&IntervalRecord) -> u64| intervals.iter().map(f).sum::<u64>();
    let n = intervals.first().map_or(0, |i| i.schemes.len());
    let mut schemes: Vec<SchemeTotal> = (0..n)
        .map(|s| {
            let name = intervals[0].schemes[s].scheme.clone();
            let all = || intervals.iter().map(move |i| &i.schemes[s]);
            let worst = all().next().and_then(|x| x.error.as_ref()).map(|_| {
                all()
                    .filter_map(|x| x.error.as_ref())
                    .fold(ErrorStats::default(), |w, e| ErrorStats {
                        rows: w.rows.max(e.rows),
                        rmse: w.rmse.max(e.rmse),
                        max_abs: w.max_abs.max(e.max_abs),
                        mean_rel_l2: w.mean_rel_l2.max(e.mean_rel_l2),
                    })
            });
            SchemeTotal {
                scheme: name,
                write_bytes: all().map(|x| x.write_bytes).sum(),
                write_reduction: 0.0,
                peak_capacity_bytes: all().map(|x| x.capacity_bytes).max().unwrap_or(0),
                capacity_reduction: 0.0,
                worst_error: worst,
            }
        })
        .collect();
    if let Some(full) = schemes.first().cloned() {
        for s in &mut schemes {
            s.write_reduction = full.write_bytes as f64 / s.write_bytes.max(1) as f64;
            s.capacity_reduction =
                full.peak_capacity_bytes as f64 / s.peak_capacity_bytes.max(1) as f64;
        }
    }
    Totals {
        batches,
        lookups: sum(|i| i.lookups),
        row_writes: sum(|i| i.row_writes),
        memwr_messages: sum(|i| i.memwr_messages),
        flits: sum(|i| i.flits),
        link_bytes: sum(|i| i.link_bytes),
        schemes,
    }
}

impl SchemeInterval {
    fn new(scheme: &str, write_bytes: u64, capacity_bytes: u64, error: Option<ErrorStats>) -> Self {
        SchemeInterval {
            scheme: scheme.to_string(),
            write_bytes,
            capacity_bytes,
            error,
        }
    }
}

impl IntervalRecord {
    fn empty(first_batch: usize) -> Self {
        IntervalRecord {
            index: 0,
            first_batch,
            batches: 0,
            lookups: 0,
            row_writes: 0,
            memwr_messages: 0,
            flits: 0,
            link_bytes: 0,
            modified_rows: 0,
            modified_fraction: 0.0,
            since_baseline_rows: 0,
            rebaseline: false,
            schemes: Vec::new(),
        }
    }
}

fn mb(b: u64) -> String {
    format!("{:.3}", b as f64 / 1e6)
}

impl Report {
    /// The human table: one line per interval (MB written per scheme), then totals and ratios.
    pub fn table(&self) -> String {
        let mut s = String::new();
        let names: Vec<&str> = self.intervals[0]
            .schemes
            .iter()
            .map(|x| x.scheme.as_str())
            .collect();
        let rows = &self.rows_per_table;
        let rows_text = if rows.iter().all(|&r| r == rows[0]) {
            rows[0].to_string()
        } else {
            format!("{rows:?}")
        };
        let _ = writeln!(
            s,
            "{}: {} tables x {rows_text} rows, dim {}, full checkpoint {} MB, bitmap {} MB",
            self.workload,
            rows.len(),
            self.dim,
            mb(self.full_bytes),
            mb(self.bitmap_bytes)
        );
        let _ = write!(
            s,
            "{:>4} {:>8} {:>10} {:>8} {:>9} {:>10}",
            "ckpt", "batches", "mod rows", "mod %", "flits", "base rows"
        );
        for n in &names {
            let _ = write!(s, " {:>13}", format!("{n} MB"));
        }
        s.push('\n');
        for i in &self.intervals {
            let _ = write!(
                s,
                "{:>4} {:>8} {:>10} {:>8.4} {:>9} {:>10}",
                format!("{}{}", i.index, if i.rebaseline { "*" } else { "" }),
                format!("{}-{}", i.first_batch, i.first_batch + i.batches - 1),
                i.modified_rows,
                100.0 * i.modified_fraction,
                i.flits,
                i.since_baseline_rows
            );
            for x in &i.schemes {
                let _ = write!(s, " {:>13}", mb(x.write_bytes));
            }
            s.push('\n');
        }
        let t = &self.totals;
        let _ = writeln!(
            s,
            "training stream: {} batches, {} lookups, {} row writes, {} MemWr, {} flits, {} MB on the link",
            t.batches, t.lookups, t.row_writes, t.memwr_messages, t.flits, mb(t.link_bytes)
        );
        let _ = writeln!(
            s,
            "{:<16} {:>14} {:>10} {:>14} {:>10} {:>11} {:>11} {:>9}",
            "scheme", "written MB", "write x", "peak cap MB", "cap x", "rmse", "max abs", "rel L2"
        );
        for x in &t.schemes {
            let (rmse, maxa, rel) = x.worst_error.as_ref().map_or(
                ("-".to_string(), "-".to_string(), "-".to_string()),
                |e| {
                    (
                        format!("{:.3e}", e.rmse),
                        format!("{:.3e}", e.max_abs),
                        format!("{:.4}", e.mean_rel_l2),
                    )
                },
            );
            let _ = writeln!(
                s,
                "{:<16} {:>14} {:>10.2} {:>14} {:>10.2} {:>11} {:>11} {:>9}",
                x.scheme,
                mb(x.write_bytes),
                x.write_reduction,
                mb(x.peak_capacity_bytes),
                x.capacity_reduction,
                rmse,
                maxa,
                rel
            );
        }
        if self.intervals.iter().any(|i| i.rebaseline) {
            s.push_str("* one-shot took a new full baseline at this checkpoint\n");
        }
        s
    }
}
