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

/// Counters of each port buffer's hotness table (`HotEntries` of `rtl/pifs_switch_buffer.sv`);
/// line address mod this picks the counter. Modelling choice: 4096 x 4 bits = 2 KiB per port,
/// enough that a few hundred hot rows of a Zipf trace rarely share a counter.
pub const HOT_ENTRIES: usize = 4096;
/// Saturation value of the 4-bit hotness counters (`HotBits` = 4). Modelling choice.
pub const HOT_MAX: u8 = 15;
/// Hotness count from which a returning line may be inserted under the `hot` policy
/// (`HotThreshold`): 2 = the line was asked for at least twice (a row read once, as most rows
/// of a long-tailed trace are, never displaces a buffered line). Modelling choice after
/// PIFS-Rec's hotness-aware buffering (Huo et al., arXiv 2409.16633: on-switch buffer plus
/// global hotness detection).
pub const HOT_THRESHOLD: u8 = 2;
/// Entries of each port buffer's hit FIFO (`HitDepth`): lines read from the buffer wait here
/// for a cycle in which the ingress does not deliver a line to the accumulator. Modelling choice.
pub const BUF_HIT_DEPTH: usize = 16;

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
    ParamDoc {
        key: "link_bit_error_rate",
        unit: "1/bit",
        default: 0.0,
        source: "modelling choice: 0 = fault-free. CXL/PCIe PHYs are specified for a BER of 1e-12 or better (PCIe 5.0 base spec, 32 GT/s), where retries are rare; fault studies and the soak use 1e-6 .. 1e-4 to exercise link-layer retry thousands of times",
        meaning: "probability that one wire bit of a flit (528 per 68-byte flit) is flipped, on every link with link-layer retry (S2M, M2S)",
    },
    ParamDoc {
        key: "link_flit_drop_rate",
        unit: "1/flit",
        default: 0.0,
        source: "modelling choice: a flit lost at the physical layer (framing, symbol lock) is presented to the link layer as an errored flit (68-byte flits carry no explicit sequence number)",
        meaning: "probability that a flit on a link is lost",
    },
    ParamDoc {
        key: "device_poison_rate",
        unit: "1/line",
        default: 0.0,
        source: "modelling choice: a device that cannot return good data sets the DRS Poison bit (CXL 2.0 S2M DRS Poison[24], DESIGN.md section 6)",
        meaning: "probability that a device answers a MemRd with a poisoned MemData",
    },
    ParamDoc {
        key: "llrb_flits",
        unit: "flits",
        default: 128.0,
        source: "modelling choice: the Link Layer Retry Buffer size is implementation-specific (CXL 2.0 section 4.2.8, at most 255 with 8-bit sequence numbers); 128 covers the run loop's round trip (<= 32 cycles + 2 x flight) at line rate",
        meaning: "flits a sender keeps until they are acknowledged; a full buffer stalls new flits",
    },
    ParamDoc {
        key: "llr_retry_timeout_cycles",
        unit: "cycles",
        default: 256.0,
        source: "modelling choice: the receiver repeats RETRY.Req when its RETRY.Ack does not come (CXL 2.0 LLR timeout, value implementation-specific); must exceed the round trip, checked when faults are on",
        meaning: "cycles between repeated RETRY.Req while a receiver waits for the replay",
    },
    ParamDoc {
        key: "llr_ack_every_flits",
        unit: "flits",
        default: 8.0,
        source: "CXL 2.0 section 4.2.8 (our reading): an acknowledgement (the Ak bit / Full_Ack) covers 8 flits",
        meaning: "a receiver acknowledges every this many flits received in sequence",
    },
];

/// Link faults, link-layer retry and device poison (docs/link-faults.md). Off by default:
/// without it no link runs the retry protocol and every run is the fault-free one.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct LinkFaults {
    pub bit_error_rate: f64,
    pub flit_drop_rate: f64,
    pub poison_rate: f64,
    pub llrb_flits: usize,
    pub retry_timeout_cycles: u64,
    pub ack_every_flits: u8,
}

impl Default for LinkFaults {
    fn default() -> Self {
        let d = |k: &str| PARAM_DOCS.iter().find(|p| p.key == k).unwrap().default;
        LinkFaults {
            bit_error_rate: d("link_bit_error_rate"),
            flit_drop_rate: d("link_flit_drop_rate"),
            poison_rate: d("device_poison_rate"),
            llrb_flits: d("llrb_flits") as usize,
            retry_timeout_cycles: d("llr_retry_timeout_cycles") as u64,
            ack_every_flits: d("llr_ack_every_flits") as u8,
        }
    }
}

/// `RetryTimeout` and `AckEvery` of `rtl/pifs_s2m_ingress.sv` as the bindings build it.
pub const RTL_RETRY_TIMEOUT: u64 = 256;
pub const RTL_ACK_EVERY: u8 = 8;

impl LinkFaults {
    /// Check ranges; the message names the parameter. `round_trip`: cycles from a receiver's
    /// RETRY.Req to the first replayed flit at the latest.
    pub fn validate(&self, round_trip: u64) -> Result<(), String> {
        for (k, v) in [
            ("link_bit_error_rate", self.bit_error_rate),
            ("link_flit_drop_rate", self.flit_drop_rate),
            ("device_poison_rate", self.poison_rate),
        ] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                return Err(format!("{k}: {v} is outside 0 ..= 1"));
            }
        }
        if self.bit_error_rate > 1e-2 || self.flit_drop_rate > 0.5 {
            return Err(format!(
                "link_bit_error_rate {} / link_flit_drop_rate {}: above 1e-2 per bit or 0.5 per flit almost no flit arrives intact and the retry cannot make progress",
                self.bit_error_rate, self.flit_drop_rate
            ));
        }
        let ack = usize::from(self.ack_every_flits);
        if !(ack.is_power_of_two() && ack <= 128) {
            return Err(format!(
                "llr_ack_every_flits: {ack} is not a power of two in 1 ..= 128"
            ));
        }
        if !(ack..=pifs_cxl::llr::MAX_LLRB).contains(&self.llrb_flits) {
            return Err(format!(
                "llrb_flits: {} is outside llr_ack_every_flits ({ack}) ..= {}",
                self.llrb_flits,
                pifs_cxl::llr::MAX_LLRB
            ));
        }
        if self.retry_timeout_cycles <= round_trip {
            return Err(format!(
                "llr_retry_timeout_cycles: {} cycles does not exceed the retry round trip of {round_trip} cycles",
                self.retry_timeout_cycles
            ));
        }
        Ok(())
    }
}

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
