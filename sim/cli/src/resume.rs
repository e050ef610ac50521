//! Checkpoint and resume of long runs (`pifs run` and `pifs compare`, `--checkpoint DIR
//! --checkpoint-every N` and `--resume DIR`).
//!
//! A checkpoint is taken between two units of work, where the run loop holds nothing in flight:
//! a port of `pifs run` (the ports run one after another, each on a fresh, reset model) or one
//! batch of one system of `pifs compare` (each batch runs on fresh models, seeded by its index).
//! So the state is what the finished units produced (sums, stats, per-batch results), encoded
//! with serde (bincode), plus an RTL section for Verilated model state (Verilator `--savable`,
//! `PortSim::save_state`), which is empty at these boundaries: no model outlives its unit.
//!
//! File `DIR/ckpt-NNNNNN.pifs` (NNNNNN = units done), little-endian:
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `PIFSCKPT` |
//! | 4 | format version (1) |
//! | 4 + n | command (`run` or `compare`), length-prefixed UTF-8 |
//! | 8 | options hash: FNV-1a of the result-relevant arguments and the batches' indices |
//! | 4 + n | build: project version and the Verilated models' build key |
//! | 8 | units done |
//! | 8 + n | state (bincode) |
//! | 8 + n | RTL state (Verilator serialization; empty at unit boundaries) |
//! | 8 | FNV-1a of every byte before it |
//!
//! Written to `.ckpt-NNNNNN.pifs.tmp`, fsynced, renamed, and the folder fsynced; the two newest
//! are kept. `--resume DIR` takes the newest whose checksum holds (falling back, with a warning,
//! to the one before when the newest is damaged); a checkpoint of another command line, another
//! build or format is refused with one line (exit 2).

use anyhow::anyhow;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub const MAGIC: &[u8; 8] = b"PIFSCKPT";
pub const VERSION: u32 = 1;
/// Checkpoints kept in the folder (the newest ones).
const KEEP: usize = 2;

/// FNV-1a (64 bit): stable across Rust releases, unlike `DefaultHasher`.
#[derive(Clone, Copy)]
pub struct Fnv(pub u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn bytes(&mut self, b: &[u8]) {
        for x in b {
            self.0 ^= *x as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    /// Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
    pub fn item(&mut self, b: &[u8]) {
        self.bytes(&(b.len() as u64).to_le_bytes());
        self.bytes(b);
    }
}

/// Flags that name where outputs and checkpoints go: not part of what a run computes.
const NOT_RESULT: &[&str] = &[
    "--checkpoint",
    "--checkpoint-every",
    "--resume",
    "--json",
    "--plot",
    "--pooled",
];

/// What a checkpoint must match to be resumed: the command, its result-relevant options and
/// the build.
#[derive(Clone, Debug)]
pub struct Identity {
    pub command: String,
    pub options: u64,
    pub build: String,
}

impl Identity {
    /// The identity of this process's command: its arguments without the output and checkpoint
    /// flags (and their values), the indices and offsets of every batch it runs, and the build.
    pub fn of_process(command: &str, batches: &[pifs_dlrm::Trace]) -> Identity {
        let args: Vec<String> = std::env::args().skip(1).collect();
        Identity::new(command, &args, batches)
    }

    pub fn new(command: &str, args: &[String], batches: &[pifs_dlrm::Trace]) -> Identity {
        let mut h = Fnv::default();
        let mut skip_value = false;
        for a in args {
            if skip_value {
                skip_value = false;
                continue;
            }
            let flag = a.split('=').next().unwrap_or("");
            if NOT_RESULT.contains(&flag) {
                skip_value = !a.contains('=');
                continue;
            }
            h.item(a.as_bytes());
        }
        for t in batches {
            h.item(&(t.tables as u64).to_le_bytes());
            h.item(&(t.batch as u64).to_le_bytes());
            for v in [&t.indices, &t.offsets] {
                h.bytes(&(v.len() as u64).to_le_bytes());
                for x in v.iter() {
                    h.bytes(&x.to_le_bytes());
                }
            }
        }
        Identity {
            command: command.to_string(),
            options: h.0,
            build: format!(
                "pifs {} rtl {}",
                env!("CARGO_PKG_VERSION"),
                pifs_sim::MODEL_BUILD_KEY
            ),
        }
    }
}

/// A checkpoint read back.
pub struct Loaded {
    pub path: PathBuf,
    pub units: u64,
    pub state: Vec<u8>,
}

fn file_name(units: u64) -> String {
    format!("ckpt-{units:06}.pifs")
}

/// Checkpoint files in `dir`, newest (most units) first.
fn listed(dir: &Path) -> anyhow::Result<Vec<(u64, PathBuf)>> {
    let rd = std::fs::read_dir(dir).map_err(|e| anyhow!("{}: cannot open: {e}", dir.display()))?;
    let mut v: Vec<(u64, PathBuf)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let n = name.strip_prefix("ckpt-")?.strip_suffix(".pifs")?;
            let units = n
                .parse()
                .ok()
                .filter(|_| n.bytes().all(|b| b.is_ascii_digit()))?;
            Some((units, e.path()))
        })
        .collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.0));
    Ok(v)
}

