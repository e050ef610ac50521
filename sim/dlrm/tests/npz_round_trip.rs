//! Round trips through `.npz`/`.npy` and reading archives built by hand (int32 arrays, deflate members).

mod common;

use common::*;
use pifs_dlrm::*;
use proptest::prelude::*;

fn sample_trace() -> Trace {
    Trace {
        tables: 2,
        batch: 3,
        indices: vec![5, 1, 1, 9, 0, 2, 7, 7, 3],
        offsets: vec![0, 2, 2, 4, 5, 8, 9],
    }
}

#[test]
fn trace_round_trip() {
    let p = tmp("trace_rt.npz");
    let t = sample_trace();
    write_trace_npz(&p, &t).unwrap();
    let back = read_trace_npz(&p, None).unwrap();
    assert_eq!(back, t, "lengths fixes T and B");
    assert_eq!(back.bag(0, 1), &[] as &[i64]);
    assert_eq!(back.bag(1, 1), &[2, 7, 7]);
    assert_eq!(back.num_bags(), 6);
    assert_eq!(back.lookups(), 9);
    assert_eq!(back.lengths(), vec![2, 0, 2, 1, 3, 1]);
}

#[test]
fn generated_trace_round_trip() {
    let p = tmp("trace_gen_rt.npz");
    let t = generate(3, 1000, 17, 5, IndexDist::Zipf { alpha: 0.9 }, 11).unwrap();
    write_trace_npz(&p, &t).unwrap();
    assert_eq!(read_trace_npz(&p, Some(3)).unwrap(), t);
}

#[test]
fn weights_round_trip() {
    let p = tmp("weights_rt.npz");
    let tables: Vec<Table> = (0..12)
        .map(|t| Table {
            rows: t + 1,
            data: (0..(t + 1) * 3)
                .map(|i| i as f32 * 0.25 - t as f32)
                .collect(),
        })
        .collect();
    write_weights_npz(&p, &tables, 3).unwrap();
    let w = read_weights_npz(&p, Some(3)).unwrap();
    assert_eq!(
        w,
        Weights::Loaded {
            dim: 3,
            tables: tables.clone()
        },
        "table_10 sorts after table_9"
    );
    assert_eq!(read_weights_npz(&p, None).unwrap().dim(), 3);
    assert_eq!(w.rows(11), Some(12));
    assert_eq!(w.rows(12), None);
    let mut row = [0.0f32; 3];
    w.row_into(4, 2, &mut row);
    assert_eq!(row, [-2.5, -2.25, -2.0]);
}

#[test]
fn npy_f32_round_trip() {
    let p = tmp("pooled_rt.npy");
    let data: Vec<f32> = (0..15).map(|i| i as f32 / 7.0 - 1.0).collect();
    write_npy_f32(&p, 5, 3, &data).unwrap();
    let (shape, back) = read_npy_f32(&p).unwrap();
    assert_eq!(shape, vec![5, 3]);
    assert_eq!(back, data);
    let bytes = std::fs::read(&p).unwrap();
    assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
    assert_eq!(
        (bytes.len() - 15 * 4) % 64,
        0,
        "data starts 64-byte aligned"
    );
    let text = std::str::from_utf8(&bytes[10..bytes.len() - 60]).unwrap();
    assert!(
        text.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (5, 3), }"),
        "{text}"
    );
}

#[test]
fn empty_npy_round_trip() {
    let p = tmp("empty_rt.npy");
    write_npy_f32(&p, 0, 4, &[]).unwrap();
    assert_eq!(read_npy_f32(&p).unwrap(), (vec![0, 4], vec![]));
}

#[test]
fn hand_built_npz_with_int32_indices_and_deflate() {
    let p = tmp("hand.npz");
    write_zip(
        &p,
        &[
            (
                "indices.npy",
                npy_bytes("<i4", "(5,)", &i32s(&[3, 0, 2, 2, 1])),
                true,
            ),
            (
                "offsets.npy",
                npy_bytes("<i4", "(5,)", &i32s(&[0, 2, 3, 3, 5])),
                false,
            ),
            (
                "lengths.npy",
                npy_bytes("<i8", "(2, 2)", &i64s(&[2, 1, 0, 2])),
                true,
            ),
        ],
    );
    let t = read_trace_npz(&p, None).unwrap();
    assert_eq!(t.tables, 2);
    assert_eq!(t.batch, 2);
    assert_eq!(t.indices, vec![3, 0, 2, 2, 1]);
    assert_eq!(t.offsets, vec![0, 2, 3, 3, 5]);
    assert_eq!(t.bag(1, 1), &[2, 1]);
}

