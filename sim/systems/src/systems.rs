//! The four systems that serve one batch of embedding bags, on the same links, switch, devices
//! and host (see [`crate::config`]):
//!
//! - `pond`: the switch only routes. The host sends a MemRd per 64 B line (at most
//!   `host.outstanding` in flight); every line crosses its port link, the crossbar and the host
//!   link; the host adds every line (`host.reduce_lines_per_ns`).
//! - `beacon-d`: an NDP unit in each memory device. The host writes one descriptor per row
//!   (`host.descriptor_bytes`) to the device; the device reads the rows from its own memory and
//!   adds them (`beacon_d.ndp_gbps`); one partial sum per (bag, device) goes up.
//! - `beacon-s`: one central pool in the switch. Descriptors go to the pool, which reads every
//!   line from the devices; all of them cross the crossbar into the pool
//!   (`beacon_s.pool_gbps`), which sends one sum per bag up.
//! - `pifs`: accumulators in every downstream port. Descriptors reach the switch's dispatchers
//!   (one command lane per port), which issue the MemRds; the switch RTL (`pifs.level =
//!   switch`: dispatchers, accumulators, egress FIFOs, round-robin upstream arbiter; or each
//!   port's RTL alone with `ports`), or its cycle-exact model, runs cycle by cycle; one partial
//!   per (bag, port) crosses the host link; the host (or, with `pifs.combine = usp`, the
//!   upstream port) adds the partials.
//!
//! Flit costs: a MemRd is half a flit (two requests per flit, DESIGN.md section 6); a 64 B line
//! with its header (MemData, or a 64 B write of descriptors) costs [`line_flits`] flits, measured
//! with this project's own S2M packer.
//!
//! Sums: `pond` and `beacon-s` add a bag's rows in trace order; `beacon-d` adds each device's
//! rows in trace order and the host adds the device partials in device order; `pifs` gives the
//! RTL's order (pifs_sim::system and pifs_sim::switch_run, the same bits). Each is checked against the float64 bound by the caller.

use crate::config::SysConfig;
use crate::des::{Engine, Group, Hop};
use crate::energy::{batch_energy, BatchEnergy, Counts};
use pifs_cxl::{Message, S2mDrs, S2mPacker};
use pifs_dlrm::{RowFormat, Trace, Weights};
use pifs_sim::device::{TierCounters, TierDevice};
use pifs_sim::fp;
use pifs_sim::hotness::{self, Move};
use pifs_sim::layout::Layout;
use pifs_sim::plan;
use pifs_sim::port::SimError;
use pifs_sim::system::{self, Backend, RowShape, RunConfig};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, OnceLock};

/// The systems, in report order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    Pond,
    BeaconD,
    BeaconS,
    Pifs,
}

impl System {
    pub const ALL: [System; 4] = [System::Pond, System::BeaconD, System::BeaconS, System::Pifs];

    pub fn name(self) -> &'static str {
        match self {
            System::Pond => "pond",
            System::BeaconD => "beacon-d",
            System::BeaconS => "beacon-s",
            System::Pifs => "pifs",
        }
    }
}

/// Flits per 64 B line with its header at line rate: measured once by packing a long stream of
/// MemData responses with [`S2mPacker`].
pub fn line_flits() -> f64 {
    static F: OnceLock<f64> = OnceLock::new();
    *F.get_or_init(|| {
        const N: usize = 4096;
        let mut q: VecDeque<Message> = (0..N)
            .map(|i| Message::S2mDrs(S2mDrs::mem_data(i as u16, false), Box::new([0u8; 64])))
            .collect();
        let mut p = S2mPacker::new(1);
        let mut flits = 0usize;
        while !q.is_empty() || p.pending_chunks() > 0 {
            if p.next_flit(&mut q).is_some() {
                flits += 1;
            }
        }
        flits as f64 / N as f64
    })
}

/// Flits per MemRd (two requests per flit).
pub const REQ_FLITS: f64 = 0.5;
/// Bytes of a flit on the wire (66 B link layer + 2 B ARB/MUX).
pub const FLIT_BYTES: f64 = 68.0;

/// Bytes and busy time of one resource.
#[derive(Clone, Debug, Serialize)]
pub struct Resource {
    pub name: String,
    pub bytes: u64,
    /// Busy time over the batch latency.
    pub utilisation: f64,
}

