//! CXL.mem messages (CXL 2.0 widths) and their bit-exact packing, LSB first,
//! at the positions DESIGN.md section 6 lists.

use std::fmt;
use std::str::FromStr;

use bitvec::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Bits as laid out in a flit: bit i is bit (i mod 8) of byte i/8.
pub type Bits = BitSlice<u8, Lsb0>;

/// Link direction: host to device (M2S) or device to host (S2M).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dir {
    /// Master to subordinate (host to device): Req and RwD.
    M2S,
    /// Subordinate to master (device to host): NDR and DRS.
    S2M,
}

impl fmt::Display for Dir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dir::M2S => "m2s",
            Dir::S2M => "s2m",
        })
    }
}

/// A direction name other than `m2s` or `s2m`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown direction {0:?}: expected m2s or s2m")]
pub struct ParseDirError(pub String);

impl FromStr for Dir {
    type Err = ParseDirError;

    /// Accepts `m2s` or `s2m`, in any letter case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "m2s" => Ok(Dir::M2S),
            "s2m" => Ok(Dir::S2M),
            _ => Err(ParseDirError(s.to_string())),
        }
    }
}

/// A message that cannot be packed: a field does not fit its bits, or the
/// message does not travel in the packer's direction.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PackError {
    /// A field value wider than its bit field.
    #[error("{class} field {field} = {value} exceeds its maximum {max}")]
    FieldRange {
        /// Message class (`M2S_Req`, ...).
        class: &'static str,
        /// Field name.
        field: &'static str,
        /// The value given.
        value: u64,
        /// The largest value the field holds.
        max: u64,
    },
    /// A byte address that is not a multiple of the field's granule, or is
    /// beyond 52 bits.
    #[error("{class} address {addr:#x} is not a multiple of {align} below 2^52")]
    Addr {
        /// Message class.
        class: &'static str,
        /// The byte address given.
        addr: u64,
        /// The required alignment in bytes (32 for Req, 64 for RwD).
        align: u64,
    },
    /// The bit slice handed to `pack` is shorter than the message.
    #[error("{class} needs {need} bits, slice has {got}")]
    Short {
        /// Message class.
        class: &'static str,
        /// Message width in bits.
        need: usize,
        /// Length of the slice given.
        got: usize,
    },
    /// A message given to the packer of the other direction.
    #[error("{class} message cannot travel {dir}")]
    WrongDirection {
        /// Message class.
        class: &'static str,
        /// The packer's direction.
        dir: Dir,
    },
}

/// A message field that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MsgDecodeError {
    /// An opcode encoding the project does not define for this class.
    #[error("{class} has unknown opcode {code:#06b}")]
    UnknownOpcode {
        /// Message class.
        class: &'static str,
        /// The raw opcode field.
        code: u8,
    },
    /// The bit slice is shorter than the message.
    #[error("{class} needs {need} bits, slice has {got}")]
    Short {
        /// Message class.
        class: &'static str,
        /// Message width in bits.
        need: usize,
        /// Length of the slice given.
        got: usize,
    },
}

