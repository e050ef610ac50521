//! Link faults, CXL link-layer retry and poison through the whole run loop (docs/link-faults.md):
//! with bit flips and lost flits on the S2M and M2S links the pooled output is bit for bit the
//! fault-free one and nothing escapes, the RTL ingress and the reference model raise the same
//! RETRY.Req / acknowledgements in the same cycles (the run loop checks that every step), and a
//! bag that summed a poisoned line is reported poisoned (NaN) rather than as a number.

use pifs_dlrm::{Trace, Weights};
use pifs_sim::params::LinkFaults;
use pifs_sim::system::{self, Backend, RunConfig, RunOutput, POISON_NAN};

fn workload(batch: usize, seed: u64) -> (Trace, Weights) {
    let p = pifs_dlrm::RM1;
    let trace = pifs_dlrm::generate(
        p.tables,
        p.rows,
        batch,
        20,
        pifs_dlrm::IndexDist::Uniform,
        seed,
    )
    .unwrap();
    (trace, Weights::Synthetic { dim: p.dim })
}

fn run(trace: &Trace, w: &Weights, backend: Backend, faults: Option<LinkFaults>) -> RunOutput {
    let cfg = RunConfig {
        backend,
        ports: 2,
        seed: 7,
        faults,
        ..RunConfig::default()
    };
    system::run(trace, w, &cfg).unwrap()
}

fn faulty(ber: f64, drop: f64) -> LinkFaults {
    LinkFaults {
        bit_error_rate: ber,
        flit_drop_rate: drop,
        ..LinkFaults::default()
    }
}

#[test]
fn faulty_links_pool_the_fault_free_sums_with_no_escape() {
    let (trace, w) = workload(4, 3);
    let clean = run(&trace, &w, Backend::Rtl, None);
    // The fault-free output is itself right: within the float64 bound of an independent pooling.
    let reference = pifs_dlrm::pool_f64(&trace, &w).unwrap();
    assert!(pifs_sim::check::check_bound(&clean.pooled, &reference).ok());
    for backend in [Backend::Rtl, Backend::Model] {
        let out = run(&trace, &w, backend, Some(faulty(2e-5, 2e-3)));
        assert_eq!(out.pooled, clean.pooled, "{backend:?}: sums differ");
        assert!(out.poisoned_bags.is_empty());
        let lf = out.stats.link_faults.unwrap();
        for (name, l) in [("s2m", lf.s2m), ("m2s", lf.m2s)] {
            assert_eq!(l.escaped, 0, "{backend:?} {name}: {l:?}");
            assert!(l.injected > 0 && l.retry_requests > 0, "{name}: {l:?}");
            // CRC-16 catches every error of up to 3 bits; at this rate no flit has more.
            assert_eq!(l.injected, l.detected, "{name}: {l:?}");
        }
        // Flits lost or flipped cost replays: the run is longer, never shorter.
        assert!(out.stats.cycles > clean.stats.cycles);
        // The port's CRC error counter is the receiver's detected count.
        let crc: u64 = out.stats.ports.iter().map(|p| p.counters.crc_errors).sum();
        assert_eq!(crc, lf.s2m.detected);
    }
    let rtl = run(&trace, &w, Backend::Rtl, Some(faulty(2e-5, 2e-3)));
    let model = run(&trace, &w, Backend::Model, Some(faulty(2e-5, 2e-3)));
    assert_eq!(
        rtl.stats.cycles, model.stats.cycles,
        "rtl and model cycles differ"
    );
    for (r, m) in rtl.stats.ports.iter().zip(&model.stats.ports) {
        assert_eq!(r.counters, m.counters, "port {}", r.port);
        let (rl, ml) = (r.links.unwrap(), m.links.unwrap());
        assert_eq!((rl.s2m, rl.m2s), (ml.s2m, ml.m2s), "port {}", r.port);
    }
}

#[test]
fn retry_without_faults_changes_no_cycle_and_no_sum() {
    let (trace, w) = workload(2, 5);
    let off = run(&trace, &w, Backend::Rtl, None);
    let on = run(&trace, &w, Backend::Rtl, Some(faulty(0.0, 0.0)));
    assert_eq!(on.pooled, off.pooled);
    assert_eq!(on.stats.cycles, off.stats.cycles);
    let lf = on.stats.link_faults.unwrap();
    let s2m_flits: u64 = off.stats.ports.iter().map(|p| p.s2m_flits).sum();
    assert_eq!(lf.s2m.flits_sent, s2m_flits);
    assert_eq!(lf.s2m.retried + lf.s2m.retry_requests + lf.s2m.injected, 0);
}

