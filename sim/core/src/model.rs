//! The pure-Rust reference model of one switch port, behind the same [`PortAccumulator`] trait
//! as the RTL: the scoreboard's reference and the fast backend.
//!
//! It decodes the same S2M flits with `pifs_cxl::Decoder`, keeps the same tag table and bag
//! slots, and adds in the RTL's order: line k of a (bag, line) goes to partial sum k mod 2, both
//! partials start at +0.0, and the result is P0 + P1 (see `rtl/pifs_port_acc.sv`). Sums are
//! therefore bit-exact. Timing is cycle-exact while the result stream never stalls (flit and
//! command acceptance, the 3-cycle accumulate pipeline, the reduce engine's lowest-slot-first
//! pick and its 3-cycle path to the result stream); under result back-pressure
//! (`set_res_ready_percent` < 100) it does not model the stalls, and only sums are comparable.
//! A flit with a bad CRC or a broken packing rule is dropped whole, as the RTL drops it. With
//! link-layer retry on ([`PortAccumulator::set_llr`]) the S2M receiver is `pifs_cxl::llr`'s
//! `LlrReceiver`, checking each flit in the cycle after it is taken, as the RTL ingress does.
//! With fp16 or int8 rows ([`PortAccumulator::set_row_format`]) every line passes the widening
//! stage of `rtl/pifs_dequant.sv`: the same binary32 lanes (`fp::dequant_lanes`) and the same
//! timing, including the stage holding the ingress back (flit acceptance, LLR checks) and
//! buffer lines waiting for it.
//! One corner is not modelled: a RowMap and a response for the same tag in the same cycle.

use crate::cmd::Command;
use crate::fp;
use crate::params::{MAX_ROW_LINES, NUM_BAGS, NUM_TAGS};
use crate::params::{RTL_ACK_EVERY, RTL_RETRY_TIMEOUT};
use crate::port::{Arrival, PortAccumulator, PortCounters, PortResult, SimError};
use pifs_cxl::llr::{is_control, LinkEvent, LlrReceiver, RxVerdict};
use pifs_cxl::{DecodeError, Decoder, Dir, Flit, Message};
use pifs_dlrm::RowFormat;
use std::collections::VecDeque;

/// Cycles from a flit's acceptance to its line's arrival at the accumulator (input register,
/// then decode into the output register).
const INGRESS_LATENCY: u64 = 2;
/// Cycles from an arrival to the cycle its bag can be seen complete by the reduce engine.
const ACC_TO_COMPLETE: u64 = 3;
/// Cycles from a reduce issue to the result leaving the port.
const REDUCE_TO_RESULT: u64 = 3;
/// Cycles from the widening stage taking a device line to its first binary32 line reaching the
/// accumulator (hold register, then the two adder stages; `rtl/pifs_dequant.sv`).
const WIDEN_LATENCY: u64 = 3;

#[derive(Clone, Default)]
struct Bag {
    open: bool,
    /// First cycle a BagOpen of this slot is accepted again (after its last reduce issue).
    free_from: u64,
    lines: u8,
    rows: u16,
    mapped: u16,
    total: u32,
    arrived: u32,
    rot: [u8; MAX_ROW_LINES],
    part: Vec<[[u32; 16]; 2]>,
    poison: bool,
}

