//! `pifs-regress` (run by `make regress`): every testbench of [`pifs_tb::regress`] over many
//! seeds on a pool of threads (one Verilated model per case, built on the thread that runs it),
//! a cocotb-style summary table, a replay command for each failure, JUnit XML, the functional
//! coverage of the passing cases (`coverage.json`, see
//! [`pifs_tb::coverage::CoverageReport::to_json`], and a table), and exit status 1 when any case
//! failed (2 on bad usage).
//!
//! Case seeds derive from one run seed ([`pifs_tb::regress::case_seed`]): the same run seed, test
//! name and index give the same case on any machine, whatever the selection, order or thread
//! count. One case replays with `--test NAME --case-seed X`.

use clap::Parser;
use pifs_tb::regress::{self, CaseReport, CaseSpec, Status, Testbench};
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Parser)]
#[command(
    name = "pifs-regress",
    about = "Run every testbench over many seeds in parallel; summary table, JUnit XML, replay commands",
    after_help = "Exit status: 0 all cases passed, 1 a case failed, 2 bad usage.\n\
                  Self-tests (cases that fail on purpose) run with --include-selftest or PIFS_REGRESS_SELFTEST=1."
)]
struct Args {
    /// Cases (seeds) per testbench.
    #[arg(long, default_value_t = 20)]
    seeds: u64,
    /// Only the testbenches whose name matches this regular expression (e.g. '^line_rate$').
    #[arg(long, value_name = "REGEX")]
    tests: Option<String>,
    /// Run seed every case seed derives from (default: from the clock, printed).
    #[arg(long, value_parser = parse_u64)]
    seed: Option<u64>,
    /// Worker threads (default: the number of cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Folder for results.xml (JUnit) and coverage.json (functional coverage).
    #[arg(long, default_value = "out/regress")]
    out: PathBuf,
    /// Replay one case: the testbench's name (any, self-tests included) ...
    #[arg(
        long,
        value_name = "NAME",
        requires = "case_seed",
        conflicts_with = "tests"
    )]
    test: Option<String>,
    /// ... and its case seed, as printed for a failure.
    #[arg(long, value_name = "X", requires = "test", value_parser = parse_u64)]
    case_seed: Option<u64>,
    /// Also run the runner's self-tests, which fail on purpose.
    #[arg(long)]
    include_selftest: bool,
    /// Fail a case still running after this many seconds (0: no limit).
    #[arg(long, value_name = "SECS", default_value_t = 600.0)]
    timeout: f64,
    /// List the testbenches and exit.
    #[arg(long)]
    list: bool,
}

/// A decimal or 0x-prefixed hexadecimal u64.
fn parse_u64(s: &str) -> Result<u64, String> {
    let r = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    r.map_err(|e| format!("{s:?}: {e}"))
}

/// The command that replays one case alone, through make (which finds Verilator first).
fn replay_make(spec: &CaseSpec) -> String {
    format!(
        "make regress TEST={} CASE_SEED={}",
        spec.bench.name, spec.seed
    )
}

/// The same without make (with Verilator found the same way, cargo does not rebuild the model).
fn replay_cargo(spec: &CaseSpec) -> String {
    format!(
        "cargo run --release -p pifs-tb --bin pifs-regress -- --test {} --case-seed {}",
        spec.bench.name, spec.seed
    )
}

fn main() {
    let args = Args::parse();
    std::process::exit(match run(&args) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(e) => {
            eprintln!("pifs-regress: error: {e}");
            2
        }
    });
}

