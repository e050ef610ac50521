//! The flit CRC: hand vectors, table against bit-serial reference, and error detection.

use pifs_cxl::{crc16, crc16_bitwise, Flit, FLIT_BYTES};
use pifs_rng::Rng;
use proptest::prelude::*;

/// Syndrome of flipping flit bit `i` (bits 0..512 payload, 512..528 CRC):
/// the CRC is linear (init 0, no final XOR), so an error pattern goes
/// undetected exactly when the XOR of its bits' syndromes is zero.
fn syndromes() -> Vec<u16> {
    (0..8 * FLIT_BYTES)
        .map(|i| {
            let mut payload = [0u8; 64];
            if i < 512 {
                payload[i / 8] = 1 << (i % 8);
                crc16(&payload)
            } else {
                1 << (i - 512)
            }
        })
        .collect()
}

#[test]
fn hand_vectors() {
    // One byte 0x01, MSB first: the register ends as x^16 mod G = 0xF053.
    assert_eq!(crc16(&[0x01]), 0xF053);
    // 0x02 gives x^17 mod G: 0xF053 << 1 = 0x1E0A6, minus G (0x1F053) = 0x10F5.
    assert_eq!(crc16(&[0x02]), 0x10F5);
    assert_eq!(crc16(&[0u8; 64]), 0);
    // A flit whose only set payload bit is bit 0 of byte 63 also gives 0xF053,
    // stored little-endian in bytes 64-65.
    let mut f = Flit([0; FLIT_BYTES]);
    f.0[63] = 0x01;
    f.seal();
    assert_eq!((f.0[64], f.0[65]), (0x53, 0xF0));
    assert!(f.crc_ok());
}

proptest! {
    #[test]
    fn table_matches_bitwise(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        prop_assert_eq!(crc16(&data), crc16_bitwise(&data));
    }
}

#[test]
fn detects_all_one_and_two_bit_errors_exhaustively() {
    let s = syndromes();
    let mut seen = std::collections::HashSet::new();
    for (i, &x) in s.iter().enumerate() {
        assert_ne!(x, 0, "1-bit error at bit {i} undetected");
        assert!(
            seen.insert(x),
            "2-bit error undetected (syndrome {x:#06x} repeats at bit {i})"
        );
    }
}

#[test]
fn detects_all_three_bit_errors_exhaustively() {
    let s = syndromes();
    let mut index = std::collections::HashMap::new();
    for (i, &x) in s.iter().enumerate() {
        index.insert(x, i);
    }
    for i in 0..s.len() {
        for j in i + 1..s.len() {
            if let Some(&k) = index.get(&(s[i] ^ s[j])) {
                panic!("3-bit error at bits {i}, {j}, {k} undetected");
            }
        }
    }
}

#[test]
fn sampled_bit_flips_on_sealed_flits_are_detected() {
    let mut rng = Rng::new(0x0C2C);
    for _ in 0..3000 {
        let mut f = Flit([0; FLIT_BYTES]);
        for b in f.0.iter_mut().take(64) {
            *b = rng.below(256) as u8;
        }
        f.seal();
        assert!(f.crc_ok());
        let flips = 1 + rng.below(3) as usize;
        let mut bits = Vec::new();
        while bits.len() < flips {
            let b = rng.below(8 * FLIT_BYTES as u64) as usize;
            if !bits.contains(&b) {
                bits.push(b);
            }
        }
        let mut bad = f;
        for &b in &bits {
            bad.0[b / 8] ^= 1 << (b % 8);
        }
        assert!(!bad.crc_ok(), "flips at {bits:?} undetected");
    }
}