macro_rules! opcode_enum {
    ($(#[$doc:meta])* $name:ident, $class:literal { $($(#[$vdoc:meta])* $var:ident = $code:literal, $spec:literal;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $spec)] $var,)*
        }

        impl $name {
            /// Every opcode of this class.
            pub const ALL: &'static [$name] = &[$($name::$var,)*];

            /// The opcode's encoding.
            pub fn code(self) -> u8 {
                match self { $($name::$var => $code,)* }
            }

            /// The opcode with this encoding, if the class defines one.
            pub fn from_code(code: u8) -> Option<Self> {
                match code { $($code => Some($name::$var),)* _ => None }
            }

            /// The specification's name of the opcode.
            pub fn name(self) -> &'static str {
                match self { $($name::$var => $spec,)* }
            }

            fn decode(code: u64) -> Result<Self, MsgDecodeError> {
                Self::from_code(code as u8)
                    .ok_or(MsgDecodeError::UnknownOpcode { class: $class, code: code as u8 })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

opcode_enum!(
    /// M2S Req MemOpcode (4 bits).
    ReqOpcode, "M2S_Req" {
        /// Invalidate (0000).
        MemInv = 0b0000, "MemInv";
        /// Read (0001).
        MemRd = 0b0001, "MemRd";
        /// Read data only (0010).
        MemRdData = 0b0010, "MemRdData";
        /// Speculative read (1000).
        MemSpecRd = 0b1000, "MemSpecRd";
    }
);

opcode_enum!(
    /// M2S RwD MemOpcode (4 bits).
    RwdOpcode, "M2S_RwD" {
        /// Full-line write (0001).
        MemWr = 0b0001, "MemWr";
        /// Partial write (0010).
        MemWrPtl = 0b0010, "MemWrPtl";
    }
);

opcode_enum!(
    /// S2M NDR opcode (3 bits).
    NdrOpcode, "S2M_NDR" {
        /// Completion (000).
        Cmp = 0b000, "Cmp";
        /// Completion, shared (001).
        CmpS = 0b001, "Cmp-S";
        /// Completion, exclusive (010).
        CmpE = 0b010, "Cmp-E";
    }
);

opcode_enum!(
    /// S2M DRS opcode (3 bits).
    DrsOpcode, "S2M_DRS" {
        /// Read data (000).
        MemData = 0b000, "MemData";
    }
);

/// MetaField value meaning "no meta-data operation".
pub const META_FIELD_NOP: u8 = 0b11;
/// SnpType value meaning "no snoop".
pub const SNP_TYPE_NOP: u8 = 0b000;
/// Largest byte address a Req or RwD can carry (Addr[51:...]), exclusive.
pub const ADDR_LIMIT: u64 = 1 << 52;

/// M2S request without data (87 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct M2sReq {
    /// MemOpcode.
    pub opcode: ReqOpcode,
    /// SnpType (3 bits).
    pub snp_type: u8,
    /// MetaField (2 bits).
    pub meta_field: u8,
    /// MetaValue (2 bits).
    pub meta_value: u8,
    /// Tag.
    pub tag: u16,
    /// Byte address, a multiple of 32 below 2^52 (carried as `Addr[51:5]`).
    pub addr: u64,
    /// Traffic class (2 bits).
    pub tc: u8,
    /// Logical device id (4 bits).
    pub ld_id: u8,
}

/// M2S request with data: the 87-bit header (its 64 data bytes travel as
/// four 16-byte chunks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct M2sRwd {
    /// MemOpcode.
    pub opcode: RwdOpcode,
    /// SnpType (3 bits).
    pub snp_type: u8,
    /// MetaField (2 bits).
    pub meta_field: u8,
    /// MetaValue (2 bits).
    pub meta_value: u8,
    /// Tag.
    pub tag: u16,
    /// Byte address, a multiple of 64 below 2^52 (carried as `Addr[51:6]`).
    pub addr: u64,
    /// Data poisoned.
    pub poison: bool,
    /// Traffic class (2 bits).
    pub tc: u8,
    /// Logical device id (4 bits).
    pub ld_id: u8,
}

/// S2M no-data response (30 bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct S2mNdr {
    /// Opcode.
    pub opcode: NdrOpcode,
    /// MetaField (2 bits).
    pub meta_field: u8,
    /// MetaValue (2 bits).
    pub meta_value: u8,
    /// Tag.
    pub tag: u16,
    /// Logical device id (4 bits).
    pub ld_id: u8,
    /// DevLoad (2 bits).
    pub dev_load: u8,
}

/// S2M data response header (40 bits; its 64 data bytes travel as four
/// 16-byte chunks).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct S2mDrs {
    /// Opcode.
    pub opcode: DrsOpcode,
    /// MetaField (2 bits).
    pub meta_field: u8,
    /// MetaValue (2 bits).
    pub meta_value: u8,
    /// Tag.
    pub tag: u16,
    /// Data poisoned.
    pub poison: bool,
    /// Logical device id (4 bits).
    pub ld_id: u8,
    /// DevLoad (2 bits).
    pub dev_load: u8,
}

