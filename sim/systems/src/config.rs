//! The system description: every parameter of the timing models, with its unit, default and
//! source ([`PARAMS`]), read from TOML, from a named preset, and from `key=value` overrides.
//! This is the one place the system-level parameters are defined; the port-level ones that
//! `pifs run` also uses (clock, device latency, jitter, bandwidth) are taken from
//! `pifs_sim::params` so the two never disagree.

use pifs_sim::device::TierTiming;
use pifs_sim::params::{Timing, PARAM_DOCS};
use pifs_sim::system::Placement;
use serde::{Deserialize, Serialize};

/// Whole configuration. TOML sections are the fields below.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SysConfig {
    pub clock: Clock,
    pub host_link: Link,
    pub port_link: Link,
    pub switch: Switch,
    pub device: Device,
    pub host: Host,
    pub beacon_d: BeaconD,
    pub beacon_s: BeaconS,
    pub pifs: Pifs,
    pub tier: Tier,
    pub scm: Scm,
    pub nand: Nand,
    pub energy: Energy,
    pub faults: Faults,
}

/// Link faults, link-layer retry and device poison (docs/link-faults.md); every rate 0 = off.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    pub link_bit_error_rate: f64,
    pub link_flit_drop_rate: f64,
    pub device_poison_rate: f64,
    pub llrb_flits: u32,
    pub llr_retry_timeout_cycles: u32,
    pub llr_ack_every_flits: u32,
}

impl Default for Faults {
    fn default() -> Self {
        let d = pifs_sim::params::LinkFaults::default();
        Faults {
            link_bit_error_rate: d.bit_error_rate,
            link_flit_drop_rate: d.flit_drop_rate,
            device_poison_rate: d.poison_rate,
            llrb_flits: d.llrb_flits as u32,
            llr_retry_timeout_cycles: d.retry_timeout_cycles as u32,
            llr_ack_every_flits: u32::from(d.ack_every_flits),
        }
    }
}

impl Faults {
    /// The cycle-level configuration: None while every rate is 0 (fault-free, no retry).
    pub fn link_faults(&self) -> Option<pifs_sim::params::LinkFaults> {
        let on = self.link_bit_error_rate > 0.0
            || self.link_flit_drop_rate > 0.0
            || self.device_poison_rate > 0.0;
        on.then(|| pifs_sim::params::LinkFaults {
            bit_error_rate: self.link_bit_error_rate,
            flit_drop_rate: self.link_flit_drop_rate,
            poison_rate: self.device_poison_rate,
            llrb_flits: self.llrb_flits as usize,
            retry_timeout_cycles: u64::from(self.llr_retry_timeout_cycles),
            ack_every_flits: self.llr_ack_every_flits.min(255) as u8,
        })
    }
}

/// The memory behind each port: DRAM only, or a DRAM cache in front of SCM or NAND.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Tier {
    /// "none" (DRAM only), "scm" or "nand".
    pub backing: String,
    /// DRAM cache per device, MiB.
    pub cache_mb: f64,
    /// "trace": warm the cache with the device's own reads before the timed batch; "cold".
    pub warm: String,
}

impl Default for Tier {
    fn default() -> Self {
        Tier {
            backing: "none".into(),
            cache_mb: 64.0,
            warm: "trace".into(),
        }
    }
}

/// A backing memory technology: read latency, bandwidth, access size, queue depth, energy per
/// bit read and static power per GB.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backing {
    pub latency_ns: f64,
    pub gbps: f64,
    pub access_bytes: u64,
    pub queue_depth: u32,
    pub pj_per_bit: f64,
    pub static_w_per_gb: f64,
}

/// The `[scm]` and `[nand]` sections: the same keys, each with its own defaults.
macro_rules! backing_section {
    ($name:ident, $doc:literal, $lat:expr, $gbps:expr, $bytes:expr, $qd:expr, $pj:expr, $w:expr) => {
        #[doc = $doc]
        #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            pub latency_ns: f64,
            pub gbps: f64,
            pub access_bytes: u64,
            pub queue_depth: u32,
            pub pj_per_bit: f64,
            pub static_w_per_gb: f64,
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    latency_ns: $lat,
                    gbps: $gbps,
                    access_bytes: $bytes,
                    queue_depth: $qd,
                    pj_per_bit: $pj,
                    static_w_per_gb: $w,
                }
            }
        }

        impl $name {
            pub fn backing(&self) -> Backing {
                Backing {
                    latency_ns: self.latency_ns,
                    gbps: self.gbps,
                    access_bytes: self.access_bytes,
                    queue_depth: self.queue_depth,
                    pj_per_bit: self.pj_per_bit,
                    static_w_per_gb: self.static_w_per_gb,
                }
            }
        }
    };
}

backing_section!(
    Scm,
    "3DXP-class storage-class memory.",
    305.0,
    6.6,
    256,
    16,
    40.0,
    0.014
);
backing_section!(Nand, "NAND flash.", 50_000.0, 3.0, 4096, 64, 30.0, 0.00125);

/// Energy of links, switch, adders and memories, and static power.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Energy {
    pub link_pj_per_bit: f64,
    pub link_static_w_per_lane: f64,
    pub crossbar_pj_per_bit: f64,
    pub add_pj_per_byte: f64,
    pub dram_pj_per_bit: f64,
    pub dram_static_w_per_gb: f64,
    pub switch_static_w: f64,
    pub host_w: f64,
}

