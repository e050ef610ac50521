//! CXL link-layer retry (LLR) for 68-byte flits, and a seeded fault injector for one direction
//! of a link. `docs/link-faults.md` describes the model and what it simplifies.
//!
//! - [`LlrSender`]: gives every protocol flit an implicit 8-bit sequence number, keeps it in the
//!   Link Layer Retry Buffer (LLRB, `size` flits) until the receiver acknowledges it, and on a
//!   RETRY.Req for expected sequence number ESeq sends a RETRY.Ack control flit followed by every
//!   buffered flit from ESeq on.
//! - [`LlrReceiver`]: checks each flit's CRC and tracks ESeq. A flit that fails its CRC sends a
//!   RETRY.Req(ESeq) and puts the receiver in the retry state, in which every flit is discarded
//!   until the RETRY.Ack for ESeq arrives; a RETRY.Req is sent again after `timeout` cycles without
//!   it. Every `ack_every` flits accepted in sequence it acknowledges ESeq. `rtl/pifs_s2m_ingress.sv`
//!   implements the same receiver cycle for cycle.
//! - [`FaultInjector`]: flips bits at a rate per bit (the gaps between flips are geometric, so the
//!   bit stream is one long Bernoulli sequence) and loses whole flits at a rate per flit. A lost
//!   flit is presented to the receiver as an errored flit (CRC field inverted): 68-byte flits carry
//!   no explicit sequence number, so the link layer can only see a loss as a flit with an error.
//! - [`LlrLink`]: one direction of a link in time: the sender, the injector and the wire, with
//!   the receiver's events fed back after a round-trip delay. [`RustLink`] closes the loop with a
//!   Rust [`LlrReceiver`] for links whose receiver is not RTL.

use crate::flit::{Flit, FlitType, FLIT_BYTES, PAYLOAD_BYTES};
use pifs_rng::Rng;
use serde::Serialize;
use std::collections::VecDeque;

/// LLCTRL type of a RETRY control flit (DESIGN.md section 6: LLCRD 0000, RETRY 0001, INIT 1100).
pub const LLCTRL_RETRY: u8 = 0b0001;
/// RETRY sub-types (our reading of the CXL 2.0 link-layer control table).
pub const RETRY_REQ: u8 = 0b0001;
/// RETRY.Ack sub-type.
pub const RETRY_ACK: u8 = 0b0010;
/// Largest LLRB: sequence numbers are 8 bits, so at most 255 flits may be unacknowledged.
pub const MAX_LLRB: usize = 255;

/// A RETRY control flit: header Type = 1 and no other header bit, LLCTRL type in flit bits
/// 35:32, sub-type in 39:36, the sequence number in 47:40, every other payload bit zero, CRC
/// sealed. RETRY.Req carries the receiver's ESeq; RETRY.Ack the sequence number of the first
/// replayed flit (the ESeq it answers).
pub fn retry_flit(subtype: u8, seq: u8) -> Flit {
    let mut f = Flit::default();
    f.0[0] = 1; // Type = control
    f.0[4] = (subtype << 4) | LLCTRL_RETRY;
    f.0[5] = seq;
    f.seal();
    f
}

/// `(sub-type, sequence number)` if `f` is exactly a RETRY control flit of [`retry_flit`]'s form.
pub fn parse_retry(f: &Flit) -> Option<(u8, u8)> {
    let (subtype, seq) = (f.0[4] >> 4, f.0[5]);
    (f.0[4] & 0xF == LLCTRL_RETRY && f.0 == retry_flit(subtype, seq).0).then_some((subtype, seq))
}

/// What the receiver reports back to the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum LinkEventKind {
    /// RETRY.Req: replay from `seq` (the receiver's ESeq).
    RetryReq,
    /// Every flit before `seq` arrived (the Ak / Full_Ack acknowledgement).
    Ack,
}

/// One receiver event, in the cycle the receiver raises it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LinkEvent {
    /// Cycle the receiver raised it.
    pub cycle: u64,
    /// Request or acknowledgement.
    pub kind: LinkEventKind,
    /// ESeq for a request, the acknowledged-up-to sequence number for an Ack.
    pub seq: u8,
}

