//! The switch testbench pieces (`rtl/pifs_switch_top.sv` through [`SwitchModel`], Verilated or
//! modelled): a scenario of bags per downstream port, [`play`] (the host's waves of BagOpen and
//! RowRead commands, one memory-device model per port answering the switch's own MemRd
//! requests, the upstream side returning credits) and the scoreboard checks shared by
//! `tests/switch.rs` and the `switch_random` regression testbench: sums vs the order replay
//! ([`crate::expected_sums`]), every bag line upstream exactly once, MemRd requests vs the
//! RowReads, the credit bound, and RTL vs model cycle for cycle. Each check returns the first
//! problem it finds as `Err`.

use crate::coverage::{self, CmdTap, Coverage, FlitTap};
use crate::{
    expected_sums, random_bag, random_mixed_bag, repeat_some_rows, BagSpec, Scenario, Values,
};
use pifs_cxl::{Decoder, Dir, Flit, M2sPacker, M2sReq, Message};
use pifs_rng::Rng;
use pifs_sim::buffer::BufferCounters;
use pifs_sim::device::{LineSource, MemDevice};
use pifs_sim::params::{NUM_BAGS, NUM_TAGS};
use pifs_sim::switch::{MemReq, SwitchCmd, SwitchCounters, SwitchModel, UpLine};
use pifs_sim::{Command, PortCounters, SimError};
use std::collections::VecDeque;

/// A workload for the switch: bags per port, device timing, and how the upstream side returns
/// credits.
#[derive(Clone, Debug, PartialEq)]
pub struct SwScenario {
    pub ports: Vec<Vec<BagSpec>>,
    pub seed: u64,
    /// Device latency and jitter, cycles.
    pub latency: u64,
    pub jitter: u64,
    /// The upstream side returns a line's credit this many cycles after the line arrived ...
    pub credit_delay: u64,
    /// ... except for the first `withheld` lines, whose credits it keeps (a smaller window).
    pub withheld: usize,
    /// Row r of every bag at a port is one row in memory (`line_addr(port, 0, r)`; the bags
    /// must agree on its values and row size): bags re-read rows, so a row buffer hits. The
    /// accumulation order is then taken from the switch's line-tag monitor
    /// ([`SwitchModel::take_line_tags`]), not from the devices' send order.
    pub shared_rows: bool,
}

/// Line address of row `row` of bag `bag` at port `port` in scenario `sc`.
pub fn row_addr(sc: &SwScenario, port: usize, bag: usize, row: usize) -> u64 {
    line_addr(port, if sc.shared_rows { 0 } else { bag }, row)
}

/// Line address of line 0 of row `row` of bag `bag` at port `port` (64-byte units).
pub fn line_addr(port: usize, bag: usize, row: usize) -> u64 {
    ((((port as u64) << 12 | bag as u64) << 8) | row as u64) << 3
}

/// The devices' contents: each row's lines where `line_addr` puts them.
pub struct Memory<'a>(pub &'a SwScenario);

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
        let bags = self.0.ports.get(port);
        let r = if self.0.shared_rows {
            bags.and_then(|b| b.iter().find_map(|b| b.rows.get(row)))
        } else {
            bags.and_then(|b| b.get(bag)).and_then(|b| b.rows.get(row))
        };
        if let Some(r) = r {
            for i in 0..16 {
                out[4 * i..4 * i + 4].copy_from_slice(&r[l * 16 + i].to_le_bytes());
            }
        }
        out
    }
}

