//! The regression runner's pieces (`pifs-regress`, `make regress`): a registry of named
//! testbenches, each a function of one case seed that returns pass/fail, a message and the
//! simulated cycles; the stable derivation of case seeds from one run seed; a pool of threads
//! that runs cases with panics caught and a per-case timeout; and the JUnit XML report.
//!
//! Every case builds its own [`RtlPort`] (its own `VerilatedContext` and model) on the worker
//! thread that runs it, so models never cross or share threads; the model is not built with
//! Verilator threads, and separate contexts on separate threads are what Verilator supports.

use crate::coverage::{self, CmdTap, Coverage, CoverageReport, FlitTap};
use crate::{
    compare, digest, drive, drive_with, expected_sums, flip_random_bits, play_stream, random_bag,
    random_scenario, random_stream, switch_tb, BagSpec, Outcome, Scenario, Values,
};
use pifs_cxl::Flit;
use pifs_rng::{splitmix64, Rng};
use pifs_sim::model::ModelPort;
use pifs_sim::rtl::RtlPort;
use pifs_sim::{Command, PortAccumulator};
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

/// What one case of a testbench found.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseResult {
    pub passed: bool,
    /// On failure what went wrong; on success a one-line note (sizes, digest of the sums).
    pub message: String,
    /// Cycles the RTL simulated (0 when the case ran no RTL).
    pub cycles: u64,
    /// The testbench's coverpoints with this case's samples (merged by the runner only when
    /// the case passed).
    pub coverage: Coverage,
}

/// A named testbench: `run(case_seed)` plays one seeded case.
#[derive(Clone, Copy, Debug)]
pub struct Testbench {
    pub name: &'static str,
    pub about: &'static str,
    /// A self-test of the runner (fails on purpose): run only when asked for.
    pub selftest: bool,
    pub run: fn(u64) -> CaseResult,
    /// The coverpoints the testbench declares, every count zero.
    pub cover: fn() -> Coverage,
}

/// Every testbench, in report order; the self-tests last.
pub fn testbenches() -> Vec<Testbench> {
    vec![
        Testbench {
            name: "random_workload",
            about: "random bags (0-256 rows, 1-8 lines, IEEE specials, duplicates, out of order, gaps): RTL vs model bit- and cycle-exact, sums vs the send order",
            selftest: false,
            run: random_workload,
            cover: cover_random_workload,
        },
        Testbench {
            name: "back_pressure",
            about: "random workload with the result stream ready 10-90% of cycles: sums vs model and send order, one result per bag line",
            selftest: false,
            run: back_pressure,
            cover: cover_back_pressure,
        },
        Testbench {
            name: "raw_bits_adder",
            about: "120 two-row bags of raw 32-bit patterns: every lane vs host binary32 addition",
            selftest: false,
            run: raw_bits_adder,
            cover: cover_raw_bits_adder,
        },
        Testbench {
            name: "ooo_many_bags",
            about: "16 bags sharing the 256 tags, responses shuffled across all of them: RTL vs model bit- and cycle-exact, sums vs the send order",
            selftest: false,
            run: ooo_many_bags,
            cover: cover_ooo_many_bags,
        },
        Testbench {
            name: "line_rate",
            about: "1-3 full-tag bags of one random row size, back to back: no flit stall, RTL vs model, sums vs the send order",
            selftest: false,
            run: line_rate,
            cover: cover_line_rate,
        },
        Testbench {
            name: "corrupted_stream",
            about: "random one-line rows and NDRs with bits flipped in ~5% of flits: every flip a CRC error, RTL and model counters, arrivals and results equal",
            selftest: false,
            run: corrupted_stream,
            cover: cover_corrupted_stream,
        },
        Testbench {
            name: "link_retry",
            about: "random workload on 1-3 port RTLs with bit flips (1e-5..1e-4 per bit) and lost flits (0..3e-3) on every S2M and M2S link, CXL link-layer retry: pooled output bit for bit the fault-free model run's, no escape, the RTL's RETRY.Req/acks equal the reference receiver's every step",
            selftest: false,
            run: link_retry,
            cover: cover_link_retry,
        },
        Testbench {
            name: "switch_random",
            about: "the 8-port switch: random bags split over 1-8 ports, device latency/jitter, credit windows, upstream and MemRd back-pressure: sums vs the order replay, every line once, MemRd vs RowReads, credits; RTL vs model cycle for cycle while no egress FIFO fills",
            selftest: false,
            run: switch_random,
            cover: switch_tb::switch_coverage,
        },
        Testbench {
            name: "switch_buffer",
            about: "the 8-port switch with every port's row buffer on (4-256 lines, LRU or hot), bags re-reading shared rows: sums vs the order replay of the line-tag monitor, every line once, MemRds = RowRead lines minus hits, credits; RTL and model buffer counts equal, cycle for cycle while no egress FIFO fills",
            selftest: false,
            run: switch_buffer,
            cover: switch_tb::switch_buffer_coverage,
        },
        Testbench {
            name: "self_check_fail",
            about: "self-test of the runner: samples a coverpoint, then fails (message with XML special characters)",
            selftest: true,
            run: self_check_fail,
            cover: cover_self_check,
        },
        Testbench {
            name: "self_check_panic",
            about: "self-test of the runner: always panics, with a Verilated model alive",
            selftest: true,
            run: self_check_panic,
            cover: Coverage::new,
        },
        Testbench {
            name: "self_check_hang",
            about: "self-test of the runner: sleeps 1.5 s, then passes (for --timeout)",
            selftest: true,
            run: self_check_hang,
            cover: Coverage::new,
        },
    ]
}

