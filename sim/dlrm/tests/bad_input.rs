//! Bad input: every malformed trace, weight or array file gives one error line naming file, field and problem.

mod common;

use common::*;
use pifs_dlrm::*;

/// Asserts `err` renders as one line holding the file name and every fragment.
fn assert_names(err: DlrmError, file: &str, fragments: &[&str]) {
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "not one line: {msg}");
    assert!(msg.starts_with(file), "does not start with {file}: {msg}");
    for f in fragments {
        assert!(msg.contains(f), "missing {f:?} in: {msg}");
    }
}

/// Writes a trace archive from members and returns the error of reading it (with `tables`).
fn trace_err(
    name: &str,
    members: &[(&str, Vec<u8>, bool)],
    tables: Option<usize>,
) -> (DlrmError, String) {
    let p = tmp(name);
    write_zip(&p, members);
    let err = read_trace_npz(&p, tables).expect_err("bad trace accepted");
    (err, p.display().to_string())
}

#[test]
fn missing_file() {
    let p = tmp("does_not_exist.npz");
    let f = p.display().to_string();
    assert_names(read_trace_npz(&p, None).unwrap_err(), &f, &["cannot open"]);
    assert_names(
        read_weights_npz(&p, None).unwrap_err(),
        &f,
        &["cannot open"],
    );
    assert_names(read_npy_f32(&p).unwrap_err(), &f, &["cannot open"]);
}

#[test]
fn not_a_zip() {
    let p = tmp("not_zip.npz");
    std::fs::write(&p, b"this is plain text, not an archive").unwrap();
    assert_names(
        read_trace_npz(&p, None).unwrap_err(),
        &p.display().to_string(),
        &["not a .npz (zip) archive"],
    );
}

#[test]
fn missing_offsets() {
    let (e, f) = trace_err(
        "no_offsets.npz",
        &[i64_member("indices.npy", &[1, 2])],
        None,
    );
    assert_names(e, &f, &["offsets", "missing", "indices"]);
}

#[test]
fn offsets_not_starting_at_zero() {
    let (e, f) = trace_err(
        "off_start.npz",
        &[
            i64_member("indices.npy", &[1, 2]),
            i64_member("offsets.npy", &[1, 2]),
        ],
        None,
    );
    assert_names(e, &f, &["offsets", "starts at 1, expected 0"]);
}

#[test]
fn offsets_not_monotonic() {
    let (e, f) = trace_err(
        "off_mono.npz",
        &[
            i64_member("indices.npy", &[1, 2, 3, 4]),
            i64_member("offsets.npy", &[0, 3, 2, 4]),
        ],
        None,
    );
    assert_names(
        e,
        &f,
        &[
            "offsets",
            "not monotonic at position 2",
            "offsets[1] = 3 > offsets[2] = 2",
        ],
    );
}

#[test]
fn offsets_last_not_len_indices() {
    let (e, f) = trace_err(
        "off_last.npz",
        &[
            i64_member("indices.npy", &[1, 2, 3, 4]),
            i64_member("offsets.npy", &[0, 1, 3]),
        ],
        None,
    );
    assert_names(
        e,
        &f,
        &["offsets", "last element is 3", "indices has 4 elements"],
    );
}

#[test]
fn lengths_disagree_with_offsets() {
    let (e, f) = trace_err(
        "lengths_bad.npz",
        &[
            i64_member("indices.npy", &[1, 2, 3, 4]),
            i64_member("offsets.npy", &[0, 1, 3, 3, 4]),
            (
                "lengths.npy",
                npy_bytes("<i8", "(2, 2)", &i64s(&[1, 2, 1, 0])),
                false,
            ),
        ],
        None,
    );
    assert_names(
        e,
        &f,
        &["lengths", "[1, 0] is 1", "offsets give a bag of 0"],
    );
}

#[test]
fn lengths_shape_disagrees_with_offsets_length() {
    let (e, f) = trace_err(
        "lengths_shape.npz",
        &[
            i64_member("indices.npy", &[1, 2]),
            i64_member("offsets.npy", &[0, 1, 2]),
            (
                "lengths.npy",
                npy_bytes("<i8", "(2, 2)", &i64s(&[1, 1, 0, 0])),
                false,
            ),
        ],
        None,
    );
    assert_names(e, &f, &["offsets", "length 3", "(2, 2)"]);
}

#[test]
fn batch_does_not_divide() {
    let (e, f) = trace_err(
        "b_divide.npz",
        &[
            i64_member("indices.npy", &[1, 2, 3]),
            i64_member("offsets.npy", &[0, 1, 2, 3]),
        ],
        Some(2),
    );
    assert_names(e, &f, &["offsets", "3 bags", "do not divide into 2 tables"]);
}

#[test]
fn negative_index() {
    let (e, f) = trace_err(
        "neg_index.npz",
        &[
            i64_member("indices.npy", &[1, -3, 4]),
            i64_member("offsets.npy", &[0, 1, 3]),
        ],
        Some(2),
    );
    assert_names(
        e,
        &f,
        &[
            "indices",
            "negative index -3 at position 1",
            "table 1, sample 0",
        ],
    );
}

