//! The switch scoreboard of `pifs_tb::switch_tb` on the Rust model of the switch: a random
//! workload passes every check, and each check catches a planted fault (a flipped sum bit, a
//! duplicated line, a lost MemRd, a credit too many, one line a cycle late).

use pifs_sim::switch::SwitchConfig;
use pifs_sim::switch_model::ModelSwitch;
use pifs_tb::switch_tb::{
    check_backends_agree, check_credits, check_lines_once, check_mem_reqs, check_no_errors,
    check_sums, play, random_switch_workload, SwOutcome, SwRandom,
};

/// The first seed from 1 on whose workload has at least `pieces` pieces with rows.
fn workload(pieces: usize) -> SwRandom {
    (1..)
        .map(|s| random_switch_workload(s, 8))
        .find(|w| {
            w.sc.ports
                .iter()
                .flatten()
                .filter(|b| !b.rows.is_empty())
                .count()
                >= pieces
        })
        .unwrap()
}

fn run(w: &SwRandom) -> (SwOutcome, u64) {
    let cfg = SwitchConfig::default();
    let mut m = ModelSwitch::new(cfg).unwrap();
    (play(&mut m, &w.sc).unwrap(), cfg.up_credits)
}

#[test]
fn a_clean_run_passes_and_each_check_catches_its_fault() {
    let w = workload(6);
    let (o, credits) = run(&w);
    check_sums(&w.sc, &o, "model").unwrap();
    check_lines_once(&w.sc, &o, "model").unwrap();
    check_mem_reqs(&w.sc, &o, "model", true).unwrap();
    check_credits(&o, credits, "model").unwrap();
    check_no_errors(&o, "model").unwrap();
    check_backends_agree(&o, &o.clone(), "same").unwrap();

    // A flipped bit in one lane of a summed bag.
    let (p, b) = (0..8)
        .flat_map(|p| (0..w.sc.ports[p].len()).map(move |b| (p, b)))
        .find(|&(p, b)| !w.sc.ports[p][b].rows.is_empty())
        .unwrap();
    let mut bad = o.clone();
    bad.sums[p][b][3] ^= 1;
    let e = check_sums(&w.sc, &bad, "x").unwrap_err();
    assert!(
        e.contains(&format!("port {p} bag {b}")) && e.contains("lane 3"),
        "{e}"
    );

    // A line that came up twice.
    let mut bad = o.clone();
    bad.line_counts[p][b][0] += 1;
    bad.up.push(bad.up[0]);
    assert!(check_lines_once(&w.sc, &bad, "x").is_err());

    // A MemRd request lost.
    let mut bad = o.clone();
    let lost = bad.reqs.remove(bad.reqs.len() / 2);
    let e = check_mem_reqs(&w.sc, &bad, "x", false).unwrap_err();
    assert!(e.contains(&format!("port {} MemRd", lost.port)), "{e}");

    // The counters claim a credit that was never given.
    let mut bad = o.clone();
    bad.switch.credits += 1;
    assert!(check_credits(&bad, credits, "x").is_err());
    // Fewer initial credits than lines in flight at the start.
    assert!(check_credits(&o, 0, "x").is_err());

    // One upstream line a cycle late on one backend.
    let mut late = o.clone();
    let k = late.up.len() - 1;
    late.up[k].cycle += 1;
    let e = check_backends_agree(&o, &late, "x").unwrap_err();
    assert!(e.contains(&format!("upstream line {k}")), "{e}");

    // A port error.
    let mut bad = o.clone();
    bad.counters[p].tag_errors = 1;
    assert!(check_no_errors(&bad, "x").is_err());
}

#[test]
fn logical_bags_are_split_over_distinct_ports() {
    let mut sizes = [0usize; 9];
    for seed in 0..40 {
        let w = random_switch_workload(seed, 8);
        assert_eq!(
            w,
            random_switch_workload(seed, 8),
            "seed {seed}: deterministic"
        );
        let mut seen = vec![0usize; 8];
        for pieces in &w.bags {
            let mut ports: Vec<usize> = pieces.iter().map(|&(p, _)| p).collect();
            ports.dedup();
            assert_eq!(
                ports.len(),
                pieces.len(),
                "seed {seed}: a port twice in a bag"
            );
            sizes[pieces.len()] += 1;
            for &(p, i) in pieces {
                // Pieces are appended per port in bag order.
                assert_eq!(i, seen[p], "seed {seed}: port {p} piece index");
                seen[p] += 1;
                assert_eq!(
                    w.sc.ports[p][i].lines,
                    w.sc.ports[pieces[0].0][pieces[0].1].lines
                );
            }
        }
        assert_eq!(seen, w.sc.ports.iter().map(Vec::len).collect::<Vec<_>>());
    }
    // Every bin of the ports_per_bag coverpoint is reachable: 1, 2-3, 4-7 and 8 ports.
    assert!(
        sizes[1] > 0
            && sizes[2] + sizes[3] > 0
            && sizes[4..8].iter().sum::<usize>() > 0
            && sizes[8] > 0,
        "{sizes:?}"
    );
}
