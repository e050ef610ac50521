//! The system-level models: Pond, BEACON-D, BEACON-S and PIFS-Rec on the same batches.
//!
//! - PIFS-Rec on the RTL and on the reference model gives the same sums bit for bit and the
//!   same latency to the picosecond, at switch level (pifs_switch_top) and at port level (the
//!   models are cycle-exact while no egress FIFO fills; upstream credits come back the next
//!   cycle, so none does).
//! - Latencies of single reads are derived by hand from the parameters.
//! - Throughput-bound batches take what the bottleneck's bandwidth says.
//! - Where the bytes go: the upstream link carries lines in Pond and partial sums in PIFS-Rec.
//! - A snapshot locks the RM1 comparison.

use pifs_dlrm::{generate, pool_f64, IndexDist, Trace, Weights, RM1};
use pifs_sim::check::check_bound;
use pifs_sim::system::Backend;
use pifs_systems::compare::{compare, Workload};
use pifs_systems::systems::{line_flits, run_batch, System, REQ_FLITS};
use pifs_systems::SysConfig;

fn one_row_trace(row: i64) -> Trace {
    Trace {
        tables: 1,
        batch: 1,
        indices: vec![row],
        offsets: vec![0, 1],
    }
}

#[test]
fn pifs_rtl_and_model_agree_on_sums_and_latency() {
    // The Verilated switch has 8 ports; other port counts run the port RTLs one by one.
    for (seed, ports, jitter, level) in [
        (1u64, 8usize, 0.0, "switch"),
        (4, 8, 64.0, "switch"),
        (1, 8, 0.0, "ports"),
        (2, 3, 64.0, "ports"),
        (3, 16, 0.0, "ports"),
    ] {
        let trace = generate(4, 100_000, 6, 30, IndexDist::Zipf { alpha: 1.1 }, seed).unwrap();
        let w = Weights::Synthetic { dim: 48 };
        let mut c = SysConfig::default();
        c.switch.ports = ports;
        c.device.jitter_ns = jitter;
        c.pifs.level = level.into();
        let rtl = run_batch(System::Pifs, &trace, &w, &c, Backend::Rtl, seed).unwrap();
        let model = run_batch(System::Pifs, &trace, &w, &c, Backend::Model, seed).unwrap();
        assert_eq!(rtl.pooled, model.pooled, "seed {seed}: sums differ");
        assert_eq!(
            rtl.port_cycles, model.port_cycles,
            "seed {seed}: port cycles differ"
        );
        assert_eq!(
            rtl.latency_ns, model.latency_ns,
            "seed {seed}: latency differs"
        );
        assert_eq!(rtl.upstream_bytes, model.upstream_bytes);
        let reference = pool_f64(&trace, &w).unwrap();
        assert!(check_bound(&rtl.pooled, &reference).ok());
    }
}

#[test]
fn single_read_latencies_follow_from_the_parameters() {
    let c = SysConfig::default();
    let w = Weights::Synthetic { dim: 16 };
    let lf = line_flits();
    let xbar = 64.0 / c.switch.crossbar_gbps;
    let reduce = 1.0 / c.host.reduce_lines_per_ns;
    let dev = 64.0 / c.device.gbps;
    let sw = c.switch.traversal_ns;
    let lat = c.device.latency_ns;
    // Pond: MemRd half a flit on the host link and the port link, the read, MemData on the
    // port link and the host link, two traversals, the crossbar, the host's add.
    let pond = REQ_FLITS + sw + REQ_FLITS + dev + lat + lf + sw + xbar + lf + reduce;
    let r = run_batch(System::Pond, &one_row_trace(5), &w, &c, Backend::Model, 1).unwrap();
    assert!(
        (r.latency_ns - pond).abs() < 1e-9,
        "{} vs {pond}",
        r.latency_ns
    );
    // BEACON-D: one descriptor write down to the device, read, NDP add, the partial up.
    let ndp = 64.0 / c.beacon_d.ndp_gbps;
    let bd = lf + sw + lf + dev + lat + ndp + lf + sw + xbar + lf + reduce;
    let r = run_batch(
        System::BeaconD,
        &one_row_trace(5),
        &w,
        &c,
        Backend::Model,
        1,
    )
    .unwrap();
    assert!((r.latency_ns - bd).abs() < 1e-9, "{} vs {bd}", r.latency_ns);
    // BEACON-S: descriptor to the pool, MemRd from the pool, line through the crossbar into
    // the pool, the sum up.
    let pool = 64.0 / c.beacon_s.pool_gbps;
    let bs = lf + sw + REQ_FLITS + dev + lat + lf + xbar + pool + sw + lf + reduce;
    let r = run_batch(
        System::BeaconS,
        &one_row_trace(5),
        &w,
        &c,
        Backend::Model,
        1,
    )
    .unwrap();
    assert!((r.latency_ns - bs).abs() < 1e-9, "{} vs {bs}", r.latency_ns);
    // PIFS-Rec: the port part is cycle-level; the latency is at least the same path with the
    // accumulator's pipeline (a few cycles) in place of the host's add of every line.
    let r = run_batch(System::Pifs, &one_row_trace(5), &w, &c, Backend::Rtl, 1).unwrap();
    let floor = lf + sw + REQ_FLITS + lat + lf + sw + xbar + lf + reduce;
    assert!(
        r.latency_ns >= floor && r.latency_ns < floor + 20.0,
        "{} vs floor {floor}",
        r.latency_ns
    );
}