/// FNV-1a (64-bit) of `bytes`: the fixed hash of a test name in [`case_seed`].
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The seed of case `index` of test `name` in the run with seed `run_seed`:
/// `sm(sm(sm(run_seed) ^ fnv1a64(name)) ^ index)`, where `sm(x)` is the output of one SplitMix64
/// step from state `x`. Depends on nothing else (not the test selection, the order or the
/// number of seeds), so a case replays from (run seed, name, index) or from its case seed alone.
pub fn case_seed(run_seed: u64, name: &str, index: u64) -> u64 {
    let sm = |x: u64| {
        let mut s = x;
        splitmix64(&mut s)
    };
    sm(sm(sm(run_seed) ^ fnv1a64(name.as_bytes())) ^ index)
}

// ---------------------------------------------------------------------------------------------
// The testbenches.

macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

/// Runs a case body that records the RTL's cycles in its first argument and samples the
/// coverpoints `cover` declares into its second.
fn case(
    cover: fn() -> Coverage,
    body: impl FnOnce(&mut u64, &mut Coverage) -> Result<String, String>,
) -> CaseResult {
    let mut cycles = 0;
    let mut coverage = cover();
    let r = body(&mut cycles, &mut coverage);
    CaseResult {
        passed: r.is_ok(),
        message: r.unwrap_or_else(|e| e),
        cycles,
        coverage,
    }
}

/// The first differences of a scoreboard comparison, on one line.
fn summarize(diffs: &[String]) -> String {
    let mut s = diffs.iter().take(4).cloned().collect::<Vec<_>>().join("; ");
    if diffs.len() > 4 {
        s += &format!("; ... ({} differences)", diffs.len());
    }
    s
}

/// Drive the RTL; `cycles` gets its cycle count even when the run fails. The commands and
/// flits of every wave are sampled into `cov` (bag rows, row lines, tag reuse, slot formats,
/// flit gaps: whichever the testbench declared).
fn drive_rtl(sc: &Scenario, cycles: &mut u64, cov: &mut Coverage) -> Result<Outcome, String> {
    let mut rtl = RtlPort::new(sc.seed, None).map_err(|e| e.to_string())?;
    let (mut cmd_tap, mut flit_tap) = (CmdTap::new(), FlitTap::new());
    let r = drive_with(&mut rtl, sc, &mut |cmds, flits| {
        sample_wave(cov, &mut cmd_tap, &mut flit_tap, cmds, flits)
    });
    *cycles = rtl.now();
    r.map_err(|e| format!("rtl: {e}"))
}

/// Sample one wave (or stream) of commands and flits; flit gaps are taken within it only.
fn sample_wave(
    cov: &mut Coverage,
    cmd_tap: &mut CmdTap,
    flit_tap: &mut FlitTap,
    cmds: &[(u64, Command)],
    flits: &[(u64, Flit)],
) {
    for (_, c) in cmds {
        cmd_tap.sample(cov, c);
    }
    flit_tap.break_gap();
    for (at, f) in flits {
        flit_tap.sample(cov, *at, f);
    }
}

// The coverpoints of each testbench: only bins its stimulus can reach (see the README).

/// Bag rows, row lines, tag reuse, slot formats, flit gaps of 0 or 1 cycle (the driver's
/// `gap_chance` inserts single idle cycles).
fn cover_port_common(tag_reuse: bool) -> Coverage {
    let mut c = Coverage::new();
    coverage::declare_cmd_points(&mut c, tag_reuse);
    c.named(coverage::SLOT_FORMATS, coverage::SLOT_FORMAT_BINS)
        .ranges(coverage::FLIT_GAP, &[(0, 0), (1, 1)]);
    c
}

const RESPONSE_ORDER: &str = "response_order";
const RES_READY: &str = "res_ready_percent";
const RES_STALL: &str = "res_stall_cycles";
const FLIT_STALL: &str = "flit_stall_cycles";
const OPERAND_EXP: &str = "operand_exponent";
const CRC_ERRORS: &str = "crc_errors";

fn cover_random_workload() -> Coverage {
    let mut c = cover_port_common(true);
    c.named(RESPONSE_ORDER, &["in-order", "out-of-order"]);
    c
}

