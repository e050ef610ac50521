//! Trace statistics: per table and in total, bag counts, lookups, pooling factors, unique rows and
//! a reuse histogram in power-of-two buckets (as in the "reuse" view of Meta's dlrm_datasets).

use serde::Serialize;

use crate::trace::Trace;

/// Distribution of the pooling factor (rows per bag) over a set of bags.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Pooling {
    /// Mean rows per bag (0 when there are no bags).
    pub mean: f64,
    /// Smallest bag.
    pub min: u64,
    /// Median, nearest rank: the smallest size that at least 50% of the bags do not exceed.
    pub p50: u64,
    /// 99th percentile, nearest rank (as `p50`, for 99%).
    pub p99: u64,
    /// Largest bag.
    pub max: u64,
}

/// Rows accessed a number of times in `lo..=hi`: the buckets are 1, 2, 3-4, 5-8, 9-16, ...
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReuseBucket {
    /// Fewest accesses of a row in this bucket.
    pub lo: u64,
    /// Most accesses of a row in this bucket.
    pub hi: u64,
    /// Distinct rows accessed `lo..=hi` times.
    pub rows: u64,
    /// Lookups that went to those rows.
    pub lookups: u64,
}

/// Statistics of one table, or of all tables together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TableStats {
    /// Table number in the trace; `None` for the totals.
    pub table: Option<usize>,
    /// Bags (samples, for one table).
    pub bags: u64,
    /// Lookups (indices).
    pub lookups: u64,
    /// Rows per bag.
    pub pooling: Pooling,
    /// Distinct rows accessed (in the totals: distinct (table, row) pairs).
    pub unique_rows: u64,
    /// Rows by access count; buckets from "1" up to the highest non-empty one (none when no row
    /// is accessed). Bucket `k` (from 0) holds counts `2^(k-1)+1 ..= 2^k` (bucket 0: exactly 1).
    pub reuse: Vec<ReuseBucket>,
}

/// Statistics of a whole trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceStats {
    /// Tables T.
    pub tables: usize,
    /// Samples per batch B.
    pub batch: usize,
    /// One entry per table, in table order.
    pub per_table: Vec<TableStats>,
    /// Over all tables (bags = T*B).
    pub total: TableStats,
}

/// The reuse bucket of a row accessed `count >= 1` times.
pub fn reuse_bucket(count: u64) -> usize {
    if count <= 1 {
        0
    } else {
        (64 - (count - 1).leading_zeros()) as usize
    }
}

/// Bounds `(lo, hi)` of reuse bucket `k`.
pub fn reuse_bounds(k: usize) -> (u64, u64) {
    if k == 0 {
        (1, 1)
    } else {
        ((1u64 << (k - 1)) + 1, 1u64 << k)
    }
}

fn pooling(sizes: &mut [u64]) -> Pooling {
    if sizes.is_empty() {
        return Pooling {
            mean: 0.0,
            min: 0,
            p50: 0,
            p99: 0,
            max: 0,
        };
    }
    sizes.sort_unstable();
    let n = sizes.len();
    let rank = |p: u64| sizes[((p as usize * n).div_ceil(100)).max(1) - 1];
    Pooling {
        mean: sizes.iter().sum::<u64>() as f64 / n as f64,
        min: sizes[0],
        p50: rank(50),
        p99: rank(99),
        max: sizes[n - 1],
    }
}

/// Adds the access counts of `sorted` (one table's indices, sorted) to `hist` (rows, lookups per
/// bucket); returns the number of distinct rows.
fn count_reuse(sorted: &[i64], hist: &mut Vec<(u64, u64)>) -> u64 {
    let mut unique = 0;
    for run in sorted.chunk_by(|a, b| a == b) {
        let c = run.len() as u64;
        let k = reuse_bucket(c);
        if hist.len() <= k {
            hist.resize(k + 1, (0, 0));
        }
        hist[k].0 += 1;
        hist[k].1 += c;
        unique += 1;
    }
    unique
}

fn buckets(hist: &[(u64, u64)]) -> Vec<ReuseBucket> {
    hist.iter()
        .enumerate()
        .map(|(k, &(rows, lookups))| {
            let (lo, hi) = reuse_bounds(k);
            ReuseBucket {
                lo,
                hi,
                rows,
                lookups,
            }
        })
        .collect()
}

/// Statistics of `trace` (which must be valid, see [`Trace::validate`]).
pub fn trace_stats(trace: &Trace) -> TraceStats {
    let (t, b) = (trace.tables, trace.batch);
    let lengths: Vec<u64> = trace.lengths().iter().map(|&l| l as u64).collect();
    let mut per_table = Vec::with_capacity(t);
    let mut total_hist = Vec::new();
    let mut total_unique = 0;
    let mut sorted = Vec::new();
    for table in 0..t {
        let (lo, hi) = (
            trace.offsets[table * b] as usize,
            trace.offsets[(table + 1) * b] as usize,
        );
        sorted.clear();
        sorted.extend_from_slice(&trace.indices[lo..hi]);
        sorted.sort_unstable();
        let mut hist = Vec::new();
        let unique = count_reuse(&sorted, &mut hist);
        if total_hist.len() < hist.len() {
            total_hist.resize(hist.len(), (0, 0));
        }
        for (acc, h) in total_hist.iter_mut().zip(&hist) {
            acc.0 += h.0;
            acc.1 += h.1;
        }
        total_unique += unique;
        per_table.push(TableStats {
            table: Some(table),
            bags: b as u64,
            lookups: (hi - lo) as u64,
            pooling: pooling(&mut lengths[table * b..(table + 1) * b].to_vec()),
            unique_rows: unique,
            reuse: buckets(&hist),
        });
    }
    let total = TableStats {
        table: None,
        bags: (t * b) as u64,
        lookups: trace.indices.len() as u64,
        pooling: pooling(&mut lengths.clone()),
        unique_rows: total_unique,
        reuse: buckets(&total_hist),
    };
    TraceStats {
        tables: t,
        batch: b,
        per_table,
        total,
    }
}
