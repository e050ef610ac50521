//! The run loop: spreads a trace's rows over the ports, plays host, memory devices and port
//! accumulators against each other in steps of a few dozen cycles, and combines the per-port
//! partial sums into the pooled output.
//!
//! Placement: row r of any table lives on device (port) r mod ports by default;
//! `RunConfig::layout` (crate::layout) shards tables table-, row- or column-wise and spreads hot
//! pages, and a column-sharded table's port holds (and sums) only its column group of lines.
//! A port's share of a bag is split into pieces of at most `piece_rows` rows (tags are a finite
//! resource); a row wider than
//! the RTL's MAX_ROW_LINES lines is summed in column groups of at most that many lines. Host reduction:
//! the pooled value of a bag is the pieces' partial sums added in (port, piece) order, in
//! binary32 with the RTL's NaN rule; a bag with no rows is +0.0.
//! Commands: a row's MemRd leaves the host only after its RowMap command has been accepted, so
//! no response can beat its mapping.
//! Link faults (`RunConfig::faults`, docs/link-faults.md): the S2M link (device -> port, the
//! receiver is the port's ingress, RTL or model) and the M2S link (port -> device, a Rust
//! receiver) run CXL link-layer retry with a fault injector; devices may poison lines. A bag
//! that summed a poisoned line is pooled as NaN and listed in the stats.

use crate::buffer::BufferConfig;
use crate::cmd::Command;
use crate::device::{LineSource, MemDevice, TierDevice, TierTiming};
use crate::fp;
use crate::model::ModelPort;
use crate::params::{
    LinkFaults, Timing, MAX_BAG_ROWS, MAX_ROW_LINES, MAX_TABLES, NUM_BAGS, NUM_TAGS,
};
use crate::port::{PortAccumulator, SimError};
use crate::rtl::RtlPort;
use crate::stats::{ConfigEcho, LinkFaultStats, PortLinkStats, PortStats, Stats};
use pifs_cxl::llr::{
    is_control, FaultRates, LinkEvent, LinkStats, LlrLink, LlrReceiver, RustLink, RxVerdict,
};
use pifs_cxl::{DecodeError, Decoder, Dir, Flit, M2sPacker, M2sReq, Message};
use pifs_dlrm::{RowFormat, Trace, Weights};
use pifs_rng::Rng;
use pifs_rtl::WaveSpec;
use std::collections::VecDeque;

/// Which implementation of the port accumulator runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Rtl,
    Model,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Rtl => "rtl",
            Backend::Model => "model",
        }
    }
}

/// Everything a run needs besides the workload.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub backend: Backend,
    pub ports: usize,
    pub seed: u64,
    pub timing: Timing,
    /// Percentage of cycles the upstream side accepts a partial sum (100 = no back-pressure).
    pub res_ready_percent: u32,
    /// Waveform of the RTL (rtl backend): port 0's model at port level, the switch at switch
    /// level.
    pub wave: Option<WaveSpec>,
    /// Largest piece of a bag at one port, in rows (default: a quarter of the tags, so four pieces overlap).
    pub piece_rows: Option<usize>,
    /// Name of the workload, for the stats.
    pub workload: String,
    /// Which port (memory device) holds each row.
    pub placement: Placement,
    /// Per-table sharding and spread pages on top of `placement` (crate::layout); None = every
    /// row by `placement`.
    pub layout: Option<std::sync::Arc<crate::layout::Layout>>,
    /// Cycle from which the rows of each bag may be dispatched (index = bag t*B+b): when the
    /// host's descriptors for the bag reach the switch. None = all from cycle 0.
    pub bag_release: Option<Vec<u64>>,
    /// Tiered memory devices (a DRAM cache in front of SCM or NAND); None = DRAM only, timed
    /// by `timing` alone.
    pub tier: Option<TierTiming>,
    /// Link faults, link-layer retry and device poison; None = fault-free links without retry.
    pub faults: Option<LinkFaults>,
    /// Threads that simulate ports at once in [`run`] (each port is its own model on its own
    /// thread; 0 or 1 = one after another). The output does not depend on it.
    pub threads: usize,
    /// Every port's row buffer (switch level only; off by default).
    pub buffer: BufferConfig,
    /// How rows are stored in device memory (fp32, fp16, int8 row-wise); the ports widen them
    /// to binary32 before summing.
    pub row_format: RowFormat,
}

/// Where rows live: interleaving of the embedding tables across the ports' memory devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Placement {
    /// Row r of every table on port r mod ports.
    Row,
    /// All of table t on port t mod ports.
    Table,
    /// Pages of `page_bytes` bytes of each table round-robin over the ports.
    Page { page_bytes: u64 },
}

impl Placement {
    /// Port of row `row` of table `table` whose rows are `row_bytes` long.
    pub fn port(self, table: usize, row: u64, row_bytes: u64, ports: usize) -> usize {
        let n = ports as u64;
        (match self {
            Placement::Row => row % n,
            Placement::Table => table as u64 % n,
            // Tables start on different ports so that small tables do not all crowd port 0.
            Placement::Page { page_bytes } => {
                (row * row_bytes / page_bytes.max(1) + table as u64) % n
            }
        }) as usize
    }
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            backend: Backend::Rtl,
            ports: 1,
            seed: 1,
            timing: Timing::default(),
            res_ready_percent: 100,
            wave: None,
            piece_rows: None,
            workload: String::new(),
            placement: Placement::Row,
            layout: None,
            bag_release: None,
            tier: None,
            faults: None,
            threads: 1,
            buffer: BufferConfig::OFF,
            row_format: RowFormat::Fp32,
        }
    }
}

