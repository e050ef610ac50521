//! Directed corner cases of the port's command and flit protocol, each checked on the RTL and
//! the reference model (which must agree counter for counter and result for result): reserved
//! NDR opcodes, RowMaps beyond a bag's rows, stray responses for a reused bag slot, the 4-bit
//! lines field, and where the port becomes idle after a flit that completes no line.

use pifs_cxl::Flit;
use pifs_sim::model::ModelPort;
use pifs_sim::rtl::RtlPort;
use pifs_sim::{Command, PortAccumulator, PortCounters};

/// Set `width` bits of `f` from bit `lo` to `value`.
fn put(f: &mut Flit, lo: usize, width: usize, value: u64) {
    for i in 0..width {
        if (value >> i) & 1 == 1 {
            f.0[(lo + i) / 8] |= 1 << ((lo + i) % 8);
        }
    }
}

/// A protocol flit with the given slot formats (Sz = 1).
fn header_flit(slots: [u64; 4]) -> Flit {
    let mut f = Flit::default();
    put(&mut f, 4, 1, 1);
    for (s, fmt) in slots.iter().enumerate() {
        put(&mut f, 5 + 3 * s, 3, *fmt);
    }
    f
}

/// One MemData line with tag `tag`, every byte `byte`: an H3 flit (DRS + absent NDR, three G0
/// chunks) and a flit carrying the fourth chunk in slot 1 (H4 and G5 with nothing valid).
fn line(tag: u16, byte: u8) -> [Flit; 2] {
    let mut a = header_flit([3, 0, 0, 0]);
    put(&mut a, 32, 1, 1);
    put(&mut a, 32 + 8, 16, tag as u64);
    a.0[16..64].fill(byte);
    a.seal();
    let mut b = header_flit([4, 0, 5, 5]);
    b.0[16..32].fill(byte);
    b.seal();
    [a, b]
}

type Played = (PortCounters, Vec<(u8, u8, [u32; 16])>, u64);

fn play(
    port: &mut dyn PortAccumulator,
    cmds: &[(u64, Command)],
    flits: &[(u64, Flit)],
    end: u64,
) -> Played {
    port.push_cmds(cmds);
    port.push_flits(flits);
    port.run_to(end).unwrap();
    let res = port
        .take_results()
        .into_iter()
        .map(|r| (r.bag, r.line, r.data))
        .collect();
    let mut c = port.counters();
    c.cycles = 0;
    (c, res, port.now())
}

fn both(cmds: &[(u64, Command)], flits: &[(u64, Flit)], end: u64) -> Played {
    let r = play(&mut RtlPort::new(1, None).unwrap(), cmds, flits, end);
    let m = play(&mut ModelPort::new(), cmds, flits, end);
    assert_eq!(r, m, "RTL and model disagree");
    r
}

#[test]
fn reserved_ndr_opcode_is_a_packing_error() {
    let [mut a, b] = line(0, 0x3c);
    put(&mut a, 32 + 40, 1, 1); // the H3's NDR: valid ...
    put(&mut a, 32 + 41, 3, 7); // ... with reserved opcode 111
    a.seal();
    let cmds = [
        (
            0,
            Command::BagOpen {
                bag: 0,
                rows: 1,
                lines: 1,
            },
        ),
        (1, Command::RowMap { bag: 0, tag: 0 }),
    ];
    let (c, res, _) = both(&cmds, &[(2, a), (3, b)], 40);
    // The first flit is dropped whole, so the second one's G0 has nothing queued.
    assert_eq!(c.proto_errors, 2);
    assert_eq!(c.lines, 0);
    assert!(res.is_empty());
}

#[test]
fn rowmaps_beyond_rows_are_rejected_and_stray_lines_dropped() {
    let cmds = [
        (
            0,
            Command::BagOpen {
                bag: 0,
                rows: 1,
                lines: 1,
            },
        ),
        (1, Command::RowMap { bag: 0, tag: 0 }),
        (2, Command::RowMap { bag: 0, tag: 1 }), // one row too many
        (
            40,
            Command::BagOpen {
                bag: 0,
                rows: 1,
                lines: 1,
            },
        ),
        (41, Command::RowMap { bag: 0, tag: 2 }),
    ];
    let [a0, b0] = line(0, 0x3c);
    let [a1, b1] = line(1, 0x40); // would have leaked into the slot's next bag
    let [a2, b2] = line(2, 0x3e);
    let flits = [(4, a0), (5, b0), (50, a1), (51, b1), (52, a2), (53, b2)];
    let (c, res, _) = both(&cmds, &flits, 100);
    assert_eq!(c.cmd_errors, 1, "the extra RowMap");
    assert_eq!(c.tag_errors, 1, "the stray line");
    assert_eq!(res.len(), 2);
    // A one-row bag sums to its row: (+0 + x) + (+0) = x.
    assert_eq!(res[0].2, [0x3c3c_3c3c; 16]);
    assert_eq!(res[1].2, [0x3e3e_3e3e; 16]);
}

#[test]
fn rowmap_to_an_empty_bag_is_rejected() {
    let cmds = [
        (
            0,
            Command::BagOpen {
                bag: 0,
                rows: 0,
                lines: 2,
            },
        ),
        (1, Command::RowMap { bag: 0, tag: 0 }),
        (
            40,
            Command::BagOpen {
                bag: 0,
                rows: 1,
                lines: 1,
            },
        ),
        (41, Command::RowMap { bag: 0, tag: 8 }),
    ];
    let [a, b] = line(1, 0x11);
    let (c, res, _) = both(&cmds, &[(50, a), (51, b)], 100);
    assert_eq!(c.cmd_errors, 1);
    assert_eq!(c.tag_errors, 1);
    assert_eq!(res.len(), 2, "the empty bag's two +0.0 lines");
    assert!(res.iter().all(|r| r.2 == [0; 16]));
}

#[test]
fn lines_field_is_four_bits_in_both_backends() {
    let (c, res, _) = both(
        &[(
            0,
            Command::BagOpen {
                bag: 0,
                rows: 0,
                lines: 17,
            },
        )],
        &[],
        20,
    );
    assert_eq!(c.cmd_errors, 0);
    assert_eq!(res.len(), 1, "17 & 0xF = 1 line");
}

#[test]
fn idle_point_after_a_flit_without_a_line() {
    let mut n = header_flit([4, 5, 5, 5]);
    put(&mut n, 32, 1, 1); // one NDR Cmp
    n.seal();
    let mut r = RtlPort::new(1, None).unwrap();
    let mut m = ModelPort::new();
    for p in [&mut r as &mut dyn PortAccumulator, &mut m] {
        p.push_flits(&[(10, n)]);
        p.drain(1000).unwrap();
    }
    assert_eq!(r.now(), m.now());
    assert_eq!(r.counters().ndr, 1);
}
