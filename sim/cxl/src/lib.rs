//! CXL.mem messages and the 68-byte flit codec (both directions, with CRC), packers and decoders.
//!
//! Every bit position follows DESIGN.md section 6 ("CXL.mem facts").

#![warn(missing_docs)]

mod crc;
mod decoder;
mod flit;
pub mod llr;
mod msg;
mod packer;
pub mod slots;

pub use crc::{crc16, crc16_bitwise, CRC_POLY};
pub use decoder::{
    decode_stream, DecodeError, DecodeReport, Decoder, FlitKind, FlitOutcome, MessageJson,
    PackingError,
};
pub use flit::{
    Flit, FlitHeader, FlitType, HexError, CHUNK_BYTES, FLIT_BYTES, HEX_CHARS, PAYLOAD_BYTES,
};
pub use msg::{
    Bits, Dir, DrsOpcode, M2sReq, M2sRwd, MemMessage, Message, MsgDecodeError, NdrOpcode,
    PackError, ParseDirError, ReqOpcode, RwdOpcode, S2mDrs, S2mNdr, ADDR_LIMIT, META_FIELD_NOP,
    SNP_TYPE_NOP,
};
pub use packer::{M2sPacker, S2mPacker};
