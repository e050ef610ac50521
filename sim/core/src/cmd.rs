//! The host command word of a downstream-port accumulator (format in `rtl/pifs_pkg.sv`).

/// A host command to one port accumulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Command {
    /// Open bag slot `bag`: `rows` rows of `lines` 64-byte lines each arrive at this port.
    BagOpen { bag: u8, rows: u16, lines: u8 },
    /// Line `l` of one row of `bag` arrives with CXL tag `tag + l`.
    RowMap { bag: u8, tag: u16 },
}

const OP_BAG_OPEN: u64 = 0x1;
const OP_ROW_MAP: u64 = 0x2;

impl Command {
    /// The 64-bit command word: op [63:60], bag [55:48], tag [47:32], rows [31:16], lines [3:0].
    pub fn encode(&self) -> u64 {
        match *self {
            Command::BagOpen { bag, rows, lines } => {
                OP_BAG_OPEN << 60 | (bag as u64) << 48 | (rows as u64) << 16 | (lines as u64 & 0xF)
            }
            Command::RowMap { bag, tag } => {
                OP_ROW_MAP << 60 | (bag as u64) << 48 | (tag as u64) << 32
            }
        }
    }

    /// Decode a command word; `None` for an unknown op or non-zero reserved bits.
    pub fn decode(w: u64) -> Option<Command> {
        let reserved = (w >> 56) & 0xF != 0 || (w >> 4) & 0xFFF != 0;
        if reserved {
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
        assert_eq!(Command::decode(0x3000_0000_0000_0000), None);
    }
}
