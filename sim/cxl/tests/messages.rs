//! Message and flit-header bit layouts: round trips over all field values,
//! bit positions checked by hand, field-range errors, hex and word forms.

mod common;

use bitvec::prelude::*;
use pifs_cxl::*;
use proptest::prelude::*;

fn field(bits: &BitSlice<u8, Lsb0>, lo: usize, width: usize) -> u64 {
    (0..width).map(|i| u64::from(bits[lo + i]) << i).sum()
}

proptest! {
    #[test]
    fn req_round_trip(m in common::req()) {
        let bits = m.to_bits().unwrap();
        prop_assert_eq!(bits.len(), 87);
        prop_assert_eq!(M2sReq::unpack(&bits).unwrap(), Some(m));
    }

    #[test]
    fn rwd_round_trip(m in common::rwd()) {
        let bits = m.to_bits().unwrap();
        prop_assert_eq!(M2sRwd::unpack(&bits).unwrap(), Some(m));
    }

    #[test]
    fn ndr_round_trip(m in common::ndr()) {
        let bits = m.to_bits().unwrap();
        prop_assert_eq!(bits.len(), 30);
        prop_assert_eq!(S2mNdr::unpack(&bits).unwrap(), Some(m));
    }

    #[test]
    fn drs_round_trip(m in common::drs()) {
        let bits = m.to_bits().unwrap();
        prop_assert_eq!(bits.len(), 40);
        prop_assert_eq!(S2mDrs::unpack(&bits).unwrap(), Some(m));
    }

    /// The packers' byte path: a message written at any bit offset of a payload full of other
    /// bits equals its bit-slice form placed there bit by bit, leaves every other bit alone,
    /// and reads back.
    #[test]
    fn pack_at_any_offset(m in common::req(), d in common::drs(), fill in proptest::collection::vec(any::<u8>(), 64), at in 0usize..=512 - 87) {
        for (bits, width) in [(m.to_bits().unwrap(), 87), (d.to_bits().unwrap(), 40)] {
            let mut bytes = fill.clone();
            if width == 87 { m.pack_at(&mut bytes, at).unwrap() } else { d.pack_at(&mut bytes, at).unwrap() }
            let mut want = fill.clone();
            let view = want.view_bits_mut::<Lsb0>();
            for i in 0..width {
                view.set(at + i, bits[i]);
            }
            prop_assert_eq!(&bytes, &want);
        }
        let mut bytes = fill.clone();
        m.pack_at(&mut bytes, at).unwrap();
        prop_assert_eq!(M2sReq::unpack_at(&bytes, at).unwrap(), Some(m));
        let mut bytes = fill;
        d.pack_at(&mut bytes, at).unwrap();
        prop_assert_eq!(S2mDrs::unpack_at(&bytes, at).unwrap(), Some(d));
    }

    #[test]
    fn header_round_trip(w in any::<u32>()) {
        let reserved = (1u32 << 1) | (0b111 << 17);
        let h = FlitHeader::unpack(w);
        prop_assert_eq!(h.pack().unwrap(), w & !reserved);
    }

    #[test]
    fn hex_and_words_round_trip(bytes in prop::collection::vec(any::<u8>(), 66)) {
        let mut raw = [0u8; 66];
        raw.copy_from_slice(&bytes);
        let f = Flit(raw);
        let hex = f.to_hex();
        prop_assert_eq!(hex.len(), 132);
        prop_assert_eq!(Flit::from_hex(&format!("  {hex}\n")).unwrap(), f);
        let words = f.to_words();
        for i in 0..528 {
            prop_assert_eq!((words[i / 32] >> (i % 32)) & 1, u32::from((raw[i / 8] >> (i % 8)) & 1));
        }
        prop_assert_eq!(words[16] >> 16, 0);
        prop_assert_eq!(Flit::from_words(&words), f);
    }
}

#[test]
fn drs_bits_by_hand() {
    let m = S2mDrs {
        poison: true,
        ld_id: 5,
        dev_load: 2,
        ..S2mDrs::mem_data(0xABCD, true)
    };
    let bits = m.to_bits().unwrap();
    assert_eq!(field(&bits, 8, 16), 0xABCD);
    // Valid 1, opcode 000, MetaField 11, MetaValue 00 -> 0b0011_0001.
    // Byte 3: Poison bit 24, LD-ID 0101 at 28:25, DevLoad 10 at 30:29 -> 0b0100_1011.
    assert_eq!(bits.as_raw_slice(), &[0x31, 0xCD, 0xAB, 0x4B, 0x00]);
}

#[test]
fn ndr_bits_by_hand() {
    let m = S2mNdr {
        opcode: NdrOpcode::CmpE,
        meta_field: 3,
        meta_value: 1,
        tag: 0x1234,
        ld_id: 0xF,
        dev_load: 1,
    };
    let bits = m.to_bits().unwrap();
    // Valid 1, opcode 010 at 3:1, MetaField 11 at 5:4, MetaValue 01 at 7:6 -> 0x75.
    assert_eq!(&bits.as_raw_slice()[..3], &[0x75, 0x34, 0x12]);
    assert_eq!(field(&bits, 24, 4), 0xF);
    assert_eq!(field(&bits, 28, 2), 1);
}

