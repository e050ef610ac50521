//! The back-pressure and load soak (`pifs-soak`, `make soak`): long runs made of many
//! consecutive randomised scenarios on ONE Verilated model (no reset between them, so state
//! carries over), with random valid stalls on every stream the harness drives in and random
//! ready stalls on every stream it takes out, phases that fill every queue, starve the upstream
//! credits and put all 256 tags of a port in flight, every bag checked by the existing
//! scoreboards, and a deadlock watchdog that stops the run with a readable dump.
//!
//! The port soak plays [`crate::drive_on`] scenarios into a [`SoakPort`] (the Verilated port
//! behind [`PortAccumulator`], with stall injection and the watchdog) and the same scenarios into
//! the reference [`ModelPort`]; each scenario is checked as `back_pressure` checks one case: RTL
//! vs model sums, accumulation order and counters, sums vs the send-order replay, every bag line
//! out exactly once, no port error. The switch soak plays [`crate::switch_tb::play_on`]
//! scenarios into a [`SoakSwitch`] and checks each as `switch_random` does under back-pressure:
//! sums vs the order replay, every bag line upstream exactly once, MemRds vs the RowReads, the
//! credit bound, no error; after each scenario the withheld credits are returned and the credit
//! count must be back at its reset value.
//!
//! Stalls: the harness offers an input (S2M flits, host commands, credit pulses) from the cycle
//! queued with it; [`SoakPort`] and [`SoakSwitch`] push those cycles later by random gaps
//! ([`StallPlan`]), keeping every queue's order and keeping each wave's flits behind its
//! commands. Outputs (results, upstream, MemRd) are ready a random percentage of cycles.

use crate::regress::{no_port_errors, sums_follow_send_order};
use crate::switch_tb::{
    check_credits, check_lines_once, check_mem_reqs, check_no_errors, check_sums, play_on,
    SwOutcome, SwScenario,
};
use crate::{compare, drive_on, random_bag, random_mixed_bag, BagSpec, Outcome, Scenario, Values};
use pifs_cxl::Flit;
use pifs_rng::Rng;
use pifs_sim::model::ModelPort;
use pifs_sim::params::{NUM_BAGS, NUM_TAGS};
use pifs_sim::rtl::{PortProbe, RtlPort, SwitchProbe};
use pifs_sim::switch::{MemReq, SwitchCmd, SwitchConfig, SwitchCounters, SwitchModel, UpLine};
use pifs_sim::switch_rtl::RtlSwitch;
use pifs_sim::{Arrival, Command, PortAccumulator, PortCounters, PortResult, SimError};
use std::collections::VecDeque;
use std::fmt::Write as _;

/// Default watchdog limit, cycles without forward progress (no flit, command or credit-free
/// line taken, no line accumulated, no result, upstream line or MemRd out) while the model holds
/// or is offered work. Modelling choice: the longest quiet stretch the soak makes on purpose is
/// under 1,000 cycles (device latency up to 400 + jitter 64 in the all-tags phase, credit
/// return up to 256 cycles late, valid gaps up to 64 cycles, ready as low as 2% of cycles:
/// 1,000 cycles without one ready has probability 0.98^1000 < 10^-8), so 10,000 leaves a tenfold
/// margin and still stops a hung 10^7-cycle run within 0.1% of it.
pub const WATCHDOG_CYCLES: u64 = 10_000;

/// Cycles the port soak simulates between two looks at the model (watchdog, tags in flight).
const PORT_CHUNK: u64 = 32;
/// The same for the switch (its testbench already steps in at most 32 cycles).
const SWITCH_CHUNK: u64 = 32;

/// What a soak phase stresses. Phases follow each other round-robin, each scenario drawing its
/// own random sizes and stall rates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Waves that map all 256 tags of a port before the first response returns.
    AllTags,
    /// Outputs ready 2-20% of cycles: result FIFOs, egress FIFOs and MemRd streams back up.
    FullQueues,
    /// (Switch) all but 1-2 of the upstream credits withheld, the rest returned 64-256 cycles
    /// late: lines wait for credits.
    CreditStarve,
    /// Long valid gaps (up to 64 cycles) on every input stream.
    ValidStalls,
    /// Mixed load with light stalls everywhere.
    Flow,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::AllTags => "all-tags",
            Phase::FullQueues => "full-queues",
            Phase::CreditStarve => "credit-starve",
            Phase::ValidStalls => "valid-stalls",
            Phase::Flow => "flow",
        }
    }
}

const PORT_PHASES: [Phase; 4] = [
    Phase::AllTags,
    Phase::FullQueues,
    Phase::ValidStalls,
    Phase::Flow,
];
const SWITCH_PHASES: [Phase; 5] = [
    Phase::AllTags,
    Phase::CreditStarve,
    Phase::FullQueues,
    Phase::ValidStalls,
    Phase::Flow,
];

/// Random valid stalls on the input streams: before each item, with the given chance, a gap of
/// 1 to `gap_max` cycles; `lead` extra cycles before a wave's first flit (a slow device).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StallPlan {
    pub cmd_gap: f64,
    pub flit_gap: f64,
    pub gap_max: u64,
    pub lead: u64,
}

impl StallPlan {
    fn draw(rng: &mut Rng, phase: Phase) -> StallPlan {
        match phase {
            Phase::ValidStalls => StallPlan {
                cmd_gap: 0.05 + 0.25 * rng.unit_f64(),
                flit_gap: 0.05 + 0.25 * rng.unit_f64(),
                gap_max: rng.range(8, 64),
                lead: rng.range(0, 64),
            },
            Phase::AllTags => StallPlan {
                cmd_gap: 0.02 * rng.unit_f64(),
                flit_gap: 0.05 * rng.unit_f64(),
                gap_max: 4,
                // Responses start well after the last command: every tag is in flight at once.
                lead: rng.range(2 * PORT_CHUNK, 4 * PORT_CHUNK),
            },
            _ => StallPlan {
                cmd_gap: 0.05 * rng.unit_f64(),
                flit_gap: 0.05 * rng.unit_f64(),
                gap_max: rng.range(1, 8),
                lead: 0,
            },
        }
    }

