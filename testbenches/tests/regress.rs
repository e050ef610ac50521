//! `pifs-regress` end to end: a small run writes well-formed JUnit XML with the right counts and
//! the same results on one thread as on two; a deliberately failing case (and a panicking one)
//! makes the run exit 1, lands in the XML as <failure>, and replays from its printed case seed;
//! coverage.json is consistent, identical on one thread and two, and merges passing cases only;
//! the switch testbench runs in the registry.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn out_dir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("regress-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn regress(args: &[&str], out: &Path, selftest_env: bool) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pifs-regress"));
    c.args(args).arg("--out").arg(out);
    if selftest_env {
        c.env("PIFS_REGRESS_SELFTEST", "1");
    } else {
        c.env_remove("PIFS_REGRESS_SELFTEST");
    }
    let o = c.output().expect("run pifs-regress");
    eprintln!(
        "pifs-regress {args:?}: {}\n--- stdout\n{}--- stderr\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn attr<'a>(n: roxmltree::Node<'a, '_>, name: &str) -> &'a str {
    n.attribute(name)
        .unwrap_or_else(|| panic!("<{}> without {name}", n.tag_name().name()))
}

fn num(n: roxmltree::Node, name: &str) -> usize {
    attr(n, name).parse().unwrap()
}

/// Per testcase: (name, classname, failure count, failure message, system-out).
type Case = (String, String, usize, Option<String>, String);

/// Parse results.xml (failing on malformed XML), check that the counts add up at every level,
/// and return the test cases.
fn parse(out: &Path) -> (usize, usize, Vec<Case>) {
    let text = std::fs::read_to_string(out.join("results.xml")).expect("results.xml");
    let doc = roxmltree::Document::parse(&text).expect("results.xml is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let (tests, failures) = (num(root, "tests"), num(root, "failures"));
    let mut cases = Vec::new();
    let (mut t_sum, mut f_sum) = (0, 0);
    for suite in root.children().filter(|n| n.has_tag_name("testsuite")) {
        let tcs: Vec<_> = suite
            .children()
            .filter(|n| n.has_tag_name("testcase"))
            .collect();
        assert_eq!(
            num(suite, "tests"),
            tcs.len(),
            "suite {}",
            attr(suite, "name")
        );
        let mut f = 0;
        for tc in tcs {
            attr(tc, "time").parse::<f64>().expect("numeric time");
            let fails: Vec<_> = tc
                .children()
                .filter(|n| n.has_tag_name("failure"))
                .collect();
            f += fails.len().min(1);
            let out = tc
                .children()
                .find(|n| n.has_tag_name("system-out"))
                .and_then(|n| n.text())
                .unwrap_or("")
                .to_string();
            cases.push((
                attr(tc, "name").to_string(),
                attr(tc, "classname").to_string(),
                fails.len(),
                fails.first().map(|n| attr(*n, "message").to_string()),
                out,
            ));
        }
        assert_eq!(num(suite, "failures"), f, "suite {}", attr(suite, "name"));
        t_sum += num(suite, "tests");
        f_sum += f;
    }
    assert_eq!((t_sum, f_sum), (tests, failures), "suite counts vs totals");
    (tests, failures, cases)
}

/// Parse coverage.json and check it is consistent: every entry's `hit` is its count of bins
/// above zero and `total` its number of bins, and the summary adds them up. Returns the value.
fn coverage(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("coverage.json")).expect("coverage.json");
    let v: serde_json::Value = serde_json::from_str(&text).expect("coverage.json is JSON");
    let (mut hit, mut total) = (0, 0);
    for p in v["coverpoints"].as_array().expect("coverpoints") {
        let bins = p["bins"].as_object().expect("bins");
        let h = bins.values().filter(|c| c.as_u64().unwrap() > 0).count();
        assert_eq!(p["hit"].as_u64(), Some(h as u64), "{p}");
        assert_eq!(p["total"].as_u64(), Some(bins.len() as u64), "{p}");
        assert!(p["testbench"].is_string() && p["name"].is_string(), "{p}");
        hit += h;
        total += bins.len();
    }
    assert_eq!(v["summary"]["bins_hit"].as_u64(), Some(hit as u64));
    assert_eq!(v["summary"]["bins_total"].as_u64(), Some(total as u64));
    v
}

