//! The co-simulation stimulus: recorded from a testbench run, replayed through the Rust
//! co-simulation (`RtlPort` -> `pifs_rtl::PortSim`) and dumped to the binary file that the native
//! C++ harness (`testbenches/native/bench_native.cpp`) replays.
//!
//! Both replays use the same schedule: every `step` cycles, queue the commands and flits (in
//! recorded order) whose `not_before` falls before the end of the window, run the window, take the
//! results and monitor events out and fold them into two digests. Every item's `not_before` is at
//! or after the cycle it was pushed in the recording, so this schedule is cycle-for-cycle the
//! recorded run, and the digests must match the recording's.

use pifs_cxl::Flit;
use pifs_sim::rtl::RtlPort;
use pifs_sim::{Arrival, Command, PortAccumulator, PortCounters, PortResult, SimError};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Instant;

/// FNV-1a over 64-bit values, byte by byte (little-endian); the C++ harness has the twin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Digest(pub u64);

impl Default for Digest {
    fn default() -> Self {
        Digest(0xcbf2_9ce4_8422_2325)
    }
}

impl Digest {
    pub fn add(&mut self, v: u64) {
        for b in v.to_le_bytes() {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    pub fn result(&mut self, r: &PortResult) {
        self.add(r.cycle);
        self.add(
            r.bag as u64 | (r.line as u64) << 8 | (r.last as u64) << 16 | (r.poison as u64) << 24,
        );
        for &x in &r.data {
            self.add(x as u64);
        }
    }

    pub fn arrival(&mut self, a: &Arrival) {
        self.add(a.cycle);
        self.add(a.bag as u64 | (a.line as u64) << 8 | (a.part as u64) << 16);
    }
}

/// Timestamped commands and flits, in push order, and how long to run them.
#[derive(Default)]
pub struct Stimulus {
    pub cmds: Vec<(u64, Command)>,
    pub flits: Vec<(u64, Flit)>,
    /// Cycles the recorded run took (the replays run exactly this many).
    pub cycles: u64,
    /// Digests of the results and of the monitor events of the recorded run.
    pub results: Digest,
    pub arrivals: Digest,
    pub result_count: u64,
}

/// A [`PortAccumulator`] that forwards to the RTL and records what was pushed and produced.
pub struct Recorder {
    pub port: RtlPort,
    pub stim: Stimulus,
}

impl PortAccumulator for Recorder {
    fn backend(&self) -> &'static str {
        "rtl"
    }
    fn push_cmds(&mut self, cmds: &[(u64, Command)]) {
        let now = self.port.now();
        assert!(
            cmds.iter().all(|(t, _)| *t >= now),
            "command timestamped in the past"
        );
        self.stim.cmds.extend_from_slice(cmds);
        self.port.push_cmds(cmds);
    }
    fn push_flits(&mut self, flits: &[(u64, Flit)]) {
        let now = self.port.now();
        assert!(
            flits.iter().all(|(t, _)| *t >= now),
            "flit timestamped in the past"
        );
        self.stim.flits.extend_from_slice(flits);
        self.port.push_flits(flits);
    }
    fn set_res_ready_percent(&mut self, percent: u32) {
        assert_eq!(
            percent, 100,
            "the benchmark stimulus runs without back-pressure"
        );
        self.port.set_res_ready_percent(percent);
    }
    fn now(&self) -> u64 {
        self.port.now()
    }
    fn run_to(&mut self, until: u64) -> Result<(), SimError> {
        self.port.run_to(until)
    }
    fn drain(&mut self, max_cycles: u64) -> Result<(), SimError> {
        self.port.drain(max_cycles)
    }
    fn take_results(&mut self) -> Vec<PortResult> {
        let v = self.port.take_results();
        for r in &v {
            self.stim.results.result(r);
        }
        self.stim.result_count += v.len() as u64;
        v
    }
    fn take_arrivals(&mut self) -> Vec<Arrival> {
        let v = self.port.take_arrivals();
        for a in &v {
            self.stim.arrivals.arrival(a);
        }
        v
    }
    fn counters(&self) -> PortCounters {
        self.port.counters()
    }
    fn finish(&mut self) -> Result<(), SimError> {
        self.stim.cycles = self.port.now();
        self.port.finish()
    }
}

/// What one timed replay did.
pub struct Replay {
    pub seconds: f64,
    pub cycles: u64,
    pub results: Digest,
    pub arrivals: Digest,
    pub result_count: u64,
    /// CRC, protocol, command and tag errors the port counted (0 for a good replay).
    pub errors: u64,
}

/// Replay `stim` through a fresh `RtlPort` in windows of `step` cycles; only the loop is timed.
pub fn replay(stim: &Stimulus, step: u64, seed: u64) -> Result<Replay, SimError> {
    let mut port = RtlPort::new(seed, None)?;
    let (mut results, mut arrivals, mut result_count) = (Digest::default(), Digest::default(), 0);
    let (mut ci, mut fi, mut w) = (0usize, 0usize, 0u64);
    let start = Instant::now();
    while w < stim.cycles {
        let until = (w + step).min(stim.cycles);
        let mut cj = ci;
        while cj < stim.cmds.len() && stim.cmds[cj].0 < until {
            cj += 1;
        }
        let mut fj = fi;
        while fj < stim.flits.len() && stim.flits[fj].0 < until {
            fj += 1;
        }
        if cj > ci {
            port.push_cmds(&stim.cmds[ci..cj]);
        }
        if fj > fi {
            port.push_flits(&stim.flits[fi..fj]);
        }
        (ci, fi) = (cj, fj);
        port.run_to(until)?;
        for r in port.take_results() {
            results.result(&r);
            result_count += 1;
        }
        for a in port.take_arrivals() {
            arrivals.arrival(&a);
        }
        w = until;
    }
    let seconds = start.elapsed().as_secs_f64();
    let counters = port.counters();
    port.finish()?;
    Ok(Replay {
        seconds,
        cycles: counters.cycles,
        results,
        arrivals,
        result_count,
        errors: counters.crc_errors
            + counters.proto_errors
            + counters.cmd_errors
            + counters.tag_errors,
    })
}

/// Write the file the native harness reads (format in bench_native.cpp's header comment).
pub fn write(stim: &Stimulus, step: u64, seed: u64, path: &Path) -> std::io::Result<()> {
    let mut b: Vec<u8> = Vec::with_capacity(48 + stim.cmds.len() * 16 + stim.flits.len() * 76);
    b.extend_from_slice(b"PIFSSTM1");
    for v in [
        step,
        stim.cycles,
        seed,
        stim.cmds.len() as u64,
        stim.flits.len() as u64,
    ] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    for (t, c) in &stim.cmds {
        b.extend_from_slice(&t.to_le_bytes());
        b.extend_from_slice(&c.encode().to_le_bytes());
    }
    for (t, f) in &stim.flits {
        b.extend_from_slice(&t.to_le_bytes());
        for w in f.to_words() {
            b.extend_from_slice(&w.to_le_bytes());
        }
    }
    let mut f = std::fs::File::create(path)?;
    f.write_all(&b)
}

/// Read a file written by [`write`]: the stimulus (its digests left empty: the file does not
/// hold them), the window and the seed.
pub fn read(path: &Path) -> std::io::Result<(Stimulus, u64, u64)> {
    let mut b = Vec::new();
    std::fs::File::open(path)?.read_to_end(&mut b)?;
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let mut at = 8usize;
    if b.len() < 48 || &b[..8] != b"PIFSSTM1" {
        return Err(bad("not a PIFSSTM1 stimulus file"));
    }
    let u64_at = |b: &[u8], at: &mut usize| -> std::io::Result<u64> {
        let v = b
            .get(*at..*at + 8)
            .ok_or_else(|| bad("stimulus file truncated"))?;
        *at += 8;
        Ok(u64::from_le_bytes(v.try_into().unwrap()))
    };
    let step = u64_at(&b, &mut at)?;
    let cycles = u64_at(&b, &mut at)?;
    let seed = u64_at(&b, &mut at)?;
    let n_cmds = u64_at(&b, &mut at)? as usize;
    let n_flits = u64_at(&b, &mut at)? as usize;
    let mut stim = Stimulus {
        cycles,
        ..Stimulus::default()
    };
    for _ in 0..n_cmds {
        let t = u64_at(&b, &mut at)?;
        let w = u64_at(&b, &mut at)?;
        let c = Command::decode(w)
            .ok_or_else(|| bad("stimulus file: a command word that does not decode"))?;
        stim.cmds.push((t, c));
    }
    for _ in 0..n_flits {
        let t = u64_at(&b, &mut at)?;
        let raw = b
            .get(at..at + 68)
            .ok_or_else(|| bad("stimulus file truncated"))?;
        at += 68;
        let mut words = [0u32; 17];
        for (w, q) in words.iter_mut().zip(raw.chunks_exact(4)) {
            *w = u32::from_le_bytes(q.try_into().unwrap());
        }
        stim.flits.push((t, Flit::from_words(&words)));
    }
    if at != b.len() {
        return Err(bad("stimulus file: bytes after the last flit"));
    }
    Ok((stim, step, seed))
}