#[test]
fn req_bits_by_hand() {
    let addr = 0x0008_1234_5678_9AE0u64;
    let m = M2sReq {
        opcode: ReqOpcode::MemSpecRd,
        tag: 0xBEEF,
        tc: 2,
        ld_id: 9,
        ..M2sReq::mem_rd(0, addr)
    };
    let bits = m.to_bits().unwrap();
    assert!(bits[0]);
    assert_eq!(field(&bits, 1, 4), 0b1000);
    assert_eq!(field(&bits, 5, 3), 0);
    assert_eq!(field(&bits, 8, 2), 0b11);
    assert_eq!(field(&bits, 12, 16), 0xBEEF);
    for i in 0..47 {
        assert_eq!(bits[28 + i], (addr >> (5 + i)) & 1 == 1, "Addr[{}]", 5 + i);
    }
    assert_eq!(field(&bits, 75, 2), 2);
    assert_eq!(field(&bits, 77, 4), 9);
    assert_eq!(field(&bits, 81, 6), 0);
}

#[test]
fn rwd_bits_by_hand() {
    let addr = 0x000F_FFFF_FFFF_FFC0u64;
    let m = M2sRwd {
        opcode: RwdOpcode::MemWrPtl,
        poison: true,
        tag: 0x0102,
        ..M2sRwd::mem_wr(0, addr)
    };
    let bits = m.to_bits().unwrap();
    assert_eq!(field(&bits, 1, 4), 0b0010);
    assert_eq!(field(&bits, 12, 16), 0x0102);
    assert_eq!(field(&bits, 28, 46), addr >> 6);
    assert!(bits[74]);
    assert_eq!(field(&bits, 75, 12), 0);
}

#[test]
fn valid_zero_is_absent_and_bad_opcode_is_an_error() {
    let zeros = bitvec![u8, Lsb0; 0; 87];
    assert_eq!(M2sReq::unpack(&zeros).unwrap(), None);
    let mut bits = S2mNdr::cmp(7).to_bits().unwrap();
    bits[1..4].store_le(0b111u8);
    assert_eq!(
        S2mNdr::unpack(&bits),
        Err(MsgDecodeError::UnknownOpcode {
            class: "S2M_NDR",
            code: 0b111
        })
    );
    let mut bits = M2sReq::mem_rd(1, 0).to_bits().unwrap();
    bits[1..5].store_le(0b0100u8);
    assert!(M2sReq::unpack(&bits).is_err());
    assert!(S2mDrs::unpack(&bitvec![u8, Lsb0; 1; 10]).is_err());
}

#[test]
fn out_of_range_fields_are_pack_errors() {
    let m = S2mNdr {
        ld_id: 16,
        ..S2mNdr::cmp(1)
    };
    assert!(matches!(
        m.to_bits(),
        Err(PackError::FieldRange {
            field: "ld_id",
            value: 16,
            max: 15,
            ..
        })
    ));
    assert!(matches!(
        M2sReq::mem_rd(1, 0x10).to_bits(),
        Err(PackError::Addr { align: 32, .. })
    ));
    assert!(matches!(
        M2sRwd::mem_wr(1, 0x20).to_bits(),
        Err(PackError::Addr { align: 64, .. })
    ));
    assert!(M2sRwd::mem_wr(1, 1 << 52).to_bits().is_err());
    let h = FlitHeader {
        slots: [8, 0, 0, 0],
        ..FlitHeader::protocol([0; 4])
    };
    assert!(h.pack().is_err());
}

#[test]
fn header_bits_by_hand() {
    let h = FlitHeader {
        rsp_crd: 0xA,
        req_crd: 0x5,
        data_crd: 0xC,
        ..FlitHeader::protocol([3, 6, 0, 4])
    };
    // Sz 0x10 | Slot0 3<<5 | Slot1 6<<8 | Slot3 4<<14 | RspCrd A<<20 | ReqCrd 5<<24 | DataCrd C<<28.
    assert_eq!(h.pack().unwrap(), 0xC5A1_0670);
    let mut f = Flit::default();
    f.set_header(&h).unwrap();
    assert_eq!(&f.0[..4], &[0x70, 0x06, 0xA1, 0xC5]);
    assert_eq!(f.header(), h);
    assert_eq!(FlitHeader::unpack(1).ty, FlitType::Control);
}

#[test]
fn hex_errors_say_what_is_wrong() {
    assert_eq!(Flit::from_hex(&"0".repeat(131)), Err(HexError::Length(131)));
    assert_eq!(Flit::from_hex(""), Err(HexError::Length(0)));
    let mut line = "a".repeat(132);
    line.replace_range(10..11, "g");
    assert_eq!(
        Flit::from_hex(&line),
        Err(HexError::BadChar {
            column: 11,
            ch: 'g'
        })
    );
    assert_eq!(
        Flit::from_hex(&format!("\t {line}")),
        Err(HexError::BadChar {
            column: 13,
            ch: 'g'
        })
    );
    let e = Flit::from_hex(&"0".repeat(131)).unwrap_err().to_string();
    assert!(e.contains("131"), "{e}");
    assert!(Flit::from_hex(&"é".repeat(132)).is_err());
    assert_eq!(Flit::from_hex(&"AB".repeat(66)).unwrap().0[0], 0xAB);
}

#[test]
fn dir_parses_and_serialises() {
    assert_eq!("m2s".parse::<Dir>(), Ok(Dir::M2S));
    assert_eq!("S2M".parse::<Dir>(), Ok(Dir::S2M));
    assert!("x2y".parse::<Dir>().is_err());
    assert_eq!(serde_json::to_string(&Dir::S2M).unwrap(), "\"s2m\"");
    assert_eq!(
        serde_json::to_string(&NdrOpcode::CmpS).unwrap(),
        "\"Cmp-S\""
    );
    assert_eq!(ReqOpcode::MemSpecRd.name(), "MemSpecRd");
}
