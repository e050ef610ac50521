//! The whole switch (`rtl/pifs_switch_top.sv`) through both backends, the Verilated RTL and the
//! Rust model: random multi-port workloads driven by RowRead commands, with one memory-device
//! model per port answering the switch's own MemRd requests. Checks: every bag's sum equals the
//! order replay of pifs-tb (`expected_sums`) bit for bit; RTL and model give the same upstream
//! lines in the same cycles and the same MemRd requests; MemRd tags and addresses follow the
//! RowRead commands; round-robin fairness with every port backlogged; upstream credits (nothing
//! lost or duplicated, never more lines in flight than credits); dropped and rejected commands;
//! random back-pressure; and a snapshot of one fixed 8-port workload. The scenario, the driver
//! (`play`) and the checks live in `pifs_tb::switch_tb`, shared with the `switch_random`
//! regression testbench. Seeded tests print their seeds; PIFS_SEED=<n> replays one.

use pifs_rng::Rng;
use pifs_sim::params::NUM_BAGS;
use pifs_sim::switch::{SwitchCmd, SwitchConfig, SwitchModel, UpLine};
use pifs_sim::switch_model::ModelSwitch;
use pifs_sim::switch_rtl::RtlSwitch;
use pifs_sim::{fst_reader_available, wave_time_ps, Command, WaveSpec};
use pifs_tb::switch_tb::{
    check_backends_agree, check_credits, check_lines_once, check_mem_reqs, check_no_errors,
    check_sums, line_addr, play, random_switch_scenario, SwOutcome, SwScenario,
};
use pifs_tb::{digest, random_bag, BagSpec, Values};
use serde::Serialize;

fn seeds(default: std::ops::Range<u64>) -> Vec<u64> {
    match std::env::var("PIFS_SEED") {
        Ok(s) => vec![s.parse().expect("PIFS_SEED must be an integer")],
        Err(_) => default.collect(),
    }
}

/// The parameters the bindings' switch model was built with (the defaults, unless
/// `PIFS_SWITCH_PARAMS` overrode some: see `bindings/build.rs`).
fn rtl_config() -> SwitchConfig {
    RtlSwitch::new(0, None).expect("RTL model").config()
}

fn run_both(sc: &SwScenario) -> (SwOutcome, SwOutcome, bool) {
    let mut rtl = RtlSwitch::new(sc.seed, None).expect("RTL model");
    let cfg = rtl.config();
    let r = play(&mut rtl, sc).expect("rtl run");
    let mut model = ModelSwitch::new(cfg).unwrap();
    let m = play(&mut model, sc).expect("model run");
    (r, m, model.timing_exact())
}

#[test]
fn rtl_parameters_match_the_model_defaults() {
    let rtl = RtlSwitch::new(1, None).unwrap();
    assert_eq!(rtl.config(), SwitchConfig::default());
    assert_eq!(rtl.ports(), 8);
}

