//! Packers that turn queues of CXL.mem messages into legal flit streams, the
//! way a device (S2M) or host (M2S) link layer would, with a seeded RNG
//! choosing among the legal alternatives.

use std::collections::VecDeque;

use pifs_rng::Rng;

use crate::flit::{Flit, FlitHeader, CHUNK_BYTES, PAYLOAD_BYTES};
use crate::msg::{Dir, MemMessage, Message, PackError};
use crate::slots::{header_codes, layout, offsets, Kind, Layout, G0};

/// Probability of choosing a slot-0 format that does not fit the next message.
const P_WASTE_SLOT0: f64 = 0.05;
/// Probability, per slot and per message taken, of taking nothing more in this flit.
const P_STOP: f64 = 0.1;
/// Probability of a G0 data slot when a header slot would also fit.
const P_DATA_FIRST: f64 = 0.5;

/// Per-flit packing state.
struct FlitState {
    counts: [usize; 4],
    taking: bool,
}

impl FlitState {
    fn fits(&self, msg: Option<&Message>) -> Option<Kind> {
        let kind = Kind::of(msg?);
        (self.taking && self.counts[kind.index()] < kind.max_per_flit()).then_some(kind)
    }
}

/// Direction-independent packing engine.
#[derive(Debug, Clone)]
struct Core {
    dir: Dir,
    rng: Rng,
    chunks: VecDeque<[u8; CHUNK_BYTES]>,
}

impl Core {
    fn new(dir: Dir, seed: u64) -> Self {
        Core {
            dir,
            rng: Rng::new(seed),
            chunks: VecDeque::new(),
        }
    }

    fn lookahead(&self) -> usize {
        match self.dir {
            Dir::S2M => Kind::Ndr.max_per_flit() + Kind::Drs.max_per_flit(),
            Dir::M2S => Kind::Req.max_per_flit() + Kind::Rwd.max_per_flit(),
        }
    }

    fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        options[self.rng.below(options.len() as u64) as usize]
    }

    fn next_flit(&mut self, avail: &mut VecDeque<Message>) -> Result<Option<Flit>, PackError> {
        if self.chunks.len() >= 4 {
            let mut flit = Flit::default();
            for k in 0..4 {
                if let Some(c) = self.chunks.pop_front() {
                    flit.0[k * CHUNK_BYTES..(k + 1) * CHUNK_BYTES].copy_from_slice(&c);
                }
            }
            flit.seal();
            return Ok(Some(flit));
        }
        if self.chunks.is_empty() && avail.is_empty() {
            return Ok(None);
        }
        for msg in avail.iter().take(self.lookahead()) {
            if msg.dir() != self.dir {
                return Err(PackError::WrongDirection {
                    class: msg.class(),
                    dir: self.dir,
                });
            }
            msg.validate()?;
        }
        let mut flit = Flit::default();
        let mut codes = [0u8; 4];
        let mut st = FlitState {
            counts: [0; 4],
            taking: true,
        };
        let carried = self.chunks.len();

        codes[0] = self.header_code(0, avail, &st, P_WASTE_SLOT0);
        self.fill(&mut flit, 0, codes[0], avail, &mut st)?;
        for (slot, code) in codes.iter_mut().enumerate().skip(1) {
            if slot > carried && self.rng.chance(P_STOP) {
                st.taking = false;
            }
            let data = !self.chunks.is_empty();
            let header = st.fits(avail.front()).is_some();
            let use_data = if slot <= carried {
                true
            } else if data && header {
                self.rng.chance(P_DATA_FIRST)
            } else {
                data
            };
            if use_data {
                *code = G0;
                if let Some(c) = self.chunks.pop_front() {
                    let at = Flit::slot_range(slot).start / 8;
                    flit.0[at..at + CHUNK_BYTES].copy_from_slice(&c);
                }
            } else {
                *code = self.header_code(slot, avail, &st, 0.0);
                self.fill(&mut flit, slot, *code, avail, &mut st)?;
            }
        }
        flit.set_header(&FlitHeader::protocol(codes))?;
        flit.seal();
        Ok(Some(flit))
    }

    /// A header format for `slot`: one that fits the next message when it can
    /// be taken (except with probability `waste`), else any.
    fn header_code(
        &mut self,
        slot: usize,
        avail: &VecDeque<Message>,
        st: &FlitState,
        waste: f64,
    ) -> u8 {
        let all = header_codes(self.dir, slot);
        let Some(kind) = st.fits(avail.front()) else {
            return self.pick(all);
        };
        if self.rng.chance(waste) {
            return self.pick(all);
        }
        // At most 3 header formats per slot (slots::header_codes).
        let mut fitting = [0u8; 4];
        let mut n = 0;
        for &c in all {
            if matches!(layout(self.dir, slot, c), Some(Layout::Headers(k)) if k.contains(&kind)) {
                fitting[n] = c;
                n += 1;
            }
        }
        if n == 0 {
            return self.pick(all);
        }
        self.pick(&fitting[..n])
    }

    /// Take messages from the front of `avail`, in order, into the positions
    /// of header format `code` in `slot`, queueing the data they announce.
    fn fill(
        &mut self,
        flit: &mut Flit,
        slot: usize,
        code: u8,
        avail: &mut VecDeque<Message>,
        st: &mut FlitState,
    ) -> Result<(), PackError> {
        let Some(Layout::Headers(kinds)) = layout(self.dir, slot, code) else {
            return Ok(());
        };
        let base = Flit::slot_range(slot).start;
        // At most 3 message positions per slot format (slots::layout).
        let mut positions = [(0usize, Kind::Req); 4];
        let mut n = 0;
        for p in offsets(kinds) {
            positions[n] = p;
            n += 1;
        }
        let positions = &positions[..n];
        let mut used = [false; 4];
        while let Some(kind) = st.fits(avail.front()) {
            let Some(p) = (0..positions.len()).find(|&p| !used[p] && positions[p].1 == kind) else {
                break;
            };
            let Some(msg) = avail.front() else { break };
            let at = base + positions[p].0;
            let bytes = &mut flit.0[..PAYLOAD_BYTES];
            match msg {
                Message::M2sReq(m) => m.pack_at(bytes, at)?,
                Message::M2sRwd(m, _) => m.pack_at(bytes, at)?,
                Message::S2mNdr(m) => m.pack_at(bytes, at)?,
                Message::S2mDrs(m, _) => m.pack_at(bytes, at)?,
            }
            if let Some(data) = msg.data() {
                for c in data.chunks_exact(CHUNK_BYTES) {
                    let mut chunk = [0u8; CHUNK_BYTES];
                    chunk.copy_from_slice(c);
                    self.chunks.push_back(chunk);
                }
            }
            avail.pop_front();
            used[p] = true;
            st.counts[kind.index()] += 1;
            if self.rng.chance(P_STOP) {
                st.taking = false;
            }
        }
        Ok(())
    }
}

