//! Synthetic workloads: the synthetic weight formula, presets, the uniform/Zipf generators and the f64 pooling reference.

use pifs_dlrm::*;

/// DESIGN.md section 7's formula re-derived with u128 arithmetic reduced mod 2^64 at each step.
fn weight_u128(t: u64, r: u64, c: u64) -> (u64, f32) {
    let m: u128 = 1 << 64;
    let key = ((t as u128) << 48 | (r as u128) << 16 | c as u128) % m;
    let mut z = (key + 0x9E37_79B9_7F4A_7C15) % m;
    z = ((z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9) % m;
    z = ((z ^ (z >> 27)) * 0x94D0_49BB_1331_11EB) % m;
    z ^= z >> 31;
    let top = (z >> 40) as u64;
    (top, top as f32 / 16_777_216.0 - 0.5)
}

#[test]
fn synthetic_weight_matches_hand_derivation() {
    // Top 24 bits of splitmix64(key), derived separately with Python's unbounded integers; the
    // values top/2^24 - 0.5 are exact in f32 and printed here as Python prints the f64:
    // (0,0,0): key 0 -> z = 0x9E3779B97F4A7C15 -> ... -> top 14819496 -> 14819496/2^24 - 0.5 = 0.38331079483032227.
    let cases = [
        ((0, 0, 0), 14_819_496u64, 0.38331079483032227f64),
        ((0, 0, 1), 9_505_325, 0.06656152009963989),
        ((1, 2, 3), 5_882_235, -0.14939147233963013),
        ((7, 3_999_999, 31), 9_288_377, 0.05363041162490845),
        ((31, 499_999, 63), 11_743_339, 0.19995754957199097),
    ];
    for ((t, r, c), top, value) in cases {
        assert_eq!(top as f64 / 16_777_216.0 - 0.5, value);
        let (top2, value2) = weight_u128(t, r, c);
        assert_eq!(top2, top, "({t}, {r}, {c})");
        assert_eq!(f64::from(value2), value);
        assert_eq!(
            f64::from(synthetic_weight(t, r, c)),
            value,
            "({t}, {r}, {c})"
        );
    }
}

#[test]
fn synthetic_weight_range_and_row_into() {
    let mut lo = f32::MAX;
    let mut hi = f32::MIN;
    for t in 0..4 {
        for r in (0..4_000_000).step_by(99_991) {
            for c in 0..64 {
                let w = synthetic_weight(t, r, c);
                assert!((-0.5..0.5).contains(&w), "{w}");
                assert_eq!(w, weight_u128(t, r, c).1);
                lo = lo.min(w);
                hi = hi.max(w);
            }
        }
    }
    assert!(lo < -0.49 && hi > 0.49, "{lo} {hi}");
    let w = Weights::Synthetic { dim: 4 };
    let mut row = [0.0f32; 4];
    w.row_into(3, 12345, &mut row);
    assert_eq!(row, [0, 1, 2, 3].map(|c| synthetic_weight(3, 12345, c)));
    assert_eq!(w.rows(0), None);
    assert_eq!(w.dim(), 4);
}

#[test]
fn presets() {
    assert_eq!(preset("RM1"), Some(RM1));
    assert_eq!(
        preset("rm2").map(|p| (p.tables, p.rows, p.dim, p.lookups)),
        Some((32, 500_000, 64, 120))
    );
    assert_eq!(
        preset("Rm3").map(|p| (p.tables, p.rows, p.dim, p.lookups)),
        Some((10, 2_000_000, 32, 20))
    );
    assert_eq!(
        (RM1.tables, RM1.rows, RM1.dim, RM1.lookups),
        (8, 4_000_000, 32, 80)
    );
    assert_eq!(preset("rm4"), None);
}

#[test]
fn generate_is_deterministic_exact_and_in_range() {
    for dist in [IndexDist::Uniform, IndexDist::Zipf { alpha: 1.05 }] {
        let a = generate(RM3.tables, RM3.rows, 16, RM3.lookups, dist.clone(), 42).unwrap();
        let b = generate(RM3.tables, RM3.rows, 16, RM3.lookups, dist.clone(), 42).unwrap();
        let c = generate(RM3.tables, RM3.rows, 16, RM3.lookups, dist, 43).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.indices, c.indices);
        assert_eq!((a.tables, a.batch, a.num_bags()), (10, 16, 160));
        assert_eq!(a.lookups(), 10 * 16 * 20);
        for t in 0..a.tables {
            for s in 0..a.batch {
                assert_eq!(a.bag(t, s).len(), 20);
            }
        }
        a.check_rows(&[RM3.rows], "generated").unwrap();
        assert_ne!(
            a.bag(0, 0),
            a.bag(1, 0),
            "tables draw from independent streams"
        );
    }
}

