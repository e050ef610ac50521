//! `pifs tiers` as a user drives it: the table, tiers.json (every row's fields present and
//! consistent with each other and with the DRAM-only row) and tiers.svg, on the built-in
//! default and on a trace file; bad parameters are one error line and exit 2.

mod common;
use common::{assert_bad_input, pifs, stdout, tmp};

fn run_json(args: &[&str], out: &std::path::Path) -> serde_json::Value {
    let mut all = vec!["tiers", "--out", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let o = pifs(&all);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("W/dram"));
    let svg = std::fs::read_to_string(out.join("tiers.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<circle"));
    serde_json::from_slice(&std::fs::read(out.join("tiers.json")).unwrap()).unwrap()
}

#[test]
fn tiers_default_rm1_rows_are_consistent() {
    let out = tmp("tiers-default");
    let doc = run_json(&["--batch", "2", "--batches", "1"], &out);
    assert_eq!(
        doc["workload"].as_str().unwrap().split(' ').next(),
        Some("rm1")
    );
    let rows = doc["rows"].as_array().unwrap();
    // DRAM, then 2 backings x 4 cache sizes, each on pond and pifs.
    assert_eq!(rows.len(), 18);
    let f = |r: &serde_json::Value, k: &str| r[k].as_f64().unwrap();
    for r in rows {
        let sys = r["system"].as_str().unwrap();
        let dram = rows
            .iter()
            .find(|x| x["pool"] == "dram" && x["system"] == sys)
            .unwrap();
        let lat = f(r, "latency_ns");
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
        // Average power is energy over latency; the ratios are against the DRAM-only row.
        assert!(close(
            f(r, "avg_power_w"),
            f(r, "energy_j_per_batch") / (lat * 1e-9)
        ));
        assert!(close(
            f(r, "power_vs_dram"),
            f(r, "avg_power_w") / f(dram, "avg_power_w")
        ));
        assert!(close(f(r, "latency_vs_dram"), lat / f(dram, "latency_ns")));
        let e = &r["energy"];
        let parts: f64 = [
            "links_j",
            "crossbar_j",
            "adders_j",
            "dram_j",
            "backing_j",
            "static_j",
        ]
        .iter()
        .map(|k| f(e, k))
        .sum();
        assert!(close(parts, f(r, "energy_j_per_batch")));
        assert!(close(f(e, "static_j"), f(r, "static_w") * lat * 1e-9));
        if r["pool"] == "dram" {
            assert!(r.get("hit_rate").is_none());
            assert_eq!(f(e, "backing_j"), 0.0);
        } else {
            let h = f(r, "hit_rate");
            assert!((0.0..=1.0).contains(&h));
            // SCM and NAND cost less static power per GB than DRAM.
            assert!(f(r, "static_w") < f(dram, "static_w"));
            // The backing memory is read exactly when some reads miss.
            assert_eq!(f(e, "backing_j") > 0.0, h < 1.0);
        }
    }
}

#[test]
fn tiers_on_a_trace_file() {
    let trace = tmp("tiers-trace.npz");
    let o = pifs(&[
        "trace",
        "gen",
        "--model",
        "rm1",
        "--batch",
        "2",
        "--out",
        trace.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = tmp("tiers-trace");
    let doc = run_json(
        &[
            "--trace",
            trace.to_str().unwrap(),
            "--rows",
            "4000000",
            "--dim",
            "32",
            "--backing",
            "nand",
            "--cache-mb",
            "0.01,8",
            "--systems",
            "pifs",
        ],
        &out,
    );
    let rows = doc["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    let h: Vec<f64> = rows[1..]
        .iter()
        .map(|r| r["hit_rate"].as_f64().unwrap())
        .collect();
    assert!(h[1] >= h[0]);
}

#[test]
fn bad_tier_parameters_are_one_line_and_exit_2() {
    let out = tmp("tiers-bad");
    let o = out.to_str().unwrap();
    for (args, needles) in [
        (vec!["--backing", "tape"], vec!["--backing tape"]),
        (
            vec!["--cache-mb=-1"],
            vec!["--cache-mb -1", "tier.cache_mb"],
        ),
        (vec!["--systems", "cpu"], vec!["--systems cpu"]),
        (vec!["--set", "tier.backing=disk"], vec!["tier.backing"]),
        (
            vec!["--set", "nand.access_bytes=1000"],
            vec!["nand.access_bytes"],
        ),
        (vec!["--set", "scm.latency_ns=10"], vec!["scm.latency_ns"]),
        (vec!["--set", "energy.host_w=-3"], vec!["energy.host_w"]),
    ] {
        let mut all = vec!["tiers", "--out", o];
        all.extend(args);
        assert_bad_input(&pifs(&all), &needles);
    }
}