    /// Push `times` later by random gaps (cumulative from `shift`), in order; returns the final
    /// shift and adds the gap cycles to `injected`.
    fn apply(
        &self,
        rng: &mut Rng,
        chance: f64,
        shift: u64,
        times: impl Iterator<Item = u64>,
        injected: &mut u64,
    ) -> (Vec<u64>, u64) {
        let mut off = shift;
        let mut out = Vec::new();
        for t in times {
            if chance > 0.0 && self.gap_max > 0 && rng.chance(chance) {
                let g = rng.range(1, self.gap_max);
                off += g;
                *injected += g;
            }
            out.push(t + off);
        }
        (out, off)
    }
}

/// Faults the watchdog's own tests inject on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inject {
    /// The port's result stream is never ready.
    ResultsNeverReady,
    /// The upstream side never returns a credit.
    CreditsNeverReturned,
}

impl Inject {
    pub fn parse(s: &str) -> Option<Inject> {
        match s {
            "res-ready-never" => Some(Inject::ResultsNeverReady),
            "credits-never" => Some(Inject::CreditsNeverReturned),
            _ => None,
        }
    }
}

/// Forward-progress tracking: a set of monotonic marks sampled after each chunk of cycles.
#[derive(Clone, Debug)]
pub struct Watchdog {
    pub limit: u64,
    /// Cycle of the sample at which progress was last seen (chunk granularity).
    pub last: u64,
    /// What moved then.
    pub what: &'static str,
    marks: Vec<u64>,
}

impl Watchdog {
    pub fn new(limit: u64, now: u64) -> Self {
        Watchdog {
            limit,
            last: now,
            what: "start",
            marks: Vec::new(),
        }
    }

    /// Sample the marks at cycle `now`; `idle`: nothing queued or held (not a hang). Returns
    /// true when the run is stuck: no mark moved for `limit` cycles.
    pub fn observe(&mut self, now: u64, marks: &[(&'static str, u64)], idle: bool) -> bool {
        if self.marks.len() != marks.len() {
            self.marks = vec![0; marks.len()];
        }
        for (i, (name, v)) in marks.iter().enumerate() {
            if self.marks[i] != *v {
                self.marks[i] = *v;
                self.last = now;
                self.what = name;
            }
        }
        if idle {
            self.last = now;
            self.what = "idle";
        }
        now.saturating_sub(self.last) >= self.limit
    }
}

fn bit(v: bool) -> u8 {
    v as u8
}

fn at(c: u64) -> String {
    if c == u64::MAX {
        "-".into()
    } else {
        c.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// The port.

/// Counts of one port soak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortSoakCounts {
    pub cycles: u64,
    pub scenarios: u64,
    pub bags: u64,
    /// Result lines out (one per bag line).
    pub lines: u64,
    pub flits: u64,
    /// Gap cycles added in front of commands and flits (valid stalls).
    pub cmd_valid_stall: u64,
    pub flit_valid_stall: u64,
    /// Cycles an input was offered and not taken, or a result offered and not taken.
    pub cmd_ready_stall: u64,
    pub flit_ready_stall: u64,
    pub res_ready_stall: u64,
    /// Most tags mapped and not yet arrived at once (sampled every [`PORT_CHUNK`] cycles).
    pub max_tags_in_flight: u64,
}

/// The Verilated port with valid-stall injection and the deadlock watchdog, behind
/// [`PortAccumulator`] so the ordinary driver plays into it.
pub struct SoakPort {
    rtl: RtlPort,
    rng: Rng,
    pub plan: StallPlan,
    pub dog: Watchdog,
    inject: Option<Inject>,
    res_ready: u32,
    shift: u64,
    results: Vec<PortResult>,
    arrivals: Vec<Arrival>,
    /// Commands pushed and not yet taken.
    pending: VecDeque<Command>,
    taken_seen: u64,
    slot_lines: [u64; NUM_BAGS],
    /// Lines of each open bag slot still to come out.
    open: [Option<u64>; NUM_BAGS],
    mapped_lines: u64,
    results_out: u64,
    pub counts: PortSoakCounts,
}

impl SoakPort {
    pub fn new(rtl: RtlPort, seed: u64, watchdog: u64, inject: Option<Inject>) -> Self {
        let now = rtl.now();
        SoakPort {
            rtl,
            rng: Rng::new(seed ^ 0x50a4_5701),
            plan: StallPlan::default(),
            dog: Watchdog::new(watchdog, now),
            inject,
            res_ready: 100,
            shift: 0,
            results: Vec::new(),
            arrivals: Vec::new(),
            pending: VecDeque::new(),
            taken_seen: 0,
            slot_lines: [1; NUM_BAGS],
            open: [None; NUM_BAGS],
            mapped_lines: 0,
            results_out: 0,
            counts: PortSoakCounts::default(),
        }
    }

    pub fn probe(&self) -> PortProbe {
        self.rtl.probe()
    }

    /// Take what the model produced, account the commands it took, sample the tags in flight.
    fn collect(&mut self) -> PortProbe {
        let res = self.rtl.take_results();
        for r in &res {
            if let Some(Some(left)) = self.open.get_mut(r.bag as usize) {
                *left = left.saturating_sub(1);
                if r.last {
                    self.open[r.bag as usize] = None;
                }
            }
        }
        self.results_out += res.len() as u64;
        self.results.extend(res);
        self.arrivals.extend(self.rtl.take_arrivals());
        let p = self.rtl.probe();
        for _ in self.taken_seen..p.cmds_taken {
            match self.pending.pop_front() {
                Some(Command::BagOpen { bag, lines, .. }) => {
                    if let Some(s) = self.slot_lines.get_mut(bag as usize) {
                        *s = lines as u64;
                        self.open[bag as usize] = Some(lines as u64);
                    }
                }
                Some(Command::RowMap { bag, .. }) => {
                    self.mapped_lines += self.slot_lines.get(bag as usize).copied().unwrap_or(0);
                }
                _ => {}
            }
        }
        self.taken_seen = p.cmds_taken;
        let c = self.rtl.counters();
        let in_flight = self.mapped_lines.saturating_sub(c.lines);
        self.counts.max_tags_in_flight = self.counts.max_tags_in_flight.max(in_flight);
        p
    }

    /// Collect, feed the watchdog; `Err` with the dump when stuck.
    fn look(&mut self, idle: bool) -> Result<(), SimError> {
        let p = self.collect();
        let c = self.rtl.counters();
        let marks = [
            ("flit accepted", c.flits),
            ("line accumulated", c.lines),
            ("result line out", self.results_out),
            ("command accepted", p.cmds_taken),
        ];
        let idle = idle || (!p.busy && p.flits_queued == 0 && p.cmds_queued == 0);
        if self.dog.observe(self.rtl.now(), &marks, idle) {
            return Err(SimError::Check(self.dump(&p)));
        }
        Ok(())
    }

    /// The readable dump of what is stuck.
    pub fn dump(&self, p: &PortProbe) -> String {
        let c = self.rtl.counters();
        let now = self.rtl.now();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "deadlock watchdog: no forward progress for {} cycles: cycle {now}, last progress in cycle {} ({})",
            now - self.dog.last,
            self.dog.last,
            self.dog.what
        );
        let _ = writeln!(s, "  stream          valid ready  harness");
        let _ = writeln!(
            s,
            "  S2M flits in    {:<5} {:<5}  {} queued, head offered from cycle {}",
            bit(p.flit_valid),
            bit(p.flit_ready),
            p.flits_queued,
            at(p.flit_next_at)
        );
        let _ = writeln!(
            s,
            "  commands in     {:<5} {:<5}  {} queued, head offered from cycle {}",
            bit(p.cmd_valid),
            bit(p.cmd_ready),
            p.cmds_queued,
            at(p.cmd_next_at)
        );
        let _ = writeln!(
            s,
            "  results out     {:<5} {:<5}  ready {}% of cycles",
            bit(p.res_valid),
            bit(p.res_ready),
            if self.inject == Some(Inject::ResultsNeverReady) {
                0
            } else {
                self.res_ready
            }
        );
        let open: Vec<String> = self
            .open
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.map(|left| format!("{i}:{left}")))
            .collect();
        let _ = writeln!(
            s,
            "  busy {}; bags open: {} [slot:lines still to come out: {}]; tags mapped and not arrived: {}",
            bit(p.busy),
            open.len(),
            open.join(" "),
            self.mapped_lines.saturating_sub(c.lines)
        );
        let _ = write!(
            s,
            "  since reset: {} flits, {} commands, {} lines accumulated, {} result lines; stalls: flit {} cmd {} result {}",
            c.flits,
            p.cmds_taken,
            c.lines,
            self.results_out,
            c.flit_stall_cycles,
            p.cmd_stall_cycles,
            c.res_stall_cycles
        );
        s
    }

    pub fn finish_counts(&mut self) -> PortSoakCounts {
        let c = self.rtl.counters();
        let p = self.rtl.probe();
        let mut k = self.counts;
        k.cycles = c.cycles;
        k.flits = c.flits;
        k.flit_ready_stall = c.flit_stall_cycles;
        k.res_ready_stall = c.res_stall_cycles;
        k.cmd_ready_stall = p.cmd_stall_cycles;
        k
    }
}

impl PortAccumulator for SoakPort {
    fn backend(&self) -> &'static str {
        "rtl"
    }