impl M2sReq {
    /// A MemRd of the 64-byte line at `addr`, no-op MetaField and SnpType.
    pub fn mem_rd(tag: u16, addr: u64) -> Self {
        M2sReq {
            opcode: ReqOpcode::MemRd,
            snp_type: SNP_TYPE_NOP,
            meta_field: META_FIELD_NOP,
            meta_value: 0,
            tag,
            addr,
            tc: 0,
            ld_id: 0,
        }
    }
}

impl M2sRwd {
    /// A MemWr of the 64-byte line at `addr`, no-op MetaField and SnpType.
    pub fn mem_wr(tag: u16, addr: u64) -> Self {
        M2sRwd {
            opcode: RwdOpcode::MemWr,
            snp_type: SNP_TYPE_NOP,
            meta_field: META_FIELD_NOP,
            meta_value: 0,
            tag,
            addr,
            poison: false,
            tc: 0,
            ld_id: 0,
        }
    }
}

impl S2mNdr {
    /// A Cmp completion, no-op MetaField.
    pub fn cmp(tag: u16) -> Self {
        S2mNdr {
            opcode: NdrOpcode::Cmp,
            meta_field: META_FIELD_NOP,
            meta_value: 0,
            tag,
            ld_id: 0,
            dev_load: 0,
        }
    }
}

impl S2mDrs {
    /// A MemData response, no-op MetaField.
    pub fn mem_data(tag: u16, poison: bool) -> Self {
        S2mDrs {
            opcode: DrsOpcode::MemData,
            meta_field: META_FIELD_NOP,
            meta_value: 0,
            tag,
            poison,
            ld_id: 0,
            dev_load: 0,
        }
    }
}

/// Put `value` (at most `width` bits) at bits `lo..lo + width` of a message word.
fn put(word: &mut u128, lo: usize, width: usize, value: u64) {
    *word |= u128::from(value & (u64::MAX >> (64 - width))) << lo;
}

/// Bits `lo..lo + width` (width <= 64) of a message word.
fn get(word: u128, lo: usize, width: usize) -> u64 {
    ((word >> lo) as u64) & (u64::MAX >> (64 - width))
}

/// Bits `at..at + width` (width <= 120) of a byte string laid out like a flit (bit i is bit
/// i mod 8 of byte i/8), as the low bits of a word; bits past the end of `bytes` read as 0.
pub(crate) fn read_bits(bytes: &[u8], at: usize, width: usize) -> u128 {
    debug_assert!(width <= 120);
    let first = at / 8;
    let n = (at % 8 + width)
        .div_ceil(8)
        .min(bytes.len().saturating_sub(first));
    let mut buf = [0u8; 16];
    buf[..n].copy_from_slice(&bytes[first..first + n]);
    (u128::from_le_bytes(buf) >> (at % 8)) & (u128::MAX >> (128 - width))
}

/// Replace bits `at..at + width` (width <= 120) of `bytes` with the low bits of `word`.
pub(crate) fn write_bits(bytes: &mut [u8], at: usize, width: usize, word: u128) {
    debug_assert!(width <= 120 && at + width <= bytes.len() * 8);
    let first = at / 8;
    let n = (at % 8 + width).div_ceil(8);
    let mut buf = [0u8; 16];
    buf[..n].copy_from_slice(&bytes[first..first + n]);
    let mask = (u128::MAX >> (128 - width)) << (at % 8);
    let merged = (u128::from_le_bytes(buf) & !mask) | ((word << (at % 8)) & mask);
    bytes[first..first + n].copy_from_slice(&merged.to_le_bytes()[..n]);
}

/// A message word (`WIDTH` <= 120 bits) into a bit slice, LSB first.
fn store_word(bits: &mut Bits, width: usize, word: u128) {
    let lo = width.min(64);
    bits[..lo].store_le(word as u64);
    if width > 64 {
        bits[64..width].store_le((word >> 64) as u64);
    }
}

/// A message word (`WIDTH` <= 120 bits) from a bit slice, LSB first.
fn load_word(bits: &Bits, width: usize) -> u128 {
    let lo = width.min(64);
    let mut word = u128::from(bits[..lo].load_le::<u64>());
    if width > 64 {
        word |= u128::from(bits[64..width].load_le::<u64>()) << 64;
    }
    word
}

