//! Reusable testbench pieces: stimulus sequences, drivers with stalls, monitors and the bit-exact
//! scoreboard that runs the RTL and the reference model side by side.
//!
//! A [`Scenario`] is a list of bags (rows of 64-byte lines of binary32 values). [`drive`] plays it
//! into any [`PortAccumulator`] in waves that fit the port's bag slots and tags: the commands of a
//! wave first, then its MemData responses, packed into S2M flits by the seeded packer, in a
//! seeded order (out of order when asked) and offered back to back (or with random gaps). The
//! scoreboard ([`compare`]) checks the RTL against the reference model line by line and bit by
//! bit, the accumulation order (monitor) event by event, and, without back-pressure, the cycles.

pub mod coverage;
pub mod regress;
pub mod soak;
pub mod switch_tb;

use pifs_cxl::{Flit, Message, S2mDrs, S2mNdr, S2mPacker};
use pifs_rng::Rng;
use pifs_sim::params::{MAX_ROW_LINES, NUM_BAGS, NUM_TAGS};
use pifs_sim::{Arrival, Command, PortAccumulator, PortResult, SimError};
use std::collections::VecDeque;

/// One bag at one port: `rows[i]` holds `lines * 16` binary32 values (as bits).
#[derive(Clone, Debug, PartialEq)]
pub struct BagSpec {
    pub lines: usize,
    pub rows: Vec<Vec<u32>>,
    /// Rows whose MemData carries the poison bit.
    pub poisoned: Vec<bool>,
}

/// How values are drawn.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Values {
    /// Uniform in [-1, 1).
    Plain,
    /// Mostly plain, with signed zeros, subnormals, huge values, infinities and NaNs mixed in.
    Special,
    /// Any 32-bit pattern.
    RawBits,
}

/// A sequence of bags plus how to play it.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub bags: Vec<BagSpec>,
    /// Seed of the packing, the response order and the gaps.
    pub seed: u64,
    /// Shuffle each wave's responses across rows and bags (otherwise bag by bag, row by row).
    pub out_of_order: bool,
    /// Probability that the device leaves an idle cycle before a flit (0 = back to back).
    pub gap_chance: f64,
    /// Percentage of cycles the result stream is ready.
    pub res_ready_percent: u32,
}

/// Random value of the given kind.
pub fn value(rng: &mut Rng, kind: Values) -> u32 {
    let plain = |rng: &mut Rng| ((rng.unit_f64() * 2.0 - 1.0) as f32).to_bits();
    match kind {
        Values::Plain => plain(rng),
        Values::RawBits => rng.next_u32(),
        Values::Special => {
            if !rng.chance(0.3) {
                return plain(rng);
            }
            const SPECIAL: [u32; 14] = [
                0x0000_0000,
                0x8000_0000,
                0x0000_0001,
                0x8000_0001,
                0x007F_FFFF,
                0x807F_FFFF,
                0x0080_0000,
                0x7F7F_FFFF,
                0xFF7F_FFFF,
                0x7F80_0000,
                0xFF80_0000,
                0x7FC0_0000,
                0x7F80_0001,
                0xFFC1_2345,
            ];
            SPECIAL[rng.below(SPECIAL.len() as u64) as usize]
        }
    }
}

/// A bag of any row size (1-8 lines) and a mix of lengths: empty, 1-3 rows, up to the 256 tags,
/// or exactly the 256 tags; values of `kind`, each row a repeat of an earlier one with chance 0.1.
pub fn random_mixed_bag(rng: &mut Rng, kind: Values, poison_chance: f64) -> BagSpec {
    let lines = rng.range(1, 8) as usize;
    let max_rows = 256 / lines;
    let rows = match rng.below(4) {
        0 => 0,
        1 => rng.range(1, 3) as usize,
        2 => rng.range(1, max_rows as u64) as usize,
        _ => max_rows,
    };
    let mut b = random_bag(rng, rows, lines, kind, poison_chance);
    repeat_some_rows(rng, &mut b);
    b
}