/// Outcome of one batch on one system.
#[derive(Clone, Debug, Serialize)]
pub struct BatchResult {
    pub latency_ns: f64,
    /// Bytes toward the host on the upstream link, and toward the switch.
    pub upstream_bytes: u64,
    pub downstream_bytes: u64,
    /// Bytes on each port link, device to switch.
    pub port_bytes: Vec<u64>,
    pub crossbar_bytes: u64,
    /// Every resource, most utilised first: the first one is what limits the system.
    pub resources: Vec<Resource>,
    /// Port-accumulator cycles (pifs only).
    pub port_cycles: Option<u64>,
    /// 64 B lines the memory devices served.
    pub device_reads: u64,
    /// 64 B lines each device served for the batch (its load; migration copies not counted).
    pub device_lines: Vec<u64>,
    /// Embedding spreading (PIFS-Rec): bytes copied between devices before this batch, and the
    /// time the copies took (part of `latency_ns`).
    #[serde(skip_serializing_if = "is_zero")]
    pub migration_bytes: u64,
    #[serde(skip_serializing_if = "is_zero_f")]
    pub migration_ns: f64,
    /// Tiered devices (all ports together): DRAM-cache hits, misses, bytes read from the
    /// backing memory. None for DRAM-only devices.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<TierCounters>,
    /// PIFS-Rec with the row buffer on: each port's buffer counts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub buffer: Option<Vec<pifs_sim::buffer::BufferCounters>>,
    /// Energy of the batch and average power over it.
    pub energy: BatchEnergy,
    #[serde(skip)]
    pub pooled: Vec<u32>,
    /// Bags that summed a poisoned line (pooled as NaN; PIFS-Rec with faults.device_poison_rate).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub poisoned_bags: Vec<usize>,
}

fn is_zero(x: &u64) -> bool {
    *x == 0
}

fn is_zero_f(x: &f64) -> bool {
    *x == 0.0
}

/// The servers every system is built from.
struct Fabric {
    e: Engine,
    host_m2s: usize,
    host_s2m: usize,
    crossbar: usize,
    host_reduce: usize,
    port_m2s: Vec<usize>,
    port_s2m: Vec<usize>,
    dev: Vec<usize>,
    ndp: Vec<usize>,
    pool: usize,
    usp: usize,
    /// Tiered devices: the engine's tier id of each port's device (empty = DRAM only).
    tier: Vec<usize>,
    /// ns per flit on the host link and a port link.
    fh: f64,
    fp: f64,
}

impl Fabric {
    /// `reads`: the line addresses each device reads, in order (used by tiered devices).
    fn new(c: &SysConfig, reads: &[Vec<u64>]) -> Fabric {
        let mut e = Engine::default();
        let tier = match c.tier_timing() {
            Some(t) => reads
                .iter()
                .map(|r| e.tier(TierDevice::new(t, r), r.clone()))
                .collect(),
            None => Vec::new(),
        };
        let host_m2s = e.server("host_link.m2s");
        let host_s2m = e.server("host_link.s2m");
        let crossbar = e.server("switch.crossbar");
        let host_reduce = e.server("host.reduce");
        let n = c.switch.ports;
        let port_m2s = (0..n).map(|p| e.server(format!("port{p}.m2s"))).collect();
        let port_s2m = (0..n).map(|p| e.server(format!("port{p}.s2m"))).collect();
        let dev = (0..n)
            .map(|p| e.server(format!("device{p}.memory")))
            .collect();
        let ndp = (0..n).map(|p| e.server(format!("device{p}.ndp"))).collect();
        let pool = e.server("switch.pool");
        let usp = e.server("usp.combine");
        Fabric {
            e,
            host_m2s,
            host_s2m,
            crossbar,
            host_reduce,
            port_m2s,
            port_s2m,
            dev,
            ndp,
            pool,
            usp,
            tier,
            fh: 1.0 / c.host_link.flits_per_ns(),
            fp: 1.0 / c.port_link.flits_per_ns(),
        }
    }

    fn serve(id: usize, ns: f64, flits: f64) -> Hop {
        Hop::Serve {
            id,
            ns,
            bytes: (flits * FLIT_BYTES).round() as u64,
        }
    }

    fn host_down(&self, c: &SysConfig, flits: f64) -> Vec<Hop> {
        vec![
            Self::serve(self.host_m2s, flits * self.fh, flits),
            Hop::Delay(c.host_link.flight_ns + c.switch.traversal_ns),
        ]
    }

    /// From the crossbar's output to the host's pooled output: crossbar, host link, reduce.
    fn to_host(&self, c: &SysConfig) -> Vec<Hop> {
        let lf = line_flits();
        vec![
            Hop::Serve {
                id: self.crossbar,
                ns: 64.0 / c.switch.crossbar_gbps,
                bytes: 64,
            },
            Self::serve(self.host_s2m, lf * self.fh, lf),
            Hop::Delay(c.host_link.flight_ns),
            Hop::Serve {
                id: self.host_reduce,
                ns: 1.0 / c.host.reduce_lines_per_ns,
                bytes: 64,
            },
        ]
    }

