//! The pure-Rust model of the switch (`rtl/pifs_switch_top.sv`) behind [`SwitchModel`]: one
//! [`ModelPort`] per downstream port, plus a model of the logic the switch adds around them,
//! written to match the RTL cycle for cycle:
//!
//! - the host command lanes, one per port, one word per cycle each (a word goes to the lane of
//!   its port field, lane 0 if the switch has no such port); a word whose port is not its lane,
//!   an unknown op or a RowRead with lines outside 1 .. 8 is taken and dropped (`cmd_errors`);
//!   a good word is taken when its port's command FIFO held fewer than `cmd_depth` entries at
//!   the start of the cycle, else the lane waits;
//! - each port's dispatcher: the command FIFO's head goes to the accumulator in the cycle after it
//!   was taken (BagOpen/RowMap as they are, RowRead as RowMap), a RowRead only while its read-job
//!   FIFO (2 entries) has room; a RowRead the accumulator accepts becomes a read job whose lines
//!   leave as MemRd requests one per cycle from the next cycle on (the MemRd streams are always
//!   ready here);
//! - the upstream path: a result that leaves port p in cycle t is in p's egress FIFO from t+1;
//!   each cycle, if a credit is left, the first port at or after the round-robin pointer with a
//!   line sends it and the pointer moves past it; credit pulses are taken one per cycle and
//!   count from the next cycle (the upstream stream is always ready here).
//!
//! Exactness: sums are bit-exact always (the accumulators are [`ModelPort`]s). Cycles, upstream
//! order and MemRd requests are exact as long as no egress FIFO fills: [`ModelPort`] is exact
//! only while its result stream never stalls, and a full egress FIFO is what stalls it in the
//! RTL. The model does not stall a port; it keeps queueing past `egress_depth` and records that
//! it did ([`ModelSwitch::timing_exact`] turns false). The RTL's random ready on the upstream and
//! MemRd streams (`RtlSwitch::set_ready_percent`) is not modelled either. Per-port counters count
//! a flit when its line reaches the accumulator, so they can trail the RTL's by up to three
//! cycles; compare them once the switch is idle. [`ModelPort`]'s own corner (a command and a
//! response for the same tag in the same cycle) applies.

use crate::buffer::{BufferCounters, LineBuffer};
use crate::cmd::{Command, ROW_READ_ADDR_BITS};
use crate::model::ModelPort;
use crate::params::{BUF_HIT_DEPTH, MAX_ROW_LINES};
use crate::port::{PortAccumulator, PortCounters, PortResult, SimError};
use crate::switch::{MemReq, SwitchCmd, SwitchConfig, SwitchCounters, SwitchModel, UpLine};
use pifs_cxl::Flit;
use std::collections::VecDeque;

/// Read jobs a dispatcher holds (`JobDepth` of `pifs_switch_dispatch`).
const JOB_DEPTH: usize = 2;
/// Cycles from a flit's acceptance to its line's arrival at the accumulator (as in `model.rs`).
const INGRESS_LATENCY: u64 = 2;
const OP_BAG_OPEN: u64 = 0x1;
const OP_ROW_MAP: u64 = 0x2;
const OP_ROW_READ: u64 = 0x3;

#[derive(Clone, Copy, Debug)]
struct Job {
    tag: u8,
    lines: u8,
    line_addr: u64,
}

struct PortModel {
    acc: ModelPort,
    /// Command FIFO: words with the port field cleared.
    cmdq: VecDeque<u64>,
    jobs: VecDeque<Job>,
    /// Line of the head job the read engine issues next.
    off: u8,
    /// Flits with the cycle the port takes them, not yet handed to `acc`.
    flits: VecDeque<(u64, Flit)>,
    /// First cycle the next flit can be taken (one per cycle).
    flit_next: u64,
    /// Lines in the egress FIFO, or on their way into it (`cycle` = the cycle they left the port).
    egress: VecDeque<PortResult>,
    /// The row buffer (`pifs_switch_buffer`), when the switch has one.
    buf: Option<LineBuffer>,
}

impl PortModel {
    /// Hand the accumulator every flit whose line arrives in cycle `arrival` or before.
    fn feed(&mut self, arrival: u64) {
        let mut v = Vec::new();
        while self
            .flits
            .front()
            .is_some_and(|f| f.0 + INGRESS_LATENCY <= arrival)
        {
            v.push(self.flits.pop_front().unwrap());
        }
        if !v.is_empty() {
            self.acc.push_flits(&v);
        }
    }

    fn busy(&self) -> bool {
        !self.cmdq.is_empty() || !self.jobs.is_empty()
    }