/// Pooled output and stats of a run.
pub struct RunOutput {
    /// float32 bits, shape (T*B, dim), row t*B+b is bag (t, b).
    pub pooled: Vec<u32>,
    pub dim: usize,
    pub stats: Stats,
    /// Per port: (cycle, bag) of every partial-sum line in the order it left the port.
    pub result_lines: Vec<Vec<(u64, usize)>>,
    /// Bags that summed a poisoned line (their pooled rows are NaN), ascending.
    pub poisoned_bags: Vec<usize>,
}

/// The canonical quiet NaN a poisoned bag is pooled as.
pub const POISON_NAN: u32 = 0x7FC0_0000;

/// Cycles from a receiver's message to the sender acting on it: reverse flight, forward flight
/// and one cycle of turnaround.
pub(crate) fn link_rtt(cfg: &RunConfig) -> u64 {
    2 * cfg.timing.cycles(cfg.timing.link_flight_ns) + 1
}

/// Check the fault configuration against the run loop's round trip (`step` cycles per step).
pub(crate) fn validate_faults(cfg: &RunConfig, step: u64) -> Result<(), SimError> {
    if let Some(f) = &cfg.faults {
        f.validate(step + link_rtt(cfg) + 1)
            .map_err(SimError::Config)?;
        if cfg.row_format != RowFormat::Fp32 {
            return Err(SimError::Config(format!(
                "link faults with {} rows are not supported yet: the run loop's reference receiver checks every flit in the cycle after it arrives, and the dequantiser can hold the ingress back (use fp32 rows with link faults)",
                cfg.row_format
            )));
        }
        if f.retry_timeout_cycles != crate::params::RTL_RETRY_TIMEOUT
            || f.ack_every_flits != crate::params::RTL_ACK_EVERY
        {
            return Err(SimError::Config(format!(
                "llr_retry_timeout_cycles {} / llr_ack_every_flits {}: the port ingress is built with {} / {} (RetryTimeout / AckEvery of rtl/pifs_s2m_ingress.sv)",
                f.retry_timeout_cycles,
                f.ack_every_flits,
                crate::params::RTL_RETRY_TIMEOUT,
                crate::params::RTL_ACK_EVERY
            )));
        }
    }
    Ok(())
}

/// The reference S2M receiver beside a port whose receiver is the RTL (or the model): it sees
/// the same wire flits at the same cycles, judges escapes against what was sent, and its
/// RETRY.Req / acknowledgements must equal the port's.
pub(crate) struct ShadowRx {
    rx: LlrReceiver,
    dec: Decoder,
    /// (arrival cycle, as received, as sent)
    queue: VecDeque<(u64, Flit, Flit)>,
    events: Vec<LinkEvent>,
}

impl ShadowRx {
    pub(crate) fn new(f: &LinkFaults) -> Self {
        ShadowRx {
            rx: LlrReceiver::new(f.retry_timeout_cycles, f.ack_every_flits),
            dec: Decoder::new(Dir::S2M),
            queue: VecDeque::new(),
            events: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, wire: &[(u64, Flit, Flit)]) {
        self.queue.extend(wire.iter().copied());
    }

    /// Check every flit checked before `until` (one cycle after its arrival) and the timeouts
    /// before it; returns the events raised.
    pub(crate) fn run_to(&mut self, until: u64) -> Vec<LinkEvent> {
        while self.queue.front().is_some_and(|(a, ..)| a + 1 < until) {
            let (a, w, orig) = self.queue.pop_front().unwrap();
            let control = is_control(&w, self.dec.all_data_due());
            if self.rx.receive(a + 1, &w, control, &mut self.events) == RxVerdict::Deliver {
                if w != orig {
                    self.rx.stats.escaped += 1;
                }
                // As the port: a flit breaking a packing rule leaves the unpacking state as it was.
                let saved = self.dec.clone();
                if let Err(DecodeError::Packing(_)) = self.dec.push(&w) {
                    self.dec = saved;
                }
            }
        }
        self.rx.advance(until, &mut self.events);
        std::mem::take(&mut self.events)
    }

    pub(crate) fn stats(&self) -> LinkStats {
        self.rx.stats
    }
}

/// Link-layer retry state of one port's two links.
pub(crate) struct PortLinks {
    pub s2m: LlrLink,
    pub shadow: ShadowRx,
    pub m2s: RustLink,
}

impl PortLinks {
    pub(crate) fn new(cfg: &RunConfig, f: &LinkFaults, seed: u64) -> Self {
        let rates = FaultRates {
            bit_error_rate: f.bit_error_rate,
            drop_rate: f.flit_drop_rate,
        };
        let rtt = link_rtt(cfg);
        PortLinks {
            s2m: LlrLink::new(f.llrb_flits, rtt, rates, seed ^ 0x5325),
            shadow: ShadowRx::new(f),
            m2s: RustLink::new(
                LlrLink::new(f.llrb_flits, rtt, rates, seed ^ 0x0032_5311),
                LlrReceiver::new(f.retry_timeout_cycles, f.ack_every_flits),
                0,
            ),
        }
    }

