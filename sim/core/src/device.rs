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
    /// Tiered device only ([`MemDevice::with_tier`]): reads served by the DRAM cache, reads
    /// that went to the backing memory, and the bytes read from it.
    #[serde(skip_serializing_if = "is_zero")]
    pub tier_hits: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub tier_misses: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub backing_bytes: u64,
    /// MemData answered with the Poison bit set ([`MemDevice::with_poison`]).
    #[serde(skip_serializing_if = "is_zero")]
    pub poisoned: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// The device model.
pub struct MemDevice {
    decoder: Decoder,
    /// Scratch for the messages one flit completed (reused: no allocation per flit).
    msgs: Vec<Message>,
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
    /// A tiered device's per-read timing (in ns) and the clock that converts it to cycles.
    tier: Option<(TierDevice, f64)>,
    /// Probability of a poisoned MemData, and its own random stream.
    poison: Option<(f64, Rng)>,
    pub counters: DeviceCounters,
}

impl MemDevice {
    /// `latency` and `jitter` in cycles; `seed` fixes the jitter and the flit packing.
    pub fn new(latency: u64, jitter: u64, seed: u64) -> Self {
        let mut rng = Rng::new(seed);
        let packer = S2mPacker::new(rng.next_u64());
        MemDevice {
            decoder: Decoder::new(Dir::M2S),
            msgs: Vec::new(),
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
            tier: None,
            poison: None,
            counters: DeviceCounters::default(),
        }
    }

    /// Limit the memory to one line every `cycles` cycles (its bandwidth); reads queue behind
    /// each other, and each read's latency starts when the memory takes it.
    pub fn with_line_gap(mut self, cycles: f64) -> Self {
        self.line_gap = cycles.max(0.0);
        self
    }

    /// Make the device tiered: each read's ready time comes from `tier` (ns, converted with
    /// the clock `ghz`) instead of the fixed latency and line gap. The tier's latencies must be
    /// at least the device latency given to [`MemDevice::new`], which bounds [`Self::horizon`].
    pub fn with_tier(mut self, tier: TierDevice, ghz: f64) -> Self {
        self.tier = Some((tier, ghz));
        self
    }

    /// Answer each MemRd with poisoned data (DRS Poison bit set) with probability `rate`,
    /// drawn from a stream seeded with `seed` (the other random choices are not disturbed).
    pub fn with_poison(mut self, rate: f64, seed: u64) -> Self {
        self.poison = (rate > 0.0).then(|| (rate, Rng::new(seed)));
        self
    }

    /// Whether the device's M2S decoder expects an all-data flit next.
    pub fn all_data_due(&self) -> bool {
        self.decoder.all_data_due()
    }

