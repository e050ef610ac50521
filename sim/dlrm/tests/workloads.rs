//! Workloads: subset reads of trace archives (checked against slicing the whole trace), LRU
//! stack-distance profiles (parsing, bad profiles, generation against a plain re-implementation
//! and against re-profiling its output), trace statistics on hand-made traces.

mod common;

use common::*;
use pifs_dlrm::*;
use pifs_rng::Rng;

/// Random bag lengths (empty bags included), rows below 1000.
fn random_trace(seed: u64, tables: usize, batch: usize, max_len: u64) -> Trace {
    let mut rng = Rng::new(seed);
    let mut indices = Vec::new();
    let mut offsets = vec![0i64];
    for _ in 0..tables * batch {
        for _ in 0..rng.below(max_len + 1) {
            indices.push(rng.below(1000) as i64);
        }
        offsets.push(indices.len() as i64);
    }
    Trace {
        tables,
        batch,
        indices,
        offsets,
    }
}

/// The subset built bag by bag from the whole trace.
fn expected_subset(t: &Trace, tables: &[usize], samples: std::ops::Range<usize>) -> Trace {
    let mut indices = Vec::new();
    let mut offsets = vec![0i64];
    for &tt in tables {
        for s in samples.clone() {
            indices.extend_from_slice(t.bag(tt, s));
            offsets.push(indices.len() as i64);
        }
    }
    Trace {
        tables: tables.len(),
        batch: samples.len(),
        indices,
        offsets,
    }
}

#[test]
fn subset_matches_slicing_the_whole_trace() {
    let t = random_trace(1, 5, 9, 12);
    let p = tmp("subset.npz");
    write_trace_npz(&p, &t).unwrap();
    assert_eq!(read_trace_npz_subset(&p, None, None, None).unwrap(), t);
    for (tables, samples) in [
        (vec![0], 0..9),
        (vec![4, 1, 2], 3..7),
        (vec![3], 8..9),
        (vec![0, 1, 2, 3, 4], 0..1),
        (vec![2, 0], 0..9),
    ] {
        let got = read_trace_npz_subset(&p, None, Some(&tables), Some(samples.clone())).unwrap();
        assert_eq!(
            got,
            expected_subset(&t, &tables, samples.clone()),
            "{tables:?} {samples:?}"
        );
        got.validate("subset").unwrap();
    }
    let all: Vec<usize> = (0..5).collect();
    assert_eq!(
        read_trace_npz_subset(&p, None, None, Some(2..5)).unwrap(),
        expected_subset(&t, &all, 2..5)
    );
}

#[test]
fn subset_streams_across_chunks_of_a_large_array() {
    // 4 tables x 700 samples x up to 400 rows: ~560k int64 indices (4.5 MB), several 1 MiB chunks.
    let t = random_trace(2, 4, 700, 400);
    assert!(t.lookups() > 3 * 131_072);
    let p = tmp("subset_large.npz");
    write_trace_npz(&p, &t).unwrap();
    for (tables, samples) in [
        (vec![3, 1], 100..650),
        (vec![2], 0..700),
        (vec![0], 699..700),
    ] {
        let got = read_trace_npz_subset(&p, None, Some(&tables), Some(samples.clone())).unwrap();
        assert_eq!(got, expected_subset(&t, &tables, samples));
    }
}

#[test]
fn subset_of_hand_built_int32_archive_without_lengths() {
    // 2 tables x 3 samples as --tables 2, int32 arrays, indices deflated.
    let indices: Vec<i32> = vec![5, 1, 1, 9, 0, 2, 7, 7, 3];
    let offsets: Vec<i32> = vec![0, 2, 2, 4, 5, 8, 9];
    let p = tmp("subset_i32.npz");
    write_zip(
        &p,
        &[
            (
                "indices.npy",
                npy_bytes("<i4", "(9,)", &i32s(&indices)),
                true,
            ),
            (
                "offsets.npy",
                npy_bytes("<i4", "(7,)", &i32s(&offsets)),
                false,
            ),
        ],
    );
    let got = read_trace_npz_subset(&p, Some(2), Some(&[1]), Some(1..3)).unwrap();
    assert_eq!(
        got,
        Trace {
            tables: 1,
            batch: 2,
            indices: vec![2, 7, 7, 3],
            offsets: vec![0, 3, 4],
        }
    );
    // Without --tables the archive is one table of 6 samples.
    let one = read_trace_npz_subset(&p, None, None, Some(4..6)).unwrap();
    assert_eq!(one.indices, vec![2, 7, 7, 3]);
    assert_eq!((one.tables, one.batch), (1, 2));
}