    /// The read of one line inside device `d`: its memory's bandwidth and latency (DRAM
    /// only), or the tiered device's cache and backing memory.
    fn device_read(&self, c: &SysConfig, d: usize) -> Vec<Hop> {
        match self.tier.get(d) {
            Some(&id) => vec![Hop::Tier { id }],
            None => vec![
                Hop::Serve {
                    id: self.dev[d],
                    ns: 64.0 / c.device.gbps,
                    bytes: 64,
                },
                Hop::Delay(c.device.latency_ns),
            ],
        }
    }

    /// MemRd from the switch to device `d`, the read, and the MemData back to the switch.
    fn port_read(&self, c: &SysConfig, d: usize) -> Vec<Hop> {
        let lf = line_flits();
        let mut h = vec![
            Self::serve(self.port_m2s[d], REQ_FLITS * self.fp, REQ_FLITS),
            Hop::Delay(c.port_link.flight_ns),
        ];
        h.extend(self.device_read(c, d));
        h.push(Self::serve(self.port_s2m[d], lf * self.fp, lf));
        h.push(Hop::Delay(c.port_link.flight_ns));
        h
    }

    /// Count the tiered devices' work on the device servers (DRAM) and on a backing server per
    /// device, and return the counters summed over the devices.
    fn settle_tiers(&mut self) -> Option<TierCounters> {
        if self.tier.is_empty() {
            return None;
        }
        let mut sum = TierCounters::default();
        for (d, &id) in self.tier.iter().enumerate() {
            let t = &self.e.tiers[id].dev;
            let (k, dram_ns, back_ns) = (t.counters, t.dram_busy_ns, t.backing_busy_ns);
            let s = &mut self.e.servers[self.dev[d]];
            s.items += k.hits + k.misses;
            s.bytes += k.hits * 64;
            s.busy_ns += dram_ns;
            let b = self.e.server(format!("device{d}.backing"));
            let s = &mut self.e.servers[b];
            s.items = k.misses;
            s.bytes = k.backing_bytes;
            s.busy_ns = back_ns;
            sum.hits += k.hits;
            sum.misses += k.misses;
            sum.backing_bytes += k.backing_bytes;
        }
        Some(sum)
    }

    /// The batch's result. `pifs`: the cycle model's device reads and tier counters (the
    /// event model's own otherwise), whose lines the port accumulators also added.
    fn result(
        mut self,
        c: &SysConfig,
        latency_ns: f64,
        pooled: Vec<u32>,
        pifs: Option<(u64, u64, Option<TierCounters>)>,
        device_lines: Vec<u64>,
    ) -> BatchResult {
        let own_tier = self.settle_tiers();
        let (port_cycles, device_reads, tier, port_add_bytes) = match pifs {
            Some((cycles, reads, tier)) => (Some(cycles), reads, tier, reads * 64),
            None => {
                let reads = self.dev.iter().map(|&d| self.e.servers[d].items).sum();
                (None, reads, own_tier, 0)
            }
        };
        let s = &self.e.servers;
        let mut resources: Vec<Resource> = s
            .iter()
            .filter(|r| r.items > 0)
            .map(|r| Resource {
                name: r.name.clone(),
                bytes: r.bytes,
                utilisation: if latency_ns > 0.0 {
                    r.busy_ns / latency_ns
                } else {
                    0.0
                },
            })
            .collect();
        resources.sort_by(|a, b| b.utilisation.total_cmp(&a.utilisation));
        let energy = batch_energy(
            c,
            &Counts {
                resources: &resources,
                device_reads,
                tier,
                port_add_bytes,
                latency_ns,
            },
        );
        BatchResult {
            latency_ns,
            upstream_bytes: s[self.host_s2m].bytes,
            downstream_bytes: s[self.host_m2s].bytes,
            port_bytes: (0..c.switch.ports)
                .map(|p| s[self.port_s2m[p]].bytes)
                .collect(),
            crossbar_bytes: s[self.crossbar].bytes,
            resources,
            port_cycles,
            device_reads,
            device_lines,
            migration_bytes: 0,
            migration_ns: 0.0,
            tier,
            buffer: None,
            energy,
            pooled,
            poisoned_bags: Vec::new(),
        }
    }
}

/// Rows of each bag split by device: `[bag][device] -> rows`.
fn split(trace: &Trace, c: &SysConfig, row_lines: usize) -> Vec<Vec<Vec<u64>>> {
    let n = c.switch.ports;
    let place = c.placement();
    let mut out = Vec::with_capacity(trace.num_bags());
    for t in 0..trace.tables {
        for b in 0..trace.batch {
            let mut per = vec![Vec::new(); n];
            for &r in trace.bag(t, b) {
                per[place.port(t, r as u64, row_lines as u64 * 64, n)].push(r as u64);
            }
            out.push(per);
        }
    }
    out
}

