//! The Rust-side state of `pifs run` and `pifs compare` checkpoints, as serde types (encoded with
//! bincode, which keeps every float's bits). They mirror the simulator's result types field by
//! field, so a field added there fails to compile here until the checkpoint carries it too.

use pifs_sim::device::{DeviceCounters, TierCounters};
use pifs_sim::port::PortCounters;
use pifs_sim::stats::PortStats;
use pifs_sim::system::PortOutcome;
use pifs_systems::compare::SystemProgress;
use pifs_systems::energy::BatchEnergy;
use pifs_systems::systems::{BatchResult, Resource};
use serde::{Deserialize, Serialize};

/// `pifs run`: the ports finished so far.
#[derive(Serialize, Deserialize)]
pub struct RunState {
    pub ports: Vec<SavedPort>,
}

#[derive(Serialize, Deserialize)]
pub struct SavedPort {
    /// (bag, first line, lanes as f32 bits) per piece.
    sums: Vec<(u64, u64, Vec<u32>)>,
    /// (cycle, bag) of every result line.
    lines: Vec<(u64, u64)>,
    port: u64,
    bags: u64,
    lookups: u64,
    m2s_flits: u64,
    s2m_flits: u64,
    result_lines: u64,
    utilisation: f64,
    last_result_cycle: u64,
    counters: [u64; 11],
    device: [u64; 8],
    poisoned: Vec<u64>,
}

impl SavedPort {
    pub fn from(o: &PortOutcome) -> SavedPort {
        let s = &o.stats;
        let c = &s.counters;
        let d = &s.device;
        SavedPort {
            sums: o
                .sums
                .iter()
                .map(|(b, l, v)| (*b as u64, *l as u64, v.clone()))
                .collect(),
            lines: o.lines.iter().map(|&(c, b)| (c, b as u64)).collect(),
            port: s.port as u64,
            bags: s.bags,
            lookups: s.lookups,
            m2s_flits: s.m2s_flits,
            s2m_flits: s.s2m_flits,
            result_lines: s.result_lines,
            utilisation: s.utilisation,
            last_result_cycle: s.last_result_cycle,
            counters: [
                c.cycles,
                c.flits,
                c.crc_errors,
                c.proto_errors,
                c.ndr,
                c.cmd_errors,
                c.tag_errors,
                c.flit_stall_cycles,
                c.res_stall_cycles,
                c.lines,
                c.llr_discards,
            ],
            device: [
                d.m2s_flits,
                d.reads,
                d.s2m_flits,
                d.decode_errors,
                d.tier_hits,
                d.tier_misses,
                d.backing_bytes,
                d.poisoned,
            ],
            poisoned: o.poisoned.iter().map(|&b| b as u64).collect(),
        }
    }

    pub fn into_outcome(self) -> PortOutcome {
        let c = self.counters;
        let d = self.device;
        PortOutcome {
            sums: self
                .sums
                .into_iter()
                .map(|(b, l, v)| (b as usize, l as usize, v))
                .collect(),
            lines: self
                .lines
                .into_iter()
                .map(|(c, b)| (c, b as usize))
                .collect(),
            stats: PortStats {
                port: self.port as usize,
                bags: self.bags,
                lookups: self.lookups,
                m2s_flits: self.m2s_flits,
                s2m_flits: self.s2m_flits,
                result_lines: self.result_lines,
                utilisation: self.utilisation,
                last_result_cycle: self.last_result_cycle,
                buffer: None,
                counters: PortCounters {
                    cycles: c[0],
                    flits: c[1],
                    crc_errors: c[2],
                    proto_errors: c[3],
                    ndr: c[4],
                    cmd_errors: c[5],
                    tag_errors: c[6],
                    flit_stall_cycles: c[7],
                    res_stall_cycles: c[8],
                    lines: c[9],
                    llr_discards: c[10],
                },
                device: DeviceCounters {
                    m2s_flits: d[0],
                    reads: d[1],
                    s2m_flits: d[2],
                    decode_errors: d[3],
                    tier_hits: d[4],
                    tier_misses: d[5],
                    backing_bytes: d[6],
                    poisoned: d[7],
                },
                // Checkpoints are refused with link faults on (`resume::CheckpointArgs`).
                links: None,
            },
            poisoned: self.poisoned.into_iter().map(|b| b as usize).collect(),
        }
    }
}

