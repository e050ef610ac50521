//! Energy and average power of one batch, from what the timing models counted.
//!
//! Dynamic energy: every byte on a link (flit bytes, both directions, host link and port
//! links) costs `energy.link_pj_per_bit`; every byte through the crossbar
//! `energy.crossbar_pj_per_bit`; every byte an accumulator adds (host reduce, BEACON's NDP units
//! and pool, the USP combiner, PIFS-Rec's port accumulators) `energy.add_pj_per_byte`; every
//! byte read from DRAM (a DRAM-only read, a cache hit) or filled into the DRAM cache
//! `energy.dram_pj_per_bit`; every byte read from the backing memory (a whole block per miss)
//! the technology's `pj_per_bit`. Static power: DRAM, SCM or NAND capacity times its W/GB
//! (each device's `device.capacity_gb` in its technology, plus its DRAM cache), the switch, every
//! lane of every link in both directions, and the host socket; charged over the batch latency.
//! Average power = energy / latency.

use crate::config::SysConfig;
use crate::systems::Resource;
use pifs_sim::device::TierCounters;
use serde::Serialize;

/// Energy of one batch (J) by where it goes, and the average power over the batch (W).
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct BatchEnergy {
    pub links_j: f64,
    pub crossbar_j: f64,
    pub adders_j: f64,
    pub dram_j: f64,
    pub backing_j: f64,
    pub static_j: f64,
    pub total_j: f64,
    /// Static power of the whole pool, switch, links and host (W).
    pub static_w: f64,
    pub avg_power_w: f64,
}

/// What one batch moved and read.
pub struct Counts<'a> {
    pub resources: &'a [Resource],
    /// 64 B lines the devices served.
    pub device_reads: u64,
    /// Tiered devices: hits, misses, bytes read from the backing memory.
    pub tier: Option<TierCounters>,
    /// Bytes added by accumulators that are not event-model servers (PIFS-Rec's ports).
    pub port_add_bytes: u64,
    pub latency_ns: f64,
}

/// Static power of the configuration (W).
pub fn static_w(c: &SysConfig) -> f64 {
    let e = &c.energy;
    let n = c.switch.ports as f64;
    let per_device = match c.backing() {
        Some(b) => {
            c.device.capacity_gb * b.static_w_per_gb
                + c.tier.cache_mb / 1024.0 * e.dram_static_w_per_gb
        }
        None => c.device.capacity_gb * e.dram_static_w_per_gb,
    };
    let lanes = (c.host_link.lanes as f64 + n * c.port_link.lanes as f64) * 2.0;
    n * per_device + e.switch_static_w + lanes * e.link_static_w_per_lane + e.host_w
}

fn is_link(name: &str) -> bool {
    name.starts_with("host_link.")
        || (name.starts_with("port") && (name.ends_with(".m2s") || name.ends_with(".s2m")))
}

fn is_adder(name: &str) -> bool {
    name == "host.reduce"
        || name == "switch.pool"
        || name == "usp.combine"
        || (name.starts_with("device") && name.ends_with(".ndp"))
}

/// The energy of a batch.
pub fn batch_energy(c: &SysConfig, k: &Counts) -> BatchEnergy {
    let e = &c.energy;
    let bytes = |f: &dyn Fn(&str) -> bool| -> f64 {
        k.resources
            .iter()
            .filter(|r| f(&r.name))
            .map(|r| r.bytes as f64)
            .sum()
    };
    let pj = 1e-12;
    let links_j = bytes(&is_link) * 8.0 * e.link_pj_per_bit * pj;
    let crossbar_j = bytes(&|n| n == "switch.crossbar") * 8.0 * e.crossbar_pj_per_bit * pj;
    let adders_j = (bytes(&is_adder) + k.port_add_bytes as f64) * e.add_pj_per_byte * pj;
    let (dram_bytes, backing_j) = match (k.tier, c.backing(), c.tier_timing()) {
        (Some(t), Some(b), Some(tt)) => (
            t.hits as f64 * 64.0
                + if tt.cache_blocks > 0 {
                    (t.misses * tt.block_bytes) as f64
                } else {
                    0.0
                },
            t.backing_bytes as f64 * 8.0 * b.pj_per_bit * pj,
        ),
        _ => (k.device_reads as f64 * 64.0, 0.0),
    };
    let dram_j = dram_bytes * 8.0 * e.dram_pj_per_bit * pj;
    let sw = static_w(c);
    let static_j = sw * k.latency_ns * 1e-9;
    let total_j = links_j + crossbar_j + adders_j + dram_j + backing_j + static_j;
    BatchEnergy {
        links_j,
        crossbar_j,
        adders_j,
        dram_j,
        backing_j,
        static_j,
        total_j,
        static_w: sw,
        avg_power_w: if k.latency_ns > 0.0 {
            total_j / (k.latency_ns * 1e-9)
        } else {
            0.0
        },
    }
}