    /// Bring the buffer up to the start of cycle `c`: every ingress line that reached the
    /// accumulator before `c` offered as a fill.
    fn fills_before(&mut self, c: u64) -> Result<(), SimError> {
        if self.buf.is_none() {
            return Ok(());
        }
        if c > 0 {
            self.feed(c - 1);
        }
        self.acc.run_to(c)?;
        let buf = self.buf.as_mut().expect("buffer on");
        for l in self.acc.take_ingress() {
            debug_assert!(l.cycle < c.max(1));
            buf.fill(l.tag, l.poison, &l.data);
        }
        Ok(())
    }

    /// The read engine's line `line` with tag `tag` in cycle `c`: whether its MemRd leaves
    /// (a miss), None if the read must wait (a hit while the hit FIFO is full).
    fn lookup(&mut self, c: u64, tag: u16, line: u64) -> Result<Option<bool>, SimError> {
        if self.buf.is_none() {
            return Ok(Some(true));
        }
        self.fills_before(c)?;
        let buf = self.buf.as_mut().expect("buffer on");
        if buf.probe(line) && self.acc.lines_waiting() >= BUF_HIT_DEPTH {
            return Ok(None);
        }
        self.acc.lines_ready_from(c + 1);
        Ok(Some(match buf.lookup(tag, line) {
            Some(data) => {
                self.acc.push_lines(&[(c + 1, tag, data)]);
                false
            }
            None => true,
        }))
    }
}

/// The reference model of the switch.
pub struct ModelSwitch {
    cfg: SwitchConfig,
    /// The state below is the registered state at the start of this cycle.
    now: u64,
    /// Host command lanes, one per port: (cycle offered from, word).
    host: Vec<VecDeque<(u64, u64)>>,
    ports: Vec<PortModel>,
    credit_q: VecDeque<u64>,
    credit_next: u64,
    credits: u64,
    rr: usize,
    up: Vec<UpLine>,
    reqs: Vec<MemReq>,
    counters: SwitchCounters,
    egress_overflow: bool,
    /// Binary32 lines per device line (row formats): the dispatchers' tag stride.
    expand: u8,
}

impl ModelSwitch {
    /// A switch with the given parameters, in its reset state.
    pub fn new(cfg: SwitchConfig) -> Result<Self, SimError> {
        cfg.validate()?;
        let ports = (0..cfg.ports)
            .map(|_| PortModel {
                acc: ModelPort::new(),
                cmdq: VecDeque::new(),
                jobs: VecDeque::new(),
                off: 0,
                flits: VecDeque::new(),
                flit_next: 0,
                egress: VecDeque::new(),
                buf: None,
            })
            .collect::<Vec<_>>();
        let mut ports = ports;
        if cfg.buffer.on() {
            for p in &mut ports {
                p.buf = Some(LineBuffer::new(cfg.buffer)?);
                p.acc.record_ingress(true);
            }
        }
        Ok(ModelSwitch {
            cfg,
            now: 0,
            host: vec![VecDeque::new(); cfg.ports],
            ports,
            credit_q: VecDeque::new(),
            credit_next: 0,
            credits: cfg.up_credits,
            rr: 0,
            up: Vec::new(),
            reqs: Vec::new(),
            counters: SwitchCounters {
                credits: cfg.up_credits,
                ..Default::default()
            },
            egress_overflow: false,
            expand: 1,
        })
    }

    /// False once some egress FIFO would have been full when a line left its port: from then on
    /// the RTL stalls that port and the model's cycles (not its sums) may differ.
    pub fn timing_exact(&self) -> bool {
        !self.egress_overflow
    }

    fn check_port(&self, port: usize) {
        assert!(
            port < self.cfg.ports,
            "port {port} out of range: the switch has {} ports",
            self.cfg.ports
        );
    }

    /// Whether lane `lane` takes host word `w` for its port (else the switch drops it).
    fn accepts(&self, lane: usize, w: u64) -> bool {
        let port = ((w >> 56) & 0xF) as usize;
        let lines = ((w >> 48) & 0xF) as usize;
        let op_ok = match w >> 60 {
            OP_BAG_OPEN | OP_ROW_MAP => true,
            OP_ROW_READ => (1..=MAX_ROW_LINES).contains(&lines),
            _ => false,
        };
        op_ok && port == lane
    }

