//! Shared generators for the integration tests.

#![allow(dead_code)]

use pifs_cxl::*;
use proptest::prelude::*;

pub fn req() -> impl Strategy<Value = M2sReq> {
    (
        prop::sample::select(ReqOpcode::ALL),
        0u8..8,
        0u8..4,
        0u8..4,
        any::<u16>(),
        0u64..(1 << 47),
        0u8..4,
        0u8..16,
    )
        .prop_map(
            |(opcode, snp_type, meta_field, meta_value, tag, a, tc, ld_id)| M2sReq {
                opcode,
                snp_type,
                meta_field,
                meta_value,
                tag,
                addr: a << 5,
                tc,
                ld_id,
            },
        )
}

pub fn rwd() -> impl Strategy<Value = M2sRwd> {
    (
        prop::sample::select(RwdOpcode::ALL),
        0u8..8,
        0u8..4,
        0u8..4,
        any::<u16>(),
        0u64..(1 << 46),
        any::<bool>(),
        0u8..4,
        0u8..16,
    )
        .prop_map(
            |(opcode, snp_type, meta_field, meta_value, tag, a, poison, tc, ld_id)| M2sRwd {
                opcode,
                snp_type,
                meta_field,
                meta_value,
                tag,
                addr: a << 6,
                poison,
                tc,
                ld_id,
            },
        )
}

pub fn ndr() -> impl Strategy<Value = S2mNdr> {
    (
        prop::sample::select(NdrOpcode::ALL),
        0u8..4,
        0u8..4,
        any::<u16>(),
        0u8..16,
        0u8..4,
    )
        .prop_map(
            |(opcode, meta_field, meta_value, tag, ld_id, dev_load)| S2mNdr {
                opcode,
                meta_field,
                meta_value,
                tag,
                ld_id,
                dev_load,
            },
        )
}

pub fn drs() -> impl Strategy<Value = S2mDrs> {
    (0u8..4, 0u8..4, any::<u16>(), any::<bool>(), 0u8..16, 0u8..4).prop_map(
        |(meta_field, meta_value, tag, poison, ld_id, dev_load)| S2mDrs {
            opcode: DrsOpcode::MemData,
            meta_field,
            meta_value,
            tag,
            poison,
            ld_id,
            dev_load,
        },
    )
}

pub fn data() -> impl Strategy<Value = Box<[u8; 64]>> {
    prop::array::uniform32(any::<u8>())
        .prop_flat_map(|a| prop::array::uniform32(any::<u8>()).prop_map(move |b| (a, b)))
        .prop_map(|(a, b)| {
            let mut d = [0u8; 64];
            d[..32].copy_from_slice(&a);
            d[32..].copy_from_slice(&b);
            Box::new(d)
        })
}

pub fn s2m_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        ndr().prop_map(Message::S2mNdr),
        (drs(), data()).prop_map(|(m, d)| Message::S2mDrs(m, d)),
    ]
}

pub fn m2s_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        req().prop_map(Message::M2sReq),
        (rwd(), data()).prop_map(|(m, d)| Message::M2sRwd(m, d)),
    ]
}

/// Data whose bytes identify the message and the byte index.
pub fn tagged_data(tag: u16) -> Box<[u8; 64]> {
    let mut d = [0u8; 64];
    for (j, b) in d.iter_mut().enumerate() {
        *b = (tag as u8).wrapping_mul(0x40).wrapping_add(j as u8) ^ (tag >> 8) as u8;
    }
    Box::new(d)
}

/// A random S2M or M2S message sequence drawn from the project RNG.
pub fn random_messages(rng: &mut pifs_rng::Rng, dir: Dir, n: usize) -> Vec<Message> {
    let data_share = rng.unit_f64();
    (0..n)
        .map(|i| {
            let tag = i as u16;
            let with_data = rng.chance(data_share);
            match (dir, with_data) {
                (Dir::S2M, true) => {
                    Message::S2mDrs(S2mDrs::mem_data(tag, rng.chance(0.1)), tagged_data(tag))
                }
                (Dir::S2M, false) => Message::S2mNdr(S2mNdr::cmp(tag)),
                (Dir::M2S, true) => Message::M2sRwd(
                    M2sRwd::mem_wr(tag, rng.below(1 << 20) << 6),
                    tagged_data(tag),
                ),
                (Dir::M2S, false) => Message::M2sReq(M2sReq::mem_rd(tag, rng.below(1 << 20) << 6)),
            }
        })
        .collect()
}

/// Split messages by class, keeping each class's order.
pub fn by_class(msgs: &[Message]) -> [Vec<Message>; 4] {
    let mut out: [Vec<Message>; 4] = Default::default();
    for m in msgs {
        let i = match m {
            Message::M2sReq(_) => 0,
            Message::M2sRwd(..) => 1,
            Message::S2mNdr(_) => 2,
            Message::S2mDrs(..) => 3,
        };
        out[i].push(m.clone());
    }
    out
}