fn subset_err(
    p: &std::path::Path,
    tables: Option<&[usize]>,
    samples: Option<std::ops::Range<usize>>,
) -> String {
    let e = read_trace_npz_subset(p, None, tables, samples)
        .unwrap_err()
        .to_string();
    assert!(!e.contains('\n'), "{e}");
    assert!(e.starts_with(&p.display().to_string()), "{e}");
    e
}

#[test]
fn subset_selection_errors_name_file_and_field() {
    let t = random_trace(3, 3, 4, 5);
    let p = tmp("subset_bad.npz");
    write_trace_npz(&p, &t).unwrap();
    let e = subset_err(&p, Some(&[0, 3]), None);
    assert!(
        e.contains("table selection: table 3 out of range: the trace has 3 table(s) (0-2)"),
        "{e}"
    );
    let e = subset_err(&p, Some(&[1, 1]), None);
    assert!(e.contains("table 1 selected twice"), "{e}");
    let e = subset_err(&p, Some(&[]), None);
    assert!(e.contains("selects no tables"), "{e}");
    let e = subset_err(&p, None, Some(2..5));
    assert!(
        e.contains("sample selection: samples 2-4 reach past the batch of 4 samples (0-3)"),
        "{e}"
    );
    let e = subset_err(&p, None, Some(2..2));
    assert!(e.contains("selects no samples"), "{e}");
}

#[test]
fn subset_keeps_whole_file_checks() {
    // Negative index inside the selection: reported with its position in the file.
    let p = tmp("subset_neg.npz");
    write_zip(
        &p,
        &[
            i64_member("indices.npy", &[1, 2, -4, 5]),
            i64_member("offsets.npy", &[0, 1, 2, 3, 4]),
        ],
    );
    let e = read_trace_npz_subset(&p, Some(2), Some(&[1]), Some(0..1))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("indices: negative index -4 at position 2 (table 1, sample 0"),
        "{e}"
    );
    // ... but outside the selection it is not read.
    assert!(read_trace_npz_subset(&p, Some(2), Some(&[0]), None).is_ok());
    // Lengths disagreeing with offsets, anywhere.
    let p = tmp("subset_len.npz");
    write_zip(
        &p,
        &[
            i64_member("indices.npy", &[1, 2, 3, 4]),
            i64_member("offsets.npy", &[0, 1, 2, 3, 4]),
            (
                "lengths.npy",
                npy_bytes("<i8", "(2, 2)", &i64s(&[1, 1, 1, 2])),
                false,
            ),
        ],
    );
    let e = read_trace_npz_subset(&p, None, Some(&[0]), None)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("lengths: [1, 1] is 2, but offsets give a bag of 1"),
        "{e}"
    );
    // Offsets ending past indices.
    let p = tmp("subset_off.npz");
    write_zip(
        &p,
        &[
            i64_member("indices.npy", &[1, 2, 3]),
            i64_member("offsets.npy", &[0, 1, 2, 3, 4]),
        ],
    );
    let e = read_trace_npz_subset(&p, None, None, Some(0..1))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("offsets: last element is 4, but indices has 3 elements"),
        "{e}"
    );
}

// ---------------------------------------------------------------- stack-distance profiles

const DLRM_EXAMPLE: &str = "1, 2, 3, 4, 5, 6\n0, 1, 3, 4, 5\n0.55, 0.64, 0.82, 0.91, 1.0\n";

fn profile_err(text: &str) -> String {
    let e = StackProfile::parse(text, "p.log").unwrap_err().to_string();
    assert!(!e.contains('\n'), "{e}");
    e
}