/// Encode a checkpoint file.
pub fn encode(id: &Identity, units: u64, state: &[u8], rtl: &[u8]) -> Vec<u8> {
    let mut b = Vec::with_capacity(64 + state.len() + rtl.len() + id.build.len());
    b.extend_from_slice(MAGIC);
    b.extend_from_slice(&VERSION.to_le_bytes());
    b.extend_from_slice(&(id.command.len() as u32).to_le_bytes());
    b.extend_from_slice(id.command.as_bytes());
    b.extend_from_slice(&id.options.to_le_bytes());
    b.extend_from_slice(&(id.build.len() as u32).to_le_bytes());
    b.extend_from_slice(id.build.as_bytes());
    b.extend_from_slice(&units.to_le_bytes());
    for part in [state, rtl] {
        b.extend_from_slice(&(part.len() as u64).to_le_bytes());
        b.extend_from_slice(part);
    }
    let mut h = Fnv::default();
    h.bytes(&b);
    b.extend_from_slice(&h.0.to_le_bytes());
    b
}

/// Why a checkpoint file was refused. `Damaged` (truncated, checksum) may fall back to an
/// older checkpoint; the others are a different command, build or format.
#[derive(Debug)]
pub enum Refused {
    Damaged(String),
    Mismatch(String),
}