#[test]
fn bandwidth_bound_batches_take_what_the_bottleneck_allows() {
    // 2 tables x 8 samples x 64 rows of 2 lines, 8 ports: Pond moves every line over the host
    // link (line_flits ns each at one flit per ns), so it cannot beat lines x line_flits.
    let trace = generate(2, 1 << 20, 8, 64, IndexDist::Uniform, 7).unwrap();
    let w = Weights::Synthetic { dim: 32 };
    let c = SysConfig::default();
    let lines = trace.lookups() as f64 * 2.0;
    let pond = run_batch(System::Pond, &trace, &w, &c, Backend::Model, 1).unwrap();
    let floor = lines * line_flits();
    assert!(
        pond.latency_ns >= floor && pond.latency_ns < floor * 1.1 + 400.0,
        "{}",
        pond.latency_ns
    );
    assert_eq!(pond.resources[0].name, "host_link.s2m");
    // Upstream bytes: every line in Pond; one partial per (bag, port, line) in PIFS-Rec.
    let pifs = run_batch(System::Pifs, &trace, &w, &c, Backend::Model, 1).unwrap();
    let flit = 68.0;
    let line_bytes = (line_flits() * flit).round();
    assert_eq!(pond.upstream_bytes as f64, lines * line_bytes);
    // Rows r mod 8 per port; a port's share of a bag is summed in pieces of at most 32 rows
    // (a quarter of the 256 tags at 2 lines a row); each piece sends 2 lines.
    let mut partials = 0usize;
    for t in 0..trace.tables {
        for b in 0..trace.batch {
            let mut per_port = [0usize; 8];
            for &r in trace.bag(t, b) {
                per_port[r as usize % 8] += 1;
            }
            partials += per_port.iter().map(|n| n.div_ceil(32) * 2).sum::<usize>();
        }
    }
    assert_eq!(pifs.upstream_bytes as f64, partials as f64 * line_bytes);
    // Halving the pool's bandwidth slows BEACON-S down about twice (it is the bottleneck).
    let bs = run_batch(System::BeaconS, &trace, &w, &c, Backend::Model, 1).unwrap();
    let mut slow = c.clone();
    slow.beacon_s.pool_gbps /= 2.0;
    let bs2 = run_batch(System::BeaconS, &trace, &w, &slow, Backend::Model, 1).unwrap();
    let ratio = bs2.latency_ns / bs.latency_ns;
    assert!((1.8..2.05).contains(&ratio), "{ratio}");
    assert_eq!(bs.resources[0].name, "switch.pool");
}

#[test]
fn every_system_sums_within_the_float64_bound() {
    let trace = generate(3, 50_000, 5, 40, IndexDist::Zipf { alpha: 1.2 }, 3).unwrap();
    let w = Weights::Synthetic { dim: 40 };
    let reference = pool_f64(&trace, &w).unwrap();
    let mut c = SysConfig::default();
    c.device.interleave = "page".into();
    for s in System::ALL {
        let r = run_batch(s, &trace, &w, &c, Backend::Model, 1).unwrap();
        let b = check_bound(&r.pooled, &reference);
        assert!(b.ok(), "{}: {:?}", s.name(), b.first_violation);
    }
}