/// Make each row after the first a copy of an earlier one with chance 0.1 (duplicate rows).
pub fn repeat_some_rows(rng: &mut Rng, b: &mut BagSpec) {
    for i in 1..b.rows.len() {
        if rng.chance(0.1) {
            let j = rng.below(i as u64) as usize;
            b.rows[i] = b.rows[j].clone();
        }
    }
}

/// A bag of `rows` rows of `lines` lines with values of `kind`.
pub fn random_bag(
    rng: &mut Rng,
    rows: usize,
    lines: usize,
    kind: Values,
    poison_chance: f64,
) -> BagSpec {
    BagSpec {
        lines,
        rows: (0..rows)
            .map(|_| (0..lines * 16).map(|_| value(rng, kind)).collect())
            .collect(),
        poisoned: (0..rows).map(|_| rng.chance(poison_chance)).collect(),
    }
}

/// Random bags: a mix of empty, short and long bags (0 to 256 rows), any row size, some duplicate
/// rows, out of order or not, with or without flit gaps; no back-pressure.
pub fn random_scenario(seed: u64, kind: Values) -> Scenario {
    let mut rng = Rng::new(seed);
    let nbags = rng.range(1, 40) as usize;
    let bags = (0..nbags)
        .map(|_| random_mixed_bag(&mut rng, kind, 0.02))
        .collect();
    Scenario {
        bags,
        seed,
        out_of_order: rng.chance(0.7),
        gap_chance: if rng.chance(0.5) { 0.0 } else { 0.2 },
        res_ready_percent: 100,
    }
}

/// A random S2M stream with its commands: `rows` one-line rows with tags 0..rows, in bags of up
/// to 16 one-line rows, responses shuffled, NDRs mixed in, offered with random one-cycle gaps.
pub fn random_stream(rng: &mut Rng, rows: usize) -> (Cmds, Flits) {
    let mut cmds = Vec::new();
    for b in 0..rows.div_ceil(16) {
        let n = (rows - 16 * b).min(16);
        cmds.push((
            0,
            Command::BagOpen {
                bag: b as u8,
                rows: n as u16,
                lines: 1,
            },
        ));
        for r in 0..n {
            cmds.push((
                0,
                Command::RowMap {
                    bag: b as u8,
                    tag: (16 * b + r) as u16,
                },
            ));
        }
    }
    let mut tags: Vec<u16> = (0..rows as u16).collect();
    rng.shuffle(&mut tags);
    let mut avail = VecDeque::new();
    for t in tags {
        if rng.chance(0.3) {
            avail.push_back(Message::S2mNdr(S2mNdr::cmp(rng.below(1 << 16) as u16)));
        }
        let mut data = [0u8; 64];
        for d in data.iter_mut() {
            *d = rng.below(256) as u8;
        }
        avail.push_back(Message::S2mDrs(
            S2mDrs::mem_data(t, rng.chance(0.05)),
            Box::new(data),
        ));
    }
    let mut packer = S2mPacker::new(rng.next_u64());
    let start = cmds.len() as u64;
    let mut flits: Flits = Vec::new();
    while let Some(f) = packer.next_flit(&mut avail) {
        flits.push((start + flits.len() as u64 + rng.below(2), f));
    }
    for i in 1..flits.len() {
        flits[i].0 = flits[i].0.max(flits[i - 1].0);
    }
    (cmds, flits)
}

/// Host commands, each with the first cycle it may be offered.
pub type Cmds = Vec<(u64, Command)>;
/// S2M flits, each with the first cycle it may be offered.
pub type Flits = Vec<(u64, Flit)>;

/// What a port made of a stream: arrivals (cycle, bag, line, part), counters (cycles zeroed),
/// results (bag, line, data).
pub type Played = (
    Vec<(u64, u8, u8, u8)>,
    pifs_sim::PortCounters,
    Vec<(u8, u8, [u32; 16])>,
);

