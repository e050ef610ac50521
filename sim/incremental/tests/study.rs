//! The study end to end on small generated workloads: the switch's bitmaps against brute-force
//! sets of the rows each interval's batches touched, every scheme's bytes recomputed from those
//! sets, the link counts against the message rules, and the restore error recomputed from rows
//! replayed here from the trace and the gradient formula (and, lr = 0, from the initial
//! weights).

use std::collections::{HashMap, HashSet};

use pifs_dlrm::{generate, synthetic_weight, IndexDist, Trace, Weights};
use pifs_incremental::quant::{self, ScaleBias};
use pifs_incremental::study::grad_unit;
use pifs_incremental::{run, Batch, StudyConfig};

const ROWS: [u64; 3] = [500, 120, 900];
const DIM: usize = 20; // 80 bytes: 2 lines per row

fn traces(n: usize) -> Vec<Trace> {
    (0..n)
        .map(|k| {
            let mut t =
                generate(3, 900, 8, 5, IndexDist::Zipf { alpha: 0.9 }, 40 + k as u64).unwrap();
            // Fold each table's indices into its own size.
            for (tab, rows) in ROWS.iter().enumerate() {
                let (a, b) = (t.offsets[tab * 8] as usize, t.offsets[tab * 8 + 8] as usize);
                for i in &mut t.indices[a..b] {
                    *i %= *rows as i64;
                }
            }
            t
        })
        .collect()
}

fn touched(t: &Trace) -> HashSet<(usize, u64)> {
    let mut s = HashSet::new();
    for tab in 0..t.tables {
        for b in 0..t.batch {
            for &r in t.bag(tab, b) {
                s.insert((tab, r as u64));
            }
        }
    }
    s
}

/// Bytes of a checkpoint of `set` with `row` bytes per row: rows plus, per table, the smaller
/// of a 4-byte index per row and the table's bitmap.
fn ckpt_bytes(set: &HashSet<(usize, u64)>, row: u64) -> u64 {
    (0..3)
        .map(|t| {
            let n = set.iter().filter(|e| e.0 == t).count() as u64;
            n * row + (4 * n).min(ROWS[t].div_ceil(8))
        })
        .sum()
}