    /// Both links' counters: the S2M sender's with the reference receiver's.
    pub(crate) fn stats(&self) -> PortLinkStats {
        let mut s2m = self.s2m.stats;
        let r = self.shadow.stats();
        s2m.detected = r.detected;
        s2m.retry_requests = r.retry_requests;
        s2m.timeouts = r.timeouts;
        s2m.discarded = r.discarded;
        s2m.escaped = r.escaped;
        PortLinkStats {
            s2m,
            m2s: self.m2s.stats(),
        }
    }

    /// Queue the device's S2M `flits` at the link's sender and return the wire flits that reach
    /// the port in [now, now + step); the shadow receiver sees the same (`wire` is scratch).
    pub(crate) fn s2m_step(
        &mut self,
        flits: &[(u64, Flit)],
        now: u64,
        step: u64,
        wire: &mut Vec<(u64, Flit, Flit)>,
    ) -> Vec<(u64, Flit)> {
        for &(c, f) in flits {
            self.s2m.push(c, f);
        }
        wire.clear();
        self.s2m.transmit(now, now + step, wire);
        self.shadow.push(wire);
        wire.iter().map(|&(c, w, _)| (c, w)).collect()
    }
}

/// Address of line `l` of row `r` of table `t`: tables sit 2^40 bytes apart.
pub fn line_addr(t: usize, r: u64, row_lines: usize, l: usize) -> u64 {
    ((t as u64) << 40) + (r * row_lines as u64 + l as u64) * 64
}

/// The shape of a run's rows: dimension, format, lines in device memory, binary32 lines the
/// ports sum, and how many of those each device line makes.
#[derive(Clone, Copy, Debug)]
pub struct RowShape {
    pub dim: usize,
    pub fmt: RowFormat,
    pub dev_lines: usize,
    pub out_lines: usize,
    pub expand: usize,
}

impl RowShape {
    pub fn new(dim: usize, fmt: RowFormat) -> Result<Self, SimError> {
        fmt.check(dim)
            .map_err(|e| SimError::Config(format!("row format: {e}")))?;
        Ok(RowShape {
            dim,
            fmt,
            dev_lines: fmt.dev_lines(dim),
            out_lines: RowFormat::out_lines(dim),
            expand: fmt.expand(dim),
        })
    }
}

/// Appends row `r` of table `t` stored in `fmt` to `out`; a value `fmt` cannot hold is one
/// configuration error naming the table and row.
pub fn stored_row(
    weights: &Weights,
    t: usize,
    r: u64,
    fmt: RowFormat,
    out: &mut Vec<u8>,
) -> Result<(), SimError> {
    weights
        .row_bytes_into(t, r, fmt, out)
        .map_err(|e| SimError::Config(format!("weights table {t} row {r}: {e} ({fmt} rows)")))
}

/// (table, row) of the cached row, and its bytes in the run's format.
type LastRow = (Option<(usize, u64)>, Vec<u8>);

pub(crate) struct Memory<'a> {
    weights: &'a Weights,
    shape: RowShape,
    /// The last row read: a row's lines are asked for one after another, so each row is
    /// fetched (or, for synthetic weights, computed) once instead of once per line.
    last: std::cell::RefCell<LastRow>,
}

impl<'a> Memory<'a> {
    pub fn new(weights: &'a Weights, shape: RowShape) -> Self {
        let last = std::cell::RefCell::new((None, Vec::new()));
        Memory {
            weights,
            shape,
            last,
        }
    }
}

impl LineSource for Memory<'_> {
    fn line(&self, addr: u64) -> [u8; 64] {
        let t = (addr >> 40) as usize;
        let off = (addr & ((1u64 << 40) - 1)) / 64;
        let n = self.shape.dev_lines as u64;
        let (r, l) = (off / n, (off % n) as usize);
        let mut last = self.last.borrow_mut();
        let (key, row) = &mut *last;
        if *key != Some((t, r)) {
            row.clear();
            // prepare() checked that every row of the run converts.
            stored_row(self.weights, t, r, self.shape.fmt, row).expect("rows checked in prepare");
            *key = Some((t, r));
        }
        let mut out = [0u8; 64];
        let line = &row[(l * 64).min(row.len())..];
        let n = line.len().min(64);
        out[..n].copy_from_slice(&line[..n]);
        out
    }
}

/// Summed lanes of each piece a port finished: (bag, first line, lines * 16 lanes).
pub type PieceSums = Vec<(usize, usize, Vec<u32>)>;

/// What one port produced: piece sums, (cycle, bag) of each result line, stats, poisoned bags.
type PortRun = (PieceSums, Vec<(u64, usize)>, PortStats, Vec<usize>);