#[test]
fn rm1_comparison_snapshot() {
    let batches: Vec<Trace> = (0..2)
        .map(|k| {
            generate(
                RM1.tables,
                RM1.rows,
                8,
                RM1.lookups,
                IndexDist::Uniform,
                1 + k,
            )
            .unwrap()
        })
        .collect();
    let w = Weights::Synthetic { dim: RM1.dim };
    let r = compare(
        &Workload {
            name: "rm1",
            batches: &batches,
            weights: &w,
        },
        &SysConfig::default(),
        Backend::Rtl,
        1,
        &System::ALL,
        |_, _| {},
    )
    .unwrap();
    assert!(r.all_sums_ok());
    let lat: std::collections::BTreeMap<_, _> = r
        .systems
        .iter()
        .map(|(k, v)| (k.clone(), format!("{:.3}", v.latency_ns.mean)))
        .collect();
    let up: std::collections::BTreeMap<_, _> = r
        .systems
        .iter()
        .map(|(k, v)| (k.clone(), v.upstream_bytes))
        .collect();
    insta::assert_json_snapshot!(serde_json::json!({
        "latency_ns_mean": lat,
        "upstream_bytes": up,
        "pifs_port_cycles": r.systems["pifs"].port_cycles,
        "limits": r.systems.iter().map(|(k, v)| (k.clone(), v.limit.clone())).collect::<std::collections::BTreeMap<_, _>>(),
    }));
}

#[test]
fn switch_level_rtl_and_model_agree_and_sum_like_the_ports() {
    let trace = generate(3, 100_000, 4, 24, IndexDist::Uniform, 5).unwrap();
    let w = Weights::Synthetic { dim: 32 };
    let mut ports = SysConfig::default();
    ports.set("pifs.level=ports").unwrap();
    let sw = SysConfig::default();
    let rtl = run_batch(System::Pifs, &trace, &w, &sw, Backend::Rtl, 1).unwrap();
    let model = run_batch(System::Pifs, &trace, &w, &sw, Backend::Model, 1).unwrap();
    let per_port = run_batch(System::Pifs, &trace, &w, &ports, Backend::Rtl, 1).unwrap();
    assert_eq!(rtl.pooled, model.pooled);
    assert_eq!(
        rtl.pooled, per_port.pooled,
        "same pieces, same host order, same bits"
    );
    assert_eq!(rtl.port_cycles, model.port_cycles);
    assert_eq!(rtl.latency_ns, model.latency_ns);
    // Each port's command lane: a BagOpen per piece and a RowRead per row at that port.
    let mut words = [0u64; 8];
    for t in 0..trace.tables {
        for b in 0..trace.batch {
            let mut used = [false; 8];
            for &r in trace.bag(t, b) {
                used[r as usize % 8] = true;
                words[r as usize % 8] += 1;
            }
            for (p, u) in used.iter().enumerate() {
                words[p] += *u as u64;
            }
        }
    }
    for (p, &w) in words.iter().enumerate() {
        let lane = rtl
            .resources
            .iter()
            .find(|r| r.name == format!("port{p}.cmd_lane"))
            .unwrap();
        assert_eq!(lane.bytes, 8 * w, "port {p}");
        assert!(rtl.latency_ns >= w as f64);
    }
}

fn tiered(backing: &str, cache_mb: f64, warm: &str) -> SysConfig {
    let mut c = SysConfig::default();
    c.set(&format!("tier.backing={backing}")).unwrap();
    c.set(&format!("tier.cache_mb={cache_mb}")).unwrap();
    c.set(&format!("tier.warm={warm}")).unwrap();
    c
}

#[test]
fn dram_only_pools_ignore_the_tier_parameters() {
    let trace = generate(3, 50_000, 4, 20, IndexDist::Zipf { alpha: 1.1 }, 2).unwrap();
    let w = Weights::Synthetic { dim: 32 };
    let mut other = SysConfig::default();
    for kv in [
        "tier.cache_mb=3",
        "scm.latency_ns=900",
        "nand.access_bytes=16384",
    ] {
        other.set(kv).unwrap();
    }
    for s in System::ALL {
        let a = run_batch(s, &trace, &w, &SysConfig::default(), Backend::Model, 1).unwrap();
        let b = run_batch(s, &trace, &w, &other, Backend::Model, 1).unwrap();
        assert_eq!(a.latency_ns, b.latency_ns, "{}", s.name());
        assert_eq!(a.energy, b.energy, "{}", s.name());
        assert!(a.tier.is_none() && b.tier.is_none());
        assert_eq!(a.device_reads, trace.lookups() as u64 * 2);
    }
}