#[test]
fn bitmaps_bytes_and_link_counts_match_brute_force() {
    let tr = traces(10);
    let batches: Vec<Batch> = tr
        .iter()
        .map(|t| Batch {
            trace: t,
            samples: 0..8,
        })
        .collect();
    let cfg = StudyConfig {
        interval: 3,
        lr: 0.05,
        bits: vec![8, 4, 2],
        rebaseline: 0.3,
        seed: 5,
    };
    let rep = run(
        "test",
        &batches,
        &ROWS,
        &Weights::Synthetic { dim: DIM },
        &cfg,
    )
    .unwrap();
    let full = (500 + 120 + 900) * DIM as u64 * 4;
    assert_eq!(rep.full_bytes, full);
    assert_eq!(rep.bitmap_bytes, 63 + 15 + 113);
    assert_eq!(rep.intervals.len(), 4); // 3 + 3 + 3 + 1
    let mut since: HashSet<(usize, u64)> = HashSet::new();
    let mut consecutive_sum = 0;
    let mut rebaselines = 0;
    // The true rows, replayed batch by batch: each distinct row of a batch moves once by
    // -lr * sqrt(lookups of it in the batch) * grad_unit.
    let mut truth: HashMap<(usize, u64), Vec<f32>> = HashMap::new();
    for (k, iv) in rep.intervals.iter().enumerate() {
        let span = &tr[3 * k..(3 * k + 3).min(10)];
        for (j, t) in span.iter().enumerate() {
            let bi = (3 * k + j) as u64;
            let mut counts: HashMap<(usize, u64), u32> = HashMap::new();
            for tab in 0..3 {
                for b in 0..8 {
                    for &r in t.bag(tab, b) {
                        *counts.entry((tab, r as u64)).or_default() += 1;
                    }
                }
            }
            for (&(tab, r), &n) in &counts {
                let w = truth.entry((tab, r)).or_insert_with(|| {
                    (0..DIM)
                        .map(|c| synthetic_weight(tab as u64, r, c as u64))
                        .collect()
                });
                for (c, v) in w.iter_mut().enumerate() {
                    *v -= 0.05 * (n as f32).sqrt() * grad_unit(5, bi, tab, r, c);
                }
            }
        }
        assert_eq!(iv.batches, span.len());
        let mut set = HashSet::new();
        let mut writes = 0;
        for t in span {
            let s = touched(t);
            writes += s.len() as u64;
            set.extend(s);
        }
        since.extend(set.iter().copied());
        assert_eq!(
            iv.lookups,
            span.iter().map(|t| t.lookups() as u64).sum::<u64>()
        );
        assert_eq!(iv.row_writes, writes);
        assert_eq!(iv.memwr_messages, 2 * writes);
        assert!(4 * iv.flits >= 5 * iv.memwr_messages);
        assert_eq!(iv.link_bytes, 68 * iv.flits);
        assert_eq!(iv.modified_rows, set.len() as u64);
        assert_eq!(iv.since_baseline_rows, since.len() as u64);
        let cons = ckpt_bytes(&set, 80);
        let one = ckpt_bytes(&since, 80);
        let rebase = one as f64 > 0.3 * full as f64;
        assert_eq!(iv.rebaseline, rebase, "interval {k}");
        consecutive_sum += cons;
        let by = |n: &str| iv.schemes.iter().find(|s| s.scheme == n).unwrap();
        assert_eq!(
            (by("full").write_bytes, by("full").capacity_bytes),
            (full, full)
        );
        assert_eq!(by("consecutive").write_bytes, cons);
        assert_eq!(by("consecutive").capacity_bytes, full + consecutive_sum);
        let (w, c) = if rebase {
            (full, full)
        } else {
            (one, full + one)
        };
        assert_eq!(
            (by("one-shot").write_bytes, by("one-shot").capacity_bytes),
            (w, c)
        );
        // Quantized rows: 20 codes packed + scale/bias (fp32 at 8 bits, fp16 below).
        for (bits, qrow) in [(8u8, 20 + 8), (4, 10 + 4), (2, 5 + 4)] {
            let s = by(&format!("one-shot q{bits}"));
            let fq = 1520 * qrow;
            let oq = ckpt_bytes(&since, qrow);
            let (w, c) = if rebase { (fq, fq) } else { (oq, fq + oq) };
            assert_eq!(
                (s.write_bytes, s.capacity_bytes),
                (w, c),
                "q{bits} interval {k}"
            );
            let e = s.error.as_ref().unwrap();
            assert_eq!(e.rows, since.len() as u64);
            let (mut sq, mut max, mut rel) = (0.0f64, 0.0f64, 0.0f64);
            for key in &since {
                let x = &truth[key];
                let q = quant::quantize(x, bits, ScaleBias::for_bits(bits)).unwrap();
                let (mut d2, mut x2) = (0.0, 0.0);
                for (c, &v) in x.iter().enumerate() {
                    let back = q.bias + q.codes[c] as f32 * q.scale;
                    let d = v as f64 - back as f64;
                    d2 += d * d;
                    x2 += v as f64 * v as f64;
                    max = max.max(d.abs());
                }
                sq += d2;
                rel += (d2 / x2).sqrt();
            }
            let n = since.len() as f64;
            let rmse = (sq / (n * DIM as f64)).sqrt();
            assert!(
                (e.rmse - rmse).abs() <= 1e-9 * rmse,
                "q{bits}: {} vs {rmse}",
                e.rmse
            );
            assert_eq!(e.max_abs, max, "q{bits}");
            assert!((e.mean_rel_l2 - rel / n).abs() <= 1e-9 * rel / n);
        }
        if rebase {
            rebaselines += 1;
            since.clear();
        }
    }
    assert!(rebaselines >= 1, "the test should exercise a rebaseline");
    // Totals are the sums of the intervals; reductions are full / scheme.
    for (s, tot) in rep.totals.schemes.iter().enumerate() {
        let sum: u64 = rep.intervals.iter().map(|i| i.schemes[s].write_bytes).sum();
        assert_eq!(tot.write_bytes, sum);
        let peak = rep
            .intervals
            .iter()
            .map(|i| i.schemes[s].capacity_bytes)
            .max()
            .unwrap();
        assert_eq!(tot.peak_capacity_bytes, peak);
        assert!((tot.write_reduction - (4 * full) as f64 / sum as f64).abs() < 1e-9);
    }
    // More bits, smaller error.
    let err = |n: &str| {
        rep.totals
            .schemes
            .iter()
            .find(|s| s.scheme == n)
            .unwrap()
            .worst_error
            .clone()
            .unwrap()
    };
    assert!(err("one-shot q8").rmse < err("one-shot q4").rmse);
    assert!(err("one-shot q4").rmse < err("one-shot q2").rmse);
}

