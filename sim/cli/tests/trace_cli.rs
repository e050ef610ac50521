//! `pifs trace gen` and `pifs trace stats` end to end: a generated trace read back and compared
//! with the library generator, its statistics checked against counts made here, subset flags,
//! stack-distance profiles, and bad input (one line, exit 2, no panic, no output file).

use pifs_dlrm::{IndexDist, StackProfile, Trace};
use std::collections::HashMap;

mod common;
use common::{assert_bad_input, pifs, stderr, stdout, tmp};

fn s(p: &std::path::Path) -> &str {
    p.to_str().unwrap()
}

fn json(p: &std::path::Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// Distinct rows of the given bags of table `t`, counted here.
fn unique_rows(tr: &Trace, t: usize, samples: std::ops::Range<usize>) -> usize {
    let mut counts: HashMap<i64, u64> = HashMap::new();
    for b in samples {
        for &r in tr.bag(t, b) {
            *counts.entry(r).or_default() += 1;
        }
    }
    counts.len()
}

#[test]
fn gen_then_stats_round_trip() {
    let out = tmp("rm3.npz");
    let o = pifs(&[
        "trace",
        "gen",
        "--model",
        "rm3",
        "--batch",
        "5",
        "--dist",
        "zipf",
        "--alpha",
        "1.2",
        "--seed",
        "9",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("rm3 (zipf 1.2), 10 tables x batch 5"),
        "{}",
        stdout(&o)
    );
    let tr = pifs_dlrm::read_trace_npz(&out, None).unwrap();
    let want =
        pifs_dlrm::generate(10, 2_000_000, 5, 20, IndexDist::Zipf { alpha: 1.2 }, 9).unwrap();
    assert_eq!(tr, want, "the file holds the library's trace");
    assert!(!tmp("rm3.npz.partial").exists());

    let j = tmp("rm3.json");
    let o = pifs(&["trace", "stats", s(&out), "--json", s(&j)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("10 table(s) x batch 5"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("total")), "{text}");
    let doc = json(&j);
    assert_eq!(doc["tables"], 10);
    assert_eq!(doc["batch"], 5);
    assert_eq!(doc["total"]["lookups"], 1000);
    assert_eq!(doc["total"]["bags"], 50);
    assert_eq!(doc["total"]["pooling"]["mean"], 20.0);
    assert_eq!(doc["selection"]["tables"], serde_json::Value::Null);
    let per = doc["per_table"].as_array().unwrap();
    assert_eq!(per.len(), 10);
    let mut total_unique = 0;
    for (t, e) in per.iter().enumerate() {
        assert_eq!(e["file_table"], t);
        assert_eq!(e["lookups"], 100);
        assert_eq!(e["pooling"]["min"], 20);
        assert_eq!(e["pooling"]["max"], 20);
        let u = unique_rows(&tr, t, 0..5);
        assert_eq!(e["unique_rows"], u, "table {t}");
        total_unique += u;
        let reuse = e["reuse"].as_array().unwrap();
        let sum: u64 = reuse.iter().map(|b| b["lookups"].as_u64().unwrap()).sum();
        assert_eq!(sum, 100);
    }
    assert_eq!(doc["total"]["unique_rows"], total_unique);
}

#[test]
fn stats_of_a_subset() {
    let out = tmp("rm1.npz");
    let o = pifs(&[
        "trace",
        "gen",
        "--model",
        "rm1",
        "--batch",
        "8",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let tr = pifs_dlrm::read_trace_npz(&out, None).unwrap();
    let j = tmp("rm1-sub.json");
    let o = pifs(&[
        "trace",
        "stats",
        s(&out),
        "--tables",
        "7,2-3",
        "--samples",
        "1-6",
        "--json",
        s(&j),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("3 table(s) x batch 6 (selected: tables 7,2-3, samples 1-6)"),
        "{text}"
    );
    let doc = json(&j);
    assert_eq!(doc["selection"]["tables"], "7,2-3");
    assert_eq!(doc["selection"]["samples"], "1-6");
    assert_eq!(doc["total"]["lookups"], 3 * 6 * 80);
    for (k, ft) in [7usize, 2, 3].into_iter().enumerate() {
        let e = &doc["per_table"][k];
        assert_eq!(e["table"], k);
        assert_eq!(e["file_table"], ft);
        assert_eq!(e["unique_rows"], unique_rows(&tr, ft, 1..7));
    }
    // The table rows show the file's table numbers.
    let firsts: Vec<&str> = text
        .lines()
        .skip(2)
        .take(3)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(firsts, ["7", "2", "3"]);
}

#[test]
fn gen_from_a_stack_distance_profile() {
    let prof = tmp("dist_emb.log");
    std::fs::write(
        &prof,
        "1, 2, 3, 4, 5, 6\n0, 1, 3, 4, 5\n0.55, 0.64, 0.82, 0.91, 1.0\n",
    )
    .unwrap();
    let out = tmp("lru.npz");
    let o = pifs(&[
        "trace",
        "gen",
        "--model",
        "rm2",
        "--batch",
        "2",
        "--dist",
        "lru",
        "--profile",
        s(&prof),
        "--seed",
        "4",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let tr = pifs_dlrm::read_trace_npz(&out, None).unwrap();
    let p = StackProfile::read(&prof).unwrap();
    let want = pifs_dlrm::generate(32, 500_000, 2, 120, IndexDist::StackDistance(p), 4).unwrap();
    assert_eq!(tr, want);
    // Only the profile's ids occur; each table reuses at most 6 rows.
    assert!(tr.indices.iter().all(|&r| (1..=6).contains(&r)));
    let j = tmp("lru.json");
    let o = pifs(&["trace", "stats", s(&out), "--json", s(&j)]);
    assert!(o.status.success(), "{}", stderr(&o));
    let doc = json(&j);
    assert!(doc["per_table"][0]["unique_rows"].as_u64().unwrap() <= 6);
}

#[test]
fn malformed_profiles_are_bad_input() {
    let out = tmp("never.npz");
    for (name, text, needles) in [
        (
            "p1.log",
            "1, 2\n0, 1\n",
            vec!["p1.log:3", "cumulative probabilities", "missing"],
        ),
        (
            "p2.log",
            "1, two\n0, 1\n0.5, 1.0\n",
            vec!["p2.log:1", "\"two\"", "not a non-negative integer"],
        ),
        (
            "p3.log",
            "1, 2\n0, 1\n0.6, 0.5\n",
            vec!["p3.log:3", "not non-decreasing"],
        ),
        (
            "p4.log",
            "1, 2\n0, 1\n0.2, 0.7\n",
            vec!["p4.log:3", "ends at 0.7, expected 1.0"],
        ),
        (
            "p5.log",
            "1, 2\n0, 1, 2\n0.2, 1.0\n",
            vec!["p5.log:3", "2 probabilities for 3 stack distances"],
        ),
    ] {
        let p = tmp(name);
        std::fs::write(&p, text).unwrap();
        let o = pifs(&[
            "trace",
            "gen",
            "--model",
            "rm3",
            "--dist",
            "lru",
            "--profile",
            s(&p),
            "--out",
            s(&out),
        ]);
        assert_bad_input(&o, &needles);
    }
    let o = pifs(&[
        "trace",
        "gen",
        "--model",
        "rm3",
        "--dist",
        "lru",
        "--out",
        s(&out),
    ]);
    assert_bad_input(&o, &["--dist lru needs --profile"]);
    let o = pifs(&[
        "trace",
        "gen",
        "--model",
        "rm3",
        "--dist",
        "lru",
        "--profile",
        "/nonexistent/p.log",
        "--out",
        s(&out),
    ]);
    assert_bad_input(&o, &["/nonexistent/p.log: cannot read"]);
    let o = pifs(&[
        "trace",
        "gen",
        "--model",
        "rm3",
        "--alpha",
        "1.1",
        "--out",
        s(&out),
    ]);
    assert_bad_input(&o, &["--alpha is only for --dist zipf"]);
    let o = pifs(&[
        "trace",
        "gen",
        "--model",
        "rm3",
        "--dist",
        "zipf",
        "--alpha",
        "-1",
        "--out",
        s(&out),
    ]);
    assert_bad_input(&o, &["--alpha -1"]);
    let o = pifs(&[
        "trace",
        "gen",
        "--model",
        "rm3",
        "--batch",
        "0",
        "--out",
        s(&out),
    ]);
    assert_bad_input(&o, &["--batch 0"]);
    assert!(!out.exists());
    assert!(!tmp("never.npz.partial").exists());
}

#[test]
fn out_of_range_and_malformed_selections_are_bad_input() {
    let out = tmp("rm3-sel.npz");
    let o = pifs(&[
        "trace",
        "gen",
        "--model",
        "rm3",
        "--batch",
        "5",
        "--out",
        s(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let f = s(&out);
    let j = tmp("sel.json");
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--tables", "8-12"],
            vec![
                f,
                "table selection",
                "table 10 out of range",
                "10 table(s) (0-9)",
            ],
        ),
        (
            vec!["--samples", "3-5"],
            vec![
                f,
                "sample selection",
                "samples 3-5 reach past the batch of 5 samples (0-4)",
            ],
        ),
        (
            vec!["--tables", "3-1"],
            vec!["--tables", "\"3-1\"", "reversed"],
        ),
        (
            vec!["--tables", "1,x"],
            vec!["--tables", "\"x\"", "not a non-negative integer"],
        ),
        (
            vec!["--tables", "1,1"],
            vec!["--tables", "1 is listed twice"],
        ),
        (vec!["--samples", "0,2"], vec!["--samples", "not a list"]),
        (vec!["--num-tables", "0"], vec!["--num-tables 0"]),
        (
            vec!["--num-tables", "3"],
            vec![f, "lengths", "10 tables, but 3 tables were requested"],
        ),
    ];
    for (flags, needles) in cases {
        let mut args = vec!["trace", "stats", f, "--json", s(&j)];
        args.extend(flags.iter().copied());
        let o = pifs(&args);
        assert_bad_input(&o, &needles);
        assert!(!j.exists(), "{flags:?} left a JSON file");
    }
    let o = pifs(&["trace", "stats", "/nonexistent/t.npz"]);
    assert_bad_input(&o, &["/nonexistent/t.npz: cannot open"]);
    let o = pifs(&["trace", "stats"]);
    assert_eq!(o.status.code(), Some(2), "usage error: {}", stderr(&o));
}
