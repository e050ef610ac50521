//! Save and restore of Verilated model state (Verilator `--savable`, `RtlPort::save_state`,
//! `RtlSwitch::save_state`): a model restored into a fresh instance in the middle of a workload,
//! with partial sums in flight, continues exactly as the original does (results, cycles,
//! counters), and the continuation matches the reference model run without interruption.
//!
//! Each model is dropped before the next is built: Verilator 5.006 tears a model's scopes down
//! through the thread's current context, which is the last one created on the thread.

use pifs_cxl::Flit;
use pifs_rng::Rng;
use pifs_sim::cmd::Command;
use pifs_sim::model::ModelPort;
use pifs_sim::port::PortAccumulator;
use pifs_sim::rtl::RtlPort;
use pifs_sim::switch::{SwitchCmd, SwitchModel};
use pifs_sim::switch_rtl::RtlSwitch;
use pifs_sim::PortResult;
use pifs_tb::{drive_with, random_bag, Scenario, Values};

/// A wave's commands and flits, each with the cycle it is offered from, and the results.
type Wave = (Vec<(u64, Command)>, Vec<(u64, Flit)>, Vec<PortResult>);

/// One wave of bags as commands and flits (offered from cycle 0), captured from the testbench
/// driver on the reference model, and that model's results for it.
fn one_wave(seed: u64) -> Wave {
    let mut rng = Rng::new(seed);
    let sc = Scenario {
        bags: (0..4)
            .map(|_| random_bag(&mut rng, 30, 1 + (seed as usize % 2), Values::Plain, 0.0))
            .collect(),
        seed,
        out_of_order: true,
        gap_chance: 0.0,
        res_ready_percent: 100,
    };
    let (mut cmds, mut flits) = (Vec::new(), Vec::new());
    let mut waves = 0;
    let outcome = drive_with(&mut ModelPort::new(), &sc, &mut |c, f| {
        cmds.extend_from_slice(c);
        flits.extend_from_slice(f);
        waves += 1;
    })
    .unwrap();
    assert_eq!(waves, 1, "the scenario must fit one wave");
    (cmds, flits, outcome.results)
}

/// Run `port` to the end of the wave, collecting results.
fn finish(port: &mut dyn PortAccumulator) -> Vec<PortResult> {
    port.drain(1_000_000).unwrap();
    port.take_results()
}

#[test]
fn port_restored_mid_wave_continues_exactly() {
    for seed in [3u64, 4, 5] {
        let (cmds, flits, reference) = one_wave(seed);
        let mut a = RtlPort::new(seed, None).unwrap();
        a.push_cmds(&cmds);
        a.push_flits(&flits);
        // Step until every flit has been taken: the port still sums and reduces.
        let mut before = Vec::new();
        while a.counters().flits < flits.len() as u64 {
            let now = a.now();
            a.run_to(now + 1).unwrap();
            before.extend(a.take_results());
        }
        a.take_arrivals();
        let cut = a.now();
        let state = a.save_state().unwrap();
        let counters_at_cut = a.counters();

        let after_a = finish(&mut a);
        let counters_a = a.counters();
        drop(a);

        let mut b = RtlPort::new(seed, None).unwrap();
        b.restore_state(&state).unwrap();
        assert_eq!(b.now(), cut, "seed {seed}: restored cycle");
        assert_eq!(
            b.counters(),
            counters_at_cut,
            "seed {seed}: restored counters"
        );
        let after_b = finish(&mut b);
        assert!(
            !after_a.is_empty(),
            "seed {seed}: the cut must leave work in flight"
        );
        assert_eq!(after_a, after_b, "seed {seed}: continuation differs");
        assert_eq!(counters_a, b.counters(), "seed {seed}: counters differ");
        drop(b);

        // Independently: the interrupted run gives the reference model's results, cycles and
        // bits, and a fresh model (nothing restored) has nothing to finish.
        let mut all = before.clone();
        all.extend(after_b);
        assert_eq!(
            all, reference,
            "seed {seed}: results vs the reference model"
        );
        let mut fresh = RtlPort::new(seed, None).unwrap();
        assert!(finish(&mut fresh).is_empty());
    }
}

#[test]
fn port_state_is_refused_while_input_is_queued() {
    let (cmds, flits, _) = one_wave(7);
    let mut a = RtlPort::new(7, None).unwrap();
    a.push_cmds(&cmds);
    a.push_flits(&flits);
    let err = a.save_state().unwrap_err().to_string();
    assert!(err.contains("queued"), "{err}");
}

#[test]
fn switch_restored_mid_flight_continues_exactly() {
    // Empty bags (zero rows) on several ports: each yields one +0.0 line per row line upstream,
    // through the dispatchers, accumulators, egress FIFOs and the round robin.
    let mut cmds = Vec::new();
    for (k, port) in [0u8, 3, 5, 7, 3, 0].into_iter().enumerate() {
        cmds.push((
            k as u64,
            SwitchCmd::new(
                port,
                Command::BagOpen {
                    bag: k as u8,
                    rows: 0,
                    lines: 2,
                },
            ),
        ));
    }
    let mut a = RtlSwitch::new(1, None).unwrap();
    a.push_cmds(&cmds);
    // Let the commands in, but not all lines out.
    a.run_to(8).unwrap();
    let before = a.take_upstream();
    a.take_mem_reqs();
    let state = a.save_state().unwrap();
    a.run_to(200).unwrap();
    let ua = a.take_upstream();
    let (sc_a, pc_a): (_, Vec<_>) = (a.switch_counters(), (0..8).map(|p| a.counters(p)).collect());
    drop(a);
    let mut b = RtlSwitch::new(1, None).unwrap();
    b.restore_state(&state).unwrap();
    b.run_to(200).unwrap();
    let ub = b.take_upstream();
    assert!(!ua.is_empty(), "the cut must leave lines in flight");
    assert_eq!(ua, ub);
    assert_eq!(sc_a, b.switch_counters());
    for (p, c) in pc_a.iter().enumerate() {
        assert_eq!(*c, b.counters(p), "port {p}");
    }
    drop(b);
    // Every bag line left exactly once, as +0.0, over the cut.
    assert_eq!(before.len() + ua.len(), 12);
    assert!(ua
        .iter()
        .chain(&before)
        .all(|l| l.data.iter().all(|&x| x == 0)));
    let mut fresh = RtlSwitch::new(1, None).unwrap();
    fresh.run_to(200).unwrap();
    assert!(fresh.take_upstream().is_empty());
}