    fn push_cmds(&mut self, cmds: &[(u64, Command)]) {
        let plan = self.plan;
        let (times, off) = plan.apply(
            &mut self.rng,
            plan.cmd_gap,
            0,
            cmds.iter().map(|c| c.0),
            &mut self.counts.cmd_valid_stall,
        );
        // The wave's flits go behind its commands: they inherit the gaps.
        self.shift += off;
        let v: Vec<(u64, Command)> = times.into_iter().zip(cmds.iter().map(|c| c.1)).collect();
        self.pending.extend(cmds.iter().map(|c| c.1));
        self.rtl.push_cmds(&v);
    }

    fn push_flits(&mut self, flits: &[(u64, Flit)]) {
        if flits.is_empty() {
            return;
        }
        let plan = self.plan;
        self.counts.flit_valid_stall += plan.lead;
        let (times, _) = plan.apply(
            &mut self.rng,
            plan.flit_gap,
            self.shift + plan.lead,
            flits.iter().map(|f| f.0),
            &mut self.counts.flit_valid_stall,
        );
        self.shift = 0;
        let v: Vec<(u64, Flit)> = times.into_iter().zip(flits.iter().map(|f| f.1)).collect();
        self.rtl.push_flits(&v);
    }

    fn set_res_ready_percent(&mut self, percent: u32) {
        self.res_ready = percent;
        let p = match self.inject {
            Some(Inject::ResultsNeverReady) => 0,
            _ => percent,
        };
        self.rtl.set_res_ready_percent(p);
    }

    fn now(&self) -> u64 {
        self.rtl.now()
    }

    fn run_to(&mut self, until: u64) -> Result<(), SimError> {
        while self.rtl.now() < until {
            let step = (until - self.rtl.now()).min(PORT_CHUNK);
            self.rtl.run_to(self.rtl.now() + step)?;
            self.look(false)?;
        }
        Ok(())
    }