/// What one run produced.
#[derive(Clone, Debug, Default)]
pub struct SwOutcome {
    pub up: Vec<UpLine>,
    pub reqs: Vec<MemReq>,
    /// Per port, per bag: the summed lines.
    pub sums: Vec<Vec<Vec<u32>>>,
    /// Per port, per bag, per line: how many times the line came upstream.
    pub line_counts: Vec<Vec<Vec<u32>>>,
    /// Per port: the order its MemData lines were sent in, (bag, row, line).
    pub order: Vec<Vec<(usize, usize, usize)>>,
    /// Per port: the MemRd requests its RowReads ask for, in command order: (tag, addr).
    pub want_reqs: Vec<Vec<(u16, u64)>>,
    pub counters: Vec<PortCounters>,
    pub switch: SwitchCounters,
    /// Cycles until the last upstream line, inclusive.
    pub cycles: u64,
    /// Cycles in which each credit pulse was given (one per cycle, in queue order).
    pub pulses: Vec<u64>,
    /// The cycle the run ended at.
    pub end: u64,
    /// Every host command, with the cycle it was offered from (for coverage).
    pub cmds: Vec<(u64, SwitchCmd)>,
    /// Per port: the S2M flits the device sent, with the cycle each was offered from.
    pub s2m: Vec<Vec<(u64, Flit)>>,
    /// Per port: the row buffer's counts at the end.
    pub buffer: Vec<BufferCounters>,
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
pub fn play(sw: &mut dyn SwitchModel, sc: &SwScenario) -> Result<SwOutcome, SimError> {
    let out = play_on(sw, sc)?;
    sw.finish()?;
    Ok(out)
}

/// [`play`] without finishing the switch, which keeps its state for the next scenario (the soak
/// plays many into one model). Starts at the switch's current cycle; the counters in the outcome
/// are cumulative since the switch was built, and the withheld credits stay withheld.
pub fn play_on(sw: &mut dyn SwitchModel, sc: &SwScenario) -> Result<SwOutcome, SimError> {
    let n = sc.ports.len();
    if n > sw.ports() {
        return Err(SimError::Config(format!(
            "a scenario for {n} ports on a switch with {}",
            sw.ports()
        )));
    }
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
        s2m: vec![Vec::new(); n],
        ..Default::default()
    };
    let total: usize = sc.ports.iter().map(Vec::len).sum();
    let step = sc.latency.clamp(1, 32);
    let start = sw.now();
    sw.record_line_tags(sc.shared_rows);
    let (mut now, mut done, mut withheld, mut last_pulse) = (start, 0usize, sc.withheld, None);
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
                    let a = row_addr(sc, p, h.next, r);
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
        out.cmds.extend_from_slice(&cmds);

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
                        if sc.shared_rows {
                            continue;
                        }
                        let at = hosts[p].tags[h.tag as usize].ok_or_else(|| {
                            SimError::Check(format!("port {p}: data for unmapped tag {}", h.tag))
                        })?;
                        out.order[p].push(at);
                    }
                }
            }
            sw.push_flits(p, &flits);
            out.s2m[p].extend_from_slice(&flits);
        }

        // The accumulation order from the line-tag monitor (rows shared between bags).
        for (_, p, tag) in sw.take_line_tags() {
            let p = p as usize;
            let at = hosts[p].tags[tag as usize].ok_or_else(|| {
                SimError::Check(format!(
                    "port {p}: line with unmapped tag {tag} accumulated"
                ))
            })?;
            out.order[p].push(at);
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
        if now - start > 2_000_000 {
            return Err(SimError::Deadlock(now - start));
        }
    }
    // Let the counters settle, then nothing more may come out.
    out.end = now + 64;
    sw.run_to(out.end)?;
    if !sw.take_upstream().is_empty() || !sw.take_mem_reqs().is_empty() {
        return Err(SimError::Check("output after the last bag".into()));
    }
    out.counters = (0..n).map(|p| sw.counters(p)).collect();
    out.buffer = (0..n).map(|p| sw.buffer_counters(p)).collect();
    out.switch = sw.switch_counters();
    Ok(out)
}