/// The reference model backend.
pub struct ModelPort {
    now: u64,
    cmds: VecDeque<(u64, Command)>,
    cmd_free: u64,
    flits: VecDeque<(u64, Flit)>,
    flit_free: u64,
    decoder: Decoder,
    /// Scratch: the decoder before the flit being decoded (a flit that breaks a packing rule
    /// restores it) and the messages a flit completed; kept to reuse their memory.
    saved: Decoder,
    msgs: Vec<Message>,
    tags: Vec<Option<(u8, u8)>>,
    bags: Vec<Bag>,
    /// Bags complete, with the first cycle the reduce engine sees them.
    complete: Vec<(u64, u8)>,
    red_free: u64,
    results: VecDeque<PortResult>,
    arrivals: VecDeque<Arrival>,
    counters: PortCounters,
    last_result: u64,
    last_arrival: Option<u64>,
    last_cmd: Option<u64>,
    /// The S2M link-layer retry receiver, when on, and its events not yet taken.
    llr: Option<LlrReceiver>,
    llr_events: VecDeque<LinkEvent>,
    /// Lines from the switch's row buffer (hits): (cycle ready, tag, data), in order. Each
    /// enters the accumulator in the first cycle from then on in which the ingress delivers no
    /// line (the ingress has priority, as in `pifs_port_top`).
    direct: VecDeque<(u64, u16, [u8; 64])>,
    /// First cycle the next buffer line can enter (one per cycle).
    direct_free: u64,
    /// Cycles in which the ingress delivers a line, from `direct_free` on.
    ingress_cycles: std::collections::BTreeSet<u64>,
    /// Record every line the ingress delivers (for the row buffer's fills).
    record_ingress: bool,
    ingress: VecDeque<IngressLine>,
    /// Record the (cycle, tag) of every line the accumulator takes.
    record_tags: bool,
    tags_taken: VecDeque<(u64, u16)>,
    /// Row format and binary32 lines per device line. fp32 lines go straight to the
    /// accumulator; fp16 and int8 lines pass the widening stage (`rtl/pifs_dequant.sv`), which
    /// takes one device line per `expand` cycles and so may hold the ingress back.
    fmt: RowFormat,
    expand: u64,
    /// Widening stage: first cycle it takes a line; first cycle the ingress can decode its
    /// next flit (the cycle the line in its output register was taken).
    widen_free: u64,
    out_free: u64,
    /// Lines on their way from the widening stage to the accumulator (cycle, tag, poison,
    /// lanes), in cycle order, and the cycle of the last one.
    widened: VecDeque<(u64, u16, bool, [u32; 16])>,
    last_widened: Option<u64>,
    /// Cycle the ingress decoded its last flit.
    last_decode: Option<u64>,
}

/// A line the ingress delivered to the accumulator (whether or not its tag was mapped).
#[derive(Clone, Copy, Debug)]
pub struct IngressLine {
    pub cycle: u64,
    pub tag: u16,
    pub poison: bool,
    pub data: [u8; 64],
}

impl Default for ModelPort {
    fn default() -> Self {
        Self::new()
    }
}

impl ModelPort {
    pub fn new() -> Self {
        ModelPort {
            now: 0,
            cmds: VecDeque::new(),
            cmd_free: 0,
            flits: VecDeque::new(),
            flit_free: 0,
            decoder: Decoder::new(Dir::S2M),
            saved: Decoder::new(Dir::S2M),
            msgs: Vec::new(),
            tags: vec![None; NUM_TAGS],
            bags: vec![Bag::default(); NUM_BAGS],
            complete: Vec::new(),
            red_free: 0,
            results: VecDeque::new(),
            arrivals: VecDeque::new(),
            counters: PortCounters::default(),
            last_result: 0,
            last_arrival: None,
            last_cmd: None,
            llr: None,
            llr_events: VecDeque::new(),
            direct: VecDeque::new(),
            direct_free: 0,
            ingress_cycles: Default::default(),
            record_ingress: false,
            ingress: VecDeque::new(),
            record_tags: false,
            tags_taken: VecDeque::new(),
            fmt: RowFormat::Fp32,
            expand: 1,
            widen_free: 0,
            out_free: 0,
            widened: VecDeque::new(),
            last_widened: None,
            last_decode: None,
        }
    }

    fn widening(&self) -> bool {
        self.fmt != RowFormat::Fp32
    }

    /// Record the tag of every line the accumulator takes (see [`ModelPort::take_tags`]).
    pub fn record_tags(&mut self, on: bool) {
        self.record_tags = on;
    }

    /// (cycle, tag) of the lines the accumulator took before [`PortAccumulator::now`].
    pub fn take_tags(&mut self) -> Vec<(u64, u16)> {
        let mut out = Vec::new();
        while self.tags_taken.front().is_some_and(|t| t.0 < self.now) {
            out.push(self.tags_taken.pop_front().unwrap());
        }
        out
    }

    /// Queue lines from the row buffer: (cycle ready, tag, data), in ready order.
    pub fn push_lines(&mut self, lines: &[(u64, u16, [u8; 64])]) {
        self.direct.extend(lines.iter().copied());
    }