#[test]
fn random_workloads_rtl_equals_model_and_the_order_replay() {
    // Also the check of a parameter sweep: PIFS_SWITCH_PARAMS=NumPorts=3,EgressDepth=1 ...
    let cfg = rtl_config();
    let mut exact_runs = 0;
    let runs = seeds(0..10);
    for &seed in &runs {
        eprintln!("random_workloads: seed {seed} ({cfg:?})");
        let ports = if seed % 3 == 0 {
            8
        } else {
            1 + seed as usize % 8
        }
        .min(cfg.ports);
        let sc = random_switch_scenario(seed, ports);
        let (r, m, exact) = run_both(&sc);
        eprintln!(
            "  {ports} ports: {} cycles, {} upstream lines, {} MemRd, {} S2M flits, model {}",
            r.cycles,
            r.up.len(),
            r.reqs.len(),
            r.counters.iter().map(|c| c.flits).sum::<u64>(),
            if exact {
                "cycle-exact"
            } else {
                "sums only (an egress FIFO filled)"
            }
        );
        if exact {
            exact_runs += 1;
            check_backends_agree(&r, &m, &format!("seed {seed}")).unwrap();
            check_mem_reqs(&sc, &m, &format!("seed {seed} model"), true).unwrap();
        }
        for (o, what) in [(&r, "rtl"), (&m, "model")] {
            let what = format!("seed {seed} {what}");
            check_sums(&sc, o, &what).unwrap();
            check_lines_once(&sc, o, &what).unwrap();
            check_credits(o, cfg.up_credits, &what).unwrap();
            check_no_errors(o, &what).unwrap();
        }
        check_mem_reqs(&sc, &r, &format!("seed {seed} rtl"), true).unwrap();
        // The model flags exactly the runs in which the RTL held a port back.
        let rtl_stalled = r.counters.iter().any(|c| c.res_stall_cycles > 0);
        assert_eq!(
            exact, !rtl_stalled,
            "seed {seed}: model exactness vs RTL stalls"
        );
    }
    assert!(
        cfg != SwitchConfig::default() || 2 * exact_runs >= runs.len(),
        "only {exact_runs} of {} seeds kept every egress FIFO from filling",
        runs.len()
    );
}

/// Every port backlogged: 16 empty bags of `lines` lines each, all opened at once.
fn saturating_scenario(ports: usize, lines: usize, seed: u64) -> SwScenario {
    SwScenario {
        ports: (0..ports)
            .map(|_| {
                (0..NUM_BAGS)
                    .map(|_| BagSpec {
                        lines,
                        rows: vec![],
                        poisoned: vec![],
                    })
                    .collect()
            })
            .collect(),
        seed,
        latency: 32,
        jitter: 0,
        credit_delay: 1,
        withheld: 0,
        shared_rows: false,
    }
}

/// Within the stretch where every port has lines waiting, each port's count of upstream lines
/// stays within one of every other's, at every point.
fn check_fair(out: &SwOutcome, ports: usize, per_port: usize, what: &str) {
    let seq: Vec<usize> = out.up.iter().map(|u| u.port as usize).collect();
    let mut seen = vec![0usize; ports];
    let start = seq
        .iter()
        .position(|&p| {
            seen[p] += 1;
            seen.iter().all(|&s| s > 0)
        })
        .expect("every port sent a line");
    let mut total = vec![0usize; ports];
    let end = seq
        .iter()
        .position(|&p| {
            total[p] += 1;
            total[p] == per_port
        })
        .expect("some port finished");
    assert!(end > start + 4 * ports, "{what}: window too short");
    eprintln!(
        "{what}: all {ports} ports backlogged over upstream lines {start}..={end}, from cycle {} \
         to {}; first ports {:?}",
        out.up[start].cycle,
        out.up[end].cycle,
        &seq[start..start + 2 * ports]
    );
    let mut count = vec![0usize; ports];
    for (i, &p) in seq[start + 1..=end].iter().enumerate() {
        count[p] += 1;
        let (lo, hi) = (count.iter().min().unwrap(), count.iter().max().unwrap());
        assert!(
            hi - lo <= 1,
            "{what}: after {} lines of the window, per-port counts {count:?}",
            i + 1
        );
    }
}

#[test]
fn round_robin_gives_every_port_an_equal_share() {
    let sc = saturating_scenario(8, 8, 5);
    let per_port = NUM_BAGS * 8;
    let mut rtl = RtlSwitch::new(5, None).unwrap();
    let r = play(&mut rtl, &sc).unwrap();
    check_fair(&r, 8, per_port, "rtl");
    check_lines_once(&sc, &r, "rtl").unwrap();
    check_sums(&sc, &r, "rtl").unwrap();
    assert!(
        r.counters.iter().all(|c| c.res_stall_cycles > 0),
        "every port was held back by its full egress FIFO"
    );
    let mut model = ModelSwitch::new(SwitchConfig::default()).unwrap();
    let m = play(&mut model, &sc).unwrap();
    check_fair(&m, 8, per_port, "model");
    check_lines_once(&sc, &m, "model").unwrap();
    assert!(
        !model.timing_exact(),
        "the model reports that it could not stall the ports"
    );
}