#[test]
fn event_models_and_the_cycle_model_see_the_same_hits_and_misses() {
    let trace = generate(4, 20_000, 4, 24, IndexDist::Zipf { alpha: 1.05 }, 3).unwrap();
    let w = Weights::Synthetic { dim: 32 };
    for (backing, mb) in [("scm", 0.02), ("nand", 0.1)] {
        for warm in ["cold", "trace"] {
            let c = tiered(backing, mb, warm);
            let pond = run_batch(System::Pond, &trace, &w, &c, Backend::Model, 1).unwrap();
            let t = pond.tier.unwrap();
            assert_eq!(t.hits + t.misses, trace.lookups() as u64 * 2);
            for s in [System::BeaconD, System::BeaconS, System::Pifs] {
                let r = run_batch(s, &trace, &w, &c, Backend::Model, 1).unwrap();
                assert_eq!(r.tier, pond.tier, "{backing} {warm}: {}", s.name());
            }
            let mut ports = c.clone();
            ports.set("pifs.level=ports").unwrap();
            let r = run_batch(System::Pifs, &trace, &w, &ports, Backend::Model, 1).unwrap();
            assert_eq!(r.tier, pond.tier, "{backing} {warm}: pifs ports");
        }
    }
    // The RTL sees the same tiered device as the model, cycle for cycle.
    let c = tiered("scm", 0.02, "cold");
    let rtl = run_batch(System::Pifs, &trace, &w, &c, Backend::Rtl, 1).unwrap();
    let model = run_batch(System::Pifs, &trace, &w, &c, Backend::Model, 1).unwrap();
    assert_eq!(rtl.latency_ns, model.latency_ns);
    assert_eq!(rtl.pooled, model.pooled);
    assert_eq!(rtl.tier, model.tier);
}

#[test]
fn a_larger_cache_hits_more_and_answers_sooner() {
    let trace = generate(4, 20_000, 8, 24, IndexDist::Zipf { alpha: 1.05 }, 5).unwrap();
    let w = Weights::Synthetic { dim: 32 };
    let reference = pool_f64(&trace, &w).unwrap();
    for backing in ["scm", "nand"] {
        for s in [System::Pond, System::Pifs] {
            let runs: Vec<_> = [0.0, 0.01, 0.05, 0.25, 2.0]
                .iter()
                .map(|&mb| {
                    run_batch(
                        s,
                        &trace,
                        &w,
                        &tiered(backing, mb, "cold"),
                        Backend::Model,
                        1,
                    )
                    .unwrap()
                })
                .collect();
            let hit = |r: &pifs_systems::systems::BatchResult| {
                let t = r.tier.unwrap();
                t.hits as f64 / (t.hits + t.misses) as f64
            };
            for pair in runs.windows(2) {
                // LRU's inclusion property: a larger cache holds what a smaller one holds.
                assert!(hit(&pair[1]) >= hit(&pair[0]), "{backing} {}", s.name());
            }
            let (first, last) = (&runs[0], &runs[runs.len() - 1]);
            assert!(hit(last) > hit(first) + 0.2, "{backing} {}", s.name());
            assert!(last.latency_ns < first.latency_ns, "{backing} {}", s.name());
            for r in &runs {
                assert!(check_bound(&r.pooled, &reference).ok());
            }
        }
    }
}

#[test]
fn energy_is_what_the_counted_bytes_and_static_power_cost() {
    let trace = generate(4, 20_000, 4, 24, IndexDist::Zipf { alpha: 1.05 }, 6).unwrap();
    let w = Weights::Synthetic { dim: 32 };
    let c = tiered("scm", 0.05, "cold");
    let r = run_batch(System::Pond, &trace, &w, &c, Backend::Model, 1).unwrap();
    let t = r.tier.unwrap();
    let e = &c.energy;
    let lines = (trace.lookups() * 2) as f64;
    assert_eq!(r.device_reads as f64, lines);
    // Pond: every line's MemRd (half a 68 B flit) on the host link and a port link, its
    // MemData on a port link and the host link; the host adds every line.
    let link_bytes = r.upstream_bytes as f64
        + r.downstream_bytes as f64
        + r.port_bytes.iter().sum::<u64>() as f64
        + lines * 34.0;
    let bits = |b: f64| b * 8.0 * 1e-12;
    let block = c.scm.access_bytes as f64;
    let static_w = c.switch.ports as f64
        * (c.device.capacity_gb * c.scm.static_w_per_gb
            + c.tier.cache_mb / 1024.0 * e.dram_static_w_per_gb)
        + e.switch_static_w
        + (16.0 + 16.0 * c.switch.ports as f64) * 2.0 * e.link_static_w_per_lane
        + e.host_w;
    let want = bits(link_bytes) * e.link_pj_per_bit
        + bits(r.crossbar_bytes as f64) * e.crossbar_pj_per_bit
        + lines * 64.0 * e.add_pj_per_byte * 1e-12
        + bits(t.hits as f64 * 64.0 + t.misses as f64 * block) * e.dram_pj_per_bit
        + bits(t.misses as f64 * block) * c.scm.pj_per_bit
        + static_w * r.latency_ns * 1e-9;
    let got = r.energy.total_j;
    assert!((got - want).abs() <= 1e-9 * want, "{got} vs {want}");
    assert!((r.energy.avg_power_w - want / (r.latency_ns * 1e-9)).abs() < 1e-6);
    // A tiered pool's static power is below the DRAM-only pool's (SCM costs less per GB).
    let dram = run_batch(
        System::Pond,
        &trace,
        &w,
        &SysConfig::default(),
        Backend::Model,
        1,
    )
    .unwrap();
    assert!(r.energy.static_w < dram.energy.static_w);
}

