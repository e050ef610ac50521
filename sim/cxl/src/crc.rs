//! The 16-bit flit CRC (DESIGN.md section 6): generator 0x1F053, register
//! starting at 0, bytes in order, each byte most significant bit first, no
//! final XOR.

/// The generator without its x^16 term.
pub const CRC_POLY: u16 = 0xF053;

/// Table for the byte-at-a-time form of the CRC, built at compile time.
const TABLE: [u16; 256] = build_table();

const fn build_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut reg = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            reg = if reg & 0x8000 != 0 {
                (reg << 1) ^ CRC_POLY
            } else {
                reg << 1
            };
            bit += 1;
        }
        table[i] = reg;
        i += 1;
    }
    table
}

/// CRC of `payload` (for a flit: bytes 0..64) per DESIGN.md: poly 0x1F053,
/// init 0, bytes in order, MSB first, no final XOR.
pub fn crc16(payload: &[u8]) -> u16 {
    payload.iter().fold(0u16, |reg, &b| {
        (reg << 8) ^ TABLE[usize::from((reg >> 8) as u8 ^ b)]
    })
}

/// Bit-serial form of [`crc16`], one shift per message bit; kept as the
/// reference that the table-driven form is tested against.
pub fn crc16_bitwise(payload: &[u8]) -> u16 {
    let mut reg = 0u16;
    for &byte in payload {
        for k in (0..8).rev() {
            let feedback = ((reg >> 15) as u8 ^ (byte >> k)) & 1;
            reg <<= 1;
            if feedback != 0 {
                reg ^= CRC_POLY;
            }
        }
    }
    reg
}
