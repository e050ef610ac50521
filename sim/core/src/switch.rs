//! The seam between the simulator and the whole switch (`rtl/pifs_switch_top.sv`): NumPorts
//! downstream-port accumulators, their command dispatchers (which also issue the M2S MemRd
//! requests of `RowRead` commands), and the upstream path (an egress FIFO per port, a
//! round-robin arbiter, upstream credits). The Verilated RTL ([`crate::switch_rtl::RtlSwitch`])
//! and the pure-Rust model ([`crate::switch_model::ModelSwitch`]) both implement
//! [`SwitchModel`].

use crate::buffer::{BufferConfig, BufferCounters};
use crate::cmd::Command;
use crate::port::{PortCounters, SimError};
use pifs_cxl::Flit;

/// A host command for one downstream port: a [`Command`] plus the port field (bits 59:56 of
/// the command word).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SwitchCmd {
    /// Downstream port, 0 .. 15 (the switch drops a word whose port it does not have).
    pub port: u8,
    pub cmd: Command,
}

impl SwitchCmd {
    pub fn new(port: u8, cmd: Command) -> Self {
        SwitchCmd { port, cmd }
    }

    /// The 64-bit command word: [`Command::encode`] with the port in bits 59:56.
    pub fn encode(&self) -> u64 {
        self.cmd.encode() | (self.port as u64 & 0xF) << 56
    }

    /// Decode a switch command word; `None` where [`Command::decode`] would refuse the word
    /// with its port field cleared.
    pub fn decode(w: u64) -> Option<SwitchCmd> {
        let port = ((w >> 56) & 0xF) as u8;
        Command::decode(w & !(0xF << 56)).map(|cmd| SwitchCmd { port, cmd })
    }
}

/// One partial-sum line that left the switch on the upstream stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpLine {
    /// Cycle in which the line transferred upstream.
    pub cycle: u64,
    /// Downstream port whose accumulator produced it.
    pub port: u8,
    /// Bag slot at that port.
    pub bag: u8,
    pub line: u8,
    /// Last line of the bag.
    pub last: bool,
    /// Some line summed into the bag was poisoned.
    pub poison: bool,
    /// 16 binary32 lanes, as bits.
    pub data: [u32; 16],
}

/// One M2S MemRd request a port's dispatcher issued for a RowRead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MemReq {
    /// Cycle in which the request transferred.
    pub cycle: u64,
    pub port: u8,
    /// CXL tag: the RowRead's tag + line.
    pub tag: u16,
    /// Byte address: (line address + line) * 64.
    pub addr: u64,
}

/// Cumulative switch-level counters (per-port ones are [`PortCounters`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SwitchCounters {
    pub cycles: u64,
    /// Host command words the switch dropped: port out of range, unknown op, RowRead lines
    /// not 1 .. 8. (Commands a port's accumulator rejects count in its `cmd_errors`.)
    pub cmd_errors: u64,
    /// Lines sent upstream.
    pub up_lines: u64,
    /// Cycles a line was offered upstream and not taken (the model never stalls: 0).
    pub up_stall_cycles: u64,
    /// Cycles a line was ready to go upstream but no credit was left.
    pub up_credit_wait_cycles: u64,
    /// MemRd requests issued.
    pub mem_reqs: u64,
    /// Request-cycles a MemRd was offered and not taken (the model never stalls: 0).
    pub mem_req_stall_cycles: u64,
    /// Upstream credits available now.
    pub credits: u64,
}

/// The switch parameters the Rust side must agree on with the RTL (`pifs_switch_top`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SwitchConfig {
    /// Downstream ports (`NumPorts`), 1 .. 16.
    pub ports: usize,
    /// Command FIFO entries per port (`CmdDepth`), >= 1.
    pub cmd_depth: usize,
    /// Egress FIFO entries per port on the upstream path (`EgressDepth`), >= 1.
    pub egress_depth: usize,
    /// Upstream credits after reset (`UpCredits`).
    pub up_credits: u64,
    /// Every port's row buffer (`BufLines`, `BufWays`, `buf_policy_i`); off by default.
    pub buffer: BufferConfig,
}

impl Default for SwitchConfig {
    /// The defaults of `pifs_switch_top`, which the bindings' Verilated model uses.
    fn default() -> Self {
        SwitchConfig {
            ports: 8,
            cmd_depth: 4,
            egress_depth: 8,
            up_credits: 32,
            buffer: BufferConfig::OFF,
        }
    }
}

