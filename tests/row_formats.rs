//! Row formats (fp16, int8 row-wise) through the port and switch loops, RTL and reference model.
//!
//! - A bag of one row pools that row's binary32 dequantisation exactly: checked against an
//!   independent f32 computation from the stored bytes (`q * scale + bias`, the product exact).
//! - The RTL and the reference model pool the same bits in the same cycles, at port level and
//!   at switch level (with and without the row buffer).
//! - Pooled sums stay within the float64 bound of the stored values.
//! - Narrow rows cut device lines and link bytes; the 16-lane accumulator then limits.
//! - Rows a format cannot hold are one clear configuration error.

use pifs_dlrm::{f16_to_f32, generate, pool_f64_in, IndexDist, RowFormat, Trace, Weights};
use pifs_sim::buffer::{BufferConfig, BufferPolicy};
use pifs_sim::check::check_bound;
use pifs_sim::switch_run::run_switch;
use pifs_sim::system::{self, Backend, RunConfig, RunOutput};

fn cfg(backend: Backend, ports: usize, fmt: RowFormat) -> RunConfig {
    RunConfig {
        backend,
        ports,
        row_format: fmt,
        ..RunConfig::default()
    }
}

/// The binary32 value of column `c` of a stored row, computed here from the bytes.
fn stored_value(fmt: RowFormat, bytes: &[u8], c: usize) -> f32 {
    match fmt {
        RowFormat::Fp32 => f32::from_le_bytes(bytes[4 * c..4 * c + 4].try_into().unwrap()),
        RowFormat::Fp16 => f16_to_f32(u16::from_le_bytes([bytes[2 * c], bytes[2 * c + 1]])),
        RowFormat::Int8 => {
            let scale = f16_to_f32(u16::from_le_bytes([bytes[0], bytes[1]]));
            let bias = f16_to_f32(u16::from_le_bytes([bytes[2], bytes[3]]));
            let p = f32::from(bytes[4 + c]) * scale;
            // Rust adds binary32 with round-to-nearest-even: one rounding, as the RTL.
            p + bias
        }
    }
}

/// Bags of exactly one row each (rows spread over `rows`).
fn single_row_trace(tables: usize, batch: usize, rows: u64) -> Trace {
    let indices: Vec<i64> = (0..tables * batch)
        .map(|i| ((i as u64 * 7919) % rows) as i64)
        .collect();
    Trace {
        tables,
        batch,
        offsets: (0..=indices.len() as i64).collect(),
        indices,
    }
}

fn assert_single_rows_exact(out: &RunOutput, trace: &Trace, w: &Weights, fmt: RowFormat) {
    let dim = w.dim();
    let mut bytes = Vec::new();
    for t in 0..trace.tables {
        for b in 0..trace.batch {
            let r = trace.bag(t, b)[0] as u64;
            bytes.clear();
            w.row_bytes_into(t, r, fmt, &mut bytes).unwrap();
            for c in 0..dim {
                let want = stored_value(fmt, &bytes, c);
                let got = out.pooled[(t * trace.batch + b) * dim + c];
                assert_eq!(got, want.to_bits(), "{fmt} table {t} bag {b} column {c}");
            }
        }
    }
}

#[test]
fn a_bag_of_one_row_pools_its_dequantised_row_exactly() {
    // (format, dim): one device line widened to 2, 3 and 4 lines; fp16 rows of 2 device lines.
    for (fmt, dim) in [
        (RowFormat::Int8, 32),
        (RowFormat::Int8, 48),
        (RowFormat::Int8, 60),
        (RowFormat::Fp16, 32),
        (RowFormat::Fp16, 64),
        (RowFormat::Fp16, 16),
    ] {
        let trace = single_row_trace(3, 12, 5_000);
        let w = Weights::Synthetic { dim };
        for backend in [Backend::Model, Backend::Rtl] {
            let port = system::run(&trace, &w, &cfg(backend, 2, fmt)).unwrap();
            assert_single_rows_exact(&port, &trace, &w, fmt);
        }
        let switch = run_switch(&trace, &w, &cfg(Backend::Model, 8, fmt)).unwrap();
        assert_single_rows_exact(&switch, &trace, &w, fmt);
    }
}

fn rm_trace(dim_tables: usize, batch: usize, lookups: usize, seed: u64) -> Trace {
    generate(
        dim_tables,
        20_000,
        batch,
        lookups,
        IndexDist::Zipf { alpha: 1.05 },
        seed,
    )
    .unwrap()
}

#[test]
fn rtl_and_model_pool_the_same_bits_in_the_same_cycles() {
    for (fmt, dim) in [
        (RowFormat::Int8, 32),
        (RowFormat::Fp16, 64),
        (RowFormat::Int8, 16),
    ] {
        let trace = rm_trace(4, 6, 20, 3);
        let w = Weights::Synthetic { dim };
        let m = system::run(&trace, &w, &cfg(Backend::Model, 2, fmt)).unwrap();
        let r = system::run(&trace, &w, &cfg(Backend::Rtl, 2, fmt)).unwrap();
        assert_eq!(m.pooled, r.pooled, "{fmt} dim {dim}: port-level sums");
        assert_eq!(
            m.stats.cycles, r.stats.cycles,
            "{fmt} dim {dim}: port-level cycles"
        );
        for buffer in [
            BufferConfig::OFF,
            BufferConfig {
                lines: 128,
                ways: 4,
                policy: BufferPolicy::Lru,
            },
        ] {
            let c = |backend| RunConfig {
                buffer,
                ..cfg(backend, 8, fmt)
            };
            let m = run_switch(&trace, &w, &c(Backend::Model)).unwrap();
            let r = run_switch(&trace, &w, &c(Backend::Rtl)).unwrap();
            assert_eq!(
                m.pooled, r.pooled,
                "{fmt} dim {dim} buffer {buffer:?}: switch sums"
            );
            assert_eq!(
                m.stats.cycles, r.stats.cycles,
                "{fmt} dim {dim} buffer {buffer:?}: switch cycles"
            );
        }
    }
}

