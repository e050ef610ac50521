//! binary32 arithmetic exactly as the RTL adder does it, and the row formats' widening to binary32
//! exactly as `rtl/pifs_dequant.sv` does it.

use pifs_dlrm::{f16_to_f32, RowFormat, INT8_HEADER};

/// The canonical quiet NaN every NaN-producing addition in the RTL returns.
pub const CANONICAL_NAN: u32 = 0x7FC0_0000;

/// IEEE-754 binary32 addition, round-to-nearest-even, subnormals kept, NaN results canonical:
/// bit for bit what `rtl/pifs_fp32_add.sv` computes.
#[inline]
pub fn add(a: u32, b: u32) -> u32 {
    let s = f32::from_bits(a) + f32::from_bits(b);
    if s.is_nan() {
        CANONICAL_NAN
    } else {
        s.to_bits()
    }
}

/// Lane-wise [`add`] of two 16-lane lines.
#[inline]
pub fn add_line(acc: &mut [u32; 16], x: &[u32; 16]) {
    for (a, b) in acc.iter_mut().zip(x) {
        *a = add(*a, *b);
    }
}

/// Lanes of binary32 line `k` that `rtl/pifs_dequant.sv` makes of one 64-byte device line in
/// `fmt` (fp32 is not widened: the line's own lanes). fp16: lane i is half 16k+i plus +0.0;
/// int8 (scale in bytes 0-1, bias in bytes 2-3): lane i is the exact product q * scale (code
/// q = byte 4+16k+i, 0 past the line) plus the bias, rounded once, through [`add`].
pub fn dequant_lanes(fmt: RowFormat, data: &[u8; 64], k: usize) -> [u32; 16] {
    let mut x = [0u32; 16];
    match fmt {
        RowFormat::Fp32 => {
            for (i, w) in x.iter_mut().enumerate() {
                *w = u32::from_le_bytes(data[4 * i..4 * i + 4].try_into().unwrap());
            }
        }
        RowFormat::Fp16 => {
            for (i, w) in x.iter_mut().enumerate() {
                let j = 2 * (16 * k + i);
                *w = add(
                    f16_to_f32(u16::from_le_bytes([data[j], data[j + 1]])).to_bits(),
                    0,
                );
            }
        }
        RowFormat::Int8 => {
            let scale = f16_to_f32(u16::from_le_bytes([data[0], data[1]]));
            let bias = f16_to_f32(u16::from_le_bytes([data[2], data[3]])).to_bits();
            for (i, w) in x.iter_mut().enumerate() {
                let q = data.get(INT8_HEADER + 16 * k + i).copied().unwrap_or(0);
                // q has 8 bits and the scale 11: the binary32 product is exact.
                *w = add((f32::from(q) * scale).to_bits(), bias);
            }
        }
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_zeros_and_nan() {
        let pz = 0.0f32.to_bits();
        let nz = (-0.0f32).to_bits();
        assert_eq!(add(pz, nz), pz);
        assert_eq!(add(nz, nz), nz);
        assert_eq!(
            add(f32::INFINITY.to_bits(), f32::NEG_INFINITY.to_bits()),
            CANONICAL_NAN
        );
        assert_eq!(add(0x7FC0_1234, pz), CANONICAL_NAN);
        // Smallest subnormals add exactly (no flush to zero).
        assert_eq!(add(1, 1), 2);
    }
}
