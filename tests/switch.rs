//! The whole switch (`rtl/pifs_switch_top.sv`) through both backends, the Verilated RTL and the
//! Rust model: random multi-port workloads driven by RowRead commands, with one memory-device
//! model per port answering the switch's own MemRd requests. Checks: every bag's sum equals the
//! order replay of pifs-tb (`expected_sums`) bit for bit; RTL and model give the same upstream
//! lines in the same cycles and the same MemRd requests; MemRd tags and addresses follow the
//! RowRead commands; round-robin fairness with every port backlogged; upstream credits (nothing
//! lost or duplicated, never more lines in flight than credits); dropped and rejected commands;
//! random back-pressure; and a snapshot of one fixed 8-port workload. Seeded tests print their
//! seeds; PIFS_SEED=<n> replays one.

use pifs_cxl::{Decoder, Dir, Flit, M2sPacker, M2sReq, Message};
use pifs_rng::Rng;
use pifs_sim::device::{LineSource, MemDevice};
use pifs_sim::params::{NUM_BAGS, NUM_TAGS};
use pifs_sim::switch::{MemReq, SwitchCmd, SwitchConfig, SwitchCounters, SwitchModel, UpLine};
use pifs_sim::switch_model::ModelSwitch;
use pifs_sim::switch_rtl::RtlSwitch;
use pifs_sim::{Command, PortCounters, SimError};
use pifs_tb::{digest, expected_sums, random_bag, BagSpec, Scenario, Values};
use serde::Serialize;
use std::collections::VecDeque;

fn seeds(default: std::ops::Range<u64>) -> Vec<u64> {
    match std::env::var("PIFS_SEED") {
        Ok(s) => vec![s.parse().expect("PIFS_SEED must be an integer")],
        Err(_) => default.collect(),
    }
}

/// A workload for the switch: bags per port, device timing, and how the upstream side returns
/// credits.
#[derive(Clone, Debug)]
struct SwScenario {
    ports: Vec<Vec<BagSpec>>,
    seed: u64,
    /// Device latency and jitter, cycles.
    latency: u64,
    jitter: u64,
    /// The upstream side returns a line's credit this many cycles after the line arrived ...
    credit_delay: u64,
    /// ... except for the first `withheld` lines, whose credits it keeps (a smaller window).
    withheld: usize,
}

/// Line address of line 0 of row `row` of bag `bag` at port `port` (64-byte units).
fn line_addr(port: usize, bag: usize, row: usize) -> u64 {
    ((((port as u64) << 12 | bag as u64) << 8) | row as u64) << 3
}

/// The devices' contents: each row's lines where `line_addr` puts them.
struct Memory<'a>(&'a SwScenario);

impl LineSource for Memory<'_> {
    fn line(&self, addr: u64) -> [u8; 64] {
        let idx = addr / 64;
        let (l, row, bag, port) = (
            (idx & 7) as usize,
            ((idx >> 3) & 0xFF) as usize,
            ((idx >> 11) & 0xFFF) as usize,
            (idx >> 23) as usize,
        );
        let mut out = [0u8; 64];
        if let Some(r) = self
            .0
            .ports
            .get(port)
            .and_then(|b| b.get(bag))
            .and_then(|b| b.rows.get(row))
        {
            for i in 0..16 {
                out[4 * i..4 * i + 4].copy_from_slice(&r[l * 16 + i].to_le_bytes());
            }
        }
        out
    }
}

/// What one run produced.
#[derive(Debug, Default)]
struct SwOutcome {
    up: Vec<UpLine>,
    reqs: Vec<MemReq>,
    /// Per port, per bag: the summed lines.
    sums: Vec<Vec<Vec<u32>>>,
    /// Per port, per bag, per line: how many times the line came upstream.
    line_counts: Vec<Vec<Vec<u32>>>,
    /// Per port: the order its MemData lines were sent in, (bag, row, line).
    order: Vec<Vec<(usize, usize, usize)>>,
    /// Per port: the MemRd requests its RowReads ask for, in command order: (tag, addr).
    want_reqs: Vec<Vec<(u16, u64)>>,
    counters: Vec<PortCounters>,
    switch: SwitchCounters,
    /// Cycles until the last upstream line, inclusive.
    cycles: u64,
    /// Cycles in which each credit pulse was given (one per cycle, in queue order).
    pulses: Vec<u64>,
    /// The cycle the run ended at.
    end: u64,
}