impl Default for Energy {
    fn default() -> Self {
        Energy {
            link_pj_per_bit: 2.0,
            link_static_w_per_lane: 0.032,
            crossbar_pj_per_bit: 1.0,
            add_pj_per_byte: 0.225,
            dram_pj_per_bit: 20.0,
            dram_static_w_per_gb: 0.1,
            switch_static_w: 20.0,
            host_w: 205.0,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Pifs {
    /// "host": every port's partial sums cross the upstream link and the host adds them;
    /// "usp": the upstream port adds them and sends one sum per bag.
    pub combine: String,
    pub usp_gbps: f64,
    /// "switch": the whole pifs_switch_top (dispatchers, egress FIFOs, round-robin arbiter,
    /// credits, one host command lane per port); "ports": each downstream port's RTL
    /// (pifs_port_top) on its own, the upstream arbitration in the timing model.
    pub level: String,
    /// Sharding plan of PIFS-Rec's tables: "row" (device.interleave), "table", "column",
    /// "greedy" (docs/placement.md).
    pub plan: String,
    /// Embedding spreading: "off", "replicate", "migrate".
    pub spread: String,
    pub hot_page_bytes: u64,
    pub hot_epoch_batches: u32,
    pub hot_pages: u32,
    pub hot_min_share: f64,
    pub spread_replicas: u32,
    /// "least-loaded" or "round-robin".
    pub replica_pick: String,
    /// Row buffer of every port in 64-byte lines (0 = none; switch level only).
    pub buffer_lines: u64,
    /// Its associativity.
    pub buffer_ways: u64,
    /// "lru" or "hot" (see pifs_sim::buffer).
    pub buffer_policy: String,
}

impl Default for Pifs {
    fn default() -> Self {
        Pifs {
            combine: "host".into(),
            usp_gbps: 64.0,
            level: "switch".into(),
            plan: "row".into(),
            spread: "off".into(),
            hot_page_bytes: 4096,
            hot_epoch_batches: 1,
            hot_pages: 32,
            hot_min_share: 0.0,
            spread_replicas: 2,
            replica_pick: "least-loaded".into(),
            buffer_lines: 0,
            buffer_ways: 4,
            buffer_policy: "lru".into(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Clock {
    pub ghz: f64,
}

/// A CXL link, one direction's figures (both directions are alike and independent).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Link {
    pub lanes: u32,
    pub gt_s: f64,
    pub efficiency: f64,
    pub flight_ns: f64,
    /// Flits the receiver can buffer (credits); with the credit round trip this caps the rate.
    pub credits: u32,
    pub credit_rtt_ns: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Switch {
    pub ports: usize,
    pub traversal_ns: f64,
    pub crossbar_gbps: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Device {
    pub latency_ns: f64,
    pub jitter_ns: f64,
    pub gbps: f64,
    /// "row", "table" or "page".
    pub interleave: String,
    pub page_bytes: u64,
    /// Capacity of each device (of its backing memory when tiered), GB.
    pub capacity_gb: f64,
    /// How embedding rows are stored: "fp32", "fp16" or "int8" (row-wise, FBGEMM layout).
    pub row_format: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Host {
    pub issue_per_ns: f64,
    pub outstanding: u32,
    pub reduce_lines_per_ns: f64,
    pub descriptor_bytes: u32,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BeaconD {
    pub ndp_gbps: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BeaconS {
    pub pool_gbps: f64,
}

/// Documentation of one parameter.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Param {
    pub key: &'static str,
    pub unit: &'static str,
    source: &'static str,
    /// Key in `pifs_sim::params::PARAM_DOCS` when the parameter is shared with `pifs run`.
    shared: Option<&'static str>,
    pub meaning: &'static str,
}

impl Param {
    /// Where the default comes from (for a shared parameter, its entry in pifs_sim::params).
    pub fn source(&self) -> &'static str {
        match self.shared {
            Some(k) => PARAM_DOCS
                .iter()
                .find(|d| d.key == k)
                .map_or("", |d| d.source),
            None => self.source,
        }
    }
}

const fn p(
    key: &'static str,
    unit: &'static str,
    source: &'static str,
    meaning: &'static str,
) -> Param {
    Param {
        key,
        unit,
        source,
        shared: None,
        meaning,
    }
}

/// A parameter shared with `pifs run`: unit, default and source live in `pifs_sim::params`.
const fn shared_param(
    key: &'static str,
    unit: &'static str,
    sim_key: &'static str,
    meaning: &'static str,
) -> Param {
    Param {
        key,
        unit,
        source: "",
        shared: Some(sim_key),
        meaning,
    }
}

/// Every parameter: key as in TOML (`section.field`) and in `--set`.
pub const PARAMS: &[Param] = &[
    shared_param("clock.ghz", "GHz", "clock_ghz", "switch core clock; the port RTL takes one flit per cycle"),
    p("host_link.lanes", "lanes", "DESIGN.md section 2 / issue 3: x16 upstream link", "width of the host-switch link"),
    p("host_link.gt_s", "GT/s", "CXL 3.2 Table 13-1: 32 GT/s is the fastest 68B-flit rate", "signalling rate per lane"),
    p("host_link.efficiency", "fraction", "CXL 3.2 ch. 13 expects 60-90% CXL.mem efficiency end to end; flit packing is counted explicitly here, so this is the share left for protocol flits (credit returns, retries take the rest)", "share of flit slots that carry protocol flits"),
    p("host_link.flight_ns", "ns", "modelling choice: wire and PHY time folded into switch.traversal_ns (Pond reports 70-90 ns for the whole pooling hop)", "one-way flight time of the host link"),
    p("host_link.credits", "flits", "modelling choice: receive buffer large enough that credits do not limit an x16 link at the default round trip", "flit credits the receiver advertises"),
    p("host_link.credit_rtt_ns", "ns", "modelling choice: credit return loop of a link-layer LLCRD round trip", "time from sending a flit to getting its credit back"),
    p("port_link.lanes", "lanes", "DESIGN.md section 2 (x8/x16 to each device); x16 so line rate is one flit per cycle", "width of each switch-device link"),
    p("port_link.gt_s", "GT/s", "CXL 3.2 Table 13-1", "signalling rate per lane"),
    p("port_link.efficiency", "fraction", "as host_link.efficiency", "share of flit slots that carry protocol flits"),
    shared_param("port_link.flight_ns", "ns", "link_flight_ns", "one-way flight time of the switch-device link"),
    p("port_link.credits", "flits", "as host_link.credits", "flit credits"),
    p("port_link.credit_rtt_ns", "ns", "as host_link.credit_rtt_ns", "credit round trip"),
    p("switch.ports", "ports", "issue 3: 8 downstream ports by default", "downstream ports, one memory device each"),
    p("switch.traversal_ns", "ns", "DESIGN.md section 6: literature puts one switch hop at 50-120 ns; Pond reports 70-90 ns added by pooling", "one traversal of the switch, each direction"),
    p("switch.crossbar_gbps", "GB/s", "modelling choice: non-blocking crossbar, 8 ports x 64 GB/s", "total data bandwidth of the crossbar"),
    shared_param("device.latency_ns", "ns", "device_latency_ns", "MemRd to MemData at the device pins"),
    shared_param("device.jitter_ns", "ns", "device_jitter_ns", "random extra delay per read (reorders responses; the event models of Pond and BEACON ignore it)"),
    shared_param("device.gbps", "GB/s", "device_gbps", "read bandwidth of each memory device"),
    p("device.interleave", "row|table|page", "issue 3: row-interleaved, table-per-device, page-interleaved", "how rows are spread over the devices"),
    p("device.row_format", "fp32|fp16|int8", "issue 7; int8 row-wise is FBGEMM's inference layout (fp16 scale and bias in front of the row's uint8 codes, x = q * scale + bias); fp32 default, so runs without it are unchanged", "how embedding rows are stored in the devices: every system reads that many bytes per row; PIFS-Rec's ports widen rows to binary32 before summing (fp16: dim <= 16 or a multiple of 32 up to rounding; int8: dim <= 60)"),
    p("device.page_bytes", "bytes", "4 KiB OS page (page-granular memory management in PIFS-Rec summaries)", "page size for page interleaving"),
    p("host.issue_per_ns", "requests/ns", "modelling choice: many cores issuing loads; above the link's line rate so the link, not the cores, limits Pond", "MemRd (or descriptor) issue rate of the host"),
    p("host.outstanding", "requests", "modelling choice: enough reads in flight to cover a ~250 ns round trip at line rate (Little's law), as a multi-core host with deep load queues can", "outstanding MemRd per host link (Pond)"),
    p("host.reduce_lines_per_ns", "lines/ns", "modelling choice: vectorised adds on a few cores (one 64 B line is one AVX-512 add)", "rate at which the host adds 64 B lines into the pooled output"),
    p("host.descriptor_bytes", "bytes", "this design: one 64-bit RowRead command word per row (rtl/pifs_pkg.sv)", "bytes the host sends per row in BEACON and PIFS-Rec (8 per 64 B write)"),
    p("beacon_d.ndp_gbps", "GB/s", "modelling choice (no public figure available to us): the NDP unit in each device adds rows at half the device's line rate; swept by pifs sweep", "rate at which one device's NDP unit accumulates rows"),
    p("beacon_s.pool_gbps", "GB/s", "modelling choice (no public figure available to us): one central unit with the bandwidth of one x16 port; swept by pifs sweep", "accumulation bandwidth of the central pool in the switch (all port traffic crosses it)"),
    p("pifs.combine", "host|usp", "issue 3 / DESIGN.md section 2: the host (or the USP) combines per-port partial sums; host is what pifs_switch_top does (partials arbitrated onto the upstream link)", "where the per-port partial sums of a bag are added"),
    p("pifs.level", "ports|switch", "this design: switch = the whole pifs_switch_top (dispatchers, egress FIFOs, round-robin upstream arbiter, credits; the Verilated build has 8 ports, the model any number); ports = each pifs_port_top alone, the upstream arbitration in the timing model", "which RTL runs PIFS-Rec's ports"),
    p("pifs.plan", "row|table|column|greedy", "issue 7 / ZionEX (Mudigere et al., ISCA 2022, section 4) and TorchRec's planner: table-, row- and column-wise sharding, greedy = cost-balanced (largest shard first onto the least-loaded device); row = the pool's device.interleave", "how PIFS-Rec's tables are sharded over the devices (docs/placement.md)"),
    p("pifs.spread", "off|replicate|migrate", "PIFS-Rec (Huo et al., MICRO 2024): global hotness detection and embedding spreading across devices; off by default so nothing changes", "what happens to the hot pages at each epoch boundary (PIFS-Rec only)"),
    p("pifs.hot_page_bytes", "bytes", "PIFS-Rec summaries: page-granular memory management; 4 KiB OS page (modelling choice)", "granularity of the access counters and of spreading"),
    p("pifs.hot_epoch_batches", "batches", "modelling choice: the hot set is recomputed from each epoch's counters and used for the next epoch", "batches per hotness epoch"),
    p("pifs.hot_pages", "pages", "modelling choice: a small global hot set (top-K pages by accesses)", "most pages in the hot set"),
    p("pifs.hot_min_share", "fraction", "modelling choice: 0 = the top hot_pages pages whatever their share", "least share of an epoch's accesses a hot page must have"),
    p("pifs.spread_replicas", "devices", "modelling choice after the power of two choices (Mitzenmacher, 'The Power of Two Choices in Randomized Load Balancing', IEEE TPDS 2001): two copies per hot page, each access to the less loaded one", "copies of a hot page with pifs.spread = replicate (capped at switch.ports)"),
    p("pifs.replica_pick", "least-loaded|round-robin", "modelling choice: the host picks the copy on the device it has given the fewest lines so far in the batch", "which copy of a replicated page serves an access"),
    p("pifs.buffer_lines", "lines", "issue 7 / PIFS-Rec (Huo et al., arXiv 2409.16633): an on-switch buffer keeps hot embedding rows in the switch; 0 = off (default, so runs without it are unchanged); size is a modelling choice, e.g. 1024 lines = 64 KiB per port", "row buffer capacity of every downstream port, in 64-byte lines (lines / ways must be a power of two; pifs.level = switch)"),
    p("pifs.buffer_ways", "ways", "modelling choice: 4-way set associative, as small on-chip SRAM caches commonly are", "associativity of the row buffer (1 ..= 16; the Verilated switch is built with 4)"),
    p("pifs.buffer_policy", "lru|hot", "lru: classic least-recently-used; hot: hotness-aware insertion after PIFS-Rec's hotness-aware buffering (arXiv 2409.16633: on-switch buffer plus global hotness detection) -- insert a line only once its saturating access counter reaches 2, evict the coldest way (sim/core/src/buffer.rs)", "replacement policy of the row buffer"),
    p("pifs.usp_gbps", "GB/s", "modelling choice: one line per cycle at 1 GHz, the rate of the port accumulators", "adding rate of the USP combiner (pifs.combine = usp)"),
    p("device.capacity_gb", "GB", "modelling choice: 8 x 64 GB = a 512 GB pool, the scale at which the SDM paper (Ardestani et al., arXiv 2110.11489) moves DLRM tables to SCM; static power is charged per GB", "capacity of each device (of its backing memory when tiered)"),
    p("tier.backing", "none|scm|nand", "issue 8 / SDM paper (Ardestani et al., arXiv 2110.11489): Nand flash and 3DXP behind a DRAM cache", "memory behind the DRAM cache of each device (none = DRAM only)"),
    p("tier.cache_mb", "MiB", "modelling choice: swept by pifs tiers (a small DRAM cache in front of SCM, as the SDM paper's software-defined memory keeps hot rows in DRAM)", "DRAM cache per tiered device"),
    p("tier.warm", "trace|cold", "modelling choice: trace = steady state (the device's own read sequence played once through the cache before the timed batch); cold = empty cache", "cache state at the start of the batch"),
    p("scm.latency_ns", "ns", "Izraelevitz et al., 'Basic Performance Measurements of the Intel Optane DC Persistent Memory Module', arXiv 1903.05714 (2019): random read latency 305 ns (about 3x DRAM)", "read latency of one 3DXP block"),
    p("scm.gbps", "GB/s", "Izraelevitz et al. 2019: 39.4 GB/s maximum read bandwidth of six interleaved Optane DC PMMs, i.e. 6.6 GB/s per module", "read bandwidth of the SCM medium of one device"),
    p("scm.access_bytes", "bytes", "Izraelevitz et al. 2019: Optane DC PMMs access the media in 256-byte units (XPLine)", "granularity of an SCM read and of the DRAM cache's blocks"),
    p("scm.queue_depth", "reads", "modelling choice: enough outstanding reads that 16 x 256 B / 305 ns (13 GB/s) exceeds the media bandwidth, as the measured bandwidth scales with threads up to saturation (Izraelevitz et al. 2019)", "outstanding SCM reads one device accepts"),
    p("scm.pj_per_bit", "pJ/bit", "modelling choice (no public per-access figure found): twice energy.dram_pj_per_bit (phase-change-like media reads cost more than DRAM's)", "energy per bit read from the SCM medium"),
    p("scm.static_w_per_gb", "W/GB", "modelling choice (no public idle figure found): a DDR4-class module power (3.5 W, see energy.dram_static_w_per_gb) over a 256 GB Optane module", "static power of SCM capacity"),
    p("nand.latency_ns", "ns", "modelling choice: a TLC NAND page read (tR) of tens of microseconds plus controller time; low-latency NAND (Z-NAND class) would be a few microseconds", "read latency of one NAND page"),
    p("nand.gbps", "GB/s", "modelling choice: a PCIe Gen3 x4 NVMe-class flash device (about 3 GB/s of reads)", "read bandwidth of the NAND medium of one device"),
    p("nand.access_bytes", "bytes", "issue 8: 4 KB NAND pages (a 64 B line read costs a page read unless the page is cached)", "granularity of a NAND read and of the DRAM cache's blocks"),
    p("nand.queue_depth", "reads", "modelling choice: NVMe-style deep queues; 64 x 4 KiB / 50 us = 5.2 GB/s, above nand.gbps", "outstanding NAND page reads one device accepts"),
    p("nand.pj_per_bit", "pJ/bit", "modelling choice from typical NAND read figures (about 25 mA at 3.3 V during a 50 us tR for a 16 KiB page = 4 uJ = 31 pJ/bit), not checked against one datasheet", "energy per bit read from the NAND medium"),
    p("nand.static_w_per_gb", "W/GB", "modelling choice: about 5 W idle for a 4 TB enterprise NVMe drive", "static power of NAND capacity"),
    p("energy.link_pj_per_bit", "pJ/bit", "SerDes figures: 1.4-1.9 pJ/b for a 12 Gb/s source-synchronous I/O (IBM, 32 nm SOI); 40-80 Gb/s transmitters at 32-44 mW and 40-56 Gb/s receivers at 14-50 mW (Razavi, 'Low-Power Techniques for Wireline Systems'), i.e. about 1-2 pJ/bit per TX+RX; the upper end taken", "energy per bit moved on a CXL link (host link and port links, flit bytes)"),
    p("energy.link_static_w_per_lane", "W/lane", "modelling choice: a PHY kept in L0 burns about half its active power idle: 0.5 x 2 pJ/bit x 32 Gb/s per lane and direction", "static power of each lane and direction of every link"),
    p("energy.crossbar_pj_per_bit", "pJ/bit", "modelling choice: on-die wires and buffers across the switch die, below an off-chip link's energy", "energy per bit through the switch crossbar"),
    p("energy.add_pj_per_byte", "pJ/byte", "Horowitz, 'Computing's Energy Problem', ISSCC 2014: a 32-bit float add is 0.9 pJ (45 nm): 16 adds per 64 B line = 0.225 pJ/byte", "energy per byte added by an accumulator (host reduce, NDP, pool, USP, port accumulators)"),
    p("energy.dram_pj_per_bit", "pJ/bit", "Horowitz ISSCC 2014: a 64-bit DRAM access costs 1.3-2.6 nJ, i.e. 20-40 pJ/bit; the lower end taken", "energy per bit read from (or filled into) DRAM"),
    p("energy.dram_static_w_per_gb", "W/GB", "DDR4 RDIMMs draw about 1.5-3.5 W per module (icdirectory.com, 'What is the power consumption of RDIMM'); 3.5 W over a 32 GB RDIMM is about 0.1 W/GB", "static (background, refresh) power of DRAM capacity"),
    p("energy.switch_static_w", "W", "modelling choice: a 9-port x16 CXL/PCIe switch chip in the tens of watts", "static power of the switch"),
    shared_param("faults.link_bit_error_rate", "1/bit", "link_bit_error_rate", "bit flip probability on every S2M and M2S link of PIFS-Rec's cycle-level run (link-layer retry recovers)"),
    shared_param("faults.link_flit_drop_rate", "1/flit", "link_flit_drop_rate", "flit loss probability on every S2M and M2S link of PIFS-Rec's cycle-level run"),
    shared_param("faults.device_poison_rate", "1/line", "device_poison_rate", "probability that a device poisons a MemData line; the bag is pooled as NaN"),
    shared_param("faults.llrb_flits", "flits", "llrb_flits", "Link Layer Retry Buffer of every sender"),
    shared_param("faults.llr_retry_timeout_cycles", "cycles", "llr_retry_timeout_cycles", "cycles between repeated RETRY.Req (must match the RTL's RetryTimeout)"),
    shared_param("faults.llr_ack_every_flits", "flits", "llr_ack_every_flits", "flits per acknowledgement (must match the RTL's AckEvery)"),
    p("energy.host_w", "W", "Intel Xeon Platinum 8280 (the Cascade Lake part Optane PMem pairs with): 205 W TDP; the host is charged while it serves the batch", "power of the host socket during the batch"),
];

fn shared(key: &str) -> f64 {
    PARAM_DOCS
        .iter()
        .find(|d| d.key == key)
        .map(|d| d.default)
        .expect("shared parameter documented in pifs_sim::params")
}

impl Default for SysConfig {
    fn default() -> Self {
        SysConfig {
            clock: Clock::default(),
            host_link: Link::default(),
            port_link: Link {
                flight_ns: shared("link_flight_ns"),
                ..Link::default()
            },
            switch: Switch::default(),
            device: Device::default(),
            host: Host::default(),
            beacon_d: BeaconD::default(),
            beacon_s: BeaconS::default(),
            pifs: Pifs::default(),
            tier: Tier::default(),
            scm: Scm::default(),
            nand: Nand::default(),
            energy: Energy::default(),
            faults: Faults::default(),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            ghz: shared("clock_ghz"),
        }
    }
}

impl Default for Link {
    fn default() -> Self {
        Link {
            lanes: 16,
            gt_s: 32.0,
            efficiency: 1.0,
            flight_ns: 0.0,
            credits: 256,
            credit_rtt_ns: 40.0,
        }
    }
}

impl Default for Switch {
    fn default() -> Self {
        Switch {
            ports: 8,
            traversal_ns: 70.0,
            crossbar_gbps: 512.0,
        }
    }
}

impl Default for Device {
    fn default() -> Self {
        Device {
            latency_ns: shared("device_latency_ns"),
            jitter_ns: shared("device_jitter_ns"),
            gbps: shared("device_gbps"),
            interleave: "row".into(),
            page_bytes: 4096,
            capacity_gb: 64.0,
            row_format: "fp32".into(),
        }
    }
}

impl Default for Host {
    fn default() -> Self {
        Host {
            issue_per_ns: 2.0,
            outstanding: 256,
            reduce_lines_per_ns: 4.0,
            descriptor_bytes: 8,
        }
    }
}

impl Default for BeaconD {
    fn default() -> Self {
        BeaconD { ndp_gbps: 32.0 }
    }
}

impl Default for BeaconS {
    fn default() -> Self {
        BeaconS { pool_gbps: 64.0 }
    }
}

/// Named configurations: `default`, and `paper`, the closest to the PIFS-Rec setup that public
/// sources allow (x16 CXL 2.0-era links, 8 devices, a 120 ns switch at the top of the range
/// the literature reports, 2 DDR5 channels per device).
pub const PRESETS: &[(&str, &str)] = &[
    ("default", ""),
    (
        "paper",
        "[switch]\ntraversal_ns = 120.0\n[device]\ngbps = 76.8\n",
    ),
];

/// The `section.key` (or `section`, or `key`) of the TOML line holding byte `at`, for naming
/// the field in a parse error: the last `[section]` header above it and the text before `=`.
fn key_at(text: &str, at: usize) -> Option<String> {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let section = text[..line_start]
        .lines()
        .map(str::trim)
        .rfind(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    let key = line
        .split_once('=')
        .map(|(k, _)| k.trim().trim_matches('"').to_string())
        .filter(|k| !k.is_empty() && !k.contains(char::is_whitespace));
    match (section, key) {
        (Some(s), Some(k)) => Some(format!("{s}.{k}")),
        (None, Some(k)) => Some(k),
        _ => None,
    }
}

impl Link {
    /// Protocol flits per ns: lanes x GT/s / 8 bytes, over 64 payload bytes per flit (so x16
    /// at 32 GT/s is one flit per ns: DESIGN.md section 2), times efficiency, capped by
    /// credits / credit round trip.
    pub fn flits_per_ns(&self) -> f64 {
        let raw = self.lanes as f64 * self.gt_s / 8.0 / 64.0 * self.efficiency;
        let credit_cap = if self.credit_rtt_ns > 0.0 {
            self.credits as f64 / self.credit_rtt_ns
        } else {
            f64::INFINITY
        };
        raw.min(credit_cap)
    }
}

impl SysConfig {
    /// A preset by name.
    pub fn preset(name: &str) -> Result<SysConfig, String> {
        let Some((_, text)) = PRESETS.iter().find(|(n, _)| *n == name) else {
            let names: Vec<_> = PRESETS.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "--preset {name}: unknown (one of {})",
                names.join(", ")
            ));
        };
        Self::from_toml(text, &format!("preset {name}"))
    }

    /// Parse TOML; missing keys take their defaults, unknown keys are errors.
    pub fn from_toml(text: &str, source: &str) -> Result<SysConfig, String> {
        let c: SysConfig = toml::from_str(text).map_err(|e| {
            let msg = e.message().to_string();
            let at = e
                .span()
                .map(|s| {
                    let start = s.start.min(text.len());
                    let line = text[..start].matches('\n').count() + 1;
                    match key_at(text, start) {
                        Some(k) => format!(" (line {line}): {k}"),
                        None => format!(" (line {line})"),
                    }
                })
                .unwrap_or_default();
            format!("{source}{at}: {msg}")
        })?;
        c.validate().map_err(|e| format!("{source}: {e}"))?;
        Ok(c)
    }

    /// Apply `key=value` (key as in [`PARAMS`]; value a TOML value: number, or a bare word as a string).
    pub fn set(&mut self, kv: &str) -> Result<(), String> {
        let (key, value) = kv
            .split_once('=')
            .ok_or_else(|| format!("--set {kv}: expected key=value"))?;
        let key = key.trim();
        let Some((section, field)) = key.split_once('.') else {
            return Err(format!(
                "--set {kv}: key must be section.field (see pifs params)"
            ));
        };
        if !PARAMS.iter().any(|p| p.key == key) {
            return Err(format!("--set {kv}: unknown key {key} (see pifs params)"));
        }
        let value = value.trim();
        let parsed: toml::Value = match toml::from_str::<toml::Table>(&format!("v = {value}")) {
            Ok(mut t) => t.remove("v").unwrap(),
            Err(_) => toml::Value::String(value.to_string()),
        };
        let mut doc = toml::Table::try_from(&*self).map_err(|e| e.to_string())?;
        let sec = doc
            .get_mut(section)
            .and_then(|s| s.as_table_mut())
            .ok_or_else(|| format!("--set {kv}: no section {section}"))?;
        // Integers are accepted where floats are expected.
        let parsed = match (sec.get(field), parsed) {
            (Some(toml::Value::Float(_)), toml::Value::Integer(i)) => toml::Value::Float(i as f64),
            (_, v) => v,
        };
        sec.insert(field.to_string(), parsed);
        let new: SysConfig = doc
            .try_into()
            .map_err(|e: toml::de::Error| format!("--set {kv}: {}", e.message()))?;
        new.validate().map_err(|e| format!("--set {kv}: {e}"))?;
        *self = new;
        Ok(())
    }

    /// Ranges; the message names the key and the unit.
    pub fn validate(&self) -> Result<(), String> {
        fn range(key: &str, v: f64, lo: f64, hi: f64, unit: &str) -> Result<(), String> {
            if v.is_finite() && v >= lo && v <= hi {
                Ok(())
            } else {
                Err(format!("{key} = {v} {unit} is outside {lo} ..= {hi}"))
            }
        }
        fn one_of(key: &str, v: &str, allowed: &[&str]) -> Result<(), String> {
            if allowed.contains(&v) {
                return Ok(());
            }
            let (last, rest) = allowed.split_last().expect("a non-empty list");
            Err(format!(
                "{key} = {v:?}: must be {} or {last}",
                rest.join(", ")
            ))
        }
        range("clock.ghz", self.clock.ghz, 0.1, 10.0, "GHz")?;
        for (name, l) in [
            ("host_link", &self.host_link),
            ("port_link", &self.port_link),
        ] {
            if ![1, 2, 4, 8, 16].contains(&l.lanes) {
                return Err(format!(
                    "{name}.lanes = {}: must be 1, 2, 4, 8 or 16",
                    l.lanes
                ));
            }
            range(&format!("{name}.gt_s"), l.gt_s, 2.5, 64.0, "GT/s")?;
            range(&format!("{name}.efficiency"), l.efficiency, 0.05, 1.0, "")?;
            range(&format!("{name}.flight_ns"), l.flight_ns, 0.0, 1.0e4, "ns")?;
            range(
                &format!("{name}.credits"),
                l.credits as f64,
                1.0,
                1.0e6,
                "flits",
            )?;
            range(
                &format!("{name}.credit_rtt_ns"),
                l.credit_rtt_ns,
                0.0,
                1.0e5,
                "ns",
            )?;
        }
        range("switch.ports", self.switch.ports as f64, 1.0, 16.0, "ports")?;
        range(
            "switch.traversal_ns",
            self.switch.traversal_ns,
            0.0,
            1.0e4,
            "ns",
        )?;
        range(
            "switch.crossbar_gbps",
            self.switch.crossbar_gbps,
            1.0,
            1.0e5,
            "GB/s",
        )?;
        range(
            "device.latency_ns",
            self.device.latency_ns,
            0.0,
            1.0e6,
            "ns",
        )?;
        range("device.jitter_ns", self.device.jitter_ns, 0.0, 1.0e6, "ns")?;
        range("device.gbps", self.device.gbps, 0.1, 1.0e4, "GB/s")?;
        one_of("pifs.combine", &self.pifs.combine, &["host", "usp"])?;
        one_of("pifs.level", &self.pifs.level, &["switch", "ports"])?;
        one_of(
            "pifs.plan",
            &self.pifs.plan,
            &["row", "table", "column", "greedy"],
        )?;
        one_of(
            "pifs.spread",
            &self.pifs.spread,
            &["off", "replicate", "migrate"],
        )?;
        one_of(
            "pifs.replica_pick",
            &self.pifs.replica_pick,
            &["least-loaded", "round-robin"],
        )?;
        range(
            "pifs.hot_page_bytes",
            self.pifs.hot_page_bytes as f64,
            64.0,
            1.0e9,
            "bytes",
        )?;
        range(
            "pifs.hot_epoch_batches",
            self.pifs.hot_epoch_batches as f64,
            1.0,
            1.0e6,
            "batches",
        )?;
        range(
            "pifs.hot_pages",
            self.pifs.hot_pages as f64,
            1.0,
            1.0e7,
            "pages",
        )?;
        range("pifs.hot_min_share", self.pifs.hot_min_share, 0.0, 1.0, "")?;
        range(
            "pifs.spread_replicas",
            self.pifs.spread_replicas as f64,
            1.0,
            16.0,
            "devices",
        )?;
        one_of(
            "pifs.buffer_policy",
            &self.pifs.buffer_policy,
            &["lru", "hot"],
        )?;
        self.buffer().validate().map_err(|e| {
            format!(
                "pifs.{}",
                e.to_string()
                    .replacen("buffer_lines", "buffer_lines =", 1)
                    .replacen("buffer_ways", "buffer_ways =", 1)
            )
        })?;
        if self.pifs.buffer_lines > 0 && self.pifs.level != "switch" {
            return Err(format!(
                "pifs.buffer_lines = {}: the row buffer needs pifs.level = switch",
                self.pifs.buffer_lines
            ));
        }
        one_of(
            "device.interleave",
            &self.device.interleave,
            &["row", "table", "page"],
        )?;
        one_of(
            "device.row_format",
            &self.device.row_format,
            &["fp32", "fp16", "int8"],
        )?;
        range(
            "device.page_bytes",
            self.device.page_bytes as f64,
            64.0,
            1.0e9,
            "bytes",
        )?;
        range(
            "host.issue_per_ns",
            self.host.issue_per_ns,
            0.001,
            1.0e3,
            "requests/ns",
        )?;
        range(
            "host.outstanding",
            self.host.outstanding as f64,
            1.0,
            1.0e7,
            "requests",
        )?;
        range(
            "host.reduce_lines_per_ns",
            self.host.reduce_lines_per_ns,
            0.001,
            1.0e3,
            "lines/ns",
        )?;
        range(
            "host.descriptor_bytes",
            self.host.descriptor_bytes as f64,
            1.0,
            64.0,
            "bytes",
        )?;
        range(
            "beacon_d.ndp_gbps",
            self.beacon_d.ndp_gbps,
            0.1,
            1.0e4,
            "GB/s",
        )?;
        range(
            "beacon_s.pool_gbps",
            self.beacon_s.pool_gbps,
            0.1,
            1.0e5,
            "GB/s",
        )?;
        range(
            "device.capacity_gb",
            self.device.capacity_gb,
            0.0,
            1.0e6,
            "GB",
        )?;
        one_of("tier.backing", &self.tier.backing, &["none", "scm", "nand"])?;
        one_of("tier.warm", &self.tier.warm, &["trace", "cold"])?;
        range("tier.cache_mb", self.tier.cache_mb, 0.0, 1.0e7, "MiB")?;
        for (name, b) in [("scm", self.scm.backing()), ("nand", self.nand.backing())] {
            // A backing read is never faster than the DRAM: the cycle-level device relies on it.
            range(
                &format!("{name}.latency_ns"),
                b.latency_ns,
                self.device.latency_ns,
                1.0e7,
                "ns (from device.latency_ns)",
            )?;
            range(&format!("{name}.gbps"), b.gbps, 0.01, 1.0e4, "GB/s")?;
            if !(64..=1 << 20).contains(&b.access_bytes) || !b.access_bytes.is_power_of_two() {
                return Err(format!(
                    "{name}.access_bytes = {}: must be a power of two in 64 ..= 1048576",
                    b.access_bytes
                ));
            }
            range(
                &format!("{name}.queue_depth"),
                b.queue_depth as f64,
                1.0,
                65536.0,
                "reads",
            )?;
            range(
                &format!("{name}.pj_per_bit"),
                b.pj_per_bit,
                0.0,
                1.0e6,
                "pJ/bit",
            )?;
            range(
                &format!("{name}.static_w_per_gb"),
                b.static_w_per_gb,
                0.0,
                100.0,
                "W/GB",
            )?;
        }
        let e = &self.energy;
        for (k, v, hi, unit) in [
            ("energy.link_pj_per_bit", e.link_pj_per_bit, 1.0e4, "pJ/bit"),
            (
                "energy.link_static_w_per_lane",
                e.link_static_w_per_lane,
                100.0,
                "W/lane",
            ),
            (
                "energy.crossbar_pj_per_bit",
                e.crossbar_pj_per_bit,
                1.0e4,
                "pJ/bit",
            ),
            (
                "energy.add_pj_per_byte",
                e.add_pj_per_byte,
                1.0e4,
                "pJ/byte",
            ),
            ("energy.dram_pj_per_bit", e.dram_pj_per_bit, 1.0e4, "pJ/bit"),
            (
                "energy.dram_static_w_per_gb",
                e.dram_static_w_per_gb,
                100.0,
                "W/GB",
            ),
            ("energy.switch_static_w", e.switch_static_w, 1.0e4, "W"),
            ("energy.host_w", e.host_w, 1.0e5, "W"),
        ] {
            range(k, v, 0.0, hi, unit)?;
        }
        let f = &self.faults;
        if f.llr_ack_every_flits > 128 {
            return Err(format!(
                "faults.llr_ack_every_flits = {}: must be a power of two <= 128",
                f.llr_ack_every_flits
            ));
        }
        let lf = pifs_sim::params::LinkFaults {
            bit_error_rate: f.link_bit_error_rate,
            flit_drop_rate: f.link_flit_drop_rate,
            poison_rate: f.device_poison_rate,
            llrb_flits: f.llrb_flits as usize,
            retry_timeout_cycles: u64::from(f.llr_retry_timeout_cycles),
            ack_every_flits: f.llr_ack_every_flits as u8,
        };
        lf.validate(0).map_err(|e| format!("faults.{e}"))?;
        Ok(())
    }

    /// The backing technology of a tiered pool (None = DRAM only).
    pub fn backing(&self) -> Option<Backing> {
        match self.tier.backing.as_str() {
            "scm" => Some(self.scm.backing()),
            "nand" => Some(self.nand.backing()),
            _ => None,
        }
    }

    /// Per-read timing of a tiered device (None = DRAM only): the DRAM figures of `[device]`,
    /// the backing technology's, and the cache in blocks of the backing's access size.
    pub fn tier_timing(&self) -> Option<TierTiming> {
        let b = self.backing()?;
        let block = b.access_bytes;
        Some(TierTiming {
            block_bytes: block,
            cache_blocks: (self.tier.cache_mb * 1024.0 * 1024.0 / block as f64).floor() as u64,
            dram_line_ns: 64.0 / self.device.gbps,
            dram_latency_ns: self.device.latency_ns,
            backing_latency_ns: b.latency_ns,
            backing_block_ns: (block as f64 / b.gbps).max(b.latency_ns / b.queue_depth as f64),
            warm: self.tier.warm == "trace",
        })
    }

    /// Row placement.
    pub fn placement(&self) -> Placement {
        match self.device.interleave.as_str() {
            "table" => Placement::Table,
            "page" => Placement::Page {
                page_bytes: self.device.page_bytes,
            },
            _ => Placement::Row,
        }
    }

    /// Hotness detection and spreading of PIFS-Rec.
    pub fn hot_config(&self) -> pifs_sim::hotness::HotConfig {
        use pifs_sim::hotness::SpreadMode;
        pifs_sim::hotness::HotConfig {
            mode: match self.pifs.spread.as_str() {
                "replicate" => SpreadMode::Replicate,
                "migrate" => SpreadMode::Migrate,
                _ => SpreadMode::Off,
            },
            page_bytes: self.pifs.hot_page_bytes,
            epoch_batches: self.pifs.hot_epoch_batches as usize,
            hot_pages: self.pifs.hot_pages as usize,
            min_share: self.pifs.hot_min_share,
            replicas: self.pifs.spread_replicas as usize,
        }
    }

    /// PIFS-Rec's sharding plan.
    pub fn plan_kind(&self) -> pifs_sim::plan::PlanKind {
        pifs_sim::plan::PlanKind::parse(&self.pifs.plan).unwrap_or(pifs_sim::plan::PlanKind::Row)
    }

    /// How rows are stored (validated by [`SysConfig::validate`]).
    pub fn row_format(&self) -> pifs_dlrm::RowFormat {
        self.device.row_format.parse().unwrap_or_default()
    }

    /// Every port's row buffer (validated by [`SysConfig::validate`]).
    pub fn buffer(&self) -> pifs_sim::buffer::BufferConfig {
        pifs_sim::buffer::BufferConfig {
            lines: self.pifs.buffer_lines.min(usize::MAX as u64) as usize,
            ways: self.pifs.buffer_ways.min(usize::MAX as u64) as usize,
            policy: pifs_sim::buffer::BufferPolicy::parse(&self.pifs.buffer_policy)
                .unwrap_or_default(),
        }
    }

    /// The port-level timing the cycle-level run uses.
    pub fn timing(&self) -> Timing {
        Timing {
            clock_ghz: self.clock.ghz,
            device_latency_ns: self.device.latency_ns,
            device_jitter_ns: self.device.jitter_ns,
            device_gbps: self.device.gbps,
            link_flight_ns: self.port_link.flight_ns,
        }
    }

    /// The configuration as `key = value` pairs in [`PARAMS`] order.
    pub fn flat(&self) -> Vec<(String, String)> {
        let doc = toml::Table::try_from(self).expect("config serialises");
        PARAMS
            .iter()
            .map(|p| {
                let (s, f) = p.key.split_once('.').unwrap();
                let v = doc[s][f].to_string();
                (p.key.to_string(), v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_documented_and_every_doc_is_a_key() {
        let doc = toml::Table::try_from(SysConfig::default()).unwrap();
        let mut keys = Vec::new();
        for (s, t) in &doc {
            for f in t.as_table().unwrap().keys() {
                keys.push(format!("{s}.{f}"));
            }
        }
        keys.sort();
        let mut documented: Vec<String> = PARAMS.iter().map(|p| p.key.to_string()).collect();
        documented.sort();
        assert_eq!(keys, documented);
        assert!(PARAMS
            .iter()
            .all(|p| !p.source().is_empty() && !p.unit.is_empty()));
    }

    #[test]
    fn x16_at_32gts_is_one_flit_per_ns() {
        assert_eq!(SysConfig::default().host_link.flits_per_ns(), 1.0);
    }

    #[test]
    fn set_overrides_and_rejects() {
        let mut c = SysConfig::default();
        c.set("switch.traversal_ns=100").unwrap();
        assert_eq!(c.switch.traversal_ns, 100.0);
        c.set("device.interleave=table").unwrap();
        assert_eq!(c.placement(), Placement::Table);
        for bad in [
            "switch.traversal",
            "nosuch.key=1",
            "switch.traversal_ns=-5",
            "switch.traversal_ns=fast",
            "device.interleave=diagonal",
            "pifs.combine=dpu",
            "pifs.plan=diagonal",
            "pifs.spread=yes",
            "pifs.hot_page_bytes=0",
            "pifs.replica_pick=random",
            "pifs.level=chip",
            "pifs.buffer_policy=lfu",
            "pifs.buffer_lines=10",
            "pifs.buffer_lines=-1",
            "host_link.lanes=3",
        ] {
            let e = c.set(bad).unwrap_err();
            assert!(e.starts_with("--set "), "{e}");
        }
        assert_eq!(
            c.switch.traversal_ns, 100.0,
            "a rejected --set leaves the config alone"
        );
    }

    #[test]
    fn toml_errors_name_the_line() {
        let e = SysConfig::from_toml("[switch]\ntraversal_ns = 80.0\nbogus = 1\n", "c.toml")
            .unwrap_err();
        assert!(e.starts_with("c.toml (line 3)"), "{e}");
        let e = SysConfig::from_toml("[device]\nlatency_ns = \"80 ns\"\n", "c.toml").unwrap_err();
        assert!(e.starts_with("c.toml (line 2): device.latency_ns: "), "{e}");
        let e = SysConfig::from_toml("this is not toml\n", "c.toml").unwrap_err();
        assert!(e.starts_with("c.toml (line 1): "), "{e}");
        let e = SysConfig::from_toml("[device]\nlatency_ns = -1.0\n", "c.toml").unwrap_err();
        assert!(e.contains("device.latency_ns"), "{e}");
        let c = SysConfig::preset("paper").unwrap();
        assert_eq!(c.switch.traversal_ns, 120.0);
        assert!(SysConfig::preset("nope").is_err());
    }
}