    fn drain(&mut self, max_cycles: u64) -> Result<(), SimError> {
        let start = self.rtl.now();
        loop {
            match self.rtl.drain(PORT_CHUNK) {
                Ok(()) => return self.look(true),
                Err(SimError::Deadlock(_)) => self.look(false)?,
                Err(e) => return Err(e),
            }
            if self.rtl.now() - start >= max_cycles {
                return Err(SimError::Deadlock(max_cycles));
            }
        }
    }

    fn take_results(&mut self) -> Vec<PortResult> {
        std::mem::take(&mut self.results)
    }

    fn take_arrivals(&mut self) -> Vec<Arrival> {
        std::mem::take(&mut self.arrivals)
    }

    fn counters(&self) -> PortCounters {
        self.rtl.counters()
    }

    fn finish(&mut self) -> Result<(), SimError> {
        self.rtl.finish()
    }
}

/// Waves of bags whose tags add up to exactly 256 (1-16 bags each, every bag at least one row),
/// `groups` of them: the driver's waves are exactly these groups.
fn all_tag_bags(rng: &mut Rng, groups: usize, poison: f64) -> Vec<BagSpec> {
    let mut bags = Vec::new();
    for _ in 0..groups {
        let n = rng.range(1, NUM_BAGS as u64) as usize;
        let mut left = NUM_TAGS;
        for i in 0..n {
            let later = n - 1 - i;
            let (rows, lines) = if later == 0 {
                (left, 1)
            } else {
                let lines = rng.range(1, 8) as usize;
                let most = (left - later) / lines;
                if most == 0 {
                    (1, 1)
                } else {
                    (rng.range(1, most.min(64) as u64) as usize, lines)
                }
            };
            left -= rows * lines;
            bags.push(random_bag(rng, rows, lines, Values::Special, poison));
        }
    }
    bags
}

/// One port-soak scenario of `phase`, and the result-ready percentage it runs with.
pub fn port_soak_scenario(rng: &mut Rng, phase: Phase) -> Scenario {
    let seed = rng.next_u64();
    let (bags, res_ready) = match phase {
        Phase::AllTags => (
            {
                let groups = rng.range(1, 3) as usize;
                all_tag_bags(rng, groups, 0.02)
            },
            rng.range(50, 100) as u32,
        ),
        Phase::FullQueues => (
            (0..rng.range(8, 40))
                .map(|_| random_mixed_bag(rng, Values::Special, 0.02))
                .collect(),
            rng.range(2, 20) as u32,
        ),
        _ => (
            (0..rng.range(1, 30))
                .map(|_| random_mixed_bag(rng, Values::Special, 0.02))
                .collect(),
            rng.range(40, 100) as u32,
        ),
    };
    Scenario {
        bags,
        seed,
        out_of_order: phase == Phase::AllTags || rng.chance(0.7),
        gap_chance: if rng.chance(0.5) { 0.0 } else { 0.2 },
        res_ready_percent: res_ready,
    }
}

/// Every bag line came out exactly once (counted by the scenario bag each result belongs to).
fn lines_once(sc: &Scenario, out: &Outcome) -> Result<(), String> {
    let mut seen: Vec<Vec<u32>> = sc.bags.iter().map(|b| vec![0; b.lines]).collect();
    for (r, &b) in out.results.iter().zip(&out.result_bags) {
        match seen[b].get_mut(r.line as usize) {
            Some(n) => *n += 1,
            None => return Err(format!("bag {b}: result for line {}", r.line)),
        }
    }
    for (b, s) in seen.iter().enumerate() {
        if s.iter().any(|&n| n != 1) {
            return Err(format!(
                "bag {b}: result line counts {s:?} (lost or duplicated)"
            ));
        }
    }
    Ok(())
}

/// What one soak did: its counts (up to where it stopped) and its first failure, if any.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Soaked<C> {
    pub counts: C,
    pub error: Option<String>,
    /// Stopped early because `progress` said so (the other soak failed).
    pub stopped: bool,
}

impl<C: Default> Soaked<C> {
    /// The model could not be built.
    fn failed(error: String) -> Self {
        Soaked {
            counts: C::default(),
            error: Some(error),
            stopped: false,
        }
    }

    /// The outcome of a run: `Ok(true)` all cycles done, `Ok(false)` stopped early, or an error.
    fn of(counts: C, run: Result<bool, String>) -> Self {
        let (error, stopped) = match run {
            Ok(done) => (None, !done),
            Err(e) => (Some(e), false),
        };
        Soaked {
            counts,
            error,
            stopped,
        }
    }
}