/// Counters of one direction of a link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LinkStats {
    /// Flits put on the wire: new, replayed and RETRY.Ack.
    pub flits_sent: u64,
    /// Wire flits the injector damaged (bit flips or loss).
    pub injected: u64,
    /// Bits flipped in total, and flits lost.
    pub bits_flipped: u64,
    /// Flits lost (presented as errored flits).
    pub dropped: u64,
    /// Flits the receiver failed on their CRC.
    pub detected: u64,
    /// RETRY.Req the receiver raised (timeouts included) and the timeouts alone.
    pub retry_requests: u64,
    /// RETRY.Req raised because the RETRY.Ack did not come in time.
    pub timeouts: u64,
    /// Flits sent again from the LLRB.
    pub retried: u64,
    /// Flits with a good CRC discarded while the receiver waited for the replay.
    pub discarded: u64,
    /// Flits delivered that differ from what the sender sent (undetected corruption).
    pub escaped: u64,
    /// Cycles in which a new flit waited because the LLRB was full.
    pub llrb_full_cycles: u64,
}

impl LinkStats {
    /// Add another link's counters.
    pub fn add(&mut self, o: &LinkStats) {
        self.flits_sent += o.flits_sent;
        self.injected += o.injected;
        self.bits_flipped += o.bits_flipped;
        self.dropped += o.dropped;
        self.detected += o.detected;
        self.retry_requests += o.retry_requests;
        self.timeouts += o.timeouts;
        self.retried += o.retried;
        self.discarded += o.discarded;
        self.escaped += o.escaped;
        self.llrb_full_cycles += o.llrb_full_cycles;
    }
}

/// Fault rates of one link direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct FaultRates {
    /// Probability that any one wire bit (528 per flit) flips.
    pub bit_error_rate: f64,
    /// Probability that a flit is lost.
    pub drop_rate: f64,
}

/// What the injector did to one flit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Left intact.
    None,
    /// This many bits flipped.
    Flipped(u32),
    /// Lost: presented as an errored flit.
    Dropped,
}

/// Seeded bit flips and flit losses.
#[derive(Clone, Debug)]
pub struct FaultInjector {
    rng: Rng,
    rates: FaultRates,
    /// Error-free bits before the next flip.
    gap: u64,
}

const WIRE_BITS: u64 = (FLIT_BYTES * 8) as u64;

impl FaultInjector {
    /// An injector with these rates, seeded.
    pub fn new(rates: FaultRates, seed: u64) -> Self {
        let mut inj = FaultInjector {
            rng: Rng::new(seed),
            rates,
            gap: 0,
        };
        inj.gap = inj.next_gap();
        inj
    }

    /// Bits until the next flip: geometric with parameter `bit_error_rate`.
    fn next_gap(&mut self) -> u64 {
        let p = self.rates.bit_error_rate;
        if p <= 0.0 {
            return u64::MAX;
        }
        if p >= 1.0 {
            return 0;
        }
        let u = 1.0 - self.rng.unit_f64(); // (0, 1]
        (u.ln() / (1.0 - p).ln()).floor().min(u64::MAX as f64 / 2.0) as u64
    }

    /// The flit as the receiver sees it.
    pub fn apply(&mut self, flit: &Flit) -> (Flit, Fault) {
        let mut w = *flit;
        let lost = self.rates.drop_rate > 0.0 && self.rng.chance(self.rates.drop_rate);
        let mut flips = 0u32;
        let mut pos = 0u64;
        while self.gap < WIRE_BITS - pos {
            pos += self.gap;
            w.0[(pos / 8) as usize] ^= 1 << (pos % 8);
            flips += 1;
            pos += 1;
            self.gap = self.next_gap();
        }
        if self.gap != u64::MAX {
            self.gap -= WIRE_BITS - pos;
        }
        if lost {
            let mut d = *flit;
            d.0[PAYLOAD_BYTES] ^= 0xFF;
            d.0[PAYLOAD_BYTES + 1] ^= 0xFF;
            return (d, Fault::Dropped);
        }
        (
            w,
            if flips > 0 {
                Fault::Flipped(flips)
            } else {
                Fault::None
            },
        )
    }
}

