//! Every timing parameter of the port-level simulation, with its unit, default and source, and
//! the RTL geometry the Rust side mirrors. This is the one place they are defined.

use serde::Serialize;

/// Bag slots of one port accumulator (`NumBags` of `rtl/pifs_port_top.sv`).
pub const NUM_BAGS: usize = 16;
/// Largest row in 64-byte lines (`MaxRowLines`): embedding dimension up to 128 floats.
pub const MAX_ROW_LINES: usize = 8;
/// Tags 0..NUM_TAGS-1 can be mapped (`NumTags`).
pub const NUM_TAGS: usize = 256;
/// Tables the address map holds: table t's rows start at byte t << 40, below the 52-bit
/// M2S address field.
pub const MAX_TABLES: usize = 1 << 12;
/// Largest `rows` of one BagOpen (16-bit field).
pub const MAX_BAG_ROWS: usize = u16::MAX as usize;

/// Description of one parameter.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ParamDoc {
    pub key: &'static str,
    pub unit: &'static str,
    pub default: f64,
    pub source: &'static str,
    pub meaning: &'static str,
}

/// The parameters, as documented in the README and echoed in the stats.
pub const PARAM_DOCS: &[ParamDoc] = &[
    ParamDoc {
        key: "clock_ghz",
        unit: "GHz",
        default: 1.0,
        source: "DESIGN.md section 2: one 68 B flit per cycle at 1 GHz ~ 64 GB/s = x16 at 32 GT/s (CXL 3.2 Table 13-1)",
        meaning: "switch core clock; one flit per cycle per port is line rate",
    },
    ParamDoc {
        key: "device_latency_ns",
        unit: "ns",
        default: 80.0,
        source: "CXL 3.2 section 13 (Table 13-2): Type-3 DDR MemRd to MemData target, at the device pins",
        meaning: "time from a MemRd reaching the device to its MemData leaving it",
    },
    ParamDoc {
        key: "device_jitter_ns",
        unit: "ns",
        default: 0.0,
        source: "modelling choice (no published figure): uniform extra delay per read, which reorders responses; --ooo sets 64",
        meaning: "upper bound of the random extra delay of each read (0 = in order)",
    },
    ParamDoc {
        key: "device_gbps",
        unit: "GB/s",
        default: 64.0,
        source: "modelling choice: matched to the x16 port link (64 GB/s, CXL 3.2 Table 13-1) so the link, not the DRAM, limits a port; two DDR5-4800 channels (JESD79-5, 38.4 GB/s each) exceed it",
        meaning: "read bandwidth of the memory behind one port (64-byte lines)",
    },
    ParamDoc {
        key: "link_flight_ns",
        unit: "ns",
        default: 0.0,
        source: "modelling choice: the CXL 3.2 latency target is taken at the pins, so the DSP-device wire is folded into device_latency_ns",
        meaning: "one-way flight time of the port-device link, each direction",
    },
];

/// Timing of one port and its memory device.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct Timing {
    pub clock_ghz: f64,
    pub device_latency_ns: f64,
    pub device_jitter_ns: f64,
    pub device_gbps: f64,
    pub link_flight_ns: f64,
}

impl Default for Timing {
    fn default() -> Self {
        let d = |k: &str| PARAM_DOCS.iter().find(|p| p.key == k).unwrap().default;
        Timing {
            clock_ghz: d("clock_ghz"),
            device_latency_ns: d("device_latency_ns"),
            device_jitter_ns: d("device_jitter_ns"),
            device_gbps: d("device_gbps"),
            link_flight_ns: d("link_flight_ns"),
        }
    }
}

impl Timing {
    /// Whole cycles for a duration in ns (rounded to nearest).
    pub fn cycles(&self, ns: f64) -> u64 {
        (ns * self.clock_ghz).round().max(0.0) as u64
    }

    /// Cycles the device memory needs per 64-byte line.
    pub fn device_line_cycles(&self) -> f64 {
        64.0 / self.device_gbps * self.clock_ghz
    }

    /// Check ranges; the message names the parameter.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.clock_ghz > 0.0 && self.clock_ghz <= 10.0) {
            return Err(format!(
                "clock_ghz: {} GHz is outside 0 < f <= 10",
                self.clock_ghz
            ));
        }
        for (k, v) in [
            ("device_latency_ns", self.device_latency_ns),
            ("device_jitter_ns", self.device_jitter_ns),
            ("link_flight_ns", self.link_flight_ns),
        ] {
            if !(v.is_finite() && (0.0..=1.0e6).contains(&v)) {
                return Err(format!("{k}: {v} ns is outside 0 ..= 1e6 ns"));
            }
        }
        if !(self.device_gbps.is_finite() && (0.1..=10_000.0).contains(&self.device_gbps)) {
            return Err(format!(
                "device_gbps: {} GB/s is outside 0.1 ..= 10000",
                self.device_gbps
            ));
        }
        Ok(())
    }
}