#[test]
fn credits_limit_lines_in_flight_and_lose_nothing() {
    // The RTL starts with 32 credits; the upstream keeps the first 30 lines' credits, which
    // leaves a window of 2, and returns every later credit 20 cycles after its line.
    let mut sc = saturating_scenario(8, 4, 7);
    sc.withheld = 30;
    sc.credit_delay = 20;
    let mut rtl = RtlSwitch::new(7, None).unwrap();
    let r = play(&mut rtl, &sc).unwrap();
    check_lines_once(&sc, &r, "rtl").unwrap();
    check_sums(&sc, &r, "rtl").unwrap();
    check_credits(&r, 32, "rtl").unwrap();
    eprintln!("credits: rtl {:?}", r.switch);
    assert!(r.switch.up_credit_wait_cycles > 1000, "{:?}", r.switch);
    let after: Vec<&UpLine> = r.up.iter().skip(30).collect();
    let span = after.last().unwrap().cycle - after[0].cycle;
    assert!(
        span >= (after.len() as u64 / 2 - 1) * 20,
        "two credits per 20 cycles bound the rate"
    );
    // The model with UpCredits = 2 from reset.
    sc.withheld = 0;
    let mut model = ModelSwitch::new(SwitchConfig {
        up_credits: 2,
        ..SwitchConfig::default()
    })
    .unwrap();
    let m = play(&mut model, &sc).unwrap();
    check_lines_once(&sc, &m, "model").unwrap();
    check_sums(&sc, &m, "model").unwrap();
    check_credits(&m, 2, "model").unwrap();
}

#[test]
fn slow_credits_without_full_fifos_rtl_equals_model() {
    // One-line bags: at most 6 lines per port, so no egress FIFO fills however slow the
    // credits are, and the model stays cycle-exact while lines wait for credits. 48 lines, the
    // first 31 credits kept: a window of one credit, returned 60 cycles after each line.
    for seed in seeds(40..43) {
        eprintln!("slow_credits: seed {seed}");
        let mut rng = Rng::new(seed);
        let sc = SwScenario {
            ports: (0..8)
                .map(|_| {
                    (0..6)
                        .map(|_| {
                            let rows = rng.range(1, 40) as usize;
                            random_bag(&mut rng, rows, 1, Values::Plain, 0.0)
                        })
                        .collect()
                })
                .collect(),
            seed,
            latency: 40,
            jitter: 30,
            credit_delay: 60,
            withheld: 31,
            shared_rows: false,
        };
        let (r, m, exact) = run_both(&sc);
        assert!(exact, "seed {seed}");
        check_backends_agree(&r, &m, &format!("seed {seed}")).unwrap();
        check_sums(&sc, &r, &format!("seed {seed}")).unwrap();
        check_credits(&r, 32, &format!("seed {seed}")).unwrap();
        assert!(
            r.switch.up_credit_wait_cycles > 0,
            "seed {seed}: credits bound"
        );
    }
}