    /// One cycle of the host stream, the dispatchers and the read engines.
    fn step(&mut self, c: u64) -> Result<(), SimError> {
        // Host lanes: decided on the command FIFOs' occupancy at the start of the cycle.
        let mut host_push: Vec<(usize, u64)> = Vec::new();
        for lane in 0..self.cfg.ports {
            let Some(&(nb, w)) = self.host[lane].front() else {
                continue;
            };
            if nb > c {
                continue;
            }
            if !self.accepts(lane, w) {
                self.counters.cmd_errors += 1;
                self.host[lane].pop_front();
            } else if self.ports[lane].cmdq.len() < self.cfg.cmd_depth {
                host_push.push((lane, w & !(0xF << 56)));
                self.host[lane].pop_front();
            }
        }
        for (p, port) in self.ports.iter_mut().enumerate() {
            let jobs_at_start = port.jobs.len();
            if let Some(job) = port.jobs.front().copied() {
                let tag = job.tag as u16 + port.off as u16 * self.expand as u16;
                let line = job.line_addr + port.off as u64;
                if let Some(miss) = port.lookup(c, tag, line)? {
                    if miss {
                        self.reqs.push(MemReq {
                            cycle: c,
                            port: p as u8,
                            tag,
                            addr: line * 64,
                        });
                        self.counters.mem_reqs += 1;
                    }
                    port.off += 1;
                    if port.off * self.expand >= job.lines {
                        port.off = 0;
                        port.jobs.pop_front();
                    }
                }
            }
            let Some(&w) = port.cmdq.front() else {
                continue;
            };
            let read = w >> 60 == OP_ROW_READ;
            if read && jobs_at_start >= JOB_DEPTH {
                continue;
            }
            port.cmdq.pop_front();
            let (cmd, job) = if read {
                (
                    Command::RowMap {
                        bag: ((w >> 52) & 0xF) as u8,
                        tag: ((w >> 40) & 0xFF) as u16,
                    },
                    Some(Job {
                        tag: (w >> 40) as u8,
                        lines: ((w >> 48) & 0xF) as u8,
                        line_addr: w & ((1 << ROW_READ_ADDR_BITS) - 1),
                    }),
                )
            } else {
                // A word the accumulator cannot decode is rejected there; RowRead is an op it
                // always rejects, so it stands in for such a word.
                let cmd = Command::decode(w).unwrap_or(Command::RowRead {
                    bag: 0,
                    tag: 0,
                    lines: 0,
                    line_addr: 0,
                });
                (cmd, None)
            };
            // The accumulator sees the command after every line that arrived before it: run it
            // over exactly those, then the command, and read whether it was accepted.
            port.feed(c);
            let errors = port.acc.counters().cmd_errors;
            port.acc.push_cmds(&[(c, cmd)]);
            port.acc.run_to(c + 1)?;
            if let Some(j) = job {
                if port.acc.counters().cmd_errors == errors {
                    port.jobs.push_back(j);
                }
            }
        }
        for (p, w) in host_push {
            self.ports[p].cmdq.push_back(w);
        }
        Ok(())
    }

    /// The host stream, dispatchers and read engines for every cycle before `until`.
    fn dispatch_to(&mut self, until: u64) -> Result<(), SimError> {
        let mut c = self.now;
        while c < until {
            if !self.ports.iter().any(PortModel::busy) {
                match self
                    .host
                    .iter()
                    .filter_map(|q| q.front().map(|f| f.0))
                    .min()
                {
                    Some(nb) if nb < until => c = c.max(nb),
                    _ => break,
                }
            }
            self.step(c)?;
            c += 1;
        }
        Ok(())
    }

    /// Credit pulses given before cycle `to` (one per cycle, each from its queued cycle on).
    fn take_credits(&mut self, to: u64) {
        while let Some(&nb) = self.credit_q.front() {
            let at = nb.max(self.credit_next);
            if at >= to {
                break;
            }
            self.credit_q.pop_front();
            self.credits += 1;
            self.credit_next = at + 1;
        }
    }

