//! `pifs hash` end to end: the default run's report (fields, derived figures recomputed from its
//! counts, the default row count recomputed from the generated stream), the mapped trace written
//! by --out-trace (readable, in range, one row per raw ID, equal to the library's mapping), a
//! user's trace as input, and bad input (one line, exit 2).

use pifs_dlrm::Trace;
use std::collections::HashMap;

mod common;
use common::{assert_bad_input, pifs, stderr, stdout, tmp};

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

fn json(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

const NAMES: [&str; 5] = ["none", "modulo", "universal", "frequency", "learned"];

#[test]
fn default_run_writes_the_report_and_the_chart() {
    let dir = tmp("hash-default");
    let o = pifs(&["hash", "--out", s(&dir)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for n in NAMES {
        assert!(
            text.lines().any(|l| l.starts_with(n)),
            "{n} row missing: {text}"
        );
    }
    let doc = json(&dir.join("hash.json"));
    assert_eq!(doc["tables"], 8, "RM1 has 8 tables");
    assert_eq!(doc["samples"], 2048);
    assert_eq!(doc["history_samples"], 1024);
    assert_eq!(doc["generator"]["lookups"], 80, "RM1 pooling factor");
    assert_eq!(doc["generator"]["id_space"], 10_000_000);

    // Default rows: mean distinct IDs per table over the whole stream / 8, rounded up, computed
    // here from the library generator with the report's parameters.
    let gen: pifs_hashing::CoAccessConfig = pifs_hashing::CoAccessConfig {
        tables: 8,
        samples: 2048,
        lookups: 80,
        id_space: 10_000_000,
        alpha: 1.05,
        group: 8,
        burst: 4,
        seed: 1,
    };
    let (trace, _) = pifs_hashing::coaccess::generate(&gen).unwrap();
    let mut distinct = 0usize;
    for t in 0..8 {
        let mut ids: Vec<i64> = (0..2048).flat_map(|b| trace.bag(t, b).to_vec()).collect();
        ids.sort();
        ids.dedup();
        distinct += ids.len();
    }
    let rows = (distinct as f64 / 8.0 / 8.0).ceil() as u64;
    // Evaluation accesses to IDs absent from the history, counted here.
    let mut unseen = 0usize;
    for t in 0..8 {
        let seen: std::collections::HashSet<i64> =
            (0..1024).flat_map(|b| trace.bag(t, b).to_vec()).collect();
        unseen += (1024..2048)
            .flat_map(|b| trace.bag(t, b).to_vec())
            .filter(|id| !seen.contains(id))
            .count();
    }
    let want = unseen as f64 / (8 * 1024 * 80) as f64;
    assert!((doc["unseen_access_share"].as_f64().unwrap() - want).abs() < 1e-12);
    assert_eq!(doc["rows"], rows);
    assert_eq!(doc["hot_rows"], rows / 2);

    let maps = doc["mappings"].as_array().unwrap();
    let names: Vec<&str> = maps.iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, NAMES);
    let eval_lookups = 8 * 1024 * 80;
    for m in maps {
        let o = &m["overall"];
        let n = |k: &str| o[k].as_f64().unwrap();
        assert_eq!(o["accesses"], eval_lookups);
        assert_eq!(m["per_table"].as_array().unwrap().len(), 8);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        assert!(close(
            n("shared_access_share"),
            n("shared_accesses") / n("accesses")
        ));
        assert!(close(
            n("buffer_hit_rate"),
            n("buffer_hits") / n("accesses")
        ));
        assert!(close(
            n("ids_per_row_mean"),
            n("distinct_ids") / n("rows_touched")
        ));
        let dev: Vec<f64> = o["device_accesses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(dev.len(), 8);
        assert_eq!(dev.iter().sum::<f64>(), n("accesses"));
        let max = dev.iter().cloned().fold(0.0, f64::max);
        assert!(close(n("device_max_over_mean"), max * 8.0 / n("accesses")));
        let hist: u64 = o["rows_by_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(hist, o["rows_touched"].as_u64().unwrap());
        if m["name"] != "none" {
            assert!(o["rows_touched"].as_u64().unwrap() <= 8 * rows);
        }
    }
    let none = &maps[0]["overall"];
    assert_eq!(none["shared_accesses"], 0, "raw IDs never share a row");
    let svg = std::fs::read_to_string(dir.join("hash.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    assert!(!dir.join("hash.json.partial").exists());
}

#[test]
fn out_trace_is_the_library_mapping_in_range() {
    let f = tmp("hash-mapped.npz");
    let o = pifs(&[
        "hash",
        "--model",
        "rm3",
        "--batch",
        "64",
        "--rows",
        "300",
        "--out-trace",
        s(&f),
        "--out-mapping",
        "frequency",
        "--out",
        s(&tmp("hash-mapped-out")),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("pifs compare --trace") && stdout(&o).contains("--rows 300 --dim 32"),
        "{}",
        stdout(&o)
    );
    let mapped = pifs_dlrm::read_trace_npz(&f, None).unwrap();
    mapped.check_rows(&[300], "mapped").unwrap();
    let gen = pifs_hashing::CoAccessConfig {
        tables: 10,
        samples: 64,
        lookups: 20,
        id_space: 10_000_000,
        alpha: 1.05,
        group: 8,
        burst: 4,
        seed: 1,
    };
    let (raw, groups) = pifs_hashing::coaccess::generate(&gen).unwrap();
    assert_eq!(mapped.offsets, raw.offsets);
    // One row per raw ID in each table (a mapping, not a shuffle).
    for t in 0..10 {
        let mut row_of: HashMap<i64, i64> = HashMap::new();
        for b in 0..64 {
            for (&id, &row) in raw.bag(t, b).iter().zip(mapped.bag(t, b)) {
                assert_eq!(*row_of.entry(id).or_insert(row), row, "table {t} id {id}");
            }
        }
    }
    let cfg = pifs_hashing::StudyConfig {
        rows: Some(300),
        ids_per_row: 8.0,
        hot_share: 0.5,
        newcomer_share: 0.2,
        history_share: 0.5,
        buffer_rows: 8192,
        devices: 8,
        seed: 1,
    };
    let study = pifs_hashing::run(
        pifs_hashing::Input {
            name: "rm3".into(),
            trace: raw.clone(),
            groups: Some(groups),
            generator: None,
        },
        &cfg,
    )
    .unwrap();
    let maps = &study
        .maps
        .iter()
        .find(|(k, _)| *k == pifs_hashing::Kind::Frequency)
        .unwrap()
        .1;
    assert_eq!(mapped, pifs_hashing::map_trace(&raw, maps));
}

#[test]
fn a_user_trace_is_hashed_from_its_raw_ids() {
    let f = tmp("hash-user.npz");
    // 2 tables x 10 samples, bags of 5 raw IDs in a large space.
    let mut indices = Vec::new();
    for i in 0..100i64 {
        indices.push((i * 7_919_993) % 1_000_000_007);
    }
    let tr = Trace {
        tables: 2,
        batch: 10,
        indices,
        offsets: (0..=20).map(|i| i * 5).collect(),
    };
    pifs_dlrm::write_trace_npz(&f, &tr).unwrap();
    let dir = tmp("hash-user");
    let o = pifs(&["hash", "--trace", s(&f), "--rows", "16", "--out", s(&dir)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc = json(&dir.join("hash.json"));
    assert_eq!(doc["workload"], "hash-user.npz");
    assert_eq!(doc["rows"], 16);
    assert_eq!(doc["generator"], serde_json::Value::Null);
    for m in doc["mappings"].as_array().unwrap() {
        let o = &m["overall"];
        assert_eq!(o["accesses"], 2 * 5 * 5, "evaluation = the last 5 samples");
        assert_eq!(o["dissimilar_access_share"], serde_json::Value::Null);
    }
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let missing = tmp("no-such-trace.npz");
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["hash", "--hot-share", "1.5", "--batch", "8"],
            vec!["--hot-share", "1.5"],
        ),
        (vec!["hash", "--rows", "1", "--batch", "8"], vec!["--rows"]),
        (
            vec!["hash", "--devices", "0", "--batch", "8"],
            vec!["--devices"],
        ),
        (
            vec!["hash", "--history-share", "1", "--batch", "8"],
            vec!["--history-share"],
        ),
        (
            vec!["hash", "--group", "0", "--batch", "8"],
            vec!["--group"],
        ),
        (vec!["hash", "--batch", "1"], vec!["--batch"]),
        (vec!["hash", "--alpha=-1", "--batch", "8"], vec!["--alpha"]),
        (
            vec!["hash", "--trace", s(&missing), "--rows", "8"],
            vec!["no-such-trace.npz"],
        ),
        (
            vec!["hash", "--trace", s(&missing), "--alpha", "2"],
            vec!["--alpha"],
        ),
        (vec!["hash", "--bogus"], vec!["--bogus"]),
        (vec!["hash", "--out-mapping", "learned"], vec!["required"]),
    ];
    for (args, needles) in cases {
        let o = pifs(&args);
        assert_bad_input(&o, &needles);
    }
}