#[test]
fn bad_commands_are_dropped_or_rejected_on_both_backends() {
    let row = |port: u8, bag: u8, tag: u8, lines: u8| {
        SwitchCmd::new(
            port,
            Command::RowRead {
                bag,
                tag,
                lines,
                line_addr: line_addr(port as usize, bag as usize, 0),
            },
        )
    };
    let cmds = [
        // Dropped by the switch: port 9 of 8, RowRead with 0 and 9 lines.
        SwitchCmd::new(
            9,
            Command::BagOpen {
                bag: 0,
                rows: 1,
                lines: 1,
            },
        ),
        row(0, 0, 0, 0),
        row(0, 0, 0, 9),
        // Rejected by port 1's accumulator: its bag 3 is not open; no MemRd may leave.
        row(1, 3, 0, 2),
        // A good bag at port 2, then a RowRead beyond its one row (rejected, no reads).
        SwitchCmd::new(
            2,
            Command::BagOpen {
                bag: 1,
                rows: 1,
                lines: 2,
            },
        ),
        row(2, 1, 10, 2),
        row(2, 1, 20, 2),
    ];
    let mut outs = Vec::new();
    for backend in ["rtl", "model"] {
        let mut sw: Box<dyn SwitchModel> = if backend == "rtl" {
            Box::new(RtlSwitch::new(3, None).unwrap())
        } else {
            Box::new(ModelSwitch::new(rtl_config()).unwrap())
        };
        let timed: Vec<(u64, SwitchCmd)> = cmds.iter().map(|c| (0, *c)).collect();
        sw.push_cmds(&timed);
        sw.run_to(40).unwrap();
        let reqs = sw.take_mem_reqs();
        let want: Vec<(u8, u16, u64)> = (0..2)
            .map(|l| (2, 10 + l, (line_addr(2, 1, 0) + l as u64) * 64))
            .collect();
        let got: Vec<(u8, u16, u64)> = reqs.iter().map(|r| (r.port, r.tag, r.addr)).collect();
        assert_eq!(got, want, "{backend}: only the accepted row is read");
        assert_eq!(sw.switch_counters().cmd_errors, 3, "{backend}");
        assert_eq!(sw.counters(1).cmd_errors, 1, "{backend}");
        assert_eq!(sw.counters(2).cmd_errors, 1, "{backend}");
        outs.push((reqs, sw.switch_counters()));
        sw.finish().unwrap();
    }
    assert_eq!(outs[0], outs[1], "rtl and model agree cycle for cycle");
}

#[test]
fn back_pressure_upstream_and_on_memrd_loses_nothing() {
    for seed in seeds(60..63) {
        eprintln!("back_pressure: seed {seed}");
        let sc = random_switch_scenario(seed, 8);
        let mut rtl = RtlSwitch::new(seed, None).unwrap();
        rtl.set_ready_percent(40 + (seed % 3) as u32 * 20, 50);
        let r = play(&mut rtl, &sc).unwrap();
        check_sums(&sc, &r, &format!("seed {seed}")).unwrap();
        check_lines_once(&sc, &r, &format!("seed {seed}")).unwrap();
        check_mem_reqs(&sc, &r, &format!("seed {seed}"), false).unwrap();
        assert!(
            r.switch.up_stall_cycles > 0,
            "seed {seed}: upstream stalled"
        );
        assert!(
            r.switch.mem_req_stall_cycles > 0,
            "seed {seed}: MemRd stalled"
        );
    }
}

#[derive(Serialize)]
struct BackendSnap {
    cycles: u64,
    up_lines: u64,
    mem_reqs: u64,
    s2m_flits: u64,
    sums: String,
}

fn fixed_scenario() -> SwScenario {
    let mut rng = Rng::new(2024);
    let ports = (0..8)
        .map(|p| {
            (0..6)
                .map(|b| {
                    let lines = 1 + (p + b) % 4;
                    let rows = 8 + 8 * ((p * 3 + b) % 5);
                    random_bag(&mut rng, rows, lines, Values::Plain, 0.0)
                })
                .collect()
        })
        .collect();
    SwScenario {
        ports,
        seed: 2024,
        latency: 80,
        jitter: 16,
        credit_delay: 4,
        withheld: 0,
        shared_rows: false,
    }
}

