//! `pifs compare`, `pifs sweep` and `pifs params` as a user drives them: the JSON keys the
//! issue names, the charts, the sweep's per-point commands reproducing its rows, and bad
//! configuration input (one line, exit 2).

mod common;
use common::{assert_bad_input, pifs, tmp};

#[test]
fn compare_reports_every_system_with_the_documented_keys() {
    let json = tmp("c.json");
    let svg = tmp("c.svg");
    let o = pifs(&[
        "compare",
        "--model",
        "rm1",
        "--batch",
        "8",
        "--batches",
        "2",
        "--json",
        json.to_str().unwrap(),
        "--plot",
        svg.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    for s in ["pond", "beacon-d", "beacon-s", "pifs", "pifs_over_pond"] {
        assert!(out.contains(s), "table lacks {s}: {out}");
    }
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let mean = |s: &str| doc["systems"][s]["latency_ns"]["mean"].as_f64().unwrap();
    for s in ["pond", "beacon-d", "beacon-s", "pifs"] {
        assert!(mean(s) > 0.0);
        assert!(doc["systems"][s]["sums_within_bound"].as_bool().unwrap());
    }
    assert_eq!(doc["backend"], "rtl");
    let sp = &doc["speedup"];
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-12 * b.abs();
    assert!(close(
        sp["pifs_over_pond"].as_f64().unwrap(),
        mean("pond") / mean("pifs")
    ));
    let best_beacon = mean("beacon-d").min(mean("beacon-s"));
    assert!(close(
        sp["pifs_over_beacon"].as_f64().unwrap(),
        best_beacon / mean("pifs")
    ));
    // The advantage comes from where the bytes go.
    let up = |s: &str| doc["systems"][s]["upstream_bytes"].as_f64().unwrap();
    assert!(up("pond") > 5.0 * up("pifs"));
    assert_eq!(doc["config"]["switch.ports"], "8");
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("pifs"));
}

#[test]
fn config_file_preset_and_set_apply_in_order() {
    let cfg = tmp("sys.toml");
    std::fs::write(&cfg, "[switch]\ntraversal_ns = 50.0\nports = 4\n").unwrap();
    let o = pifs(&[
        "params",
        "--config",
        cfg.to_str().unwrap(),
        "--set",
        "switch.traversal_ns=90",
    ]);
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    let line = |k: &str| out.lines().find(|l| l.starts_with(k)).unwrap().to_string();
    assert!(line("switch.ports ").contains(" 4 "), "{out}");
    assert!(line("switch.traversal_ns").contains("90"), "{out}");
    // Every parameter has a unit and a source on its line.
    assert!(out.lines().count() > 25);
    let o = pifs(&["params", "--preset", "paper"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("120"));
}

#[test]
fn bad_configuration_is_one_line_and_exit_2() {
    let cfg = tmp("bad.toml");
    std::fs::write(&cfg, "[switch]\ntraversal_ns = 50.0\nwarp = 9\n").unwrap();
    assert_bad_input(
        &pifs(&[
            "compare",
            "--model",
            "rm1",
            "--config",
            cfg.to_str().unwrap(),
        ]),
        &["bad.toml", "line 3", "warp"],
    );
    assert_bad_input(
        &pifs(&["compare", "--model", "rm1", "--set", "device.latency_ns=-3"]),
        &["device.latency_ns", "-3"],
    );
    assert_bad_input(
        &pifs(&["compare", "--model", "rm1", "--set", "switch.warp=1"]),
        &["unknown key", "switch.warp"],
    );
    assert_bad_input(
        &pifs(&["compare", "--model", "rm1", "--preset", "fast"]),
        &["--preset fast"],
    );
    assert_bad_input(
        &pifs(&["compare", "--model", "rm1", "--batches", "0"]),
        &["--batches 0"],
    );
    assert_bad_input(
        &pifs(&[
            "sweep", "--model", "rm1", "--vary", "warp=1,2", "--out", "/tmp/x",
        ]),
        &["warp"],
    );
    assert_bad_input(
        &pifs(&[
            "sweep",
            "--model",
            "rm1",
            "--vary",
            "switch.ports=2,99",
            "--out",
            "/tmp/x",
        ]),
        &["switch.ports", "99"],
    );
}

#[test]
fn sweep_rows_are_what_each_point_command_gives() {
    let out = tmp("sweep");
    let o = pifs(&[
        "sweep",
        "--model",
        "rm3",
        "--batch",
        "4",
        "--batches",
        "1",
        "--vary",
        "ports=2,8",
        "--vary",
        "pooling=10,20",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 5, "{csv}");
    assert!(rows[0].starts_with("ports,pooling,pond_ns"));
    assert!(rows[1].starts_with("2,10,") && rows[4].starts_with("8,20,"));
    for k in ["ports", "pooling"] {
        assert!(out.join(format!("speedup_{k}.svg")).exists());
    }
    // Replay the last point's command by hand (as a cluster task would) into another file:
    // the same report.
    let cmds = std::fs::read_to_string(out.join("commands.txt")).unwrap();
    let last: Vec<String> = cmds
        .lines()
        .last()
        .unwrap()
        .split(' ')
        .skip(1)
        .map(String::from)
        .collect();
    let replay = tmp("replay.json");
    let mut args: Vec<&str> = last.iter().map(|s| s.as_str()).collect();
    let n = args.len();
    assert_eq!(args[n - 2], "--json");
    args[n - 1] = replay.to_str().unwrap();
    assert!(pifs(&args).status.success());
    let a: serde_json::Value = serde_json::from_slice(&std::fs::read(&replay).unwrap()).unwrap();
    let b: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("points/0003.json")).unwrap()).unwrap();
    assert_eq!(a["systems"], b["systems"]);
    assert_eq!(a["config"]["switch.ports"], "8");
    let speed: f64 = rows[4].split(',').nth(6).unwrap().parse().unwrap();
    assert!((speed - a["speedup"]["pifs_over_pond"].as_f64().unwrap()).abs() < 1e-3);
}