#[test]
fn bad_profiles_name_file_line_and_problem() {
    for (text, needle) in [
        ("", "p.log:1: unique accesses: missing"),
        ("1, 2\n0, 1\n", "p.log:3: cumulative probabilities: missing"),
        ("1, 2\n\n0.5, 1.0\n", "p.log:2: stack distances: empty line"),
        ("1, x\n0, 1\n0.5, 1.0\n", "p.log:1: unique accesses: item 2 (\"x\") is not a non-negative integer"),
        ("1, -2\n0, 1\n0.5, 1.0\n", "p.log:1: unique accesses: item 2 (\"-2\") is not a non-negative integer"),
        ("1, 2\n0, 1.5\n0.5, 1.0\n", "p.log:2: stack distances: item 2 (\"1.5\") is not"),
        ("1, 2\n0, 1\n0.5, abc\n", "p.log:3: cumulative probabilities: item 2 (\"abc\") is not a number"),
        ("1, 2\n0, 1\n0.7, 0.6, 1.0\n", "3 probabilities for 2 stack distances"),
        ("1, 2\n0, 1, 2\n0.7, 0.6, 1.0\n", "p.log:3: cumulative probabilities: not non-decreasing: item 2 (0.6) is below item 1 (0.7)"),
        ("1, 2\n0, 1\n0.5, 0.9\n", "p.log:3: cumulative probabilities: ends at 0.9, expected 1.0"),
        ("1, 2\n0, 1\n0.5, 1.5\n", "item 2 (1.5) is not a probability"),
        ("1, 2\n1, 0\n0.5, 1.0\n", "p.log:2: stack distances: not strictly increasing"),
        ("1, 2\n0, 1\n0.5, 1.0\n7\n", "p.log:4: profile: unexpected text"),
        ("1,,2\n0, 1\n0.5, 1.0\n", "p.log:1: unique accesses: item 2 is empty"),
    ] {
        let e = profile_err(text);
        assert!(e.contains(needle), "{text:?}: {e}");
    }
    // A float sum that ends a hair below 1 is accepted, as dlrm writes such profiles.
    assert!(StackProfile::parse("1\n0, 1\n0.3, 0.9999999999999999\n", "p.log").is_ok());
}

