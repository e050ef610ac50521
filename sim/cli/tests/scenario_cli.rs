//! `pifs scenario`: the built-in default writes its JSON and charts with per-model miss rates
//! that agree with the request counts; a user's file (generated models and a trace) runs in
//! every mode; bad files and flags give exit 2 and one error line naming the file and key.

mod common;
use common::{assert_bad_input, pifs, stderr, stdout, tmp};
use serde_json::Value;

fn json(dir: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("scenario.json")).unwrap()).unwrap()
}

/// Per model and system: requests = completed + dropped, miss rate = (dropped + late) /
/// requests, latency percentiles ordered, and the requests of a root near rate x duration.
fn check_consistent(doc: &Value) {
    let dur_s = doc["duration_ms"].as_f64().unwrap() / 1e3;
    for sys in doc["systems"].as_array().unwrap() {
        for (m, echo) in sys["models"]
            .as_array()
            .unwrap()
            .iter()
            .zip(doc["models"].as_array().unwrap())
        {
            let req = m["requests"].as_u64().unwrap();
            let (done, dropped, late) = (
                m["completed"].as_u64().unwrap(),
                m["dropped"].as_u64().unwrap(),
                m["late"].as_u64().unwrap(),
            );
            assert_eq!(req, done + dropped, "{m}");
            assert!(late <= done);
            let miss = (dropped + late) as f64 / req as f64;
            assert!(
                (m["miss_rate"].as_f64().unwrap() - miss).abs() < 1e-12,
                "{m}"
            );
            if let Some(l) = m["latency_us"].as_object() {
                let v = |k: &str| l[k].as_f64().unwrap();
                assert!(v("p50") <= v("p90") && v("p90") <= v("p99") && v("p99") <= v("max"));
                // No completed request is faster than the fastest isolated service.
                assert!(v("p50") > 0.0);
            }
            let expect = echo["rate_hz"].as_f64().unwrap() * dur_s;
            // Poisson or periodic: within 5 standard deviations (+1 for the periodic edge).
            assert!(
                (req as f64 - expect).abs() <= 5.0 * expect.sqrt() + 1.0,
                "{req} requests, expected about {expect}"
            );
        }
    }
}

