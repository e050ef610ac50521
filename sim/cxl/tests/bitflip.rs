//! Any single-bit flip of a packed flit (payload or CRC) is detected: the decoder reports a CRC
//! mismatch for that flit, and `decode_stream` counts exactly one CRC error, in both directions.

mod common;

use std::collections::VecDeque;

use pifs_cxl::*;
use proptest::prelude::*;

/// Pack `msgs` (all available at once) with the direction's packer.
fn pack(dir: Dir, seed: u64, msgs: &[Message]) -> Vec<Flit> {
    let mut q: VecDeque<Message> = msgs.iter().cloned().collect();
    let mut s2m = S2mPacker::new(seed);
    let mut m2s = M2sPacker::new(seed);
    let mut flits = Vec::new();
    while let Some(f) = match dir {
        Dir::S2M => s2m.next_flit(&mut q),
        Dir::M2S => m2s.next_flit(&mut q),
    } {
        flits.push(f);
    }
    assert!(q.is_empty());
    flits
}

fn check_flip(
    dir: Dir,
    seed: u64,
    msgs: &[Message],
    which: prop::sample::Index,
    bit: usize,
) -> Result<(), TestCaseError> {
    let mut flits = pack(dir, seed, msgs);
    prop_assert!(!flits.is_empty());
    prop_assert_eq!(decode_stream(dir, &flits).crc_errors, 0);
    let i = which.index(flits.len());
    flits[i].0[bit / 8] ^= 1 << (bit % 8);
    prop_assert!(!flits[i].crc_ok());
    // The strict decoder, fed the clean flits before it, rejects the flipped one for its CRC.
    let mut dec = Decoder::new(dir);
    for f in &flits[..i] {
        dec.push(f).expect("clean flit");
    }
    match dec.push(&flits[i]) {
        Err(DecodeError::Crc { computed, stored }) => prop_assert_ne!(computed, stored),
        other => {
            return Err(TestCaseError::fail(format!(
                "flit {i} bit {bit}: {other:?}"
            )))
        }
    }
    prop_assert_eq!(decode_stream(dir, &flits).crc_errors, 1);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn s2m_single_bit_flips_are_detected(
        msgs in prop::collection::vec(common::s2m_message(), 1..24),
        seed in any::<u64>(),
        which in any::<prop::sample::Index>(),
        bit in 0usize..8 * FLIT_BYTES,
    ) {
        check_flip(Dir::S2M, seed, &msgs, which, bit)?;
    }

    #[test]
    fn m2s_single_bit_flips_are_detected(
        msgs in prop::collection::vec(common::m2s_message(), 1..24),
        seed in any::<u64>(),
        which in any::<prop::sample::Index>(),
        bit in 0usize..8 * FLIT_BYTES,
    ) {
        check_flip(Dir::M2S, seed, &msgs, which, bit)?;
    }
}
