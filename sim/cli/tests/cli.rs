//! The `pifs` binary as a user drives it: runs on built-in workloads and on .npz traces and
//! weights it has never seen (checked here against an independent float64 pooling), flit
//! decoding, and one test per class of bad input (one line, exit code 2, no panic, no output
//! file left behind).

use pifs_cxl::{Flit, Message, S2mDrs, S2mPacker};
use pifs_dlrm::{Table, Trace};
use pifs_rng::Rng;
use std::collections::VecDeque;
use std::path::Path;

mod common;
use common::{assert_bad_input, pifs, stderr, stdout, tmp};

fn read_npy_f32(p: &Path) -> (Vec<usize>, Vec<f32>) {
    pifs_dlrm::read_npy_f32(p).unwrap()
}

#[test]
fn builtin_model_runs_on_both_backends_with_identical_output() {
    let mut pooled = Vec::new();
    for backend in ["rtl", "model"] {
        let (p, j) = (
            tmp(&format!("rm3-{backend}.npy")),
            tmp(&format!("rm3-{backend}.json")),
        );
        let o = pifs(&[
            "run",
            "--model",
            "rm3",
            "--batch",
            "3",
            "--ports",
            "3",
            "--ooo",
            "--backend",
            backend,
            "--pooled",
            p.to_str().unwrap(),
            "--json",
            j.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&j).unwrap()).unwrap();
        assert_eq!(doc["backend"], backend);
        assert_eq!(doc["bags"], 30);
        assert_eq!(doc["lookups"], 30 * 20);
        assert!(doc["cycles"].as_u64().unwrap() > 0);
        assert_eq!(doc["ports"].as_array().unwrap().len(), 3);
        assert!(doc["ports"][0]["s2m_flits"].as_u64().unwrap() > 0);
        assert_eq!(doc["check"]["violations"], 0);
        if backend == "rtl" {
            assert!(doc["verilator"]
                .as_str()
                .unwrap()
                .starts_with("Verilator 5."));
        }
        let (shape, data) = read_npy_f32(&p);
        assert_eq!(shape, vec![30, 32]);
        pooled.push((
            data.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            doc["cycles"].clone(),
        ));
    }
    assert_eq!(
        pooled[0], pooled[1],
        "rtl and model differ in sums or cycles"
    );
}

/// A trace and weights with values nobody tuned for: random rows, random bag lengths (empty
/// bags included), 3 tables of different sizes, any dim (40: not a multiple of 16; 200: wider
/// than the RTL's 128-float rows, summed in column groups).
fn unseen_workload(seed: u64, dim: usize) -> (Trace, Vec<Table>) {
    let mut rng = Rng::new(seed);
    let (tables, batch) = (3usize, 7usize);
    let rows = [50usize, 1000, 7];
    let mut indices = Vec::new();
    let mut offsets = vec![0i64];
    for &table_rows in rows.iter().take(tables) {
        for _ in 0..batch {
            let n = rng.below(60);
            for _ in 0..n {
                indices.push(rng.below(table_rows as u64) as i64);
            }
            offsets.push(indices.len() as i64);
        }
    }
    let trace = Trace {
        tables,
        batch,
        indices,
        offsets,
    };
    let tabs = rows
        .iter()
        .map(|&r| Table {
            rows: r,
            data: (0..r * dim)
                .map(|_| (rng.unit_f64() * 8.0 - 4.0) as f32)
                .collect(),
        })
        .collect();
    (trace, tabs)
}