#[test]
fn generate_stream_is_stable() {
    // Pinned so that a change to the generator (and thus to every replayed workload) is noticed.
    let t = generate(2, 1000, 2, 3, IndexDist::Uniform, 7).unwrap();
    let z = generate(2, 1000, 2, 3, IndexDist::Zipf { alpha: 1.2 }, 7).unwrap();
    assert_eq!(t.offsets, vec![0, 3, 6, 9, 12]);
    assert_eq!(
        t.indices,
        vec![130, 518, 851, 416, 928, 6, 82, 36, 602, 169, 113, 790]
    );
    assert_eq!(
        z.indices,
        vec![70, 534, 346, 990, 346, 55, 778, 22, 521, 184, 327, 416]
    );
}

/// Generalised harmonic number H(n, alpha).
fn harmonic(n: u64, alpha: f64) -> f64 {
    (1..=n).map(|k| (k as f64).powf(-alpha)).sum()
}

/// Frequencies of each row in table 0 of a one-bag-per-sample trace.
fn counts(trace: &Trace, rows: usize) -> Vec<u64> {
    let mut c = vec![0u64; rows];
    for &i in &trace.indices {
        c[i as usize] += 1;
    }
    c
}

#[test]
fn zipf_top_rank_frequency_matches_theory() {
    let rows = 1000u64;
    for alpha in [1.2, 1.0, 0.6] {
        let draws = 200_000usize;
        let t = generate(1, rows, draws / 100, 100, IndexDist::Zipf { alpha }, 2024).unwrap();
        let mut c = counts(&t, rows as usize);
        c.sort_unstable_by(|a, b| b.cmp(a));
        let h = harmonic(rows, alpha);
        for (k, &got) in c.iter().take(3).enumerate() {
            let p = ((k + 1) as f64).powf(-alpha) / h;
            let freq = got as f64 / draws as f64;
            assert!(
                (freq - p).abs() < 0.03 * p + 3.0 * (p / draws as f64).sqrt(),
                "alpha {alpha} rank {}: {freq} vs {p}",
                k + 1
            );
        }
        if alpha == 1.2 {
            assert!((1.0 / h - 0.230_639_817).abs() < 1e-6);
        }
    }
}

#[test]
fn zipf_scales_to_rm1_rows() {
    let t = generate(
        2,
        RM1.rows,
        64,
        RM1.lookups,
        IndexDist::Zipf { alpha: 1.0 },
        5,
    )
    .unwrap();
    t.check_rows(&[RM1.rows], "rm1").unwrap();
    let hot = RowScatter::new(0, RM1.rows).map(0) as i64;
    let in_t0 = &t.indices[..64 * RM1.lookups];
    let freq = in_t0.iter().filter(|&&i| i == hot).count() as f64 / in_t0.len() as f64;
    let p1 = 1.0 / harmonic(RM1.rows, 1.0);
    assert!((freq - p1).abs() < 0.015, "{freq} vs {p1}");
    assert_ne!(hot, 0, "hot rank is scattered away from row 0");
}

#[test]
fn uniform_passes_chi_square() {
    let rows = 100usize;
    let draws = 100_000usize;
    let t = generate(1, rows as u64, draws / 50, 50, IndexDist::Uniform, 99).unwrap();
    let c = counts(&t, rows);
    let e = draws as f64 / rows as f64;
    let chi2: f64 = c.iter().map(|&o| (o as f64 - e).powi(2) / e).sum();
    // 99 degrees of freedom: mean 99, standard deviation 14; 170 is five deviations out.
    assert!(chi2 < 170.0, "chi-square {chi2}");
}

#[test]
fn pool_f64_tiny_hand_case() {
    let trace = Trace {
        tables: 2,
        batch: 2,
        indices: vec![0, 2, 1, 1, 1],
        offsets: vec![0, 2, 2, 4, 5],
    };
    let tables = vec![
        Table {
            rows: 3,
            data: vec![1.0, -2.0, 0.5, 0.25, 3.0, 4.0],
        },
        Table {
            rows: 2,
            data: vec![9.0, 9.0, -1.5, 2.0],
        },
    ];
    let w = Weights::Loaded { dim: 2, tables };
    let p = pool_f64(&trace, &w).unwrap();
    assert_eq!(p.dim, 2);
    assert_eq!(p.n, vec![2, 0, 2, 1]);
    assert_eq!(p.sum, vec![4.0, 2.0, 0.0, 0.0, -3.0, 4.0, -1.5, 2.0]);
    assert_eq!(p.abs_sum, vec![4.0, 6.0, 0.0, 0.0, 3.0, 4.0, 1.5, 2.0]);
    assert!(p.sum[2].is_sign_positive());
    assert_eq!(p.f32_bound(0), 4.0 * f64::powi(2.0, -24));
    assert_eq!(p.f32_bound(6), 0.0);

    let s = pool_f64(&trace, &Weights::Synthetic { dim: 3 }).unwrap();
    let bag_1_0 = 2;
    assert_eq!(
        s.sum[bag_1_0 * 3 + 2],
        f64::from(synthetic_weight(1, 1, 2)) * 2.0
    );
}