#[test]
fn a_poisoned_line_poisons_its_bag_end_to_end() {
    let (mut trace, w) = workload(2, 9);
    // Make bag 1 empty: it sums no line, so it can never be poisoned.
    let n1 = (trace.offsets[2] - trace.offsets[1]) as usize;
    trace
        .indices
        .drain(trace.offsets[1] as usize..trace.offsets[2] as usize);
    for o in trace.offsets.iter_mut().skip(2) {
        *o -= n1 as i64;
    }
    let clean = run(&trace, &w, Backend::Model, None);
    let all = LinkFaults {
        poison_rate: 1.0,
        ..LinkFaults::default()
    };
    for backend in [Backend::Rtl, Backend::Model] {
        let out = run(&trace, &w, backend, Some(all));
        let want: Vec<usize> = (0..trace.num_bags()).filter(|&b| b != 1).collect();
        assert_eq!(out.poisoned_bags, want, "{backend:?}");
        assert_eq!(out.stats.poisoned_bags, want);
        let dim = out.dim;
        for b in 0..trace.num_bags() {
            let row = &out.pooled[b * dim..(b + 1) * dim];
            if b == 1 {
                assert!(row.iter().all(|&x| x == 0), "the empty bag pools to +0.0");
            } else {
                assert!(row.iter().all(|&x| x == POISON_NAN), "bag {b}");
            }
        }
    }
    // Some lines poisoned: RTL and model agree, and every other bag keeps its clean sum.
    let some = LinkFaults {
        poison_rate: 0.002,
        ..LinkFaults::default()
    };
    let rtl = run(&trace, &w, Backend::Rtl, Some(some));
    let model = run(&trace, &w, Backend::Model, Some(some));
    assert_eq!(rtl.poisoned_bags, model.poisoned_bags);
    assert_eq!(rtl.pooled, model.pooled);
    let lines: u64 = rtl.stats.ports.iter().map(|p| p.device.poisoned).sum();
    assert!(lines > 0 && !rtl.poisoned_bags.is_empty());
    assert!(rtl.poisoned_bags.len() as u64 <= lines);
    let dim = rtl.dim;
    for b in 0..trace.num_bags() {
        let r = &rtl.pooled[b * dim..(b + 1) * dim];
        if rtl.poisoned_bags.contains(&b) {
            assert!(r.iter().all(|&x| x == POISON_NAN));
        } else {
            assert_eq!(r, &clean.pooled[b * dim..(b + 1) * dim], "bag {b}");
        }
    }
}

#[test]
fn poison_crosses_the_switch_rtl_to_the_host() {
    let (trace, w) = workload(2, 11);
    let cfg = RunConfig {
        backend: Backend::Rtl,
        ports: pifs_sim::switch_run::RTL_SWITCH_PORTS,
        seed: 3,
        faults: Some(LinkFaults {
            poison_rate: 1.0,
            ..LinkFaults::default()
        }),
        ..RunConfig::default()
    };
    let out = pifs_sim::switch_run::run_switch(&trace, &w, &cfg).unwrap();
    // Every bag has rows, so every bag summed a poisoned line (up_poison_o at the switch pins).
    let all: Vec<usize> = (0..trace.num_bags()).collect();
    assert_eq!(out.poisoned_bags, all);
    assert!(out.pooled.iter().all(|&x| x == POISON_NAN));
}

#[test]
fn switch_level_links_retry_to_the_fault_free_sums() {
    let (trace, w) = workload(2, 13);
    let cfg = RunConfig {
        backend: Backend::Rtl,
        ports: pifs_sim::switch_run::RTL_SWITCH_PORTS,
        seed: 5,
        ..RunConfig::default()
    };
    let clean = pifs_sim::switch_run::run_switch(&trace, &w, &cfg).unwrap();
    let mut outs = Vec::new();
    for backend in [Backend::Rtl, Backend::Model] {
        let f = RunConfig {
            backend,
            faults: Some(faulty(3e-5, 2e-3)),
            ..cfg.clone()
        };
        let out = pifs_sim::switch_run::run_switch(&trace, &w, &f).unwrap();
        assert_eq!(out.pooled, clean.pooled, "{backend:?}: sums differ");
        let lf = out.stats.link_faults.unwrap();
        for (name, l) in [("s2m", lf.s2m), ("m2s", lf.m2s)] {
            assert_eq!(l.escaped, 0, "{backend:?} {name}: {l:?}");
            assert!(l.injected > 0 && l.retry_requests > 0, "{name}: {l:?}");
        }
        outs.push(out);
    }
    // The switch RTL's receivers and the model's agree (the model does not count result stalls
    // behind a full egress FIFO, so those are left out).
    assert_eq!(outs[0].stats.cycles, outs[1].stats.cycles);
    for (r, m) in outs[0].stats.ports.iter().zip(&outs[1].stats.ports) {
        let (rc, mc) = (r.counters, m.counters);
        assert_eq!(
            (rc.flits, rc.crc_errors, rc.llr_discards, rc.lines),
            (mc.flits, mc.crc_errors, mc.llr_discards, mc.lines),
            "port {}",
            r.port
        );
        assert_eq!(
            r.links.unwrap().s2m,
            m.links.unwrap().s2m,
            "port {}",
            r.port
        );
    }
}