#[test]
fn unseen_trace_and_weights_pool_within_the_float64_bound() {
    for dim in [40usize, 200] {
        let (trace, tabs) = unseen_workload(99 + dim as u64, dim);
        let (tp, wp) = (
            tmp(&format!("unseen-trace-{dim}.npz")),
            tmp(&format!("unseen-weights-{dim}.npz")),
        );
        pifs_dlrm::write_trace_npz(&tp, &trace).unwrap();
        pifs_dlrm::write_weights_npz(&wp, &tabs, dim).unwrap();
        for backend in ["rtl", "model"] {
            let out = tmp(&format!("unseen-{backend}-{dim}.npy"));
            let o = pifs(&[
                "run",
                "--trace",
                tp.to_str().unwrap(),
                "--weights",
                wp.to_str().unwrap(),
                "--ports",
                "2",
                "--backend",
                backend,
                "--pooled",
                out.to_str().unwrap(),
                "--seed",
                "5",
            ]);
            assert!(o.status.success(), "{}", stderr(&o));
            let (shape, got) = read_npy_f32(&out);
            assert_eq!(shape, vec![trace.tables * trace.batch, dim]);
            // Independent float64 pooling, written here from the arrays themselves.
            for (t, tab) in tabs.iter().enumerate() {
                for b in 0..trace.batch {
                    let g = t * trace.batch + b;
                    let bag =
                        &trace.indices[trace.offsets[g] as usize..trace.offsets[g + 1] as usize];
                    for c in 0..dim {
                        let xs: Vec<f64> = bag
                            .iter()
                            .map(|&r| tab.data[r as usize * dim + c] as f64)
                            .collect();
                        let exact: f64 = xs.iter().sum();
                        let abs: f64 = xs.iter().map(|x| x.abs()).sum();
                        let bound = (xs.len().max(1) - 1) as f64 * f64::powi(2.0, -24) * abs;
                        let v = got[g * dim + c] as f64;
                        assert!(
                            (v - exact).abs() <= bound,
                            "{backend}: bag {g} col {c}: {v} vs {exact} (bound {bound})"
                        );
                        if bag.is_empty() {
                            assert_eq!(got[g * dim + c].to_bits(), 0, "empty bag must be +0.0");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn wave_file_is_written_on_request() {
    let w = tmp("port0.fst");
    let o = pifs(&[
        "run",
        "--model",
        "rm3",
        "--batch",
        "1",
        "--wave",
        w.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&w).expect("wave file");
    assert!(
        bytes.len() > 1000,
        "FST file too small: {} bytes",
        bytes.len()
    );
    let save = std::fs::read_to_string(w.with_extension("gtkw")).expect("GTKWave save file");
    assert!(
        save.contains(&format!("[dumpfile] \"{}\"", w.display())),
        "{save}"
    );
    assert!(
        save.contains("\nport.pifs_port_top.flit_valid_i\n"),
        "{save}"
    );
}

#[test]
fn vcd_waves_cover_only_the_window_of_the_chosen_port() {
    let w = tmp("port1.vcd");
    let o = pifs(&[
        "run",
        "--model",
        "rm3",
        "--batch",
        "1",
        "--ports",
        "2",
        "--wave",
        w.to_str().unwrap(),
        "--wave-port",
        "1",
        "--wave-from",
        "20",
        "--wave-to",
        "30",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("port 1, cycles 20..30"),
        "{}",
        stdout(&o)
    );
    let vcd = std::fs::read_to_string(&w).expect("VCD file");
    assert!(vcd.contains("$enddefinitions $end"));
    // Two value dumps per cycle, 20 to 29 only; cycle 20 begins 4.5 ns after reset starts.
    let times: Vec<u64> = vcd
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|t| t.parse().unwrap())
        .collect();
    assert_eq!(times.len(), 20);
    assert_eq!(times[0], (2 * 4 + 1 + 2 * 20) * 500);
    assert!(w.with_extension("gtkw").is_file());
    assert!(
        !tmp("port1.vcd.fst.partial").exists(),
        "scratch FST left behind"
    );
    // Bad windows and ports are one line and exit 2.
    for (args, msg) in [
        (vec!["--wave-from", "9", "--wave-to", "9"], "not after"),
        (vec!["--wave-port", "2"], "the run has 2 port(s)"),
    ] {
        let mut all = vec![
            "run", "--model", "rm3", "--batch", "1", "--ports", "2", "--wave",
        ];
        all.push(w.to_str().unwrap());
        all.extend(args);
        let o = pifs(&all);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains(msg), "{}", stderr(&o));
    }
}

fn packed_stream(seed: u64, n: u16) -> Vec<Flit> {
    let mut avail: VecDeque<Message> = (0..n)
        .map(|t| {
            let mut d = [0u8; 64];
            for (i, x) in d.iter_mut().enumerate() {
                *x = (t as usize * 7 + i) as u8;
            }
            Message::S2mDrs(S2mDrs::mem_data(t, t == 3), Box::new(d))
        })
        .collect();
    let mut p = S2mPacker::new(seed);
    std::iter::from_fn(|| p.next_flit(&mut avail)).collect()
}

#[test]
fn flit_decode_json_reports_messages_and_crc_errors() {
    let flits = packed_stream(3, 9);
    let text: String = flits.iter().map(|f| f.to_hex() + "\n").collect();
    let f = tmp("stream.hex");
    std::fs::write(&f, &text).unwrap();
    let o = pifs(&[
        "flit",
        "decode",
        "--dir",
        "s2m",
        f.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["flits"], flits.len());
    assert_eq!(doc["crc_errors"], 0);
    let msgs = doc["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 9);
    for (t, m) in msgs.iter().enumerate() {
        assert_eq!(m["class"], "S2M_DRS");
        assert_eq!(m["opcode"], "MemData");
        assert_eq!(m["tag"], t);
        assert_eq!(m["poison"], t == 3);
        let want: String = (0..64)
            .map(|i| format!("{:02x}", (t * 7 + i) as u8))
            .collect();
        assert_eq!(m["data"], want);
    }
    // One bit flipped in the second flit: exit 1, counted.
    let mut bad = flits.clone();
    bad[1].0[10] ^= 0x04;
    let text: String = bad.iter().map(|f| f.to_hex() + "\n").collect();
    std::fs::write(&f, &text).unwrap();
    let o = pifs(&[
        "flit",
        "decode",
        "--dir",
        "s2m",
        f.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["crc_errors"], 1);
}

#[test]
fn bad_flit_text() {
    let f = tmp("bad.hex");
    std::fs::write(&f, "00ff\n").unwrap();
    assert_bad_input(
        &pifs(&["flit", "decode", "--dir", "s2m", f.to_str().unwrap()]),
        &["bad.hex:1", "132"],
    );
    std::fs::write(&f, format!("{}\n{}zz\n", "0".repeat(132), "0".repeat(130))).unwrap();
    assert_bad_input(
        &pifs(&["flit", "decode", "--dir", "s2m", f.to_str().unwrap()]),
        &["bad.hex:2"],
    );
    assert_bad_input(
        &pifs(&["flit", "decode", "--dir", "s2m", "/nonexistent/x.hex"]),
        &["/nonexistent/x.hex"],
    );
}

#[test]
fn bad_trace_inputs() {
    let pooled = tmp("never.npy");
    let run = |trace: &Path, extra: &[&str]| {
        let mut a = vec![
            "run",
            "--trace",
            trace.to_str().unwrap(),
            "--pooled",
            pooled.to_str().unwrap(),
        ];
        a.extend_from_slice(extra);
        pifs(&a)
    };
    // Missing file.
    assert_bad_input(
        &run(
            Path::new("/nonexistent/t.npz"),
            &["--rows", "10", "--dim", "16"],
        ),
        &["/nonexistent/t.npz"],
    );
    // Not an npz.
    let junk = tmp("junk.npz");
    std::fs::write(&junk, b"not a zip").unwrap();
    assert_bad_input(&run(&junk, &["--rows", "10", "--dim", "16"]), &["junk.npz"]);
    // Offsets not monotonic: written through the raw npz writer of a valid trace, then edited.
    let t = Trace {
        tables: 1,
        batch: 2,
        indices: vec![1, 2, 3],
        offsets: vec![0, 2, 3],
    };
    let good = tmp("good.npz");
    pifs_dlrm::write_trace_npz(&good, &t).unwrap();
    // Index out of range.
    assert_bad_input(
        &run(&good, &["--rows", "3", "--dim", "16"]),
        &["good.npz", "indices", "out of range"],
    );
    // Dim mismatch between weights and --dim.
    let w = tmp("w.npz");
    pifs_dlrm::write_weights_npz(
        &w,
        &[Table {
            rows: 10,
            data: vec![0.5; 10 * 8],
        }],
        8,
    )
    .unwrap();
    assert_bad_input(
        &run(&good, &["--weights", w.to_str().unwrap(), "--dim", "16"]),
        &["w.npz", "dim"],
    );
    // Missing --rows.
    assert_bad_input(&run(&good, &["--dim", "16"]), &["--rows"]);
    // A row beyond the address window of its table (2^40 bytes per table).
    let far = Trace {
        tables: 1,
        batch: 1,
        indices: vec![(1i64 << 31) + 5],
        offsets: vec![0, 1],
    };
    let farp = tmp("far.npz");
    pifs_dlrm::write_trace_npz(&farp, &far).unwrap();
    assert_bad_input(
        &run(&farp, &["--rows", "4294967296", "--dim", "128"]),
        &["indices[0]", "outside"],
    );
    assert!(
        !pooled.exists(),
        "no output may be left behind on bad input"
    );
}

#[test]
fn malformed_offsets_are_rejected() {
    // Build the npz by hand so that the offsets are broken (the writer refuses broken traces).
    use std::io::Write;
    let path = tmp("offsets.npz");
    let npy = |vals: &[i64]| {
        let header = format!(
            "{{'descr': '<i8', 'fortran_order': False, 'shape': ({},), }}",
            vals.len()
        );
        let mut h = header.into_bytes();
        while (10 + h.len() + 1) % 64 != 0 {
            h.push(b' ');
        }
        h.push(b'\n');
        let mut v = b"\x93NUMPY\x01\x00".to_vec();
        v.extend_from_slice(&(h.len() as u16).to_le_bytes());
        v.extend_from_slice(&h);
        for x in vals {
            v.extend_from_slice(&x.to_le_bytes());
        }
        v
    };
    for (offsets, problem) in [
        (&[0i64, 3, 2, 4][..], "monotonic"),
        (&[0, 1, 2, 3][..], "4"),
    ] {
        let f = std::fs::File::create(&path).unwrap();
        let mut z = zip::ZipWriter::new(f);
        let opt = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        z.start_file("indices.npy", opt).unwrap();
        z.write_all(&npy(&[0, 1, 2, 3])).unwrap();
        z.start_file("offsets.npy", opt).unwrap();
        z.write_all(&npy(offsets)).unwrap();
        z.finish().unwrap();
        let o = pifs(&[
            "run",
            "--trace",
            path.to_str().unwrap(),
            "--rows",
            "10",
            "--dim",
            "16",
        ]);
        assert_bad_input(&o, &["offsets.npz", "offsets", problem]);
    }
}

#[test]
fn bad_flags_are_usage_errors() {
    let o = pifs(&["run", "--model", "rm9"]);
    assert_eq!(o.status.code(), Some(2));
    let o = pifs(&["run", "--model", "rm1", "--ports", "0"]);
    assert_bad_input(&o, &["--ports"]);
    let o = pifs(&[
        "run",
        "--model",
        "rm3",
        "--batch",
        "1",
        "--device-latency-ns",
        "0",
    ]);
    assert_bad_input(&o, &["device_latency_ns", "one cycle"]);
    let o = pifs(&["run", "--model", "rm1", "--rows", "10"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "--rows with --model is a usage error"
    );
    let o = pifs(&["run", "--model", "rm1", "--frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!stderr(&o).contains("panicked"));
    let o = pifs(&["run"]);
    assert_bad_input(&o, &["--trace", "--model"]);
}
