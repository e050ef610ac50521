//! The RTL ingress (CRC check, slot unpacking, line assembly) against the Rust decoder inside the
//! reference model, on random S2M flit streams: valid streams with every slot format and NDRs
//! mixed in, streams with corrupted flits (CRC errors), and flits that break a packing rule.

use pifs_cxl::Flit;
use pifs_rng::Rng;
use pifs_sim::model::ModelPort;
use pifs_sim::rtl::RtlPort;
use pifs_sim::{Command, PortAccumulator};
use pifs_tb::{flip_random_bits, play_stream, random_stream, Played};

fn play(cmds: &[(u64, Command)], flits: &[(u64, Flit)], port: &mut dyn PortAccumulator) -> Played {
    play_stream(cmds, flits, port).expect("run")
}

#[test]
fn valid_random_streams_decode_identically() {
    for seed in 0..12u64 {
        eprintln!("valid streams: seed {seed}");
        let (cmds, flits) = random_stream(&mut Rng::new(seed), 200);
        let mut rtl = RtlPort::new(seed, None).unwrap();
        let r = play(&cmds, &flits, &mut rtl);
        let m = play(&cmds, &flits, &mut ModelPort::new());
        assert_eq!(r.1, m.1, "seed {seed}: counters");
        assert_eq!(r.0, m.0, "seed {seed}: accumulation order");
        assert_eq!(r.2, m.2, "seed {seed}: results");
        assert_eq!(r.1.lines, 200, "seed {seed}: every line assembled");
        assert!(r.1.ndr > 0, "seed {seed}: NDRs exercised");
        assert_eq!(r.1.crc_errors + r.1.proto_errors + r.1.tag_errors, 0);
    }
}

#[test]
fn corrupted_flits_are_dropped_identically() {
    for seed in 20..32u64 {
        eprintln!("corrupted streams: seed {seed}");
        let (cmds, mut flits) = random_stream(&mut Rng::new(seed), 120);
        let mut rng = Rng::new(seed);
        let flipped = flip_random_bits(&mut rng, &mut flits, 0.05);
        let mut rtl = RtlPort::new(seed, None).unwrap();
        let r = play(&cmds, &flits, &mut rtl);
        let m = play(&cmds, &flits, &mut ModelPort::new());
        assert_eq!(
            r.1.crc_errors, flipped,
            "seed {seed}: every flipped flit fails its CRC"
        );
        assert_eq!(r.1, m.1, "seed {seed}: counters");
        assert_eq!(r.0, m.0, "seed {seed}: accumulation order");
        assert_eq!(r.2, m.2, "seed {seed}: results");
    }
}

#[test]
fn packing_rule_violations_are_reported() {
    // Each flit is the first of a fresh stream, sealed with a good CRC.
    let mut g0_empty = Flit::default();
    g0_empty.0[0] = 3 << 5; // slot 0 = H3 with nothing valid, slots 1-3 = G0 with nothing queued
    let mut cache_fmt = Flit::default();
    cache_fmt.0[0] = 1 << 5; // slot 0 = H1, a CXL.cache format
    let mut too_many_drs = Flit::default();
    // slot 0 = H5 (2 DRS), slot 1 = G6 (3 DRS), slots 2-3 = G5 (no NDR valid): 5 DRS > 3.
    let hdr: u32 = (5 << 5) | (6 << 8) | (5 << 11) | (5 << 14) | (1 << 4);
    too_many_drs.0[..4].copy_from_slice(&hdr.to_le_bytes());
    let set = |f: &mut Flit, bit: usize| f.0[bit / 8] |= 1 << (bit % 8);
    for base in [32usize, 72, 128, 168, 208] {
        set(&mut too_many_drs, base); // Valid bit of each DRS (tags 0)
    }
    for (name, mut f) in [
        ("G0 without data", g0_empty),
        ("cache slot format", cache_fmt),
        ("5 DRS in a flit", too_many_drs),
    ] {
        f.seal();
        let flits = vec![(0u64, f)];
        let mut rtl = RtlPort::new(1, None).unwrap();
        let r = play(&[], &flits, &mut rtl);
        let m = play(&[], &flits, &mut ModelPort::new());
        assert_eq!(r.1.proto_errors, 1, "{name}: RTL");
        assert_eq!(m.1.proto_errors, 1, "{name}: model");
        assert_eq!(r.1.lines + m.1.lines, 0, "{name}");
    }
}
