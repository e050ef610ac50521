//! Stateful flit-stream decoding: slot formats, data-chunk tracking across
//! flits, the per-flit limits, and the JSON report of a whole stream.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::flit::{Flit, FlitType, CHUNK_BYTES, PAYLOAD_BYTES};
use crate::msg::{Dir, M2sReq, M2sRwd, MemMessage, Message, MsgDecodeError, S2mDrs, S2mNdr};
use crate::slots::{layout, offsets, Kind, Layout};

/// A flit that breaks a CXL.mem packing rule.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PackingError {
    /// A slot format code that is not a CXL.mem format of this direction.
    #[error("slot {slot} has format code {code}, not a CXL.mem format for {dir}")]
    UnknownSlotFormat {
        /// Slot index 0-3.
        slot: usize,
        /// The 3-bit code.
        code: u8,
        /// Stream direction.
        dir: Dir,
    },
    /// A valid message whose fields do not decode.
    #[error("slot {slot}: {source}")]
    Message {
        /// Slot index 0-3.
        slot: usize,
        /// What is wrong with the message.
        source: MsgDecodeError,
    },
    /// A G0 slot while no data chunk is owed.
    #[error("slot {slot} is G0 but no data chunk is queued")]
    G0WithoutData {
        /// Slot index 1-3.
        slot: usize,
    },
    /// Chunks carried over from the previous flit are not in slots 1..=r.
    #[error("{carried} data chunk(s) carried over must be in slots 1..={carried}, slot {slot} is not G0; dropped data messages with tags {dropped:?}")]
    MissingCarryOver {
        /// Chunks owed at the start of the flit.
        carried: usize,
        /// First slot among 1..=carried that is not G0.
        slot: usize,
        /// Tags of the data messages abandoned to resynchronise.
        dropped: Vec<u16>,
    },
    /// More messages of one class than a flit may carry.
    #[error("{count} {class} messages in one flit, at most {max} allowed")]
    TooMany {
        /// Message class.
        class: &'static str,
        /// How many the flit carries.
        count: usize,
        /// The limit.
        max: usize,
    },
}

/// Why a flit could not be decoded cleanly.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The stored CRC does not match the payload.
    #[error("CRC mismatch: computed {computed:#06x}, stored {stored:#06x}")]
    Crc {
        /// CRC of bytes 0-63.
        computed: u16,
        /// CRC in bytes 64-65.
        stored: u16,
    },
    /// A packing rule is broken.
    #[error("packing error: {0}")]
    Packing(#[from] PackingError),
}

/// What one flit produced when decoded leniently.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlitOutcome {
    /// Messages completed by this flit, in completion order.
    pub messages: Vec<Message>,
    /// Every rule this flit broke (empty for a clean flit).
    pub errors: Vec<DecodeError>,
}

/// How the decoder read the last flit pushed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlitKind {
    /// A protocol flit with a header and four slots.
    Header,
    /// An all-data flit: four queued chunks, no header.
    AllData,
    /// A link-layer control flit, skipped.
    Control,
    /// A flit with a bad CRC, skipped.
    BadCrc,
}

/// What one header position held.
enum Read {
    Absent,
    Ready(Message),
    Queued,
}

#[derive(Debug, Clone)]
enum DataHeader {
    Drs(S2mDrs),
    Rwd(M2sRwd),
}

#[derive(Debug, Clone)]
struct Pending {
    header: DataHeader,
    data: [u8; 64],
    got: usize,
}

impl Pending {
    fn tag(&self) -> u16 {
        match &self.header {
            DataHeader::Drs(m) => m.tag,
            DataHeader::Rwd(m) => m.tag,
        }
    }
}

/// Decodes a stream of flits of one direction, tracking owed data chunks.
///
/// Error recovery (used by [`decode_stream`]): a flit with a bad CRC is
/// skipped and changes nothing (as if the link layer would replay it); an
/// unknown slot format or undecodable message is ignored; a G0 slot with no
/// data owed is ignored; when carried-over chunks are missing, the data
/// messages still owed are dropped and the flit is then read normally;
/// too many messages of a class are reported but kept.
#[derive(Debug, Clone)]
pub struct Decoder {
    dir: Dir,
    pending: VecDeque<Pending>,
    last: Option<FlitKind>,
}

