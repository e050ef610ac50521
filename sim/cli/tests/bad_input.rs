//! Bad input, catalogued (docs/bad-input.md): for every file `pifs` reads, one case per class of
//! bad input, run through the binary. Each must exit 2 with exactly one stderr line that names
//! the file and the field, no panic, and no output file (or `.partial`) left behind.

mod common;

use common::{assert_bad_input, pifs, stderr, tmp};
use std::io::Write;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The bad-input contract, stricter than `assert_bad_input`: exit 2, stderr is exactly one line
/// holding every needle, no panic or backtrace hint, and none of `outputs` (nor its `.partial`)
/// exists afterwards.
fn bad(args: &[&str], needles: &[&str], outputs: &[&Path]) {
    for o in outputs {
        let _ = std::fs::remove_file(o);
    }
    let o = pifs(args);
    assert_bad_input(&o, needles);
    let err = stderr(&o);
    assert_eq!(
        err.lines().count(),
        1,
        "{args:?}: want one stderr line: {err}"
    );
    assert!(err.starts_with("pifs: error: "), "{args:?}: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "{args:?}: {err}"
    );
    for p in outputs {
        let mut partial = p.as_os_str().to_owned();
        partial.push(".partial");
        assert!(!p.exists(), "{args:?} left {} behind", p.display());
        assert!(
            !Path::new(&partial).exists(),
            "{args:?} left {} behind",
            p.display()
        );
    }
}

/// A `.npy` (version 1.0) with a literal header dict and raw data, built by hand.
fn npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + dict.len() + 1) % 64 != 0 {
        dict.push(' ');
    }
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((dict.len() as u16).to_le_bytes());
    out.extend(dict.as_bytes());
    out.extend(data);
    out
}

fn i64s(v: &[i64]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// A 1-D int64 member.
fn ints(name: &str, v: &[i64]) -> (String, Vec<u8>) {
    (
        format!("{name}.npy"),
        npy("<i8", &format!("({},)", v.len()), &i64s(v)),
    )
}

/// A member with a literal descr and shape.
fn raw(name: &str, descr: &str, shape: &str, data: &[u8]) -> (String, Vec<u8>) {
    (format!("{name}.npy"), npy(descr, shape, data))
}

/// Writes an `.npz` (stored members) named `name` in the scratch folder.
fn npz(name: &str, members: &[(String, Vec<u8>)]) -> PathBuf {
    let p = tmp(name);
    // Tests run in parallel and several write the same archive (good.npz): write a file of this
    // thread's own and rename it over, so that no reader sees one half written.
    let part = tmp(&format!("{name}.{:?}.part", std::thread::current().id()));
    let mut z = zip::ZipWriter::new(std::fs::File::create(&part).unwrap());
    for (n, b) in members {
        z.start_file(
            n.as_str(),
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored),
        )
        .unwrap();
        z.write_all(b).unwrap();
    }
    z.finish().unwrap();
    std::fs::rename(&part, &p).unwrap();
    p
}

/// A valid one-table trace: 2 bags, rows 0..4.
fn good_trace() -> PathBuf {
    npz(
        "good.npz",
        &[ints("indices", &[0, 1, 2, 3]), ints("offsets", &[0, 2, 4])],
    )
}

/// A valid one-table weight file: 4 rows x 16 floats.
fn weight_table(rows: usize, vals: &[f32]) -> (String, Vec<u8>) {
    raw("table_0", "<f4", &format!("({rows}, 16)"), &f32s(vals))
}