/// With lr = 0 the rows the switch receives equal the initial weights, so the restore error of
/// each checkpoint can be recomputed from the synthetic-weight formula and the touched rows.
#[test]
fn restore_error_recomputed_from_initial_weights() {
    let tr = traces(4);
    let batches: Vec<Batch> = tr
        .iter()
        .map(|t| Batch {
            trace: t,
            samples: 0..8,
        })
        .collect();
    let cfg = StudyConfig {
        interval: 2,
        lr: 0.0,
        bits: vec![4],
        rebaseline: 1.0,
        seed: 1,
    };
    let rep = run(
        "lr0",
        &batches,
        &ROWS,
        &Weights::Synthetic { dim: DIM },
        &cfg,
    )
    .unwrap();
    let mut since = HashSet::new();
    for (k, iv) in rep.intervals.iter().enumerate() {
        for t in &tr[2 * k..2 * k + 2] {
            since.extend(touched(t));
        }
        let (mut sq, mut n, mut max) = (0.0f64, 0u64, 0.0f64);
        for &(t, r) in &since {
            let x: Vec<f32> = (0..DIM)
                .map(|c| synthetic_weight(t as u64, r, c as u64))
                .collect();
            let q = quant::quantize(&x, 4, ScaleBias::Fp16).unwrap();
            for (c, &v) in x.iter().enumerate() {
                let back = q.bias as f64 + q.codes[c] as f64 * q.scale as f64;
                let d = v as f64 - back;
                sq += d * d;
                max = max.max(d.abs());
                n += 1;
            }
        }
        let e = iv.schemes[3].error.as_ref().unwrap();
        assert!(
            (e.rmse - (sq / n as f64).sqrt()).abs() <= 1e-6 * e.rmse,
            "{} vs {}",
            e.rmse,
            (sq / n as f64).sqrt()
        );
        assert!((e.max_abs - max).abs() <= 1e-6);
    }
}

#[test]
fn bad_parameters_are_rejected() {
    let tr = traces(1);
    let batches = [Batch {
        trace: &tr[0],
        samples: 0..8,
    }];
    let w = Weights::Synthetic { dim: DIM };
    let ok = StudyConfig {
        interval: 1,
        lr: 0.01,
        bits: vec![8],
        rebaseline: 0.5,
        seed: 1,
    };
    assert!(run("x", &batches, &ROWS, &w, &ok).is_ok());
    for bad in [
        StudyConfig {
            interval: 0,
            ..ok.clone()
        },
        StudyConfig {
            bits: vec![9],
            ..ok.clone()
        },
        StudyConfig {
            bits: vec![0],
            ..ok.clone()
        },
        StudyConfig {
            bits: vec![4, 4],
            ..ok.clone()
        },
        StudyConfig {
            rebaseline: 0.0,
            ..ok.clone()
        },
        StudyConfig {
            lr: f32::NAN,
            ..ok.clone()
        },
    ] {
        assert!(matches!(
            run("x", &batches, &ROWS, &w, &bad),
            Err(pifs_incremental::StudyError::BadInput(_))
        ));
    }
    // A row beyond the table.
    assert!(run("x", &batches, &[500, 120, 10], &w, &ok).is_err());
}