/// Random bags at every port: empty, short and long bags (up to the 256 tags), any row size,
/// IEEE special values, duplicate rows; device latency 32-100 cycles, with or without jitter.
pub fn random_switch_scenario(seed: u64, ports: usize) -> SwScenario {
    let mut rng = Rng::new(seed);
    let mut bags = Vec::new();
    for _ in 0..ports {
        let nbags = rng.range(0, 24) as usize;
        bags.push(
            (0..nbags)
                .map(|_| random_mixed_bag(&mut rng, Values::Special, 0.0))
                .collect(),
        );
    }
    SwScenario {
        ports: bags,
        seed,
        latency: rng.range(32, 100),
        jitter: if rng.chance(0.5) { 0 } else { rng.range(1, 64) },
        credit_delay: rng.range(1, 16),
        withheld: 0,
        shared_rows: false,
    }
}

macro_rules! ensure {
    ($cond:expr, $($arg:tt)+) => {
        if !$cond {
            return Err(format!($($arg)+));
        }
    };
}

/// Bags that re-read the same rows (`shared_rows`): per port a pool of rows of one row size,
/// and bags that read its first k rows (k random, 0 .. the pool), so row 0 is read by every
/// non-empty bag and the last rows rarely: a skewed reuse a row buffer can exploit. Plain values
/// (no specials: a NaN payload would make equal sums differ bit for bit), no poison.
pub fn shared_rows_scenario(seed: u64, ports: usize) -> SwScenario {
    let mut rng = Rng::new(seed);
    let mut bags = Vec::new();
    for _ in 0..ports {
        let lines = rng.range(1, 4) as usize;
        let n = rng.range(1, 64) as usize;
        let pool = random_bag(&mut rng, n, lines, Values::Plain, 0.0);
        let nbags = rng.range(0, 40) as usize;
        bags.push(
            (0..nbags)
                .map(|_| {
                    let k = rng.range(0, pool.rows.len() as u64) as usize;
                    BagSpec {
                        lines,
                        rows: pool.rows[..k].to_vec(),
                        poisoned: vec![false; k],
                    }
                })
                .collect(),
        );
    }
    SwScenario {
        ports: bags,
        seed,
        latency: rng.range(32, 100),
        jitter: if rng.chance(0.5) { 0 } else { rng.range(1, 64) },
        credit_delay: rng.range(1, 16),
        withheld: 0,
        shared_rows: true,
    }
}

/// With a row buffer: each port's MemRds are its RowReads' lines minus the buffer's hits, in
/// RowRead order (a subsequence), and hits + misses = RowRead lines.
pub fn check_mem_reqs_with_hits(out: &SwOutcome, what: &str) -> Result<(), String> {
    for (p, want) in out.want_reqs.iter().enumerate() {
        let got: Vec<(u16, u64)> = out
            .reqs
            .iter()
            .filter(|r| r.port as usize == p)
            .map(|r| (r.tag, r.addr))
            .collect();
        let b = out.buffer.get(p).copied().unwrap_or_default();
        ensure!(
            got.len() as u64 == want.len() as u64 - b.hits.min(want.len() as u64)
                && b.hits + b.misses == want.len() as u64,
            "{what}: port {p}: {} MemRds, {} RowRead lines, buffer {b:?}",
            got.len(),
            want.len()
        );
        let mut it = want.iter();
        for (i, g) in got.iter().enumerate() {
            ensure!(
                it.any(|w| w == g),
                "{what}: port {p} MemRd {i} {g:?} is not the next RowRead line still unread"
            );
        }
    }
    Ok(())
}

/// Sums equal the order replay of pifs-tb, bit for bit, at every port.
pub fn check_sums(sc: &SwScenario, out: &SwOutcome, what: &str) -> Result<(), String> {
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
            let got = &out.sums[p][b];
            if let Some(k) = (0..w.len().max(got.len())).find(|&k| got.get(k) != w.get(k)) {
                return Err(format!(
                    "{what}: port {p} bag {b} ({} rows x {} lines) lane {k}: switch {:#010x?}, order replay {:#010x?}",
                    bags[b].rows.len(),
                    bags[b].lines,
                    got.get(k),
                    w.get(k)
                ));
            }
        }
    }
    Ok(())
}

