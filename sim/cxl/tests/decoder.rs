//! The decoder against flits written by hand from DESIGN.md section 6 (not
//! with the packer): a G6 stream with all-data flits and carry-over, and
//! every class of broken flit.

mod common;

use pifs_cxl::*;

/// Write `width` bits of `v` at flit bit `at` (bit i = bit i%8 of byte i/8).
fn put(f: &mut Flit, at: usize, width: usize, v: u64) {
    for i in 0..width {
        let b = at + i;
        if (v >> i) & 1 == 1 {
            f.0[b / 8] |= 1 << (b % 8);
        } else {
            f.0[b / 8] &= !(1 << (b % 8));
        }
    }
}

/// A protocol header flit: Type 0, Sz 1 (bit 4), slot codes at 7:5, 10:8, 13:11, 16:14.
fn header_flit(slots: [u32; 4]) -> Flit {
    let w = 1 << 4 | slots[0] << 5 | slots[1] << 8 | slots[2] << 11 | slots[3] << 14;
    let mut f = Flit([0; FLIT_BYTES]);
    f.0[..4].copy_from_slice(&w.to_le_bytes());
    f
}

/// First flit bit of slot s: slot 0 starts after the 32-bit header.
fn slot_bit(s: usize) -> usize {
    if s == 0 {
        32
    } else {
        128 * s
    }
}

/// DRS MemData: Valid 1, opcode 000, MetaField 11 at 5:4, Tag at 23:8.
fn drs(tag: u16) -> u64 {
    1 | 0b11 << 4 | u64::from(tag) << 8
}

/// NDR Cmp: Valid 1, opcode 000, MetaField 11 at 5:4, Tag at 23:8.
fn ndr(tag: u16) -> u64 {
    1 | 0b11 << 4 | u64::from(tag) << 8
}

fn sealed(mut f: Flit) -> Flit {
    f.seal();
    f
}

fn data(tag: u16) -> Box<[u8; 64]> {
    common::tagged_data(tag)
}

/// Five flits: G6 header flit (2 NDR in H4, 3 DRS in G6, two G0 chunks),
/// two all-data flits, a header flit whose slots 1-2 carry the last two
/// chunks of DRS 0xA03 and whose slot 0 announces DRS 0xA04, then an
/// all-data flit with 0xA04's data.
fn hand_stream() -> Vec<Flit> {
    let (a1, a2, a3, a4) = (data(0xA01), data(0xA02), data(0xA03), data(0xA04));
    let mut f0 = header_flit([4, 6, 0, 0]);
    put(&mut f0, slot_bit(0), 30, ndr(0xB01));
    put(&mut f0, slot_bit(0) + 30, 30, ndr(0xB02));
    put(&mut f0, slot_bit(1), 40, drs(0xA01));
    put(&mut f0, slot_bit(1) + 40, 40, drs(0xA02));
    put(&mut f0, slot_bit(1) + 80, 40, drs(0xA03));
    f0.0[32..48].copy_from_slice(&a1[0..16]);
    f0.0[48..64].copy_from_slice(&a1[16..32]);

    let mut f1 = Flit([0; FLIT_BYTES]);
    f1.0[0..32].copy_from_slice(&a1[32..64]);
    f1.0[32..64].copy_from_slice(&a2[0..32]);

    let mut f2 = Flit([0; FLIT_BYTES]);
    f2.0[0..32].copy_from_slice(&a2[32..64]);
    f2.0[32..64].copy_from_slice(&a3[0..32]);

    let mut f3 = header_flit([5, 0, 0, 5]);
    put(&mut f3, slot_bit(0), 40, drs(0xA04));
    f3.0[16..32].copy_from_slice(&a3[32..48]);
    f3.0[32..48].copy_from_slice(&a3[48..64]);
    put(&mut f3, slot_bit(3), 30, ndr(0xB03));

    let mut f4 = Flit([0; FLIT_BYTES]);
    f4.0[0..64].copy_from_slice(&a4[..]);

    [f0, f1, f2, f3, f4].into_iter().map(sealed).collect()
}

fn drs_msg(tag: u16) -> Message {
    Message::S2mDrs(S2mDrs::mem_data(tag, false), data(tag))
}

fn ndr_msg(tag: u16) -> Message {
    Message::S2mNdr(S2mNdr::cmp(tag))
}

fn packing(e: DecodeError) -> PackingError {
    match e {
        DecodeError::Packing(p) => p,
        other => panic!("expected a packing error, got {other}"),
    }
}

#[test]
fn hand_built_g6_stream_with_all_data_and_carry_over() {
    let flits = hand_stream();
    let mut dec = Decoder::new(Dir::S2M);
    let expect = [
        (FlitKind::Header, vec![ndr_msg(0xB01), ndr_msg(0xB02)], 10),
        (FlitKind::AllData, vec![drs_msg(0xA01)], 6),
        (FlitKind::AllData, vec![drs_msg(0xA02)], 2),
        (FlitKind::Header, vec![drs_msg(0xA03), ndr_msg(0xB03)], 4),
        (FlitKind::AllData, vec![drs_msg(0xA04)], 0),
    ];
    for (i, (f, (kind, msgs, owed))) in flits.iter().zip(expect).enumerate() {
        assert_eq!(
            dec.push(f).unwrap_or_else(|e| panic!("flit {i}: {e}")),
            msgs,
            "flit {i}"
        );
        assert_eq!(dec.last_kind(), Some(kind), "flit {i}");
        assert_eq!(dec.queued_chunks(), owed, "flit {i}");
    }
}