/// Binary32 sum of rows in the given order (first row copied, +0.0 for none), each row
/// stored in `fmt` and widened to binary32 ([`RowFormat::decode_f32`]).
fn sum_rows(
    w: &Weights,
    fmt: RowFormat,
    t: usize,
    rows: &[u64],
    buf: &mut Vec<u8>,
    out: &mut [u32],
) -> Result<(), SimError> {
    out.fill(0);
    let mut x = vec![0f32; out.len()];
    for (i, &r) in rows.iter().enumerate() {
        buf.clear();
        system::stored_row(w, t, r, fmt, buf)?;
        fmt.decode_f32(buf, &mut x);
        for (o, v) in out.iter_mut().zip(&x) {
            *o = if i == 0 {
                v.to_bits()
            } else {
                fp::add(*o, v.to_bits())
            };
        }
    }
    Ok(())
}

fn add_into(acc: &mut [u32], x: &[u32], first: bool) {
    for (a, b) in acc.iter_mut().zip(x) {
        *a = if first { *b } else { fp::add(*a, *b) };
    }
}

/// Where PIFS-Rec's rows live for one batch, and the copies spreading made before it.
#[derive(Clone, Debug)]
pub struct Placed {
    pub layout: Arc<Layout>,
    pub moves: Vec<Move>,
}

/// Whether PIFS-Rec runs with a layout other than the pool's interleaving.
pub fn pifs_placement_on(c: &SysConfig) -> bool {
    c.pifs.plan != "row" || c.pifs.spread != "off"
}

/// PIFS-Rec's placement for every batch of a run: the plan of `pifs.plan` made from the first
/// batch (the profile), then spread epoch by epoch (`pifs.spread`) from the batches already
/// run. A function of the batches alone, so a resumed run gets the same layouts.
pub fn pifs_placements(c: &SysConfig, batches: &[Trace], dim: usize) -> Vec<Placed> {
    let row_lines = c.row_format().dev_lines(dim);
    let ports = c.switch.ports;
    let Some(first) = batches.first() else {
        return Vec::new();
    };
    let start = plan::plan(c.plan_kind(), c.placement(), &[first], row_lines, ports).layout;
    hotness::epochs(&start, batches, &c.hot_config(), row_lines, ports)
        .into_iter()
        .map(|(l, moves)| Placed {
            layout: Arc::new(l),
            moves,
        })
        .collect()
}

/// Run one batch (the whole `trace`) on `system`. PIFS-Rec's plan is made from this batch; no
/// spreading (that needs the batches before it: [`run_batch_placed`]).
pub fn run_batch(
    system: System,
    trace: &Trace,
    weights: &Weights,
    c: &SysConfig,
    backend: Backend,
    seed: u64,
) -> Result<BatchResult, SimError> {
    run_batch_placed(system, trace, weights, c, backend, seed, None)
}

/// [`run_batch`] with PIFS-Rec's placement given (None: planned from this batch, not spread).
pub fn run_batch_placed(
    system: System,
    trace: &Trace,
    weights: &Weights,
    c: &SysConfig,
    backend: Backend,
    seed: u64,
    placed: Option<&Placed>,
) -> Result<BatchResult, SimError> {
    c.validate().map_err(SimError::Config)?;
    let dim = weights.dim();
    // Lines read per row from the devices, and binary32 lines of a row's sum.
    let fmt = c.row_format();
    fmt.check(dim)
        .map_err(|e| SimError::Config(format!("device.row_format: {e}")))?;
    let shape = RowShape::new(dim, fmt)?;
    let row_lines = shape.dev_lines;
    let per_dev = split(trace, c, row_lines);
    let mut cfg = run_config(c, backend, seed);
    // The event models replay the order in which the cycle model's devices read their lines.
    let reads = if c.tier_timing().is_some() && system != System::Pifs {
        system::device_reads(trace, weights, &cfg)?
    } else {
        Vec::new()
    };
    match system {
        System::Pond => pond(trace, weights, c, &per_dev, row_lines, &reads),
        System::BeaconD => beacon(trace, weights, c, &per_dev, shape, true, &reads),
        System::BeaconS => beacon(trace, weights, c, &per_dev, shape, false, &reads),
        System::Pifs => {
            let own;
            let placed = match placed {
                Some(p) => Some(p),
                None if pifs_placement_on(c) => {
                    own = pifs_placements(c, std::slice::from_ref(trace), dim)
                        .pop()
                        .expect("one batch");
                    Some(&own)
                }
                None => None,
            };
            let (per_dev, moves) = match placed {
                Some(p) => {
                    cfg.layout = Some(p.layout.clone());
                    let (shares, _) = p.layout.split(trace, row_lines, c.switch.ports);
                    let per_dev = shares
                        .into_iter()
                        .map(|sh| {
                            let mut per = vec![Vec::new(); c.switch.ports];
                            for s in sh {
                                per[s.device].extend(s.rows);
                            }
                            per
                        })
                        .collect();
                    (per_dev, p.moves.as_slice())
                }
                None => (per_dev, &[][..]),
            };
            pifs(trace, weights, c, &per_dev, shape, cfg, moves)
        }
    }
}