fn check(class: &'static str, field: &'static str, value: u8, width: u32) -> Result<(), PackError> {
    let max = (1u64 << width) - 1;
    if u64::from(value) > max {
        return Err(PackError::FieldRange {
            class,
            field,
            value: value.into(),
            max,
        });
    }
    Ok(())
}

fn check_addr(class: &'static str, addr: u64, align: u64) -> Result<(), PackError> {
    if addr & (align - 1) != 0 || addr >= ADDR_LIMIT {
        return Err(PackError::Addr { class, addr, align });
    }
    Ok(())
}

mod sealed {
    use super::MsgDecodeError;

    /// The message's fields as one word: bit i of the word is bit i of the message.
    pub trait Fields: Sized {
        /// The validated fields, Valid = 1 and reserved bits 0.
        fn to_word(&self) -> u128;
        /// The fields of a word whose Valid bit is set.
        fn from_word(word: u128) -> Result<Self, MsgDecodeError>;
    }
}

use sealed::Fields;

/// Bit-level packing shared by the four message classes (sealed: only the
/// four classes implement it).
pub trait MemMessage: Fields {
    /// Width in bits.
    const WIDTH: usize;
    /// Class name as used in reports (`M2S_Req`, `M2S_RwD`, `S2M_NDR`, `S2M_DRS`).
    const CLASS: &'static str;

    /// Check every field fits its bits (and the address its granule).
    fn validate(&self) -> Result<(), PackError>;

    /// Write the message, Valid = 1 and reserved bits 0, into `bits[0..WIDTH]`.
    fn pack(&self, bits: &mut Bits) -> Result<(), PackError> {
        self.validate()?;
        if bits.len() < Self::WIDTH {
            return Err(PackError::Short {
                class: Self::CLASS,
                need: Self::WIDTH,
                got: bits.len(),
            });
        }
        store_word(bits, Self::WIDTH, self.to_word());
        Ok(())
    }

    /// Write the message, as [`MemMessage::pack`] does, at bit `at` of a byte string laid out
    /// like a flit (bit i is bit i mod 8 of byte i/8): the packers' path, without bit slices.
    fn pack_at(&self, bytes: &mut [u8], at: usize) -> Result<(), PackError> {
        self.validate()?;
        if bytes.len() * 8 < at + Self::WIDTH {
            return Err(PackError::Short {
                class: Self::CLASS,
                need: Self::WIDTH,
                got: (bytes.len() * 8).saturating_sub(at),
            });
        }
        write_bits(bytes, at, Self::WIDTH, self.to_word());
        Ok(())
    }

    /// Read the message from `bits[0..WIDTH]`: `None` when Valid = 0.
    fn unpack(bits: &Bits) -> Result<Option<Self>, MsgDecodeError> {
        if bits.len() < Self::WIDTH {
            return Err(MsgDecodeError::Short {
                class: Self::CLASS,
                need: Self::WIDTH,
                got: bits.len(),
            });
        }
        if !bits[0] {
            return Ok(None);
        }
        Self::from_word(load_word(bits, Self::WIDTH)).map(Some)
    }

    /// Read the message, as [`MemMessage::unpack`] does, from bit `at` of a byte string laid
    /// out like a flit; bits past its end read as 0.
    fn unpack_at(bytes: &[u8], at: usize) -> Result<Option<Self>, MsgDecodeError> {
        let word = read_bits(bytes, at, Self::WIDTH);
        if word & 1 == 0 {
            return Ok(None);
        }
        Self::from_word(word).map(Some)
    }

    /// The message alone, `WIDTH` bits long.
    fn to_bits(&self) -> Result<BitVec<u8, Lsb0>, PackError> {
        let mut bv = bitvec![u8, Lsb0; 0; Self::WIDTH];
        self.pack(&mut bv)?;
        Ok(bv)
    }
}

impl MemMessage for M2sReq {
    const WIDTH: usize = 87;
    const CLASS: &'static str = "M2S_Req";

    fn validate(&self) -> Result<(), PackError> {
        check(Self::CLASS, "snp_type", self.snp_type, 3)?;
        check(Self::CLASS, "meta_field", self.meta_field, 2)?;
        check(Self::CLASS, "meta_value", self.meta_value, 2)?;
        check(Self::CLASS, "tc", self.tc, 2)?;
        check(Self::CLASS, "ld_id", self.ld_id, 4)?;
        check_addr(Self::CLASS, self.addr, 32)
    }
}

