//! A CXL Type-3 memory device behind one port: decodes M2S flits, answers each MemRd with
//! MemData after the device latency (plus seeded jitter, which reorders responses), and packs
//! the responses into S2M flits at one flit per cycle with `pifs_cxl::S2mPacker`.

use pifs_cxl::{DecodeError, Decoder, Dir, Flit, Message, S2mDrs, S2mPacker};
use pifs_rng::Rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// The device's contents: the 64 bytes at a line address.
pub trait LineSource {
    fn line(&self, addr: u64) -> [u8; 64];
}

/// Counters of one device.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct DeviceCounters {
    pub m2s_flits: u64,
    pub reads: u64,
    pub s2m_flits: u64,
    pub decode_errors: u64,
}

/// The device model.
pub struct MemDevice {
    decoder: Decoder,
    packer: S2mPacker,
    rng: Rng,
    latency: u64,
    jitter: u64,
    /// (ready cycle, sequence, tag, address)
    pending: BinaryHeap<Reverse<(u64, u64, u16, u64)>>,
    seq: u64,
    avail: VecDeque<Message>,
    link_free: u64,
    /// Bandwidth limit: cycles per 64-byte line read (0 = unlimited), and when the memory can
    /// start the next line (fractional cycles).
    line_gap: f64,
    mem_free: f64,
    pub counters: DeviceCounters,
}

impl MemDevice {
    /// `latency` and `jitter` in cycles; `seed` fixes the jitter and the flit packing.
    pub fn new(latency: u64, jitter: u64, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let packer = S2mPacker::new(rng.next_u64());
        MemDevice {
            decoder: Decoder::new(Dir::M2S),
            packer,
            rng,
            latency,
            jitter,
            pending: BinaryHeap::new(),
            seq: 0,
            avail: VecDeque::new(),
            link_free: 0,
            line_gap: 0.0,
            mem_free: 0.0,
            counters: DeviceCounters::default(),
        }
    }

    /// Limit the memory to one line every `cycles` cycles (its bandwidth); reads queue behind
    /// each other, and each read's latency starts when the memory takes it.
    pub fn with_line_gap(mut self, cycles: f64) -> Self {
        self.line_gap = cycles.max(0.0);
        self
    }

    /// An M2S flit reaching the device in cycle `at`.
    pub fn receive(&mut self, at: u64, flit: &Flit) -> Result<(), DecodeError> {
        self.counters.m2s_flits += 1;
        let msgs = self
            .decoder
            .push(flit)
            .inspect_err(|_| self.counters.decode_errors += 1)?;
        for m in msgs {
            if let Message::M2sReq(req) = m {
                let extra = if self.jitter > 0 {
                    self.rng.below(self.jitter + 1)
                } else {
                    0
                };
                let start = (at as f64).max(self.mem_free);
                self.mem_free = start + self.line_gap;
                self.pending.push(Reverse((
                    start.ceil() as u64 + self.latency + extra,
                    self.seq,
                    req.tag,
                    req.addr,
                )));
                self.seq += 1;
                self.counters.reads += 1;
            }
        }
        Ok(())
    }

    /// Earliest cycle any read issued from now on could be answered: flits before it are final.
    pub fn horizon(&self, now: u64) -> u64 {
        now + self.latency
    }

    /// Emit the S2M flits of every link cycle before `until` (one flit per cycle at most).
    pub fn emit_until(&mut self, until: u64, mem: &dyn LineSource, out: &mut Vec<(u64, Flit)>) {
        loop {
            let mut c = self.link_free;
            if self.packer.pending_chunks() == 0 && self.avail.is_empty() {
                match self.pending.peek() {
                    None => break,
                    Some(Reverse((ready, ..))) => c = c.max(*ready),
                }
            }
            if c >= until {
                break;
            }
            while let Some(Reverse((ready, _, tag, addr))) = self.pending.peek().copied() {
                if ready > c {
                    break;
                }
                self.pending.pop();
                let data = Box::new(mem.line(addr));
                self.avail
                    .push_back(Message::S2mDrs(S2mDrs::mem_data(tag, false), data));
            }
            if let Some(f) = self.packer.next_flit(&mut self.avail) {
                out.push((c, f));
                self.counters.s2m_flits += 1;
            }
            self.link_free = c + 1;
        }
    }

    /// True when every read has been answered and every flit sent.
    pub fn idle(&self) -> bool {
        self.pending.is_empty() && self.avail.is_empty() && self.packer.pending_chunks() == 0
    }
}
