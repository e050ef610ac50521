//! The JSON stats document of a run (keys documented in the README, section "Stats").

use crate::device::DeviceCounters;
use crate::params::{LinkFaults, Timing};
use crate::port::PortCounters;
use pifs_cxl::llr::LinkStats;
use pifs_dlrm::RowFormat;
use serde::Serialize;

/// Per-port figures.
#[derive(Clone, Debug, Serialize)]
pub struct PortStats {
    pub port: usize,
    /// Bag pieces (sub-bags) this port summed.
    pub bags: u64,
    /// Embedding rows read through this port.
    pub lookups: u64,
    /// M2S flits host -> device and S2M flits device -> port.
    pub m2s_flits: u64,
    pub s2m_flits: u64,
    /// Partial-sum lines sent upstream.
    pub result_lines: u64,
    /// S2M flits per cycle over the run (1.0 = line rate).
    pub utilisation: f64,
    /// Cycle the port's last result left.
    pub last_result_cycle: u64,
    pub counters: PortCounters,
    pub device: DeviceCounters,
    /// Link-layer retry on: the port's S2M and M2S link counters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub links: Option<PortLinkStats>,
    /// Row buffer on: its hits, misses, bypasses and evictions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer: Option<crate::buffer::BufferCounters>,
}

/// One port's two links.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PortLinkStats {
    /// Device -> port (the port's ingress receives).
    pub s2m: LinkStats,
    /// Port -> device (the device receives).
    pub m2s: LinkStats,
}

/// Fault configuration and counters summed over the ports.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct LinkFaultStats {
    pub config: LinkFaults,
    pub s2m: LinkStats,
    pub m2s: LinkStats,
}

/// Configuration echo.
#[derive(Clone, Debug, Serialize)]
pub struct ConfigEcho {
    pub workload: String,
    pub tables: usize,
    pub batch: usize,
    pub dim: usize,
    /// 64-byte lines a row takes in device memory.
    pub row_lines: usize,
    /// How rows are stored (left out for fp32).
    #[serde(skip_serializing_if = "is_fp32")]
    pub row_format: RowFormat,
    pub ports: usize,
    pub seed: u64,
    pub res_ready_percent: u32,
    pub timing: Timing,
}

/// The whole document.
#[derive(Clone, Debug, Serialize)]
pub struct Stats {
    pub project_version: &'static str,
    pub verilator: Option<String>,
    pub system: &'static str,
    pub backend: &'static str,
    pub config: ConfigEcho,
    /// Cycles until the last partial sum left the last port.
    pub cycles: u64,
    pub time_ns: f64,
    pub bags: u64,
    pub lookups: u64,
    /// 64-byte lines read from devices (lookups x row lines).
    pub lines: u64,
    /// Bytes that crossed the port-device links (S2M flits x 68) and the upstream side
    /// (partial-sum lines x 64, payload only).
    pub device_link_bytes: u64,
    pub upstream_bytes: u64,
    pub ports: Vec<PortStats>,
    /// Faults on: their configuration and the link counters over all ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_faults: Option<LinkFaultStats>,
    /// Bags that summed a poisoned line (pooled as NaN), ascending.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub poisoned_bags: Vec<usize>,
}

fn is_fp32(f: &RowFormat) -> bool {
    *f == RowFormat::Fp32
}