/// Part of one bag summed at one port: some of its rows, and a group of at most MAX_ROW_LINES
/// of the row's binary32 lines (rows wider than the RTL's row limit are summed column group by
/// group), read as the device lines `dev0 ..` (device line j makes binary32 lines
/// `j * expand ..`).
pub(crate) struct Piece {
    pub bag: usize,
    pub table: usize,
    pub line0: usize,
    pub lines: usize,
    pub dev0: usize,
    pub dev_lines: usize,
    pub rows: Vec<u64>,
}

/// Validate a run and split every bag over the ports: (row shape, pieces per port).
pub(crate) fn prepare(
    trace: &Trace,
    weights: &Weights,
    cfg: &RunConfig,
) -> Result<(RowShape, Vec<Vec<Piece>>), SimError> {
    cfg.timing.validate().map_err(SimError::Config)?;
    let t = &cfg.timing;
    if t.cycles(t.device_latency_ns) + t.cycles(t.link_flight_ns) == 0 {
        return Err(SimError::Config(format!(
            "device_latency_ns {} + link_flight_ns {}: at least one cycle ({} ns) is needed",
            t.device_latency_ns,
            t.link_flight_ns,
            1.0 / t.clock_ghz
        )));
    }
    if cfg.ports == 0 || cfg.ports > 64 {
        return Err(SimError::Config(format!(
            "--ports {}: must be 1..=64",
            cfg.ports
        )));
    }
    let dim = weights.dim();
    if dim == 0 {
        return Err(SimError::Config("dim 0: must be at least 1".into()));
    }
    let shape = RowShape::new(dim, cfg.row_format)?;
    // Placement, column groups and addresses are in device lines.
    let row_lines = shape.dev_lines;
    if trace.tables > MAX_TABLES {
        return Err(SimError::Config(format!(
            "{} tables: the address map holds at most {MAX_TABLES}",
            trace.tables
        )));
    }
    // Each table owns 2^40 bytes of the device address space.
    let max_row = (1u64 << 40) / (row_lines as u64 * 64);
    if let Some((pos, &r)) = trace
        .indices
        .iter()
        .enumerate()
        .find(|(_, &r)| r < 0 || r as u64 >= max_row)
    {
        return Err(SimError::Config(format!(
            "indices[{pos}] = {r}: outside 0..{max_row}, the rows a table of dim {dim} can hold in its 2^40-byte window"
        )));
    }
    let own;
    let layout = match &cfg.layout {
        Some(l) => l.as_ref(),
        None => {
            own = crate::layout::Layout::new(cfg.placement);
            &own
        }
    };
    layout
        .validate(row_lines, cfg.ports)
        .map_err(|e| SimError::Config(format!("placement: {e}")))?;
    if shape.fmt != RowFormat::Fp32 {
        check_rows(trace, weights, shape.fmt)?;
    }
    let (shares, _) = layout.split(trace, row_lines, cfg.ports);

    // Split every bag over the ports, in bag order; each share's device lines in column groups
    // of at most MAX_ROW_LINES binary32 lines.
    let (e, group) = (shape.expand, MAX_ROW_LINES / shape.expand);
    let mut pieces: Vec<Vec<Piece>> = (0..cfg.ports).map(|_| Vec::new()).collect();
    for (bag, bag_shares) in shares.into_iter().enumerate() {
        let t = bag / trace.batch;
        for sh in bag_shares {
            let end = sh.line0 + sh.lines;
            for dev0 in (sh.line0..end).step_by(group) {
                let dev_lines = group.min(end - dev0);
                let line0 = dev0 * e;
                let lines = ((dev0 + dev_lines) * e).min(shape.out_lines) - line0;
                let piece_rows = cfg
                    .piece_rows
                    .unwrap_or(NUM_TAGS / lines / 4)
                    .clamp(1, (NUM_TAGS / lines).min(MAX_BAG_ROWS));
                for chunk in sh.rows.chunks(piece_rows) {
                    pieces[sh.device].push(Piece {
                        bag,
                        table: t,
                        line0,
                        lines,
                        dev0,
                        dev_lines,
                        rows: chunk.to_vec(),
                    });
                }
            }
        }
    }

    Ok((shape, pieces))
}

/// Every row the trace reads must convert to `fmt` (finite, within fp16's range): one error
/// naming the first that does not.
fn check_rows(trace: &Trace, weights: &Weights, fmt: RowFormat) -> Result<(), SimError> {
    if weights.format() == fmt || matches!(weights, Weights::Synthetic { .. }) {
        return Ok(()); // stored as they are; synthetic values lie in [-0.5, 0.5)
    }
    let mut seen = std::collections::HashSet::new();
    let mut buf = Vec::new();
    for t in 0..trace.tables {
        for b in 0..trace.batch {
            for &r in trace.bag(t, b) {
                if seen.insert((t, r)) {
                    buf.clear();
                    stored_row(weights, t, r as u64, fmt, &mut buf)?;
                }
            }
        }
    }
    Ok(())
}

