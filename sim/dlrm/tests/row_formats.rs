//! Weights in the fp16 and int8 row formats: `.npz` round trips, the binary32 values the switch
//! sums, the float64 reference of a run in a format and its binary32 error bound, bad input.

mod common;

use std::path::Path;

use common::*;
use pifs_dlrm::*;

const DIM: usize = 20;

/// binary16 bits to their value, from the IEEE 754 definition (finite values only).
fn half(h: u16) -> f64 {
    let sign = if h >> 15 == 1 { -1.0 } else { 1.0 };
    let (e, m) = (i32::from((h >> 10) & 31), f64::from(h & 0x3FF));
    assert!(e < 31, "test data holds no fp16 inf/NaN");
    if e == 0 {
        sign * m * 2f64.powi(-24)
    } else {
        sign * (1024.0 + m) * 2f64.powi(e - 25)
    }
}

/// The value of column `c` of a stored row, in float64, computed from the layout by hand.
fn stored_value(fmt: RowFormat, row: &[u8], c: usize) -> f64 {
    match fmt {
        RowFormat::Fp32 => f64::from(f32::from_le_bytes(
            row[4 * c..4 * c + 4].try_into().unwrap(),
        )),
        RowFormat::Fp16 => half(u16::from_le_bytes([row[2 * c], row[2 * c + 1]])),
        RowFormat::Int8 => {
            let scale = half(u16::from_le_bytes([row[0], row[1]]));
            let bias = half(u16::from_le_bytes([row[2], row[3]]));
            // q * scale + bias is exact in float64 (8 + 11 bits, exponents within fp16's).
            f64::from(row[4 + c]) * scale + bias
        }
    }
}

/// Deterministic tables with rows of different spreads and signs, a constant row among them.
fn tables(n: usize, rows: usize) -> Vec<Table> {
    let mut z = 0x9E37_79B9_7F4A_7C15u64;
    (0..n)
        .map(|t| {
            let mut data = Vec::with_capacity(rows * DIM);
            for r in 0..rows {
                let spread = [0.01f32, 0.5, 3.0, 40.0][(t + r) % 4];
                let offset = [0.0f32, -1.0, 2.5][r % 3];
                for _ in 0..DIM {
                    z = z
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let u = (z >> 40) as f32 / 16_777_216.0 - 0.5;
                    data.push(if r == 3 { 0.75 } else { offset + spread * u });
                }
            }
            Table { rows, data }
        })
        .collect()
}

fn encoded(fmt: RowFormat, tab: &Table) -> Vec<u8> {
    let mut out = Vec::new();
    for row in tab.data.chunks_exact(DIM) {
        fmt.encode(row, &mut out).unwrap();
    }
    out
}

#[test]
fn write_read_round_trip_in_every_format() {
    let src = tables(3, 9);
    for fmt in RowFormat::ALL {
        let p = tmp(&format!("rf-round-{fmt}.npz"));
        write_weights_npz_format(&p, &src, DIM, fmt).unwrap();
        let w = read_weights_npz(&p, Some(DIM)).unwrap();
        assert_eq!(w.format(), fmt);
        assert_eq!(w.dim(), DIM);
        assert_eq!(w.num_tables(), Some(3));
        match (&w, fmt) {
            (Weights::Loaded { tables, .. }, RowFormat::Fp32) => assert_eq!(tables, &src),
            (Weights::Packed { tables, .. }, RowFormat::Fp16 | RowFormat::Int8) => {
                for (tab, s) in tables.iter().zip(&src) {
                    assert_eq!(tab.rows, 9);
                    assert_eq!(tab.bytes, encoded(fmt, s), "{fmt}");
                }
            }
            _ => panic!("{fmt}: read as {w:?}"),
        }
        let mut row = vec![0.0f32; DIM];
        let mut bytes = Vec::new();
        for (t, s) in src.iter().enumerate() {
            let stored = encoded(fmt, s);
            for r in 0..9 {
                let native = &stored[r * fmt.row_bytes(DIM)..(r + 1) * fmt.row_bytes(DIM)];
                w.row_into(t, r as u64, &mut row);
                for (c, &x) in row.iter().enumerate() {
                    // fp32/fp16: the exact value; int8: the exact q*scale+bias rounded once to binary32.
                    let want = stored_value(fmt, native, c) as f32;
                    assert_eq!(
                        x.to_bits(),
                        want.to_bits(),
                        "{fmt} table {t} row {r} col {c}"
                    );
                }
                bytes.clear();
                w.row_bytes_into(t, r as u64, fmt, &mut bytes).unwrap();
                assert_eq!(bytes, native, "{fmt} native bytes");
                // In fp32, a packed row's bytes are its binary32 values.
                bytes.clear();
                w.row_bytes_into(t, r as u64, RowFormat::Fp32, &mut bytes)
                    .unwrap();
                let le: Vec<u8> = row.iter().flat_map(|x| x.to_le_bytes()).collect();
                assert_eq!(bytes, le);
            }
        }
        // float32 weights stored on the fly in fmt give what the writer stored.
        let loaded = Weights::Loaded {
            dim: DIM,
            tables: src.clone(),
        };
        bytes.clear();
        loaded.row_bytes_into(2, 5, fmt, &mut bytes).unwrap();
        let stored = encoded(fmt, &src[2]);
        assert_eq!(
            bytes,
            &stored[5 * fmt.row_bytes(DIM)..6 * fmt.row_bytes(DIM)]
        );
    }
}