#[test]
fn index_out_of_range() {
    let p = tmp("oor.npz");
    let t = Trace {
        tables: 2,
        batch: 2,
        indices: vec![0, 9, 3, 10, 2],
        offsets: vec![0, 1, 2, 4, 5],
    };
    write_trace_npz(&p, &t).unwrap();
    let f = p.display().to_string();
    let t = read_trace_npz(&p, None).unwrap();
    t.check_rows(&[11], &f).unwrap();
    assert_names(
        t.check_rows(&[10], &f).unwrap_err(),
        &f,
        &[
            "indices",
            "table 1, sample 0, position 1 (indices[3])",
            "10 out of range 0..10",
        ],
    );
    assert_names(
        t.check_rows(&[9, 11], &f).unwrap_err(),
        &f,
        &["table 0, sample 1", "9 out of range 0..9"],
    );
    assert_names(
        t.check_rows(&[10, 10, 10], &f).unwrap_err(),
        &f,
        &["tables", "trace has 2 tables"],
    );
    let w = Weights::Loaded {
        dim: 1,
        tables: vec![Table {
            rows: 10,
            data: vec![0.0; 10],
        }],
    };
    assert_names(
        w.check_trace(&t, &f).unwrap_err(),
        &f,
        &["tables", "trace has 2 tables, but the weights have 1"],
    );
    assert!(pool_f64(&t, &w).is_err());
}

#[test]
fn float_indices_rejected() {
    let (e, f) = trace_err(
        "float_idx.npz",
        &[
            ("indices.npy", npy_bytes("<f8", "(2,)", &[0u8; 16]), false),
            i64_member("offsets.npy", &[0, 2]),
        ],
        None,
    );
    assert_names(
        e,
        &f,
        &["indices", "dtype <f8, expected int64 (<i8) or int32 (<i4)"],
    );
}

#[test]
fn two_dimensional_indices_rejected() {
    let (e, f) = trace_err(
        "idx_2d.npz",
        &[
            (
                "indices.npy",
                npy_bytes("<i8", "(2, 2)", &i64s(&[0, 1, 2, 3])),
                false,
            ),
            i64_member("offsets.npy", &[0, 4]),
        ],
        None,
    );
    assert_names(e, &f, &["indices", "shape (2, 2) is 2-D, expected 1-D"]);
}

#[test]
fn truncated_array_data() {
    let (e, f) = trace_err(
        "truncated.npz",
        &[
            (
                "indices.npy",
                npy_bytes("<i8", "(10,)", &i64s(&[1, 2, 3, 4, 5])),
                true,
            ),
            i64_member("offsets.npy", &[0, 10]),
        ],
        None,
    );
    assert_names(
        e,
        &f,
        &[
            "indices",
            "truncated data",
            "needs 80 bytes, only 40 present",
        ],
    );
}

#[test]
fn trailing_array_data() {
    let (e, f) = trace_err(
        "trailing.npz",
        &[
            (
                "indices.npy",
                npy_bytes("<i8", "(1,)", &i64s(&[1, 2])),
                false,
            ),
            i64_member("offsets.npy", &[0, 1]),
        ],
        None,
    );
    assert_names(e, &f, &["indices", "8 unexpected bytes after the data"]);
}

#[test]
fn per_sample_weights_present() {
    let (e, f) = trace_err(
        "psw.npz",
        &[
            i64_member("indices.npy", &[1]),
            i64_member("offsets.npy", &[0, 1]),
            (
                "per_sample_weights.npy",
                npy_bytes("<f4", "(1,)", &f32s(&[0.5])),
                false,
            ),
        ],
        None,
    );
    assert_names(
        e,
        &f,
        &[
            "per_sample_weights",
            "weighted pooling is not supported yet",
        ],
    );
}

#[test]
fn fortran_order_rejected() {
    let p = tmp("fortran.npy");
    let mut bytes = npy_bytes("<f4", "(1, 1)", &f32s(&[1.0]));
    let at = bytes.windows(5).position(|w| w == b"False").unwrap();
    bytes.splice(at..at + 5, b"True ".iter().copied());
    std::fs::write(&p, bytes).unwrap();
    assert_names(
        read_npy_f32(&p).unwrap_err(),
        &p.display().to_string(),
        &["array", "fortran_order is True"],
    );
}

#[test]
fn big_endian_and_unknown_dtypes_rejected() {
    let p = tmp("dtypes.npy");
    let f = p.display().to_string();
    std::fs::write(&p, npy_bytes(">f4", "(1,)", &[0u8; 4])).unwrap();
    assert_names(
        read_npy_f32(&p).unwrap_err(),
        &f,
        &["array", "dtype >f4 is big-endian"],
    );
    std::fs::write(&p, npy_bytes("<u2", "(1,)", &[0u8; 2])).unwrap();
    assert_names(
        read_npy(&p).unwrap_err(),
        &f,
        &["array", "dtype <u2, expected"],
    );
    std::fs::write(&p, npy_bytes("<f8", "(1,)", &[0u8; 8])).unwrap();
    assert_names(
        read_npy_f32(&p).unwrap_err(),
        &f,
        &["array", "dtype <f8, expected float32 (<f4)"],
    );
}