/// Per-port host bookkeeping: the bag in each slot of the current wave.
#[derive(Default)]
struct PortHost {
    next: usize,
    slots: Vec<usize>,
    open: usize,
    tags: Vec<Option<(usize, usize, usize)>>,
}

/// Play `sc` into `sw`: per port, waves of bags that fit the slots and tags (BagOpen, then one
/// RowRead per row), the host's words interleaved over the ports on the one command stream; the
/// devices answer the switch's MemRd requests; the upstream side returns credits.
fn play(sw: &mut dyn SwitchModel, sc: &SwScenario) -> Result<SwOutcome, SimError> {
    let n = sc.ports.len();
    assert!(n <= sw.ports());
    let mem = Memory(sc);
    let mut devs: Vec<MemDevice> = (0..n as u64)
        .map(|p| MemDevice::new(sc.latency, sc.jitter, sc.seed ^ (p << 32)))
        .collect();
    let mut m2s: Vec<M2sPacker> = (0..n as u64)
        .map(|p| M2sPacker::new(sc.seed ^ 0x3253 ^ p))
        .collect();
    let mut decoders: Vec<Decoder> = (0..n).map(|_| Decoder::new(Dir::S2M)).collect();
    let mut m2s_queue: Vec<VecDeque<(u64, Message)>> = vec![VecDeque::new(); n];
    let mut m2s_avail: Vec<VecDeque<Message>> = vec![VecDeque::new(); n];
    let mut link_free = vec![0u64; n];
    let mut hosts: Vec<PortHost> = (0..n)
        .map(|_| PortHost {
            tags: vec![None; NUM_TAGS],
            ..Default::default()
        })
        .collect();
    let mut out = SwOutcome {
        sums: sc
            .ports
            .iter()
            .map(|bags| bags.iter().map(|b| vec![0; b.lines * 16]).collect())
            .collect(),
        line_counts: sc
            .ports
            .iter()
            .map(|bags| bags.iter().map(|b| vec![0; b.lines]).collect())
            .collect(),
        order: vec![Vec::new(); n],
        want_reqs: vec![Vec::new(); n],
        ..Default::default()
    };
    let total: usize = sc.ports.iter().map(Vec::len).sum();
    let step = sc.latency.clamp(1, 32);
    let (mut now, mut done, mut withheld, mut last_pulse) = (0u64, 0usize, sc.withheld, None);
    let mut flits: Vec<(u64, Flit)> = Vec::new();
    while done < total {
        // Host: a new wave for every port whose previous wave is complete.
        let mut per_port: Vec<VecDeque<SwitchCmd>> = vec![VecDeque::new(); n];
        for (p, h) in hosts.iter_mut().enumerate() {
            if h.open > 0 || h.next == sc.ports[p].len() {
                continue;
            }
            h.slots.clear();
            h.tags.iter_mut().for_each(|t| *t = None);
            let mut tag = 0usize;
            while h.next < sc.ports[p].len() && h.slots.len() < NUM_BAGS {
                let b = &sc.ports[p][h.next];
                if tag + b.rows.len() * b.lines > NUM_TAGS {
                    break;
                }
                let slot = h.slots.len() as u8;
                per_port[p].push_back(SwitchCmd::new(
                    p as u8,
                    Command::BagOpen {
                        bag: slot,
                        rows: b.rows.len() as u16,
                        lines: b.lines as u8,
                    },
                ));
                for r in 0..b.rows.len() {
                    let a = line_addr(p, h.next, r);
                    per_port[p].push_back(SwitchCmd::new(
                        p as u8,
                        Command::RowRead {
                            bag: slot,
                            tag: tag as u8,
                            lines: b.lines as u8,
                            line_addr: a,
                        },
                    ));
                    for l in 0..b.lines {
                        h.tags[tag + l] = Some((h.next, r, l));
                        out.want_reqs[p].push(((tag + l) as u16, (a + l as u64) * 64));
                    }
                    tag += b.lines;
                }
                h.slots.push(h.next);
                h.next += 1;
            }
            h.open = h.slots.len();
        }
        let mut cmds = Vec::new();
        while per_port.iter().any(|q| !q.is_empty()) {
            for q in per_port.iter_mut() {
                if let Some(c) = q.pop_front() {
                    cmds.push((now, c));
                }
            }
        }
        sw.push_cmds(&cmds);

        now += step;
        sw.run_to(now)?;

        // MemRd requests to the devices, packed into M2S flits, one flit per cycle.
        for r in sw.take_mem_reqs() {
            m2s_queue[r.port as usize]
                .push_back((r.cycle + 1, Message::M2sReq(M2sReq::mem_rd(r.tag, r.addr))));
            out.reqs.push(r);
        }
        for p in 0..n {
            while !m2s_queue[p].is_empty() || !m2s_avail[p].is_empty() {
                let mut c = link_free[p];
                if m2s_avail[p].is_empty() {
                    c = c.max(m2s_queue[p].front().unwrap().0);
                }
                while m2s_queue[p].front().is_some_and(|(a, _)| *a <= c) {
                    m2s_avail[p].push_back(m2s_queue[p].pop_front().unwrap().1);
                }
                if let Some(f) = m2s[p].next_flit(&mut m2s_avail[p]) {
                    devs[p]
                        .receive(c, &f)
                        .map_err(|e| SimError::Check(format!("port {p}: M2S flit: {e}")))?;
                }
                link_free[p] = c + 1;
            }
            // Device responses that are final, in the order they are sent.
            flits.clear();
            devs[p].emit_until(now + sc.latency, &mem, &mut flits);
            for (_, f) in &flits {
                let msgs = decoders[p]
                    .push(f)
                    .map_err(|e| SimError::Check(format!("port {p}: S2M flit: {e}")))?;
                for m in msgs {
                    if let Message::S2mDrs(h, _) = m {
                        let at = hosts[p].tags[h.tag as usize].ok_or_else(|| {
                            SimError::Check(format!("port {p}: data for unmapped tag {}", h.tag))
                        })?;
                        out.order[p].push(at);
                    }
                }
            }
            sw.push_flits(p, &flits);
        }

        // Upstream lines: assemble the sums, return credits.
        let mut grants = Vec::new();
        for u in sw.take_upstream() {
            let p = u.port as usize;
            let h = &mut hosts[p];
            let b = *h.slots.get(u.bag as usize).ok_or_else(|| {
                SimError::Check(format!("port {p}: line for unused slot {}", u.bag))
            })?;
            let lanes = &mut out.sums[p][b];
            let at = u.line as usize * 16;
            if at + 16 > lanes.len() {
                return Err(SimError::Check(format!(
                    "port {p} bag {b}: line {}",
                    u.line
                )));
            }
            lanes[at..at + 16].copy_from_slice(&u.data);
            out.line_counts[p][b][u.line as usize] += 1;
            if u.last {
                h.open -= 1;
                done += 1;
            }
            if withheld > 0 {
                withheld -= 1;
            } else {
                // A credit queued for a cycle already simulated is given in the current one.
                let at = (u.cycle + sc.credit_delay).max(now);
                let at = last_pulse.map_or(at, |l: u64| at.max(l + 1));
                last_pulse = Some(at);
                grants.push(at);
                out.pulses.push(at);
            }
            out.cycles = out.cycles.max(u.cycle + 1);
            out.up.push(u);
        }
        sw.grant_credits(&grants);
        if now > 2_000_000 {
            return Err(SimError::Deadlock(now));
        }
    }
    // Let the counters settle, then nothing more may come out.
    out.end = now + 64;
    sw.run_to(out.end)?;
    if !sw.take_upstream().is_empty() || !sw.take_mem_reqs().is_empty() {
        return Err(SimError::Check("output after the last bag".into()));
    }
    out.counters = (0..n).map(|p| sw.counters(p)).collect();
    out.switch = sw.switch_counters();
    sw.finish();
    Ok(out)
}