#[test]
fn hand_built_fp16_and_uint8_archives_read() {
    // Written by hand (not by this crate's writer), in numpy's spellings "<f2" and "|u1" / "<u1".
    let halves: [u16; 6] = [0x3C00, 0xC000, 0x0001, 0x7BFF, 0x8000, 0x3555];
    let h_bytes: Vec<u8> = halves.iter().flat_map(|h| h.to_le_bytes()).collect();
    let p = tmp("rf-hand-f2.npz");
    write_zip(
        &p,
        &[
            ("table_0.npy", npy_bytes("<f2", "(2, 3)", &h_bytes), false),
            (
                "table_1.npy",
                npy_bytes("<f2", "(1, 3)", &h_bytes[..6]),
                true,
            ),
        ],
    );
    let w = read_weights_npz(&p, None).unwrap();
    assert_eq!(w.format(), RowFormat::Fp16);
    assert_eq!((w.dim(), w.rows(0), w.rows(1)), (3, Some(2), Some(1)));
    let mut row = [0.0f32; 3];
    w.row_into(0, 1, &mut row);
    assert_eq!(
        row.map(f64::from),
        [half(0x7BFF), half(0x8000), half(0x3555)]
    );
    assert_eq!(row[0], 65504.0);
    assert!(row[1] == 0.0 && row[1].is_sign_negative());

    // int8 rows: scale 0.5 (0x3800), bias -1.0 (0xBC00), codes 0, 3, 255.
    let int8_row = [0x00, 0x38, 0x00, 0xBC, 0, 3, 255];
    for descr in ["|u1", "<u1"] {
        let p = tmp("rf-hand-u1.npz");
        write_zip(
            &p,
            &[("table_0.npy", npy_bytes(descr, "(1, 7)", &int8_row), false)],
        );
        let w = read_weights_npz(&p, Some(3)).unwrap();
        assert_eq!(w.format(), RowFormat::Int8);
        w.row_into(0, 0, &mut row);
        assert_eq!(row, [-1.0, 0.5, 126.5]);
    }
}

/// Writes members and returns the one-line error of reading them as weights.
fn weights_err(name: &str, members: &[(&str, Vec<u8>, bool)], dim: Option<usize>) -> String {
    let p = tmp(name);
    write_zip(&p, members);
    let msg = read_weights_npz(&p, dim)
        .expect_err("bad weights accepted")
        .to_string();
    assert!(!msg.contains('\n'), "not one line: {msg}");
    assert!(msg.starts_with(&p.display().to_string()), "{msg}");
    msg
}

