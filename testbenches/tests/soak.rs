//! `pifs-soak` end to end on the ordinary build: a short soak (10^5 cycles, port and switch)
//! passes with every phase's effect visible in its counts (all 256 tags of a port in flight,
//! result/upstream/MemRd back-pressure, credit starvation, valid stalls on the inputs); the
//! deadlock watchdog stops a port whose result stream is never ready and a switch that never
//! gets a credit back, exit 1, with a dump naming the stuck stream; bad usage exits 2.

use std::collections::HashMap;
use std::process::{Command, Output};

fn soak(args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_pifs-soak"))
        .args(args)
        .env_remove("PIFS_VERILATOR_ARGS")
        .output()
        .expect("run pifs-soak");
    eprintln!(
        "pifs-soak {args:?}: {}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The count table: row name -> (port, switch), `None` for "-".
fn table(o: &Output) -> HashMap<String, (Option<u64>, Option<u64>)> {
    let mut rows = HashMap::new();
    for line in String::from_utf8_lossy(&o.stdout).lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.len() < 3 {
            continue;
        }
        let (a, b) = (cells[cells.len() - 2], cells[cells.len() - 1]);
        let name = cells[..cells.len() - 2].join(" ");
        rows.insert(name, (a.parse().ok(), b.parse().ok()));
    }
    rows
}

fn get(t: &HashMap<String, (Option<u64>, Option<u64>)>, row: &str) -> (u64, u64) {
    let (a, b) = t.get(row).unwrap_or_else(|| panic!("no row {row:?}"));
    (a.unwrap_or(0), b.unwrap_or(0))
}

#[test]
fn short_soak_passes_and_every_phase_shows() {
    let o = soak(&["--cycles", "100000", "--seed", "11"]);
    assert_eq!(o.status.code(), Some(0));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("soak: PASS"), "{out}");
    let t = table(&o);
    let (pc, sc) = get(&t, "cycles");
    assert!(pc >= 50_000 && sc >= 50_000, "cycles {pc} {sc}");
    let (pb, sb) = get(&t, "bags checked");
    assert!(pb > 0 && sb > 0);
    let (pl, sl) = get(&t, "lines out (result / upstream)");
    assert!(pl >= pb && sl >= sb, "every bag has at least one line");
    // The all-tags phase maps a port's 256 tags before its first response returns.
    assert_eq!(get(&t, "max tags in flight (one port)"), (256, 256));
    // The full-queues and credit-starve phases hold the outputs back.
    let (pr, se) = get(&t, "ready stalls, results out (switch: egress full)");
    assert!(pr > 0 && se > 0, "result stalls {pr}, egress full {se}");
    assert!(get(&t, "ready stalls, upstream").1 > 0);
    assert!(get(&t, "ready stalls, MemRd out").1 > 0);
    assert!(get(&t, "credit-starved cycles").1 > 0);
    // Valid stalls on every input stream.
    for row in [
        "valid stalls, commands in (cycles added)",
        "valid stalls, S2M flits in (cycles added)",
    ] {
        let (p, s) = get(&t, row);
        assert!(p > 0 && s > 0, "{row}: {p} {s}");
    }
}

#[test]
fn watchdog_stops_a_port_whose_results_are_never_taken() {
    let o = soak(&[
        "--only",
        "port",
        "--cycles",
        "100000",
        "--seed",
        "5",
        "--watchdog",
        "1500",
        "--inject",
        "res-ready-never",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    let head = err
        .lines()
        .find(|l| l.contains("deadlock watchdog: no forward progress for"))
        .expect("the watchdog's dump");
    // It stops within one look (32 cycles) of the limit.
    let n: u64 = head
        .split("no forward progress for ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("cycles without progress");
    assert!((1500..1500 + 32).contains(&n), "{head}");
    // The dump names the stuck stream: results valid, not ready, never ready.
    let res = err
        .lines()
        .find(|l| l.trim_start().starts_with("results out"))
        .expect("results row");
    let cells: Vec<&str> = res.split_whitespace().collect();
    assert_eq!(&cells[2..4], ["1", "0"], "{res}");
    assert!(res.contains("ready 0% of cycles"), "{res}");
    assert!(err.contains("0 result lines"), "{err}");
    let t = table(&o);
    assert!(get(&t, "cycles").0 < 100_000, "stopped early");
}

#[test]
fn watchdog_stops_a_switch_that_gets_no_credit_back() {
    let o = soak(&[
        "--only",
        "switch",
        "--cycles",
        "100000",
        "--seed",
        "5",
        "--watchdog",
        "1500",
        "--inject",
        "credits-never",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("deadlock watchdog: no forward progress for"),
        "{err}"
    );
    let up = err
        .lines()
        .find(|l| l.trim_start().starts_with("upstream:"))
        .expect("upstream line");
    assert!(up.contains("a line waits for a credit: yes"), "{up}");
    assert!(up.contains("credits 0 of 32"), "{up}");
    assert!(up.contains("returns no credits"), "{up}");
    // With no credit returned exactly the 32 initial credits' worth of lines went up.
    assert!(err.contains("since reset: 32 upstream lines"), "{err}");
    // One row per port in the dump.
    let rows = err
        .lines()
        .filter(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            c.len() > 10 && c[0].parse::<u32>().is_ok()
        })
        .count();
    assert_eq!(rows, 8, "{err}");
}

#[test]
fn bad_usage_exits_2() {
    for args in [
        &["--cycles", "0"][..],
        &["--watchdog", "0"][..],
        &["--inject", "nothing"][..],
        &["--only", "both"][..],
    ] {
        let o = soak(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}: nothing on stdout");
    }
}