#[test]
fn bad_magic_and_version_and_header() {
    let p = tmp("magic.npy");
    let f = p.display().to_string();
    std::fs::write(&p, b"NOTNUMPYatall").unwrap();
    assert_names(read_npy(&p).unwrap_err(), &f, &["array", "magic"]);
    std::fs::write(&p, b"\x93NUM").unwrap();
    assert_names(
        read_npy(&p).unwrap_err(),
        &f,
        &["array", "truncated header"],
    );
    let mut bytes = npy_bytes("<f4", "(1,)", &f32s(&[1.0]));
    bytes[6] = 9;
    std::fs::write(&p, &bytes).unwrap();
    assert_names(
        read_npy(&p).unwrap_err(),
        &f,
        &["array", "unsupported .npy format version 9.0"],
    );
    std::fs::write(&p, npy_bytes("<f4", "(1,", &f32s(&[1.0]))).unwrap();
    assert_names(read_npy(&p).unwrap_err(), &f, &["array", "bad header"]);
}

#[test]
fn absurd_shape_rejected_before_reading() {
    let p = tmp("absurd.npy");
    std::fs::write(&p, npy_bytes("<f4", "(4000000000000, 4000000000000)", &[])).unwrap();
    assert_names(
        read_npy_f32(&p).unwrap_err(),
        &p.display().to_string(),
        &["array", "implausibly large"],
    );
}

#[test]
fn weights_wrong_dtype_and_dim() {
    let p = tmp("w_bad.npz");
    let f = p.display().to_string();
    write_zip(
        &p,
        &[
            (
                "table_0.npy",
                npy_bytes("<f4", "(1, 2)", &f32s(&[1.0, 2.0])),
                false,
            ),
            (
                "table_1.npy",
                npy_bytes("<f4", "(1, 3)", &f32s(&[1.0, 2.0, 3.0])),
                false,
            ),
        ],
    );
    assert_names(
        read_weights_npz(&p, None).unwrap_err(),
        &f,
        &["table_1", "dim 3, but table_0 has dim 2"],
    );
    assert_names(
        read_weights_npz(&p, Some(3)).unwrap_err(),
        &f,
        &["table_0", "dim 2, but --dim is 3"],
    );
    write_zip(
        &p,
        &[
            (
                "table_0.npy",
                npy_bytes("<f4", "(1, 2)", &f32s(&[1.0, 2.0])),
                false,
            ),
            ("table_1.npy", npy_bytes("<f8", "(1, 2)", &[0u8; 16]), false),
        ],
    );
    assert_names(
        read_weights_npz(&p, None).unwrap_err(),
        &f,
        &["table_1", "dtype <f8, expected float32 (<f4)"],
    );
}

#[test]
fn weights_missing_table() {
    let p = tmp("w_gap.npz");
    let f = p.display().to_string();
    write_zip(
        &p,
        &[
            (
                "table_0.npy",
                npy_bytes("<f4", "(1, 1)", &f32s(&[1.0])),
                false,
            ),
            (
                "table_2.npy",
                npy_bytes("<f4", "(1, 1)", &f32s(&[1.0])),
                false,
            ),
        ],
    );
    assert_names(
        read_weights_npz(&p, None).unwrap_err(),
        &f,
        &["table_1", "missing", "table_0, table_2"],
    );
    write_zip(&p, &[i64_member("indices.npy", &[1])]);
    assert_names(
        read_weights_npz(&p, None).unwrap_err(),
        &f,
        &["table_0", "missing", "indices"],
    );
}

#[test]
fn writers_reject_inconsistent_data() {
    let p = tmp("bad_write.npy");
    let f = p.display().to_string();
    assert_names(
        write_npy_f32(&p, 2, 3, &[0.0; 5]).unwrap_err(),
        &f,
        &["array", "5 values", "2*3"],
    );
    let q = tmp("bad_write.npz");
    let g = q.display().to_string();
    let tables = [Table {
        rows: 2,
        data: vec![0.0; 3],
    }];
    assert_names(
        write_weights_npz(&q, &tables, 2).unwrap_err(),
        &g,
        &["table_0", "3 values"],
    );
    let t = Trace {
        tables: 1,
        batch: 2,
        indices: vec![1],
        offsets: vec![0, 1],
    };
    assert_names(
        write_trace_npz(&q, &t).unwrap_err(),
        &g,
        &["offsets", "length 2", "expected tables*batch+1"],
    );
}

#[test]
fn generator_rejects_bad_parameters() {
    assert!(generate(1, 0, 1, 1, IndexDist::Uniform, 1)
        .unwrap_err()
        .to_string()
        .contains("rows"));
    let e = generate(1, 10, 1, 1, IndexDist::Zipf { alpha: -0.5 }, 1)
        .unwrap_err()
        .to_string();
    assert!(e.contains("alpha") && e.contains("-0.5"), "{e}");
    assert!(generate(usize::MAX, 10, 2, 1, IndexDist::Uniform, 1).is_err());
}