/// Play scenarios into one Verilated port until it has simulated `cycles` cycles. `progress`
/// is called with the cycle count before each scenario; it returns false to stop early.
pub fn soak_port(
    seed: u64,
    cycles: u64,
    watchdog: u64,
    inject: Option<Inject>,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Soaked<PortSoakCounts> {
    let rtl = match RtlPort::new(seed, None) {
        Ok(r) => r,
        Err(e) => return Soaked::failed(e.to_string()),
    };
    let mut port = SoakPort::new(rtl, seed, watchdog, inject);
    let r = port_scenarios(&mut port, seed, cycles, progress);
    let counts = port.finish_counts();
    let finished = port.finish().map_err(|e| e.to_string());
    Soaked::of(counts, r.and_then(|done| finished.map(|_| done)))
}

fn port_scenarios(
    port: &mut SoakPort,
    seed: u64,
    cycles: u64,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Result<bool, String> {
    let mut rng = Rng::new(seed);
    let mut model = ModelPort::new();
    let mut k = 0u64;
    while port.now() < cycles {
        if !progress(port.now()) {
            return Ok(false);
        }
        let phase = PORT_PHASES[(k % PORT_PHASES.len() as u64) as usize];
        let sc = port_soak_scenario(&mut rng, phase);
        port.plan = StallPlan::draw(&mut rng, phase);
        let what = format!(
            "port soak (seed {seed}), scenario {k} ({}, {} bags, result ready {}%), from cycle {}",
            phase.name(),
            sc.bags.len(),
            sc.res_ready_percent,
            port.now()
        );
        let r = drive_on(port, &sc, &mut |_, _| {}).map_err(|e| format!("{what}: {e}"))?;
        let m =
            drive_on(&mut model, &sc, &mut |_, _| {}).map_err(|e| format!("{what}: model: {e}"))?;
        let diffs = compare(&r, &m, false);
        if !diffs.is_empty() {
            let d: Vec<String> = diffs.into_iter().take(4).collect();
            return Err(format!("{what}: RTL vs model: {}", d.join("; ")));
        }
        sums_follow_send_order(&sc, &r)
            .and_then(|_| lines_once(&sc, &r))
            .and_then(|_| no_port_errors(&r))
            .map_err(|e| format!("{what}: {e}"))?;
        port.counts.scenarios += 1;
        port.counts.bags += sc.bags.len() as u64;
        port.counts.lines += r.results.len() as u64;
        k += 1;
    }
    progress(port.now());
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// The switch.

/// Counts of one switch soak.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SwitchSoakCounts {
    pub cycles: u64,
    pub scenarios: u64,
    /// Bags (pieces at one port each).
    pub bags: u64,
    /// Upstream lines (one per bag line).
    pub lines: u64,
    pub flits: u64,
    pub mem_reqs: u64,
    pub cmd_valid_stall: u64,
    pub flit_valid_stall: u64,
    pub cmd_ready_stall: u64,
    /// Summed over ports.
    pub flit_ready_stall: u64,
    /// Port-cycles a port's result was held back by a full egress FIFO.
    pub res_ready_stall: u64,
    pub up_ready_stall: u64,
    pub memrd_ready_stall: u64,
    /// Cycles a line waited upstream with no credit left.
    pub credit_starved: u64,
    /// Most tags one port had requested (MemRd out) and not yet back, sampled per chunk.
    pub max_tags_in_flight: u64,
}

/// The Verilated switch with valid-stall injection and the deadlock watchdog, behind
/// [`SwitchModel`] so the ordinary switch testbench plays into it.
pub struct SoakSwitch {
    rtl: RtlSwitch,
    rng: Rng,
    pub plan: StallPlan,
    pub dog: Watchdog,
    inject: Option<Inject>,
    ready: (u32, u32),
    up: Vec<UpLine>,
    reqs: Vec<MemReq>,
    /// Per port: bags opened (BagOpen pushed) minus bags finished upstream.
    bags_open: Vec<i64>,
    /// Per port: RowRead lines pushed, MemRds out.
    read_lines: Vec<u64>,
    memrd: Vec<u64>,
    up_total: u64,
    pub counts: SwitchSoakCounts,
}

impl SoakSwitch {
    pub fn new(rtl: RtlSwitch, seed: u64, watchdog: u64, inject: Option<Inject>) -> Self {
        let n = rtl.config().ports;
        let now = rtl.now();
        SoakSwitch {
            rtl,
            rng: Rng::new(seed ^ 0x5a17_c401),
            plan: StallPlan::default(),
            dog: Watchdog::new(watchdog, now),
            inject,
            ready: (100, 100),
            up: Vec::new(),
            reqs: Vec::new(),
            bags_open: vec![0; n],
            read_lines: vec![0; n],
            memrd: vec![0; n],
            up_total: 0,
            counts: SwitchSoakCounts::default(),
        }
    }

    pub fn probe(&self) -> SwitchProbe {
        self.rtl.probe()
    }

    /// Percentage of cycles the upstream and MemRd streams are ready.
    pub fn set_ready_percent(&mut self, up: u32, memrd: u32) {
        self.ready = (up, memrd);
        self.rtl.set_ready_percent(up, memrd);
    }

    fn collect(&mut self) -> SwitchProbe {
        let up = self.rtl.take_upstream();
        for u in &up {
            if u.last {
                if let Some(b) = self.bags_open.get_mut(u.port as usize) {
                    *b -= 1;
                }
            }
        }
        self.up_total += up.len() as u64;
        self.up.extend(up);
        let reqs = self.rtl.take_mem_reqs();
        for r in &reqs {
            if let Some(m) = self.memrd.get_mut(r.port as usize) {
                *m += 1;
            }
        }
        self.reqs.extend(reqs);
        for p in 0..self.memrd.len() {
            let lines = self.rtl.counters(p).lines;
            let f = self.memrd[p].saturating_sub(lines);
            self.counts.max_tags_in_flight = self.counts.max_tags_in_flight.max(f);
        }
        self.rtl.probe()
    }

    fn look(&mut self) -> Result<(), SimError> {
        let p = self.collect();
        let n = self.memrd.len();
        let (mut flits, mut lines) = (0, 0);
        for q in 0..n {
            let c = self.rtl.counters(q);
            flits += c.flits;
            lines += c.lines;
        }
        let marks = [
            ("flit accepted", flits),
            ("line accumulated", lines),
            ("upstream line out", self.up_total),
            ("MemRd out", self.memrd.iter().sum()),
            ("command accepted", p.cmds_taken),
        ];
        let idle = !p.busy
            && p.flits_queued.iter().all(|&q| q == 0)
            && p.cmds_queued.iter().all(|&q| q == 0);
        if self.dog.observe(self.rtl.now(), &marks, idle) {
            return Err(SimError::Check(self.dump(&p)));
        }
        Ok(())
    }

    /// The readable dump of what is stuck.
    pub fn dump(&self, p: &SwitchProbe) -> String {
        let now = self.rtl.now();
        let cfg = self.rtl.config();
        let mut s = String::new();
        let _ = writeln!(
            s,
            "deadlock watchdog: no forward progress for {} cycles: cycle {now}, last progress in cycle {} ({})",
            now - self.dog.last,
            self.dog.last,
            self.dog.what
        );
        let sc = self.rtl.switch_counters();
        let _ = writeln!(
            s,
            "  upstream: valid {} ready {} (ready {}% of cycles); a line waits for a credit: {}; credits {} of {}; credit pulses queued {} (next from cycle {}){}",
            bit(p.up_valid),
            bit(p.up_ready),
            self.ready.0,
            if p.up_wait { "yes" } else { "no" },
            p.credits,
            cfg.up_credits,
            p.credits_queued,
            at(p.credit_next_at),
            if self.inject == Some(Inject::CreditsNeverReturned) {
                "; the upstream side returns no credits (injected)"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "  commands: {} taken, {} cycles offered and not taken; busy {}",
            p.cmds_taken,
            p.cmd_stall_cycles,
            bit(p.busy)
        );
        let _ = writeln!(
            s,
            "  port  flit v/r queued next   cmd v/r queued  memrd v/r  egress-full  bags-open reads-pending tags-in-flight  flits lines"
        );
        for q in 0..cfg.ports {
            let m = 1u32 << q;
            let c = self.rtl.counters(q);
            let _ = writeln!(
                s,
                "  {q:<4}  {}/{}      {:<6} {:<6} {}/{}     {:<6}  {}/{}        {:<11}  {:<9} {:<13} {:<14}  {} {}",
                bit(p.flit_valid & m != 0),
                bit(p.flit_ready & m != 0),
                p.flits_queued[q],
                at(p.flit_next_at[q]),
                bit(p.cmd_valid & m != 0),
                bit(p.cmd_ready & m != 0),
                p.cmds_queued[q],
                bit(p.memrd_valid & m != 0),
                bit(p.memrd_ready & m != 0),
                bit(p.res_stall & m != 0),
                self.bags_open[q],
                self.read_lines[q].saturating_sub(self.memrd[q]),
                self.memrd[q].saturating_sub(c.lines),
                c.flits,
                c.lines
            );
        }
        let _ = write!(
            s,
            "  since reset: {} upstream lines, {} MemRd, {} cycles waiting for a credit",
            sc.up_lines, sc.mem_reqs, sc.up_credit_wait_cycles
        );
        s
    }

    /// Run until the credit pulses are all given and the switch is idle.
    fn settle(&mut self) -> Result<(), SimError> {
        loop {
            let p = self.rtl.probe();
            if p.credits_queued == 0 && !p.busy {
                return Ok(());
            }
            let now = self.rtl.now();
            self.run_to(now + SWITCH_CHUNK)?;
        }
    }

    pub fn finish_counts(&mut self) -> SwitchSoakCounts {
        let sc = self.rtl.switch_counters();
        let p = self.rtl.probe();
        let mut k = self.counts;
        k.cycles = sc.cycles;
        k.mem_reqs = sc.mem_reqs;
        k.up_ready_stall = sc.up_stall_cycles;
        k.memrd_ready_stall = sc.mem_req_stall_cycles;
        k.credit_starved = sc.up_credit_wait_cycles;
        k.cmd_ready_stall = p.cmd_stall_cycles;
        for q in 0..self.memrd.len() {
            let c = self.rtl.counters(q);
            k.flits += c.flits;
            k.flit_ready_stall += c.flit_stall_cycles;
            k.res_ready_stall += c.res_stall_cycles;
        }
        k
    }
}

impl SwitchModel for SoakSwitch {
    fn backend(&self) -> &'static str {
        "rtl"
    }

    fn set_llr(&mut self, on: bool) {
        self.rtl.set_llr(on);
    }

    fn set_row_format(&mut self, fmt: pifs_dlrm::RowFormat, expand: u8) {
        self.rtl.set_row_format(fmt, expand);
    }

    fn take_link_events(&mut self) -> Vec<(usize, pifs_cxl::llr::LinkEvent)> {
        self.rtl.take_link_events()
    }

    fn ports(&self) -> usize {
        self.rtl.ports()
    }

    fn config(&self) -> SwitchConfig {
        self.rtl.config()
    }

    fn now(&self) -> u64 {
        self.rtl.now()
    }

    fn push_cmds(&mut self, cmds: &[(u64, SwitchCmd)]) {
        for (_, c) in cmds {
            let p = c.port as usize;
            match c.cmd {
                Command::BagOpen { .. } => {
                    if let Some(b) = self.bags_open.get_mut(p) {
                        *b += 1;
                    }
                }
                Command::RowRead { lines, .. } => {
                    if let Some(r) = self.read_lines.get_mut(p) {
                        *r += lines as u64;
                    }
                }
                Command::RowMap { .. } => {}
            }
        }
        let plan = self.plan;
        let (times, _) = plan.apply(
            &mut self.rng,
            plan.cmd_gap,
            0,
            cmds.iter().map(|c| c.0),
            &mut self.counts.cmd_valid_stall,
        );
        let v: Vec<(u64, SwitchCmd)> = times.into_iter().zip(cmds.iter().map(|c| c.1)).collect();
        self.rtl.push_cmds(&v);
    }

    fn push_flits(&mut self, port: usize, flits: &[(u64, Flit)]) {
        let plan = self.plan;
        let (times, _) = plan.apply(
            &mut self.rng,
            plan.flit_gap,
            0,
            flits.iter().map(|f| f.0),
            &mut self.counts.flit_valid_stall,
        );
        let v: Vec<(u64, Flit)> = times.into_iter().zip(flits.iter().map(|f| f.1)).collect();
        self.rtl.push_flits(port, &v);
    }

    fn grant_credits(&mut self, cycles: &[u64]) {
        if self.inject != Some(Inject::CreditsNeverReturned) {
            self.rtl.grant_credits(cycles);
        }
    }

    fn run_to(&mut self, until: u64) -> Result<(), SimError> {
        while self.rtl.now() < until {
            let step = (until - self.rtl.now()).min(SWITCH_CHUNK);
            self.rtl.run_to(self.rtl.now() + step)?;
            self.look()?;
        }
        Ok(())
    }

    fn take_upstream(&mut self) -> Vec<UpLine> {
        std::mem::take(&mut self.up)
    }

    fn take_mem_reqs(&mut self) -> Vec<MemReq> {
        std::mem::take(&mut self.reqs)
    }

    fn counters(&self, port: usize) -> PortCounters {
        self.rtl.counters(port)
    }

    fn switch_counters(&self) -> SwitchCounters {
        self.rtl.switch_counters()
    }

    fn finish(&mut self) -> Result<(), SimError> {
        self.rtl.finish()
    }
}

/// One switch-soak scenario of `phase` for a switch of `cfg`, with the upstream and MemRd ready
/// percentages it runs with.
pub fn switch_soak_scenario(
    rng: &mut Rng,
    phase: Phase,
    cfg: &SwitchConfig,
) -> (SwScenario, u32, u32) {
    let seed = rng.next_u64();
    let n = cfg.ports;
    let mut ports: Vec<Vec<BagSpec>> = vec![Vec::new(); n];
    for bags in ports.iter_mut() {
        *bags = match phase {
            Phase::AllTags => {
                let groups = rng.range(1, 2) as usize;
                all_tag_bags(rng, groups, 0.0)
            }
            Phase::FullQueues => (0..rng.range(4, 16))
                .map(|_| random_mixed_bag(rng, Values::Special, 0.0))
                .collect(),
            _ => (0..rng.range(0, 10))
                .map(|_| random_mixed_bag(rng, Values::Special, 0.0))
                .collect(),
        };
    }
    let credits = cfg.up_credits as usize;
    let (latency, jitter, credit_delay, withheld, up, memrd) = match phase {
        // Latency above 256 cycles: the 256th MemRd leaves before the first MemData returns.
        Phase::AllTags => (
            rng.range(300, 400),
            rng.range(0, 64),
            rng.range(1, 8),
            0,
            100,
            100,
        ),
        Phase::CreditStarve => (
            rng.range(32, 100),
            rng.range(0, 64),
            rng.range(64, 256),
            credits - rng.range(1, 2.min(credits as u64)) as usize,
            rng.range(70, 100) as u32,
            rng.range(70, 100) as u32,
        ),
        Phase::FullQueues => (
            rng.range(32, 100),
            rng.range(0, 64),
            rng.range(1, 48),
            0,
            rng.range(2, 20) as u32,
            rng.range(10, 50) as u32,
        ),
        _ => (
            rng.range(32, 100),
            rng.range(0, 64),
            rng.range(1, 48),
            if rng.chance(0.3) {
                rng.range(0, credits as u64 - 1) as usize
            } else {
                0
            },
            rng.range(40, 100) as u32,
            rng.range(40, 100) as u32,
        ),
    };
    (
        SwScenario {
            ports,
            seed,
            latency,
            jitter,
            credit_delay,
            withheld,
            shared_rows: false,
        },
        up,
        memrd,
    )
}

/// The outcome's counters made relative to `base` (the soak's model carries counts over).
fn relative(out: &mut SwOutcome, base: &SwitchCounters, ports: &[PortCounters]) {
    let s = &mut out.switch;
    s.cmd_errors -= base.cmd_errors;
    s.up_lines -= base.up_lines;
    s.up_stall_cycles -= base.up_stall_cycles;
    s.up_credit_wait_cycles -= base.up_credit_wait_cycles;
    s.mem_reqs -= base.mem_reqs;
    s.mem_req_stall_cycles -= base.mem_req_stall_cycles;
    for (c, b) in out.counters.iter_mut().zip(ports) {
        c.flits -= b.flits;
        c.crc_errors -= b.crc_errors;
        c.proto_errors -= b.proto_errors;
        c.ndr -= b.ndr;
        c.cmd_errors -= b.cmd_errors;
        c.tag_errors -= b.tag_errors;
        c.flit_stall_cycles -= b.flit_stall_cycles;
        c.res_stall_cycles -= b.res_stall_cycles;
        c.lines -= b.lines;
    }
}

/// Play scenarios into one Verilated switch until it has simulated `cycles` cycles; `progress`
/// as for [`soak_port`].
pub fn soak_switch(
    seed: u64,
    cycles: u64,
    watchdog: u64,
    inject: Option<Inject>,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Soaked<SwitchSoakCounts> {
    let rtl = match RtlSwitch::new(seed, None) {
        Ok(r) => r,
        Err(e) => return Soaked::failed(e.to_string()),
    };
    let mut sw = SoakSwitch::new(rtl, seed, watchdog, inject);
    let r = switch_scenarios(&mut sw, seed, cycles, progress);
    let counts = sw.finish_counts();
    let finished = sw.finish().map_err(|e| e.to_string());
    Soaked::of(counts, r.and_then(|done| finished.map(|_| done)))
}

fn switch_scenarios(
    sw: &mut SoakSwitch,
    seed: u64,
    cycles: u64,
    progress: &mut dyn FnMut(u64) -> bool,
) -> Result<bool, String> {
    let mut rng = Rng::new(seed ^ 0x0005_3717_c400);
    let cfg = sw.config();
    let mut k = 0u64;
    while sw.now() < cycles {
        if !progress(sw.now()) {
            return Ok(false);
        }
        let phase = SWITCH_PHASES[(k % SWITCH_PHASES.len() as u64) as usize];
        let (sc, up, memrd) = switch_soak_scenario(&mut rng, phase, &cfg);
        sw.plan = StallPlan::draw(&mut rng, phase);
        sw.plan.lead = 0;
        sw.set_ready_percent(up, memrd);
        let pieces: usize = sc.ports.iter().map(Vec::len).sum();
        let what = format!(
            "switch soak (seed {seed}), scenario {k} ({}, {pieces} bags, latency {} jitter {}, credits withheld {} returned {} cycles late, ready up {up}% MemRd {memrd}%), from cycle {}",
            phase.name(),
            sc.latency,
            sc.jitter,
            sc.withheld,
            sc.credit_delay,
            sw.now()
        );
        let base = sw.switch_counters();
        let base_ports: Vec<PortCounters> = (0..cfg.ports).map(|p| sw.counters(p)).collect();
        if base.credits != cfg.up_credits {
            return Err(format!(
                "{what}: {} credits at the start, {} after reset (credits lost or made)",
                base.credits, cfg.up_credits
            ));
        }
        let mut out = play_on(sw, &sc).map_err(|e| format!("{what}: {e}"))?;
        relative(&mut out, &base, &base_ports);
        check_lines_once(&sc, &out, &what)
            .and_then(|_| check_sums(&sc, &out, &what))
            .and_then(|_| check_mem_reqs(&sc, &out, &what, false))
            .and_then(|_| check_credits(&out, base.credits, &what))
            .and_then(|_| check_no_errors(&out, &what))?;
        // Give back the credits the upstream side kept, then let every pulse land.
        let kept = sc.withheld.min(out.up.len());
        let now = sw.now();
        let back: Vec<u64> = (0..kept as u64).map(|i| now + i).collect();
        sw.grant_credits(&back);
        sw.settle().map_err(|e| format!("{what}: {e}"))?;
        if !sw.take_upstream().is_empty() || !sw.take_mem_reqs().is_empty() {
            return Err(format!("{what}: output after the last bag"));
        }
        sw.counts.scenarios += 1;
        sw.counts.bags += pieces as u64;
        sw.counts.lines += out.up.len() as u64;
        k += 1;
    }
    progress(sw.now());
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Random initial values.

/// What one port shows right after reset and makes of one scenario: the result data output
/// (entry 0 of the result FIFO, a memory no reset writes) and the digest of the sums.
pub fn reset_look(seed: u64) -> Result<([u32; 16], String), String> {
    let mut rtl = RtlPort::new(seed, None).map_err(|e| e.to_string())?;
    let init = rtl.probe().res_data;
    let sc = crate::random_scenario(seed, Values::Special);
    let out = crate::drive(&mut rtl, &sc).map_err(|e| format!("reset check: {e}"))?;
    let m =
        crate::drive(&mut ModelPort::new(), &sc).map_err(|e| format!("reset check: model: {e}"))?;
    let diffs = compare(&out, &m, true);
    if !diffs.is_empty() {
        return Err(format!("reset check: RTL vs model: {}", diffs[0]));
    }
    Ok((
        init,
        crate::digest(out.sums.iter().flat_map(|s| s.0.iter().copied())),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watchdog_trips_only_after_limit_quiet_cycles() {
        let mut d = Watchdog::new(100, 0);
        assert!(!d.observe(50, &[("a", 1)], false));
        assert_eq!((d.last, d.what), (50, "a"));
        assert!(!d.observe(149, &[("a", 1)], false));
        assert!(d.observe(150, &[("a", 1)], false));
        // Idle is not a hang.
        assert!(!d.observe(400, &[("a", 1)], true));
        assert_eq!((d.last, d.what), (400, "idle"));
        assert!(!d.observe(499, &[("a", 2)], false));
        assert_eq!(d.what, "a");
    }

    #[test]
    fn all_tag_groups_fill_exactly_the_tags() {
        let mut rng = Rng::new(9);
        for _ in 0..200 {
            let groups = rng.range(1, 3) as usize;
            let bags = all_tag_bags(&mut rng, groups, 0.0);
            // The driver's waves: as many bags as fit 16 slots and 256 tags.
            let mut i = 0;
            let mut waves = 0;
            while i < bags.len() {
                let (mut tags, start) = (0, i);
                while i < bags.len() && i - start < NUM_BAGS {
                    let need = bags[i].rows.len() * bags[i].lines;
                    if tags + need > NUM_TAGS {
                        break;
                    }
                    tags += need;
                    i += 1;
                }
                assert_eq!(tags, NUM_TAGS);
                waves += 1;
            }
            assert_eq!(waves, groups);
            assert!(bags.iter().all(|b| !b.rows.is_empty()));
        }
    }

    #[test]
    fn stalls_keep_order_and_count_their_cycles() {
        let plan = StallPlan {
            cmd_gap: 0.5,
            flit_gap: 0.5,
            gap_max: 10,
            lead: 0,
        };
        let mut rng = Rng::new(3);
        let mut added = 0;
        let t: Vec<u64> = (0..1000).map(|i| 7 + i / 3).collect();
        let (out, off) = plan.apply(&mut rng, 0.5, 5, t.iter().copied(), &mut added);
        assert!(out.windows(2).all(|w| w[0] <= w[1]));
        assert!(out.iter().zip(&t).all(|(o, i)| o >= &(i + 5)));
        assert_eq!(out[999] - t[999], off);
        assert_eq!(off, 5 + added);
        assert!(added > 1000, "about 500 gaps of 1-10 cycles: {added}");
    }

    #[test]
    fn lost_or_duplicated_lines_are_caught() {
        let mut rng = Rng::new(1);
        let sc = Scenario {
            bags: vec![random_bag(&mut rng, 2, 2, Values::Plain, 0.0)],
            seed: 1,
            out_of_order: false,
            gap_chance: 0.0,
            res_ready_percent: 100,
        };
        let line = |l: u8| PortResult {
            cycle: 0,
            bag: 0,
            line: l,
            last: l == 1,
            poison: false,
            data: [0; 16],
        };
        let mut out = Outcome {
            results: vec![line(0), line(1)],
            result_bags: vec![0, 0],
            ..Default::default()
        };
        assert!(lines_once(&sc, &out).is_ok());
        out.results[1] = line(0);
        assert!(lines_once(&sc, &out).is_err(), "line 1 lost, line 0 twice");
        out.results.pop();
        out.result_bags.pop();
        assert!(lines_once(&sc, &out).is_err(), "line 1 lost");
    }
}