/// Line addresses each port's device reads, in the order its host (or dispatcher) issues them:
/// piece by piece, row by row, line by line.
pub(crate) fn port_reads(pieces: &[Vec<Piece>], row_lines: usize) -> Vec<Vec<u64>> {
    pieces
        .iter()
        .map(|pp| {
            pp.iter()
                .flat_map(|pc| {
                    pc.rows.iter().flat_map(move |&r| {
                        (0..pc.dev_lines)
                            .map(move |j| line_addr(pc.table, r, row_lines, pc.dev0 + j))
                    })
                })
                .collect()
        })
        .collect()
}

/// The line addresses every device of a run reads, in its read order (index = port): what a
/// timing model outside this crate needs to replay the same tiered-device sequence.
pub fn device_reads(
    trace: &Trace,
    weights: &Weights,
    cfg: &RunConfig,
) -> Result<Vec<Vec<u64>>, SimError> {
    let (shape, pieces) = prepare(trace, weights, cfg)?;
    Ok(port_reads(&pieces, shape.dev_lines))
}

/// The memory device of one port: DRAM timed by `cfg.timing`, tiered when `cfg.tier` is set
/// (`reads` warm its cache).
pub(crate) fn make_device(cfg: &RunConfig, seed: u64, reads: &[u64]) -> MemDevice {
    let t = &cfg.timing;
    let dev = MemDevice::new(
        t.cycles(t.device_latency_ns),
        t.cycles(t.device_jitter_ns),
        seed ^ 0xDE71CE,
    )
    .with_line_gap(t.device_line_cycles())
    .with_poison(
        cfg.faults.map_or(0.0, |f| f.poison_rate),
        seed ^ 0x0090_150E,
    );
    match cfg.tier {
        Some(tt) => dev.with_tier(TierDevice::new(tt, reads), t.clock_ghz),
        None => dev,
    }
}

/// Run a trace through `cfg.ports` ports.
pub fn run(trace: &Trace, weights: &Weights, cfg: &RunConfig) -> Result<RunOutput, SimError> {
    run_from(trace, weights, cfg, Vec::new(), |_| Ok(()))
}

/// What one port of [`run`] produced: the summed lanes of its pieces, (cycle, bag) of each
/// result line, its stats. Ports run one after another, each on a fresh model, so this is all a
/// checkpoint between two ports needs to keep.
#[derive(Clone, Debug)]
pub struct PortOutcome {
    pub sums: PieceSums,
    pub lines: Vec<(u64, usize)>,
    pub stats: PortStats,
    /// Bags of this port that summed a poisoned line.
    pub poisoned: Vec<usize>,
}

/// [`run`] continued after the ports in `done` (the first `done.len()` ports, as an earlier run
/// of the same configuration produced them); `after_port` is called with every port finished so
/// far after each port (checkpoints). With `done` empty this is [`run`].
pub fn run_from(
    trace: &Trace,
    weights: &Weights,
    cfg: &RunConfig,
    mut done: Vec<PortOutcome>,
    mut after_port: impl FnMut(&[PortOutcome]) -> Result<(), SimError>,
) -> Result<RunOutput, SimError> {
    if cfg.buffer.on() {
        return Err(SimError::Config(
            "the row buffer (buffer_lines > 0) sits in the switch: it needs the switch-level run (pifs.level = switch)".into(),
        ));
    }
    let (shape, pieces) = prepare(trace, weights, cfg)?;
    if done.len() > pieces.len() {
        return Err(SimError::Config(format!(
            "checkpoint holds {} ports, the run has {}",
            done.len(),
            pieces.len()
        )));
    }
    let reads = port_reads(&pieces, shape.dev_lines);
    let mut rng = Rng::new(cfg.seed);
    let seeds: Vec<u64> = pieces.iter().map(|_| rng.next_u64()).collect();
    let verilator = (cfg.backend == Backend::Rtl).then(crate::rtl::verilator_version);
    // One port, start to finish, on a fresh model owned by the calling thread.
    let run_port = |p: usize| -> Result<PortOutcome, SimError> {
        let seed = seeds[p];
        let wave = cfg.wave.as_ref().filter(|w| w.port as usize == p);
        let mut acc: Box<dyn PortAccumulator> = match cfg.backend {
            Backend::Rtl => Box::new(RtlPort::new(seed, wave)?),
            Backend::Model => Box::new(ModelPort::new()),
        };
        acc.set_res_ready_percent(cfg.res_ready_percent);
        acc.set_llr(cfg.faults.is_some());
        acc.set_row_format(shape.fmt, shape.expand as u8);
        let dev = make_device(cfg, seed, &reads[p]);
        let mem = Memory::new(weights, shape);
        let (sums, lines, stats, poisoned) =
            drive_port(p, acc.as_mut(), &pieces[p], &mem, cfg, seed, shape, dev)?;
        acc.finish()?;
        Ok(PortOutcome {
            sums,
            lines,
            stats,
            poisoned,
        })
    };
    let todo: Vec<usize> = (done.len()..pieces.len()).collect();
    let threads = cfg.threads.clamp(1, todo.len().max(1));
    in_order_on_threads(threads, &todo, run_port, |o| {
        done.push(o);
        after_port(&done)
    })?;

    let mut partials: Vec<PieceSums> = Vec::new();
    let mut result_lines = Vec::new();
    let mut port_stats = Vec::new();
    let mut poisoned_bags = Vec::new();
    for o in done {
        partials.push(o.sums);
        result_lines.push(o.lines);
        port_stats.push(o.stats);
        poisoned_bags.extend(o.poisoned);
    }
    let dim = shape.dim;
    let mut pooled = fold(trace, dim, shape.out_lines, &partials);
    let poisoned_bags = poison_bags(&mut pooled, dim, poisoned_bags);
    let mut stats = make_stats(trace, cfg, shape, port_stats, verilator);
    stats.poisoned_bags = poisoned_bags.clone();
    Ok(RunOutput {
        pooled,
        dim,
        stats,
        result_lines,
        poisoned_bags,
    })
}