macro_rules! packer {
    ($(#[$doc:meta])* $name:ident, $dir:expr, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name {
            core: Core,
        }

        impl $name {
            /// A packer whose choices are fixed by `seed`.
            pub fn new(seed: u64) -> Self {
                $name { core: Core::new($dir, seed) }
            }

            #[doc = concat!("Build the next flit from the ", $what, " available now (consumed from the")]
            /// front of `avail`, data order = order taken), or `None` when nothing is
            /// pending (no queued data chunks and `avail` empty).
            ///
            /// Messages must be valid and of this direction; if one that this flit
            /// would consider is not, this returns `None` and leaves `avail`
            /// untouched (see [`Self::try_next_flit`] for the reason).
            pub fn next_flit(&mut self, avail: &mut VecDeque<Message>) -> Option<Flit> {
                self.core.next_flit(avail).ok().flatten()
            }

            /// As [`Self::next_flit`], but a message with a field out of range or of
            /// the wrong direction is an error (nothing is consumed).
            pub fn try_next_flit(&mut self, avail: &mut VecDeque<Message>) -> Result<Option<Flit>, PackError> {
                self.core.next_flit(avail)
            }

            /// Data chunks announced and not yet sent.
            pub fn pending_chunks(&self) -> usize {
                self.core.chunks.len()
            }
        }
    };
}

packer!(
    /// Device-side packer for S2M NDR and DRS (+ data) messages.
    ///
    /// Header flits: Type 0, Sz 1, Ak and BE 0, credit fields 0 (credits are
    /// not modelled). Messages are taken strictly in order; the RNG picks the
    /// slot-0 format among those that fit the next message (rarely one that
    /// does not), whether a generic slot carries owed data (G0) or new
    /// headers, and when to stop taking messages early. Owed chunks roll into
    /// all-data flits while 4 or more are queued, else into slots 1..r of the
    /// next header flit. A header slot with nothing to carry gets a header
    /// format with every message Valid = 0, never an empty G0.
    S2mPacker, Dir::S2M, "S2M messages"
);

packer!(
    /// Host-side packer for M2S Req and RwD (+ data) messages; same policy as
    /// [`S2mPacker`].
    M2sPacker, Dir::M2S, "M2S messages"
);