fn cover_back_pressure() -> Coverage {
    let mut c = cover_port_common(true);
    // Stall cycles per case (0 happens, rarely: a small scenario and lucky ready draws).
    c.ranges(RES_READY, &[(10, 29), (30, 59), (60, 90)])
        .ranges(RES_STALL, &[(0, 15), (16, 63), (64, 255), (256, u64::MAX)]);
    c
}

fn cover_raw_bits_adder() -> Coverage {
    let mut c = Coverage::new();
    c.named(coverage::SLOT_FORMATS, coverage::SLOT_FORMAT_BINS)
        // Exponent field of the operands: zero or subnormal, normal, infinity or NaN.
        .ranges(OPERAND_EXP, &[(0, 0), (1, 254), (255, 255)]);
    c
}

fn cover_ooo_many_bags() -> Coverage {
    // One wave: no tag is reused. 16 bags share 256 tags by weights of 1-100, so a bag of 64
    // rows or more needs one weight above a third of the other 15 together: not declared.
    let mut c = Coverage::new();
    c.ranges(coverage::BAG_ROWS, &coverage::BAG_ROWS_BINS[..6])
        .ranges(coverage::ROW_LINES, coverage::ROW_LINES_BINS)
        .named(coverage::SLOT_FORMATS, coverage::SLOT_FORMAT_BINS)
        .ranges(coverage::FLIT_GAP, &[(0, 0), (1, 1)]);
    c
}

fn cover_line_rate() -> Coverage {
    let mut c = Coverage::new();
    // Full-tag bags only: 256 / lines rows.
    c.ranges(coverage::BAG_ROWS, &[(16, 63), (64, 255), (256, 256)])
        .ranges(coverage::ROW_LINES, coverage::ROW_LINES_BINS)
        .ranges(coverage::TAG_REUSE, &[(16, 63), (64, u64::MAX)])
        .named(coverage::SLOT_FORMATS, coverage::SLOT_FORMAT_BINS)
        .ranges(FLIT_STALL, &[(0, 0)]);
    c
}

fn cover_corrupted_stream() -> Coverage {
    let mut c = Coverage::new();
    // One-line rows in bags of up to 16 rows; every tag once.
    c.ranges(
        coverage::BAG_ROWS,
        &[(1, 1), (2, 3), (4, 7), (8, 15), (16, 16)],
    )
    .named(coverage::SLOT_FORMATS, coverage::SLOT_FORMAT_BINS)
    .ranges(coverage::FLIT_GAP, &[(0, 0), (1, 1)])
    // Flipped flits per case (~5% of 40-400 flits; none at all is rare, so 0-3 is one bin).
    .ranges(CRC_ERRORS, &[(0, 3), (4, 15), (16, u64::MAX)]);
    c
}

fn cover_link_retry() -> Coverage {
    let mut c = Coverage::new();
    c.ranges("llr_retry_requests", &[(0, 9), (10, 39), (40, u64::MAX)])
        .ranges("llr_timeouts", &[(0, 0), (1, u64::MAX)])
        .ranges("llr_dropped", &[(0, 0), (1, u64::MAX)]);
    c
}

fn link_retry(seed: u64) -> CaseResult {
    use pifs_sim::params::LinkFaults;
    use pifs_sim::system::{self, Backend, RunConfig};
    case(cover_link_retry, |cycles, cov| {
        let mut rng = Rng::new(seed);
        let dim = 16 * rng.range(1, 5) as usize;
        let trace = pifs_dlrm::generate(
            rng.range(1, 5) as usize,
            1000,
            rng.range(1, 9) as usize,
            rng.range(1, 40) as usize,
            pifs_dlrm::IndexDist::Uniform,
            rng.next_u64(),
        )
        .map_err(|e| e.to_string())?;
        let w = pifs_dlrm::Weights::Synthetic { dim };
        let ber = 1e-5 * 10f64.powf(rng.unit_f64());
        let drop = if rng.chance(0.5) {
            3e-3 * rng.unit_f64()
        } else {
            0.0
        };
        let cfg = RunConfig {
            backend: Backend::Model,
            ports: rng.range(1, 4) as usize,
            seed,
            ..RunConfig::default()
        };
        let clean = system::run(&trace, &w, &cfg).map_err(|e| format!("model: {e}"))?;
        let faulty = RunConfig {
            backend: Backend::Rtl,
            faults: Some(LinkFaults {
                bit_error_rate: ber,
                flit_drop_rate: drop,
                ..LinkFaults::default()
            }),
            ..cfg
        };
        let out = system::run(&trace, &w, &faulty).map_err(|e| format!("rtl: {e}"))?;
        *cycles = out.stats.cycles;
        let lf = out.stats.link_faults.ok_or("no link stats")?;
        cov.sample_value(
            "llr_retry_requests",
            lf.s2m.retry_requests + lf.m2s.retry_requests,
        );
        cov.sample_value("llr_timeouts", lf.s2m.timeouts + lf.m2s.timeouts);
        cov.sample_value("llr_dropped", lf.s2m.dropped + lf.m2s.dropped);
        ensure!(
            lf.s2m.escaped + lf.m2s.escaped == 0,
            "escaped: s2m {:?} m2s {:?}",
            lf.s2m,
            lf.m2s
        );
        if let Some(i) = (0..out.pooled.len()).find(|&i| out.pooled[i] != clean.pooled[i]) {
            return Err(format!(
                "pooled element {i} differs from the fault-free run (ber {ber:e}, drop {drop:e})"
            ));
        }
        Ok(format!(
            "{} faults injected, {} retries, ber {ber:.2e}, drop {drop:.2e}",
            lf.s2m.injected + lf.m2s.injected,
            lf.s2m.retry_requests + lf.m2s.retry_requests
        ))
    })
}