/// Sequence distance from `a` forward to `b`.
fn dist(a: u8, b: u8) -> usize {
    b.wrapping_sub(a) as usize
}

/// The sending side: sequence numbers and the LLRB.
#[derive(Clone, Debug)]
pub struct LlrSender {
    size: usize,
    next_seq: u8,
    /// Sent and not acknowledged, oldest first.
    buf: VecDeque<(u8, Flit)>,
    /// RETRY.Ack and the flits to send again, in order.
    replay: VecDeque<Flit>,
}

impl LlrSender {
    /// `size`: LLRB entries, 1..=255.
    pub fn new(size: usize) -> Self {
        assert!((1..=MAX_LLRB).contains(&size), "LLRB size {size}");
        LlrSender {
            size,
            next_seq: 0,
            buf: VecDeque::new(),
            replay: VecDeque::new(),
        }
    }

    /// Flits held in the LLRB.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Whether a new flit fits into the LLRB.
    pub fn can_send_new(&self) -> bool {
        self.buf.len() < self.size
    }

    /// Record a new flit as sent; returns its sequence number. Panics if the LLRB is full.
    pub fn send_new(&mut self, f: Flit) -> u8 {
        assert!(self.can_send_new(), "LLRB full");
        let s = self.next_seq;
        self.buf.push_back((s, f));
        self.next_seq = s.wrapping_add(1);
        s
    }

    /// The receiver has every flit before `eseq`: release them. A stale or impossible `eseq`
    /// (outside the flits in the buffer) releases nothing.
    pub fn ack(&mut self, eseq: u8) {
        let Some(&(front, _)) = self.buf.front() else {
            return;
        };
        let n = dist(front, eseq);
        if n <= self.buf.len() {
            self.buf.drain(..n);
        }
    }

    /// RETRY.Req(eseq): release what came before, then queue RETRY.Ack and the replay of every
    /// buffered flit. A newer request replaces a replay not yet sent.
    pub fn retry(&mut self, eseq: u8) {
        self.ack(eseq);
        self.replay.clear();
        self.replay.push_back(retry_flit(RETRY_ACK, eseq));
        self.replay.extend(self.buf.iter().map(|(_, f)| *f));
    }

    /// The next flit of a pending replay (RETRY.Ack first) and whether it is a replayed flit.
    pub fn next_replay(&mut self) -> Option<(Flit, bool)> {
        let f = self.replay.pop_front()?;
        Some((f, parse_retry(&f).is_none()))
    }

    /// Whether a RETRY.Ack or replayed flit is waiting to be sent.
    pub fn replay_pending(&self) -> bool {
        !self.replay.is_empty()
    }
}

/// What the receiver did with a flit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxVerdict {
    /// Good and in sequence: the protocol layer takes it.
    Deliver,
    /// A good control flit outside a retry (skipped, as the ingress skips it).
    Control,
    /// Failed its CRC.
    CrcError,
    /// Good, but discarded while waiting for the replay (the matching RETRY.Ack included).
    Discard,
}

/// The receiving side: CRC check, ESeq, the retry state and its timeout.
#[derive(Clone, Debug)]
pub struct LlrReceiver {
    eseq: u8,
    retry: bool,
    /// Cycle at which the next RETRY.Req is sent again if the RETRY.Ack has not come.
    deadline: u64,
    timeout: u64,
    ack_every: u8,
    /// Check the CRC (false only to show that escapes are counted).
    pub check_crc: bool,
    /// Receiver-side counters (detected, retry requests, timeouts, discarded, escaped).
    pub stats: LinkStats,
}