/// The cycle-level run of PIFS-Rec's ports for this configuration (no bag release yet).
fn run_config(c: &SysConfig, backend: Backend, seed: u64) -> RunConfig {
    RunConfig {
        backend,
        ports: c.switch.ports,
        seed,
        timing: c.timing(),
        placement: c.placement(),
        tier: c.tier_timing(),
        workload: String::new(),
        faults: c.faults.link_faults(),
        buffer: c.buffer(),
        row_format: c.row_format(),
        ..RunConfig::default()
    }
}

/// Descriptor writes per (bag, device): 64 B writes carrying `descriptor_bytes` per row.
fn desc_lines(c: &SysConfig, rows: usize) -> u32 {
    (rows * c.host.descriptor_bytes as usize).div_ceil(64) as u32
}

fn bag_table(trace: &Trace, bag: usize) -> usize {
    bag / trace.batch.max(1)
}

fn pond(
    trace: &Trace,
    w: &Weights,
    c: &SysConfig,
    per_dev: &[Vec<Vec<u64>>],
    row_lines: usize,
    reads: &[Vec<u64>],
) -> Result<BatchResult, SimError> {
    let mut f = Fabric::new(c, reads);
    let n = c.switch.ports;
    // One route per device: MemRd down, read, MemData up, host adds.
    let routes: Vec<usize> = (0..n)
        .map(|d| {
            let mut hops = f.host_down(c, REQ_FLITS);
            hops.extend(f.port_read(c, d));
            hops.push(Hop::Delay(c.switch.traversal_ns));
            hops.extend(f.to_host(c));
            f.e.route(hops)
        })
        .collect();
    let empty = f.e.route(Vec::new());
    // Lines in issue order: bag by bag, row by row, line by line.
    let mut lines: Vec<(usize, usize)> = Vec::new(); // (device, line group)
    let mut bag_groups = Vec::new();
    let mut line_groups = std::collections::HashSet::new();
    for (bag, devs) in per_dev.iter().enumerate() {
        let total: usize = devs.iter().map(|r| r.len()).sum::<usize>() * row_lines;
        let bg = f.e.group(Group::terminal(total as u32));
        bag_groups.push(bg);
        let t = bag_table(trace, bag);
        for &r in trace.bag(t, bag % trace.batch) {
            let d = c.placement().port(t, r as u64, row_lines as u64 * 64, n);
            for _ in 0..row_lines {
                let lg = f.e.group(Group {
                    remaining: 1,
                    emit: 1,
                    route: empty,
                    then: bg,
                    done: f64::NAN,
                });
                line_groups.insert(lg);
                lines.push((d, lg));
            }
        }
    }
    // Host issue: rate-limited, at most `outstanding` lines in flight.
    let gap = 1.0 / c.host.issue_per_ns;
    let (mut next, mut i, mut outstanding, mut now) = (0.0f64, 0usize, 0u32, 0.0f64);
    loop {
        while i < lines.len() && outstanding < c.host.outstanding {
            let t = next.max(now);
            f.e.start(t, routes[lines[i].0], lines[i].1);
            next = t + gap;
            outstanding += 1;
            i += 1;
        }
        let Some(t) = f.e.peek_time() else { break };
        f.e.run_until(t);
        for (g, t) in f.e.completions.drain(..) {
            if line_groups.contains(&g) {
                outstanding -= 1;
                now = now.max(t);
            }
        }
    }
    let latency = bag_groups
        .iter()
        .map(|&g| f.e.groups[g].done)
        .fold(0.0, f64::max);
    // Sums: each bag's rows in trace order.
    let dim = w.dim();
    let mut pooled = vec![0u32; trace.num_bags() * dim];
    let mut buf = Vec::new();
    for bag in 0..trace.num_bags() {
        let t = bag_table(trace, bag);
        let rows: Vec<u64> = trace
            .bag(t, bag % trace.batch)
            .iter()
            .map(|&r| r as u64)
            .collect();
        sum_rows(
            w,
            c.row_format(),
            t,
            &rows,
            &mut buf,
            &mut pooled[bag * dim..(bag + 1) * dim],
        )?;
    }
    let lines = dev_lines(per_dev, row_lines, n);
    Ok(f.result(c, latency, pooled, None, lines))
}