#[test]
fn hand_built_npz_without_lengths_uses_tables_argument() {
    let p = tmp("hand_nolengths.npz");
    write_zip(
        &p,
        &[
            i64_member("indices.npy", &[1, 2, 3, 4]),
            i64_member("offsets.npy", &[0, 1, 2, 3, 4]),
        ],
    );
    let one = read_trace_npz(&p, None).unwrap();
    assert_eq!((one.tables, one.batch), (1, 4));
    let two = read_trace_npz(&p, Some(2)).unwrap();
    assert_eq!((two.tables, two.batch), (2, 2));
    assert_eq!(two.bag(1, 0), &[3]);
}

#[test]
fn hand_built_weights_npz_deflated() {
    let p = tmp("hand_w.npz");
    let t0: Vec<f32> = vec![1.0, 2.0, 3.0, 4.0];
    let t1: Vec<f32> = vec![-1.0, 0.5];
    write_zip(
        &p,
        &[
            ("table_1.npy", npy_bytes("<f4", "(1, 2)", &f32s(&t1)), true),
            ("table_0.npy", npy_bytes("<f4", "(2, 2)", &f32s(&t0)), true),
            ("notes.txt", b"ignored".to_vec(), false),
        ],
    );
    let w = read_weights_npz(&p, None).unwrap();
    assert_eq!(
        w,
        Weights::Loaded {
            dim: 2,
            tables: vec![Table { rows: 2, data: t0 }, Table { rows: 1, data: t1 }]
        }
    );
}

#[test]
fn npy_version_2_header_and_all_dtypes_read() {
    let p = tmp("v2.npy");
    let mut bytes = npy_bytes(
        "<f8",
        "(2,)",
        &[1.5f64, -2.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect::<Vec<_>>(),
    );
    let header_len = u16::from_le_bytes([bytes[8], bytes[9]]) as u32;
    bytes.splice(6..10, [2u8, 0].into_iter().chain(header_len.to_le_bytes()));
    std::fs::write(&p, &bytes).unwrap();
    let a = read_npy(&p).unwrap();
    assert_eq!(a.shape, vec![2]);
    assert_eq!(a.data, NpyData::F64(vec![1.5, -2.0]));
    for (descr, data, want) in [
        ("<i4", i32s(&[-7, 8]), NpyData::I32(vec![-7, 8])),
        ("<i8", i64s(&[-7, 8]), NpyData::I64(vec![-7, 8])),
        ("<f4", f32s(&[0.25, 8.0]), NpyData::F32(vec![0.25, 8.0])),
    ] {
        std::fs::write(&p, npy_bytes(descr, "(1, 2)", &data)).unwrap();
        let a = read_npy(&p).unwrap();
        assert_eq!(a.shape, vec![1, 2]);
        assert_eq!(a.data, want);
    }
}

#[test]
#[ignore = "needs python3 with numpy; run with --ignored where numpy is installed"]
fn numpy_cross_check() {
    let have_numpy = std::process::Command::new("python3")
        .args(["-c", "import numpy"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(have_numpy, "python3 with numpy is required by this test");
    let p = tmp("np_written.npz");
    let script = format!(
        "import numpy as np; np.savez_compressed(r'{}', indices=np.array([4, 1, 0], dtype=np.int32), \
         offsets=np.array([0, 1, 3]), lengths=np.array([[1, 2]]))",
        p.display()
    );
    assert!(std::process::Command::new("python3")
        .args(["-c", &script])
        .status()
        .unwrap()
        .success());
    let t = read_trace_npz(&p, None).unwrap();
    assert_eq!(
        (t.tables, t.batch, t.indices.clone()),
        (1, 2, vec![4, 1, 0])
    );
    let q = tmp("ours.npz");
    write_trace_npz(&q, &t).unwrap();
    let check = format!(
        "import numpy as np; z = np.load(r'{}'); assert z['lengths'].tolist() == [[1, 2]]; \
         assert z['indices'].dtype == np.int64",
        q.display()
    );
    assert!(std::process::Command::new("python3")
        .args(["-c", &check])
        .status()
        .unwrap()
        .success());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn any_valid_trace_round_trips(
        tables in 1usize..4,
        batch in 0usize..5,
        sizes in proptest::collection::vec(0usize..6, 20),
        seed in any::<u64>(),
    ) {
        let mut rng = pifs_rng::Rng::new(seed);
        let mut offsets = vec![0i64];
        let mut indices = Vec::new();
        for i in 0..tables * batch {
            for _ in 0..sizes[i % sizes.len()] {
                indices.push(rng.below(1 << 40) as i64);
            }
            offsets.push(indices.len() as i64);
        }
        let t = Trace { tables, batch, indices, offsets };
        let p = tmp(&format!("prop_{seed}.npz"));
        write_trace_npz(&p, &t).unwrap();
        prop_assert_eq!(read_trace_npz(&p, None).unwrap(), t);
        std::fs::remove_file(&p).unwrap();
    }
}