#[test]
fn fixed_8_port_scenario() {
    let sc = fixed_scenario();
    let (r, m, exact) = run_both(&sc);
    assert!(exact);
    check_backends_agree(&r, &m, "fixed").unwrap();
    check_sums(&sc, &r, "fixed").unwrap();
    let snap = |o: &SwOutcome| BackendSnap {
        cycles: o.cycles,
        up_lines: o.switch.up_lines,
        mem_reqs: o.switch.mem_reqs,
        s2m_flits: o.counters.iter().map(|c| c.flits).sum(),
        sums: digest(o.sums.iter().flatten().flatten().copied()),
    };
    insta::assert_json_snapshot!("fixed_8_port_scenario_rtl", snap(&r));
    insta::assert_json_snapshot!("fixed_8_port_scenario_model", snap(&m));
}

/// Full names (`scope.name[range]`, as GTKWave writes them) of the variables a VCD declares, and
/// the times of its value changes.
fn vcd_names_and_times(text: &str) -> (Vec<String>, Vec<u64>) {
    let (mut names, mut times, mut scope) = (Vec::new(), Vec::new(), Vec::<&str>::new());
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        match f.first() {
            Some(&"$scope") => scope.push(f[2]),
            Some(&"$upscope") => {
                scope.pop();
            }
            Some(&"$var") => {
                let range = if f[5] == "$end" { "" } else { f[5] };
                names.push(format!("{}.{}{range}", scope.join("."), f[4]));
            }
            Some(t) if t.starts_with('#') => times.push(t[1..].parse().unwrap()),
            _ => {}
        }
    }
    (names, times)
}