    /// The upstream path for every cycle before `until`.
    fn arbitrate_to(&mut self, until: u64) {
        let n = self.cfg.ports;
        let mut t = self.now;
        while t < until {
            let eligible = |p: &PortModel| p.egress.front().is_some_and(|r| r.cycle < t);
            if !self.ports.iter().any(eligible) {
                // Nothing to send until the next line enters an egress FIFO.
                let next = self
                    .ports
                    .iter()
                    .filter_map(|p| p.egress.front().map(|r| r.cycle + 1))
                    .min()
                    .unwrap_or(until)
                    .min(until);
                self.take_credits(next);
                t = next;
                continue;
            }
            // A line leaving its port now finds the egress FIFO as it was at the cycle's start.
            for p in &self.ports {
                let held = p.egress.iter().take_while(|r| r.cycle < t).count();
                if held >= self.cfg.egress_depth && p.egress.get(held).is_some_and(|r| r.cycle == t)
                {
                    self.egress_overflow = true;
                }
            }
            if self.credits > 0 {
                let pick = (0..n)
                    .map(|i| (self.rr + i) % n)
                    .find(|&p| eligible(&self.ports[p]))
                    .expect("some port has a line");
                let r = self.ports[pick].egress.pop_front().unwrap();
                self.up.push(UpLine {
                    cycle: t,
                    port: pick as u8,
                    bag: r.bag,
                    line: r.line,
                    last: r.last,
                    poison: r.poison,
                    data: r.data,
                });
                self.counters.up_lines += 1;
                self.credits -= 1;
                self.rr = (pick + 1) % n;
            } else {
                self.counters.up_credit_wait_cycles += 1;
            }
            self.take_credits(t + 1);
            t += 1;
        }
    }
}

impl SwitchModel for ModelSwitch {
    fn backend(&self) -> &'static str {
        "model"
    }

    fn ports(&self) -> usize {
        self.cfg.ports
    }

    fn config(&self) -> SwitchConfig {
        self.cfg
    }

    fn now(&self) -> u64 {
        self.now
    }

    fn push_cmds(&mut self, cmds: &[(u64, SwitchCmd)]) {
        let now = self.now;
        for (t, c) in cmds {
            let lane = if (c.port as usize) < self.cfg.ports {
                c.port as usize
            } else {
                0
            };
            self.host[lane].push_back(((*t).max(now), c.encode()));
        }
    }

    fn push_flits(&mut self, port: usize, flits: &[(u64, Flit)]) {
        self.check_port(port);
        let now = self.now;
        let p = &mut self.ports[port];
        for (t, f) in flits {
            // The port takes one flit per cycle and never refuses one.
            let at = (*t).max(now).max(p.flit_next);
            p.flit_next = at + 1;
            p.flits.push_back((at, *f));
        }
    }

    fn grant_credits(&mut self, cycles: &[u64]) {
        let now = self.now;
        self.credit_q.extend(cycles.iter().map(|c| (*c).max(now)));
    }

    fn run_to(&mut self, until: u64) -> Result<(), SimError> {
        if until <= self.now {
            return Ok(());
        }
        self.dispatch_to(until)?;
        for p in &mut self.ports {
            // Lines arriving from `until` on wait: a command in cycle `until` goes before them.
            p.feed(until - 1);
            p.acc.run_to(until)?;
            p.fills_before(until)?;
            p.egress.extend(p.acc.take_results());
        }
        self.arbitrate_to(until);
        self.now = until;
        self.counters.cycles = until;
        self.counters.credits = self.credits;
        Ok(())
    }

    fn take_upstream(&mut self) -> Vec<UpLine> {
        std::mem::take(&mut self.up)
    }

    fn take_mem_reqs(&mut self) -> Vec<MemReq> {
        std::mem::take(&mut self.reqs)
    }

    fn counters(&self, port: usize) -> PortCounters {
        self.check_port(port);
        self.ports[port].acc.counters()
    }

    fn set_row_format(&mut self, fmt: pifs_dlrm::RowFormat, expand: u8) {
        self.expand = expand.max(1);
        for p in &mut self.ports {
            p.acc.set_row_format(fmt, self.expand);
        }
    }

    fn set_llr(&mut self, on: bool) {
        for p in &mut self.ports {
            p.acc.set_llr(on);
        }
    }

    fn take_link_events(&mut self) -> Vec<(usize, pifs_cxl::llr::LinkEvent)> {
        let mut out = Vec::new();
        for (i, p) in self.ports.iter_mut().enumerate() {
            out.extend(p.acc.take_link_events().into_iter().map(|e| (i, e)));
        }
        out
    }

    fn switch_counters(&self) -> SwitchCounters {
        self.counters
    }

    fn record_line_tags(&mut self, on: bool) {
        for p in &mut self.ports {
            p.acc.record_tags(on);
        }
    }

    fn take_line_tags(&mut self) -> Vec<(u64, u8, u16)> {
        let mut out = Vec::new();
        for (i, p) in self.ports.iter_mut().enumerate() {
            out.extend(p.acc.take_tags().into_iter().map(|(c, t)| (c, i as u8, t)));
        }
        out
    }

    fn buffer_counters(&self, port: usize) -> BufferCounters {
        self.check_port(port);
        self.ports[port]
            .buf
            .as_ref()
            .map_or_else(BufferCounters::default, |b| b.counters)
    }
}