impl LlrReceiver {
    /// `timeout`: cycles between RETRY.Req while waiting (>= 1); `ack_every`: acknowledge every
    /// this many flits, a power of two up to 128.
    pub fn new(timeout: u64, ack_every: u8) -> Self {
        assert!(timeout >= 1 && ack_every.is_power_of_two() && ack_every <= 128);
        LlrReceiver {
            eseq: 0,
            retry: false,
            deadline: 0,
            timeout,
            ack_every,
            check_crc: true,
            stats: LinkStats::default(),
        }
    }

    /// The expected sequence number ESeq.
    pub fn eseq(&self) -> u8 {
        self.eseq
    }

    /// Waiting for a replay.
    pub fn in_retry(&self) -> bool {
        self.retry
    }

    /// Cycle of the next timeout, if waiting for a replay.
    pub fn deadline(&self) -> Option<u64> {
        self.retry.then_some(self.deadline)
    }

    fn request(&mut self, d: u64, ev: &mut Vec<LinkEvent>) {
        self.retry = true;
        self.deadline = d + self.timeout;
        self.stats.retry_requests += 1;
        ev.push(LinkEvent {
            cycle: d,
            kind: LinkEventKind::RetryReq,
            seq: self.eseq,
        });
    }

    /// Raise the timeouts due before cycle `t`.
    pub fn advance(&mut self, t: u64, ev: &mut Vec<LinkEvent>) {
        while self.retry && self.deadline < t {
            self.stats.timeouts += 1;
            let d = self.deadline;
            self.request(d, ev);
        }
    }

    /// A flit checked in cycle `d`. `control`: the flit is a control flit as the protocol layer
    /// would read it (header Type = 1 and no all-data flit due); only a delivered protocol flit
    /// takes a sequence number.
    pub fn receive(
        &mut self,
        d: u64,
        flit: &Flit,
        control: bool,
        ev: &mut Vec<LinkEvent>,
    ) -> RxVerdict {
        self.advance(d, ev);
        let verdict = if self.check_crc && !flit.crc_ok() {
            self.stats.detected += 1;
            if !self.retry {
                self.request(d, ev);
                return RxVerdict::CrcError;
            }
            RxVerdict::CrcError
        } else if self.retry {
            if parse_retry(flit) == Some((RETRY_ACK, self.eseq)) {
                self.retry = false;
            } else {
                self.stats.discarded += 1;
            }
            RxVerdict::Discard
        } else if control {
            RxVerdict::Control
        } else {
            self.eseq = self.eseq.wrapping_add(1);
            if self.eseq.is_multiple_of(self.ack_every) {
                ev.push(LinkEvent {
                    cycle: d,
                    kind: LinkEventKind::Ack,
                    seq: self.eseq,
                });
            }
            RxVerdict::Deliver
        };
        if self.retry && self.deadline == d {
            self.stats.timeouts += 1;
            self.request(d, ev);
        }
        verdict
    }
}

/// One direction of a link in time, in cycles at the receiver: new flits wait for the wire and
/// for LLRB room, replays go first, and the receiver's events act on the sender `rtt` cycles
/// after the receiver raises them (reverse flight, forward flight and turnaround together).
#[derive(Clone, Debug)]
pub struct LlrLink {
    /// Sequence numbers and the LLRB.
    pub sender: LlrSender,
    inj: FaultInjector,
    /// New flits and the first cycle each may arrive.
    pending: VecDeque<(u64, Flit)>,
    /// Events known to the sender, with the cycle they take effect.
    events: VecDeque<(u64, LinkEvent)>,
    /// A replay may not start before this cycle.
    replay_from: u64,
    tx_free: u64,
    rtt: u64,
    /// Sender-side counters (sent, injected, retried, LLRB stalls).
    pub stats: LinkStats,
}

impl LlrLink {
    /// `llrb` LLRB entries; receiver events act `rtt` cycles after they are raised.
    pub fn new(llrb: usize, rtt: u64, rates: FaultRates, seed: u64) -> Self {
        LlrLink {
            sender: LlrSender::new(llrb),
            inj: FaultInjector::new(rates, seed),
            pending: VecDeque::new(),
            events: VecDeque::new(),
            replay_from: 0,
            tx_free: 0,
            rtt,
            stats: LinkStats::default(),
        }
    }