/// Play commands and flits into `port` for 64 cycles past the last flit, without waiting for
/// bags to complete (a corrupted stream may leave some open), and collect what it made.
pub fn play_stream(
    cmds: &[(u64, Command)],
    flits: &[(u64, Flit)],
    port: &mut dyn PortAccumulator,
) -> Result<Played, SimError> {
    port.push_cmds(cmds);
    port.push_flits(flits);
    port.run_to(flits.last().map_or(0, |f| f.0) + 64)?;
    let arr = port
        .take_arrivals()
        .into_iter()
        .map(|a| (a.cycle, a.bag, a.line, a.part))
        .collect();
    let res = port
        .take_results()
        .into_iter()
        .map(|r| (r.bag, r.line, r.data))
        .collect();
    let mut c = port.counters();
    c.cycles = 0;
    Ok((arr, c, res))
}

/// Flip one random bit in each flit with probability `p`; returns how many flits were hit.
pub fn flip_random_bits(rng: &mut Rng, flits: &mut [(u64, Flit)], p: f64) -> u64 {
    let mut flipped = 0;
    for f in flits.iter_mut() {
        if rng.chance(p) {
            let bit = rng.below(528) as usize;
            f.1 .0[bit / 8] ^= 1 << (bit % 8);
            flipped += 1;
        }
    }
    flipped
}

/// What one run of a scenario produced.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// Per scenario bag: the summed lines (lines * 16 lanes) and the poison flag.
    pub sums: Vec<(Vec<u32>, bool)>,
    pub results: Vec<PortResult>,
    /// Per entry of `results`: the scenario bag it belongs to.
    pub result_bags: Vec<usize>,
    pub arrivals: Vec<Arrival>,
    /// The order the MemData lines were sent in: (scenario bag, row, line). The packer keeps
    /// header order, so this is the order the port must add them in.
    pub order: Vec<(usize, usize, usize)>,
    pub flits: u64,
    pub lines: u64,
    /// Cycles from the first flit offered to the last result.
    pub cycles: u64,
    /// Cycles in which a flit was offered but not taken.
    pub flit_stall_cycles: u64,
    /// Cycles in which a result line was offered but not taken (result back-pressure).
    pub res_stall_cycles: u64,
    pub crc_errors: u64,
    pub proto_errors: u64,
    pub cmd_errors: u64,
    pub tag_errors: u64,
}

/// One MemData response to send: tag, poison, data, and (scenario bag, row, line).
type Response = (u16, bool, [u8; 64], (usize, usize, usize));

/// Play `sc` into `port`.
pub fn drive(port: &mut dyn PortAccumulator, sc: &Scenario) -> Result<Outcome, SimError> {
    drive_with(port, sc, &mut |_, _| {})
}

/// A monitor of [`drive_with`]: sees each wave's commands and flits.
pub type WaveMonitor<'a> = dyn FnMut(&[(u64, Command)], &[(u64, Flit)]) + 'a;

/// [`drive`], showing each wave's commands and flits (each with the cycle it is offered from)
/// to `on_wave` before they go into the port: a monitor for coverage.
pub fn drive_with(
    port: &mut dyn PortAccumulator,
    sc: &Scenario,
    on_wave: &mut WaveMonitor<'_>,
) -> Result<Outcome, SimError> {
    let out = drive_on(port, sc, on_wave)?;
    port.finish()?;
    Ok(out)
}