/// Random bags at every port: empty, short and long bags (up to the 256 tags), any row size,
/// IEEE special values, duplicate rows; device latency 32-100 cycles, with or without jitter.
fn random_switch_scenario(seed: u64, ports: usize) -> SwScenario {
    let mut rng = Rng::new(seed);
    let mut bags = Vec::new();
    for _ in 0..ports {
        let nbags = rng.range(0, 24) as usize;
        let mut v = Vec::new();
        for _ in 0..nbags {
            let lines = rng.range(1, 8) as usize;
            let max_rows = 256 / lines;
            let rows = match rng.below(4) {
                0 => 0,
                1 => rng.range(1, 3) as usize,
                2 => rng.range(1, max_rows as u64) as usize,
                _ => max_rows,
            };
            let mut b = random_bag(&mut rng, rows, lines, Values::Special, 0.0);
            for i in 1..b.rows.len() {
                if rng.chance(0.1) {
                    let j = rng.below(i as u64) as usize;
                    b.rows[i] = b.rows[j].clone();
                }
            }
            v.push(b);
        }
        bags.push(v);
    }
    SwScenario {
        ports: bags,
        seed,
        latency: rng.range(32, 100),
        jitter: if rng.chance(0.5) { 0 } else { rng.range(1, 64) },
        credit_delay: rng.range(1, 16),
        withheld: 0,
    }
}