/// The self-test that fails declares (and samples) one coverpoint, which must stay unhit.
fn cover_self_check() -> Coverage {
    let mut c = Coverage::new();
    c.named("sampled_then_failed", &["sampled"]);
    c
}

fn drive_model(sc: &Scenario) -> Result<Outcome, String> {
    drive(&mut ModelPort::new(), sc).map_err(|e| format!("model: {e}"))
}

/// Every bag's sum equals the documented order replayed from the send order; poison is the OR
/// of the rows' poison bits.
pub(crate) fn sums_follow_send_order(sc: &Scenario, out: &Outcome) -> Result<(), String> {
    let want = expected_sums(sc, &out.order);
    for (i, (bag, w)) in sc.bags.iter().zip(&want).enumerate() {
        if let Some(k) = (0..w.len()).find(|&k| out.sums[i].0.get(k) != Some(&w[k])) {
            return Err(format!(
                "bag {i} ({} rows x {} lines) lane {k}: port {:#010x}, send-order replay {:#010x}",
                bag.rows.len(),
                bag.lines,
                out.sums[i].0.get(k).copied().unwrap_or(0),
                w[k]
            ));
        }
        ensure!(
            out.sums[i].0.len() == w.len(),
            "bag {i}: {} lanes summed, {} expected",
            out.sums[i].0.len(),
            w.len()
        );
        let poison = bag.poisoned.iter().any(|&p| p);
        ensure!(
            out.sums[i].1 == poison,
            "bag {i}: poison {} (rows say {poison})",
            out.sums[i].1
        );
    }
    Ok(())
}

pub(crate) fn no_port_errors(o: &Outcome) -> Result<(), String> {
    ensure!(
        o.crc_errors + o.proto_errors + o.cmd_errors + o.tag_errors == 0,
        "port errors: crc {} proto {} cmd {} tag {}",
        o.crc_errors,
        o.proto_errors,
        o.cmd_errors,
        o.tag_errors
    );
    Ok(())
}

/// A note for a passing case: sizes and a digest of the sums (equal digests, equal sums).
fn note(sc: &Scenario, o: &Outcome) -> String {
    format!(
        "{} bags, {} lines, {} flits, out_of_order {}, gaps {}, res_ready {}%, sums {}",
        sc.bags.len(),
        o.lines,
        o.flits,
        sc.out_of_order,
        sc.gap_chance,
        sc.res_ready_percent,
        digest(o.sums.iter().flat_map(|s| s.0.iter().copied()))
    )
}

fn random_workload(seed: u64) -> CaseResult {
    case(cover_random_workload, |cycles, cov| {
        let sc = random_scenario(seed, Values::Special);
        let r = drive_rtl(&sc, cycles, cov)?;
        cov.sample(
            RESPONSE_ORDER,
            if sc.out_of_order {
                "out-of-order"
            } else {
                "in-order"
            },
        );
        let m = drive_model(&sc)?;
        let diffs = compare(&r, &m, true);
        ensure!(diffs.is_empty(), "RTL vs model: {}", summarize(&diffs));
        sums_follow_send_order(&sc, &r)?;
        no_port_errors(&r)?;
        Ok(note(&sc, &r))
    })
}

fn back_pressure(seed: u64) -> CaseResult {
    case(cover_back_pressure, |cycles, cov| {
        let mut sc = random_scenario(seed, Values::Plain);
        sc.res_ready_percent = Rng::new(seed).fork(1).range(10, 90) as u32;
        let r = drive_rtl(&sc, cycles, cov)?;
        cov.sample_value(RES_READY, sc.res_ready_percent as u64);
        cov.sample_value(RES_STALL, r.res_stall_cycles);
        let m = drive_model(&sc)?;
        // The model does not model result stalls: sums, order and counters only.
        let diffs = compare(&r, &m, false);
        ensure!(diffs.is_empty(), "RTL vs model: {}", summarize(&diffs));
        sums_follow_send_order(&sc, &r)?;
        let want: usize = sc.bags.iter().map(|b| b.lines).sum();
        ensure!(
            r.results.len() == want,
            "{} result lines for {want} bag lines (lost or duplicated)",
            r.results.len()
        );
        no_port_errors(&r)?;
        Ok(format!(
            "{} result stall cycles, {}",
            r.res_stall_cycles,
            note(&sc, &r)
        ))
    })
}

