//! binary32 arithmetic exactly as the RTL adder does it.

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