    /// The caller queues no buffer line ready before cycle `c` any more: forget the ingress
    /// lines before `c` (they cannot delay a buffer line) while none is waiting.
    pub fn lines_ready_from(&mut self, c: u64) {
        if self.direct.is_empty() {
            self.ingress_cycles = self.ingress_cycles.split_off(&c);
        }
    }

    /// Buffer lines queued and not yet delivered to the accumulator.
    pub fn lines_waiting(&self) -> usize {
        self.direct.len()
    }

    /// Record the lines the ingress delivers (see [`ModelPort::take_ingress`]).
    pub fn record_ingress(&mut self, on: bool) {
        self.record_ingress = on;
    }

    /// Lines the ingress delivered so far (cycle order), since the last call.
    pub fn take_ingress(&mut self) -> Vec<IngressLine> {
        self.ingress.drain(..).collect()
    }

    /// The cycle the next buffer line enters, given the ingress lines known so far.
    fn direct_at(&self) -> Option<u64> {
        let mut d = self.direct.front()?.0.max(self.direct_free);
        if self.widening() {
            // The ingress lines known so far were taken before the stage's next free cycle.
            return Some(d.max(self.widen_free));
        }
        while self.ingress_cycles.contains(&d) {
            d += 1;
        }
        Some(d)
    }

    fn command(&mut self, k: u64, c: Command) {
        let ok = match c {
            Command::BagOpen { bag, rows, lines } => {
                let b = bag as usize;
                let lines = lines & 0xF; // the 4-bit field the RTL reads
                let ok = b < NUM_BAGS
                    && (!self.bags[b].open || self.bags[b].free_from <= k)
                    && lines >= 1
                    && lines as usize <= MAX_ROW_LINES;
                if ok {
                    self.bags[b] = Bag {
                        open: true,
                        free_from: u64::MAX,
                        lines,
                        rows,
                        mapped: 0,
                        total: rows as u32 * lines as u32,
                        arrived: 0,
                        rot: [0; MAX_ROW_LINES],
                        part: vec![[[0; 16]; 2]; lines as usize],
                        poison: false,
                    };
                    if rows == 0 {
                        self.complete.push((k + 1, bag));
                    }
                }
                ok
            }
            Command::RowMap { bag, tag } => {
                let b = bag as usize;
                let live = b < NUM_BAGS
                    && self.bags[b].open
                    && self.bags[b].free_from > k
                    && self.bags[b].mapped < self.bags[b].rows;
                let lines = if live { self.bags[b].lines as usize } else { 0 };
                let t0 = tag as usize;
                let ok = live
                    && t0 + lines <= NUM_TAGS
                    && (t0..t0 + lines).all(|t| self.tags[t].is_none());
                if ok {
                    self.bags[b].mapped += 1;
                    for l in 0..lines {
                        self.tags[t0 + l] = Some((bag, l as u8));
                    }
                }
                ok
            }
            // RowRead is the switch's op; the port's accumulator rejects it, as the RTL does.
            Command::RowRead { .. } => false,
        };
        if !ok {
            self.counters.cmd_errors += 1;
        }
    }

    /// The cycle the ingress decodes a flit taken in cycle `f`: the next one, unless the line
    /// in its output register waits for the widening stage.
    fn decode_cycle(&self, f: u64) -> u64 {
        if self.widening() {
            (f + 1).max(self.out_free)
        } else {
            f + 1
        }
    }

