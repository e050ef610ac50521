//! The host command word of a downstream-port accumulator and of the switch (format in
//! `rtl/pifs_pkg.sv`). The switch's port field (bits 59:56) is not part of [`Command`]: see
//! [`crate::switch::SwitchCmd`].

/// A host command to one port accumulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Command {
    /// Open bag slot `bag`: `rows` rows of `lines` 64-byte lines each arrive at this port.
    BagOpen { bag: u8, rows: u16, lines: u8 },
    /// Line `l` of one row of `bag` arrives with CXL tag `tag + l`.
    RowMap { bag: u8, tag: u16 },
    /// Switch only (a port accumulator rejects it): map the row as RowMap { bag, tag } does,
    /// then read it: `lines` MemRd requests, line `l` with tag `tag + l` at byte address
    /// `(line_addr + l) * 64`. `bag` is 4 bits, `lines` 4 bits (1 .. 8), `line_addr` 40 bits.
    RowRead {
        bag: u8,
        tag: u8,
        lines: u8,
        line_addr: u64,
    },
}

const OP_BAG_OPEN: u64 = 0x1;
const OP_ROW_MAP: u64 = 0x2;
const OP_ROW_READ: u64 = 0x3;
/// Bits of the RowRead line address (64-byte units).
pub const ROW_READ_ADDR_BITS: u32 = 40;

impl Command {
    /// The 64-bit command word (port field zero). BagOpen/RowMap: op [63:60], bag [55:48],
    /// tag [47:32], rows [31:16], lines [3:0]. RowRead: op [63:60], bag [55:52], lines [51:48],
    /// tag [47:40], line address [39:0]. Fields are truncated to their widths.
    pub fn encode(&self) -> u64 {
        match *self {
            Command::BagOpen { bag, rows, lines } => {
                OP_BAG_OPEN << 60 | (bag as u64) << 48 | (rows as u64) << 16 | (lines as u64 & 0xF)
            }
            Command::RowMap { bag, tag } => {
                OP_ROW_MAP << 60 | (bag as u64) << 48 | (tag as u64) << 32
            }
            Command::RowRead {
                bag,
                tag,
                lines,
                line_addr,
            } => {
                OP_ROW_READ << 60
                    | (bag as u64 & 0xF) << 52
                    | (lines as u64 & 0xF) << 48
                    | (tag as u64) << 40
                    | (line_addr & ((1 << ROW_READ_ADDR_BITS) - 1))
            }
        }
    }

    /// Decode a command word; `None` for an unknown op or non-zero reserved bits (the port field
    /// counts as reserved here).
    pub fn decode(w: u64) -> Option<Command> {
        if (w >> 56) & 0xF != 0 {
            return None;
        }
        if w >> 60 == OP_ROW_READ {
            return Some(Command::RowRead {
                bag: ((w >> 52) & 0xF) as u8,
                lines: ((w >> 48) & 0xF) as u8,
                tag: (w >> 40) as u8,
                line_addr: w & ((1 << ROW_READ_ADDR_BITS) - 1),
            });
        }
        if (w >> 4) & 0xFFF != 0 {
            return None;
        }
        let bag = (w >> 48) as u8;
        match w >> 60 {
            OP_BAG_OPEN if (w >> 32) & 0xFFFF == 0 => Some(Command::BagOpen {
                bag,
                rows: (w >> 16) as u16,
                lines: (w & 0xF) as u8,
            }),
            OP_ROW_MAP if w & 0xFFFF_FFFF == 0 => Some(Command::RowMap {
                bag,
                tag: (w >> 32) as u16,
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_sit_where_the_rtl_reads_them() {
        let w = Command::BagOpen {
            bag: 0xAB,
            rows: 0x1234,
            lines: 5,
        }
        .encode();
        assert_eq!(w >> 60, 1);
        assert_eq!((w >> 48) & 0xFF, 0xAB);
        assert_eq!((w >> 16) & 0xFFFF, 0x1234);
        assert_eq!(w & 0xF, 5);
        let w = Command::RowMap {
            bag: 3,
            tag: 0xBEEF,
        }
        .encode();
        assert_eq!(w, 0x2003_BEEF_0000_0000);
        for c in [
            Command::BagOpen {
                bag: 1,
                rows: 0,
                lines: 8,
            },
            Command::RowMap { bag: 9, tag: 77 },
        ] {
            assert_eq!(Command::decode(c.encode()), Some(c));
        }
        assert_eq!(Command::decode(0x4000_0000_0000_0000), None);
        assert_eq!(
            Command::decode(0x2100_0000_0000_0000),
            None,
            "port field set"
        );
    }

    #[test]
    fn row_read_fields_sit_where_the_switch_reads_them() {
        let c = Command::RowRead {
            bag: 0xA,
            tag: 0xC3,
            lines: 7,
            line_addr: 0xAB_CDEF_0123,
        };
        let w = c.encode();
        assert_eq!(w, 0x30A7_C3AB_CDEF_0123);
        assert_eq!(w >> 60, 3);
        assert_eq!((w >> 52) & 0xF, 0xA);
        assert_eq!((w >> 48) & 0xF, 7);
        assert_eq!((w >> 40) & 0xFF, 0xC3);
        assert_eq!(w & 0xFF_FFFF_FFFF, 0xAB_CDEF_0123);
        assert_eq!(Command::decode(w), Some(c));
        // Every field at its extremes round-trips; wider values are truncated.
        for c in [
            Command::RowRead {
                bag: 0,
                tag: 0,
                lines: 1,
                line_addr: 0,
            },
            Command::RowRead {
                bag: 15,
                tag: 255,
                lines: 15,
                line_addr: (1 << 40) - 1,
            },
        ] {
            assert_eq!(Command::decode(c.encode()), Some(c));
        }
        let wide = Command::RowRead {
            bag: 0x1F,
            tag: 1,
            lines: 0x12,
            line_addr: 1 << 40,
        };
        assert_eq!(
            Command::decode(wide.encode()),
            Some(Command::RowRead {
                bag: 0xF,
                tag: 1,
                lines: 2,
                line_addr: 0
            })
        );
    }
}
