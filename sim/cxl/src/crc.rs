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

/// Slice-by-8 tables: `SLICE[k][b]` is the register after byte b followed by k zero bytes,
/// starting from 0 (`SLICE[0]` is `TABLE`).
static SLICE: [[u16; 256]; 8] = build_slices();

const fn build_slices() -> [[u16; 256]; 8] {
    let mut s = [[0u16; 256]; 8];
    s[0] = TABLE;
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = s[k - 1][i];
            s[k][i] = (prev << 8) ^ TABLE[(prev >> 8) as usize];
            i += 1;
        }
        k += 1;
    }
    s
}

/// CRC of `payload` (for a flit: bytes 0..64) per DESIGN.md: poly 0x1F053,
/// init 0, bytes in order, MSB first, no final XOR. Eight bytes per step (slice-by-8): the
/// register meets the first two bytes of each group, and each byte's contribution is its
/// table entry shifted through the bytes that follow it.
pub fn crc16(payload: &[u8]) -> u16 {
    let mut groups = payload.chunks_exact(8);
    let mut reg = 0u16;
    for g in &mut groups {
        let [r0, r1] = reg.to_be_bytes();
        reg = SLICE[7][usize::from(g[0] ^ r0)]
            ^ SLICE[6][usize::from(g[1] ^ r1)]
            ^ SLICE[5][usize::from(g[2])]
            ^ SLICE[4][usize::from(g[3])]
            ^ SLICE[3][usize::from(g[4])]
            ^ SLICE[2][usize::from(g[5])]
            ^ SLICE[1][usize::from(g[6])]
            ^ SLICE[0][usize::from(g[7])];
    }
    groups.remainder().iter().fold(reg, |reg, &b| {
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