#[test]
fn mixed_dtypes_and_bad_int8_shapes_are_one_line_errors() {
    let f4 = npy_bytes("<f4", "(2, 2)", &f32s(&[1.0, 2.0, 3.0, 4.0]));
    let f2 = npy_bytes("<f2", "(2, 2)", &[0u8; 8]);
    let u1 = npy_bytes("|u1", "(2, 6)", &[0u8; 12]);
    let msg = weights_err(
        "rf-mixed.npz",
        &[
            ("table_0.npy", f4.clone(), false),
            ("table_1.npy", f2.clone(), false),
        ],
        None,
    );
    assert!(
        msg.ends_with(": table_1: dtype <f2, expected float32 (<f4) like table_0 (all tables share one dtype)"),
        "{msg}"
    );
    let msg = weights_err(
        "rf-mixed2.npz",
        &[
            ("table_0.npy", u1.clone(), false),
            ("table_1.npy", f4, false),
        ],
        None,
    );
    assert!(
        msg.ends_with(
            ": table_1: dtype <f4, expected uint8 (|u1) like table_0 (all tables share one dtype)"
        ),
        "{msg}"
    );

    let msg = weights_err(
        "rf-narrow.npz",
        &[("table_0.npy", npy_bytes("|u1", "(3, 4)", &[0u8; 12]), false)],
        None,
    );
    assert!(
        msg.contains(": table_0: shape (3, 4): uint8 rows hold a 4-byte fp16 scale and bias"),
        "{msg}"
    );
    let msg = weights_err(
        "rf-u1-dim.npz",
        &[("table_0.npy", u1.clone(), false)],
        Some(4),
    );
    assert!(
        msg.ends_with(": table_0: dim 2 (uint8 rows of 4 + dim bytes), but --dim is 4"),
        "{msg}"
    );
    let msg = weights_err(
        "rf-u1-dims.npz",
        &[
            ("table_0.npy", u1, false),
            ("table_1.npy", npy_bytes("|u1", "(1, 7)", &[0u8; 7]), false),
        ],
        None,
    );
    assert!(
        msg.ends_with(": table_1: dim 3 (uint8 rows of 4 + dim bytes), but table_0 has dim 2"),
        "{msg}"
    );
    let msg = weights_err(
        "rf-f2-1d.npz",
        &[("table_0.npy", npy_bytes("<f2", "(4,)", &[0u8; 8]), false)],
        None,
    );
    assert!(
        msg.ends_with(": table_0: shape (4,) is 1-D, expected 2-D"),
        "{msg}"
    );
    let msg = weights_err(
        "rf-f2-short.npz",
        &[("table_0.npy", npy_bytes("<f2", "(2, 2)", &[0u8; 6]), false)],
        None,
    );
    assert!(
        msg.contains(": table_0: truncated data: shape (2, 2) <f2 needs 8 bytes"),
        "{msg}"
    );
    let msg = weights_err(
        "rf-i1.npz",
        &[("table_0.npy", npy_bytes("|i1", "(2, 6)", &[0u8; 12]), false)],
        None,
    );
    assert!(msg.ends_with(": table_0: dtype |i1, expected float32 (<f4), float16 (<f2) or uint8 (|u1, int8 row-wise rows)"), "{msg}");
    let _ = f2;
}

#[test]
fn unencodable_values_name_table_and_row() {
    let mut src = tables(2, 4);
    src[1].data[2 * DIM + 5] = 1.0e6; // beyond fp16's range
    let p = tmp("rf-unencodable.npz");
    let _ = std::fs::remove_file(&p);
    let msg = write_weights_npz_format(&p, &src, DIM, RowFormat::Fp16)
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        format!(
            "{}: table_1: row 2: column 5 is 1000000: beyond fp16's range",
            p.display()
        )
    );
    assert!(!Path::new(&p).exists(), "nothing is written");
    src[1].data[2 * DIM + 5] = f32::NAN;
    let msg = write_weights_npz_format(&p, &src, DIM, RowFormat::Int8)
        .unwrap_err()
        .to_string();
    assert!(
        msg.ends_with(": table_1: row 2: column 5 is NaN: not finite"),
        "{msg}"
    );
    let msg = write_weights_npz_format(&p, &src[..1], 0, RowFormat::Int8)
        .unwrap_err()
        .to_string();
    assert!(msg.ends_with(": dim: must be at least 1"), "{msg}");

    // The same value met by the float64 reference of an fp16 run.
    src[1].data[2 * DIM + 5] = 1.0e6;
    let w = Weights::Loaded {
        dim: DIM,
        tables: src,
    };
    let trace = Trace {
        tables: 2,
        batch: 1,
        indices: vec![0, 3, 2],
        offsets: vec![0, 1, 3],
    };
    let msg = pool_f64_in(&trace, &w, RowFormat::Fp16)
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "weights: table_1: row 2 in fp16: column 5 is 1000000: beyond fp16's range"
    );
    assert!(pool_f64_in(&trace, &w, RowFormat::Fp32).is_ok());
    let mut out = vec![7u8];
    assert!(w.row_bytes_into(1, 2, RowFormat::Fp16, &mut out).is_err());
    assert_eq!(out, [7], "nothing appended on error");
}

/// A trace over `tables` tables of `rows` rows with long bags.
fn trace(tables: usize, rows: u64) -> Trace {
    generate(tables, rows, 6, 70, IndexDist::Uniform, 11).unwrap()
}

