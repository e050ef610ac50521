//! The Verilated switch (`pifs_switch_top`) behind [`SwitchModel`].

use crate::buffer::{BufferConfig, BufferCounters, BufferPolicy};
use crate::params::{MAX_ROW_LINES, NUM_BAGS, NUM_TAGS};
use crate::port::{PortCounters, SimError};
use crate::rtl::{cmds_in, flits_in};
use crate::switch::{MemReq, SwitchCmd, SwitchConfig, SwitchCounters, SwitchModel, UpLine};
use pifs_cxl::Flit;
use pifs_rtl::SwitchSim;
use pifs_rtl::WaveSpec;

/// The RTL backend: one Verilated `pifs_switch_top` with the parameters of
/// [`SwitchConfig::default`] (set in `bindings/build.rs`).
pub struct RtlSwitch {
    sim: SwitchSim,
    cfg: SwitchConfig,
}

impl RtlSwitch {
    /// Build and reset the model, writing the waveform `wave` asks for; without one, the
    /// waveform the environment asks for, if this is the process's first RTL model (`PIFS_WAVE`,
    /// see [`WaveSpec::take_from_env`]).
    pub fn new(seed: u64, wave: Option<&WaveSpec>) -> Result<Self, SimError> {
        let env = match wave {
            Some(_) => None,
            None => WaveSpec::take_from_env().map_err(SimError::Rtl)?,
        };
        let wave = wave.or(env.as_ref());
        let sim = SwitchSim::new(seed, wave).map_err(SimError::Rtl)?;
        let p = sim.params();
        if (
            p.num_bags as usize,
            p.max_row_lines as usize,
            p.num_tags as usize,
        ) != (NUM_BAGS, MAX_ROW_LINES, NUM_TAGS)
        {
            return Err(SimError::Rtl(format!(
                "the switch model was built with NumBags {}, MaxRowLines {}, NumTags {}; \
                 the Rust side assumes {NUM_BAGS}, {MAX_ROW_LINES}, {NUM_TAGS}",
                p.num_bags, p.max_row_lines, p.num_tags
            )));
        }
        let cfg = SwitchConfig {
            ports: p.ports as usize,
            cmd_depth: p.cmd_depth as usize,
            egress_depth: p.egress_depth as usize,
            up_credits: p.up_credits as u64,
            buffer: crate::buffer::BufferConfig::OFF,
        };
        Ok(RtlSwitch { sim, cfg })
    }

    /// The largest row buffer the model was Verilated with (`BufLines`, `BufWays`; 0 lines =
    /// none). Any capacity up to it with the same ways can be switched on.
    pub fn buffer_capacity(&self) -> (usize, usize) {
        let p = self.sim.params();
        (p.buf_lines as usize, p.buf_ways as usize)
    }

    /// Switch every port's row buffer on with `buf` (before any command), or off.
    pub fn set_buffer(&mut self, buf: BufferConfig) -> Result<(), SimError> {
        buf.validate()?;
        let (lines, ways) = self.buffer_capacity();
        if buf.on() && (buf.lines > lines || buf.ways != ways) {
            return Err(SimError::Config(format!(
                "buffer_lines {} x buffer_ways {}: the Verilated switch has a row buffer of at most {lines} lines of {ways} ways (bindings/build.rs BufLines/BufWays, PIFS_SWITCH_PARAMS; the model backend takes any size)",
                buf.lines, buf.ways
            )));
        }
        let policy = match buf.policy {
            BufferPolicy::Lru => 0,
            BufferPolicy::Hot => 1,
        };
        let mask = if buf.on() { buf.sets() as u32 - 1 } else { 0 };
        self.sim.set_buffer(buf.on(), mask, policy);
        self.cfg.buffer = buf;
        Ok(())
    }

    /// The model's state and the harness's (cycle, counters, ready patterns) as bytes, for a
    /// checkpoint: nothing may be queued on either side (take the outputs first).
    pub fn save_state(&mut self) -> Result<Vec<u8>, SimError> {
        self.sim.save_state().map_err(SimError::Rtl)
    }

    /// Continue from [`RtlSwitch::save_state`]'s bytes (exactly those: check a checksum first).
    pub fn restore_state(&mut self, bytes: &[u8]) -> Result<(), SimError> {
        self.sim.restore_state(bytes).map_err(SimError::Rtl)
    }

    /// Percentage of cycles the upstream side and the MemRd streams are ready (100 = always,
    /// the default). Below 100 the reference model no longer matches cycle for cycle.
    pub fn set_ready_percent(&mut self, up: u32, memrd: u32) {
        self.sim.set_ready_percent(up, memrd);
    }

    /// Run until the flit and command queues are empty and the switch holds nothing, at most
    /// `max_cycles` cycles; returns the cycles run. (Lines waiting for credits keep it busy.)
    pub fn run_until_idle(&mut self, max_cycles: u64) -> Result<u64, SimError> {
        let ran = self.sim.run(max_cycles, true);
        self.check_assertions()?;
        if ran >= max_cycles {
            return Err(SimError::Deadlock(max_cycles));
        }
        Ok(ran)
    }