    fn flit(&mut self, f_cycle: u64, flit: &Flit) {
        self.counters.flits += 1;
        let d = self.decode_cycle(f_cycle);
        self.flit_free = self.flit_free.max(d);
        self.last_decode = Some(d);
        if let Some(rx) = &mut self.llr {
            let control = is_control(flit, self.decoder.all_data_due());
            let mut ev = Vec::new();
            let verdict = rx.receive(d, flit, control, &mut ev);
            self.llr_events.extend(ev);
            match verdict {
                RxVerdict::CrcError => {
                    self.counters.crc_errors += 1;
                    return;
                }
                RxVerdict::Discard => return,
                RxVerdict::Deliver | RxVerdict::Control => {}
            }
        }
        // Like the RTL, a flit that breaks a packing rule is dropped whole: restore the decoder.
        self.saved.clone_from(&self.decoder);
        let mut msgs = std::mem::take(&mut self.msgs);
        match self.decoder.push_into(flit, &mut msgs) {
            Err(DecodeError::Crc { .. }) => self.counters.crc_errors += 1,
            Err(DecodeError::Packing(_)) => {
                std::mem::swap(&mut self.decoder, &mut self.saved);
                self.counters.proto_errors += 1;
            }
            Ok(()) => {
                for m in msgs.drain(..) {
                    match m {
                        Message::S2mNdr(_) => self.counters.ndr += 1,
                        Message::S2mDrs(h, data) if self.widening() => {
                            self.widen(d + 1, h.tag, h.poison, &data, true)
                        }
                        Message::S2mDrs(h, data) => {
                            let a = f_cycle + INGRESS_LATENCY;
                            if self.record_ingress {
                                self.ingress_cycles.insert(a);
                                self.ingress.push_back(IngressLine {
                                    cycle: a,
                                    tag: h.tag,
                                    poison: h.poison,
                                    data: *data,
                                });
                            }
                            self.arrive(
                                a,
                                h.tag,
                                h.poison,
                                &fp::dequant_lanes(RowFormat::Fp32, &data, 0),
                            )
                        }
                        _ => self.counters.proto_errors += 1,
                    }
                }
            }
        }
        self.msgs = msgs;
    }

    /// A device line offered to the widening stage from cycle `from` (by the ingress, or by
    /// the row buffer): taken when the stage is free, widened into `expand` lines that reach
    /// the accumulator one per cycle from WIDEN_LATENCY cycles later.
    fn widen(&mut self, from: u64, tag: u16, poison: bool, data: &[u8; 64], ingress: bool) {
        let t = from.max(self.widen_free);
        self.widen_free = t + self.expand;
        if ingress {
            self.out_free = t;
            if self.record_ingress {
                self.ingress.push_back(IngressLine {
                    cycle: t,
                    tag,
                    poison,
                    data: *data,
                });
            }
        }
        for k in 0..self.expand {
            let a = t + WIDEN_LATENCY + k;
            let lanes = fp::dequant_lanes(self.fmt, data, k as usize);
            self.widened
                .push_back((a, tag.wrapping_add(k as u16), poison, lanes));
            self.last_widened = Some(a);
        }
    }

    fn arrive(&mut self, a: u64, tag: u16, poison: bool, x: &[u32; 16]) {
        let entry = self.tags.get(tag as usize).copied().flatten();
        let Some((bag, line)) = entry else {
            self.counters.tag_errors += 1;
            return;
        };
        self.tags[tag as usize] = None;
        let b = &self.bags[bag as usize];
        if !(b.open && b.arrived < b.total && line < b.lines) {
            self.counters.tag_errors += 1;
            return;
        }
        self.last_arrival = Some(a);
        if self.record_tags {
            self.tags_taken.push_back((a, tag));
        }
        let b = &mut self.bags[bag as usize];
        let part = b.rot[line as usize];
        b.rot[line as usize] ^= 1;
        fp::add_line(&mut b.part[line as usize][part as usize], x);
        b.poison |= poison;
        b.arrived += 1;
        if b.arrived == b.total {
            self.complete.push((a + ACC_TO_COMPLETE, bag));
        }
        self.counters.lines += 1;
        self.arrivals.push_back(Arrival {
            cycle: a,
            bag,
            line,
            part,
        });
    }

    /// Run the reduce engine for every decision it takes before cycle `until`.
    fn reduce_to(&mut self, until: u64) {
        while let Some(vmin) = self.complete.iter().map(|c| c.0).min() {
            let t = vmin.max(self.red_free);
            if t >= until {
                break;
            }
            let (i, &(_, bag)) = self
                .complete
                .iter()
                .enumerate()
                .filter(|(_, c)| c.0 <= t)
                .min_by_key(|(_, c)| c.1)
                .unwrap();
            self.complete.swap_remove(i);
            let b = &mut self.bags[bag as usize];
            let lines = b.lines as u64;
            for l in 0..b.lines {
                let mut sum = b.part[l as usize][0];
                fp::add_line(&mut sum, &b.part[l as usize][1]);
                let cycle = t + l as u64 + REDUCE_TO_RESULT;
                self.last_result = self.last_result.max(cycle);
                self.results.push_back(PortResult {
                    cycle,
                    bag,
                    line: l,
                    last: l + 1 == b.lines,
                    poison: b.poison,
                    data: sum,
                });
            }
            b.free_from = t + lines;
            self.red_free = t + lines;
        }
    }