    /// An M2S flit reaching the device in cycle `at`.
    pub fn receive(&mut self, at: u64, flit: &Flit) -> Result<(), DecodeError> {
        self.counters.m2s_flits += 1;
        let mut msgs = std::mem::take(&mut self.msgs);
        self.decoder
            .push_into(flit, &mut msgs)
            .inspect_err(|_| self.counters.decode_errors += 1)?;
        for m in msgs.drain(..) {
            if let Message::M2sReq(req) = m {
                let extra = if self.jitter > 0 {
                    self.rng.below(self.jitter + 1)
                } else {
                    0
                };
                let ready = match &mut self.tier {
                    Some((td, ghz)) => {
                        let ns = td.read(at as f64 / *ghz, req.addr);
                        let c = &mut self.counters;
                        (c.tier_hits, c.tier_misses, c.backing_bytes) = (
                            td.counters.hits,
                            td.counters.misses,
                            td.counters.backing_bytes,
                        );
                        (ns * *ghz).ceil() as u64
                    }
                    None => {
                        let start = (at as f64).max(self.mem_free);
                        self.mem_free = start + self.line_gap;
                        start.ceil() as u64 + self.latency
                    }
                };
                self.pending
                    .push(Reverse((ready + extra, self.seq, req.tag, req.addr)));
                self.seq += 1;
                self.counters.reads += 1;
            }
        }
        self.msgs = msgs;
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
                let poisoned = self
                    .poison
                    .as_mut()
                    .is_some_and(|(rate, rng)| rng.chance(*rate));
                self.counters.poisoned += u64::from(poisoned);
                self.avail
                    .push_back(Message::S2mDrs(S2mDrs::mem_data(tag, poisoned), data));
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

/// The device as the protocol layer behind the M2S link's receiver.
impl pifs_cxl::llr::LinkSink for MemDevice {
    type Error = DecodeError;

    fn is_control(&self, f: &Flit) -> bool {
        pifs_cxl::llr::is_control(f, self.all_data_due())
    }

    fn deliver(&mut self, cycle: u64, f: &Flit) -> Result<(), DecodeError> {
        self.receive(cycle, f)
    }
}

/// Timing of a tiered memory device: a DRAM cache in front of a slower backing memory
/// (3DXP-class SCM or NAND flash). All durations in ns.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct TierTiming {
    /// Unit the backing memory reads and the cache holds (SCM: 256 B, NAND: a 4 KiB page).
    pub block_bytes: u64,
    /// DRAM cache capacity, in blocks.
    pub cache_blocks: u64,
    /// DRAM: occupancy per 64 B line and read latency (the DRAM-only device's figures).
    pub dram_line_ns: f64,
    pub dram_latency_ns: f64,
    /// Backing memory: read latency of one block, and how long each block read holds the
    /// medium: block / bandwidth, or latency / queue depth when the outstanding reads the
    /// device accepts (queue depth) limit it more (Little's law).
    pub backing_latency_ns: f64,
    pub backing_block_ns: f64,
    /// Play the device's own read sequence once through the cache before the timed run (the
    /// steady state of a workload that keeps reading the same hot rows).
    pub warm: bool,
}

/// An LRU set of blocks with a fixed capacity: `access` returns whether the block was held and
/// makes it the most recently used (inserting it, evicting the least recently used, on a miss).
#[derive(Clone, Debug, Default)]
pub struct LruCache {
    capacity: u64,
    clock: u64,
    /// block -> last use
    stamp: std::collections::HashMap<u64, u64>,
    /// last use -> block, oldest first
    order: std::collections::BTreeMap<u64, u64>,
}

impl LruCache {
    pub fn new(capacity: u64) -> Self {
        LruCache {
            capacity,
            ..Self::default()
        }
    }

    /// Touch `block`: (hit, block evicted to make room).
    pub fn access(&mut self, block: u64) -> (bool, Option<u64>) {
        self.clock += 1;
        if let Some(old) = self.stamp.insert(block, self.clock) {
            self.order.remove(&old);
            self.order.insert(self.clock, block);
            return (true, None);
        }
        if self.capacity == 0 {
            self.stamp.remove(&block);
            return (false, None);
        }
        self.order.insert(self.clock, block);
        let mut evicted = None;
        if self.stamp.len() as u64 > self.capacity {
            let (_, victim) = self
                .order
                .pop_first()
                .expect("a full cache has an oldest block");
            self.stamp.remove(&victim);
            evicted = Some(victim);
        }
        (false, evicted)
    }
}

/// Hits, misses and bytes of a tiered device.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize)]
pub struct TierCounters {
    pub hits: u64,
    pub misses: u64,
    /// Bytes read from the backing memory (misses x block).
    pub backing_bytes: u64,
}

/// The per-read timing of a tiered device, shared by the event models (`pifs_systems`) and
/// the cycle-level device ([`MemDevice::with_tier`]) so both see the same cache state and the
/// same hit/miss sequence for the same read order.
///
/// A hit holds the DRAM for one line and answers after the DRAM latency, or when the block's
/// fill arrives if it is still on its way (a second line of a block that just missed waits for
/// that fill instead of reading the block again). A miss holds the backing medium for one
/// block (FIFO), answers after the backing latency, and fills the block into the cache.
#[derive(Clone, Debug)]
pub struct TierDevice {
    t: TierTiming,
    cache: LruCache,
    dram_free: f64,
    backing_free: f64,
    /// Time each cached block's fill completes.
    fill: std::collections::HashMap<u64, f64>,
    pub counters: TierCounters,
    /// Busy time of the DRAM and the backing medium (for utilisation).
    pub dram_busy_ns: f64,
    pub backing_busy_ns: f64,
}

impl TierDevice {
    /// A device with a cold cache; with `t.warm`, `reads` (line addresses in the order the
    /// device will see them) are played once through the cache first, without timing.
    pub fn new(t: TierTiming, reads: &[u64]) -> Self {
        let mut d = TierDevice {
            t,
            cache: LruCache::new(t.cache_blocks),
            dram_free: 0.0,
            backing_free: 0.0,
            fill: Default::default(),
            counters: TierCounters::default(),
            dram_busy_ns: 0.0,
            backing_busy_ns: 0.0,
        };
        if t.warm {
            for &a in reads {
                d.cache.access(a / t.block_bytes.max(1));
            }
        }
        d
    }

