//! The Verilated switch port behind [`PortAccumulator`].

use crate::cmd::Command;
use crate::port::{Arrival, PortAccumulator, PortCounters, PortResult, SimError};
use pifs_cxl::llr::{LinkEvent, LinkEventKind};
use pifs_cxl::Flit;
use pifs_rtl::WaveSpec;
use pifs_rtl::{CmdIn, FlitIn, PortSim};
pub use pifs_rtl::{PortProbe, SwitchProbe};

/// The RTL backend: one Verilated `pifs_port_top`.
pub struct RtlPort {
    sim: PortSim,
}

impl RtlPort {
    /// Build and reset the model, writing the waveform `wave` asks for; without one, the
    /// waveform the environment asks for, if this is the process's first RTL model (`PIFS_WAVE`,
    /// see [`WaveSpec::take_from_env`]).
    pub fn new(seed: u64, wave: Option<&WaveSpec>) -> Result<Self, SimError> {
        let env = match wave {
            Some(_) => None,
            None => WaveSpec::take_from_env().map_err(SimError::Rtl)?,
        };
        let wave = wave.or(env.as_ref());
        Ok(RtlPort {
            sim: PortSim::new(seed, wave).map_err(SimError::Rtl)?,
        })
    }
}

impl RtlPort {
    /// The streams' valid/ready, the harness queues and command counts now (deadlock dumps).
    pub fn probe(&self) -> PortProbe {
        self.sim.probe()
    }

    /// The model's state and the harness's (cycle, counters, ready pattern) as bytes, for a
    /// checkpoint: nothing may be queued on either side (take results and arrivals first).
    pub fn save_state(&mut self) -> Result<Vec<u8>, SimError> {
        self.sim.save_state().map_err(SimError::Rtl)
    }

    /// Continue from [`RtlPort::save_state`]'s bytes (exactly those: check a checksum first).
    pub fn restore_state(&mut self, bytes: &[u8]) -> Result<(), SimError> {
        self.sim.restore_state(bytes).map_err(SimError::Rtl)
    }

    fn check_assertions(&self) -> Result<(), SimError> {
        let c = self.sim.counters();
        if c.assert_errors > 0 {
            return Err(SimError::Assertion(c.cycles));
        }
        Ok(())
    }
}

/// Version of the Verilator that built the model.
pub fn verilator_version() -> String {
    pifs_rtl::VERILATOR_BUILD_VERSION.to_string()
}

impl PortAccumulator for RtlPort {
    fn backend(&self) -> &'static str {
        "rtl"
    }

    fn push_cmds(&mut self, cmds: &[(u64, Command)]) {
        self.sim
            .push_cmds(&cmds_in(cmds.iter().map(|(t, c)| (*t, c.encode()))));
    }

    fn push_flits(&mut self, flits: &[(u64, Flit)]) {
        self.sim.push_flits(&flits_in(flits));
    }

    fn set_res_ready_percent(&mut self, percent: u32) {
        self.sim.set_res_ready_percent(percent);
    }

    fn now(&self) -> u64 {
        self.sim.counters().cycles
    }

    fn run_to(&mut self, until: u64) -> Result<(), SimError> {
        let now = self.now();
        if until > now {
            self.sim.run(until - now, false);
        }
        self.check_assertions()
    }

    fn drain(&mut self, max_cycles: u64) -> Result<(), SimError> {
        let ran = self.sim.run(max_cycles, true);
        self.check_assertions()?;
        if ran >= max_cycles {
            return Err(SimError::Deadlock(max_cycles));
        }
        Ok(())
    }

    fn take_results(&mut self) -> Vec<PortResult> {
        self.sim
            .take_results()
            .into_iter()
            .map(|r| PortResult {
                cycle: r.cycle,
                bag: r.bag,
                line: r.line,
                last: r.last,
                poison: r.poison,
                data: r.data,
            })
            .collect()
    }

    fn take_arrivals(&mut self) -> Vec<Arrival> {
        self.sim
            .take_monitor()
            .into_iter()
            .map(|m| Arrival {
                cycle: m.cycle,
                bag: m.bag,
                line: m.line,
                part: m.part,
            })
            .collect()
    }

    fn counters(&self) -> PortCounters {
        let mut c: PortCounters = self.sim.counters().into();
        c.llr_discards = self.sim.llr_discards();
        c
    }

    fn set_llr(&mut self, on: bool) {
        self.sim.set_llr(on);
    }

    fn set_row_format(&mut self, fmt: pifs_dlrm::RowFormat, expand: u8) {
        self.sim.set_row_format(fmt.code(), u32::from(expand));
    }

    fn take_link_events(&mut self) -> Vec<LinkEvent> {
        self.sim
            .take_llr()
            .into_iter()
            .map(|e| LinkEvent {
                cycle: e.cycle,
                kind: if e.req {
                    LinkEventKind::RetryReq
                } else {
                    LinkEventKind::Ack
                },
                seq: e.seq,
            })
            .collect()
    }

    fn finish(&mut self) -> Result<(), SimError> {
        self.sim.finish().map_err(SimError::Rtl)
    }
}

/// The counters a Verilated port reports (the port harness's and the switch harness's per-port
/// counters alike), without the assertion count the harness keeps for itself.
impl From<pifs_rtl::Counters> for PortCounters {
    fn from(c: pifs_rtl::Counters) -> Self {
        PortCounters {
            cycles: c.cycles,
            flits: c.flits,
            crc_errors: c.crc_errors,
            proto_errors: c.proto_errors,
            ndr: c.ndr,
            cmd_errors: c.cmd_errors,
            tag_errors: c.tag_errors,
            flit_stall_cycles: c.flit_stall_cycles,
            res_stall_cycles: c.res_stall_cycles,
            lines: c.lines,
            llr_discards: 0,
        }
    }
}

/// Flits for a Verilated harness's input queue, each offered from its cycle.
pub(crate) fn flits_in(flits: &[(u64, Flit)]) -> Vec<FlitIn> {
    flits
        .iter()
        .map(|(t, f)| FlitIn {
            words: f.to_words(),
            not_before: *t,
        })
        .collect()
}

/// Command words (cycle, word) for a Verilated harness's command queue.
pub(crate) fn cmds_in(cmds: impl Iterator<Item = (u64, u64)>) -> Vec<CmdIn> {
    cmds.map(|(t, word)| CmdIn {
        word,
        not_before: t,
    })
    .collect()
}