/// Sums equal the order replay of pifs-tb, bit for bit, at every port.
fn check_sums(sc: &SwScenario, out: &SwOutcome, what: &str) {
    for (p, bags) in sc.ports.iter().enumerate() {
        let port_sc = Scenario {
            bags: bags.clone(),
            seed: sc.seed,
            out_of_order: false,
            gap_chance: 0.0,
            res_ready_percent: 100,
        };
        let want = expected_sums(&port_sc, &out.order[p]);
        for (b, w) in want.iter().enumerate() {
            assert_eq!(
                &out.sums[p][b],
                w,
                "{what}: port {p} bag {b} ({} rows x {} lines)",
                bags[b].rows.len(),
                bags[b].lines
            );
        }
    }
}

/// Every bag line came upstream exactly once, and only those.
fn check_lines_once(sc: &SwScenario, out: &SwOutcome, what: &str) {
    for (p, bags) in out.line_counts.iter().enumerate() {
        for (b, lines) in bags.iter().enumerate() {
            assert!(
                lines.iter().all(|&c| c == 1),
                "{what}: port {p} bag {b}: line counts {lines:?}"
            );
        }
    }
    let want: usize = sc.ports.iter().flatten().map(|b| b.lines).sum();
    assert_eq!(out.up.len(), want, "{what}: upstream lines");
    assert_eq!(
        out.switch.up_lines as usize, want,
        "{what}: up_lines counter"
    );
}

/// Each port's MemRd requests are its RowReads' lines, in command order, and a row's lines
/// leave in consecutive cycles when nothing stalls.
fn check_mem_reqs(sc: &SwScenario, out: &SwOutcome, what: &str, consecutive: bool) {
    for p in 0..sc.ports.len() {
        let got: Vec<(u16, u64)> = out
            .reqs
            .iter()
            .filter(|r| r.port as usize == p)
            .map(|r| (r.tag, r.addr))
            .collect();
        assert_eq!(
            got, out.want_reqs[p],
            "{what}: port {p} MemRd tags and addresses"
        );
        if consecutive {
            let cyc: Vec<u64> = out
                .reqs
                .iter()
                .filter(|r| r.port as usize == p)
                .map(|r| r.cycle)
                .collect();
            let mut i = 0;
            for b in &sc.ports[p] {
                for _ in 0..b.rows.len() {
                    for l in 1..b.lines {
                        assert_eq!(
                            cyc[i + l],
                            cyc[i] + l as u64,
                            "{what}: port {p}: a row's reads are back to back"
                        );
                    }
                    i += b.lines;
                }
            }
        }
    }
    assert_eq!(
        out.switch.mem_reqs as usize,
        out.reqs.len(),
        "{what}: mem_reqs"
    );
}

/// Lines sent by any cycle never exceed the initial credits plus the pulses given before it.
fn check_credits(out: &SwOutcome, initial: u64, what: &str) {
    for (k, u) in out.up.iter().enumerate() {
        let granted = out.pulses.iter().filter(|&&c| c < u.cycle).count() as u64;
        assert!(
            (k as u64) < initial + granted,
            "{what}: line {k} in cycle {}: {} sent, {initial} + {granted} credits",
            u.cycle,
            k + 1
        );
    }
    let given = out.pulses.iter().filter(|&&c| c < out.end).count() as u64;
    assert_eq!(
        out.switch.credits,
        initial + given - out.up.len() as u64,
        "{what}: credits left"
    );
}