    /// [`PortAccumulator::run_to`] with the widening stage (fp16, int8 rows): events in cycle
    /// order. Flits and buffer lines only schedule widened lines (WIDEN_LATENCY cycles or more
    /// ahead); the accumulator sees those and the commands in cycle order, a command first on a
    /// tie. After the loop the base loop finds nothing due and only runs the reduce engine.
    fn run_widening_to(&mut self, until: u64) {
        loop {
            let nf = self.flits.front().map(|(nb, _)| (*nb).max(self.flit_free));
            let nc = self.cmds.front().map(|(nb, _)| (*nb).max(self.cmd_free));
            let nw = self.widened.front().map(|w| w.0);
            let flit_due = nf.filter(|&f| f < until);
            // A buffer line is taken first only while the ingress offers no line: before the
            // line of the next flit (decoded in decode_cycle, offered one cycle later).
            let direct_due = self
                .direct_at()
                .filter(|&c| c < until && flit_due.is_none_or(|f| c <= self.decode_cycle(f)));
            let acc_due = [nc.filter(|&k| k < until), nw.filter(|&a| a < until)]
                .into_iter()
                .flatten()
                .min();
            let feed_due = [flit_due, direct_due].into_iter().flatten().min();
            match (acc_due, feed_due) {
                // Scheduling a widened line never reaches back before its own cycle + 3, so a
                // feed event due no later than the accumulator's next event goes first.
                (_, Some(x)) if acc_due.is_none_or(|a| x <= a) => {
                    if direct_due == Some(x) {
                        let (_, tag, data) = self.direct.pop_front().unwrap();
                        self.direct_free = x + 1;
                        self.widen(x, tag, false, &data, false);
                    } else {
                        let (_, flit) = self.flits.pop_front().unwrap();
                        self.flit_free = x + 1;
                        self.flit(x, &flit);
                    }
                }
                (Some(t), _) => {
                    self.reduce_to(t);
                    if nc == Some(t) {
                        let (_, c) = self.cmds.pop_front().unwrap();
                        self.cmd_free = t + 1;
                        self.last_cmd = Some(t);
                        self.command(t, c);
                    } else {
                        let (a, tag, poison, lanes) = self.widened.pop_front().unwrap();
                        self.arrive(a, tag, poison, &lanes);
                    }
                }
                _ => break,
            }
        }
    }

    /// The next cycle in which something happens (a command or flit accepted, a reduce issue).
    fn next_event(&self) -> Option<u64> {
        let nf = self.flits.front().map(|(nb, _)| (*nb).max(self.flit_free));
        let nc = self.cmds.front().map(|(nb, _)| (*nb).max(self.cmd_free));
        let nr = self
            .complete
            .iter()
            .map(|c| c.0)
            .min()
            .map(|v| v.max(self.red_free));
        let nw = self.widened.front().map(|w| w.0);
        [nf, nc, nr, self.direct_at(), nw]
            .into_iter()
            .flatten()
            .min()
    }
}