#[test]
fn a_larger_row_buffer_hits_more_on_zipf_and_cuts_device_traffic() {
    // RM1-like rows (dim 32 = 2 lines) with Zipf reuse; the model backend takes any size, the
    // Verilated switch (256 lines of 4 ways at most) checks the sizes it has.
    // 8 tables x 16 samples x 80 lookups: 2560 row lines per port, enough reuse beyond a
    // device round trip (a re-read while the first read is in flight is a miss).
    let trace = generate(8, 1_000_000, 16, 80, IndexDist::Zipf { alpha: 1.05 }, 3).unwrap();
    let w = Weights::Synthetic { dim: 32 };
    let reference = pool_f64(&trace, &w).unwrap();
    let lookups_lines = (trace.lookups() * 2) as u64;
    let run = |lines: u64, policy: &str, backend: Backend| {
        let mut c = SysConfig::default();
        c.pifs.buffer_lines = lines;
        c.pifs.buffer_policy = policy.into();
        run_batch(System::Pifs, &trace, &w, &c, backend, 1).unwrap()
    };
    let off = run(0, "lru", Backend::Model);
    assert!(off.buffer.is_none());
    eprintln!(
        "off: latency {:.0} ns, port bytes {}",
        off.latency_ns,
        off.port_bytes.iter().sum::<u64>()
    );
    for policy in ["lru", "hot"] {
        let mut last_rate = 0.0;
        let mut last_reads = off.device_reads;
        for lines in [16u64, 64, 256, 1024, 4096] {
            let r = run(lines, policy, Backend::Model);
            assert!(check_bound(&r.pooled, &reference).ok());
            let b = r.buffer.as_ref().expect("buffer counts");
            let (hits, misses): (u64, u64) = b
                .iter()
                .fold((0, 0), |(h, m), c| (h + c.hits, m + c.misses));
            // Every row line is looked up once; the misses are what the devices read.
            assert_eq!(hits + misses, lookups_lines, "{policy} {lines}");
            assert_eq!(r.device_reads, misses, "{policy} {lines}");
            let rate = hits as f64 / lookups_lines as f64;
            eprintln!(
                "{policy} {lines} lines/port: hit rate {rate:.3}, latency {:.0} ns, port bytes {}",
                r.latency_ns,
                r.port_bytes.iter().sum::<u64>()
            );
            // Fills land a device round trip after their miss, so a bigger buffer may lose a
            // hit here and there; the trend is what counts.
            assert!(
                rate >= last_rate - 0.02,
                "{policy}: {lines} lines hit {rate} < {last_rate}"
            );
            assert!(r.device_reads as f64 <= last_reads as f64 * 1.05 + 8.0);
            last_rate = rate;
            last_reads = r.device_reads;
        }
        assert!(last_rate > 0.2, "{policy}: 4096 lines hit only {last_rate}");
        // The RTL agrees with the model where it has the size.
        let m = run(256, policy, Backend::Model);
        let r = run(256, policy, Backend::Rtl);
        assert_eq!(r.pooled, m.pooled, "{policy}");
        assert_eq!(r.buffer, m.buffer, "{policy}");
        assert_eq!(r.latency_ns, m.latency_ns, "{policy}");
        assert!(m.latency_ns < off.latency_ns, "{policy}");
        let bytes = |r: &pifs_systems::systems::BatchResult| r.port_bytes.iter().sum::<u64>();
        assert!(bytes(&m) < bytes(&off), "{policy}");
    }
}
