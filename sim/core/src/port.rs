//! The seam between the simulator and a port accumulator: the Verilated RTL ([`crate::rtl`]) and
//! the pure-Rust reference model ([`crate::model`]) both implement [`PortAccumulator`].

use crate::cmd::Command;
use pifs_cxl::llr::LinkEvent;
use pifs_cxl::Flit;
use pifs_dlrm::RowFormat;

/// One partial-sum line that left the port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortResult {
    /// Cycle in which the line transferred on the result stream.
    pub cycle: u64,
    pub bag: u8,
    pub line: u8,
    /// Last line of the bag.
    pub last: bool,
    /// Some line summed into the bag was poisoned.
    pub poison: bool,
    /// 16 binary32 lanes, as bits.
    pub data: [u32; 16],
}

/// One line accepted by the accumulator, in accumulation order: it went to partial sum `part`
/// of line `line` of bag slot `bag`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arrival {
    pub cycle: u64,
    pub bag: u8,
    pub line: u8,
    pub part: u8,
}

/// Cumulative counters of a port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PortCounters {
    pub cycles: u64,
    pub flits: u64,
    pub crc_errors: u64,
    pub proto_errors: u64,
    pub ndr: u64,
    pub cmd_errors: u64,
    pub tag_errors: u64,
    pub flit_stall_cycles: u64,
    pub res_stall_cycles: u64,
    pub lines: u64,
    /// Link-layer retry on: good flits the S2M receiver discarded while waiting for a replay.
    #[serde(skip_serializing_if = "is_zero")]
    pub llr_discards: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Errors of a simulation run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("RTL model: {0}")]
    Rtl(String),
    #[error("RTL assertion failed in cycle {0} (the assertion's message is above)")]
    Assertion(u64),
    #[error("port did not become idle within {0} cycles (deadlock?)")]
    Deadlock(u64),
    #[error("{0}")]
    Check(String),
    /// The configuration or the workload cannot be simulated (bad input, exit code 2).
    #[error("{0}")]
    Config(String),
}

/// A downstream-port accumulator driven cycle by cycle (RTL) or at transaction level (model).
///
/// Inputs are queued with the earliest cycle they may be offered; each queue is served in order,
/// one item per cycle at most, as a valid/ready stream would.
pub trait PortAccumulator {
    /// "rtl" or "model".
    fn backend(&self) -> &'static str;
    /// Queue host commands, each offered from its cycle.
    fn push_cmds(&mut self, cmds: &[(u64, Command)]);
    /// Queue S2M flits, each offered from its cycle.
    fn push_flits(&mut self, flits: &[(u64, Flit)]);
    /// Percentage of cycles the upstream side accepts a result (100 = never stalls).
    fn set_res_ready_percent(&mut self, percent: u32);
    /// The next cycle to simulate.
    fn now(&self) -> u64;
    /// Simulate up to (not including) cycle `until`.
    fn run_to(&mut self, until: u64) -> Result<(), SimError>;
    /// Simulate until every queue is empty and the port is idle.
    fn drain(&mut self, max_cycles: u64) -> Result<(), SimError>;
    /// Results since the last call, in the order they left.
    fn take_results(&mut self) -> Vec<PortResult>;
    /// Accumulator arrivals since the last call, in order.
    fn take_arrivals(&mut self) -> Vec<Arrival>;
    fn counters(&self) -> PortCounters;
    /// Switch link-layer retry of the S2M link on (before any flit): a bad flit then raises
    /// RETRY.Req and the receiver discards flits until the replay (`pifs_cxl::llr`).
    /// Backends without a link layer (test recorders) ignore it.
    fn set_llr(&mut self, _on: bool) {}
    /// Rows in device memory are stored in `fmt` and each device line is widened to `expand`
    /// binary32 lines before summing (`rtl/pifs_dequant.sv`; before any command). The default
    /// is fp32, not widened.
    fn set_row_format(&mut self, _fmt: RowFormat, _expand: u8) {}
    /// The S2M receiver's RETRY.Req and acknowledgements raised before [`Self::now`], in order.
    fn take_link_events(&mut self) -> Vec<LinkEvent> {
        Vec::new()
    }
    /// End of simulation (the RTL calls `final()` and finishes its waveform).
    fn finish(&mut self) -> Result<(), SimError> {
        Ok(())
    }
}