impl PortAccumulator for ModelPort {
    fn backend(&self) -> &'static str {
        "model"
    }

    fn push_cmds(&mut self, cmds: &[(u64, Command)]) {
        self.cmds.extend(cmds.iter().copied());
    }

    fn push_flits(&mut self, flits: &[(u64, Flit)]) {
        self.flits.extend(flits.iter().copied());
    }

    fn set_res_ready_percent(&mut self, _percent: u32) {}

    fn now(&self) -> u64 {
        self.now
    }

    fn run_to(&mut self, until: u64) -> Result<(), SimError> {
        if self.widening() {
            self.run_widening_to(until);
        }
        loop {
            let nf = self.flits.front().map(|(nb, _)| (*nb).max(self.flit_free));
            let nc = self.cmds.front().map(|(nb, _)| (*nb).max(self.cmd_free));
            // A command in cycle k is seen by arrivals after k; a flit accepted in cycle f
            // arrives in f + INGRESS_LATENCY. On a tie the command's checks see the state before the arrival,
            // so a command due at the window's end still goes before a flit due inside it.
            let flit_due = nf.filter(|&f| f < until);
            let cmd_due =
                nc.filter(|&k| k < until || flit_due.is_some_and(|f| k <= f + INGRESS_LATENCY));
            // A buffer line goes before a command or an ingress line only if strictly earlier
            // (the ingress has priority; a command in cycle k is seen by lines after k).
            if let Some(d) = self.direct_at().filter(|&d| d < until) {
                if flit_due.is_none_or(|f| d < f + INGRESS_LATENCY) && cmd_due.is_none_or(|k| d < k)
                {
                    self.reduce_to(d);
                    let (_, tag, data) = self.direct.pop_front().unwrap();
                    self.direct_free = d + 1;
                    self.ingress_cycles = self.ingress_cycles.split_off(&self.direct_free);
                    self.arrive(d, tag, false, &fp::dequant_lanes(RowFormat::Fp32, &data, 0));
                    continue;
                }
            }
            let take_cmd = match (cmd_due, flit_due) {
                (Some(k), Some(f)) => k <= f + INGRESS_LATENCY,
                (Some(_), None) => true,
                _ => false,
            };
            if take_cmd {
                let k = cmd_due.unwrap();
                self.reduce_to(k);
                let (_, c) = self.cmds.pop_front().unwrap();
                self.cmd_free = k + 1;
                self.last_cmd = Some(k);
                self.command(k, c);
            } else if let Some(f) = flit_due {
                self.reduce_to(f + INGRESS_LATENCY);
                let (_, flit) = self.flits.pop_front().unwrap();
                self.flit_free = f + 1;
                self.flit(f, &flit);
            } else {
                break;
            }
        }
        self.reduce_to(until);
        if let Some(rx) = &mut self.llr {
            let mut ev = Vec::new();
            rx.advance(until, &mut ev);
            self.llr_events.extend(ev);
        }
        self.now = self.now.max(until);
        self.counters.cycles = self.now;
        Ok(())
    }

    fn drain(&mut self, max_cycles: u64) -> Result<(), SimError> {
        let limit = self.now + max_cycles;
        // Step from event to event, so that `now` ends where the RTL first sees the port idle.
        while let Some(next) = self.next_event() {
            if next >= limit {
                return Err(SimError::Deadlock(max_cycles));
            }
            self.run_to(next + 1)?;
        }
        if self
            .bags
            .iter()
            .any(|b| b.open && b.free_from > self.now.max(self.last_result))
        {
            return Err(SimError::Deadlock(max_cycles));
        }
        // Idle (as the RTL's busy output sees it) once the last result has left, the last line
        // has been written back (arrival + 3) and the last flit and command have been taken.
        let end = (self.last_result + 1)
            .max(self.last_arrival.map_or(0, |a| a + 3))
            .max(self.last_decode.map_or(0, |d| d + 1))
            .max(self.last_widened.map_or(0, |w| w + 1))
            .max(self.last_cmd.map_or(0, |k| k + 1))
            .max(self.now);
        self.run_to(end)
    }

    fn take_results(&mut self) -> Vec<PortResult> {
        let mut out = Vec::new();
        while self.results.front().is_some_and(|r| r.cycle < self.now) {
            out.push(self.results.pop_front().unwrap());
        }
        out
    }

    fn take_arrivals(&mut self) -> Vec<Arrival> {
        let mut out = Vec::new();
        while self.arrivals.front().is_some_and(|a| a.cycle < self.now) {
            out.push(self.arrivals.pop_front().unwrap());
        }
        out
    }

    fn counters(&self) -> PortCounters {
        let mut c = self.counters;
        c.llr_discards = self.llr.as_ref().map_or(0, |rx| rx.stats.discarded);
        c
    }

    fn set_row_format(&mut self, fmt: RowFormat, expand: u8) {
        self.fmt = fmt;
        self.expand = u64::from(expand.max(1));
    }

    fn set_llr(&mut self, on: bool) {
        self.llr = on.then(|| LlrReceiver::new(RTL_RETRY_TIMEOUT, RTL_ACK_EVERY));
    }

    fn take_link_events(&mut self) -> Vec<LinkEvent> {
        let mut out = Vec::new();
        while self.llr_events.front().is_some_and(|e| e.cycle < self.now) {
            out.push(self.llr_events.pop_front().unwrap());
        }
        out
    }
}
