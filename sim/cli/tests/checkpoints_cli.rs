//! `pifs checkpoints` end to end: the default RM1 run (report fields, per-interval records whose
//! totals add up, the chart), a user's trace split into mini-batches (modified rows recomputed
//! from the trace file), and bad flags (exit 2, one line).

use std::collections::HashSet;

mod common;
use common::{assert_bad_input, pifs, stderr, stdout, tmp};

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

fn json(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn u(v: &serde_json::Value) -> u64 {
    v.as_u64().unwrap()
}

#[test]
fn default_run_writes_json_and_svg_whose_totals_add_up() {
    let dir = tmp("ckpt-default");
    let o = pifs(&["checkpoints", "--out", s(&dir)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for n in [
        "full",
        "consecutive",
        "one-shot",
        "one-shot q8",
        "one-shot q4",
        "one-shot q2",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(n)),
            "{n} missing: {text}"
        );
    }
    let doc = json(&dir.join("checkpoints.json"));
    // RM1: 8 tables x 4,000,000 rows, dim 32 (DeepRecSys), so a full checkpoint is 8*4e6*128 B.
    assert_eq!(
        doc["rows_per_table"],
        serde_json::json!(vec![4_000_000u64; 8])
    );
    assert_eq!(doc["dim"], 32);
    assert_eq!(u(&doc["full_bytes"]), 8 * 4_000_000 * 32 * 4);
    assert_eq!(u(&doc["bitmap_bytes"]), 8 * 4_000_000 / 8);
    assert!(doc["workload"].as_str().unwrap().contains("zipf"));
    let iv = doc["intervals"].as_array().unwrap();
    assert_eq!(iv.len(), 4, "40 batches, a checkpoint every 10");
    let tot = &doc["totals"];
    for key in [
        "lookups",
        "row_writes",
        "memwr_messages",
        "flits",
        "link_bytes",
    ] {
        let sum: u64 = iv.iter().map(|i| u(&i[key])).sum();
        assert_eq!(sum, u(&tot[key]), "{key}");
    }
    // RM1, batch 4, 80 lookups per table: 4 * 8 * 80 lookups per batch.
    assert_eq!(u(&tot["lookups"]), 40 * 4 * 8 * 80);
    let schemes = tot["schemes"].as_array().unwrap();
    let full_total = u(&schemes[0]["write_bytes"]);
    for (k, sch) in schemes.iter().enumerate() {
        let sum: u64 = iv.iter().map(|i| u(&i["schemes"][k]["write_bytes"])).sum();
        assert_eq!(sum, u(&sch["write_bytes"]), "{}", sch["scheme"]);
        let r = sch["write_reduction"].as_f64().unwrap();
        assert!((r - full_total as f64 / sum as f64).abs() < 1e-9 * r);
    }
    for i in iv {
        // Two MemWr lines per 128-byte row update; link bytes are 68 per flit.
        assert_eq!(u(&i["memwr_messages"]), 2 * u(&i["row_writes"]));
        assert_eq!(u(&i["link_bytes"]), 68 * u(&i["flits"]));
        assert!(u(&i["modified_rows"]) <= u(&i["row_writes"]));
    }
    let svg = std::fs::read_to_string(dir.join("checkpoints.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("one-shot q4"));
}

#[test]
fn a_users_trace_is_split_into_mini_batches() {
    let trace = pifs_dlrm::generate(2, 300, 12, 6, pifs_dlrm::IndexDist::Uniform, 3).unwrap();
    let f = tmp("ckpt-trace.npz");
    pifs_dlrm::write_trace_npz(&f, &trace).unwrap();
    let dir = tmp("ckpt-trace-out");
    let o = pifs(&[
        "checkpoints",
        "--trace",
        s(&f),
        "--rows",
        "300",
        "--dim",
        "16",
        "--batches",
        "4",
        "--interval",
        "2",
        "--bits",
        "4",
        "--out",
        s(&dir),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc = json(&dir.join("checkpoints.json"));
    let iv = doc["intervals"].as_array().unwrap();
    assert_eq!(iv.len(), 2);
    // Mini-batches of 3 samples; each interval is samples 0-5 and 6-11 of both tables.
    for (k, i) in iv.iter().enumerate() {
        let mut set = HashSet::new();
        for t in 0..2 {
            for b in 6 * k..6 * k + 6 {
                for &r in trace.bag(t, b) {
                    set.insert((t, r));
                }
            }
        }
        assert_eq!(u(&i["modified_rows"]), set.len() as u64, "interval {k}");
        assert_eq!(u(&i["lookups"]), 2 * 6 * 6);
    }
    assert_eq!(u(&doc["full_bytes"]), 2 * 300 * 16 * 4);
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    for (args, needle) in [
        (vec!["--interval", "0"], "--interval 0"),
        (vec!["--bits", "8,16"], "--bits 16"),
        (vec!["--bits", "4,x"], "'x'"),
        (vec!["--bits", "4,4"], "twice"),
        (vec!["--rebaseline", "1.5"], "--rebaseline"),
        (vec!["--batches", "0"], "--batches 0"),
    ] {
        let mut a = vec!["checkpoints"];
        a.extend(&args);
        let o = pifs(&a);
        assert_bad_input(&o, &[needle]);
        assert_eq!(stderr(&o).lines().count(), 1, "{args:?}: {}", stderr(&o));
    }
    let trace = pifs_dlrm::generate(1, 10, 3, 2, pifs_dlrm::IndexDist::Uniform, 1).unwrap();
    let f = tmp("ckpt-small.npz");
    pifs_dlrm::write_trace_npz(&f, &trace).unwrap();
    let o = pifs(&[
        "checkpoints",
        "--trace",
        s(&f),
        "--rows",
        "10",
        "--dim",
        "4",
        "--batches",
        "5",
    ]);
    assert_bad_input(&o, &["--batches 5", "3 samples"]);
}