#[test]
fn decode_stream_json_of_hand_stream() {
    let report = decode_stream(Dir::S2M, &hand_stream());
    assert_eq!((report.flits, report.crc_errors), (5, 0));
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let json = serde_json::to_value(&report).unwrap();
    let msgs = json["messages"].as_array().unwrap();
    let tags: Vec<u64> = msgs.iter().map(|m| m["tag"].as_u64().unwrap()).collect();
    assert_eq!(tags, [0xB01, 0xB02, 0xA01, 0xA02, 0xA03, 0xB03, 0xA04]);
    assert_eq!(msgs[0]["class"], "S2M_NDR");
    assert_eq!(msgs[0]["opcode"], "Cmp");
    assert_eq!(msgs[0]["meta_field"], 3);
    assert_eq!(msgs[2]["class"], "S2M_DRS");
    assert_eq!(msgs[2]["opcode"], "MemData");
    assert_eq!(msgs[2]["poison"], false);
    let hex: String = data(0xA01).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(msgs[2]["data"], hex.as_str());
    assert_eq!(msgs[2]["data"].as_str().unwrap().len(), 128);
}

#[test]
fn m2s_json_has_byte_addresses() {
    let mut f = header_flit([5, 4, 4, 4]);
    // Req MemRd: Valid, opcode 0001 at 4:1, MetaField 11 at 9:8, Tag 27:12,
    // Addr[51:5] at 74:28 (small addresses, so bits 64.. stay zero).
    let req = |tag: u64, addr: u64| 1 | 1 << 1 | 0b11 << 8 | tag << 12 | (addr >> 5) << 28;
    put(&mut f, slot_bit(0), 64, req(7, 0x1_0020));
    put(&mut f, slot_bit(1), 64, req(8, 0x40));
    let report = decode_stream(Dir::M2S, &[sealed(f)]);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let json = serde_json::to_value(&report.messages).unwrap();
    assert_eq!(json[0]["class"], "M2S_Req");
    assert_eq!(json[0]["opcode"], "MemRd");
    assert_eq!(json[0]["addr"], 0x1_0020);
    assert_eq!(json[1]["tag"], 8);
    assert_eq!(json[1]["addr"], 0x40);
}

#[test]
fn crc_error_is_counted_and_the_flit_skipped() {
    let mut flits: Vec<Flit> = (0..3u16)
        .map(|t| {
            let mut f = header_flit([4, 5, 5, 5]);
            put(&mut f, slot_bit(0), 30, ndr(t));
            sealed(f)
        })
        .collect();
    flits[1].0[5] ^= 0x10;
    let report = decode_stream(Dir::S2M, &flits);
    assert_eq!(report.crc_errors, 1);
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    let tags: Vec<u16> = report
        .messages
        .iter()
        .map(|m| match m {
            MessageJson::S2mNdr { tag, .. } => *tag,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(tags, [0, 2]);

    let mut dec = Decoder::new(Dir::S2M);
    let err = dec.push(&flits[1]).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Crc {
            computed: flits[1].computed_crc(),
            stored: flits[1].stored_crc()
        }
    );
    assert!(!err.to_string().contains('\n'));

    // A bad all-data flit changes nothing: its good replay completes the data.
    let good = hand_stream();
    let mut dec = Decoder::new(Dir::S2M);
    dec.push(&good[0]).unwrap();
    let mut bad = good[1];
    bad.0[0] ^= 1;
    assert!(matches!(dec.push(&bad), Err(DecodeError::Crc { .. })));
    assert_eq!(dec.last_kind(), Some(FlitKind::BadCrc));
    assert_eq!(dec.push(&good[1]).unwrap(), vec![drs_msg(0xA01)]);
}

#[test]
fn g0_with_nothing_queued() {
    let f = sealed(header_flit([4, 0, 5, 5]));
    let err = Decoder::new(Dir::S2M).push(&f).unwrap_err();
    assert_eq!(packing(err), PackingError::G0WithoutData { slot: 1 });
    let report = decode_stream(Dir::S2M, &[f]);
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0].starts_with("flit 0: "),
        "{}",
        report.errors[0]
    );
}

#[test]
fn missing_carry_over_chunks() {
    let mut flits = hand_stream();
    let mut f3 = header_flit([4, 5, 5, 5]);
    put(&mut f3, slot_bit(3), 30, ndr(0xB03));
    flits[3] = sealed(f3);
    let mut dec = Decoder::new(Dir::S2M);
    for f in &flits[..3] {
        dec.push(f).unwrap();
    }
    let out = dec.push_lenient(&flits[3]);
    assert_eq!(
        out.errors,
        vec![DecodeError::Packing(PackingError::MissingCarryOver {
            carried: 2,
            slot: 1,
            dropped: vec![0xA03]
        })]
    );
    assert_eq!(out.messages, vec![ndr_msg(0xB03)]);
    let report = decode_stream(Dir::S2M, &flits[..4]);
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    assert!(report.errors[0].starts_with("flit 3: "));
}