    pub fn timing(&self) -> &TierTiming {
        &self.t
    }

    /// A read of the 64 B line at `addr` arriving at `at` ns: when its data is ready (ns).
    pub fn read(&mut self, at: f64, addr: u64) -> f64 {
        let block = addr / self.t.block_bytes.max(1);
        let (hit, evicted) = self.cache.access(block);
        if let Some(v) = evicted {
            self.fill.remove(&v);
        }
        if hit {
            self.counters.hits += 1;
            let start = at.max(self.dram_free);
            self.dram_free = start + self.t.dram_line_ns;
            self.dram_busy_ns += self.t.dram_line_ns;
            let ready = self.dram_free + self.t.dram_latency_ns;
            self.fill.get(&block).map_or(ready, |&f| ready.max(f))
        } else {
            self.counters.misses += 1;
            self.counters.backing_bytes += self.t.block_bytes;
            let start = at.max(self.backing_free);
            self.backing_free = start + self.t.backing_block_ns;
            self.backing_busy_ns += self.t.backing_block_ns;
            let ready = self.backing_free + self.t.backing_latency_ns;
            if self.t.cache_blocks > 0 {
                self.fill.insert(block, ready);
            }
            ready
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute-force LRU: a list, most recent last.
    fn brute(capacity: usize, seq: &[u64]) -> Vec<(bool, Option<u64>)> {
        let mut list: Vec<u64> = Vec::new();
        seq.iter()
            .map(|&b| {
                if let Some(i) = list.iter().position(|&x| x == b) {
                    list.remove(i);
                    list.push(b);
                    (true, None)
                } else if capacity == 0 {
                    (false, None)
                } else {
                    list.push(b);
                    let ev = (list.len() > capacity).then(|| list.remove(0));
                    (false, ev)
                }
            })
            .collect()
    }

    #[test]
    fn lru_matches_a_brute_force_list() {
        let mut rng = Rng::new(7);
        for capacity in [0usize, 1, 2, 5, 16] {
            let seq: Vec<u64> = (0..3000).map(|_| rng.below(24)).collect();
            let mut c = LruCache::new(capacity as u64);
            let got: Vec<_> = seq.iter().map(|&b| c.access(b)).collect();
            assert_eq!(got, brute(capacity, &seq), "capacity {capacity}");
        }
    }

    fn timing(cache_blocks: u64) -> TierTiming {
        TierTiming {
            block_bytes: 256,
            cache_blocks,
            dram_line_ns: 1.0,
            dram_latency_ns: 80.0,
            backing_latency_ns: 300.0,
            backing_block_ns: 40.0,
            warm: false,
        }
    }

    #[test]
    fn tier_reads_follow_hits_misses_and_fills() {
        let mut d = TierDevice::new(timing(2), &[]);
        // Miss: the medium for 40 ns, then 300 ns.
        assert_eq!(d.read(0.0, 0), 340.0);
        // Same block, still filling: waits for the fill, not a second block read.
        assert_eq!(d.read(1.0, 64), 340.0);
        // Another block misses behind the first on the medium: 40 + 40 + 300.
        assert_eq!(d.read(2.0, 256), 380.0);
        // A hit long after the fill: the DRAM line time and latency.
        assert_eq!(d.read(1000.0, 0), 1081.0);
        assert_eq!(
            d.counters,
            TierCounters {
                hits: 2,
                misses: 2,
                backing_bytes: 512
            }
        );
        // Warming with the same addresses makes the first read a hit.
        let mut w = TierDevice::new(
            TierTiming {
                warm: true,
                ..timing(2)
            },
            &[0, 256],
        );
        assert_eq!(w.read(0.0, 0), 81.0);
    }
}
