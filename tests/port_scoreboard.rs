//! RTL against the reference model and against sums computed from the send order, at one port:
//! seeded random workloads (bag lengths 0 to 256, duplicate rows, row sizes 1 to 8 lines, IEEE
//! special values, out-of-order responses, flit gaps, result back-pressure). Every test prints
//! its seeds; PIFS_SEED=<n> replays one seed.

use pifs_rng::Rng;
use pifs_sim::model::ModelPort;
use pifs_sim::rtl::RtlPort;
use pifs_tb::{
    compare, drive, expected_sums, random_bag, random_scenario, BagSpec, Outcome, Scenario, Values,
};

fn seeds(default: std::ops::Range<u64>) -> Vec<u64> {
    match std::env::var("PIFS_SEED") {
        Ok(s) => vec![s.parse().expect("PIFS_SEED must be an integer")],
        Err(_) => default.collect(),
    }
}

fn run_both(sc: &Scenario) -> (Outcome, Outcome) {
    let mut rtl = RtlPort::new(sc.seed, None).expect("RTL model");
    let mut model = ModelPort::new();
    let r = drive(&mut rtl, sc).expect("rtl run");
    let m = drive(&mut model, sc).expect("model run");
    (r, m)
}

fn assert_sums_follow_send_order(sc: &Scenario, out: &Outcome, seed: u64) {
    let want = expected_sums(sc, &out.order);
    for (i, (bag, w)) in sc.bags.iter().zip(&want).enumerate() {
        assert_eq!(
            &out.sums[i].0,
            w,
            "seed {seed}: bag {i} ({} rows x {} lines)",
            bag.rows.len(),
            bag.lines
        );
        assert_eq!(
            out.sums[i].1,
            bag.poisoned.iter().any(|&p| p),
            "seed {seed}: bag {i} poison"
        );
    }
}

#[test]
fn random_workloads_rtl_equals_model_bit_and_cycle_exact() {
    for seed in seeds(0..10) {
        eprintln!("random_workloads: seed {seed}");
        let sc = random_scenario(seed, Values::Special);
        let (r, m) = run_both(&sc);
        let diffs = compare(&r, &m, true);
        assert!(diffs.is_empty(), "seed {seed}: {diffs:#?}");
        assert_sums_follow_send_order(&sc, &r, seed);
        assert_eq!(
            r.crc_errors + r.proto_errors + r.cmd_errors + r.tag_errors,
            0,
            "seed {seed}"
        );
    }
}

#[test]
fn back_pressure_loses_and_duplicates_nothing() {
    for seed in seeds(100..106) {
        eprintln!("back_pressure: seed {seed}");
        let mut sc = random_scenario(seed, Values::Plain);
        sc.res_ready_percent = 20 + (seed % 5) as u32 * 15;
        let (r, m) = run_both(&sc);
        let diffs = compare(&r, &m, false);
        assert!(diffs.is_empty(), "seed {seed}: {diffs:#?}");
        assert_sums_follow_send_order(&sc, &r, seed);
        let expected_lines: usize = sc.bags.iter().map(|b| b.lines).sum();
        assert_eq!(
            r.results.len(),
            expected_lines,
            "seed {seed}: one result line per bag line"
        );
    }
}

#[test]
fn adder_matches_host_ieee_on_raw_bit_patterns() {
    // Two-row bags: each result lane is (+0 + a) + (+0 + b), so every pattern pair exercises the
    // RTL adder against the host's binary32 addition (NaN results canonical).
    for seed in seeds(200..204) {
        eprintln!("raw_bits: seed {seed}");
        let mut rng = Rng::new(seed);
        let bags: Vec<BagSpec> = (0..120)
            .map(|_| random_bag(&mut rng, 2, 1, Values::RawBits, 0.0))
            .collect();
        let sc = Scenario {
            bags,
            seed,
            out_of_order: false,
            gap_chance: 0.0,
            res_ready_percent: 100,
        };
        let mut rtl = RtlPort::new(seed, None).unwrap();
        let r = drive(&mut rtl, &sc).unwrap();
        for (i, b) in sc.bags.iter().enumerate() {
            for lane in 0..16 {
                let (a, c) = (b.rows[0][lane], b.rows[1][lane]);
                let want = pifs_sim::fp::add(pifs_sim::fp::add(0, a), pifs_sim::fp::add(0, c));
                assert_eq!(
                    r.sums[i].0[lane], want,
                    "seed {seed}: {a:#010x} + {c:#010x}"
                );
            }
        }
    }
}

#[test]
fn sums_are_within_the_float64_bound() {
    for seed in seeds(300..304) {
        eprintln!("f64_bound: seed {seed}");
        let sc = random_scenario(seed, Values::Plain);
        let mut rtl = RtlPort::new(seed, None).unwrap();
        let r = drive(&mut rtl, &sc).unwrap();
        for (i, b) in sc.bags.iter().enumerate() {
            for k in 0..b.lines * 16 {
                let exact: f64 = b.rows.iter().map(|row| f32::from_bits(row[k]) as f64).sum();
                let abs: f64 = b
                    .rows
                    .iter()
                    .map(|row| (f32::from_bits(row[k]) as f64).abs())
                    .sum();
                let n = b.rows.len().max(1) as f64;
                let bound = (n - 1.0) * f64::powi(2.0, -24) * abs;
                let got = f32::from_bits(r.sums[i].0[k]) as f64;
                assert!(
                    (got - exact).abs() <= bound,
                    "seed {seed}: bag {i} lane {k}: {got} vs {exact} (bound {bound})"
                );
            }
        }
    }
}

#[test]
fn empty_bag_sums_to_positive_zero() {
    let sc = Scenario {
        bags: vec![BagSpec {
            lines: 3,
            rows: vec![],
            poisoned: vec![],
        }],
        seed: 7,
        out_of_order: false,
        gap_chance: 0.0,
        res_ready_percent: 100,
    };
    let (r, m) = run_both(&sc);
    assert!(compare(&r, &m, true).is_empty());
    assert_eq!(r.sums[0].0, vec![0u32; 48]);
    assert!(!r.sums[0].1);
}

#[test]
fn line_rate_back_to_back_for_every_row_size() {
    // One bag per row size, rows back to back in the same lanes: the port never refuses a flit.
    for lines in [1usize, 2, 3, 4, 8] {
        let mut rng = Rng::new(lines as u64);
        let rows = 256 / lines;
        let bags = vec![random_bag(&mut rng, rows, lines, Values::Plain, 0.0)];
        let sc = Scenario {
            bags,
            seed: 11,
            out_of_order: false,
            gap_chance: 0.0,
            res_ready_percent: 100,
        };
        let mut rtl = RtlPort::new(1, None).unwrap();
        let r = drive(&mut rtl, &sc).unwrap();
        assert_eq!(
            r.flit_stall_cycles, 0,
            "{lines} line(s) per row: the port stalled the device"
        );
        assert_eq!(r.lines as usize, rows * lines);
    }
}