/// Identical upstream lines (cycles included), MemRd requests and per-port counters.
fn check_backends_agree(r: &SwOutcome, m: &SwOutcome, what: &str) {
    assert_eq!(r.up.len(), m.up.len(), "{what}: upstream line count");
    for (i, (a, b)) in r.up.iter().zip(&m.up).enumerate() {
        assert_eq!(a, b, "{what}: upstream line {i} (rtl, model)");
    }
    assert_eq!(r.reqs, m.reqs, "{what}: MemRd requests");
    for (p, (a, b)) in r.counters.iter().zip(&m.counters).enumerate() {
        assert_eq!(a, b, "{what}: port {p} counters");
    }
    assert_eq!(r.switch, m.switch, "{what}: switch counters");
    assert_eq!(r.cycles, m.cycles, "{what}: cycles");
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
            check_backends_agree(&r, &m, &format!("seed {seed}"));
            check_mem_reqs(&sc, &m, &format!("seed {seed} model"), true);
        }
        for (o, what) in [(&r, "rtl"), (&m, "model")] {
            let what = format!("seed {seed} {what}");
            check_sums(&sc, o, &what);
            check_lines_once(&sc, o, &what);
            check_credits(o, cfg.up_credits, &what);
            assert_eq!(o.switch.cmd_errors, 0, "{what}");
            for (p, c) in o.counters.iter().enumerate() {
                assert_eq!(
                    c.crc_errors + c.proto_errors + c.cmd_errors + c.tag_errors,
                    0,
                    "{what} port {p}: {c:?}"
                );
            }
        }
        check_mem_reqs(&sc, &r, &format!("seed {seed} rtl"), true);
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
    check_lines_once(&sc, &r, "rtl");
    check_sums(&sc, &r, "rtl");
    assert!(
        r.counters.iter().all(|c| c.res_stall_cycles > 0),
        "every port was held back by its full egress FIFO"
    );
    let mut model = ModelSwitch::new(SwitchConfig::default()).unwrap();
    let m = play(&mut model, &sc).unwrap();
    check_fair(&m, 8, per_port, "model");
    check_lines_once(&sc, &m, "model");
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
    check_lines_once(&sc, &r, "rtl");
    check_sums(&sc, &r, "rtl");
    check_credits(&r, 32, "rtl");
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
    check_lines_once(&sc, &m, "model");
    check_sums(&sc, &m, "model");
    check_credits(&m, 2, "model");
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
        };
        let (r, m, exact) = run_both(&sc);
        assert!(exact, "seed {seed}");
        check_backends_agree(&r, &m, &format!("seed {seed}"));
        check_sums(&sc, &r, &format!("seed {seed}"));
        check_credits(&r, 32, &format!("seed {seed}"));
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
        sw.finish();
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
        check_sums(&sc, &r, &format!("seed {seed}"));
        check_lines_once(&sc, &r, &format!("seed {seed}"));
        check_mem_reqs(&sc, &r, &format!("seed {seed}"), false);
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
    }
}

#[test]
fn fixed_8_port_scenario() {
    let sc = fixed_scenario();
    let (r, m, exact) = run_both(&sc);
    assert!(exact);
    check_backends_agree(&r, &m, "fixed");
    check_sums(&sc, &r, "fixed");
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

#[test]
fn waves_are_written_when_asked() {
    let path = std::env::temp_dir().join(format!("pifs-switch-{}.fst", std::process::id()));
    let mut rtl = RtlSwitch::new(9, Some(&path)).unwrap();
    let mut rng = Rng::new(9);
    let sc = SwScenario {
        ports: vec![vec![random_bag(&mut rng, 3, 2, Values::Plain, 0.0)]; 2],
        seed: 9,
        latency: 32,
        jitter: 0,
        credit_delay: 1,
        withheld: 0,
    };
    let out = play(&mut rtl, &sc).unwrap();
    check_sums(&sc, &out, "waves");
    drop(rtl);
    let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let _ = std::fs::remove_file(&path);
    assert!(len > 1000, "FST of {len} bytes at {}", path.display());
}