impl SwitchConfig {
    /// Check the ranges the RTL accepts.
    pub fn validate(&self) -> Result<(), SimError> {
        if !(1..=16).contains(&self.ports) {
            return Err(SimError::Config(format!(
                "switch ports {}: must be 1..=16",
                self.ports
            )));
        }
        if self.cmd_depth == 0 || self.egress_depth == 0 {
            return Err(SimError::Config(
                "switch cmd_depth and egress_depth must be >= 1".into(),
            ));
        }
        if self.up_credits >= 1 << 16 {
            return Err(SimError::Config(format!(
                "switch up_credits {}: must be below 65536 (16-bit counter)",
                self.up_credits
            )));
        }
        self.buffer.validate()
    }
}

/// The switch driven cycle by cycle (RTL) or event by event (model).
///
/// Inputs are queued with the earliest cycle they may be offered; each queue (the host command
/// stream, each port's flit stream, the credit pulses) is served in order, at most one item per
/// cycle, as a valid/ready stream would. An item queued for a cycle that has already been
/// simulated is offered from the current cycle on. The upstream and MemRd streams are always
/// ready unless a backend says otherwise.
pub trait SwitchModel {
    /// "rtl" or "model".
    fn backend(&self) -> &'static str;
    /// Number of downstream ports.
    fn ports(&self) -> usize;
    /// The parameters of this switch.
    fn config(&self) -> SwitchConfig;
    /// The next cycle to simulate.
    fn now(&self) -> u64;
    /// Queue host commands (each carries its port), each offered from its cycle.
    fn push_cmds(&mut self, cmds: &[(u64, SwitchCmd)]);
    /// Queue S2M flits of `port`, each offered from its cycle. Panics if `port >= ports()`.
    fn push_flits(&mut self, port: usize, flits: &[(u64, Flit)]);
    /// Queue upstream credit pulses: one credit per entry, given in that cycle (or the first
    /// free cycle after it: one pulse per cycle), usable from the next cycle.
    fn grant_credits(&mut self, cycles: &[u64]);
    /// Simulate up to (not including) cycle `until`.
    fn run_to(&mut self, until: u64) -> Result<(), SimError>;
    /// Upstream lines since the last call, in the order they left.
    fn take_upstream(&mut self) -> Vec<UpLine>;
    /// MemRd requests since the last call, in cycle order (ports in index order per cycle).
    fn take_mem_reqs(&mut self) -> Vec<MemReq>;
    /// Cumulative counters of one port. Panics if `port >= ports()`.
    fn counters(&self, port: usize) -> PortCounters;
    /// Cumulative switch-level counters.
    fn switch_counters(&self) -> SwitchCounters;
    /// Cumulative counts of port `port`'s row buffer (all zero without a buffer). Fills are
    /// counted when the line reaches the accumulator; compare them once the switch is idle.
    fn buffer_counters(&self, _port: usize) -> BufferCounters {
        BufferCounters::default()
    }
    /// Record the tag of every line an accumulator takes, from either of its line inputs
    /// (device or row buffer): the accumulation order (off by default).
    fn record_line_tags(&mut self, _on: bool) {}
    /// The lines the accumulators took before [`Self::now`] since the last call:
    /// (cycle, port, tag), in cycle order within each port.
    fn take_line_tags(&mut self) -> Vec<(u64, u8, u16)> {
        Vec::new()
    }
    /// End of simulation (the RTL calls `final()` and finishes its waveform).
    /// Switch link-layer retry of every S2M link on (before any flit; see
    /// [`crate::port::PortAccumulator::set_llr`]).
    fn set_llr(&mut self, on: bool);
    /// Every port's row format and widening (before any command; see
    /// [`crate::port::PortAccumulator::set_row_format`]); the dispatchers then read device line
    /// j of a RowRead with tag `tag + j * expand`, `ceil(lines / expand)` lines in all.
    fn set_row_format(&mut self, fmt: pifs_dlrm::RowFormat, expand: u8);
    /// Every port's S2M receiver messages raised before [`Self::now`]: (port, event), in cycle
    /// order within each port.
    fn take_link_events(&mut self) -> Vec<(usize, pifs_cxl::llr::LinkEvent)>;
    fn finish(&mut self) -> Result<(), SimError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_field_sits_in_bits_59_56() {
        let c = SwitchCmd::new(
            0xB,
            Command::RowMap {
                bag: 3,
                tag: 0xBEEF,
            },
        );
        assert_eq!(c.encode(), 0x2B03_BEEF_0000_0000);
        assert_eq!(SwitchCmd::decode(c.encode()), Some(c));
        let r = SwitchCmd::new(
            5,
            Command::RowRead {
                bag: 2,
                tag: 9,
                lines: 3,
                line_addr: 77,
            },
        );
        assert_eq!(r.encode() >> 56, 0x35);
        assert_eq!(SwitchCmd::decode(r.encode()), Some(r));
    }
}