/// Decode and check a checkpoint file's bytes against `id`.
pub fn decode(bytes: &[u8], id: &Identity) -> Result<(u64, Vec<u8>, Vec<u8>), Refused> {
    use Refused::*;
    if bytes.is_empty() {
        return Err(Damaged("empty file".into()));
    }
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(Mismatch(
            "magic: not a pifs checkpoint (expected PIFSCKPT at byte 0)".into(),
        ));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
    if version != VERSION {
        return Err(Mismatch(format!(
            "version: format version {version}, this pifs reads version {VERSION}"
        )));
    }
    let truncated = || Damaged("truncated or damaged: the checksum does not match".into());
    if bytes.len() < 20 {
        return Err(truncated());
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let mut h = Fnv::default();
    h.bytes(body);
    if h.0.to_le_bytes() != sum {
        return Err(truncated());
    }
    let mut r = Reader { b: body, at: 12 };
    let bad = |what: &str| Damaged(format!("{what}: malformed"));
    let command = r.string().ok_or_else(|| bad("command"))?;
    let options = r.u64().ok_or_else(|| bad("options hash"))?;
    let build = r.string().ok_or_else(|| bad("build"))?;
    let units = r.u64().ok_or_else(|| bad("units"))?;
    let state = r.blob().ok_or_else(|| bad("state"))?;
    let rtl = r.blob().ok_or_else(|| bad("rtl state"))?;
    if r.at != body.len() {
        return Err(bad("length"));
    }
    if command != id.command {
        return Err(Mismatch(format!(
            "command: written by `pifs {command}`, this is `pifs {}`",
            id.command
        )));
    }
    if options != id.options {
        return Err(Mismatch(format!(
            "options: the checkpoint is of a different command line (options hash {options:016x}, this one {:016x}); resume with the arguments of the run that wrote it",
            id.options
        )));
    }
    if build != id.build {
        return Err(Mismatch(format!(
            "build: written by another build ({build}), this is {}",
            id.build
        )));
    }
    Ok((units, state, rtl))
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.b.get(self.at..end)?;
        self.at = end;
        Some(s)
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn string(&mut self) -> Option<String> {
        let n = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }
    fn blob(&mut self) -> Option<Vec<u8>> {
        let n = usize::try_from(self.u64()?).ok()?;
        Some(self.take(n)?.to_vec())
    }
}

/// The newest usable checkpoint in `dir` (see the module doc for the fallback).
pub fn load_latest(dir: &Path, id: &Identity) -> anyhow::Result<Loaded> {
    let files = listed(dir)?;
    if files.is_empty() {
        return Err(anyhow!(
            "{}: no checkpoint to resume from (no ckpt-NNNNNN.pifs)",
            dir.display()
        ));
    }
    let mut first_err = None;
    for (i, (_, path)) in files.iter().enumerate() {
        let bytes =
            std::fs::read(path).map_err(|e| anyhow!("{}: cannot read: {e}", path.display()))?;
        match decode(&bytes, id) {
            Ok((units, state, rtl)) => {
                // `run` and `compare` checkpoint between units, where no model is alive.
                if !rtl.is_empty() {
                    return Err(anyhow!(
                        "{}: rtl state: {} bytes, but checkpoints of run and compare are taken between units and hold none",
                        path.display(),
                        rtl.len()
                    ));
                }
                if let Some(e) = first_err {
                    eprintln!(
                        "pifs: warning: {e}; resuming from the older {}",
                        path.display()
                    );
                }
                return Ok(Loaded {
                    path: path.clone(),
                    units,
                    state,
                });
            }
            Err(Refused::Mismatch(m)) => return Err(anyhow!("{}: {m}", path.display())),
            Err(Refused::Damaged(m)) => {
                let msg = format!("{}: {m}", path.display());
                if i + 1 == files.len() {
                    return Err(anyhow!(first_err.unwrap_or(msg)));
                }
                first_err.get_or_insert(msg);
            }
        }
    }
    unreachable!("the loop returns on the last file")
}

/// Writes checkpoints every `every` units into `dir`.
pub struct Writer {
    dir: PathBuf,
    every: u64,
    id: Identity,
    /// Bytes and seconds of the last checkpoint written (for the summary line).
    pub written: u64,
    pub last_bytes: u64,
    pub seconds: f64,
}

impl Writer {
    /// Create `dir`; unless the run resumes from this folder (`resuming`), the checkpoints of
    /// earlier runs in it are removed. A resumed run keeps only the newest `KEEP` (a run killed
    /// between a checkpoint's rename and the removal of the oldest leaves one more; without
    /// this, every such kill would leave another).
    pub fn new(dir: &Path, every: u64, id: Identity, resuming: bool) -> anyhow::Result<Writer> {
        if every == 0 {
            return Err(anyhow!("--checkpoint-every 0: must be at least 1"));
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow!("{}: cannot create: {e}", dir.display()))?;
        let keep = if resuming { KEEP } else { 0 };
        for (_, p) in listed(dir)?.into_iter().skip(keep) {
            std::fs::remove_file(&p)
                .map_err(|e| anyhow!("{}: cannot remove an old checkpoint: {e}", p.display()))?;
        }
        Ok(Writer {
            dir: dir.to_path_buf(),
            every,
            id,
            written: 0,
            last_bytes: 0,
            seconds: 0.0,
        })
    }

    /// Write a checkpoint after `units` units if one is due (every `every` units, and after the
    /// last unit `total`). `state` is called only then.
    pub fn maybe(
        &mut self,
        units: u64,
        total: u64,
        state: impl FnOnce() -> anyhow::Result<(Vec<u8>, Vec<u8>)>,
    ) -> anyhow::Result<()> {
        if !units.is_multiple_of(self.every) && units != total {
            return Ok(());
        }
        let started = Instant::now();
        let (st, rtl) = state()?;
        let bytes = encode(&self.id, units, &st, &rtl);
        let path = self.dir.join(file_name(units));
        let tmp = self.dir.join(format!(".{}.tmp", file_name(units)));
        let res = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            drop(f);
            std::fs::rename(&tmp, &path)?;
            // The rename itself reaches the disk with the folder.
            std::fs::File::open(&self.dir)?.sync_all()
        })();
        if let Err(e) = res {
            let _ = std::fs::remove_file(&tmp);
            return Err(anyhow!(
                "{}: cannot write a checkpoint: {e}",
                path.display()
            ));
        }
        for (_, old) in listed(&self.dir)?.into_iter().skip(KEEP) {
            let _ = std::fs::remove_file(old);
        }
        self.written += 1;
        self.last_bytes = bytes.len() as u64;
        self.seconds += started.elapsed().as_secs_f64();
        Ok(())
    }

    /// One stderr line: how many checkpoints, their size and the time spent writing them.
    pub fn summary(&self) -> String {
        format!(
            "{} checkpoint(s) in {}, last {} bytes, {:.2} ms each on average",
            self.written,
            self.dir.display(),
            self.last_bytes,
            if self.written > 0 {
                self.seconds * 1e3 / self.written as f64
            } else {
                0.0
            }
        )
    }
}

