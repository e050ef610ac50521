//! Packer to decoder round trips in both directions, and coverage of every
//! slot format and all-data flits by the packers' random choices.

mod common;

use std::collections::{BTreeSet, VecDeque};

use pifs_cxl::slots::format_name;
use pifs_cxl::*;
use proptest::prelude::*;

/// Pack `msgs` with a packer, feeding them in batches of random size (as if
/// they became available over time), and return the flits.
fn pack(dir: Dir, seed: u64, msgs: &[Message], batch: usize) -> Vec<Flit> {
    let mut s2m = S2mPacker::new(seed);
    let mut m2s = M2sPacker::new(seed);
    let mut next = |q: &mut VecDeque<Message>| match dir {
        Dir::S2M => s2m.try_next_flit(q).unwrap(),
        Dir::M2S => m2s.try_next_flit(q).unwrap(),
    };
    let mut flits = Vec::new();
    let mut q = VecDeque::new();
    let mut rest = msgs.iter();
    loop {
        q.extend(rest.by_ref().take(batch).cloned());
        match next(&mut q) {
            Some(f) => flits.push(f),
            None if rest.len() == 0 => break,
            None => {}
        }
        assert!(
            flits.len() <= 4 * msgs.len() + 4,
            "packer does not make progress"
        );
    }
    assert!(q.is_empty());
    flits
}

/// Decode strictly (every flit must be clean), recording the slot formats
/// and all-data flits seen.
fn decode(dir: Dir, flits: &[Flit], formats: &mut BTreeSet<String>) -> Vec<Message> {
    let mut dec = Decoder::new(dir);
    let mut out = Vec::new();
    for (i, f) in flits.iter().enumerate() {
        assert!(f.crc_ok());
        if dec.all_data_due() {
            formats.insert("all-data".into());
        } else {
            if dec.queued_chunks() > 0 {
                formats.insert("carry-over".into());
            }
            for (s, &code) in f.header().slots.iter().enumerate() {
                formats.insert(
                    format_name(dir, s, code)
                        .expect("packer used an unknown format")
                        .into(),
                );
            }
        }
        out.extend(dec.push(f).unwrap_or_else(|e| panic!("flit {i}: {e}")));
    }
    assert_eq!(dec.queued_chunks(), 0);
    out
}

fn check_round_trip(
    dir: Dir,
    seed: u64,
    msgs: &[Message],
    batch: usize,
) -> Result<(), TestCaseError> {
    let flits = pack(dir, seed, msgs, batch);
    let out = decode(dir, &flits, &mut BTreeSet::new());
    prop_assert_eq!(common::by_class(&out), common::by_class(msgs));
    let report = decode_stream(dir, &flits);
    prop_assert!(report.errors.is_empty(), "{:?}", report.errors);
    prop_assert_eq!(report.messages.len(), msgs.len());
    Ok(())
}

proptest! {
    #[test]
    fn s2m_round_trip(
        msgs in prop::collection::vec(common::s2m_message(), 0..40),
        seed in any::<u64>(),
        batch in 1usize..8,
    ) {
        check_round_trip(Dir::S2M, seed, &msgs, batch)?;
    }

    #[test]
    fn m2s_round_trip(
        msgs in prop::collection::vec(common::m2s_message(), 0..40),
        seed in any::<u64>(),
        batch in 1usize..8,
    ) {
        check_round_trip(Dir::M2S, seed, &msgs, batch)?;
    }
}

fn coverage(dir: Dir) -> BTreeSet<String> {
    let mut formats = BTreeSet::new();
    for seed in 0..300u64 {
        let mut rng = pifs_rng::Rng::new(seed);
        let n = 1 + rng.below(40) as usize;
        let msgs = common::random_messages(&mut rng, dir, n);
        let flits = pack(dir, seed, &msgs, 1 + rng.below(8) as usize);
        let out = decode(dir, &flits, &mut formats);
        assert_eq!(
            common::by_class(&out),
            common::by_class(&msgs),
            "seed {seed}"
        );
    }
    formats
}

#[test]
fn s2m_seeds_cover_every_format_and_all_data_flits() {
    let got = coverage(Dir::S2M);
    for want in [
        "H3",
        "H4",
        "H5",
        "G0",
        "G4",
        "G5",
        "G6",
        "all-data",
        "carry-over",
    ] {
        assert!(got.contains(want), "{want} never produced; saw {got:?}");
    }
}

#[test]
fn m2s_seeds_cover_every_format_and_all_data_flits() {
    let got = coverage(Dir::M2S);
    for want in ["H4", "H5", "G0", "G4", "G5", "all-data", "carry-over"] {
        assert!(got.contains(want), "{want} never produced; saw {got:?}");
    }
}

#[test]
fn packers_replay_from_seed() {
    let mut rng = pifs_rng::Rng::new(99);
    let msgs = common::random_messages(&mut rng, Dir::S2M, 30);
    assert_eq!(pack(Dir::S2M, 5, &msgs, 3), pack(Dir::S2M, 5, &msgs, 3));
}

#[test]
fn packer_header_fields() {
    let mut q: VecDeque<Message> = [Message::S2mNdr(S2mNdr::cmp(1))].into();
    let f = S2mPacker::new(1).next_flit(&mut q).unwrap();
    let h = f.header();
    assert_eq!(h.ty, FlitType::Protocol);
    assert!(h.sz && !h.ak && !h.be);
    assert_eq!((h.rsp_crd, h.req_crd, h.data_crd), (0, 0, 0));
    assert!(f.crc_ok());
}

#[test]
fn packer_rejects_bad_messages_without_consuming() {
    let mut p = S2mPacker::new(3);
    let mut q: VecDeque<Message> = [
        Message::S2mNdr(S2mNdr::cmp(1)),
        Message::S2mNdr(S2mNdr {
            dev_load: 4,
            ..S2mNdr::cmp(2)
        }),
    ]
    .into();
    assert!(matches!(
        p.try_next_flit(&mut q),
        Err(PackError::FieldRange {
            field: "dev_load",
            ..
        })
    ));
    assert_eq!(p.next_flit(&mut q), None);
    assert_eq!(q.len(), 2);
    let mut q: VecDeque<Message> = [Message::M2sReq(M2sReq::mem_rd(1, 0))].into();
    assert!(matches!(
        p.try_next_flit(&mut q),
        Err(PackError::WrongDirection { dir: Dir::S2M, .. })
    ));
    let mut q: VecDeque<Message> = [Message::S2mNdr(S2mNdr::cmp(1))].into();
    assert!(matches!(
        M2sPacker::new(0).try_next_flit(&mut q),
        Err(PackError::WrongDirection { .. })
    ));
}

#[test]
fn pending_chunks_drain_without_new_messages() {
    let mut p = S2mPacker::new(11);
    let mut q: VecDeque<Message> = (0..3)
        .map(|t| Message::S2mDrs(S2mDrs::mem_data(t, false), common::tagged_data(t)))
        .collect();
    let mut flits = Vec::new();
    while let Some(f) = p.next_flit(&mut q) {
        flits.push(f);
    }
    assert_eq!(p.pending_chunks(), 0);
    let report = decode_stream(Dir::S2M, &flits);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.messages.len(), 3);
}