#[test]
fn pool_f64_in_sums_the_stored_values_and_bounds_the_binary32_sum() {
    let src = tables(3, 40);
    let tr = trace(3, 40);
    for fmt in RowFormat::ALL {
        let p = tmp(&format!("rf-pool-{fmt}.npz"));
        write_weights_npz_format(&p, &src, DIM, fmt).unwrap();
        let w = read_weights_npz(&p, None).unwrap();
        let got = pool_f64(&tr, &w).unwrap();
        assert_eq!(got.dequant_rounded, fmt == RowFormat::Int8);
        assert_eq!(got, pool_f64_in(&tr, &w, fmt).unwrap());
        // float32 weights quantised on the fly give the same reference.
        let loaded = Weights::Loaded {
            dim: DIM,
            tables: src.clone(),
        };
        assert_eq!(got, pool_f64_in(&tr, &loaded, fmt).unwrap(), "{fmt}");

        let stored: Vec<Vec<u8>> = src.iter().map(|t| encoded(fmt, t)).collect();
        let rb = fmt.row_bytes(DIM);
        let mut row = vec![0.0f32; DIM];
        let mut worst = 0.0f64;
        for (t, stored_t) in stored.iter().enumerate() {
            for b in 0..tr.batch {
                let bag = tr.bag(t, b);
                let o = (t * tr.batch + b) * DIM;
                assert_eq!(got.n[t * tr.batch + b], bag.len());
                let mut s32 = [0.0f32; DIM];
                for c in 0..DIM {
                    // Independent float64 sums of the values the stored bytes stand for.
                    let (mut s, mut a) = (0.0f64, 0.0f64);
                    for &r in bag {
                        let v = stored_value(fmt, &stored_t[r as usize * rb..][..rb], c);
                        s += v;
                        a += v.abs();
                    }
                    assert_eq!(got.sum[o + c], s, "{fmt} bag ({t}, {b}) col {c}");
                    assert_eq!(got.abs_sum[o + c], a);
                }
                // The switch's binary32 sum, in bag order, of the binary32 row values.
                for &r in bag {
                    w.row_into(t, r as u64, &mut row);
                    for (acc, x) in s32.iter_mut().zip(&row) {
                        *acc += x;
                    }
                }
                for (c, &x) in s32.iter().enumerate() {
                    let err = (f64::from(x) - got.sum[o + c]).abs();
                    let bound = got.f32_bound(o + c);
                    assert!(
                        err <= bound,
                        "{fmt} ({t}, {b}, {c}): error {err:e} > bound {bound:e}"
                    );
                    worst = worst.max(err / bound);
                }
            }
        }
        assert!(
            worst > 0.0,
            "{fmt}: the binary32 sums were all exact, the test proves little"
        );
    }
}

#[test]
fn int8_bound_counts_the_dequant_rounding() {
    // A one-row bag: binary32 summation adds no error, but q*scale+bias rounds.
    // scale 0x0003 = 3 * 2^-24 (subnormal), bias 0x3C00 = 1.0, code 1: 1 + 1.5 binary32 ulps,
    // a tie rounded to even (1 + 2 ulps).
    let w = Weights::Packed {
        dim: 1,
        format: RowFormat::Int8,
        tables: vec![PackedTable {
            rows: 1,
            bytes: vec![0x03, 0x00, 0x00, 0x3C, 1],
        }],
    };
    let tr = Trace {
        tables: 1,
        batch: 1,
        indices: vec![0],
        offsets: vec![0, 1],
    };
    let p = pool_f64(&tr, &w).unwrap();
    // A packed table of the wrong size (built in code) is an error, not a panic.
    let mut short = w.clone();
    if let Weights::Packed { tables, .. } = &mut short {
        tables[0].bytes.pop();
    }
    assert_eq!(
        pool_f64(&tr, &short).unwrap_err().to_string(),
        "weights: table_0: 4 bytes, expected 1 rows x 5 bytes per row (int8 dim 1)"
    );
    let exact = half(0x0003) + half(0x3C00);
    assert_eq!(p.sum, [exact]);
    let mut row = [0.0f32];
    w.row_into(0, 0, &mut row);
    let err = (f64::from(row[0]) - exact).abs();
    assert_eq!(row[0], 1.0 + 2f32.powi(-22));
    assert_eq!(err, 2f64.powi(-24));
    assert!(err <= p.f32_bound(0));
    assert_eq!(p.f32_bound(0), exact * 2f64.powi(-24));
    // Synthetic fp32 weights keep the (n - 1) bound and the same sums as before.
    let s = pool_f64(&tr, &Weights::Synthetic { dim: 1 }).unwrap();
    assert!(!s.dequant_rounded);
    assert_eq!(s.f32_bound(0), 0.0);
    assert_eq!(s.sum, [f64::from(synthetic_weight(0, 0, 0))]);
}
