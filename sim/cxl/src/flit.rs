//! The 68-byte-mode flit as the link layer sees it: 64 payload bytes and a
//! 2-byte CRC, with its 32-bit header and its hex and word forms.

use std::fmt;

use bitvec::prelude::*;
use thiserror::Error;

use crate::crc::crc16;
use crate::msg::{Bits, PackError};

/// Bytes in a flit on the wire: 64 payload + 2 CRC, byte 0 first.
pub const FLIT_BYTES: usize = 66;
/// Payload bytes covered by the CRC.
pub const PAYLOAD_BYTES: usize = 64;
/// Bytes in a slot or data chunk.
pub const CHUNK_BYTES: usize = 16;
/// Hex characters in the text form of a flit.
pub const HEX_CHARS: usize = 2 * FLIT_BYTES;

/// A flit line that is not 132 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HexError {
    /// Wrong number of characters (after trimming surrounding whitespace).
    #[error("flit hex has length {0}, expected 132 hex characters")]
    Length(usize),
    /// A character that is not a hex digit; `column` counts from 1 in the line as given.
    #[error("bad hex character {ch:?} at column {column}")]
    BadChar {
        /// 1-based column in the line as given.
        column: usize,
        /// The offending character.
        ch: char,
    },
}

/// One flit: bytes 0-3 header, 4-63 slots, 64-65 CRC (little-endian).
/// Flit bit i is bit (i mod 8) of byte i/8.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Flit(pub [u8; FLIT_BYTES]);

impl Default for Flit {
    fn default() -> Self {
        Flit([0; FLIT_BYTES])
    }
}

impl fmt::Display for Flit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl Flit {
    /// Parse exactly 132 hex digits, byte 0 first (surrounding whitespace ignored).
    pub fn from_hex(line: &str) -> Result<Flit, HexError> {
        let lead = line.len() - line.trim_start().len();
        let text = line.trim();
        let n = text.chars().count();
        if n != HEX_CHARS {
            return Err(HexError::Length(n));
        }
        let mut nibbles = [0u8; HEX_CHARS];
        for (i, ch) in text.chars().enumerate() {
            let v = ch.to_digit(16).ok_or(HexError::BadChar {
                column: line[..lead].chars().count() + i + 1,
                ch,
            })?;
            nibbles[i] = v as u8;
        }
        let mut bytes = [0u8; FLIT_BYTES];
        for (b, pair) in bytes.iter_mut().zip(nibbles.chunks_exact(2)) {
            *b = (pair[0] << 4) | pair[1];
        }
        Ok(Flit(bytes))
    }

    /// 132 lowercase hex digits, byte 0 first.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The CRC stored in bytes 64-65 (little-endian).
    pub fn stored_crc(&self) -> u16 {
        u16::from_le_bytes([self.0[64], self.0[65]])
    }

    /// The CRC of bytes 0-63.
    pub fn computed_crc(&self) -> u16 {
        crc16(&self.0[..PAYLOAD_BYTES])
    }

    /// Whether the stored CRC matches the payload.
    pub fn crc_ok(&self) -> bool {
        self.stored_crc() == self.computed_crc()
    }

    /// Compute the CRC over bytes 0-63 and store it little-endian in bytes 64-65.
    pub fn seal(&mut self) {
        let crc = self.computed_crc().to_le_bytes();
        self.0[64] = crc[0];
        self.0[65] = crc[1];
    }

    /// The 528 flit bits as 17 words: flit bit i is bit (i mod 32) of word
    /// i/32; the top 16 bits of word 16 are zero. This is the RTL's view.
    pub fn to_words(&self) -> [u32; 17] {
        let mut words = [0u32; 17];
        for (w, quad) in words.iter_mut().zip(self.0.chunks(4)) {
            let mut le = [0u8; 4];
            le[..quad.len()].copy_from_slice(quad);
            *w = u32::from_le_bytes(le);
        }
        words
    }

    /// Inverse of [`Flit::to_words`]; the top 16 bits of word 16 are ignored.
    pub fn from_words(words: &[u32; 17]) -> Flit {
        let mut bytes = [0u8; FLIT_BYTES];
        for (quad, w) in bytes.chunks_mut(4).zip(words) {
            let n = quad.len();
            quad.copy_from_slice(&w.to_le_bytes()[..n]);
        }
        Flit(bytes)
    }