#[test]
fn default_scenario_writes_miss_rates_for_pond_and_pifs() {
    let dir = tmp("scen-default");
    let o = pifs(&[
        "scenario",
        "--duration-ms",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = json(&dir);
    assert_eq!(doc["mode"], "concurrent");
    let systems: Vec<&str> = doc["systems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["system"].as_str().unwrap())
        .collect();
    assert_eq!(systems, ["pond", "pifs"]);
    for s in doc["systems"].as_array().unwrap() {
        let names: Vec<&str> = s["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["model"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["rm1", "rm2"]);
        let score = s["score"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&score));
    }
    check_consistent(&doc);
    // PIFS-Rec serves each batch faster than Pond in isolation (pifs compare's result).
    let svc = |s: usize, m: usize| {
        doc["systems"][s]["models"][m]["service_us_mean"]
            .as_f64()
            .unwrap()
    };
    assert!(svc(1, 0) < svc(0, 0) && svc(1, 1) < svc(0, 1));
    for f in ["scenario.svg", "scenario_cdf.svg"] {
        let svg = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("rm1 pond"), "{f}");
    }
    assert!(stdout(&o).contains("score"));
}

#[test]
fn user_file_with_a_trace_and_a_cascade_runs() {
    // A trace of 8 samples x 2 tables written with the project's own writer.
    let trace = pifs_dlrm::generate(2, 1000, 8, 6, pifs_dlrm::IndexDist::Uniform, 5).unwrap();
    let tp = tmp("scen-trace.npz");
    pifs_dlrm::write_trace_npz(&tp, &trace).unwrap();
    let file = tmp("scen-user.toml");
    std::fs::write(
        &file,
        format!(
            "mode = \"cascaded-concurrent\"\nduration_ms = 0.5\nsystems = [\"pond\", \"beacon-d\", \"pifs\"]\n\
             pool = 3\n[system]\nset = [\"switch.ports=4\"]\n\
             [[model]]\nname = \"a\"\nworkload = \"{}\"\nrows = 1000\ndim = 32\nbatch = 2\n\
             rate_hz = 200000\narrival = \"periodic\"\ndeadline_us = 5\n\
             [[model]]\nname = \"b\"\nworkload = \"rm3\"\nbatch = 1\nafter = \"a\"\ndeadline_us = 8\n\
             [[model]]\nname = \"c\"\nworkload = \"rm3\"\nbatch = 1\nrate_hz = 100000\ndeadline_us = 10\n",
            tp.file_name().unwrap().to_str().unwrap()
        ),
    )
    .unwrap();
    let dir = tmp("scen-user-out");
    let o = pifs(&[
        "scenario",
        file.to_str().unwrap(),
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let doc = json(&dir);
    assert_eq!(doc["mode"], "cascaded-concurrent");
    assert_eq!(doc["models"][0]["distinct_batches"], 3);
    assert_eq!(doc["models"][0]["lookups_per_request"], 2 * 2 * 6);
    assert_eq!(doc["models"][1]["after"], "a");
    check_consistent(&doc);
    // The follower has exactly one request per frame of its root.
    for s in doc["systems"].as_array().unwrap() {
        assert_eq!(s["models"][0]["requests"], s["models"][1]["requests"]);
        // A follower completes no more often than its root.
        assert!(s["models"][1]["completed"].as_u64() <= s["models"][0]["completed"].as_u64());
    }
}

#[test]
fn bad_scenarios_are_one_line_exit_2() {
    let base = "mode = \"concurrent\"\nduration_ms = 1\n[[model]]\nname = \"a\"\nworkload = \"rm1\"\nrate_hz = 1000\ndeadline_us = 10\n";
    let cases: [(&str, String, &[&str]); 6] = [
        ("unknown-key", base.replace("rate_hz", "rat_hz"), &["rat_hz"]),
        ("bad-rate", base.replace("1000", "-5"), &["model[0].rate_hz"]),
        ("bad-mode", base.replace("\"concurrent\"", "\"cascaded\""), &["mode"]),
        ("bad-workload", base.replace("\"rm1\"", "\"rm9\""), &["model[0].workload"]),
        (
            "bad-after",
            format!("{base}[[model]]\nname = \"b\"\nworkload = \"rm1\"\nafter = \"zz\"\ndeadline_us = 5\n"),
            &["model[1].after"],
        ),
        (
            "bad-system",
            base.replace("duration_ms = 1\n", "duration_ms = 1\nsystems = [\"pond\", \"hbm\"]\n"),
            &["systems", "hbm"],
        ),
    ];
    for (name, text, needles) in cases {
        let f = tmp(&format!("scen-{name}.toml"));
        std::fs::write(&f, text).unwrap();
        let o = pifs(&["scenario", f.to_str().unwrap()]);
        let mut want = vec![f.file_name().unwrap().to_str().unwrap()];
        want.extend_from_slice(needles);
        assert_bad_input(&o, &want);
    }
    let o = pifs(&["scenario", "/nonexistent/s.toml"]);
    assert_bad_input(&o, &["/nonexistent/s.toml"]);
    let o = pifs(&["scenario", "--duration-ms", "0"]);
    assert_bad_input(&o, &["--duration-ms"]);
}

#[test]
fn rtl_backend_gives_the_models_results() {
    let file = tmp("scen-rtl.toml");
    std::fs::write(
        &file,
        "mode = \"concurrent\"\nduration_ms = 0.3\nsystems = [\"pifs\"]\npool = 2\n\
         [[model]]\nname = \"a\"\nworkload = \"rm3\"\nbatch = 2\nrate_hz = 300000\ndeadline_us = 3\n\
         [[model]]\nname = \"b\"\nworkload = \"rm1\"\nbatch = 1\nrate_hz = 100000\ndeadline_us = 10\n",
    )
    .unwrap();
    let mut docs = Vec::new();
    for backend in ["model", "rtl"] {
        let dir = tmp(&format!("scen-rtl-{backend}"));
        let o = pifs(&[
            "scenario",
            file.to_str().unwrap(),
            "--backend",
            backend,
            "--out",
            dir.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        docs.push(json(&dir));
    }
    assert_eq!(docs[1]["backend"], "rtl");
    // The Rust model of the port accumulators is cycle-exact: the same service times, so the
    // same queue and the same results.
    assert_eq!(docs[0]["systems"], docs[1]["systems"]);
    assert!(
        docs[0]["systems"][0]["models"][0]["completed"]
            .as_u64()
            .unwrap()
            > 0
    );
}