    /// A new flit from the layer above, arriving no earlier than `cycle`.
    pub fn push(&mut self, cycle: u64, f: Flit) {
        self.pending.push_back((cycle, f));
    }

    /// Receiver events, in the order raised.
    pub fn on_events(&mut self, evs: &[LinkEvent]) {
        self.events
            .extend(evs.iter().map(|e| (e.cycle + self.rtt, *e)));
    }

    /// Nothing left to send.
    pub fn idle(&self) -> bool {
        self.pending.is_empty() && !self.sender.replay_pending() && self.events.is_empty()
    }

    fn apply_events(&mut self, t: u64) {
        while self.events.front().is_some_and(|(e, _)| *e <= t) {
            let (at, ev) = self.events.pop_front().unwrap();
            match ev.kind {
                LinkEventKind::Ack => self.sender.ack(ev.seq),
                LinkEventKind::RetryReq => {
                    self.sender.retry(ev.seq);
                    self.replay_from = at;
                }
            }
        }
    }

    /// The next flit on the wire arriving at or after `from` and before `until`:
    /// `(cycle, as received, as sent)`.
    pub fn transmit_one(&mut self, from: u64, until: u64) -> Option<(u64, Flit, Flit)> {
        let mut t = self.tx_free.max(from);
        loop {
            if t >= until {
                return None;
            }
            self.apply_events(t);
            let next_ev = self.events.front().map(|(e, _)| *e);
            let sent = if self.sender.replay_pending() {
                if self.replay_from <= t {
                    let (f, replayed) = self.sender.next_replay().unwrap();
                    self.stats.retried += u64::from(replayed);
                    Some(f)
                } else {
                    t = next_ev.map_or(self.replay_from, |e| e.min(self.replay_from));
                    continue;
                }
            } else if let Some(&(ready, f)) = self.pending.front() {
                if ready > t {
                    t = next_ev.map_or(ready, |e| e.min(ready));
                    continue;
                }
                if self.sender.can_send_new() {
                    self.pending.pop_front();
                    self.sender.send_new(f);
                    Some(f)
                } else {
                    // LLRB full: wait for an acknowledgement the sender knows of.
                    let e = next_ev?;
                    self.stats.llrb_full_cycles += e.saturating_sub(t);
                    t = e;
                    continue;
                }
            } else {
                t = next_ev?;
                continue;
            };
            let f = sent.unwrap();
            let (w, fault) = self.inj.apply(&f);
            match fault {
                Fault::None => {}
                Fault::Flipped(n) => {
                    self.stats.injected += 1;
                    self.stats.bits_flipped += u64::from(n);
                }
                Fault::Dropped => {
                    self.stats.injected += 1;
                    self.stats.dropped += 1;
                }
            }
            self.stats.flits_sent += 1;
            self.tx_free = t + 1;
            return Some((t, w, f));
        }
    }

    /// Every flit arriving in `[from, until)`.
    pub fn transmit(&mut self, from: u64, until: u64, out: &mut Vec<(u64, Flit, Flit)>) {
        while let Some(x) = self.transmit_one(from, until) {
            out.push(x);
        }
    }
}

/// The protocol layer behind a [`RustLink`]'s receiver.
pub trait LinkSink {
    /// Error of a delivery.
    type Error;
    /// Whether the protocol layer would read `f` as a control flit now (header Type = 1 and no
    /// all-data flit due).
    fn is_control(&self, f: &Flit) -> bool;
    /// A flit delivered in order, checked in cycle `cycle`.
    fn deliver(&mut self, cycle: u64, f: &Flit) -> Result<(), Self::Error>;
}

/// A link whose receiver is the Rust [`LlrReceiver`]: the whole retry loop runs here.
#[derive(Clone, Debug)]
pub struct RustLink {
    /// Sender, injector and wire.
    pub link: LlrLink,
    /// The receiver.
    pub rx: LlrReceiver,
    /// Cycles from a flit's arrival to its CRC check.
    check_delay: u64,
}