/// The checkpoint flags `pifs run` and `pifs compare` share.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct CheckpointArgs {
    /// Write checkpoints into DIR (created; unless --resume names DIR, older checkpoints there
    /// are removed): ckpt-NNNNNN.pifs after every --checkpoint-every units (compare: a batch of
    /// one system; run: a port) and after the last; the two newest are kept.
    #[arg(long, value_name = "DIR")]
    pub checkpoint: Option<PathBuf>,
    /// Units of work between two checkpoints.
    #[arg(long, value_name = "N", default_value_t = 1, requires = "checkpoint")]
    pub checkpoint_every: u64,
    /// Continue from the newest checkpoint in DIR; give the arguments of the run that wrote it
    /// (outputs may go elsewhere). The outputs equal those of an uninterrupted run.
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
}

impl CheckpointArgs {
    /// The checkpoint to resume from (if --resume) and the writer (if --checkpoint).
    pub fn open(&self, id: &Identity) -> anyhow::Result<(Option<Loaded>, Option<Writer>)> {
        let loaded = self
            .resume
            .as_deref()
            .map(|d| load_latest(d, id))
            .transpose()?;
        // Checkpoints already in the folder are kept only when the run continues from them.
        let same = |d: &Path| {
            let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            self.resume.as_deref().is_some_and(|r| canon(r) == canon(d))
        };
        let writer = self
            .checkpoint
            .as_deref()
            .map(|d| Writer::new(d, self.checkpoint_every, id.clone(), same(d)))
            .transpose()?;
        Ok((loaded, writer))
    }
}

/// bincode, with the error naming the checkpoint.
pub fn to_bytes<T: serde::Serialize>(v: &T) -> anyhow::Result<Vec<u8>> {
    bincode::serialize(v).map_err(|e| anyhow!("checkpoint state: {e}"))
}

pub fn from_bytes<T: serde::de::DeserializeOwned>(path: &Path, b: &[u8]) -> anyhow::Result<T> {
    bincode::deserialize(b).map_err(|e| anyhow!("{}: state: cannot decode: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh run empties the folder; a resumed one keeps the newest `KEEP` checkpoints, so
    /// leftovers of runs killed between a rename and the removal of the oldest do not pile up.
    #[test]
    fn writer_keeps_the_newest_when_resuming_and_nothing_otherwise() {
        let dir = std::env::temp_dir().join(format!("pifs-writer-{}", std::process::id()));
        let id = Identity {
            command: "run".into(),
            options: 1,
            build: "b".into(),
        };
        let fill = || {
            for u in 1..=4 {
                std::fs::write(dir.join(file_name(u)), b"x").unwrap();
            }
        };
        std::fs::create_dir_all(&dir).unwrap();
        fill();
        Writer::new(&dir, 1, id.clone(), true).unwrap();
        let left: Vec<u64> = listed(&dir).unwrap().into_iter().map(|(u, _)| u).collect();
        assert_eq!(left, vec![4, 3]);
        fill();
        Writer::new(&dir, 1, id, false).unwrap();
        assert!(listed(&dir).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
