//! Property tests of the reference model ([`ModelPort`], the `PortAccumulator` model backend):
//! for random bags (slot, row count, row size in lines), random row data and a random response
//! order, every pooled line equals an independent replay of the documented order (line k of a
//! (bag, line) goes to partial sum k mod 2, both partials start at +0.0, result P0 + P1; plain
//! `f32` additions here, not `pifs_sim::fp`), and lies within the float32 summation bound of
//! the float64 sum of the same values.

use std::collections::{BTreeMap, VecDeque};

use pifs_cxl::{Message, S2mDrs, S2mPacker};
use pifs_sim::model::ModelPort;
use pifs_sim::params::{MAX_ROW_LINES, NUM_BAGS, NUM_TAGS};
use pifs_sim::{Command, PortAccumulator};
use proptest::prelude::*;

/// One bag: its slot, rows and lines per row.
#[derive(Clone, Debug)]
struct BagSpec {
    slot: u8,
    rows: u16,
    lines: u8,
}

/// Bags on distinct slots whose rows fit in the tag space together (each row takes `lines`
/// consecutive tags).
fn bags() -> impl Strategy<Value = Vec<BagSpec>> {
    let slots = Just((0..NUM_BAGS as u8).collect::<Vec<_>>()).prop_shuffle();
    (
        slots,
        prop::collection::vec((0u16..=12, 1u8..=MAX_ROW_LINES as u8), 1..=NUM_BAGS),
    )
        .prop_map(|(slots, shapes)| {
            let mut tags = 0usize;
            let mut out = Vec::new();
            for (slot, (rows, lines)) in slots.into_iter().zip(shapes) {
                let rows = rows.min(((NUM_TAGS - tags) / lines as usize) as u16);
                tags += rows as usize * lines as usize;
                out.push(BagSpec { slot, rows, lines });
            }
            out
        })
}

/// A value of a lane: finite, normal or zero, either sign, over several decades.
fn lane() -> impl Strategy<Value = f32> {
    prop_oneof![
        8 => -1.0e3f32..1.0e3f32,
        1 => -1.0e-3f32..1.0e-3f32,
        1 => Just(0.0f32),
    ]
}

/// Stimulus: bags, one response per (row, line) with its 16 lanes, and a response order.
fn stimulus() -> impl Strategy<Value = (Vec<BagSpec>, Vec<[f32; 16]>, Vec<usize>, u64)> {
    bags().prop_flat_map(|bags| {
        let n: usize = bags
            .iter()
            .map(|b| b.rows as usize * b.lines as usize)
            .sum();
        (
            Just(bags),
            prop::collection::vec(prop::array::uniform16(lane()), n),
            Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
            any::<u64>(),
        )
    })
}

/// Tag `t` belongs to (bag index, line); tags are handed out bag by bag, row by row.
fn tag_map(bags: &[BagSpec]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, b) in bags.iter().enumerate() {
        for _ in 0..b.rows {
            for l in 0..b.lines as usize {
                out.push((i, l));
            }
        }
    }
    out
}

fn check(
    bags: &[BagSpec],
    data: &[[f32; 16]],
    order: &[usize],
    seed: u64,
) -> Result<(), TestCaseError> {
    // Commands: every BagOpen, then every RowMap, one a cycle.
    let mut cmds = Vec::new();
    for b in bags {
        cmds.push(Command::BagOpen {
            bag: b.slot,
            rows: b.rows,
            lines: b.lines,
        });
    }
    let mut tag = 0u16;
    for b in bags {
        for _ in 0..b.rows {
            cmds.push(Command::RowMap { bag: b.slot, tag });
            tag += b.lines as u16;
        }
    }
    let first_flit = cmds.len() as u64 + 4;
    let cmds: Vec<(u64, Command)> = cmds
        .into_iter()
        .enumerate()
        .map(|(k, c)| (k as u64, c))
        .collect();

    // Responses in `order`, packed by the S2M packer into flits, one a cycle after the commands.
    let mut q: VecDeque<Message> = order
        .iter()
        .map(|&t| {
            let mut bytes = [0u8; 64];
            for (i, v) in data[t].iter().enumerate() {
                bytes[4 * i..4 * i + 4].copy_from_slice(&v.to_le_bytes());
            }
            Message::S2mDrs(S2mDrs::mem_data(t as u16, false), Box::new(bytes))
        })
        .collect();
    let mut packer = S2mPacker::new(seed);
    let mut flits = Vec::new();
    while let Some(f) = packer.next_flit(&mut q) {
        flits.push((first_flit + flits.len() as u64, f));
    }
    prop_assert!(q.is_empty());

    let mut port = ModelPort::new();
    port.push_cmds(&cmds);
    port.push_flits(&flits);
    port.drain(1_000_000).expect("model drains");
    let c = port.counters();
    prop_assert_eq!(
        c.cmd_errors + c.tag_errors + c.proto_errors + c.crc_errors,
        0
    );
    prop_assert_eq!(c.lines as usize, order.len());
    let mut got: BTreeMap<(u8, u8), [u32; 16]> = BTreeMap::new();
    for r in port.take_results() {
        prop_assert!(got.insert((r.bag, r.line), r.data).is_none(), "line twice");
    }

    // Independent replay, and the float64 sums.
    let tags = tag_map(bags);
    let mut part: Vec<Vec<[[f32; 16]; 2]>> = bags
        .iter()
        .map(|b| vec![[[0.0f32; 16]; 2]; b.lines as usize])
        .collect();
    let mut count: Vec<Vec<usize>> = bags.iter().map(|b| vec![0; b.lines as usize]).collect();
    let mut exact: Vec<Vec<[(f64, f64); 16]>> = bags
        .iter()
        .map(|b| vec![[(0.0, 0.0); 16]; b.lines as usize])
        .collect();
    for &t in order {
        let (i, l) = tags[t];
        let p = count[i][l] % 2;
        count[i][l] += 1;
        for (c, &x) in data[t].iter().enumerate() {
            part[i][l][p][c] += x;
            exact[i][l][c].0 += x as f64;
            exact[i][l][c].1 += (x as f64).abs();
        }
    }
    let u = f64::powi(2.0, -24);
    let mut lines = 0;
    for (i, b) in bags.iter().enumerate() {
        for l in 0..b.lines as usize {
            lines += 1;
            let Some(d) = got.get(&(b.slot, l as u8)) else {
                return Err(TestCaseError::fail(format!(
                    "no result for bag {} line {l}",
                    b.slot
                )));
            };
            let n = count[i][l];
            prop_assert_eq!(n, b.rows as usize);
            for c in 0..16 {
                let want = part[i][l][0][c] + part[i][l][1][c];
                prop_assert_eq!(
                    d[c],
                    want.to_bits(),
                    "bag {} line {} lane {}: model {} replay {}",
                    b.slot,
                    l,
                    c,
                    f32::from_bits(d[c]),
                    want
                );
                // gamma_{n-1} * sum|x| (float32 rounding), plus the float64 sum's own error.
                let k = n.saturating_sub(1) as f64;
                let (s, a) = exact[i][l][c];
                let bound = k * u / (1.0 - k * u) * a + n as f64 * f64::EPSILON * a;
                let err = (f32::from_bits(d[c]) as f64 - s).abs();
                prop_assert!(
                    err <= bound,
                    "bag {} line {l} lane {c}: error {err} > bound {bound}",
                    b.slot
                );
            }
        }
    }
    prop_assert_eq!(got.len(), lines);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn model_sums_match_an_order_replay((bags, data, order, seed) in stimulus()) {
        check(&bags, &data, &order, seed)?;
    }
}