/// Every bag line came upstream exactly once, and only those.
pub fn check_lines_once(sc: &SwScenario, out: &SwOutcome, what: &str) -> Result<(), String> {
    for (p, bags) in out.line_counts.iter().enumerate() {
        for (b, lines) in bags.iter().enumerate() {
            ensure!(
                lines.iter().all(|&c| c == 1),
                "{what}: port {p} bag {b}: line counts {lines:?}"
            );
        }
    }
    let want: usize = sc.ports.iter().flatten().map(|b| b.lines).sum();
    ensure!(
        out.up.len() == want,
        "{what}: {} upstream lines, {want} bag lines",
        out.up.len()
    );
    ensure!(
        out.switch.up_lines as usize == want,
        "{what}: up_lines counter {}, {want} bag lines",
        out.switch.up_lines
    );
    Ok(())
}

/// Each port's MemRd requests are its RowReads' lines, in command order, and (`consecutive`)
/// a row's lines leave in consecutive cycles, as they do when nothing stalls.
pub fn check_mem_reqs(
    sc: &SwScenario,
    out: &SwOutcome,
    what: &str,
    consecutive: bool,
) -> Result<(), String> {
    for p in 0..sc.ports.len() {
        let got: Vec<(u16, u64)> = out
            .reqs
            .iter()
            .filter(|r| r.port as usize == p)
            .map(|r| (r.tag, r.addr))
            .collect();
        if let Some(i) = (0..got.len().max(out.want_reqs[p].len()))
            .find(|&i| got.get(i) != out.want_reqs[p].get(i))
        {
            return Err(format!(
                "{what}: port {p} MemRd {i} (tag, addr): {:?}, RowReads ask for {:?} ({} requests, {} expected)",
                got.get(i),
                out.want_reqs[p].get(i),
                got.len(),
                out.want_reqs[p].len()
            ));
        }
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
                        ensure!(
                            cyc[i + l] == cyc[i] + l as u64,
                            "{what}: port {p}: a row's reads are not back to back (cycles {} and {})",
                            cyc[i],
                            cyc[i + l]
                        );
                    }
                    i += b.lines;
                }
            }
        }
    }
    ensure!(
        out.switch.mem_reqs as usize == out.reqs.len(),
        "{what}: mem_reqs counter {}, {} requests seen",
        out.switch.mem_reqs,
        out.reqs.len()
    );
    Ok(())
}

/// Lines sent by any cycle never exceed the initial credits plus the pulses given before it,
/// and the credits left at the end are the initial ones plus those given minus the lines.
pub fn check_credits(out: &SwOutcome, initial: u64, what: &str) -> Result<(), String> {
    for (k, u) in out.up.iter().enumerate() {
        let granted = out.pulses.iter().filter(|&&c| c < u.cycle).count() as u64;
        ensure!(
            (k as u64) < initial + granted,
            "{what}: line {k} in cycle {}: {} sent, {initial} + {granted} credits",
            u.cycle,
            k + 1
        );
    }
    let given = out.pulses.iter().filter(|&&c| c < out.end).count() as u64;
    let want = (initial + given).checked_sub(out.up.len() as u64);
    ensure!(
        want == Some(out.switch.credits),
        "{what}: {} credits left; {initial} initial + {given} given - {} lines",
        out.switch.credits,
        out.up.len()
    );
    Ok(())
}

/// Identical upstream lines (cycles included), MemRd requests and per-port counters.
pub fn check_backends_agree(r: &SwOutcome, m: &SwOutcome, what: &str) -> Result<(), String> {
    ensure!(
        r.up.len() == m.up.len(),
        "{what}: upstream line count rtl {} model {}",
        r.up.len(),
        m.up.len()
    );
    for (i, (a, b)) in r.up.iter().zip(&m.up).enumerate() {
        ensure!(a == b, "{what}: upstream line {i}: rtl {a:?}, model {b:?}");
    }
    if let Some(i) = (0..r.reqs.len().max(m.reqs.len())).find(|&i| r.reqs.get(i) != m.reqs.get(i)) {
        return Err(format!(
            "{what}: MemRd request {i}: rtl {:?}, model {:?}",
            r.reqs.get(i),
            m.reqs.get(i)
        ));
    }
    for (p, (a, b)) in r.counters.iter().zip(&m.counters).enumerate() {
        ensure!(a == b, "{what}: port {p} counters: rtl {a:?}, model {b:?}");
    }
    ensure!(
        r.switch == m.switch,
        "{what}: switch counters: rtl {:?}, model {:?}",
        r.switch,
        m.switch
    );
    ensure!(
        r.cycles == m.cycles,
        "{what}: cycles rtl {} model {}",
        r.cycles,
        m.cycles
    );
    Ok(())
}