/// [`drive_with`] without finishing the port, which keeps its state for the next scenario (the
/// soak plays many scenarios into one model). The counters in the outcome are cumulative since
/// the port was built.
pub fn drive_on(
    port: &mut dyn PortAccumulator,
    sc: &Scenario,
    on_wave: &mut WaveMonitor<'_>,
) -> Result<Outcome, SimError> {
    let mut rng = Rng::new(sc.seed);
    let mut packer = S2mPacker::new(rng.next_u64());
    port.set_res_ready_percent(sc.res_ready_percent);
    let mut out = Outcome {
        sums: vec![(Vec::new(), false); sc.bags.len()],
        ..Default::default()
    };
    let mut first_flit: Option<u64> = None;
    let mut last_result = 0u64;
    let mut next = 0;
    while next < sc.bags.len() {
        // A wave: as many bags as slots and tags allow (at least one).
        let start = next;
        let mut tags_used = 0;
        while next < sc.bags.len() && next - start < NUM_BAGS {
            let b = &sc.bags[next];
            assert!(
                b.lines >= 1 && b.lines <= MAX_ROW_LINES,
                "bag lines out of range"
            );
            let need = b.rows.len() * b.lines;
            if need > NUM_TAGS {
                return Err(SimError::Check(format!(
                    "bag {next}: {need} tags exceed the port's {NUM_TAGS}"
                )));
            }
            if tags_used + need > NUM_TAGS {
                break;
            }
            tags_used += need;
            next += 1;
        }
        let t0 = port.now();
        let mut cmds = Vec::new();
        let mut resp: Vec<Response> = Vec::new();
        let mut order: Vec<Vec<Response>> = Vec::new();
        let mut tag = 0u16;
        for (slot, bi) in (start..next).enumerate() {
            let b = &sc.bags[bi];
            cmds.push((
                t0,
                Command::BagOpen {
                    bag: slot as u8,
                    rows: b.rows.len() as u16,
                    lines: b.lines as u8,
                },
            ));
            let mut bag_resp = Vec::new();
            for (r, row) in b.rows.iter().enumerate() {
                cmds.push((
                    t0,
                    Command::RowMap {
                        bag: slot as u8,
                        tag,
                    },
                ));
                for l in 0..b.lines {
                    let mut data = [0u8; 64];
                    for i in 0..16 {
                        data[4 * i..4 * i + 4].copy_from_slice(&row[l * 16 + i].to_le_bytes());
                    }
                    bag_resp.push((tag + l as u16, b.poisoned[r], data, (bi, r, l)));
                }
                tag += b.lines as u16;
            }
            order.push(bag_resp);
        }
        for o in order {
            resp.extend(o);
        }
        if sc.out_of_order {
            rng.shuffle(&mut resp);
        }
        // Responses are offered once every command of the wave has been taken.
        let mut when = t0 + cmds.len() as u64;
        first_flit.get_or_insert(when);
        out.order.extend(resp.iter().map(|r| r.3));
        let mut avail: VecDeque<Message> = resp
            .into_iter()
            .map(|(tag, poison, data, _)| {
                Message::S2mDrs(S2mDrs::mem_data(tag, poison), Box::new(data))
            })
            .collect();
        let mut flits: Vec<(u64, Flit)> = Vec::new();
        while let Some(f) = packer.next_flit(&mut avail) {
            if sc.gap_chance > 0.0 && rng.chance(sc.gap_chance) {
                when += 1;
            }
            flits.push((when, f));
            when += 1;
        }
        if !avail.is_empty() {
            return Err(SimError::Check("packer refused a message".into()));
        }
        on_wave(&cmds, &flits);
        port.push_cmds(&cmds);
        port.push_flits(&flits);
        port.drain(10_000_000)?;
        let slots: Vec<usize> = (start..next).collect();
        for r in port.take_results() {
            let bi = *slots
                .get(r.bag as usize)
                .ok_or_else(|| SimError::Check(format!("result for unused slot {}", r.bag)))?;
            let lines = sc.bags[bi].lines;
            let s = &mut out.sums[bi];
            if s.0.is_empty() {
                s.0 = vec![0; lines * 16];
            }
            s.0[r.line as usize * 16..r.line as usize * 16 + 16].copy_from_slice(&r.data);
            s.1 = r.poison;
            last_result = last_result.max(r.cycle);
            out.results.push(r);
            out.result_bags.push(bi);
        }
        out.arrivals.extend(port.take_arrivals());
    }
    let c = port.counters();
    out.flits = c.flits;
    out.lines = c.lines;
    out.cycles = last_result + 1 - first_flit.unwrap_or(0);
    out.flit_stall_cycles = c.flit_stall_cycles;
    out.res_stall_cycles = c.res_stall_cycles;
    out.crc_errors = c.crc_errors;
    out.proto_errors = c.proto_errors;
    out.cmd_errors = c.cmd_errors;
    out.tag_errors = c.tag_errors;
    Ok(out)
}