impl RustLink {
    /// `check_delay`: cycles from arrival to the CRC check.
    pub fn new(link: LlrLink, rx: LlrReceiver, check_delay: u64) -> Self {
        RustLink {
            link,
            rx,
            check_delay,
        }
    }

    /// Run until every pushed flit is delivered to `sink`, in order.
    pub fn run<S: LinkSink>(&mut self, sink: &mut S) -> Result<(), S::Error> {
        let mut ev = Vec::new();
        loop {
            // While waiting for a replay, stop before the flit that would be checked after the
            // next timeout, so that the timeout's RETRY.Req acts on the sender in time.
            let limit = self
                .rx
                .deadline()
                .map_or(u64::MAX, |d| (d + 1).saturating_sub(self.check_delay));
            match self.link.transmit_one(0, limit) {
                Some((t, w, orig)) => {
                    let d = t + self.check_delay;
                    let c = sink.is_control(&w);
                    if self.rx.receive(d, &w, c, &mut ev) == RxVerdict::Deliver {
                        if w != orig {
                            self.rx.stats.escaped += 1;
                        }
                        sink.deliver(d, &w)?;
                    }
                }
                None => match self.rx.deadline() {
                    // Waiting for a replay that will not come without a new request.
                    Some(dl) => self.rx.advance(dl + 1, &mut ev),
                    None if self.link.idle() => break,
                    None => {
                        unreachable!("link stalled with no event to wait for (LLRB < ack_every?)")
                    }
                },
            }
            self.link.on_events(&ev);
            ev.clear();
        }
        Ok(())
    }

    /// Counters of both ends.
    pub fn stats(&self) -> LinkStats {
        let mut s = self.link.stats;
        let r = &self.rx.stats;
        s.detected = r.detected;
        s.retry_requests = r.retry_requests;
        s.timeouts = r.timeouts;
        s.discarded = r.discarded;
        s.escaped = r.escaped;
        s
    }
}