/// `work(i)` for every `i` of `items` on `threads` threads, taken in order; `take` gets the
/// results in the order of `items` as soon as each prefix is complete. The first error in that
/// order is returned (no item after it is started once it is known, and `take` sees none after
/// it): the same outcome as running the items one after another.
fn in_order_on_threads<T: Send>(
    threads: usize,
    items: &[usize],
    work: impl Fn(usize) -> Result<T, SimError> + Sync,
    mut take: impl FnMut(T) -> Result<(), SimError>,
) -> Result<(), SimError> {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel();
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop, work) = (&next, &stop, &work);
            scope.spawn(move || loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                if k >= items.len() || stop.load(Ordering::SeqCst) {
                    break;
                }
                let r = work(items[k]);
                if r.is_err() {
                    stop.store(true, Ordering::SeqCst);
                }
                if tx.send((k, r)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut got: Vec<Option<Result<T, SimError>>> = (0..items.len()).map(|_| None).collect();
        let mut first = 0;
        for (k, r) in rx {
            got[k] = Some(r);
            while let Some(r) = got.get_mut(first).and_then(Option::take) {
                first += 1;
                if let Err(e) = r.and_then(&mut take) {
                    stop.store(true, Ordering::SeqCst);
                    return Err(e);
                }
            }
        }
        Ok(())
    })
}

/// Pool every bag in `bags` as NaN (it summed a poisoned line); returns them sorted, once each.
pub(crate) fn poison_bags(pooled: &mut [u32], dim: usize, mut bags: Vec<usize>) -> Vec<usize> {
    bags.sort_unstable();
    bags.dedup();
    for &b in &bags {
        pooled[b * dim..(b + 1) * dim].fill(POISON_NAN);
    }
    bags
}

/// The stats document of a run from its per-port figures.
pub(crate) fn make_stats(
    trace: &Trace,
    cfg: &RunConfig,
    shape: RowShape,
    port_stats: Vec<PortStats>,
    verilator: Option<String>,
) -> Stats {
    let cycles = port_stats
        .iter()
        .filter(|s| s.result_lines > 0)
        .map(|s| s.last_result_cycle + 1)
        .max()
        .unwrap_or(0);
    let lookups = trace.lookups() as u64;
    let link_faults = cfg.faults.map(|f| {
        let mut t = LinkFaultStats {
            config: f,
            s2m: LinkStats::default(),
            m2s: LinkStats::default(),
        };
        for l in port_stats.iter().filter_map(|s| s.links.as_ref()) {
            t.s2m.add(&l.s2m);
            t.m2s.add(&l.m2s);
        }
        t
    });
    let stats = Stats {
        project_version: env!("CARGO_PKG_VERSION"),
        verilator,
        system: "pifs",
        backend: cfg.backend.name(),
        config: ConfigEcho {
            workload: cfg.workload.clone(),
            tables: trace.tables,
            batch: trace.batch,
            dim: shape.dim,
            row_lines: shape.dev_lines,
            row_format: shape.fmt,
            ports: cfg.ports,
            seed: cfg.seed,
            res_ready_percent: cfg.res_ready_percent,
            timing: cfg.timing,
        },
        cycles,
        time_ns: cycles as f64 / cfg.timing.clock_ghz,
        bags: (trace.tables * trace.batch) as u64,
        lookups,
        lines: lookups * shape.dev_lines as u64,
        device_link_bytes: port_stats.iter().map(|s| s.s2m_flits * 68).sum(),
        upstream_bytes: port_stats.iter().map(|s| s.result_lines * 64).sum(),
        ports: port_stats,
        link_faults,
        poisoned_bags: Vec::new(),
    };
    stats
}

/// Host reduction in (port, piece) order, per column group: the pooled output.
pub(crate) fn fold(
    trace: &Trace,
    dim: usize,
    row_lines: usize,
    partials: &[PieceSums],
) -> Vec<u32> {
    let bags = trace.tables * trace.batch;
    let mut pooled = vec![0u32; bags * dim];
    let mut seen = vec![false; bags * row_lines];
    for port in partials {
        for (bag, line0, lanes) in port {
            for (k, line) in lanes.chunks(16).enumerate() {
                let l = line0 + k;
                let cols = (l * 16..(l * 16 + 16).min(dim)).len();
                let out = &mut pooled[bag * dim + l * 16..bag * dim + l * 16 + cols];
                if seen[bag * row_lines + l] {
                    for (o, x) in out.iter_mut().zip(line) {
                        *o = fp::add(*o, *x);
                    }
                } else {
                    out.copy_from_slice(&line[..cols]);
                    seen[bag * row_lines + l] = true;
                }
            }
        }
    }

    pooled
}