/// The bins of coverpoint `name` of `testbench`.
fn bins<'a>(v: &'a serde_json::Value, testbench: &str, name: &str) -> &'a serde_json::Value {
    v["coverpoints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["testbench"] == testbench && p["name"] == name)
        .map(|p| &p["bins"])
        .unwrap_or_else(|| panic!("no coverpoint {testbench}.{name}"))
}

fn has_line(o: &Output, line: &str) -> bool {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .any(|l| l.trim_end() == line)
}

#[test]
fn two_seeds_of_two_tests_write_junit_xml_and_agree_across_threads() {
    let sel = ["--tests", "^(random_workload|corrupted_stream)$"];
    let a = out_dir("two-threads");
    let o = regress(
        &[sel[0], sel[1], "--seeds", "2", "--seed", "7", "--jobs", "2"],
        &a,
        false,
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(has_line(&o, "4 passed, 0 failed"));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with(
        "regress: run seed 7 (replay all: make regress SEED=7 SEEDS=2 TESTS='^(random_workload|corrupted_stream)$')\n"
    ));
    let (tests, failures, cases) = parse(&a);
    assert_eq!((tests, failures), (4, 0));
    let names: Vec<&str> = cases.iter().map(|c| c.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "random_workload[0]",
            "random_workload[1]",
            "corrupted_stream[0]",
            "corrupted_stream[1]"
        ]
    );
    assert!(cases
        .iter()
        .all(|c| c.2 == 0 && c.4.contains("status=PASS")));
    assert_eq!(cases[0].1, "pifs_regress.random_workload");

    // The same run seed on one thread: the same case seeds, cycles and sums (digests).
    let b = out_dir("one-thread");
    let o = regress(
        &[sel[0], sel[1], "--seeds", "2", "--seed", "7", "--jobs", "1"],
        &b,
        false,
    );
    assert_eq!(o.status.code(), Some(0));
    let (_, _, serial) = parse(&b);
    assert_eq!(
        cases.iter().map(|c| &c.4).collect::<Vec<_>>(),
        serial.iter().map(|c| &c.4).collect::<Vec<_>>()
    );

    // Coverage: the selected testbenches only, all four cases merged, and the same counts
    // whatever the thread count (the merge does not depend on completion order).
    let cov = coverage(&a);
    assert_eq!(cov, coverage(&b));
    assert_eq!(cov["summary"]["cases_merged"].as_u64(), Some(4));
    let mut tbs: Vec<&str> = cov["coverpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["testbench"].as_str().unwrap())
        .collect();
    tbs.dedup();
    assert_eq!(tbs, ["random_workload", "corrupted_stream"]);
    // Two random_workload cases sample one response order each.
    let order = bins(&cov, "random_workload", "response_order");
    let n: u64 = order
        .as_object()
        .unwrap()
        .values()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(n, 2);
    // Every corrupted_stream case flips bits in some flits: two samples of crc_errors.
    let crc = bins(&cov, "corrupted_stream", "crc_errors");
    let n: u64 = crc
        .as_object()
        .unwrap()
        .values()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(n, 2);
    // The table is printed after the summary.
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("random_workload   slot_formats"),
        "coverage table:\n{stdout}"
    );
    let (hit, total) = (
        cov["summary"]["bins_hit"].as_u64().unwrap(),
        cov["summary"]["bins_total"].as_u64().unwrap(),
    );
    assert!(stdout.contains(&format!("functional coverage: {hit} of {total} bins hit")));
}

#[test]
fn the_switch_testbench_is_in_the_registry_and_samples_coverage() {
    let d = out_dir("switch");
    let o = regress(
        &["--tests", "^switch_random$", "--seeds", "2", "--seed", "11"],
        &d,
        false,
    );
    assert_eq!(o.status.code(), Some(0));
    let (tests, failures, cases) = parse(&d);
    assert_eq!((tests, failures), (2, 0));
    for c in &cases {
        let cycles: u64 =
            c.4.split_whitespace()
                .find_map(|w| w.strip_prefix("cycles="))
                .expect("cycles in system-out")
                .parse()
                .unwrap();
        assert!(cycles > 0, "{}: the RTL ran", c.0);
    }
    let cov = coverage(&d);
    // One sample per case of the per-case points, one per logical bag of ports_per_bag.
    let mode = bins(&cov, "switch_random", "rtl_vs_model");
    let n: u64 = mode
        .as_object()
        .unwrap()
        .values()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(n, 2);
    let formats = bins(&cov, "switch_random", "slot_formats");
    assert!(formats["H3"].as_u64().unwrap() + formats["H5"].as_u64().unwrap() > 0);
}