#[test]
fn waves_are_written_when_asked() {
    let dir = std::env::temp_dir().join(format!("pifs-switch-wave-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut spec = WaveSpec::new(dir.join("switch.vcd"));
    (spec.from, spec.to, spec.port) = (10, Some(60), 1);
    if !fst_reader_available() {
        // A runtime without an FST reader (the 5.048 wheel): VCD is refused in one line, and
        // FST alone is written.
        let e = RtlSwitch::new(9, Some(&spec)).err().expect("VCD refused");
        assert!(e.to_string().contains("needs an FST reader"), "{e}");
        spec = WaveSpec::new(dir.join("switch.fst"));
        let mut rtl = RtlSwitch::new(9, Some(&spec)).unwrap();
        rtl.run_to(200).unwrap();
        rtl.finish().unwrap();
        let len = std::fs::metadata(&spec.path).map(|m| m.len()).unwrap_or(0);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(len > 1000, "FST of {len} bytes");
        return;
    }
    let mut rtl = RtlSwitch::new(9, Some(&spec)).unwrap();
    let mut rng = Rng::new(9);
    let sc = SwScenario {
        ports: vec![vec![random_bag(&mut rng, 3, 2, Values::Plain, 0.0)]; 2],
        seed: 9,
        latency: 32,
        jitter: 0,
        credit_delay: 1,
        withheld: 0,
        shared_rows: false,
    };
    let out = play(&mut rtl, &sc).unwrap();
    check_sums(&sc, &out, "waves").unwrap();
    rtl.finish().unwrap();
    drop(rtl);
    let vcd = std::fs::read_to_string(&spec.path).expect("the VCD file");
    let save = std::fs::read_to_string(spec.save_file()).expect("the GTKWave save file");
    let _ = std::fs::remove_dir_all(&dir);
    // Only the window is recorded: cycles 10 to 59, two dumps per cycle.
    let (names, times) = vcd_names_and_times(&vcd);
    assert_eq!(times.first(), Some(&wave_time_ps(10)));
    assert_eq!(times.last(), Some(&(wave_time_ps(60) - 500)));
    assert_eq!(times.len(), 100);
    // Every signal of the save file exists in the waveform, and they are port 1's.
    let signals: Vec<&str> = save.lines().filter(|l| l.starts_with("switch.")).collect();
    assert!(
        signals.len() > 20,
        "{} signals in the save file",
        signals.len()
    );
    for s in &signals {
        assert!(names.iter().any(|n| n == s), "{s} is not in the VCD");
        let port_scope = s.contains(".gen_port[") || s.contains(".gen_cmd[");
        assert!(!port_scope || s.contains("[1]."), "{s} is not port 1's");
    }
    assert!(signals.iter().any(|s| s.contains(".gen_port[1].u_port.")));
}

// ---------------------------------------------------------------------------------------------
// The row buffer (rtl/pifs_switch_buffer.sv, sim/core/src/buffer.rs).

use pifs_sim::buffer::{BufferConfig, BufferCounters, BufferPolicy};
use pifs_sim::params::{HOT_ENTRIES, HOT_MAX, HOT_THRESHOLD};
use pifs_tb::switch_tb::{check_mem_reqs_with_hits, shared_rows_scenario};

fn buffer(lines: usize, ways: usize, policy: BufferPolicy) -> BufferConfig {
    BufferConfig {
        lines,
        ways,
        policy,
    }
}

#[test]
fn the_verilated_switch_has_a_buffer_that_is_off_by_default() {
    let rtl = RtlSwitch::new(1, None).unwrap();
    assert_eq!(rtl.buffer_capacity(), (256, 4));
    assert_eq!(rtl.config().buffer, BufferConfig::OFF);
    let mut rtl = rtl;
    let e = rtl
        .set_buffer(buffer(512, 4, BufferPolicy::Lru))
        .unwrap_err();
    assert!(e.to_string().contains("at most 256 lines"), "{e}");
}

#[test]
fn shared_rows_with_the_buffer_rtl_equals_model_and_the_order_replay() {
    let sizes = [(16, 4), (64, 4), (256, 4), (4, 4)];
    let mut hits = 0;
    for seed in seeds(0..8) {
        let policy = if seed % 2 == 0 {
            BufferPolicy::Lru
        } else {
            BufferPolicy::Hot
        };
        let (lines, ways) = sizes[(seed / 2) as usize % sizes.len()];
        let buf = buffer(lines, ways, policy);
        let ports = 1 + seed as usize % 8;
        let sc = shared_rows_scenario(seed, ports);
        let mut rtl = RtlSwitch::new(seed, None).unwrap();
        rtl.set_buffer(buf).unwrap();
        let r = play(&mut rtl, &sc).expect("rtl run");
        let mut model = ModelSwitch::new(SwitchConfig {
            buffer: buf,
            ..rtl.config()
        })
        .unwrap();
        let m = play(&mut model, &sc).expect("model run");
        let what = format!("seed {seed} ({ports} ports, buffer {buf:?})");
        eprintln!(
            "{what}: {} cycles, {} MemRd; buffer per port {:?}",
            r.cycles,
            r.reqs.len(),
            r.buffer
        );
        for (o, b) in [(&r, "rtl"), (&m, "model")] {
            let what = format!("{what} {b}");
            check_sums(&sc, o, &what).unwrap();
            check_lines_once(&sc, o, &what).unwrap();
            check_credits(o, 32, &what).unwrap();
            check_no_errors(o, &what).unwrap();
            check_mem_reqs_with_hits(o, &what).unwrap();
        }
        assert_eq!(r.buffer, m.buffer, "{what}: buffer counts rtl vs model");
        if model.timing_exact() {
            check_backends_agree(&r, &m, &what).unwrap();
        }
        hits += r.buffer.iter().map(|b| b.hits).sum::<u64>();
    }
    assert!(hits > 0, "no seed hit the buffer");
}

/// Read `lines` one at a time (a one-row, one-line bag each, the next only after the previous
/// came back upstream) with port 0; per read, whether it hit (no MemRd left) and the line that
/// came upstream.
fn one_at_a_time(sw: &mut dyn SwitchModel, lines: &[u64]) -> Vec<(bool, [u32; 16])> {
    use pifs_cxl::{M2sPacker, M2sReq, Message};
    use pifs_sim::device::{LineSource, MemDevice};
    struct Mem;
    impl LineSource for Mem {
        fn line(&self, addr: u64) -> [u8; 64] {
            let mut out = [0u8; 64];
            for i in 0..16 {
                // A normal float per lane, distinct per line: x + 0.0 = x exactly.
                let v = 1.0f32 + (addr / 64) as f32 / 1024.0 + i as f32;
                out[4 * i..4 * i + 4].copy_from_slice(&v.to_bits().to_le_bytes());
            }
            out
        }
    }
    let mut dev = MemDevice::new(40, 0, 7);
    let mut m2s = M2sPacker::new(3);
    let mut out = Vec::new();
    for &a in lines {
        let now = sw.now();
        sw.push_cmds(&[
            (
                now,
                SwitchCmd::new(
                    0,
                    Command::BagOpen {
                        bag: 0,
                        rows: 1,
                        lines: 1,
                    },
                ),
            ),
            (
                now + 1,
                SwitchCmd::new(
                    0,
                    Command::RowRead {
                        bag: 0,
                        tag: 0,
                        lines: 1,
                        line_addr: a,
                    },
                ),
            ),
        ]);
        let mut t = now;
        let mut missed = false;
        let up = loop {
            t += 8;
            sw.run_to(t).unwrap();
            let mut q: std::collections::VecDeque<Message> = sw
                .take_mem_reqs()
                .into_iter()
                .map(|r| {
                    missed = true;
                    Message::M2sReq(M2sReq::mem_rd(r.tag, r.addr))
                })
                .collect();
            while let Some(f) = m2s.next_flit(&mut q) {
                dev.receive(t, &f).unwrap();
            }
            let mut flits = Vec::new();
            dev.emit_until(t + 40, &Mem, &mut flits);
            sw.push_flits(0, &flits);
            let up = sw.take_upstream();
            sw.grant_credits(&up.iter().map(|u| u.cycle + 1).collect::<Vec<_>>());
            if let Some(u) = up.first() {
                break u.data;
            }
            assert!(t - now < 10_000, "read of line {a} never came back");
        };
        sw.run_to(t + 16).unwrap();
        out.push((!missed, up));
    }
    out
}

/// Independent reference of the buffer's hit/miss decisions for reads done one at a time (each
/// fill lands before the next lookup), written from the rules: LRU as a recency list per set;
/// hot as ways in fixed positions with a count each and a direct-mapped table of access counts.
fn brute_force(buf: BufferConfig, lines: &[u64]) -> Vec<bool> {
    let sets = (buf.lines / buf.ways) as u64;
    let mut out = Vec::new();
    match buf.policy {
        BufferPolicy::Lru => {
            let mut recent: Vec<Vec<u64>> = vec![Vec::new(); sets as usize];
            for &a in lines {
                let s = &mut recent[(a % sets) as usize];
                let hit = s.iter().position(|&l| l == a);
                out.push(hit.is_some());
                match hit {
                    Some(i) => {
                        s.remove(i);
                    }
                    None if s.len() == buf.ways => {
                        s.pop();
                    }
                    None => {}
                }
                s.insert(0, a);
            }
        }
        BufferPolicy::Hot => {
            let mut ways: Vec<Vec<Option<(u64, u8)>>> = vec![vec![None; buf.ways]; sets as usize];
            let mut table = std::collections::HashMap::<u64, u8>::new();
            for &a in lines {
                let h = table.entry(a % HOT_ENTRIES as u64).or_insert(0);
                *h = (*h + 1).min(HOT_MAX);
                let h = *h;
                let s = &mut ways[(a % sets) as usize];
                if let Some(w) = s.iter_mut().flatten().find(|w| w.0 == a) {
                    w.1 = (w.1 + 1).min(HOT_MAX);
                    out.push(true);
                    continue;
                }
                out.push(false);
                if h < HOT_THRESHOLD {
                    continue;
                }
                let v = s.iter().position(Option::is_none).unwrap_or_else(|| {
                    let min = s.iter().flatten().map(|w| w.1).min().unwrap();
                    s.iter()
                        .position(|w| w.is_some_and(|w| w.1 == min))
                        .unwrap()
                });
                if s[v].is_some_and(|w| w.1 > h) {
                    continue;
                }
                s[v] = Some((a, h));
            }
        }
    }
    out
}

#[test]
fn rtl_buffer_hits_follow_a_brute_force_lru() {
    for seed in seeds(0..3) {
        let mut rng = Rng::new(seed);
        // 24 distinct lines over 4 sets of 4 ways: reuse, conflicts and evictions.
        let pool: Vec<u64> = (0..24).map(|_| rng.below(1 << 30)).collect();
        let stream: Vec<u64> = (0..300)
            .map(|_| pool[rng.below(pool.len() as u64) as usize])
            .collect();
        let buf = buffer(16, 4, BufferPolicy::Lru);
        let want = brute_force(buf, &stream);
        let mut rtl = RtlSwitch::new(seed, None).unwrap();
        rtl.set_buffer(buf).unwrap();
        let got = one_at_a_time(&mut rtl, &stream);
        let mut model = ModelSwitch::new(SwitchConfig {
            buffer: buf,
            ..SwitchConfig::default()
        })
        .unwrap();
        let got_m = one_at_a_time(&mut model, &stream);
        for (i, ((g, d), &w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(*g, w, "seed {seed}: read {i} (line {:#x}) hit", stream[i]);
            let mut src = [0u32; 16];
            for (k, x) in src.iter_mut().enumerate() {
                *x = (1.0f32 + (stream[i]) as f32 / 1024.0 + k as f32).to_bits();
            }
            assert_eq!(
                *d, src,
                "seed {seed}: read {i}: the line that came upstream"
            );
        }
        assert_eq!(got, got_m, "seed {seed}: rtl vs model");
        let hits = want.iter().filter(|&&h| h).count() as u64;
        assert!(hits > 30 && hits < 270, "seed {seed}: {hits} hits");
        assert_eq!(
            rtl.buffer_counters(0),
            BufferCounters {
                hits,
                misses: 300 - hits,
                ..rtl.buffer_counters(0)
            }
        );
    }
}

#[test]
fn rtl_buffer_follows_the_hot_rule() {
    for seed in seeds(0..3) {
        let mut rng = Rng::new(seed);
        // One set of 4 ways; skewed reuse of 16 lines: line k with weight about 0.8^k.
        let pool: Vec<u64> = (0..16).map(|_| rng.below(1 << 30)).collect();
        let stream: Vec<u64> = (0..300)
            .map(|_| {
                let mut k = 0;
                while k < 15 && rng.chance(0.8) {
                    k += 1;
                }
                pool[k]
            })
            .collect();
        let buf = buffer(4, 4, BufferPolicy::Hot);
        let want = brute_force(buf, &stream);
        let mut rtl = RtlSwitch::new(seed, None).unwrap();
        rtl.set_buffer(buf).unwrap();
        let got: Vec<bool> = one_at_a_time(&mut rtl, &stream)
            .into_iter()
            .map(|g| g.0)
            .collect();
        let mut model = ModelSwitch::new(SwitchConfig {
            buffer: buf,
            ..SwitchConfig::default()
        })
        .unwrap();
        let got_m: Vec<bool> = one_at_a_time(&mut model, &stream)
            .into_iter()
            .map(|g| g.0)
            .collect();
        assert_eq!(got, got_m, "seed {seed}: rtl vs model");
        let b = rtl.buffer_counters(0);
        assert_eq!(b.hits + b.misses, 300);
        // A line's first read (count 1) is never inserted: at least one bypass per line read.
        let distinct = stream
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len() as u64;
        assert!(b.bypasses >= distinct, "seed {seed}: {b:?}");
        assert!(b.hits > 0 && b.evictions > 0, "seed {seed}: {b:?}");
        let first_diff = got.iter().zip(&want).position(|(g, w)| g != w);
        assert_eq!(
            first_diff, None,
            "seed {seed}: hot rule vs the brute force ({b:?})"
        );
    }
}