impl Fields for M2sReq {
    fn to_word(&self) -> u128 {
        let mut w = 1u128;
        put(&mut w, 1, 4, self.opcode.code().into());
        put(&mut w, 5, 3, self.snp_type.into());
        put(&mut w, 8, 2, self.meta_field.into());
        put(&mut w, 10, 2, self.meta_value.into());
        put(&mut w, 12, 16, self.tag.into());
        put(&mut w, 28, 47, self.addr >> 5);
        put(&mut w, 75, 2, self.tc.into());
        put(&mut w, 77, 4, self.ld_id.into());
        w
    }

    fn from_word(w: u128) -> Result<Self, MsgDecodeError> {
        Ok(M2sReq {
            opcode: ReqOpcode::decode(get(w, 1, 4))?,
            snp_type: get(w, 5, 3) as u8,
            meta_field: get(w, 8, 2) as u8,
            meta_value: get(w, 10, 2) as u8,
            tag: get(w, 12, 16) as u16,
            addr: get(w, 28, 47) << 5,
            tc: get(w, 75, 2) as u8,
            ld_id: get(w, 77, 4) as u8,
        })
    }
}

impl MemMessage for M2sRwd {
    const WIDTH: usize = 87;
    const CLASS: &'static str = "M2S_RwD";

    fn validate(&self) -> Result<(), PackError> {
        check(Self::CLASS, "snp_type", self.snp_type, 3)?;
        check(Self::CLASS, "meta_field", self.meta_field, 2)?;
        check(Self::CLASS, "meta_value", self.meta_value, 2)?;
        check(Self::CLASS, "tc", self.tc, 2)?;
        check(Self::CLASS, "ld_id", self.ld_id, 4)?;
        check_addr(Self::CLASS, self.addr, 64)
    }
}

impl Fields for M2sRwd {
    fn to_word(&self) -> u128 {
        let mut w = 1u128;
        put(&mut w, 1, 4, self.opcode.code().into());
        put(&mut w, 5, 3, self.snp_type.into());
        put(&mut w, 8, 2, self.meta_field.into());
        put(&mut w, 10, 2, self.meta_value.into());
        put(&mut w, 12, 16, self.tag.into());
        put(&mut w, 28, 46, self.addr >> 6);
        put(&mut w, 74, 1, self.poison.into());
        put(&mut w, 75, 2, self.tc.into());
        put(&mut w, 77, 4, self.ld_id.into());
        w
    }

    fn from_word(w: u128) -> Result<Self, MsgDecodeError> {
        Ok(M2sRwd {
            opcode: RwdOpcode::decode(get(w, 1, 4))?,
            snp_type: get(w, 5, 3) as u8,
            meta_field: get(w, 8, 2) as u8,
            meta_value: get(w, 10, 2) as u8,
            tag: get(w, 12, 16) as u16,
            addr: get(w, 28, 46) << 6,
            poison: get(w, 74, 1) == 1,
            tc: get(w, 75, 2) as u8,
            ld_id: get(w, 77, 4) as u8,
        })
    }
}

impl MemMessage for S2mNdr {
    const WIDTH: usize = 30;
    const CLASS: &'static str = "S2M_NDR";

    fn validate(&self) -> Result<(), PackError> {
        check(Self::CLASS, "meta_field", self.meta_field, 2)?;
        check(Self::CLASS, "meta_value", self.meta_value, 2)?;
        check(Self::CLASS, "ld_id", self.ld_id, 4)?;
        check(Self::CLASS, "dev_load", self.dev_load, 2)
    }
}

impl Fields for S2mNdr {
    fn to_word(&self) -> u128 {
        let mut w = 1u128;
        put(&mut w, 1, 3, self.opcode.code().into());
        put(&mut w, 4, 2, self.meta_field.into());
        put(&mut w, 6, 2, self.meta_value.into());
        put(&mut w, 8, 16, self.tag.into());
        put(&mut w, 24, 4, self.ld_id.into());
        put(&mut w, 28, 2, self.dev_load.into());
        w
    }