fn raw_bits_adder(seed: u64) -> CaseResult {
    case(cover_raw_bits_adder, |cycles, cov| {
        // Two-row bags: each lane is (+0 + a) + (+0 + b), the RTL adder against the host's
        // binary32 addition on any bit patterns (NaN results canonical). In every third bag b
        // is -a with up to 23 low bits changed: the sum cancels up to all of the significand,
        // which random patterns almost never do, so the normalisation shift is exercised over
        // its whole range.
        let mut rng = Rng::new(seed);
        let mut bags: Vec<BagSpec> = (0..120)
            .map(|_| random_bag(&mut rng, 2, 1, Values::RawBits, 0.0))
            .collect();
        for b in bags.iter_mut().step_by(3) {
            for lane in 0..16 {
                let k = rng.range(0, 23);
                let low = (rng.below(1 << k) as u32) & 0x007F_FFFF;
                b.rows[1][lane] = (b.rows[0][lane] ^ 0x8000_0000) ^ low;
            }
        }
        let sc = Scenario {
            bags,
            seed,
            out_of_order: false,
            gap_chance: 0.0,
            res_ready_percent: 100,
        };
        let r = drive_rtl(&sc, cycles, cov)?;
        for (i, b) in sc.bags.iter().enumerate() {
            for lane in 0..16 {
                let (a, c) = (b.rows[0][lane], b.rows[1][lane]);
                cov.sample_value(OPERAND_EXP, (a >> 23 & 0xFF) as u64);
                cov.sample_value(OPERAND_EXP, (c >> 23 & 0xFF) as u64);
                let add = pifs_sim::fp::add;
                let want = add(add(0, a), add(0, c));
                let got = r.sums[i].0.get(lane).copied();
                ensure!(
                    got == Some(want),
                    "bag {i} lane {lane}: {a:#010x} + {c:#010x}: RTL {got:#010x?}, host {want:#010x}"
                );
            }
        }
        Ok(note(&sc, &r))
    })
}

fn ooo_many_bags(seed: u64) -> CaseResult {
    case(cover_ooo_many_bags, |cycles, cov| {
        // 16 bags share the port's 256 tags in random shares, so one wave keeps every bag slot
        // busy and the shuffled responses interleave all 16 bags.
        let mut rng = Rng::new(seed);
        let weights: Vec<u64> = (0..16).map(|_| rng.range(1, 100)).collect();
        let total: u64 = weights.iter().sum();
        let mut bags = Vec::new();
        for w in weights {
            let lines = rng.range(1, 8) as usize;
            let rows = (256 * w / total) as usize / lines;
            bags.push(random_bag(&mut rng, rows, lines, Values::Special, 0.02));
        }
        let sc = Scenario {
            bags,
            seed,
            out_of_order: true,
            gap_chance: if rng.chance(0.5) { 0.0 } else { 0.1 },
            res_ready_percent: 100,
        };
        let r = drive_rtl(&sc, cycles, cov)?;
        let m = drive_model(&sc)?;
        let diffs = compare(&r, &m, true);
        ensure!(diffs.is_empty(), "RTL vs model: {}", summarize(&diffs));
        sums_follow_send_order(&sc, &r)?;
        no_port_errors(&r)?;
        Ok(note(&sc, &r))
    })
}

fn line_rate(seed: u64) -> CaseResult {
    case(cover_line_rate, |cycles, cov| {
        let mut rng = Rng::new(seed);
        let lines = rng.range(1, 8) as usize;
        let rows = 256 / lines;
        let bags = (0..rng.range(1, 3))
            .map(|_| random_bag(&mut rng, rows, lines, Values::Plain, 0.0))
            .collect();
        let sc = Scenario {
            bags,
            seed,
            out_of_order: false,
            gap_chance: 0.0,
            res_ready_percent: 100,
        };
        let r = drive_rtl(&sc, cycles, cov)?;
        cov.sample_value(FLIT_STALL, r.flit_stall_cycles);
        ensure!(
            r.flit_stall_cycles == 0,
            "{lines} line(s) per row: the port refused a flit in {} cycles",
            r.flit_stall_cycles
        );
        let want = (sc.bags.len() * rows * lines) as u64;
        ensure!(r.lines == want, "{} lines assembled of {want}", r.lines);
        let m = drive_model(&sc)?;
        let diffs = compare(&r, &m, true);
        ensure!(diffs.is_empty(), "RTL vs model: {}", summarize(&diffs));
        sums_follow_send_order(&sc, &r)?;
        no_port_errors(&r)?;
        Ok(format!("{lines} line(s) per row, {}", note(&sc, &r)))
    })
}