/// No port reported a CRC, packing, command or tag error, and the switch dropped no command.
pub fn check_no_errors(out: &SwOutcome, what: &str) -> Result<(), String> {
    ensure!(
        out.switch.cmd_errors == 0,
        "{what}: the switch dropped {} command word(s)",
        out.switch.cmd_errors
    );
    for (p, c) in out.counters.iter().enumerate() {
        ensure!(
            c.crc_errors + c.proto_errors + c.cmd_errors + c.tag_errors == 0,
            "{what}: port {p} errors: {c:?}"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The `switch_random` regression testbench.

/// A random multi-port workload: logical bags, each split into pieces at a random set of
/// ports (a piece is a [`BagSpec`] in `sc.ports[port]`), random device timing, random credit
/// return, and random upstream and MemRd back-pressure.
#[derive(Clone, Debug, PartialEq)]
pub struct SwRandom {
    pub sc: SwScenario,
    /// Per logical bag: its pieces as (port, index in `sc.ports[port]`).
    pub bags: Vec<Vec<(usize, usize)>>,
    /// Percentage of cycles the upstream stream is ready (100: always).
    pub up_ready: u32,
    /// Percentage of cycles the MemRd request streams are ready (100: always).
    pub memrd_ready: u32,
}

/// Rows of one piece: empty, short, medium, long and full-tag pieces.
fn piece_rows(rng: &mut Rng, lines: usize) -> usize {
    let max_rows = NUM_TAGS / lines;
    match rng.below(10) {
        0 => 0,
        1 | 2 => rng.range(1, 3) as usize,
        3 | 4 => rng.range(4, 15) as usize,
        5..=7 => rng.range(16, max_rows as u64) as usize,
        _ => max_rows,
    }
}

/// The workload of case `seed` on a switch with `ports` ports. Half the cases run without
/// back-pressure (the model can then be compared cycle for cycle while no egress FIFO fills);
/// half keep most of the 32 initial credits (a window of 1 to 12), so lines wait for credits
/// and egress FIFOs fill.
pub fn random_switch_workload(seed: u64, ports: usize) -> SwRandom {
    let mut rng = Rng::new(seed);
    let mut sc = SwScenario {
        ports: vec![Vec::new(); ports],
        seed,
        latency: rng.range(32, 100),
        jitter: if rng.chance(0.5) { 0 } else { rng.range(1, 64) },
        credit_delay: rng.range(1, 48),
        withheld: if rng.chance(0.5) {
            0
        } else {
            rng.range(20, 31) as usize
        },
        shared_rows: false,
    };
    let (up_ready, memrd_ready) = if rng.chance(0.5) {
        (100, 100)
    } else {
        (rng.range(30, 90) as u32, rng.range(30, 100) as u32)
    };
    let nbags = rng.range(1, 40);
    let mut bags = Vec::new();
    for _ in 0..nbags {
        let lines = rng.range(1, 8) as usize;
        let k = match rng.below(4) {
            0 => 1,
            1 => rng.range(2, 3) as usize,
            2 => rng.range(4, 7) as usize,
            _ => ports,
        }
        .min(ports);
        let mut at: Vec<usize> = (0..ports).collect();
        rng.shuffle(&mut at);
        at.truncate(k);
        at.sort_unstable();
        let mut pieces = Vec::new();
        for p in at {
            let rows = piece_rows(&mut rng, lines);
            let mut b = random_bag(&mut rng, rows, lines, Values::Special, 0.0);
            repeat_some_rows(&mut rng, &mut b);
            pieces.push((p, sc.ports[p].len()));
            sc.ports[p].push(b);
        }
        bags.push(pieces);
    }
    SwRandom {
        sc,
        bags,
        up_ready,
        memrd_ready,
    }
}

/// Ports holding a piece of one logical bag.
pub const PORTS_PER_BAG: &str = "ports_per_bag";
/// Ports whose egress FIFO filled (so the port's result stream stalled) in one case.
pub const EGRESS_FULL: &str = "ports_egress_fifo_full";
/// Cycles a line waited upstream with no credit left, per case (0: credits never ran out).
pub const CREDIT_WAIT: &str = "credit_wait_cycles";
/// Cycles the upstream stream was not ready for an offered line, per case.
pub const UP_STALL: &str = "up_ready_stall_cycles";
/// Request-cycles a MemRd was offered and not taken, per case.
pub const MEMRD_STALL: &str = "memrd_stall_cycles";
/// How the case could compare RTL and model.
pub const CHECK_MODE: &str = "rtl_vs_model";

/// The coverpoints `switch_random` declares.
pub fn switch_coverage() -> Coverage {
    let mut c = Coverage::new();
    coverage::declare_cmd_points(&mut c, true);
    c.named(coverage::SLOT_FORMATS, coverage::SLOT_FORMAT_BINS)
        .ranges(
            coverage::FLIT_GAP,
            &[(0, 0), (1, 1), (2, 7), (8, 63), (64, u64::MAX)],
        )
        .ranges(PORTS_PER_BAG, &[(1, 1), (2, 3), (4, 7), (8, 8)])
        .ranges(EGRESS_FULL, &[(0, 0), (1, 3), (4, 7), (8, 8)])
        .ranges(
            CREDIT_WAIT,
            &[(0, 0), (1, 255), (256, 4095), (4096, u64::MAX)],
        )
        .ranges(UP_STALL, &[(0, 0), (1, 255), (256, u64::MAX)])
        .ranges(MEMRD_STALL, &[(0, 0), (1, 255), (256, u64::MAX)])
        .named(CHECK_MODE, &["cycle-exact", "fifo-filled", "back-pressure"]);
    c
}

/// Sample what one RTL run of `w` showed.
fn sample_switch(cov: &mut Coverage, w: &SwRandom, r: &SwOutcome, mode: &str) {
    let n = w.sc.ports.len();
    let mut taps: Vec<CmdTap> = (0..n).map(|_| CmdTap::new()).collect();
    for (_, c) in &r.cmds {
        if let Some(t) = taps.get_mut(c.port as usize) {
            t.sample(cov, &c.cmd);
        }
    }
    for flits in &r.s2m {
        let mut tap = FlitTap::new();
        for (at, f) in flits {
            tap.sample(cov, *at, f);
        }
    }
    for b in &w.bags {
        cov.sample_value(PORTS_PER_BAG, b.len() as u64);
    }
    let full = r.counters.iter().filter(|c| c.res_stall_cycles > 0).count();
    cov.sample_value(EGRESS_FULL, full as u64);
    cov.sample_value(CREDIT_WAIT, r.switch.up_credit_wait_cycles);
    cov.sample_value(UP_STALL, r.switch.up_stall_cycles);
    cov.sample_value(MEMRD_STALL, r.switch.mem_req_stall_cycles);
    cov.sample(CHECK_MODE, mode);
}

/// One case of `switch_random`: the Verilated switch and the model on the same workload.
/// Always: every bag line upstream exactly once, sums bit for bit equal to the order replay of
/// the run's own MemData order, MemRd requests equal to the RowReads' lines, the credit bound,
/// no port or switch errors, on both backends. Without back-pressure also: the model flags
/// exactly the runs in which the RTL held a port back (an egress FIFO filled), and where it did
/// not, RTL and model agree cycle for cycle (upstream lines, MemRd requests, counters).
/// `cycles` gets the RTL's simulated cycles; the note on success names the mode.
pub fn switch_random_case(
    seed: u64,
    cycles: &mut u64,
    cov: &mut Coverage,
) -> Result<String, String> {
    use pifs_sim::switch_model::ModelSwitch;
    use pifs_sim::switch_rtl::RtlSwitch;
    let mut rtl = RtlSwitch::new(seed, None).map_err(|e| e.to_string())?;
    let cfg = rtl.config();
    let w = random_switch_workload(seed, cfg.ports);
    let pressure = w.up_ready < 100 || w.memrd_ready < 100;
    if pressure {
        rtl.set_ready_percent(w.up_ready, w.memrd_ready);
    }
    let r = play(&mut rtl, &w.sc);
    *cycles = rtl.now();
    let r = r.map_err(|e| format!("rtl: {e}"))?;
    let mut model = ModelSwitch::new(cfg).map_err(|e| e.to_string())?;
    let m = play(&mut model, &w.sc).map_err(|e| format!("model: {e}"))?;
    for (o, what) in [(&r, "rtl"), (&m, "model")] {
        check_lines_once(&w.sc, o, what)?;
        check_sums(&w.sc, o, what)?;
        check_credits(o, cfg.up_credits, what)?;
        check_no_errors(o, what)?;
    }
    check_mem_reqs(&w.sc, &r, "rtl", w.memrd_ready == 100)?;
    check_mem_reqs(&w.sc, &m, "model", true)?;
    let rtl_stalled = r.counters.iter().any(|c| c.res_stall_cycles > 0);
    let mode = if pressure {
        "back-pressure"
    } else {
        ensure!(
            model.timing_exact() != rtl_stalled,
            "the model says timing exact = {}, but the RTL {} a port back",
            model.timing_exact(),
            if rtl_stalled { "held" } else { "never held" }
        );
        if model.timing_exact() {
            check_backends_agree(&r, &m, "rtl vs model")?;
            "cycle-exact"
        } else {
            "fifo-filled"
        }
    };
    sample_switch(cov, &w, &r, mode);
    let pieces: usize = w.sc.ports.iter().map(Vec::len).sum();
    Ok(format!(
        "{} bags in {pieces} pieces, {} lines up, {} MemRd, latency {} jitter {}, credits withheld {} delay {}, ready up {}% memrd {}%, {mode}; credit wait {} cycles, up stall {}, MemRd stall {}, {} port(s) with a full egress FIFO; sums {}",
        w.bags.len(),
        r.up.len(),
        r.reqs.len(),
        w.sc.latency,
        w.sc.jitter,
        w.sc.withheld,
        w.sc.credit_delay,
        w.up_ready,
        w.memrd_ready,
        r.switch.up_credit_wait_cycles,
        r.switch.up_stall_cycles,
        r.switch.mem_req_stall_cycles,
        r.counters.iter().filter(|c| c.res_stall_cycles > 0).count(),
        crate::digest(r.sums.iter().flatten().flatten().copied())
    ))
}

// ---------------------------------------------------------------------------------------------
// The `switch_buffer` regression testbench.

const BUF_POLICY: &str = "buffer_policy";
const BUF_SIZE: &str = "buffer_lines";
const BUF_HIT_RATE: &str = "buffer_hit_percent";
const BUF_EVICTIONS: &str = "buffer_evictions";
const BUF_BYPASSES: &str = "buffer_bypasses";

/// Coverpoints of `switch_buffer`: policy, size, hit rate, evictions and bypasses seen.
pub fn switch_buffer_coverage() -> Coverage {
    let mut c = Coverage::new();
    c.named(BUF_POLICY, &["lru", "hot"])
        .ranges(BUF_SIZE, &[(4, 8), (16, 64), (128, 256)])
        .ranges(BUF_HIT_RATE, &[(0, 0), (1, 49), (50, 100)])
        .ranges(BUF_EVICTIONS, &[(0, 0), (1, u64::MAX)])
        .ranges(BUF_BYPASSES, &[(0, 0), (1, u64::MAX)])
        .named(CHECK_MODE, &["cycle-exact", "fifo-filled"]);
    c
}

/// Case `seed` of `switch_buffer`: bags re-reading shared rows ([`shared_rows_scenario`]) on the
/// switch with every port's row buffer on (random size 4 .. 256 lines of 4 ways, LRU or hot):
/// sums vs the order replay of the accumulators' line-tag monitor, every line once, MemRds =
/// RowRead lines minus hits, credits; the RTL's buffer counts equal the model's, and the RTL
/// equals the model cycle for cycle while no egress FIFO fills.
pub fn switch_buffer_case(
    seed: u64,
    cycles: &mut u64,
    cov: &mut Coverage,
) -> Result<String, String> {
    use pifs_sim::buffer::{BufferConfig, BufferPolicy};
    use pifs_sim::switch::SwitchConfig;
    use pifs_sim::switch_model::ModelSwitch;
    use pifs_sim::switch_rtl::RtlSwitch;
    let mut rng = Rng::new(seed ^ 0xB0FF);
    let mut rtl = RtlSwitch::new(seed, None).map_err(|e| e.to_string())?;
    let (max_lines, ways) = rtl.buffer_capacity();
    if max_lines < 4 {
        return Err(format!(
            "the Verilated switch has no row buffer (BufLines {max_lines})"
        ));
    }
    let sets = 1usize << rng.below((max_lines / ways).trailing_zeros() as u64 + 1);
    let buf = BufferConfig {
        lines: sets * ways,
        ways,
        policy: if (seed >> 7) & 1 == 0 {
            BufferPolicy::Lru
        } else {
            BufferPolicy::Hot
        },
    };
    rtl.set_buffer(buf).map_err(|e| e.to_string())?;
    let cfg = rtl.config();
    let sc = shared_rows_scenario(seed, 1 + rng.below(cfg.ports as u64) as usize);
    let r = play(&mut rtl, &sc);
    *cycles = rtl.now();
    let r = r.map_err(|e| format!("rtl: {e}"))?;
    let mut model =
        ModelSwitch::new(SwitchConfig { buffer: buf, ..cfg }).map_err(|e| e.to_string())?;
    let m = play(&mut model, &sc).map_err(|e| format!("model: {e}"))?;
    for (o, what) in [(&r, "rtl"), (&m, "model")] {
        check_lines_once(&sc, o, what)?;
        check_sums(&sc, o, what)?;
        check_credits(o, cfg.up_credits, what)?;
        check_no_errors(o, what)?;
        check_mem_reqs_with_hits(o, what)?;
    }
    ensure!(
        r.buffer == m.buffer,
        "buffer counts: rtl {:?}, model {:?}",
        r.buffer,
        m.buffer
    );
    let mode = if model.timing_exact() {
        check_backends_agree(&r, &m, "rtl vs model")?;
        "cycle-exact"
    } else {
        "fifo-filled"
    };
    let mut all = BufferCounters::default();
    for b in &r.buffer {
        all.add(b);
    }
    cov.sample(BUF_POLICY, buf.policy.name());
    cov.sample_value(BUF_SIZE, buf.lines as u64);
    cov.sample_value(BUF_HIT_RATE, (all.hit_rate() * 100.0).round() as u64);
    cov.sample_value(BUF_EVICTIONS, all.evictions);
    cov.sample_value(BUF_BYPASSES, all.bypasses);
    cov.sample(CHECK_MODE, mode);
    Ok(format!(
        "{} ports, buffer {} lines x {} ways {}: {} hits, {} misses, {} bypasses, {} evictions, {} MemRd, {mode}",
        sc.ports.len(),
        buf.lines,
        buf.ways,
        buf.policy.name(),
        all.hits,
        all.misses,
        all.bypasses,
        all.evictions,
        r.reqs.len()
    ))
}