/// Lines each device reads for `per_dev`.
fn dev_lines(per_dev: &[Vec<Vec<u64>>], row_lines: usize, n: usize) -> Vec<u64> {
    let mut l = vec![0u64; n];
    for devs in per_dev {
        for (d, rows) in devs.iter().enumerate() {
            l[d] += (rows.len() * row_lines) as u64;
        }
    }
    l
}

/// BEACON-D (`in_device`) or BEACON-S.
fn beacon(
    trace: &Trace,
    w: &Weights,
    c: &SysConfig,
    per_dev: &[Vec<Vec<u64>>],
    shape: RowShape,
    in_device: bool,
    reads: &[Vec<u64>],
) -> Result<BatchResult, SimError> {
    let (row_lines, out_lines) = (shape.dev_lines, shape.out_lines);
    let mut f = Fabric::new(c, reads);
    let lf = line_flits();
    let n = c.switch.ports;
    let line_ns = 64.0;
    let (desc_route, read_routes, up_routes): (Vec<usize>, Vec<usize>, Vec<usize>) = if in_device {
        // Descriptors travel to the device; the device reads and adds; partials go up.
        let desc = (0..n)
            .map(|d| {
                let mut h = f.host_down(c, lf);
                h.push(Fabric::serve(f.port_m2s[d], lf * f.fp, lf));
                h.push(Hop::Delay(c.port_link.flight_ns));
                f.e.route(h)
            })
            .collect();
        let read = (0..n)
            .map(|d| {
                let mut h = f.device_read(c, d);
                h.push(Hop::Serve {
                    id: f.ndp[d],
                    ns: line_ns / c.beacon_d.ndp_gbps,
                    bytes: 64,
                });
                f.e.route(h)
            })
            .collect();
        let up = (0..n)
            .map(|d| {
                let mut h = vec![
                    Fabric::serve(f.port_s2m[d], lf * f.fp, lf),
                    Hop::Delay(c.port_link.flight_ns + c.switch.traversal_ns),
                ];
                h.extend(f.to_host(c));
                f.e.route(h)
            })
            .collect();
        (desc, read, up)
    } else {
        // Descriptors travel to the pool; the pool reads every line through the crossbar.
        let desc_r = f.host_down(c, lf);
        let desc_r = f.e.route(desc_r);
        let read = (0..n)
            .map(|d| {
                let mut h = f.port_read(c, d);
                h.push(Hop::Serve {
                    id: f.crossbar,
                    ns: line_ns / c.switch.crossbar_gbps,
                    bytes: 64,
                });
                h.push(Hop::Serve {
                    id: f.pool,
                    ns: line_ns / c.beacon_s.pool_gbps,
                    bytes: 64,
                });
                f.e.route(h)
            })
            .collect();
        // The pool's sums leave through the USP: host link and reduce (no crossbar hop again).
        let mut h = vec![Hop::Delay(c.switch.traversal_ns)];
        h.extend(f.to_host(c).into_iter().skip(1));
        let up = f.e.route(h);
        (vec![desc_r; n], read, vec![up; n])
    };

    let mut bag_groups = Vec::new();
    let mut issue: Vec<(usize, usize)> = Vec::new(); // (route, group) of each descriptor write
    for devs in per_dev {
        let nonempty = devs.iter().filter(|r| !r.is_empty()).count();
        let bag_lines = if in_device {
            nonempty * out_lines
        } else {
            out_lines.min(nonempty * out_lines)
        };
        let bg = f.e.group(Group::terminal(bag_lines as u32));
        bag_groups.push(bg);
        // BEACON-S sums the whole bag in the pool: one accumulation group per bag.
        let pool_acc = if in_device {
            None
        } else {
            let total: usize = devs.iter().map(|r| r.len()).sum::<usize>() * row_lines;
            Some(f.e.group(Group {
                remaining: total as u32,
                emit: if total > 0 { out_lines as u32 } else { 0 },
                route: up_routes[0],
                then: bg,
                done: f64::NAN,
            }))
        };
        for (d, rows) in devs.iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let acc = match pool_acc {
                Some(g) => g,
                None => f.e.group(Group {
                    remaining: (rows.len() * row_lines) as u32,
                    emit: out_lines as u32,
                    route: up_routes[d],
                    then: bg,
                    done: f64::NAN,
                }),
            };
            let k = desc_lines(c, rows.len());
            let dg = f.e.group(Group {
                remaining: k,
                emit: (rows.len() * row_lines) as u32,
                route: read_routes[d],
                then: acc,
                done: f64::NAN,
            });
            for _ in 0..k {
                issue.push((desc_route[d], dg));
            }
        }
    }
    let gap = 1.0 / c.host.issue_per_ns;
    for (i, &(r, g)) in issue.iter().enumerate() {
        f.e.start(i as f64 * gap, r, g);
    }
    f.e.run();
    let latency = bag_groups
        .iter()
        .map(|&g| f.e.groups[g].done)
        .filter(|t| t.is_finite())
        .fold(0.0, f64::max);

    let dim = w.dim();
    let mut pooled = vec![0u32; trace.num_bags() * dim];
    let mut buf = Vec::new();
    let mut part = vec![0u32; dim];
    for (bag, devs) in per_dev.iter().enumerate() {
        let t = bag_table(trace, bag);
        let out = &mut pooled[bag * dim..(bag + 1) * dim];
        if in_device {
            let mut first = true;
            for rows in devs.iter().filter(|r| !r.is_empty()) {
                sum_rows(w, c.row_format(), t, rows, &mut buf, &mut part)?;
                add_into(out, &part, first);
                first = false;
            }
        } else {
            let rows: Vec<u64> = trace
                .bag(t, bag % trace.batch)
                .iter()
                .map(|&r| r as u64)
                .collect();
            sum_rows(w, c.row_format(), t, &rows, &mut buf, out)?;
        }
    }
    let lines = dev_lines(per_dev, row_lines, n);
    Ok(f.result(c, latency, pooled, None, lines))
}