fn corrupted_stream(seed: u64) -> CaseResult {
    case(cover_corrupted_stream, |cycles, cov| {
        let mut rng = Rng::new(seed);
        let rows = rng.range(40, 200) as usize;
        let (cmds, mut flits) = random_stream(&mut rng.fork(1), rows);
        let flipped = flip_random_bits(&mut rng, &mut flits, 0.05);
        sample_wave(cov, &mut CmdTap::new(), &mut FlitTap::new(), &cmds, &flits);
        cov.sample_value(CRC_ERRORS, flipped);
        let mut rtl = RtlPort::new(seed, None).map_err(|e| e.to_string())?;
        let r = play_stream(&cmds, &flits, &mut rtl).map_err(|e| format!("rtl: {e}"));
        *cycles = rtl.now();
        let fin = rtl.finish().map_err(|e| format!("rtl: {e}"));
        let r = r?;
        fin?;
        let m =
            play_stream(&cmds, &flits, &mut ModelPort::new()).map_err(|e| format!("model: {e}"))?;
        ensure!(
            r.1.crc_errors == flipped,
            "{} CRC errors for {flipped} flipped flits",
            r.1.crc_errors
        );
        ensure!(r.1 == m.1, "counters: rtl {:?} model {:?}", r.1, m.1);
        ensure!(
            r.0 == m.0,
            "accumulation order differs ({} rtl arrivals, {} model arrivals)",
            r.0.len(),
            m.0.len()
        );
        if let Some(i) = (0..r.2.len().max(m.2.len())).find(|&i| r.2.get(i) != m.2.get(i)) {
            return Err(format!(
                "results differ from result {i} on (rtl {} lines, model {})",
                r.2.len(),
                m.2.len()
            ));
        }
        Ok(format!(
            "{rows} rows, {} flits, {flipped} flipped, {} lines, {} results, sums {}",
            flits.len(),
            r.1.lines,
            r.2.len(),
            digest(r.2.iter().flat_map(|x| x.2))
        ))
    })
}

fn switch_random(seed: u64) -> CaseResult {
    case(switch_tb::switch_coverage, |cycles, cov| {
        switch_tb::switch_random_case(seed, cycles, cov)
    })
}

fn switch_buffer(seed: u64) -> CaseResult {
    case(switch_tb::switch_buffer_coverage, |cycles, cov| {
        switch_tb::switch_buffer_case(seed, cycles, cov)
    })
}

fn self_check_fail(seed: u64) -> CaseResult {
    let mut coverage = cover_self_check();
    coverage.sample("sampled_then_failed", "sampled");
    CaseResult {
        passed: false,
        message: format!(
            "deliberate failure (seed {seed}): <tag attr=\"x\"> & 'quotes' ]]> \u{1}control\nsecond line"
        ),
        cycles: 0,
        coverage,
    }
}

fn self_check_panic(seed: u64) -> CaseResult {
    // With a Verilated model alive, so that unwinding drops it.
    let mut rtl = RtlPort::new(seed, None).expect("RTL model");
    rtl.run_to(100).expect("100 idle cycles");
    panic!(
        "deliberate panic (seed {seed}) <&> after {} cycles",
        rtl.now()
    );
}

fn self_check_hang(seed: u64) -> CaseResult {
    std::thread::sleep(Duration::from_millis(1500));
    CaseResult {
        passed: true,
        message: format!("slept 1.5 s (seed {seed})"),
        cycles: 0,
        coverage: Coverage::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// The pool.

/// One case to run: the testbench and its case seed; `index` is its place among the testbench's
/// cases in a run (None for a case replayed from its seed alone).
#[derive(Clone, Copy, Debug)]
pub struct CaseSpec {
    pub bench: Testbench,
    pub index: Option<u64>,
    pub seed: u64,
}

impl CaseSpec {
    /// `name[index]`, or the name alone for a replayed case.
    pub fn label(&self) -> String {
        match self.index {
            Some(i) => format!("{}[{i}]", self.bench.name),
            None => self.bench.name.to_string(),
        }
    }
}

/// How a case ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    /// The testbench reported a failure.
    Fail,
    /// The testbench panicked.
    Panic,
    /// It ran longer than the timeout (its thread is abandoned).
    Timeout,
    /// Never started: every worker was stuck in a timed-out case.
    NotRun,
}

impl Status {
    pub fn passed(self) -> bool {
        self == Status::Pass
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::Panic => "PANIC",
            Status::Timeout => "TIMEOUT",
            Status::NotRun => "NOT RUN",
        }
    }
}

/// A finished case.
#[derive(Clone, Debug)]
pub struct CaseReport {
    pub spec: CaseSpec,
    pub status: Status,
    pub message: String,
    pub cycles: u64,
    pub wall: Duration,
    /// The case's coverage samples (empty for a panic, a timeout or a case not run).
    pub coverage: Coverage,
}

