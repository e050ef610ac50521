//! The CXL.mem slot formats of each direction: which messages a slot format
//! code carries, in packing order from the slot's bit 0.

use crate::msg::{Dir, M2sReq, M2sRwd, MemMessage, Message, S2mDrs, S2mNdr};

/// Format code of a data slot (G0): the whole slot is one 16-byte chunk.
pub const G0: u8 = 0;

/// The four CXL.mem message headers a slot can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// M2S Req.
    Req,
    /// M2S RwD header.
    Rwd,
    /// S2M NDR.
    Ndr,
    /// S2M DRS.
    Drs,
}

impl Kind {
    /// Message width in bits.
    pub fn width(self) -> usize {
        match self {
            Kind::Req => M2sReq::WIDTH,
            Kind::Rwd => M2sRwd::WIDTH,
            Kind::Ndr => S2mNdr::WIDTH,
            Kind::Drs => S2mDrs::WIDTH,
        }
    }

    /// Most messages of this kind one flit may carry (DESIGN.md: S2M NDR 2,
    /// S2M DRS 3, M2S Req 2, M2S RwD 1).
    pub fn max_per_flit(self) -> usize {
        match self {
            Kind::Req => 2,
            Kind::Rwd => 1,
            Kind::Ndr => 2,
            Kind::Drs => 3,
        }
    }

    /// Class name, as in [`Message::class`].
    pub fn class(self) -> &'static str {
        match self {
            Kind::Req => M2sReq::CLASS,
            Kind::Rwd => M2sRwd::CLASS,
            Kind::Ndr => S2mNdr::CLASS,
            Kind::Drs => S2mDrs::CLASS,
        }
    }

    /// Whether the message announces four data chunks.
    pub fn has_data(self) -> bool {
        matches!(self, Kind::Rwd | Kind::Drs)
    }

    /// The kind of a message.
    pub fn of(msg: &Message) -> Kind {
        match msg {
            Message::M2sReq(_) => Kind::Req,
            Message::M2sRwd(..) => Kind::Rwd,
            Message::S2mNdr(_) => Kind::Ndr,
            Message::S2mDrs(..) => Kind::Drs,
        }
    }

    /// Index into per-flit counters.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// What a slot with a given format code carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// One 16-byte data chunk (G0).
    Data,
    /// Message headers packed from bit 0 in this order, each Valid or not.
    Headers(&'static [Kind]),
}

/// The layout of format `code` in slot `slot` (0 = header slot, 1-3 generic)
/// for direction `dir`, or `None` for codes that are not CXL.mem formats.
///
/// S2M: H3 = DRS + NDR, H4 = 2 NDR, H5 = 2 DRS; G0 = data, G4 = DRS + 2 NDR,
/// G5 = 2 NDR, G6 = 3 DRS. DESIGN.md leaves G5 as 3 NDR or 2 NDR; we take
/// 2 NDR, the only reading consistent with at most 2 NDR per flit.
///
/// M2S: H4 = RwD header, H5 = Req; G0 = data, G4 = Req + CXL.cache data
/// header (written as zero, ignored on decode), G5 = RwD header + CXL.cache
/// response (likewise zero and ignored).
pub fn layout(dir: Dir, slot: usize, code: u8) -> Option<Layout> {
    use Kind::*;
    let header = slot == 0;
    match (dir, header, code) {
        (Dir::S2M, true, 3) => Some(Layout::Headers(&[Drs, Ndr])),
        (Dir::S2M, true, 4) => Some(Layout::Headers(&[Ndr, Ndr])),
        (Dir::S2M, true, 5) => Some(Layout::Headers(&[Drs, Drs])),
        (Dir::S2M, false, 4) => Some(Layout::Headers(&[Drs, Ndr, Ndr])),
        (Dir::S2M, false, 5) => Some(Layout::Headers(&[Ndr, Ndr])),
        (Dir::S2M, false, 6) => Some(Layout::Headers(&[Drs, Drs, Drs])),
        (Dir::M2S, true, 4) => Some(Layout::Headers(&[Rwd])),
        (Dir::M2S, true, 5) => Some(Layout::Headers(&[Req])),
        (Dir::M2S, false, 4) => Some(Layout::Headers(&[Req])),
        (Dir::M2S, false, 5) => Some(Layout::Headers(&[Rwd])),
        (_, false, G0) => Some(Layout::Data),
        _ => None,
    }
}

/// The format codes valid for `slot` in `dir` that carry message headers.
pub fn header_codes(dir: Dir, slot: usize) -> &'static [u8] {
    match (dir, slot == 0) {
        (Dir::S2M, true) => &[3, 4, 5],
        (Dir::S2M, false) => &[4, 5, 6],
        (Dir::M2S, true) => &[4, 5],
        (Dir::M2S, false) => &[4, 5],
    }
}

/// The format's name (`H3`, `G0`, ...) for a valid CXL.mem code, else `None`.
pub fn format_name(dir: Dir, slot: usize, code: u8) -> Option<&'static str> {
    layout(dir, slot, code)?;
    const H: [&str; 8] = ["H0", "H1", "H2", "H3", "H4", "H5", "H6", "H7"];
    const G: [&str; 8] = ["G0", "G1", "G2", "G3", "G4", "G5", "G6", "G7"];
    Some(if slot == 0 {
        H[usize::from(code)]
    } else {
        G[usize::from(code)]
    })
}

/// Bit offset of each position of a header layout, from the slot's bit 0.
pub(crate) fn offsets(kinds: &[Kind]) -> impl Iterator<Item = (usize, Kind)> + '_ {
    kinds.iter().scan(0usize, |off, &k| {
        let at = *off;
        *off += k.width();
        Some((at, k))
    })
}