    fn from_word(w: u128) -> Result<Self, MsgDecodeError> {
        Ok(S2mNdr {
            opcode: NdrOpcode::decode(get(w, 1, 3))?,
            meta_field: get(w, 4, 2) as u8,
            meta_value: get(w, 6, 2) as u8,
            tag: get(w, 8, 16) as u16,
            ld_id: get(w, 24, 4) as u8,
            dev_load: get(w, 28, 2) as u8,
        })
    }
}

impl MemMessage for S2mDrs {
    const WIDTH: usize = 40;
    const CLASS: &'static str = "S2M_DRS";

    fn validate(&self) -> Result<(), PackError> {
        check(Self::CLASS, "meta_field", self.meta_field, 2)?;
        check(Self::CLASS, "meta_value", self.meta_value, 2)?;
        check(Self::CLASS, "ld_id", self.ld_id, 4)?;
        check(Self::CLASS, "dev_load", self.dev_load, 2)
    }
}

impl Fields for S2mDrs {
    fn to_word(&self) -> u128 {
        let mut w = 1u128;
        put(&mut w, 1, 3, self.opcode.code().into());
        put(&mut w, 4, 2, self.meta_field.into());
        put(&mut w, 6, 2, self.meta_value.into());
        put(&mut w, 8, 16, self.tag.into());
        put(&mut w, 24, 1, self.poison.into());
        put(&mut w, 25, 4, self.ld_id.into());
        put(&mut w, 29, 2, self.dev_load.into());
        w
    }

    fn from_word(w: u128) -> Result<Self, MsgDecodeError> {
        Ok(S2mDrs {
            opcode: DrsOpcode::decode(get(w, 1, 3))?,
            meta_field: get(w, 4, 2) as u8,
            meta_value: get(w, 6, 2) as u8,
            tag: get(w, 8, 16) as u16,
            poison: get(w, 24, 1) == 1,
            ld_id: get(w, 25, 4) as u8,
            dev_load: get(w, 29, 2) as u8,
        })
    }
}

/// A complete CXL.mem message, with its 64 data bytes where it has them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Request without data.
    M2sReq(M2sReq),
    /// Request with data (byte 0 first).
    M2sRwd(M2sRwd, Box<[u8; 64]>),
    /// Response without data.
    S2mNdr(S2mNdr),
    /// Response with data (byte 0 first).
    S2mDrs(S2mDrs, Box<[u8; 64]>),
}

impl Message {
    /// Class name (`M2S_Req`, `M2S_RwD`, `S2M_NDR`, `S2M_DRS`).
    pub fn class(&self) -> &'static str {
        match self {
            Message::M2sReq(_) => M2sReq::CLASS,
            Message::M2sRwd(..) => M2sRwd::CLASS,
            Message::S2mNdr(_) => S2mNdr::CLASS,
            Message::S2mDrs(..) => S2mDrs::CLASS,
        }
    }

    /// The direction this message travels.
    pub fn dir(&self) -> Dir {
        match self {
            Message::M2sReq(_) | Message::M2sRwd(..) => Dir::M2S,
            Message::S2mNdr(_) | Message::S2mDrs(..) => Dir::S2M,
        }
    }

    /// The message's tag.
    pub fn tag(&self) -> u16 {
        match self {
            Message::M2sReq(m) => m.tag,
            Message::M2sRwd(m, _) => m.tag,
            Message::S2mNdr(m) => m.tag,
            Message::S2mDrs(m, _) => m.tag,
        }
    }

    /// The attached data, for RwD and DRS.
    pub fn data(&self) -> Option<&[u8; 64]> {
        match self {
            Message::M2sRwd(_, d) | Message::S2mDrs(_, d) => Some(d),
            Message::M2sReq(_) | Message::S2mNdr(_) => None,
        }
    }

    /// Check every field fits its bits.
    pub fn validate(&self) -> Result<(), PackError> {
        match self {
            Message::M2sReq(m) => m.validate(),
            Message::M2sRwd(m, _) => m.validate(),
            Message::S2mNdr(m) => m.validate(),
            Message::S2mDrs(m, _) => m.validate(),
        }
    }
}