thread_local! {
    /// Set on pool workers while a case runs: the panic hook records the panic here.
    static CASE_PANIC: RefCell<Option<Option<String>>> = const { RefCell::new(None) };
}

/// Install (once) a panic hook that, on a pool worker inside a case, records the panic's message
/// and place instead of printing them; elsewhere it defers to the previous hook.
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let inside = CASE_PANIC.with(|p| {
                let mut p = p.borrow_mut();
                match p.as_mut() {
                    Some(slot) => {
                        let at = info.location().map(|l| format!(" (at {l})"));
                        *slot = Some(format!(
                            "panic: {}{}",
                            payload_text(info.payload()),
                            at.unwrap_or_default()
                        ));
                        true
                    }
                    None => false,
                }
            });
            if !inside {
                prev(info);
            }
        }));
    });
}

/// The message of a panic payload.
fn payload_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "panic with a non-string payload".into())
}

/// Run one case on this thread, its panic caught.
pub fn run_case(spec: CaseSpec) -> CaseReport {
    install_panic_hook();
    CASE_PANIC.with(|p| *p.borrow_mut() = Some(None));
    let t0 = Instant::now();
    let r = catch_unwind(AssertUnwindSafe(|| (spec.bench.run)(spec.seed)));
    let wall = t0.elapsed();
    let recorded = CASE_PANIC.with(|p| p.borrow_mut().take()).flatten();
    match r {
        Ok(c) => CaseReport {
            spec,
            status: if c.passed { Status::Pass } else { Status::Fail },
            message: c.message,
            cycles: c.cycles,
            wall,
            coverage: c.coverage,
        },
        Err(payload) => {
            let msg = recorded.unwrap_or_else(|| format!("panic: {}", payload_text(&*payload)));
            CaseReport {
                spec,
                status: Status::Panic,
                message: msg,
                cycles: 0,
                wall,
                coverage: Coverage::new(),
            }
        }
    }
}

enum Event {
    Started(usize, Instant),
    Done(usize, CaseReport),
}