impl Decoder {
    /// A decoder for a stream in direction `dir`, with nothing owed.
    pub fn new(dir: Dir) -> Self {
        Decoder {
            dir,
            pending: VecDeque::new(),
            last: None,
        }
    }

    /// The stream direction.
    pub fn dir(&self) -> Dir {
        self.dir
    }

    /// Data chunks announced and not yet received.
    pub fn queued_chunks(&self) -> usize {
        self.pending.iter().map(|p| 4 - p.got).sum()
    }

    /// Whether the next flit will be read as an all-data flit.
    pub fn all_data_due(&self) -> bool {
        self.queued_chunks() >= 4
    }

    /// Tags of the data messages still waiting for chunks, oldest first.
    pub fn pending_tags(&self) -> Vec<u16> {
        self.pending.iter().map(Pending::tag).collect()
    }

    /// How the last flit pushed was read.
    pub fn last_kind(&self) -> Option<FlitKind> {
        self.last
    }

    /// Decode one flit; returns the messages that became complete with this
    /// flit (NDR/Req at once, DRS/RwD when their 4th data chunk arrives), in
    /// completion order. On an error the decoder has recovered as described
    /// on [`Decoder`] and the messages completed by this flit are dropped;
    /// use [`Decoder::push_lenient`] to keep them.
    pub fn push(&mut self, flit: &Flit) -> Result<Vec<Message>, DecodeError> {
        let mut out = self.push_lenient(flit);
        if out.errors.is_empty() {
            Ok(out.messages)
        } else {
            Err(out.errors.swap_remove(0))
        }
    }

    /// Decode one flit, keeping everything that could be read alongside the
    /// errors found.
    pub fn push_lenient(&mut self, flit: &Flit) -> FlitOutcome {
        let mut out = FlitOutcome::default();
        self.decode(flit, &mut out.messages, &mut out.errors);
        out
    }

    /// As [`Decoder::push`], appending the completed messages to `out` (nothing is appended
    /// on an error): no allocation per flit for callers that reuse `out`.
    pub fn push_into(&mut self, flit: &Flit, out: &mut Vec<Message>) -> Result<(), DecodeError> {
        let start = out.len();
        let mut errors = Vec::new();
        self.decode(flit, out, &mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            out.truncate(start);
            Err(errors.swap_remove(0))
        }
    }

    /// Decode one flit: completed messages to `msgs`, broken rules to `errors`.
    fn decode(&mut self, flit: &Flit, msgs: &mut Vec<Message>, errors: &mut Vec<DecodeError>) {
        if !flit.crc_ok() {
            self.last = Some(FlitKind::BadCrc);
            errors.push(DecodeError::Crc {
                computed: flit.computed_crc(),
                stored: flit.stored_crc(),
            });
            return;
        }
        if self.all_data_due() {
            self.last = Some(FlitKind::AllData);
            for k in 0..4 {
                self.deliver(&flit.0[k * CHUNK_BYTES..(k + 1) * CHUNK_BYTES], msgs);
            }
            return;
        }
        let header = flit.header();
        if header.ty == FlitType::Control {
            self.last = Some(FlitKind::Control);
            return;
        }
        self.last = Some(FlitKind::Header);
        let carried = self.queued_chunks();
        if let Some(slot) = (1..=carried).find(|&s| header.slots[s] != crate::slots::G0) {
            let dropped = self.pending.drain(..).map(|p| p.tag()).collect();
            errors.push(
                PackingError::MissingCarryOver {
                    carried,
                    slot,
                    dropped,
                }
                .into(),
            );
        }
        let mut counts = [0usize; 4];
        for (slot, &code) in header.slots.iter().enumerate() {
            let range = Flit::slot_range(slot);
            match layout(self.dir, slot, code) {
                None => errors.push(
                    PackingError::UnknownSlotFormat {
                        slot,
                        code,
                        dir: self.dir,
                    }
                    .into(),
                ),
                Some(Layout::Data) => {
                    if self.pending.is_empty() {
                        errors.push(PackingError::G0WithoutData { slot }.into());
                    } else {
                        let bytes = &flit.0[range.start / 8..range.end / 8];
                        self.deliver(bytes, msgs);
                    }
                }
                Some(Layout::Headers(kinds)) => {
                    for (off, kind) in offsets(kinds) {
                        let bytes = &flit.0[..PAYLOAD_BYTES];
                        match self.read_header(kind, bytes, range.start + off) {
                            Ok(Read::Absent) => {}
                            Ok(Read::Queued) => counts[kind.index()] += 1,
                            Ok(Read::Ready(msg)) => {
                                counts[kind.index()] += 1;
                                msgs.push(msg);
                            }
                            Err(source) => {
                                errors.push(PackingError::Message { slot, source }.into())
                            }
                        }
                    }
                }
            }
        }
        for kind in [Kind::Req, Kind::Rwd, Kind::Ndr, Kind::Drs] {
            let count = counts[kind.index()];
            if count > kind.max_per_flit() {
                errors.push(
                    PackingError::TooMany {
                        class: kind.class(),
                        count,
                        max: kind.max_per_flit(),
                    }
                    .into(),
                );
            }
        }
    }