/// Play one port: host issue, device, accumulator. Returns (bag, summed lanes) per piece.
#[allow(clippy::too_many_arguments)]
fn drive_port(
    p: usize,
    acc: &mut dyn PortAccumulator,
    pieces: &[Piece],
    mem: &Memory,
    cfg: &RunConfig,
    seed: u64,
    shape: RowShape,
    mut dev: MemDevice,
) -> Result<PortRun, SimError> {
    let t = &cfg.timing;
    let latency = t.cycles(t.device_latency_ns);
    let flight = t.cycles(t.link_flight_ns);
    let mut m2s = M2sPacker::new(seed ^ 0x3253);
    let step = (latency + flight).clamp(1, 32);
    validate_faults(cfg, step)?;
    let mut links = cfg.faults.map(|f| PortLinks::new(cfg, &f, seed));
    let mut wire: Vec<(u64, Flit, Flit)> = Vec::new();
    let mut poisoned = Vec::new();

    let mut slot_piece: [Option<usize>; NUM_BAGS] = [None; NUM_BAGS];
    let mut tag_used = [false; NUM_TAGS];
    let mut piece_tags: Vec<Vec<u16>> = vec![Vec::new(); pieces.len()];
    let mut sums: Vec<Option<Vec<u32>>> = vec![None; pieces.len()];
    let mut m2s_queue: VecDeque<(u64, Message)> = VecDeque::new();
    let mut m2s_avail: VecDeque<Message> = VecDeque::new();
    let (mut cmd_free, mut host_free) = (0u64, 0u64);
    let (mut next, mut done) = (0usize, 0usize);
    let (mut result_lines, mut last_result, mut lookups) = (0u64, 0u64, 0u64);
    let mut now = 0u64;
    let mut last_progress = 0u64;
    let mut flits: Vec<(u64, Flit)> = Vec::new();
    let mut lines_out = Vec::new();

    while done < pieces.len() {
        // Host: open as many pieces as slots and tags allow.
        while next < pieces.len() {
            let Some(slot) = slot_piece.iter().position(|s| s.is_none()) else {
                break;
            };
            let piece = &pieces[next];
            let release = cfg
                .bag_release
                .as_ref()
                .map_or(0, |r| r.get(piece.bag).copied().unwrap_or(0));
            if release >= now + step {
                break;
            }
            let Some(tags) = alloc_tags(&mut tag_used, piece.rows.len(), piece.lines) else {
                break;
            };
            let mut cmds = Vec::with_capacity(piece.rows.len() + 1);
            let k = now.max(cmd_free).max(release);
            cmds.push((
                k,
                Command::BagOpen {
                    bag: slot as u8,
                    rows: piece.rows.len() as u16,
                    lines: piece.lines as u8,
                },
            ));
            cmd_free = k + 1;
            for (&r, &tag) in piece.rows.iter().zip(&tags) {
                let k = cmd_free;
                cmds.push((
                    k,
                    Command::RowMap {
                        bag: slot as u8,
                        tag,
                    },
                ));
                cmd_free = k + 1;
                // Device line j brings binary32 lines j * expand .. of the row's tags.
                for j in 0..piece.dev_lines {
                    let addr = line_addr(piece.table, r, shape.dev_lines, piece.dev0 + j);
                    let tag = tag + (j * shape.expand) as u16;
                    m2s_queue.push_back((k + 1, Message::M2sReq(M2sReq::mem_rd(tag, addr))));
                }
            }
            acc.push_cmds(&cmds);
            if piece.line0 == 0 {
                lookups += piece.rows.len() as u64; // a row read in column groups counts once
            }
            piece_tags[next] = tags;
            slot_piece[slot] = Some(next);
            next += 1;
        }
        // Host link: M2S flits, one per cycle, each request no earlier than its cycle.
        while !m2s_queue.is_empty() || !m2s_avail.is_empty() {
            let mut c = host_free;
            if m2s_avail.is_empty() {
                c = c.max(m2s_queue.front().unwrap().0);
            }
            while m2s_queue.front().is_some_and(|(a, _)| *a <= c) {
                m2s_avail.push_back(m2s_queue.pop_front().unwrap().1);
            }
            if let Some(f) = m2s.next_flit(&mut m2s_avail) {
                match &mut links {
                    Some(l) => l.m2s.link.push(c + flight, f),
                    None => dev.receive(c + flight, &f).map_err(|e| {
                        SimError::Check(format!(
                            "port {p}: device could not decode an M2S flit: {e}"
                        ))
                    })?,
                }
            }
            host_free = c + 1;
        }
        if let Some(l) = &mut links {
            l.m2s.run(&mut dev).map_err(|e| {
                SimError::Check(format!(
                    "port {p}: device could not decode an M2S flit: {e}"
                ))
            })?;
        }
        // Device: every S2M flit that is final, then the accumulator up to the next step.
        flits.clear();
        dev.emit_until(now + latency + flight, mem, &mut flits);
        for f in flits.iter_mut() {
            f.0 += flight;
        }
        match &mut links {
            None => acc.push_flits(&flits),
            // Through the link's sender: the flits arriving in this step go to the port.
            Some(l) => acc.push_flits(&l.s2m_step(&flits, now, step, &mut wire)),
        }
        now += step;
        acc.run_to(now)?;
        if let Some(l) = &mut links {
            let got = acc.take_link_events();
            let want = l.shadow.run_to(now);
            if got != want {
                return Err(SimError::Check(format!(
                    "port {p}: the port's S2M retry messages before cycle {now} differ from the reference receiver's: {got:?} vs {want:?}"
                )));
            }
            l.s2m.on_events(&got);
        }
        for r in acc.take_results() {
            let Some(pi) = slot_piece[r.bag as usize] else {
                return Err(SimError::Check(format!(
                    "port {p}: result for idle bag slot {}",
                    r.bag
                )));
            };
            let lanes = sums[pi].get_or_insert_with(|| vec![0; pieces[pi].lines * 16]);
            lanes[r.line as usize * 16..r.line as usize * 16 + 16].copy_from_slice(&r.data);
            if r.poison {
                poisoned.push(pieces[pi].bag);
            }
            result_lines += 1;
            lines_out.push((r.cycle, pieces[pi].bag));
            last_result = last_result.max(r.cycle);
            last_progress = now;
            if r.last {
                slot_piece[r.bag as usize] = None;
                for &tag in &piece_tags[pi] {
                    for l in 0..pieces[pi].lines {
                        tag_used[tag as usize + l] = false;
                    }
                }
                done += 1;
            }
        }
        if now - last_progress > 1_000_000 {
            let c = acc.counters();
            return Err(SimError::Check(format!(
                "port {p}: no result for 1,000,000 cycles ({done} of {} pieces done; counters {c:?})",
                pieces.len()
            )));
        }
    }
    let c = acc.counters();
    // With link-layer retry a CRC error is recovered by the replay; without it nothing is.
    let crc_lost = if links.is_some() { 0 } else { c.crc_errors };
    if crc_lost + c.proto_errors + c.cmd_errors + c.tag_errors > 0 {
        return Err(SimError::Check(format!(
            "port {p}: errors reported by the port: {c:?}"
        )));
    }
    let st = PortStats {
        port: p,
        bags: pieces.len() as u64,
        lookups,
        m2s_flits: dev.counters.m2s_flits,
        s2m_flits: dev.counters.s2m_flits,
        result_lines,
        utilisation: if last_result > 0 {
            dev.counters.s2m_flits as f64 / (last_result + 1) as f64
        } else {
            0.0
        },
        last_result_cycle: last_result,
        counters: c,
        device: dev.counters,
        links: links.as_ref().map(PortLinks::stats),
        buffer: None,
    };
    let out = pieces
        .iter()
        .zip(sums)
        .map(|(pc, s)| (pc.bag, pc.line0, s.expect("every piece finished")))
        .collect();
    Ok((out, lines_out, st, poisoned))
}