/// Run `cases` on `jobs` worker threads. `timeout` (if any) fails a case that runs longer and
/// abandons its thread. `progress` is called on this thread for each finished case. Returns the
/// reports in the order of `cases`.
pub fn run_pool(
    cases: &[CaseSpec],
    jobs: usize,
    timeout: Option<Duration>,
    mut progress: impl FnMut(&CaseReport),
) -> Vec<CaseReport> {
    let n = cases.len();
    let jobs = jobs.clamp(1, n.max(1));
    let cases: Arc<Vec<CaseSpec>> = Arc::new(cases.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = mpsc::channel::<Event>();
    for w in 0..jobs {
        let (cases, next, tx) = (cases.clone(), next.clone(), tx.clone());
        std::thread::Builder::new()
            .name(format!("regress-{w}"))
            .stack_size(16 << 20)
            .spawn(move || loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= cases.len() {
                    break;
                }
                if tx.send(Event::Started(i, Instant::now())).is_err() {
                    break;
                }
                let rep = run_case(cases[i]);
                if tx.send(Event::Done(i, rep)).is_err() {
                    break;
                }
            })
            .expect("cannot start a worker thread");
    }
    drop(tx);
    let mut reports: Vec<Option<CaseReport>> = vec![None; n];
    let mut running: HashMap<usize, Instant> = HashMap::new();
    let mut done = 0;
    let mut stuck = 0;
    while done < n {
        let wait = match (timeout, running.values().min()) {
            (Some(t), Some(&oldest)) => (oldest + t).saturating_duration_since(Instant::now()),
            _ => Duration::from_secs(3600),
        };
        match rx.recv_timeout(wait) {
            Ok(Event::Started(i, t)) => {
                running.insert(i, t);
            }
            Ok(Event::Done(i, rep)) => {
                if running.remove(&i).is_some() {
                    progress(&rep);
                    reports[i] = Some(rep);
                    done += 1;
                } else {
                    // A timed-out case finished after all: its worker is free again.
                    stuck -= 1;
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if let Some(t) = timeout {
            let late: Vec<usize> = running
                .iter()
                .filter(|(_, &s)| s.elapsed() >= t)
                .map(|(&i, _)| i)
                .collect();
            for i in late {
                let s = running.remove(&i).unwrap();
                let rep = CaseReport {
                    spec: cases[i],
                    status: Status::Timeout,
                    message: format!("still running after {:.1} s (timeout)", t.as_secs_f64()),
                    cycles: 0,
                    wall: s.elapsed(),
                    coverage: Coverage::new(),
                };
                progress(&rep);
                reports[i] = Some(rep);
                done += 1;
                stuck += 1;
            }
            if stuck >= jobs {
                break;
            }
        }
    }
    // Cases no worker got to (every worker stuck) or lost with a worker.
    reports
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                let rep = CaseReport {
                    spec: cases[i],
                    status: Status::NotRun,
                    message: "not run: every worker thread was stuck in a timed-out case".into(),
                    cycles: 0,
                    wall: Duration::ZERO,
                    coverage: Coverage::new(),
                };
                progress(&rep);
                rep
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Coverage of a run.

/// The functional coverage of a run: the declarations of `benches` (so their unhit bins are
/// listed) plus the samples of every case that passed. A case that failed, panicked, timed out
/// or did not run adds nothing: its stimulus was not checked.
pub fn merge_coverage(benches: &[Testbench], reports: &[CaseReport]) -> CoverageReport {
    let mut cov = CoverageReport::new();
    for b in benches {
        cov.add(b.name, &(b.cover)());
    }
    for r in reports.iter().filter(|r| r.status.passed()) {
        cov.add_case(r.spec.bench.name, &r.coverage);
    }
    cov
}

// ---------------------------------------------------------------------------------------------
// JUnit XML.

/// `s` escaped for XML text and attribute values; characters XML 1.0 cannot carry (control
/// characters other than tab, newline and carriage return) become U+FFFD.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// The JUnit XML of a run: one `<testsuite>` per testbench (in first-seen order) with one
/// `<testcase>` per case (`name[index]`, time in seconds), a `<failure>` for every case that did
/// not pass, and `<system-out>` with the case seed, the cycles, the message and `replay(case)`.
/// `properties` (run seed, seeds, ...) are repeated in every suite's `<properties>`.
pub fn junit_xml(
    reports: &[CaseReport],
    properties: &[(String, String)],
    wall: Duration,
    replay: impl Fn(&CaseSpec) -> String,
) -> String {
    let mut order: Vec<&'static str> = Vec::new();
    for r in reports {
        if !order.contains(&r.spec.bench.name) {
            order.push(r.spec.bench.name);
        }
    }
    let fails = reports.iter().filter(|r| !r.status.passed()).count();
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x += &format!(
        "<testsuites name=\"pifs-regress\" tests=\"{}\" failures=\"{fails}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\">\n",
        reports.len(),
        wall.as_secs_f64()
    );
    for name in order {
        let rs: Vec<&CaseReport> = reports
            .iter()
            .filter(|r| r.spec.bench.name == name)
            .collect();
        let f = rs.iter().filter(|r| !r.status.passed()).count();
        let t: f64 = rs.iter().map(|r| r.wall.as_secs_f64()).sum();
        x += &format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{f}\" errors=\"0\" skipped=\"0\" time=\"{t:.3}\">\n",
            xml_escape(name),
            rs.len()
        );
        x += "    <properties>\n";
        for (k, v) in properties {
            x += &format!(
                "      <property name=\"{}\" value=\"{}\"/>\n",
                xml_escape(k),
                xml_escape(v)
            );
        }
        x += "    </properties>\n";
        for r in rs {
            x += &format!(
                "    <testcase classname=\"pifs_regress.{}\" name=\"{}\" time=\"{:.3}\">\n",
                xml_escape(name),
                xml_escape(&r.spec.label()),
                r.wall.as_secs_f64()
            );
            if !r.status.passed() {
                let first = r.message.lines().next().unwrap_or("");
                x += &format!(
                    "      <failure type=\"{}\" message=\"{}\">{}</failure>\n",
                    r.status.label().to_lowercase().replace(' ', "_"),
                    xml_escape(first),
                    xml_escape(&r.message)
                );
            }
            x += &format!(
                "      <system-out>case_seed={} cycles={} status={}\n{}\nreplay: {}</system-out>\n",
                r.spec.seed,
                r.cycles,
                r.status.label(),
                xml_escape(&r.message),
                xml_escape(&replay(&r.spec))
            );
            x += "    </testcase>\n";
        }
        x += "  </testsuite>\n";
    }
    x += "</testsuites>\n";
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_seeds_are_stable() {
        // Pinned: a change here breaks every printed replay command.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        let s = case_seed(1, "random_workload", 0);
        assert_eq!(s, case_seed(1, "random_workload", 0));
        assert_ne!(s, case_seed(1, "random_workload", 1));
        assert_ne!(s, case_seed(2, "random_workload", 0));
        assert_ne!(s, case_seed(1, "back_pressure", 0));
        assert_eq!(case_seed(1, "random_workload", 0), PINNED);
    }
    /// case_seed(1, "random_workload", 0), also computed independently (Python, from the formula).
    const PINNED: u64 = 4_924_165_215_415_355_930;

    #[test]
    fn escapes_xml() {
        assert_eq!(
            xml_escape("a<b>&\"c'\u{1}\n"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}\n"
        );
    }

    #[test]
    fn names_are_unique() {
        let t = testbenches();
        for (i, a) in t.iter().enumerate() {
            assert!(t[i + 1..].iter().all(|b| b.name != a.name), "{}", a.name);
        }
    }
}