    /// The streams' valid/ready per port, credits and harness queues now (deadlock dumps).
    pub fn probe(&self) -> pifs_rtl::SwitchProbe {
        self.sim.probe()
    }

    fn check_assertions(&self) -> Result<(), SimError> {
        let c = self.sim.counters();
        if c.assert_errors > 0 {
            return Err(SimError::Assertion(c.cycles));
        }
        Ok(())
    }

    fn check_port(&self, port: usize) {
        assert!(
            port < self.cfg.ports,
            "port {port} out of range: the switch has {} ports",
            self.cfg.ports
        );
    }
}

impl SwitchModel for RtlSwitch {
    fn buffer_counters(&self, port: usize) -> BufferCounters {
        self.check_port(port);
        let c = self.sim.buffer_counters(port as u32);
        BufferCounters {
            hits: c.hits,
            misses: c.misses,
            bypasses: c.bypasses,
            evictions: c.evictions,
        }
    }

    fn record_line_tags(&mut self, on: bool) {
        self.sim.record_line_tags(on);
    }

    fn take_line_tags(&mut self) -> Vec<(u64, u8, u16)> {
        self.sim
            .take_line_tags()
            .into_iter()
            .map(|t| (t.cycle, t.port, t.tag))
            .collect()
    }

    fn backend(&self) -> &'static str {
        "rtl"
    }

    fn ports(&self) -> usize {
        self.cfg.ports
    }

    fn config(&self) -> SwitchConfig {
        self.cfg
    }

    fn now(&self) -> u64 {
        self.sim.counters().cycles
    }

    fn push_cmds(&mut self, cmds: &[(u64, SwitchCmd)]) {
        self.sim
            .push_cmds(&cmds_in(cmds.iter().map(|(t, c)| (*t, c.encode()))));
    }

    fn push_flits(&mut self, port: usize, flits: &[(u64, Flit)]) {
        self.check_port(port);
        self.sim
            .push_flits(port as u32, &flits_in(flits))
            .expect("port checked above");
    }

    fn grant_credits(&mut self, cycles: &[u64]) {
        self.sim.push_credits(cycles);
    }

    fn run_to(&mut self, until: u64) -> Result<(), SimError> {
        let now = self.now();
        if until > now {
            self.sim.run(until - now, false);
        }
        self.check_assertions()
    }

    fn take_upstream(&mut self) -> Vec<UpLine> {
        self.sim
            .take_upstream()
            .into_iter()
            .map(|u| UpLine {
                cycle: u.cycle,
                port: u.port,
                bag: u.bag,
                line: u.line,
                last: u.last,
                poison: u.poison,
                data: u.data,
            })
            .collect()
    }

    fn take_mem_reqs(&mut self) -> Vec<MemReq> {
        self.sim
            .take_mem_reqs()
            .into_iter()
            .map(|r| MemReq {
                cycle: r.cycle,
                port: r.port,
                tag: r.tag,
                addr: r.addr,
            })
            .collect()
    }

    fn counters(&self, port: usize) -> PortCounters {
        self.check_port(port);
        let mut c: PortCounters = self
            .sim
            .port_counters(port as u32)
            .expect("port checked above")
            .into();
        c.llr_discards = self.sim.llr_discards(port as u32);
        c
    }

    fn set_llr(&mut self, on: bool) {
        self.sim.set_llr(on);
    }

    fn set_row_format(&mut self, fmt: pifs_dlrm::RowFormat, expand: u8) {
        self.sim.set_row_format(fmt.code(), u32::from(expand));
    }

    fn take_link_events(&mut self) -> Vec<(usize, pifs_cxl::llr::LinkEvent)> {
        use pifs_cxl::llr::{LinkEvent, LinkEventKind};
        self.sim
            .take_llr()
            .into_iter()
            .map(|e| {
                let kind = if e.req {
                    LinkEventKind::RetryReq
                } else {
                    LinkEventKind::Ack
                };
                let ev = LinkEvent {
                    cycle: e.cycle,
                    kind,
                    seq: e.seq,
                };
                (e.port as usize, ev)
            })
            .collect()
    }

    fn switch_counters(&self) -> SwitchCounters {
        let c = self.sim.counters();
        SwitchCounters {
            cycles: c.cycles,
            cmd_errors: c.cmd_errors,
            up_lines: c.up_lines,
            up_stall_cycles: c.up_stall_cycles,
            up_credit_wait_cycles: c.up_credit_wait_cycles,
            mem_reqs: c.mem_reqs,
            mem_req_stall_cycles: c.mem_req_stall_cycles,
            credits: c.credits,
        }
    }

    fn finish(&mut self) -> Result<(), SimError> {
        self.sim.finish().map_err(SimError::Rtl)
    }
}