    /// The flit header from bytes 0-3 (meaningless for an all-data flit).
    pub fn header(&self) -> FlitHeader {
        FlitHeader::unpack(u32::from_le_bytes([
            self.0[0], self.0[1], self.0[2], self.0[3],
        ]))
    }

    /// Write `header` into bytes 0-3.
    pub fn set_header(&mut self, header: &FlitHeader) -> Result<(), PackError> {
        let word = header.pack()?;
        self.0[..4].copy_from_slice(&word.to_le_bytes());
        Ok(())
    }

    /// The 512 payload bits.
    pub fn bits(&self) -> &Bits {
        self.0[..PAYLOAD_BYTES].view_bits::<Lsb0>()
    }

    /// The 512 payload bits, mutable.
    pub fn bits_mut(&mut self) -> &mut Bits {
        self.0[..PAYLOAD_BYTES].view_bits_mut::<Lsb0>()
    }

    /// Flit bit range of slot `s` (0..4): slot 0 is [32,128), slot s is [128s, 128s+128).
    pub fn slot_range(s: usize) -> std::ops::Range<usize> {
        if s == 0 {
            32..128
        } else {
            128 * s..128 * s + 128
        }
    }
}

/// Flit type (header bit 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlitType {
    /// Protocol flit (0): carries messages.
    Protocol,
    /// Link-layer control flit (1): carries no protocol messages.
    Control,
}

/// The 32-bit flit header. Bits: 0 Type, 1 reserved, 2 Ak, 3 BE, 4 Sz,
/// 7:5 Slot0, 10:8 Slot1, 13:11 Slot2, 16:14 Slot3, 19:17 reserved,
/// 23:20 RspCrd, 27:24 ReqCrd, 31:28 DataCrd.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlitHeader {
    /// Type.
    pub ty: FlitType,
    /// Ak (retry acknowledge).
    pub ak: bool,
    /// BE (byte enables present).
    pub be: bool,
    /// Sz (1 = 64 B data).
    pub sz: bool,
    /// Slot format codes, 3 bits each.
    pub slots: [u8; 4],
    /// RspCrd, 4 bits.
    pub rsp_crd: u8,
    /// ReqCrd, 4 bits.
    pub req_crd: u8,
    /// DataCrd, 4 bits.
    pub data_crd: u8,
}

impl FlitHeader {
    /// A protocol header with these slot formats: Sz = 1, Ak = BE = 0, no credits returned.
    pub fn protocol(slots: [u8; 4]) -> Self {
        FlitHeader {
            ty: FlitType::Protocol,
            ak: false,
            be: false,
            sz: true,
            slots,
            rsp_crd: 0,
            req_crd: 0,
            data_crd: 0,
        }
    }

    /// The header word; errors when a slot code exceeds 3 bits or a credit 4 bits.
    pub fn pack(&self) -> Result<u32, PackError> {
        let range = |field: &'static str, value: u8, max: u8| {
            if value > max {
                Err(PackError::FieldRange {
                    class: "flit header",
                    field,
                    value: value.into(),
                    max: max.into(),
                })
            } else {
                Ok(u32::from(value))
            }
        };
        let mut w = u32::from(self.ty == FlitType::Control)
            | u32::from(self.ak) << 2
            | u32::from(self.be) << 3
            | u32::from(self.sz) << 4;
        for (i, &code) in self.slots.iter().enumerate() {
            w |= range("slot format", code, 7)? << (5 + 3 * i);
        }
        w |= range("rsp_crd", self.rsp_crd, 15)? << 20;
        w |= range("req_crd", self.req_crd, 15)? << 24;
        w |= range("data_crd", self.data_crd, 15)? << 28;
        Ok(w)
    }

    /// Decode a header word; reserved bits are ignored.
    pub fn unpack(w: u32) -> Self {
        let field = |lo: u32, width: u32| ((w >> lo) & ((1 << width) - 1)) as u8;
        FlitHeader {
            ty: if w & 1 == 0 {
                FlitType::Protocol
            } else {
                FlitType::Control
            },
            ak: w & (1 << 2) != 0,
            be: w & (1 << 3) != 0,
            sz: w & (1 << 4) != 0,
            slots: [field(5, 3), field(8, 3), field(11, 3), field(14, 3)],
            rsp_crd: field(20, 4),
            req_crd: field(24, 4),
            data_crd: field(28, 4),
        }
    }
}