fn a_dir(name: &str) -> PathBuf {
    let d = tmp(name);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Expects bad input from the trace given to `pifs trace stats --json` and to `pifs run --pooled --json`.
fn bad_trace(p: &Path, needles: &[&str]) {
    let (json, pooled, stats) = (tmp("t-stats.json"), tmp("t-pooled.npy"), tmp("t-run.json"));
    bad(
        &["trace", "stats", s(p), "--json", s(&json)],
        needles,
        &[&json],
    );
    bad(
        &[
            "run",
            "--backend",
            "model",
            "--trace",
            s(p),
            "--rows",
            "10",
            "--dim",
            "16",
            "--pooled",
            s(&pooled),
            "--json",
            s(&stats),
        ],
        needles,
        &[&pooled, &stats],
    );
}

#[test]
fn trace_file_missing_directory_empty_truncated_garbage() {
    bad_trace(
        Path::new("/nonexistent/t.npz"),
        &["/nonexistent/t.npz", "cannot open"],
    );
    let d = a_dir("trace-dir.npz");
    bad_trace(&d, &["trace-dir.npz", "is a directory"]);
    let e = tmp("empty.npz");
    std::fs::write(&e, b"").unwrap();
    bad_trace(&e, &["empty.npz", "empty file (0 bytes)"]);
    let good = std::fs::read(good_trace()).unwrap();
    let t = tmp("cut.npz");
    std::fs::write(&t, &good[..good.len() / 2]).unwrap();
    bad_trace(
        &t,
        &["cut.npz", "not a .npz (zip) archive, or a truncated one"],
    );
    let g = tmp("garbage.npz");
    std::fs::write(&g, b"indices,offsets\n1,2,3\n").unwrap();
    bad_trace(&g, &["garbage.npz", "not a .npz (zip) archive"]);
}

#[test]
fn trace_arrays_missing_truncated_or_not_npy() {
    let p = npz("no-offsets.npz", &[ints("indices", &[0, 1])]);
    bad_trace(
        &p,
        &[
            "no-offsets.npz",
            "offsets: missing (archive holds: indices)",
        ],
    );
    let p = npz("no-indices.npz", &[ints("offsets", &[0, 2])]);
    bad_trace(
        &p,
        &[
            "no-indices.npz",
            "indices: missing (archive holds: offsets)",
        ],
    );
    let p = npz(
        "short-indices.npz",
        &[
            raw("indices", "<i8", "(4,)", &i64s(&[0, 1])),
            ints("offsets", &[0, 2, 4]),
        ],
    );
    bad_trace(
        &p,
        &[
            "short-indices.npz",
            "indices: truncated data",
            "needs 32 bytes, only 16 present",
        ],
    );
    let p = npz(
        "long-indices.npz",
        &[
            raw("indices", "<i8", "(4,)", &i64s(&[0, 1, 2, 3, 4])),
            ints("offsets", &[0, 2, 4]),
        ],
    );
    bad_trace(
        &p,
        &[
            "long-indices.npz",
            "indices: 8 unexpected bytes after the data",
        ],
    );
    let p = npz(
        "not-npy.npz",
        &[
            (
                "indices.npy".to_string(),
                b"hello, this is not an array".to_vec(),
            ),
            ints("offsets", &[0, 2, 4]),
        ],
    );
    bad_trace(&p, &["not-npy.npz", "indices: not a .npy array"]);
    let mut header = npy("<i8", "(4,)", &i64s(&[0, 1, 2, 3]));
    let at = header.windows(5).position(|w| w == b"False").unwrap();
    header.splice(at..at + 5, *b"True ");
    let p = npz(
        "fortran.npz",
        &[("indices.npy".into(), header), ints("offsets", &[0, 2, 4])],
    );
    bad_trace(
        &p,
        &["fortran.npz", "indices: bad header: fortran_order is True"],
    );
    let p = npz(
        "absurd.npz",
        &[
            raw("indices", "<i8", "(4000000000000000,)", &[]),
            ints("offsets", &[0, 2, 4]),
        ],
    );
    bad_trace(
        &p,
        &[
            "absurd.npz",
            "indices: shape (4000000000000000,) is implausibly large",
        ],
    );
}

#[test]
fn trace_wrong_dtype() {
    let p = npz(
        "float-indices.npz",
        &[
            raw("indices", "<f8", "(4,)", &[0u8; 32]),
            ints("offsets", &[0, 2, 4]),
        ],
    );
    bad_trace(
        &p,
        &[
            "float-indices.npz",
            "indices: dtype <f8, expected int64 (<i8) or int32 (<i4)",
        ],
    );
    let p = npz(
        "float-offsets.npz",
        &[
            ints("indices", &[0, 1, 2, 3]),
            raw("offsets", "<f4", "(3,)", &f32s(&[0.0, 2.0, 4.0])),
        ],
    );
    bad_trace(
        &p,
        &["float-offsets.npz", "offsets: dtype <f4, expected int64"],
    );
    let p = npz(
        "be-indices.npz",
        &[
            raw("indices", ">i8", "(4,)", &[0u8; 32]),
            ints("offsets", &[0, 2, 4]),
        ],
    );
    bad_trace(&p, &["be-indices.npz", "indices: dtype >i8 is big-endian"]);
}

#[test]
fn trace_wrong_shape() {
    let p = npz(
        "indices-2d.npz",
        &[
            raw("indices", "<i8", "(2, 2)", &i64s(&[0, 1, 2, 3])),
            ints("offsets", &[0, 2, 4]),
        ],
    );
    bad_trace(
        &p,
        &[
            "indices-2d.npz",
            "indices: shape (2, 2) is 2-D, expected 1-D",
        ],
    );
    let p = npz(
        "offsets-2d.npz",
        &[
            ints("indices", &[0, 1, 2, 3]),
            raw("offsets", "<i8", "(1, 3)", &i64s(&[0, 2, 4])),
        ],
    );
    bad_trace(
        &p,
        &[
            "offsets-2d.npz",
            "offsets: shape (1, 3) is 2-D, expected 1-D",
        ],
    );
    let p = npz(
        "lengths-1d.npz",
        &[
            ints("indices", &[0, 1, 2, 3]),
            ints("offsets", &[0, 2, 4]),
            ints("lengths", &[2, 2]),
        ],
    );
    bad_trace(
        &p,
        &["lengths-1d.npz", "lengths: shape (2,) is 1-D, expected 2-D"],
    );
    let p = npz(
        "lengths-shape.npz",
        &[
            ints("indices", &[0, 1, 2, 3]),
            ints("offsets", &[0, 2, 4]),
            raw("lengths", "<i8", "(3, 1)", &i64s(&[2, 2, 0])),
        ],
    );
    bad_trace(
        &p,
        &[
            "lengths-shape.npz",
            "offsets: length 3, but lengths has shape (3, 1)",
        ],
    );
    let p = npz(
        "lengths-values.npz",
        &[
            ints("indices", &[0, 1, 2, 3]),
            ints("offsets", &[0, 2, 4]),
            raw("lengths", "<i8", "(1, 2)", &i64s(&[1, 3])),
        ],
    );
    bad_trace(
        &p,
        &[
            "lengths-values.npz",
            "lengths: [0, 0] is 1, but offsets give a bag of 2",
        ],
    );
}

#[test]
fn trace_offsets_broken() {
    for (name, offsets, problem) in [
        ("off-empty.npz", &[][..], "offsets: empty"),
        (
            "off-start.npz",
            &[1, 2, 4][..],
            "offsets: starts at 1, expected 0",
        ),
        (
            "off-mono.npz",
            &[0, 3, 2, 4][..],
            "offsets: not monotonic at position 2 (offsets[1] = 3 > offsets[2] = 2)",
        ),
        (
            "off-negative.npz",
            &[0, -2, 4][..],
            "offsets: not monotonic at position 1",
        ),
        (
            "off-short.npz",
            &[0, 2, 3][..],
            "offsets: last element is 3, but indices has 4 elements",
        ),
        (
            "off-past.npz",
            &[0, 2, 5][..],
            "offsets: last element is 5, but indices has 4 elements",
        ),
    ] {
        let indices: &[i64] = if offsets.is_empty() {
            &[]
        } else {
            &[0, 1, 2, 3]
        };
        let p = npz(name, &[ints("indices", indices), ints("offsets", offsets)]);
        bad_trace(&p, &[name, problem]);
    }
}

#[test]
fn trace_indices_negative_or_out_of_range() {
    let p = npz(
        "neg64.npz",
        &[ints("indices", &[0, -1, 2, 3]), ints("offsets", &[0, 2, 4])],
    );
    bad_trace(
        &p,
        &[
            "neg64.npz",
            "indices: negative index -1 at position 1 (table 0, sample 0, position 1 in the bag)",
        ],
    );
    let p = npz(
        "neg32.npz",
        &[
            raw(
                "indices",
                "<i4",
                "(4,)",
                &[0i32, 1, -7, 3]
                    .iter()
                    .flat_map(|x| x.to_le_bytes())
                    .collect::<Vec<u8>>(),
            ),
            ints("offsets", &[0, 2, 4]),
        ],
    );
    bad_trace(
        &p,
        &["neg32.npz", "indices: negative index -7 at position 2"],
    );
    // Out of range needs a row count: --rows, or the rows of the weights.
    let p = npz(
        "big.npz",
        &[ints("indices", &[0, 1, 2, 99]), ints("offsets", &[0, 2, 4])],
    );
    let pooled = tmp("big-pooled.npy");
    bad(
        &[
            "run",
            "--backend",
            "model",
            "--trace",
            s(&p),
            "--rows",
            "10",
            "--dim",
            "16",
            "--pooled",
            s(&pooled),
        ],
        &[
            "big.npz",
            "indices: table 0, sample 1, position 1 (indices[3]): 99 out of range 0..10",
        ],
        &[&pooled],
    );
    let w = npz("rows2.npz", &[weight_table(2, &[0.5; 32])]);
    bad(
        &[
            "run",
            "--backend",
            "model",
            "--trace",
            s(&good_trace()),
            "--weights",
            s(&w),
            "--pooled",
            s(&pooled),
        ],
        &[
            "good.npz",
            "indices: table 0, sample 1, position 0 (indices[2]): 2 out of range 0..2",
            "--weights",
            "rows2.npz",
        ],
        &[&pooled],
    );
}

#[test]
fn trace_per_sample_weights_rejected_extra_arrays_ignored() {
    let p = npz(
        "psw.npz",
        &[
            ints("indices", &[0, 1, 2, 3]),
            ints("offsets", &[0, 2, 4]),
            raw("per_sample_weights", "<f4", "(4,)", &f32s(&[1.0; 4])),
        ],
    );
    bad_trace(
        &p,
        &[
            "psw.npz",
            "per_sample_weights: present, but weighted pooling is not supported yet",
        ],
    );
    // Arrays the format does not name are ignored (numpy archives often carry extras).
    let p = npz(
        "extra.npz",
        &[
            ints("indices", &[0, 1, 2, 3]),
            ints("offsets", &[0, 2, 4]),
            ints("notes", &[7]),
        ],
    );
    let o = pifs(&["trace", "stats", s(&p)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(common::stdout(&o).contains("1 table(s) x batch 2"));
}

/// `pifs run --trace good.npz --weights W --pooled --json`, expecting bad input.
fn bad_weights(w: &Path, extra: &[&str], needles: &[&str]) {
    let (pooled, json) = (tmp("w-pooled.npy"), tmp("w-run.json"));
    let good = good_trace();
    let mut args = vec![
        "run",
        "--backend",
        "model",
        "--trace",
        s(&good),
        "--weights",
        s(w),
        "--pooled",
        s(&pooled),
        "--json",
        s(&json),
    ];
    args.extend_from_slice(extra);
    bad(&args, needles, &[&pooled, &json]);
}

#[test]
fn weights_file_missing_directory_empty_truncated_garbage() {
    bad_weights(
        Path::new("/nonexistent/w.npz"),
        &[],
        &["/nonexistent/w.npz", "cannot open"],
    );
    bad_weights(&a_dir("w-dir.npz"), &[], &["w-dir.npz", "is a directory"]);
    let e = tmp("w-empty.npz");
    std::fs::write(&e, b"").unwrap();
    bad_weights(&e, &[], &["w-empty.npz", "empty file (0 bytes)"]);
    let good = std::fs::read(npz("w-full.npz", &[weight_table(4, &[0.5; 64])])).unwrap();
    let t = tmp("w-cut.npz");
    std::fs::write(&t, &good[..good.len() - 30]).unwrap();
    bad_weights(
        &t,
        &[],
        &["w-cut.npz", "not a .npz (zip) archive, or a truncated one"],
    );
    let p = npz("w-short.npz", &[weight_table(4, &[0.5; 60])]);
    bad_weights(
        &p,
        &[],
        &[
            "w-short.npz",
            "table_0: truncated data: shape (4, 16) <f4 needs 256 bytes, only 240 present",
        ],
    );
}

#[test]
fn weights_missing_tables_dtype_shape() {
    let p = npz("w-none.npz", &[ints("indices", &[1])]);
    bad_weights(
        &p,
        &[],
        &["w-none.npz", "table_0: missing (archive holds: indices)"],
    );
    let p = npz(
        "w-gap.npz",
        &[
            weight_table(4, &[0.5; 64]),
            raw("table_2", "<f4", "(4, 16)", &f32s(&[0.5; 64])),
        ],
    );
    bad_weights(
        &p,
        &[],
        &[
            "w-gap.npz",
            "table_1: missing (archive holds: table_0, table_2)",
        ],
    );
    let p = npz("w-f8.npz", &[raw("table_0", "<f8", "(4, 16)", &[0u8; 512])]);
    bad_weights(
        &p,
        &[],
        &["w-f8.npz", "table_0: dtype <f8, expected float32 (<f4)"],
    );
    let p = npz("w-i8.npz", &[raw("table_0", "<i8", "(4, 16)", &[0u8; 512])]);
    bad_weights(
        &p,
        &[],
        &["w-i8.npz", "table_0: dtype <i8, expected float32 (<f4)"],
    );
    let p = npz(
        "w-1d.npz",
        &[raw("table_0", "<f4", "(64,)", &f32s(&[0.5; 64]))],
    );
    bad_weights(
        &p,
        &[],
        &["w-1d.npz", "table_0: shape (64,) is 1-D, expected 2-D"],
    );
    let p = npz(
        "w-3d.npz",
        &[raw("table_0", "<f4", "(2, 2, 16)", &f32s(&[0.5; 64]))],
    );
    bad_weights(
        &p,
        &[],
        &["w-3d.npz", "table_0: shape (2, 2, 16) is 3-D, expected 2-D"],
    );
    let p = npz("w-dim0.npz", &[raw("table_0", "<f4", "(4, 0)", &[])]);
    bad_weights(&p, &[], &["w-dim0.npz", "table_0: shape (4, 0): dim 0"]);
    let p = npz(
        "w-dims.npz",
        &[
            weight_table(4, &[0.5; 64]),
            raw("table_1", "<f4", "(2, 32)", &f32s(&[0.5; 64])),
        ],
    );
    bad_weights(
        &p,
        &[],
        &["w-dims.npz", "table_1: dim 32, but table_0 has dim 16"],
    );
    let p = npz("w-ok.npz", &[weight_table(4, &[0.5; 64])]);
    bad_weights(
        &p,
        &["--dim", "8"],
        &["w-ok.npz", "table_0: dim 16, but --dim is 8"],
    );
    let p = npz(
        "w-two.npz",
        &[
            weight_table(4, &[0.5; 64]),
            raw("table_1", "<f4", "(4, 16)", &f32s(&[0.5; 64])),
        ],
    );
    bad_weights(
        &p,
        &[],
        &[
            "good.npz",
            "tables: trace has 1 tables, but the weights have 2",
            "w-two.npz",
        ],
    );
    // With a built-in model the trace is generated; the weights must still fit it.
    let pooled = tmp("w-model.npy");
    bad(
        &[
            "run",
            "--backend",
            "model",
            "--model",
            "rm3",
            "--batch",
            "1",
            "--weights",
            s(&p),
            "--pooled",
            s(&pooled),
        ],
        &[
            "rm3",
            "tables: trace has 10 tables, but the weights have 2",
            "w-two.npz",
        ],
        &[&pooled],
    );
}

#[test]
fn weights_nan_and_inf_are_pooled_as_ieee_not_rejected() {
    // DESIGN.md section 4: accumulation handles infinities and NaN as IEEE does, so a weight file
    // holding them is valid input; the pooled row carries them and the bound check skips them.
    let mut vals = vec![0.5f32; 64];
    vals[0] = f32::NAN;
    vals[2 * 16 + 1] = f32::INFINITY;
    let w = npz("w-nan.npz", &[weight_table(4, &vals)]);
    let pooled = tmp("nan-pooled.npy");
    let o = pifs(&[
        "run",
        "--backend",
        "model",
        "--trace",
        s(&good_trace()),
        "--weights",
        s(&w),
        "--pooled",
        s(&pooled),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (shape, data) = pifs_dlrm::read_npy_f32(&pooled).unwrap();
    assert_eq!(shape, [2, 16]);
    assert!(data[0].is_nan(), "bag 0 holds row 0 (NaN in column 0)");
    assert_eq!(
        data[16 + 1],
        f32::INFINITY,
        "bag 1 holds row 2 (+inf in column 1)"
    );
    assert_eq!(data[1], 1.0, "bag 0, column 1: 0.5 + 0.5");
}

/// `pifs params --config F` and `pifs compare --config F --json` expecting bad input.
fn bad_config(p: &Path, needles: &[&str]) {
    bad(&["params", "--config", s(p)], needles, &[]);
    let json = tmp("cfg-compare.json");
    bad(
        &[
            "compare",
            "--model",
            "rm3",
            "--batch",
            "1",
            "--batches",
            "1",
            "--backend",
            "model",
            "--config",
            s(p),
            "--json",
            s(&json),
        ],
        needles,
        &[&json],
    );
}

fn toml_file(name: &str, text: &[u8]) -> PathBuf {
    let p = tmp(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn config_file_missing_directory_not_text_garbage_truncated() {
    bad_config(
        Path::new("/nonexistent/c.toml"),
        &["/nonexistent/c.toml", "cannot read: No such file"],
    );
    bad_config(
        &a_dir("c-dir.toml"),
        &["c-dir.toml", "cannot read: Is a directory"],
    );
    let p = toml_file("c-latin1.toml", b"[switch]\ntraversal_ns = 80.0 # \xe9\n");
    bad_config(
        &p,
        &[
            "c-latin1.toml",
            "cannot read: stream did not contain valid UTF-8",
        ],
    );
    let p = toml_file("c-garbage.toml", b"this is not toml\n");
    bad_config(&p, &["c-garbage.toml (line 1)", "key with no value"]);
    let p = toml_file("c-cut.toml", b"[switch]\ntraversal_ns = \n");
    bad_config(&p, &["c-cut.toml (line 2): switch.traversal_ns:"]);
    let p = toml_file("c-cut2.toml", b"[switch\n");
    bad_config(&p, &["c-cut2.toml (line 1)", "unclosed table"]);
    let p = toml_file("c-dup.toml", b"[switch]\nports = 2\nports = 4\n");
    bad_config(&p, &["c-dup.toml (line 3): switch.ports: duplicate key"]);
    // An empty file is every default (missing keys take their defaults): not bad input.
    let p = toml_file("c-empty.toml", b"");
    let o = pifs(&["params", "--config", s(&p)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

#[test]
fn config_unknown_keys_wrong_types_and_units_out_of_range_nan() {
    for (name, text, needles) in [
        (
            "c-section.toml",
            "[warp]\nx = 1\n",
            vec!["c-section.toml (line 1)", "unknown field `warp`"],
        ),
        (
            "c-key.toml",
            "[switch]\nwarp = 1\n",
            vec!["c-key.toml (line 2): switch.warp: unknown field `warp`"],
        ),
        (
            "c-unit-key.toml",
            "[device]\nlatency_us = 0.08\n",
            vec!["c-unit-key.toml (line 2): device.latency_us: unknown field `latency_us`"],
        ),
        (
            "c-unit-text.toml",
            "[device]\nlatency_ns = \"80 ns\"\n",
            vec!["c-unit-text.toml (line 2): device.latency_ns: invalid type: string \"80 ns\", expected f64"],
        ),
        (
            "c-mhz.toml",
            "[clock]\nghz = 1000.0\n",
            vec!["c-mhz.toml: clock.ghz = 1000 GHz is outside 0.1 ..= 10"],
        ),
        (
            "c-range.toml",
            "[device]\nlatency_ns = -5.0\n",
            vec!["c-range.toml: device.latency_ns = -5 ns is outside 0 ..= 1000000"],
        ),
        (
            "c-nan.toml",
            "[device]\nlatency_ns = nan\n",
            vec!["c-nan.toml: device.latency_ns = NaN ns is outside"],
        ),
        (
            "c-inf.toml",
            "[switch]\ntraversal_ns = inf\n",
            vec!["c-inf.toml: switch.traversal_ns = inf ns is outside"],
        ),
        (
            "c-lanes.toml",
            "[host_link]\nlanes = -16\n",
            vec!["c-lanes.toml (line 2): host_link.lanes: invalid value: integer `-16`, expected u32"],
        ),
        (
            "c-lanes3.toml",
            "[host_link]\nlanes = 3\n",
            vec!["c-lanes3.toml: host_link.lanes = 3: must be 1, 2, 4, 8 or 16"],
        ),
        (
            "c-ports.toml",
            "[switch]\nports = 2.5\n",
            vec!["c-ports.toml (line 2): switch.ports: invalid type: floating point `2.5`, expected usize"],
        ),
        (
            "c-word.toml",
            "[device]\ninterleave = \"diagonal\"\n",
            vec!["c-word.toml: device.interleave = \"diagonal\": must be row, table or page"],
        ),
        (
            "c-table.toml",
            "switch = 3\n",
            vec!["c-table.toml (line 1): switch: invalid type: integer `3`, expected struct Switch"],
        ),
    ] {
        bad_config(&toml_file(name, text.as_bytes()), &needles);
    }
}

#[test]
fn set_overrides_wrong_units_nan_inf_out_of_range() {
    for (kv, needle) in [
        (
            "device.latency_ns",
            "--set device.latency_ns: expected key=value",
        ),
        (
            "device.latency_ns=80ns",
            "--set device.latency_ns=80ns: invalid type: string \"80ns\", expected f64",
        ),
        (
            "device.latency_us=0.08",
            "--set device.latency_us=0.08: unknown key device.latency_us",
        ),
        (
            "device.latency_ns=nan",
            "--set device.latency_ns=nan: device.latency_ns = NaN ns is outside",
        ),
        (
            "switch.traversal_ns=inf",
            "--set switch.traversal_ns=inf: switch.traversal_ns = inf ns is outside",
        ),
        (
            "clock.ghz=1e9",
            "--set clock.ghz=1e9: clock.ghz = 1000000000 GHz is outside 0.1 ..= 10",
        ),
        (
            "switch.ports=2.5",
            "--set switch.ports=2.5: invalid type: floating point `2.5`, expected usize",
        ),
        (
            "host_link.lanes=-16",
            "--set host_link.lanes=-16: invalid value: integer `-16`, expected u32",
        ),
        (
            "pifs.buffer_lines=10",
            "--set pifs.buffer_lines=10: pifs.buffer_lines = 10: not a multiple of buffer_ways = 4",
        ),
        (
            "pifs.buffer_lines=24",
            "--set pifs.buffer_lines=24: pifs.buffer_lines = 24: 6 sets of 4 ways is not a power of two",
        ),
        (
            "pifs.buffer_policy=lfu",
            "--set pifs.buffer_policy=lfu: pifs.buffer_policy = \"lfu\": must be lru or hot",
        ),
    ] {
        bad(&["params", "--set", kv], &[needle], &[]);
    }
    let json = tmp("set-compare.json");
    bad(
        &[
            "compare",
            "--model",
            "rm3",
            "--batch",
            "1",
            "--batches",
            "1",
            "--backend",
            "model",
            "--set",
            "device.latency_ns=nan",
            "--json",
            s(&json),
        ],
        &["--set device.latency_ns=nan", "NaN"],
        &[&json],
    );
    // --device-latency-ns of pifs run is the same parameter.
    let pooled = tmp("set-run.npy");
    bad(
        &[
            "run",
            "--backend",
            "model",
            "--model",
            "rm3",
            "--batch",
            "1",
            "--device-latency-ns",
            "NaN",
            "--pooled",
            s(&pooled),
        ],
        &["--device-latency-ns", "device_latency_ns"],
        &[&pooled],
    );
}

#[test]
fn flit_text_missing_directory_empty_not_text() {
    let args = |f: &Path| {
        vec![
            "flit".to_string(),
            "decode".into(),
            "--dir".into(),
            "s2m".into(),
            s(f).into(),
        ]
    };
    let run = |f: &Path, needles: &[&str]| {
        let a = args(f);
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        bad(&a, needles, &[]);
    };
    run(
        Path::new("/nonexistent/f.hex"),
        &["/nonexistent/f.hex: cannot read"],
    );
    run(
        &a_dir("f-dir.hex"),
        &["f-dir.hex: cannot read: Is a directory"],
    );
    let p = toml_file("f-empty.hex", b"");
    run(&p, &["f-empty.hex: no flits"]);
    let p = toml_file("f-comments.hex", b"# capture failed\n\n");
    run(&p, &["f-comments.hex: no flits"]);
    let mut text = format!("{}\n", "0".repeat(132)).into_bytes();
    text.extend(b"\xff\xfe00\n");
    let p = toml_file("f-latin1.hex", &text);
    run(
        &p,
        &["f-latin1.hex:2: not text (invalid UTF-8 at byte 133)"],
    );
    let p = toml_file("f-short.hex", format!("{}\n", "0".repeat(131)).as_bytes());
    run(&p, &["f-short.hex:1", "132"]);
    let p = toml_file("f-nothex.hex", format!("{}g\n", "0".repeat(131)).as_bytes());
    run(&p, &["f-nothex.hex:1", "'g'"]);
    // stdin ('-') is read the same way.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pifs"))
        .args(["flit", "decode", "--dir", "m2s", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\xff\xfe\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_bad_input(&o, &["<stdin>:1: not text (invalid UTF-8 at byte 0)"]);
    assert_eq!(stderr(&o).lines().count(), 1);
}

#[test]
fn profiles_missing_directory_empty_not_text_nan_out_of_range() {
    let out = tmp("never-gen.npz");
    let gen = |p: &Path, needles: &[&str]| {
        bad(
            &[
                "trace",
                "gen",
                "--model",
                "rm3",
                "--dist",
                "lru",
                "--profile",
                s(p),
                "--out",
                s(&out),
            ],
            needles,
            &[&out],
        );
    };
    gen(
        &a_dir("p-dir.log"),
        &["p-dir.log: cannot read: Is a directory"],
    );
    for (name, text, needles) in [
        (
            "p-empty.log",
            &b""[..],
            vec!["p-empty.log:1: unique accesses: missing: a profile has 3 lines", "this one has 0"],
        ),
        (
            "p-latin1.log",
            &b"1, 2\n0, 1\n0.5, 1.0\xff\n"[..],
            vec!["p-latin1.log: profile: not text (invalid UTF-8)"],
        ),
        (
            "p-garbage.log",
            &b"hello world\n"[..],
            vec!["p-garbage.log:2: stack distances: missing"],
        ),
        (
            "p-nan.log",
            &b"1, 2\n0, 1\nnan, 1.0\n"[..],
            vec!["p-nan.log:3: cumulative probabilities: item 1 (NaN) is not a probability in [0, 1]"],
        ),
        (
            "p-inf.log",
            &b"1, 2\n0, 1\n0.5, inf\n"[..],
            vec!["p-inf.log:3: cumulative probabilities: item 2 (inf) is not a probability"],
        ),
        (
            "p-over.log",
            &b"1, 2\n0, 1\n0.5, 1.5\n"[..],
            vec!["p-over.log:3: cumulative probabilities: item 2 (1.5) is not a probability"],
        ),
        (
            "p-negp.log",
            &b"1, 2\n0, 1\n-0.5, 1.0\n"[..],
            vec!["p-negp.log:3: cumulative probabilities: item 1 (-0.5) is not a probability"],
        ),
        (
            "p-negid.log",
            &b"1, -2\n0, 1\n0.5, 1.0\n"[..],
            vec!["p-negid.log:1: unique accesses: item 2 (\"-2\") is not a non-negative integer"],
        ),
        (
            "p-negdist.log",
            &b"1, 2\n-1, 1\n0.5, 1.0\n"[..],
            vec!["p-negdist.log:2: stack distances: item 1 (\"-1\") is not a non-negative integer"],
        ),
        (
            "p-float.log",
            &b"1.5, 2\n0, 1\n0.5, 1.0\n"[..],
            vec!["p-float.log:1: unique accesses: item 1 (\"1.5\") is not a non-negative integer"],
        ),
        (
            "p-huge.log",
            &b"1, 99999999999999999999999\n0, 1\n0.5, 1.0\n"[..],
            vec!["p-huge.log:1: unique accesses: item 2", "is not a non-negative integer"],
        ),
        (
            "p-dist.log",
            &b"1, 2\n1, 1\n0.5, 1.0\n"[..],
            vec!["p-dist.log:2: stack distances: not strictly increasing: item 2 (1) follows 1"],
        ),
        (
            "p-blank.log",
            &b"1, 2\n\n0.5, 1.0\n"[..],
            vec!["p-blank.log:2: stack distances: empty line"],
        ),
        (
            "p-item.log",
            &b"1,,2\n0, 1\n0.5, 1.0\n"[..],
            vec!["p-item.log:1: unique accesses: item 2 is empty"],
        ),
        (
            "p-extra.log",
            &b"1, 2\n0, 1\n0.5, 1.0\n7\n"[..],
            vec!["p-extra.log:4: profile: unexpected text after the 3 profile lines"],
        ),
    ] {
        gen(&toml_file(name, text), &needles);
    }
    // pifs run --dist lru reads profiles with the same reader.
    let json = tmp("lru-run.json");
    bad(
        &[
            "run",
            "--backend",
            "model",
            "--model",
            "rm3",
            "--batch",
            "1",
            "--dist",
            "lru",
            "--profile",
            s(&tmp("p-nan.log")),
            "--json",
            s(&json),
        ],
        &["p-nan.log:3: cumulative probabilities: item 1 (NaN)"],
        &[&json],
    );
}

/// A finished one-point sweep folder (model backend, rm3, batch 1), without its merged files.
fn swept(name: &str) -> PathBuf {
    let d = tmp(name);
    let _ = std::fs::remove_dir_all(&d);
    let o = pifs(&[
        "sweep",
        "--model",
        "rm3",
        "--batch",
        "1",
        "--batches",
        "1",
        "--vary",
        "ports=2,4",
        "--jobs",
        "2",
        "--out",
        s(&d),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for f in ["sweep.csv", "sweep.json", "speedup_ports.svg"] {
        std::fs::remove_file(d.join(f)).unwrap();
    }
    d
}

#[test]
fn sweep_merge_folder_grid_and_points() {
    let base = swept("merge-base");
    let good_point = std::fs::read_to_string(base.join("points/0001.json")).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&good_point).unwrap();
    let with_mean = |v: serde_json::Value| {
        let mut d = doc.clone();
        d["systems"]["pond"]["latency_ns"]["mean"] = v;
        d.to_string().into_bytes()
    };
    let mut without_pond = doc.clone();
    without_pond["systems"]
        .as_object_mut()
        .unwrap()
        .remove("pond");
    let grid = std::fs::read_to_string(base.join("grid.json")).unwrap();
    let cases: Vec<(&str, Vec<u8>, Vec<&str>)> = vec![
        ("grid.json", vec![], vec!["grid.json: empty file"]),
        (
            "grid.json",
            b"{not json".to_vec(),
            vec!["grid.json: not JSON"],
        ),
        (
            "grid.json",
            b"\xff\xfe".to_vec(),
            vec!["grid.json: cannot read"],
        ),
        (
            "grid.json",
            grid.replace("\"points\": 2", "\"points\": 3").into_bytes(),
            vec!["grid.json: points: 3, but the axes give 2 combination(s)"],
        ),
        (
            "grid.json",
            grid.replace("\"points\": 2", "\"points\": -2").into_bytes(),
            vec!["grid.json: points: not a non-negative integer"],
        ),
        (
            "grid.json",
            b"{\"points\": 2}".to_vec(),
            vec!["grid.json: axes: missing"],
        ),
        (
            "points/0001.json",
            vec![],
            vec!["points/0001.json: not JSON"],
        ),
        (
            "points/0001.json",
            good_point.as_bytes()[..100].to_vec(),
            vec!["points/0001.json: not JSON"],
        ),
        (
            "points/0001.json",
            b"\xff\xfe".to_vec(),
            vec!["points/0001.json: cannot read"],
        ),
        (
            "points/0001.json",
            without_pond.to_string().into_bytes(),
            vec!["points/0001.json: /systems/pond/latency_ns/mean: missing"],
        ),
        (
            "points/0001.json",
            with_mean(serde_json::json!("fast")),
            vec!["points/0001.json: /systems/pond/latency_ns/mean: \"fast\" is not a number"],
        ),
        (
            "points/0001.json",
            with_mean(serde_json::json!(-5.0)),
            vec!["points/0001.json: /systems/pond/latency_ns/mean: -5 is out of range"],
        ),
    ];
    let d = tmp("merge-bad");
    for (file, bytes, needles) in cases {
        std::fs::write(base.join(file), &bytes).unwrap();
        let _ = std::fs::remove_dir_all(&d);
        std::fs::rename(&base, &d).unwrap();
        let outs = [
            d.join("sweep.csv"),
            d.join("sweep.json"),
            d.join("speedup_ports.svg"),
        ];
        let outs: Vec<&Path> = outs.iter().map(PathBuf::as_path).collect();
        bad(&["sweep", "--merge", s(&d)], &needles, &outs);
        std::fs::rename(&d, &base).unwrap();
        let restore = if file == "grid.json" {
            grid.as_str()
        } else {
            good_point.as_str()
        };
        std::fs::write(base.join(file), restore).unwrap();
    }
    // A directory where a point file should be.
    std::fs::remove_file(base.join("points/0001.json")).unwrap();
    std::fs::create_dir(base.join("points/0001.json")).unwrap();
    let outs = [base.join("sweep.csv"), base.join("sweep.json")];
    bad(
        &["sweep", "--merge", s(&base)],
        &["points/0001.json: cannot read: Is a directory"],
        &[&outs[0], &outs[1]],
    );
    std::fs::remove_dir(base.join("points/0001.json")).unwrap();
    std::fs::write(base.join("points/0001.json"), &good_point).unwrap();
    // Restored, the folder merges: the cases above failed for their own reason.
    let o = pifs(&["sweep", "--merge", s(&base)]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(base.join("sweep.csv").exists());
}

/// A checkpoint folder written by a quick `pifs compare` (model backend, one batch).
fn checkpoint_of(name: &str, seed: &str) -> PathBuf {
    let dir = tmp(name);
    let _ = std::fs::remove_dir_all(&dir);
    let o = pifs(&[
        "compare",
        "--model",
        "rm1",
        "--batch",
        "1",
        "--batches",
        "1",
        "--backend",
        "model",
        "--seed",
        seed,
        "--checkpoint",
        s(&dir),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    dir
}

/// The newest checkpoint file of `dir` (the two newest are kept).
fn only_checkpoint(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "pifs"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    files.pop().unwrap()
}

/// FNV-1a over `b`, as the checkpoint trailer holds it.
fn fnv(b: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for x in b {
        h ^= *x as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `bytes` with its checksum trailer recomputed (after an edit of the body).
fn resealed(mut bytes: Vec<u8>) -> Vec<u8> {
    let n = bytes.len() - 8;
    let sum = fnv(&bytes[..n]);
    bytes[n..].copy_from_slice(&sum.to_le_bytes());
    bytes
}

#[test]
fn checkpoints_missing_empty_truncated_version_magic_command_line_build() {
    let json = tmp("resume-bad.json");
    let resume = |dir: &Path, seed: &str| -> Vec<String> {
        [
            "compare",
            "--model",
            "rm1",
            "--batch",
            "1",
            "--batches",
            "1",
            "--backend",
            "model",
            "--seed",
            seed,
            "--json",
            s(&json),
            "--resume",
            s(dir),
        ]
        .iter()
        .map(|x| x.to_string())
        .collect()
    };
    let bad_resume = |dir: &Path, seed: &str, needles: &[&str]| {
        let args = resume(dir, seed);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        bad(&args, needles, &[&json]);
    };
    // Missing: no folder, a folder without checkpoints.
    bad_resume(
        Path::new("/nonexistent/ckpt"),
        "1",
        &["/nonexistent/ckpt", "cannot open"],
    );
    let empty_dir = tmp("resume-empty-dir");
    std::fs::create_dir_all(&empty_dir).unwrap();
    bad_resume(&empty_dir, "1", &["resume-empty-dir", "no checkpoint"]);

    let good = checkpoint_of("resume-good", "1");
    let file = only_checkpoint(&good);
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..8], b"PIFSCKPT");
    let name = file.file_name().unwrap().to_owned();
    let variant = |tag: &str, content: &[u8]| -> PathBuf {
        let d = tmp(&format!("resume-{tag}"));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(&name), content).unwrap();
        d
    };
    // Empty, truncated.
    bad_resume(&variant("empty", b""), "1", &["ckpt-", "empty file"]);
    bad_resume(
        &variant("truncated", &bytes[..bytes.len() / 2]),
        "1",
        &["ckpt-", "truncated"],
    );
    // Wrong magic, wrong version.
    let mut m = bytes.clone();
    m[..8].copy_from_slice(b"NOTCKPT!");
    bad_resume(&variant("magic", &m), "1", &["ckpt-", "magic", "PIFSCKPT"]);
    let mut v = bytes.clone();
    v[8..12].copy_from_slice(&7u32.to_le_bytes());
    bad_resume(
        &variant("version", &resealed(v)),
        "1",
        &["ckpt-", "version", "7"],
    );
    // A different command line (another seed), another command (pifs run).
    bad_resume(&good, "2", &["ckpt-", "options", "different command line"]);
    let run_args = [
        "run",
        "--model",
        "rm1",
        "--batch",
        "1",
        "--backend",
        "model",
        "--resume",
        s(&good),
        "--json",
        s(&json),
    ];
    bad(&run_args, &["ckpt-", "command", "pifs compare"], &[&json]);
    // Another build: the build string (after magic, version, command, options hash) edited.
    let cmd_len = u32::from_le_bytes(bytes[12..16].try_into().unwrap()) as usize;
    let build_at = 16 + cmd_len + 8;
    let build_len = u32::from_le_bytes(bytes[build_at..build_at + 4].try_into().unwrap()) as usize;
    let mut b = bytes.clone();
    let last = build_at + 4 + build_len - 1;
    b[last] = if b[last] == b'0' { b'1' } else { b'0' };
    bad_resume(
        &variant("build", &resealed(b)),
        "1",
        &["ckpt-", "build", "another build"],
    );
    // The intact checkpoint resumes.
    let args = resume(&good, "1");
    let o = pifs(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    // --checkpoint-every 0.
    bad(
        &[
            "compare",
            "--model",
            "rm1",
            "--batch",
            "1",
            "--batches",
            "1",
            "--backend",
            "model",
            "--checkpoint",
            s(&tmp("resume-every0")),
            "--checkpoint-every",
            "0",
            "--json",
            s(&json),
        ],
        &["--checkpoint-every 0"],
        &[&json],
    );
    // sweep --resume of a folder without a sweep.
    let nosweep = tmp("resume-nosweep");
    let _ = std::fs::remove_dir_all(&nosweep);
    bad(
        &[
            "sweep",
            "--model",
            "rm1",
            "--batch",
            "1",
            "--vary",
            "ports=2,4",
            "--out",
            s(&nosweep),
            "--resume",
        ],
        &["commands.txt", "--resume", "no sweep to resume"],
        &[&nosweep.join("sweep.csv")],
    );
    // sweep --resume of a folder holding another grid (written by --emit slurm, nothing run).
    let other = tmp("resume-othergrid");
    let _ = std::fs::remove_dir_all(&other);
    let sweep = |ports: &str, extra: &str| -> std::process::Output {
        pifs(&[
            "sweep",
            "--model",
            "rm1",
            "--batch",
            "1",
            "--vary",
            ports,
            "--out",
            s(&other),
            extra,
        ])
    };
    assert!(sweep("ports=2,4", "--emit=slurm").status.success());
    bad(
        &[
            "sweep",
            "--model",
            "rm1",
            "--batch",
            "1",
            "--vary",
            "ports=2,8",
            "--out",
            s(&other),
            "--resume",
        ],
        &["commands.txt", "--resume", "another grid"],
        &[&other.join("sweep.csv")],
    );
    // --wave with checkpoints.
    let wave = tmp("resume-wave.fst");
    bad(
        &[
            "run",
            "--model",
            "rm1",
            "--batch",
            "1",
            "--wave",
            s(&wave),
            "--checkpoint",
            s(&tmp("resume-wave-ckpt")),
        ],
        &["--wave", "--checkpoint"],
        &[&wave],
    );
}

#[test]
fn fault_flags_out_of_range() {
    let json = tmp("faults-bad.json");
    let base = [
        "run",
        "--model",
        "rm1",
        "--batch",
        "1",
        "--backend",
        "model",
    ];
    for (flag, value, needles) in [
        (
            "--link-ber",
            "2",
            &["--link-ber", "link_bit_error_rate", "outside 0 ..= 1"][..],
        ),
        ("--link-ber", "0.5", &["--link-ber", "above 1e-2"][..]),
        (
            "--link-drop-rate",
            "1.5",
            &["--link-drop-rate", "outside 0 ..= 1"][..],
        ),
        (
            "--poison-rate",
            "NaN",
            &["--poison-rate", "device_poison_rate"][..],
        ),
        ("--llrb-flits", "3", &["--llrb-flits", "llrb_flits: 3"][..]),
        ("--llrb-flits", "256", &["--llrb-flits", "..= 255"][..]),
    ] {
        let mut args: Vec<&str> = base.to_vec();
        args.extend([flag, value, "--json", s(&json)]);
        bad(&args, needles, &[&json]);
    }
    let mut args: Vec<&str> = base.to_vec();
    args.extend([
        "--compare-clean",
        "--poison-rate",
        "0.1",
        "--json",
        s(&json),
    ]);
    bad(&args, &["--compare-clean", "--poison-rate"], &[&json]);
}

#[test]
fn placement_plan_spread_and_ablation_flags() {
    let json = tmp("plan-bad.json");
    bad(
        &[
            "plan",
            "--model",
            "rm1",
            "--batch",
            "1",
            "--plan",
            "diagonal",
            "--json",
            s(&json),
        ],
        &["--plan diagonal: must be row, table, column or greedy"],
        &[&json],
    );
    for (kv, needle) in [
        (
            "pifs.spread=yes",
            "pifs.spread = \"yes\": must be off, replicate or migrate",
        ),
        (
            "pifs.plan=hash",
            "pifs.plan = \"hash\": must be row, table, column or greedy",
        ),
        (
            "pifs.hot_page_bytes=0",
            "pifs.hot_page_bytes = 0 bytes is outside 64 ..= 1000000000",
        ),
        (
            "pifs.hot_min_share=1.5",
            "pifs.hot_min_share = 1.5  is outside 0 ..= 1",
        ),
        (
            "pifs.spread_replicas=0",
            "pifs.spread_replicas = 0 devices is outside 1 ..= 16",
        ),
    ] {
        let json = tmp("ablate-bad.json");
        bad(
            &[
                "compare",
                "--ablate",
                "--model",
                "rm3",
                "--batch",
                "1",
                "--batches",
                "1",
                "--backend",
                "model",
                "--set",
                kv,
                "--json",
                s(&json),
            ],
            &[&format!("--set {kv}: {needle}")],
            &[&json],
        );
    }
    let svg = tmp("ablate.svg");
    bad(
        &[
            "compare",
            "--ablate",
            "--model",
            "rm3",
            "--batch",
            "1",
            "--backend",
            "model",
            "--plot",
            s(&svg),
            "--json",
            s(&json),
        ],
        &["--ablate with --plot"],
        &[&svg, &json],
    );
    let dir = tmp("ablate-ckpt");
    bad(
        &[
            "compare",
            "--ablate",
            "--model",
            "rm3",
            "--batch",
            "1",
            "--backend",
            "model",
            "--checkpoint",
            s(&dir),
            "--json",
            s(&json),
        ],
        &["--ablate with --checkpoint/--resume"],
        &[&json],
    );
}