    /// Read the message of `kind` at `bits`: a data header is queued for its chunks.
    fn read_header(&mut self, kind: Kind, bytes: &[u8], at: usize) -> Result<Read, MsgDecodeError> {
        let header = match kind {
            Kind::Req => {
                return Ok(M2sReq::unpack_at(bytes, at)?
                    .map_or(Read::Absent, |m| Read::Ready(Message::M2sReq(m))))
            }
            Kind::Ndr => {
                return Ok(S2mNdr::unpack_at(bytes, at)?
                    .map_or(Read::Absent, |m| Read::Ready(Message::S2mNdr(m))))
            }
            Kind::Drs => S2mDrs::unpack_at(bytes, at)?.map(DataHeader::Drs),
            Kind::Rwd => M2sRwd::unpack_at(bytes, at)?.map(DataHeader::Rwd),
        };
        Ok(match header {
            Some(header) => {
                self.pending.push_back(Pending {
                    header,
                    data: [0; 64],
                    got: 0,
                });
                Read::Queued
            }
            None => Read::Absent,
        })
    }

    /// Hand one 16-byte chunk to the oldest data message still owed data.
    fn deliver(&mut self, chunk: &[u8], done: &mut Vec<Message>) {
        let Some(front) = self.pending.front_mut() else {
            return;
        };
        let at = front.got * CHUNK_BYTES;
        front.data[at..at + CHUNK_BYTES].copy_from_slice(chunk);
        front.got += 1;
        if front.got == 4 {
            if let Some(p) = self.pending.pop_front() {
                let data = Box::new(p.data);
                done.push(match p.header {
                    DataHeader::Drs(m) => Message::S2mDrs(m, data),
                    DataHeader::Rwd(m) => Message::M2sRwd(m, data),
                });
            }
        }
    }
}