/// Ok(all passed).
fn run(a: &Args) -> Result<bool, String> {
    let all = regress::testbenches();
    if a.list {
        for t in &all {
            let tag = if t.selftest { " (self-test)" } else { "" };
            println!("{:<18} {}{tag}", t.name, t.about);
        }
        return Ok(true);
    }
    let selftest = a.include_selftest
        || std::env::var("PIFS_REGRESS_SELFTEST").is_ok_and(|v| !v.is_empty() && v != "0");
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let out = std::io::stdout();
    let mut out = out.lock();
    let mut props = vec![
        ("verilator".to_string(), pifs_sim::rtl::verilator_version()),
        ("jobs".to_string(), jobs.to_string()),
    ];

    let mut benches: Vec<Testbench> = Vec::new();
    let cases: Vec<CaseSpec> = if let (Some(name), Some(seed)) = (&a.test, a.case_seed) {
        let bench = *all
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| format!("--test {name}: no such testbench (see --list)"))?;
        writeln!(out, "regress: replay of {name} with case seed {seed}").ok();
        props.push(("case_seed".into(), seed.to_string()));
        benches.push(bench);
        vec![CaseSpec {
            bench,
            index: None,
            seed,
        }]
    } else {
        let re = match &a.tests {
            Some(r) => Some(regex_lite::Regex::new(r).map_err(|e| format!("--tests {r:?}: {e}"))?),
            None => None,
        };
        let chosen: Vec<Testbench> = all
            .iter()
            .filter(|t| {
                let named = match &re {
                    Some(re) => re.is_match(t.name),
                    None => true,
                };
                named && (selftest || !t.selftest)
            })
            .copied()
            .collect();
        if chosen.is_empty() {
            return Err(format!(
                "--tests {:?} matches no testbench (see --list)",
                a.tests.as_deref().unwrap_or("")
            ));
        }
        if a.seeds == 0 {
            return Err("--seeds must be at least 1".into());
        }
        let run_seed = a.seed.unwrap_or_else(clock_seed);
        let filter = a
            .tests
            .as_ref()
            .map(|t| format!(" TESTS='{t}'"))
            .unwrap_or_default();
        writeln!(
            out,
            "regress: run seed {run_seed} (replay all: make regress SEED={run_seed} SEEDS={}{filter})",
            a.seeds
        )
        .ok();
        props.push(("run_seed".into(), run_seed.to_string()));
        props.push(("seeds".into(), a.seeds.to_string()));
        props.push(("tests".into(), a.tests.clone().unwrap_or_default()));
        benches.clone_from(&chosen);
        chosen
            .iter()
            .flat_map(|&bench| {
                (0..a.seeds).map(move |i| CaseSpec {
                    bench,
                    index: Some(i),
                    seed: regress::case_seed(run_seed, bench.name, i),
                })
            })
            .collect()
    };
    out.flush().ok();

    let xml_path = a.out.join("results.xml");
    let cov_path = a.out.join("coverage.json");
    eprintln!(
        "regress: {} case(s) on {} thread(s), {}; JUnit XML: {}",
        cases.len(),
        jobs.min(cases.len()),
        pifs_sim::rtl::verilator_version(),
        xml_path.display()
    );
    let timeout = (a.timeout > 0.0).then(|| Duration::from_secs_f64(a.timeout));
    let t0 = Instant::now();
    let total = cases.len();
    let mut finished = 0;
    let reports = regress::run_pool(&cases, jobs, timeout, |r| {
        finished += 1;
        if !r.status.passed() {
            eprintln!(
                "regress: [{finished}/{total}] {} {} (case seed {}): {}",
                r.status.label(),
                r.spec.label(),
                r.spec.seed,
                r.message.lines().next().unwrap_or("")
            );
        }
    });
    let wall = t0.elapsed();

    let xml = regress::junit_xml(&reports, &props, wall, replay_make);
    std::fs::create_dir_all(&a.out).map_err(|e| format!("{}: {e}", a.out.display()))?;
    let partial = xml_path.with_extension("xml.partial");
    std::fs::write(&partial, xml).map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, &xml_path).map_err(|e| format!("{}: {e}", xml_path.display()))?;
    let cov = regress::merge_coverage(&benches, &reports);
    let partial = cov_path.with_extension("json.partial");
    std::fs::write(&partial, cov.to_json()).map_err(|e| format!("{}: {e}", partial.display()))?;
    std::fs::rename(&partial, &cov_path).map_err(|e| format!("{}: {e}", cov_path.display()))?;

    print_summary(&mut out, &reports, wall);
    let failed: Vec<&CaseReport> = reports.iter().filter(|r| !r.status.passed()).collect();
    if !failed.is_empty() {
        writeln!(out, "\nfailures:").ok();
        for r in &failed {
            writeln!(
                out,
                "{} {} (case seed {}): {}",
                r.status.label(),
                r.spec.label(),
                r.spec.seed,
                r.message.trim_end().replace('\n', "\n    ")
            )
            .ok();
            writeln!(out, "  replay: {}", replay_make(&r.spec)).ok();
            writeln!(out, "      or: {}", replay_cargo(&r.spec)).ok();
        }
    }
    writeln!(out, "\n{}", cov.table()).ok();
    writeln!(
        out,
        "{} passed, {} failed",
        reports.len() - failed.len(),
        failed.len()
    )
    .ok();
    out.flush().ok();
    eprintln!(
        "regress: JUnit XML written to {}, coverage to {}",
        xml_path.display(),
        cov_path.display()
    );
    Ok(failed.is_empty())
}

/// A run seed from the clock (32 bits, short enough to type).
fn clock_seed() -> u64 {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut s = t;
    pifs_rng::splitmix64(&mut s) & 0xFFFF_FFFF
}

/// The cocotb-style table: one row per case in registry and index order, then the totals.
fn print_summary(out: &mut impl Write, reports: &[CaseReport], wall: Duration) {
    let names: Vec<String> = reports.iter().map(|r| r.spec.label()).collect();
    let w_test = names.iter().map(String::len).max().unwrap_or(0).max(24);
    let head = format!(
        "** {:<w_test$}  {:>20}  {:<7}  {:>12}  {:>13} **",
        "TEST", "SEED", "STATUS", "SIM CYCLES", "REAL TIME (s)"
    );
    let stars = "*".repeat(head.len());
    writeln!(out, "{stars}\n{head}\n{stars}").ok();
    for (r, name) in reports.iter().zip(&names) {
        writeln!(
            out,
            "** {:<w_test$}  {:>20}  {:<7}  {:>12}  {:>13.2} **",
            name,
            r.spec.seed,
            r.status.label(),
            r.cycles,
            r.wall.as_secs_f64()
        )
        .ok();
    }
    let pass = reports.iter().filter(|r| r.status == Status::Pass).count();
    let cycles: u64 = reports.iter().map(|r| r.cycles).sum();
    let totals = format!(
        "TESTS={} PASS={pass} FAIL={}",
        reports.len(),
        reports.len() - pass
    );
    let w_left = w_test + 2 + 20 + 2 + 7;
    writeln!(out, "{stars}").ok();
    writeln!(
        out,
        "** {:<w_left$}  {:>12}  {:>13.2} **",
        totals,
        cycles,
        wall.as_secs_f64()
    )
    .ok();
    writeln!(out, "{stars}").ok();
}