/// `pifs compare`: per system (in the order they run), the batches finished and the bound flag.
#[derive(Serialize, Deserialize)]
pub struct CompareState {
    pub systems: Vec<(Vec<SavedBatch>, bool)>,
}

impl CompareState {
    pub fn from(done: &[SystemProgress]) -> CompareState {
        CompareState {
            systems: done
                .iter()
                .map(|s| (s.results.iter().map(SavedBatch::from).collect(), s.ok))
                .collect(),
        }
    }

    pub fn into_progress(self) -> Vec<SystemProgress> {
        self.systems
            .into_iter()
            .map(|(b, ok)| SystemProgress {
                results: b.into_iter().map(SavedBatch::into_result).collect(),
                ok,
            })
            .collect()
    }

    /// Batches finished over all systems (the checkpoint's unit count).
    pub fn units(done: &[SystemProgress]) -> u64 {
        done.iter().map(|s| s.results.len() as u64).sum()
    }
}

#[derive(Serialize, Deserialize)]
pub struct SavedBatch {
    latency_ns: f64,
    upstream_bytes: u64,
    downstream_bytes: u64,
    port_bytes: Vec<u64>,
    crossbar_bytes: u64,
    resources: Vec<(String, u64, f64)>,
    port_cycles: Option<u64>,
    device_reads: u64,
    device_lines: Vec<u64>,
    migration_bytes: u64,
    migration_ns: f64,
    tier: Option<(u64, u64, u64)>,
    poisoned_bags: Vec<u64>,
    /// links, crossbar, adders, dram, backing, static, total (J), static W, average W.
    energy: [f64; 9],
}

impl SavedBatch {
    fn from(r: &BatchResult) -> SavedBatch {
        let e = &r.energy;
        SavedBatch {
            latency_ns: r.latency_ns,
            upstream_bytes: r.upstream_bytes,
            downstream_bytes: r.downstream_bytes,
            port_bytes: r.port_bytes.clone(),
            crossbar_bytes: r.crossbar_bytes,
            resources: r
                .resources
                .iter()
                .map(|x| (x.name.clone(), x.bytes, x.utilisation))
                .collect(),
            port_cycles: r.port_cycles,
            device_reads: r.device_reads,
            device_lines: r.device_lines.clone(),
            migration_bytes: r.migration_bytes,
            migration_ns: r.migration_ns,
            tier: r.tier.map(|t| (t.hits, t.misses, t.backing_bytes)),
            poisoned_bags: r.poisoned_bags.iter().map(|&b| b as u64).collect(),
            energy: [
                e.links_j,
                e.crossbar_j,
                e.adders_j,
                e.dram_j,
                e.backing_j,
                e.static_j,
                e.total_j,
                e.static_w,
                e.avg_power_w,
            ],
        }
    }

    fn into_result(self) -> BatchResult {
        let e = self.energy;
        BatchResult {
            latency_ns: self.latency_ns,
            upstream_bytes: self.upstream_bytes,
            downstream_bytes: self.downstream_bytes,
            port_bytes: self.port_bytes,
            crossbar_bytes: self.crossbar_bytes,
            resources: self
                .resources
                .into_iter()
                .map(|(name, bytes, utilisation)| Resource {
                    name,
                    bytes,
                    utilisation,
                })
                .collect(),
            port_cycles: self.port_cycles,
            device_reads: self.device_reads,
            device_lines: self.device_lines,
            migration_bytes: self.migration_bytes,
            migration_ns: self.migration_ns,
            tier: self.tier.map(|(hits, misses, backing_bytes)| TierCounters {
                hits,
                misses,
                backing_bytes,
            }),
            poisoned_bags: self.poisoned_bags.into_iter().map(|b| b as usize).collect(),
            buffer: None,
            energy: BatchEnergy {
                links_j: e[0],
                crossbar_j: e[1],
                adders_j: e[2],
                dram_j: e[3],
                backing_j: e[4],
                static_j: e[5],
                total_j: e[6],
                static_w: e[7],
                avg_power_w: e[8],
            },
            pooled: Vec::new(),
        }
    }
}