/// One decoded message in the CLI's JSON form (`class` names the variant).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "class")]
pub enum MessageJson {
    /// M2S request without data.
    #[serde(rename = "M2S_Req")]
    M2sReq {
        /// Spec name of the opcode.
        opcode: String,
        /// Tag.
        tag: u16,
        /// Byte address.
        addr: u64,
        /// SnpType.
        snp_type: u8,
        /// MetaField.
        meta_field: u8,
        /// MetaValue.
        meta_value: u8,
        /// Traffic class.
        tc: u8,
        /// Logical device id.
        ld_id: u8,
    },
    /// M2S request with data.
    #[serde(rename = "M2S_RwD")]
    M2sRwd {
        /// Spec name of the opcode.
        opcode: String,
        /// Tag.
        tag: u16,
        /// Byte address.
        addr: u64,
        /// Poison.
        poison: bool,
        /// 64 data bytes as 128 hex characters, byte 0 first.
        data: String,
        /// SnpType.
        snp_type: u8,
        /// MetaField.
        meta_field: u8,
        /// MetaValue.
        meta_value: u8,
        /// Traffic class.
        tc: u8,
        /// Logical device id.
        ld_id: u8,
    },
    /// S2M response without data.
    #[serde(rename = "S2M_NDR")]
    S2mNdr {
        /// Spec name of the opcode.
        opcode: String,
        /// Tag.
        tag: u16,
        /// MetaField.
        meta_field: u8,
        /// MetaValue.
        meta_value: u8,
        /// Logical device id.
        ld_id: u8,
        /// DevLoad.
        dev_load: u8,
    },
    /// S2M response with data.
    #[serde(rename = "S2M_DRS")]
    S2mDrs {
        /// Spec name of the opcode.
        opcode: String,
        /// Tag.
        tag: u16,
        /// Poison.
        poison: bool,
        /// 64 data bytes as 128 hex characters, byte 0 first.
        data: String,
        /// MetaField.
        meta_field: u8,
        /// MetaValue.
        meta_value: u8,
        /// Logical device id.
        ld_id: u8,
        /// DevLoad.
        dev_load: u8,
    },
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

impl From<&Message> for MessageJson {
    fn from(msg: &Message) -> Self {
        match msg {
            Message::M2sReq(m) => MessageJson::M2sReq {
                opcode: m.opcode.name().to_string(),
                tag: m.tag,
                addr: m.addr,
                snp_type: m.snp_type,
                meta_field: m.meta_field,
                meta_value: m.meta_value,
                tc: m.tc,
                ld_id: m.ld_id,
            },
            Message::M2sRwd(m, d) => MessageJson::M2sRwd {
                opcode: m.opcode.name().to_string(),
                tag: m.tag,
                addr: m.addr,
                poison: m.poison,
                data: hex(&d[..]),
                snp_type: m.snp_type,
                meta_field: m.meta_field,
                meta_value: m.meta_value,
                tc: m.tc,
                ld_id: m.ld_id,
            },
            Message::S2mNdr(m) => MessageJson::S2mNdr {
                opcode: m.opcode.name().to_string(),
                tag: m.tag,
                meta_field: m.meta_field,
                meta_value: m.meta_value,
                ld_id: m.ld_id,
                dev_load: m.dev_load,
            },
            Message::S2mDrs(m, d) => MessageJson::S2mDrs {
                opcode: m.opcode.name().to_string(),
                tag: m.tag,
                poison: m.poison,
                data: hex(&d[..]),
                meta_field: m.meta_field,
                meta_value: m.meta_value,
                ld_id: m.ld_id,
                dev_load: m.dev_load,
            },
        }
    }
}

/// Result of decoding a whole stream, as `pifs flit decode --json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecodeReport {
    /// Flits read.
    pub flits: usize,
    /// Flits skipped for a bad CRC.
    pub crc_errors: usize,
    /// Complete messages, in completion order.
    pub messages: Vec<MessageJson>,
    /// Packing errors, each prefixed with its flit index (`flit N: ...`),
    /// plus one `end of stream: ...` entry when data is still owed at the end.
    pub errors: Vec<String>,
}

/// Decode a stream of flits of direction `dir`: CRC errors are counted and
/// the flit skipped; packing errors are recorded and decoding goes on.
pub fn decode_stream(dir: Dir, flits: &[Flit]) -> DecodeReport {
    let mut dec = Decoder::new(dir);
    let mut report = DecodeReport {
        flits: flits.len(),
        crc_errors: 0,
        messages: Vec::new(),
        errors: Vec::new(),
    };
    for (i, flit) in flits.iter().enumerate() {
        let out = dec.push_lenient(flit);
        report
            .messages
            .extend(out.messages.iter().map(MessageJson::from));
        for e in out.errors {
            match e {
                DecodeError::Crc { .. } => report.crc_errors += 1,
                DecodeError::Packing(p) => report.errors.push(format!("flit {i}: {p}")),
            }
        }
    }
    let owed = dec.queued_chunks();
    if owed > 0 {
        report.errors.push(format!(
            "end of stream: {owed} data chunk(s) still owed to tags {:?}",
            dec.pending_tags()
        ));
    }
    report
}