/// Compare an RTL outcome with the reference model's. `timing` also compares cycles (valid
/// only without result back-pressure). Returns every difference found, empty when they agree.
pub fn compare(rtl: &Outcome, model: &Outcome, timing: bool) -> Vec<String> {
    let mut diffs = Vec::new();
    for (i, (a, b)) in rtl.sums.iter().zip(&model.sums).enumerate() {
        if a.1 != b.1 {
            diffs.push(format!("bag {i}: poison rtl {} model {}", a.1, b.1));
        }
        for (k, (x, y)) in a.0.iter().zip(&b.0).enumerate() {
            if x != y {
                diffs.push(format!("bag {i} lane {k}: rtl {x:#010x} model {y:#010x}"));
                break;
            }
        }
        if a.0.len() != b.0.len() {
            diffs.push(format!(
                "bag {i}: rtl {} lanes, model {}",
                a.0.len(),
                b.0.len()
            ));
        }
    }
    let strip = |v: &[Arrival], t: bool| -> Vec<(u64, u8, u8, u8)> {
        v.iter()
            .map(|a| (if t { a.cycle } else { 0 }, a.bag, a.line, a.part))
            .collect()
    };
    if strip(&rtl.arrivals, timing) != strip(&model.arrivals, timing) {
        diffs.push(format!(
            "accumulation order differs ({} rtl arrivals, {} model arrivals)",
            rtl.arrivals.len(),
            model.arrivals.len()
        ));
    }
    if timing {
        let rc: Vec<_> = rtl
            .results
            .iter()
            .map(|r| (r.cycle, r.bag, r.line))
            .collect();
        let mc: Vec<_> = model
            .results
            .iter()
            .map(|r| (r.cycle, r.bag, r.line))
            .collect();
        if rc != mc {
            diffs.push("result cycles differ".into());
        }
        if rtl.cycles != model.cycles {
            diffs.push(format!("cycles: rtl {} model {}", rtl.cycles, model.cycles));
        }
    }
    for (name, a, b) in [
        ("flits", rtl.flits, model.flits),
        ("lines", rtl.lines, model.lines),
        ("crc_errors", rtl.crc_errors, model.crc_errors),
        ("proto_errors", rtl.proto_errors, model.proto_errors),
        ("cmd_errors", rtl.cmd_errors, model.cmd_errors),
        ("tag_errors", rtl.tag_errors, model.tag_errors),
    ] {
        if a != b {
            diffs.push(format!("{name}: rtl {a} model {b}"));
        }
    }
    diffs
}

/// Expected sums of every bag from the send order alone (see [`sum_in_order`]).
pub fn expected_sums(sc: &Scenario, order: &[(usize, usize, usize)]) -> Vec<Vec<u32>> {
    let mut per: Vec<Vec<Vec<usize>>> = sc.bags.iter().map(|b| vec![Vec::new(); b.lines]).collect();
    for &(b, r, l) in order {
        per[b][l].push(r);
    }
    sc.bags
        .iter()
        .zip(&per)
        .map(|(b, o)| sum_in_order(b, o))
        .collect()
}

/// The sum of one bag in the documented order, from the order its rows were sent in per line:
/// line l's k-th row goes to partial k mod 2, both starting at +0.0; result P0 + P1. Shares no
/// code with either backend except the binary32 add.
pub fn sum_in_order(bag: &BagSpec, order_per_line: &[Vec<usize>]) -> Vec<u32> {
    let mut out = vec![0u32; bag.lines * 16];
    for l in 0..bag.lines {
        let mut p = [[0u32; 16]; 2];
        for (k, &r) in order_per_line[l].iter().enumerate() {
            for (i, acc) in p[k % 2].iter_mut().enumerate() {
                *acc = pifs_sim::fp::add(*acc, bag.rows[r][l * 16 + i]);
            }
        }
        for i in 0..16 {
            out[l * 16 + i] = pifs_sim::fp::add(p[0][i], p[1][i]);
        }
    }
    out
}

/// FNV-1a over 32-bit words: a stable digest of sums for snapshots.
pub fn digest(words: impl IntoIterator<Item = u32>) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for w in words {
        for b in w.to_le_bytes() {
            h ^= b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}