#[test]
fn too_many_drs_or_ndr_in_a_flit() {
    let mut f = header_flit([5, 6, 4, 4]);
    for (i, at) in [
        slot_bit(0),
        slot_bit(0) + 40,
        slot_bit(1),
        slot_bit(1) + 40,
        slot_bit(1) + 80,
    ]
    .into_iter()
    .enumerate()
    {
        put(&mut f, at, 40, drs(i as u16));
    }
    let err = Decoder::new(Dir::S2M).push(&sealed(f)).unwrap_err();
    assert_eq!(
        packing(err),
        PackingError::TooMany {
            class: "S2M_DRS",
            count: 5,
            max: 3
        }
    );

    let mut f = header_flit([4, 5, 4, 4]);
    for (i, at) in [slot_bit(0), slot_bit(0) + 30, slot_bit(1), slot_bit(1) + 30]
        .into_iter()
        .enumerate()
    {
        put(&mut f, at, 30, ndr(i as u16));
    }
    let out = Decoder::new(Dir::S2M).push_lenient(&sealed(f));
    assert_eq!(
        out.errors,
        vec![DecodeError::Packing(PackingError::TooMany {
            class: "S2M_NDR",
            count: 4,
            max: 2
        })]
    );
    assert_eq!(out.messages.len(), 4, "messages are kept");

    // M2S: H4 and G5 each carry an RwD header: 2 > 1.
    let rwd = |tag: u64| 1 | 1 << 1 | 0b11 << 8 | tag << 12;
    let mut f = header_flit([4, 5, 4, 4]);
    put(&mut f, slot_bit(0), 64, rwd(1));
    put(&mut f, slot_bit(1), 64, rwd(2));
    let err = Decoder::new(Dir::M2S).push(&sealed(f)).unwrap_err();
    assert_eq!(
        packing(err),
        PackingError::TooMany {
            class: "M2S_RwD",
            count: 2,
            max: 1
        }
    );
}

#[test]
fn unknown_slot_formats() {
    let cases = [
        (Dir::S2M, [0, 4, 4, 4], 0, 0),
        (Dir::S2M, [4, 7, 4, 4], 1, 7),
        (Dir::S2M, [4, 4, 1, 4], 2, 1),
        (Dir::S2M, [6, 4, 4, 4], 0, 6),
        (Dir::M2S, [5, 4, 4, 6], 3, 6),
        (Dir::M2S, [3, 4, 4, 4], 0, 3),
    ];
    for (dir, slots, slot, code) in cases {
        let err = Decoder::new(dir)
            .push(&sealed(header_flit(slots)))
            .unwrap_err();
        assert_eq!(
            packing(err),
            PackingError::UnknownSlotFormat {
                slot,
                code: code as u8,
                dir
            },
            "{slots:?}"
        );
    }
}

#[test]
fn unknown_opcode_is_an_error_not_a_panic() {
    let mut f = header_flit([4, 5, 5, 5]);
    put(&mut f, slot_bit(0), 30, ndr(1) | 0b111 << 1);
    put(&mut f, slot_bit(0) + 30, 30, ndr(2));
    let out = Decoder::new(Dir::S2M).push_lenient(&sealed(f));
    assert_eq!(
        out.errors,
        vec![DecodeError::Packing(PackingError::Message {
            slot: 0,
            source: MsgDecodeError::UnknownOpcode {
                class: "S2M_NDR",
                code: 0b111
            }
        })]
    );
    assert_eq!(out.messages, vec![ndr_msg(2)]);
}

#[test]
fn control_flits_are_skipped() {
    let mut f = header_flit([4, 0, 0, 0]);
    f.0[0] |= 1;
    let mut dec = Decoder::new(Dir::S2M);
    assert_eq!(dec.push(&sealed(f)).unwrap(), vec![]);
    assert_eq!(dec.last_kind(), Some(FlitKind::Control));
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = pifs_rng::Rng::new(42);
    for dir in [Dir::S2M, Dir::M2S] {
        let flits: Vec<Flit> = (0..2000)
            .map(|_| {
                let mut f = Flit([0; FLIT_BYTES]);
                for b in f.0.iter_mut() {
                    *b = rng.below(256) as u8;
                }
                if rng.chance(0.9) {
                    f.seal();
                }
                f
            })
            .collect();
        let report = decode_stream(dir, &flits);
        assert_eq!(report.flits, 2000);
        assert!(report.crc_errors > 0);
    }
}

#[test]
fn truncated_stream_reports_owed_data() {
    let report = decode_stream(Dir::S2M, &hand_stream()[..2]);
    assert_eq!(report.errors.len(), 1);
    assert!(
        report.errors[0].starts_with("end of stream: 6 data chunk(s)"),
        "{}",
        report.errors[0]
    );
}