#[test]
fn a_failing_or_panicking_case_fails_the_run_and_replays() {
    // Self-tests are hidden: without the flag or the variable the regex matches nothing.
    let d = out_dir("hidden");
    let o = regress(&["--tests", "^self_check_fail$", "--seeds", "1"], &d, false);
    assert_eq!(o.status.code(), Some(2));

    // Through the flag: one deliberate failure beside passing cases.
    let d = out_dir("fail");
    let o = regress(
        &[
            "--tests",
            "^(self_check_fail|line_rate)$",
            "--include-selftest",
            "--seeds",
            "2",
            "--seed",
            "3",
        ],
        &d,
        false,
    );
    assert_eq!(o.status.code(), Some(1), "a failure must fail the run");
    assert!(has_line(&o, "2 passed, 2 failed"));
    let (tests, failures, cases) = parse(&d);
    assert_eq!((tests, failures), (4, 2));
    // The failing cases sampled their coverpoint, but only passing cases are merged: it is
    // declared (listed as unhit) with a count of zero.
    let cov = coverage(&d);
    assert_eq!(cov["summary"]["cases_merged"].as_u64(), Some(2));
    assert_eq!(
        bins(&cov, "self_check_fail", "sampled_then_failed")["sampled"].as_u64(),
        Some(0)
    );
    let failed: Vec<&Case> = cases.iter().filter(|c| c.2 == 1).collect();
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|c| c.0.starts_with("self_check_fail[")));
    // XML special characters survive the escaping (roxmltree unescapes).
    let msg = failed[0].3.as_deref().unwrap();
    assert!(msg.contains("<tag attr=\"x\"> & 'quotes' ]]>"), "{msg}");

    // The printed replay command names the case seed; running it fails the same way.
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let replay = stdout
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("or: cargo run --release -p pifs-tb --bin pifs-regress -- ")
        })
        .expect("a replay command");
    let seed = replay
        .strip_prefix("--test self_check_fail --case-seed ")
        .expect("replay of self_check_fail");
    assert!(stdout.contains(&format!(
        "replay: make regress TEST=self_check_fail CASE_SEED={seed}"
    )));
    let r = out_dir("replay");
    let args: Vec<&str> = replay.split(' ').collect();
    let o = regress(&args, &r, false);
    assert_eq!(o.status.code(), Some(1));
    assert!(has_line(&o, "0 passed, 1 failed"));
    let (_, _, cases) = parse(&r);
    assert_eq!(cases[0].0, "self_check_fail");
    assert!(cases[0]
        .3
        .as_deref()
        .unwrap()
        .contains(&format!("seed {seed})")));

    // Through the variable: a panic is caught and reported; the other cases still run.
    let d = out_dir("panic");
    let o = regress(
        &[
            "--tests",
            "^(self_check_panic|raw_bits_adder)$",
            "--seeds",
            "2",
            "--jobs",
            "2",
        ],
        &d,
        true,
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(has_line(&o, "2 passed, 2 failed"));
    let (tests, failures, cases) = parse(&d);
    assert_eq!((tests, failures), (4, 2));
    for c in cases.iter().filter(|c| c.0.starts_with("self_check_panic")) {
        assert!(c
            .3
            .as_deref()
            .unwrap()
            .starts_with("panic: deliberate panic"));
    }
}

#[test]
fn a_case_over_the_timeout_fails_without_stopping_the_run() {
    // self_check_hang sleeps 1.5 s: with a 0.3 s timeout both workers are abandoned in cases 0
    // and 1, and case 2 is reported as not run.
    let d = out_dir("timeout");
    let t0 = std::time::Instant::now();
    let o = regress(
        &[
            "--tests",
            "^self_check_hang$",
            "--include-selftest",
            "--seeds",
            "3",
            "--jobs",
            "2",
            "--timeout",
            "0.3",
        ],
        &d,
        false,
    );
    assert!(
        t0.elapsed().as_secs_f64() < 1.4,
        "the run waited for a hung case"
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(has_line(&o, "0 passed, 3 failed"));
    let (tests, failures, _) = parse(&d);
    assert_eq!((tests, failures), (3, 3));
    let text = std::fs::read_to_string(d.join("results.xml")).unwrap();
    assert_eq!(text.matches("type=\"timeout\"").count(), 2);
    assert_eq!(text.matches("type=\"not_run\"").count(), 1);
}