#[test]
fn profile_file_errors() {
    let e = StackProfile::read(std::path::Path::new("/nonexistent/p.log"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("/nonexistent/p.log: cannot read"), "{e}");
    let p = tmp("prof.log");
    std::fs::write(&p, DLRM_EXAMPLE).unwrap();
    let prof = StackProfile::read(&p).unwrap();
    assert_eq!(prof.unique.len(), 6);
    assert_eq!(prof.source, p.display().to_string());
}

/// dlrm's `trace_generate_lru` written out the plain way (a list, bottom first), drawing the same
/// uniform variates in the same order.
fn lru_plain(p: &StackProfile, rng: &mut Rng, n: usize) -> Vec<u64> {
    let mut lines = p.unique.clone();
    let l = lines.len();
    let max_d = *p.distances.last().unwrap();
    let mut new_refs = 0u64;
    let mut out = Vec::new();
    for _ in 0..n {
        let mut u = rng.unit_f64();
        if new_refs < max_d {
            // bisect.bisect(distances, new_refs) - 1
            let j = p.distances.iter().filter(|&&d| d <= new_refs).count() as isize - 1;
            if j >= 0 {
                u *= p.cdf[j as usize];
            }
        }
        let mut d = *p.distances.last().unwrap();
        for (j, &f) in p.cdf.iter().enumerate() {
            if u <= f {
                d = p.distances[j];
                break;
            }
        }
        let used = (new_refs as usize).min(l);
        let id = if d == 0 || d as usize > used {
            new_refs += 1;
            lines.remove(0)
        } else {
            lines.remove(l - d as usize)
        };
        lines.push(id);
        out.push(id);
    }
    out
}

#[test]
fn lru_generation_matches_a_plain_reimplementation() {
    let profiles = [
        StackProfile::parse(DLRM_EXAMPLE, "a").unwrap(),
        StackProfile::parse("10, 20, 30\n0, 2, 7\n0.2, 0.5, 1.0\n", "b").unwrap(),
        StackProfile::parse("4, 3, 2, 1, 0\n1, 2\n0.5, 1.0\n", "c").unwrap(),
        StackProfile::parse(
            &format!(
                "{}\n0, 1, 2, 8, 50, 200\n0.05, 0.3, 0.4, 0.7, 0.95, 1\n",
                (0..300)
                    .map(|x| (x * 13 + 5).to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "d",
        )
        .unwrap(),
    ];
    for (k, p) in profiles.iter().enumerate() {
        let mut a = Rng::new(40 + k as u64);
        let mut b = Rng::new(40 + k as u64);
        let got: Vec<u64> = p.stream(&mut a).take(5000).collect();
        assert_eq!(got, lru_plain(p, &mut b, 5000), "profile {}", p.source);
    }
}

#[test]
fn lru_deterministic_profiles() {
    // Only new accesses: the unique list in order, then again from its start.
    let p = StackProfile::parse("7, 8, 9\n0\n1.0\n", "p").unwrap();
    let mut rng = Rng::new(1);
    assert_eq!(
        p.stream(&mut rng).take(7).collect::<Vec<_>>(),
        vec![7, 8, 9, 7, 8, 9, 7]
    );
    // Distance 1 with probability 1 after the first (forced new) access: the same line forever.
    let p = StackProfile::parse("7, 8, 9\n0, 1\n0, 1.0\n", "p").unwrap();
    assert!(p.stream(&mut rng).take(100).all(|x| x == 7));
}

/// LRU stack distance of every access of `trace` (0 = first access), the way dlrm profiles.
fn stack_distances(trace: &[u64]) -> Vec<u64> {
    let mut stack: Vec<u64> = Vec::new();
    trace
        .iter()
        .map(|&x| match stack.iter().rposition(|&y| y == x) {
            Some(i) => {
                let d = (stack.len() - i) as u64;
                stack.remove(i);
                stack.push(x);
                d
            }
            None => {
                stack.push(x);
                0
            }
        })
        .collect()
}

#[test]
fn lru_output_reprofiles_to_the_given_distribution() {
    let distances = [0u64, 1, 2, 5, 10];
    let cdf = [0.1, 0.4, 0.6, 0.9, 1.0];
    let text = format!(
        "{}\n0, 1, 2, 5, 10\n0.1, 0.4, 0.6, 0.9, 1.0\n",
        (0..1000)
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let p = StackProfile::parse(&text, "p").unwrap();
    let n = 20_000;
    let mut rng = Rng::new(2024);
    let trace: Vec<u64> = p.stream(&mut rng).take(n).collect();
    let sd = stack_distances(&trace);
    // ~2000 new accesses would exceed the 1000 unique ids: compare only the first 8000 accesses
    // (about 800 new), skipping the warm-up accesses whose draw is restricted.
    let window = &sd[200..8000];
    let mut prev = 0.0;
    for (k, &d) in distances.iter().enumerate() {
        let want = cdf[k] - prev;
        prev = cdf[k];
        let got = window.iter().filter(|&&x| x == d).count() as f64 / window.len() as f64;
        let sigma = (want * (1.0 - want) / window.len() as f64).sqrt();
        assert!(
            (got - want).abs() < 5.0 * sigma,
            "distance {d}: frequency {got:.4}, profile {want:.4}"
        );
    }
    assert!(window.iter().all(|d| distances.contains(d)));
}

#[test]
fn generator_replays_profiles_per_table_modulo_rows() {
    let p = StackProfile::parse("3, 10, 11, 12\n0, 1, 2\n0.4, 0.8, 1.0\n", "p.log").unwrap();
    let dist = IndexDist::StackDistance(p.clone());
    assert_eq!(dist.label(), "lru p.log");
    let t = generate(3, 5, 4, 6, dist.clone(), 77).unwrap();
    assert_eq!((t.tables, t.batch, t.lookups()), (3, 4, 72));
    t.check_rows(&[5], "gen").unwrap();
    // Table t's 24 lookups are the stream of the t-th fork of Rng::new(77), ids mod 5.
    let mut master = Rng::new(77);
    for table in 0..3 {
        let mut rng = master.fork(table as u64);
        let want: Vec<i64> = p
            .stream(&mut rng)
            .take(24)
            .map(|x| (x % 5) as i64)
            .collect();
        let got: Vec<i64> = (0..4).flat_map(|b| t.bag(table, b).to_vec()).collect();
        assert_eq!(got, want, "table {table}");
    }
    assert_eq!(generate(3, 5, 4, 6, dist, 77).unwrap(), t, "seeded");
}

// ---------------------------------------------------------------- statistics

#[test]
fn stats_of_a_hand_made_trace() {
    // Table 0: bags [5, 5, 1], [], [5, 2], [9]  -> sizes 3, 0, 2, 1; counts: 5x3, 1x1, 2x1, 9x1
    // Table 1: bags [4], [4, 4, 4, 4], [4, 7], [8, 8, 8, 8, 8] -> sizes 1, 4, 2, 5;
    //          counts: 4x6, 7x1, 8x5
    let t = Trace {
        tables: 2,
        batch: 4,
        indices: vec![5, 5, 1, 5, 2, 9, 4, 4, 4, 4, 4, 4, 7, 8, 8, 8, 8, 8],
        offsets: vec![0, 3, 3, 5, 6, 7, 11, 13, 18],
    };
    t.validate("hand").unwrap();
    let s = trace_stats(&t);
    assert_eq!((s.tables, s.batch), (2, 4));
    let t0 = &s.per_table[0];
    assert_eq!(t0.table, Some(0));
    assert_eq!((t0.bags, t0.lookups, t0.unique_rows), (4, 6, 4));
    // sizes sorted 0, 1, 2, 3: mean 1.5; p50 = 2nd smallest (ceil(0.5*4) = 2); p99 = 4th.
    assert_eq!(
        t0.pooling,
        Pooling {
            mean: 1.5,
            min: 0,
            p50: 1,
            p99: 3,
            max: 3
        }
    );
    // counts 3, 1, 1, 1 -> bucket "1": 3 rows / 3 lookups; "2": none; "3-4": 1 row / 3 lookups.
    assert_eq!(
        t0.reuse,
        vec![
            ReuseBucket {
                lo: 1,
                hi: 1,
                rows: 3,
                lookups: 3
            },
            ReuseBucket {
                lo: 2,
                hi: 2,
                rows: 0,
                lookups: 0
            },
            ReuseBucket {
                lo: 3,
                hi: 4,
                rows: 1,
                lookups: 3
            },
        ]
    );
    let t1 = &s.per_table[1];
    assert_eq!((t1.bags, t1.lookups, t1.unique_rows), (4, 12, 3));
    assert_eq!(
        t1.pooling,
        Pooling {
            mean: 3.0,
            min: 1,
            p50: 2,
            p99: 5,
            max: 5
        }
    );
    // counts 6, 1, 5 -> "1": 1/1; "5-8": 2 rows / 11 lookups.
    assert_eq!(
        t1.reuse,
        vec![
            ReuseBucket {
                lo: 1,
                hi: 1,
                rows: 1,
                lookups: 1
            },
            ReuseBucket {
                lo: 2,
                hi: 2,
                rows: 0,
                lookups: 0
            },
            ReuseBucket {
                lo: 3,
                hi: 4,
                rows: 0,
                lookups: 0
            },
            ReuseBucket {
                lo: 5,
                hi: 8,
                rows: 2,
                lookups: 11
            },
        ]
    );
    let tot = &s.total;
    assert_eq!(tot.table, None);
    assert_eq!((tot.bags, tot.lookups, tot.unique_rows), (8, 18, 7));
    // sizes 0, 1, 1, 2, 2, 3, 4, 5: mean 18/8; p50 = 4th = 2; p99 = 8th = 5.
    assert_eq!(
        tot.pooling,
        Pooling {
            mean: 2.25,
            min: 0,
            p50: 2,
            p99: 5,
            max: 5
        }
    );
    assert_eq!(
        tot.reuse,
        vec![
            ReuseBucket {
                lo: 1,
                hi: 1,
                rows: 4,
                lookups: 4
            },
            ReuseBucket {
                lo: 2,
                hi: 2,
                rows: 0,
                lookups: 0
            },
            ReuseBucket {
                lo: 3,
                hi: 4,
                rows: 1,
                lookups: 3
            },
            ReuseBucket {
                lo: 5,
                hi: 8,
                rows: 2,
                lookups: 11
            },
        ]
    );
    // Every lookup is in exactly one bucket.
    for ts in s.per_table.iter().chain([&s.total]) {
        assert_eq!(ts.reuse.iter().map(|b| b.lookups).sum::<u64>(), ts.lookups);
        assert_eq!(ts.reuse.iter().map(|b| b.rows).sum::<u64>(), ts.unique_rows);
    }
}

#[test]
fn stats_edge_cases_and_buckets() {
    // Bucket k holds counts 2^(k-1)+1 ..= 2^k.
    for (c, k) in [
        (1u64, 0usize),
        (2, 1),
        (3, 2),
        (4, 2),
        (5, 3),
        (8, 3),
        (9, 4),
        (1024, 10),
        (1025, 11),
    ] {
        assert_eq!(reuse_bucket(c), k, "count {c}");
        let (lo, hi) = reuse_bounds(k);
        assert!(lo <= c && c <= hi, "count {c} outside {lo}-{hi}");
    }
    // All bags empty: zeros, no buckets.
    let t = Trace {
        tables: 1,
        batch: 2,
        indices: vec![],
        offsets: vec![0, 0, 0],
    };
    let s = trace_stats(&t);
    assert_eq!(s.total.lookups, 0);
    assert_eq!(s.total.pooling.mean, 0.0);
    assert!(s.total.reuse.is_empty());
    // 100 bags of sizes 1..=100: p50 = 50, p99 = 99 (nearest rank).
    let mut offsets = vec![0i64];
    let mut indices = Vec::new();
    for n in 1..=100i64 {
        indices.extend((0..n).map(|i| i * 1000 + n));
        offsets.push(indices.len() as i64);
    }
    let s = trace_stats(&Trace {
        tables: 1,
        batch: 100,
        indices,
        offsets,
    });
    let pf = &s.per_table[0].pooling;
    assert_eq!((pf.min, pf.p50, pf.p99, pf.max), (1, 50, 99, 100));
    assert_eq!(pf.mean, 50.5);
    assert_eq!(s.per_table[0].unique_rows, 5050);
    // Stats serialise.
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["total"]["pooling"]["p99"], 99);
    assert_eq!(json["per_table"][0]["table"], 0);
}