#[test]
fn pooled_sums_stay_within_the_float64_bound_of_the_stored_rows() {
    let trace = rm_trace(8, 8, 80, 5);
    for (fmt, dim) in [
        (RowFormat::Int8, 32),
        (RowFormat::Fp16, 32),
        (RowFormat::Fp16, 64),
    ] {
        let w = Weights::Synthetic { dim };
        let reference = pool_f64_in(&trace, &w, fmt).unwrap();
        let out = system::run(&trace, &w, &cfg(Backend::Model, 4, fmt)).unwrap();
        let report = check_bound(&out.pooled, &reference);
        assert!(report.ok(), "{fmt} dim {dim}: {report:?}");
        assert_eq!(report.skipped, 0);
        let sw = run_switch(&trace, &w, &cfg(Backend::Model, 8, fmt)).unwrap();
        assert!(
            check_bound(&sw.pooled, &reference).ok(),
            "{fmt} dim {dim} switch"
        );
    }
}

#[test]
fn narrow_rows_read_fewer_lines_and_bytes() {
    let trace = rm_trace(8, 8, 80, 7);
    let w = Weights::Synthetic { dim: 32 };
    let run = |fmt| system::run(&trace, &w, &cfg(Backend::Model, 4, fmt)).unwrap();
    let (f32s, f16s, i8s) = (
        run(RowFormat::Fp32),
        run(RowFormat::Fp16),
        run(RowFormat::Int8),
    );
    let lookups = trace.lookups() as u64;
    // dim 32: 128, 64 and 36 bytes a row: 2, 1 and 1 device lines.
    assert_eq!(f32s.stats.lines, 2 * lookups);
    assert_eq!(f16s.stats.lines, lookups);
    assert_eq!(i8s.stats.lines, lookups);
    let reads = |o: &RunOutput| o.stats.ports.iter().map(|p| p.device.reads).sum::<u64>();
    assert_eq!(reads(&f32s), 2 * lookups);
    assert_eq!(reads(&i8s), lookups);
    assert!(f16s.stats.device_link_bytes < f32s.stats.device_link_bytes * 6 / 10);
    // The same binary32 lines reach the accumulators, and the same lines leave upstream.
    assert_eq!(i8s.stats.upstream_bytes, f32s.stats.upstream_bytes);
}

#[test]
fn rows_a_format_cannot_hold_are_a_configuration_error() {
    let trace = rm_trace(2, 2, 4, 1);
    for (fmt, dim, says) in [
        (RowFormat::Int8, 64, "dim must be at most 60"),
        (RowFormat::Fp16, 48, "multiple of 32"),
    ] {
        let w = Weights::Synthetic { dim };
        let e = system::run(&trace, &w, &cfg(Backend::Model, 1, fmt))
            .err()
            .unwrap();
        assert!(e.to_string().contains(says), "{e}");
    }
    // Link faults: the run loop's reference receiver does not model the dequantiser's hold-back.
    let w = Weights::Synthetic { dim: 32 };
    let faulty = RunConfig {
        faults: Some(pifs_sim::params::LinkFaults {
            bit_error_rate: 1e-5,
            ..Default::default()
        }),
        ..cfg(Backend::Model, 1, RowFormat::Int8)
    };
    let e = system::run(&trace, &w, &faulty).err().unwrap();
    assert!(e.to_string().contains("link faults with int8 rows"), "{e}");
    // Loaded float32 weights beyond fp16's range name the table and row.
    let mut data = vec![0.5f32; 4 * 32];
    data[2 * 32 + 5] = 1e6;
    let w = Weights::Loaded {
        dim: 32,
        tables: vec![pifs_dlrm::Table { rows: 4, data }; 2],
    };
    let trace = Trace {
        tables: 2,
        batch: 1,
        indices: vec![2, 1],
        offsets: vec![0, 1, 2],
    };
    let e = system::run(&trace, &w, &cfg(Backend::Model, 1, RowFormat::Fp16))
        .err()
        .unwrap();
    assert!(e.to_string().contains("table 0 row 2"), "{e}");
}

#[test]
fn every_system_pools_the_stored_rows_within_the_bound() {
    use pifs_systems::systems::{run_batch, System};
    let trace = rm_trace(8, 4, 40, 11);
    let w = Weights::Synthetic { dim: 32 };
    for fmt in [RowFormat::Fp16, RowFormat::Int8] {
        let mut c = pifs_systems::SysConfig::default();
        c.set(&format!("device.row_format={fmt}")).unwrap();
        let reference = pool_f64_in(&trace, &w, fmt).unwrap();
        let fp32 = pifs_systems::SysConfig::default();
        for s in [System::Pond, System::BeaconD, System::BeaconS, System::Pifs] {
            let r = run_batch(s, &trace, &w, &c, Backend::Model, 1).unwrap();
            let report = check_bound(&r.pooled, &reference);
            assert!(report.ok(), "{fmt} {}: {report:?}", s.name());
            // The devices read one line per row instead of two.
            let wide = run_batch(s, &trace, &w, &fp32, Backend::Model, 1).unwrap();
            assert_eq!(2 * r.device_reads, wide.device_reads, "{fmt} {}", s.name());
        }
    }
}