fn pifs(
    trace: &Trace,
    w: &Weights,
    c: &SysConfig,
    per_dev: &[Vec<Vec<u64>>],
    shape: RowShape,
    cfg: RunConfig,
    moves: &[Move],
) -> Result<BatchResult, SimError> {
    let (row_lines, out_lines) = (shape.dev_lines, shape.out_lines);
    let mut f = Fabric::new(c, &[]);
    let lf = line_flits();
    // 0. Spreading's copies before the batch (stop the world): each 64 B line is read from
    // the old device, crosses its port link, the crossbar and the new device's port link as a
    // write, and is written at the new device's bandwidth.
    let migration_bytes: u64 = moves.iter().map(|m| m.bytes).sum();
    let mut t0 = 0.0;
    if migration_bytes > 0 {
        let mut routes = std::collections::BTreeMap::new();
        let total: u64 = moves.iter().map(|m| m.bytes.div_ceil(64)).sum();
        let g = f.e.group(Group::terminal(total as u32));
        for m in moves {
            let r = *routes.entry((m.from, m.to)).or_insert_with(|| {
                let h = vec![
                    Hop::Serve {
                        id: f.dev[m.from],
                        ns: 64.0 / c.device.gbps,
                        bytes: 64,
                    },
                    Hop::Delay(c.device.latency_ns),
                    Fabric::serve(f.port_s2m[m.from], lf * f.fp, lf),
                    Hop::Delay(c.port_link.flight_ns + c.switch.traversal_ns),
                    Hop::Serve {
                        id: f.crossbar,
                        ns: 64.0 / c.switch.crossbar_gbps,
                        bytes: 64,
                    },
                    Fabric::serve(f.port_m2s[m.to], lf * f.fp, lf),
                    Hop::Delay(c.port_link.flight_ns),
                    Hop::Serve {
                        id: f.dev[m.to],
                        ns: 64.0 / c.device.gbps,
                        bytes: 64,
                    },
                ];
                f.e.route(h)
            });
            for _ in 0..m.bytes.div_ceil(64) {
                f.e.start(0.0, r, g);
            }
        }
        f.e.run();
        t0 = f.e.groups[g].done;
    }
    // 1. Descriptors to the switch's dispatcher: a bag may start once all of its are there.
    let desc = f.host_down(c, lf);
    let desc = f.e.route(desc);
    let mut bag_desc = Vec::new();
    let mut k = 0usize;
    let gap = 1.0 / c.host.issue_per_ns;
    for devs in per_dev {
        let lines: u32 = devs.iter().map(|r| desc_lines(c, r.len())).sum();
        let g = f.e.group(Group::terminal(lines));
        for _ in 0..lines {
            f.e.start(t0 + k as f64 * gap, desc, g);
            k += 1;
        }
        bag_desc.push(g);
    }
    f.e.run();
    let release: Vec<u64> = bag_desc
        .iter()
        .map(|&g| {
            let t = f.e.groups[g].done;
            if t.is_finite() {
                (t * c.clock.ghz).ceil() as u64
            } else {
                0
            }
        })
        .collect();

    // 2. The ports, cycle by cycle: dispatcher, devices, port links, accumulators.
    let cfg = RunConfig {
        bag_release: Some(release),
        ..cfg
    };
    let out = if c.pifs.level == "switch" {
        pifs_sim::switch_run::run_switch(trace, w, &cfg)?
    } else {
        system::run(trace, w, &cfg)?
    };
    if c.pifs.level == "switch" {
        // Each port's host command lane: a BagOpen per piece and a RowRead per row and column
        // group, one word per cycle.
        let mut rows_at = vec![0u64; out.stats.ports.len()];
        match &cfg.layout {
            None => {
                let groups = out_lines.div_ceil(pifs_sim::params::MAX_ROW_LINES) as u64;
                for (p, ps) in out.stats.ports.iter().enumerate() {
                    rows_at[p] = ps.lookups * groups;
                }
            }
            Some(l) => {
                let (shares, _) = l.split(trace, row_lines, c.switch.ports);
                for s in shares.iter().flatten() {
                    let groups = s.lines.div_ceil(pifs_sim::params::MAX_ROW_LINES) as u64;
                    rows_at[s.device] += s.rows.len() as u64 * groups;
                }
            }
        }
        for (p, ps) in out.stats.ports.iter().enumerate() {
            let words = ps.bags + rows_at[p];
            let id = f.e.server(format!("port{p}.cmd_lane"));
            let s = &mut f.e.servers[id];
            s.items = words;
            s.bytes = words * 8;
            s.busy_ns = words as f64 / c.clock.ghz;
        }
    }
    for (p, ps) in out.stats.ports.iter().enumerate() {
        let (m, s) = (&mut f.e.servers[f.port_m2s[p]], ps.m2s_flits);
        m.bytes += s * FLIT_BYTES as u64;
        m.items += s;
        m.busy_ns += s as f64 * f.fp;
        let s2m = &mut f.e.servers[f.port_s2m[p]];
        s2m.bytes += ps.s2m_flits * FLIT_BYTES as u64;
        s2m.items += ps.s2m_flits;
        s2m.busy_ns += ps.s2m_flits as f64 * f.fp;
    }

    // 3. Partial sums from the ports to the host, or to the USP's combiner and then the host.
    let mut per_bag = vec![0u32; per_dev.len()];
    for lines in &out.result_lines {
        for &(_, bag) in lines {
            per_bag[bag] += 1;
        }
    }
    let mut h = vec![Hop::Delay(c.switch.traversal_ns)];
    let groups: Vec<usize> = if c.pifs.combine == "usp" {
        // Crossbar into the combiner; the bag's sum (row_lines lines) goes up when all are in.
        let mut up = f.to_host(c);
        h.push(up.remove(0));
        h.push(Hop::Serve {
            id: f.usp,
            ns: 64.0 / c.pifs.usp_gbps,
            bytes: 64,
        });
        let up = f.e.route(up);
        per_bag
            .iter()
            .map(|&n| {
                let lines = if n > 0 { out_lines as u32 } else { 0 };
                let fin = f.e.group(Group::terminal(lines));
                f.e.group(Group {
                    remaining: n,
                    emit: lines,
                    route: up,
                    then: fin,
                    done: f64::NAN,
                })
            })
            .collect()
    } else {
        h.extend(f.to_host(c));
        per_bag
            .iter()
            .map(|&n| f.e.group(Group::terminal(n)))
            .collect()
    };
    let up = f.e.route(h);
    let mut all: Vec<(u64, usize)> = out.result_lines.iter().flatten().copied().collect();
    all.sort();
    for (cycle, bag) in all {
        // The line leaves the port at the end of its cycle.
        f.e.start((cycle + 1) as f64 / c.clock.ghz, up, groups[bag]);
    }
    f.e.run();
    // Completion of every bag: the last group each one reaches.
    let latency = f.e.completions.iter().map(|&(_, t)| t).fold(0.0, f64::max);
    let dc = out.stats.ports.iter().map(|p| p.device);
    let reads = dc.clone().map(|d| d.reads).sum();
    let tier = cfg.tier.map(|_| TierCounters {
        hits: dc.clone().map(|d| d.tier_hits).sum(),
        misses: dc.clone().map(|d| d.tier_misses).sum(),
        backing_bytes: dc.map(|d| d.backing_bytes).sum(),
    });
    let lines = out.stats.ports.iter().map(|p| p.device.reads).collect();
    let mut r = f.result(
        c,
        latency,
        out.pooled,
        Some((out.stats.cycles, reads, tier)),
        lines,
    );
    r.poisoned_bags = out.poisoned_bags;
    r.migration_bytes = migration_bytes;
    r.migration_ns = t0;
    r.buffer = out
        .stats
        .ports
        .iter()
        .map(|p| p.buffer)
        .collect::<Option<Vec<_>>>();
    Ok(r)
}
