//! `pifs plan` and `pifs compare --ablate` as a user drives them: the plan's JSON (schemes,
//! devices, predicted and measured loads) and the ablation's variants and figures.

mod common;
use common::{pifs, tmp};

fn json_of(args: &[&str], path: &std::path::Path) -> serde_json::Value {
    let o = pifs(args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn plan_prints_schemes_and_loads_that_add_up() {
    let json = tmp("plan-rm2.json");
    let all = json_of(
        &[
            "plan",
            "--model",
            "rm2",
            "--batch",
            "4",
            "--plan",
            "column",
            "--run",
            "--json",
            json.to_str().unwrap(),
        ],
        &json,
    );
    let doc = &all["plans"][0];
    // RM2: 32 tables, dim 64 (4 lines), 120 lookups per sample; 8 devices.
    let tables = doc["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 32);
    for t in tables {
        assert_eq!(t["scheme"], "column");
        assert_eq!(t["groups"].as_array().unwrap().len(), 4);
        assert_eq!(t["cost_lines"].as_f64().unwrap(), (4 * 120 * 4) as f64);
    }
    let sum = |k: &str| {
        doc[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .sum::<f64>()
    };
    let lines = (32 * 4 * 120 * 4) as f64;
    assert_eq!(sum("predicted_lines"), lines);
    assert_eq!(sum("measured_lines"), lines);
    // 128 column groups of equal cost over 8 devices: even.
    assert_eq!(doc["predicted_max_over_mean"].as_f64().unwrap(), 1.0);
    assert_eq!(doc["measured_max_over_mean"].as_f64().unwrap(), 1.0);
    // Without a workload: RM1 and RM2.
    let both = json_of(
        &["plan", "--plan", "table", "--json", json.to_str().unwrap()],
        &json,
    );
    let names: Vec<&str> = both["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["workload"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rm1 (uniform)", "rm2 (uniform)"]);
}

#[test]
fn ablation_lists_every_variant_and_measures_each_feature() {
    let json = tmp("ablate-rm1.json");
    let doc = json_of(
        &[
            "compare",
            "--ablate",
            "--model",
            "rm1",
            "--dist",
            "zipf",
            "--batch",
            "8",
            "--batches",
            "3",
            "--backend",
            "model",
            "--json",
            json.to_str().unwrap(),
        ],
        &json,
    );
    let rows = doc["rows"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["variant"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "baseline",
            "+plan",
            "+spread",
            "+buffer",
            "+quant",
            "all",
            "all-plan",
            "all-spread",
            "all-buffer",
            "all-quant"
        ]
    );
    let row = |n: &str| rows.iter().find(|r| r["variant"] == n).unwrap();
    assert_eq!(row("baseline")["settings"]["pifs.spread"], "off");
    assert_eq!(row("+spread")["settings"]["pifs.spread"], "replicate");
    // The row buffer hits on Zipf only when it is on.
    assert_eq!(row("+buffer")["settings"]["pifs.buffer_lines"], "256");
    assert!(row("+buffer")["buffer_hit_rate"].as_f64().unwrap() > 0.0);
    assert!(row("baseline")["buffer_hit_rate"].as_f64().unwrap_or(0.0) == 0.0);
    // int8 rows (dim 32 fits one line): half the device lines of fp32 rows, fewer device bytes.
    assert_eq!(row("+quant")["settings"]["device.row_format"], "int8");
    assert_eq!(row("baseline")["settings"]["device.row_format"], "fp32");
    let db = |n: &str| row(n)["device_bytes"].as_f64().unwrap();
    assert!(
        db("+quant") < 0.7 * db("baseline"),
        "{} vs {}",
        db("+quant"),
        db("baseline")
    );
    assert_eq!(row("baseline")["migration_bytes"], 0);
    assert!(row("+spread")["migration_bytes"].as_u64().unwrap() > 0);
    let lm = |n: &str| row(n)["device_load_max_over_mean"].as_f64().unwrap();
    assert!(lm("+spread") < lm("baseline"));
    // Table-wise greedy on 8 equal tables over 8 devices: one table each.
    assert_eq!(lm("+plan"), 1.0);
    assert_eq!(
        row("baseline")["speedup_over_baseline"].as_f64().unwrap(),
        1.0
    );
    assert!(rows.iter().all(|r| r["sums_within_bound"] == true));
    let mean = |n: &str| row(n)["latency_ns"]["mean"].as_f64().unwrap();
    let c = &doc["contributions"][1];
    assert_eq!(c["feature"], "spread");
    assert_eq!(
        c["alone"].as_f64().unwrap(),
        mean("baseline") / mean("+spread")
    );
    assert_eq!(
        c["last"].as_f64().unwrap(),
        mean("all-spread") / mean("all")
    );
}