/// Whether `f` reads as a control flit to a protocol layer that expects an all-data flit or not.
pub fn is_control(f: &Flit, all_data_due: bool) -> bool {
    !all_data_due && f.header().ty == FlitType::Control
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data_flit(i: u64) -> Flit {
        let mut rng = Rng::new(i);
        let mut f = Flit::default();
        for b in f.0[..PAYLOAD_BYTES].iter_mut() {
            *b = rng.next_u32() as u8;
        }
        f.0[0] &= !1; // protocol flit
        f.seal();
        f
    }

    #[derive(Default)]
    struct Collect {
        got: Vec<Flit>,
        last: u64,
    }

    impl LinkSink for Collect {
        type Error = ();
        fn is_control(&self, f: &Flit) -> bool {
            is_control(f, false)
        }
        fn deliver(&mut self, d: u64, f: &Flit) -> Result<(), ()> {
            assert!(d >= self.last, "delivery cycles go forward");
            self.last = d;
            self.got.push(*f);
            Ok(())
        }
    }

    /// Send `n` flits over a RustLink with these rates; returns (delivered, stats).
    fn run_link(
        n: u64,
        rates: FaultRates,
        llrb: usize,
        rtt: u64,
        check_crc: bool,
    ) -> (Vec<Flit>, LinkStats) {
        let mut link = RustLink::new(
            LlrLink::new(llrb, rtt, rates, 99),
            LlrReceiver::new(64, 8),
            1,
        );
        link.rx.check_crc = check_crc;
        for i in 0..n {
            link.link.push(i, data_flit(i));
        }
        let mut sink = Collect::default();
        link.run(&mut sink).unwrap();
        (sink.got, link.stats())
    }

    #[test]
    fn retry_flits_round_trip_and_nothing_else_parses() {
        for seq in [0u8, 1, 77, 255] {
            let f = retry_flit(RETRY_ACK, seq);
            assert!(f.crc_ok());
            assert_eq!(f.header().ty, FlitType::Control);
            assert_eq!(parse_retry(&f), Some((RETRY_ACK, seq)));
            let mut g = f;
            g.0[30] ^= 4;
            g.seal();
            assert_eq!(parse_retry(&g), None);
        }
        assert_eq!(parse_retry(&data_flit(3)), None);
    }

    #[test]
    fn every_single_and_double_flip_is_detected() {
        let f = data_flit(1);
        for i in 0..WIRE_BITS as usize {
            let mut g = f;
            g.0[i / 8] ^= 1 << (i % 8);
            assert!(!g.crc_ok(), "bit {i}");
        }
        let mut rng = Rng::new(5);
        for _ in 0..20_000 {
            let i = rng.below(WIRE_BITS) as usize;
            let j = rng.below(WIRE_BITS) as usize;
            if i == j {
                continue;
            }
            let mut g = f;
            g.0[i / 8] ^= 1 << (i % 8);
            g.0[j / 8] ^= 1 << (j % 8);
            assert!(!g.crc_ok(), "bits {i} {j}");
        }
    }

    #[test]
    fn injector_flips_at_the_bit_error_rate() {
        let ber = 1e-3;
        let mut inj = FaultInjector::new(
            FaultRates {
                bit_error_rate: ber,
                drop_rate: 0.0,
            },
            3,
        );
        let f = data_flit(2);
        let n = 20_000u64;
        let mut flips = 0u64;
        let mut damaged = 0u64;
        for _ in 0..n {
            let (w, fault) = inj.apply(&f);
            let diff: u32 = w.0.iter().zip(f.0).map(|(a, b)| (a ^ b).count_ones()).sum();
            match fault {
                Fault::Flipped(k) => {
                    assert_eq!(k, diff);
                    flips += u64::from(k);
                    damaged += 1;
                }
                Fault::None => assert_eq!(diff, 0),
                Fault::Dropped => unreachable!(),
            }
        }
        let want = ber * (n * WIRE_BITS) as f64; // 10,560
        let sd = want.sqrt();
        assert!((flips as f64 - want).abs() < 5.0 * sd, "{flips} vs {want}");
        // P(flit damaged) = 1 - (1-p)^528.
        let pf = 1.0 - (1.0 - ber).powi(WIRE_BITS as i32);
        let sdf = (n as f64 * pf * (1.0 - pf)).sqrt();
        assert!((damaged as f64 - n as f64 * pf).abs() < 5.0 * sdf);
    }

    #[test]
    fn faulty_link_delivers_the_fault_free_stream() {
        let n = 5_000;
        let clean: Vec<Flit> = (0..n).map(data_flit).collect();
        for (ber, drop) in [(0.0, 0.0), (2e-4, 0.0), (0.0, 0.02), (5e-4, 0.01)] {
            let rates = FaultRates {
                bit_error_rate: ber,
                drop_rate: drop,
            };
            let (got, s) = run_link(n, rates, 32, 6, true);
            assert_eq!(got.len(), clean.len(), "{rates:?}");
            assert!(got == clean, "{rates:?}: delivered stream differs");
            assert_eq!(s.escaped, 0);
            if ber + drop > 0.0 {
                assert!(s.injected > 20, "{s:?}");
                assert!(s.retry_requests > 0 && s.retried > 0, "{s:?}");
            } else {
                assert_eq!(
                    s,
                    LinkStats {
                        flits_sent: n,
                        ..Default::default()
                    }
                );
            }
            // Every damaged flit is detected (or was discarded anyway during a retry).
            assert!(
                s.detected <= s.injected && s.detected + s.discarded >= s.injected,
                "{s:?}"
            );
            // Sent = new + replayed + one RETRY.Ack per request that got its replay.
            assert!(s.flits_sent >= n + s.retried, "{s:?}");
        }
    }

    #[test]
    fn escapes_are_counted_when_the_crc_is_bypassed() {
        let n = 3_000;
        let rates = FaultRates {
            bit_error_rate: 1e-4,
            drop_rate: 0.0,
        };
        let clean: Vec<Flit> = (0..n).map(data_flit).collect();
        let (got, s) = run_link(n, rates, 32, 6, false);
        let differing = got.iter().zip(&clean).filter(|(a, b)| a != b).count() as u64;
        assert!(differing > 0);
        assert_eq!(s.escaped, differing);
        assert_eq!(s.escaped, s.injected);
        assert_eq!(s.detected, 0);
        assert_eq!(s.retried, 0);
    }

    #[test]
    fn llrb_bounds_the_unacknowledged_flits() {
        let mut s = LlrSender::new(4);
        for i in 0..4 {
            assert_eq!(s.send_new(data_flit(i)), i as u8);
        }
        assert!(!s.can_send_new());
        s.ack(200); // stale: outside the buffer
        assert_eq!(s.buffered(), 4);
        s.ack(2);
        assert_eq!(s.buffered(), 2);
        s.retry(3);
        assert_eq!(s.buffered(), 1);
        let (a, replayed) = s.next_replay().unwrap();
        assert_eq!((parse_retry(&a), replayed), (Some((RETRY_ACK, 3)), false));
        assert_eq!(s.next_replay(), Some((data_flit(3), true)));
        assert_eq!(s.next_replay(), None);

        // A link with a small LLRB and a long round trip stalls on it, and never holds more.
        let n = 400;
        let (got, st) = run_link(n, FaultRates::default(), 8, 40, true);
        assert_eq!(got.len() as u64, n);
        assert!(st.llrb_full_cycles > 0);
        let mut link = LlrLink::new(8, 40, FaultRates::default(), 1);
        for i in 0..n {
            link.push(i, data_flit(i));
        }
        let mut out = Vec::new();
        link.transmit(0, 10_000, &mut out);
        assert_eq!(
            out.len(),
            8,
            "no acknowledgements: only the LLRB's worth goes out"
        );
    }

    #[test]
    fn sequence_numbers_wrap_without_loss() {
        let n = 1_000; // four wraps of the 8-bit sequence number
        let rates = FaultRates {
            bit_error_rate: 0.0,
            drop_rate: 0.05,
        };
        let (got, s) = run_link(n, rates, 255, 3, true);
        assert_eq!(got, (0..n).map(data_flit).collect::<Vec<_>>());
        assert_eq!(s.dropped, s.injected);
        assert!(s.dropped > 20);
    }

    #[test]
    fn a_lost_retry_ack_is_recovered_by_the_timeout() {
        let mut rx = LlrReceiver::new(10, 8);
        let mut ev = Vec::new();
        let good = data_flit(1);
        assert_eq!(rx.receive(5, &good, false, &mut ev), RxVerdict::Deliver);
        let mut bad = data_flit(2);
        bad.0[7] ^= 1;
        assert_eq!(rx.receive(6, &bad, false, &mut ev), RxVerdict::CrcError);
        assert_eq!(
            ev,
            vec![LinkEvent {
                cycle: 6,
                kind: LinkEventKind::RetryReq,
                seq: 1
            }]
        );
        ev.clear();
        // The RETRY.Ack is damaged; the next good flit is discarded.
        assert_eq!(
            rx.receive(8, &data_flit(2), false, &mut ev),
            RxVerdict::Discard
        );
        rx.advance(27, &mut ev);
        let cycles: Vec<u64> = ev.iter().map(|e| e.cycle).collect();
        assert_eq!(cycles, vec![16, 26]);
        assert_eq!(rx.stats.timeouts, 2);
        ev.clear();
        assert_eq!(
            rx.receive(30, &retry_flit(RETRY_ACK, 1), true, &mut ev),
            RxVerdict::Discard
        );
        assert!(!rx.in_retry() && ev.is_empty());
        assert_eq!(
            rx.receive(31, &data_flit(2), false, &mut ev),
            RxVerdict::Deliver
        );
        assert_eq!(rx.eseq(), 2);
    }
}