/// First-fit allocation of `rows` blocks of `lines` consecutive free tags.
pub(crate) fn alloc_tags(
    used: &mut [bool; NUM_TAGS],
    rows: usize,
    lines: usize,
) -> Option<Vec<u16>> {
    let mut got = Vec::with_capacity(rows);
    let mut t = 0;
    while got.len() < rows && t + lines <= NUM_TAGS {
        if used[t..t + lines].iter().all(|u| !u) {
            used[t..t + lines].iter_mut().for_each(|u| *u = true);
            got.push(t as u16);
            t += lines;
        } else {
            t += 1;
        }
    }
    if got.len() < rows {
        for &g in &got {
            used[g as usize..g as usize + lines]
                .iter_mut()
                .for_each(|u| *u = false);
        }
        return None;
    }
    Some(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Items finish out of order (later items are quicker); `take` still sees them in order,
    /// and a failing item stops the run with its own error after exactly the items before it.
    #[test]
    fn in_order_on_threads_keeps_order_and_the_first_error() {
        let items: Vec<usize> = (0..12).collect();
        let work = |i: usize| {
            std::thread::sleep(std::time::Duration::from_millis(12 - i as u64));
            if i == 7 || i == 9 {
                Err(SimError::Check(format!("item {i}")))
            } else {
                Ok(i)
            }
        };
        for threads in [1, 2, 4, 12] {
            let mut seen = Vec::new();
            let r = in_order_on_threads(threads, &items, work, |i| {
                seen.push(i);
                Ok(())
            });
            assert_eq!(seen, (0..7).collect::<Vec<_>>(), "{threads} threads");
            assert!(matches!(r, Err(SimError::Check(m)) if m == "item 7"));
        }
        // An error from `take` ends the run the same way.
        let mut seen = Vec::new();
        let r = in_order_on_threads(3, &items[..5], Ok, |i| {
            seen.push(i);
            if i == 2 {
                Err(SimError::Check("take".into()))
            } else {
                Ok(())
            }
        });
        assert_eq!(seen, vec![0, 1, 2]);
        assert!(matches!(r, Err(SimError::Check(m)) if m == "take"));
    }
}
