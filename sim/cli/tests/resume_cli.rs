//! Checkpoint and resume, end to end: `pifs compare` and `pifs run` are started as children,
//! killed with SIGKILL at a random moment after their first checkpoint appeared, resumed with
//! `--resume`, and their stdout (but the wall-time line), JSON (but `wall_seconds`), SVG and
//! pooled `.npy` are compared byte for byte with an uninterrupted run; an interrupted sweep is
//! resumed without rerunning its finished points and merges to the same CSV.
//!
//! The kill moments are drawn from a seeded stream (printed; `PIFS_SEED=<n>` replays one).
//! `PIFS_RESUME_LARGE=1` (`make resume-check`) runs RM1 at batch 8 with more batches and kills.

mod common;

use common::{pifs, stderr, stdout, tmp};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn large() -> bool {
    std::env::var("PIFS_RESUME_LARGE").is_ok_and(|v| v == "1")
}

fn seed() -> u64 {
    match std::env::var("PIFS_SEED") {
        Ok(s) => s.parse().expect("PIFS_SEED must be an integer"),
        Err(_) => 1,
    }
}

/// SplitMix64: the kill delays.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

fn checkpoints(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with("ckpt-") && n.ends_with(".pifs")
        })
        .collect();
    v.sort();
    v
}

/// Stdout without the wall-time line.
fn table(out: &str) -> String {
    out.lines()
        .filter(|l| !l.starts_with("wall"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A JSON document without `wall_seconds`, as text.
fn json_without_wall(p: &Path) -> String {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let wall = v.as_object_mut().unwrap().remove("wall_seconds");
    assert!(wall.is_some(), "{}: no wall_seconds", p.display());
    serde_json::to_string_pretty(&v).unwrap()
}

/// Start `pifs args`, wait for its first checkpoint in `dir`, let it run `delay` more, SIGKILL
/// it. Returns whether it was still running when killed.
fn kill_after_first_checkpoint(args: &[String], dir: &Path, delay: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pifs"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while checkpoints(dir).is_empty() {
        if let Some(st) = child.try_wait().unwrap() {
            panic!("pifs ended ({st}) before its first checkpoint: {args:?}");
        }
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoint");
        std::thread::sleep(Duration::from_micros(500));
    }
    std::thread::sleep(delay);
    let running = child.try_wait().unwrap().is_none();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    running
}

/// The kill-and-resume check for one command: `base` are its arguments without outputs;
/// `outputs(tag)` gives the output flags of one run (files under `tag`).
fn kill_and_resume(name: &str, base: &[&str], outputs: &dyn Fn(&str) -> Vec<(String, PathBuf)>) {
    let args = |tag: &str, extra: &[String]| -> Vec<String> {
        let mut v: Vec<String> = base.iter().map(|x| x.to_string()).collect();
        for (flag, p) in outputs(tag) {
            v.push(flag);
            v.push(s(&p));
        }
        v.extend(extra.iter().cloned());
        v
    };
    // Uninterrupted, without checkpoints: the reference.
    let started = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_pifs"))
        .args(args("ref", &[]))
        .output()
        .unwrap();
    let full = started.elapsed();
    assert!(o.status.success(), "{}", stderr(&o));
    let want_table = table(&stdout(&o));
    let want = outputs("ref");

    let kills = if large() { 6 } else { 3 };
    let seed = seed();
    eprintln!("{name}: kill seed {seed} (PIFS_SEED={seed} replays), uninterrupted run {full:?}");
    let mut draw = Draw(seed);
    let mut mid_run = 0;
    for k in 0..kills {
        let dir = tmp(&format!("{name}-ckpt-{k}"));
        let _ = std::fs::remove_dir_all(&dir);
        let ck = vec![
            "--checkpoint".to_string(),
            s(&dir),
            "--checkpoint-every".to_string(),
            "1".to_string(),
        ];
        // Somewhere within the run's length after its first checkpoint.
        let delay = Duration::from_micros(draw.next() % (full.as_micros() as u64).max(1));
        let tag = format!("k{k}");
        let running = kill_after_first_checkpoint(&args(&tag, &ck), &dir, delay);
        mid_run += running as usize;
        let found = checkpoints(&dir);
        assert!(!found.is_empty());
        eprintln!(
            "{name}: kill {k} after {delay:?} ({}), resuming from {}",
            if running { "mid-run" } else { "it had ended" },
            found.last().unwrap().display()
        );
        // Outputs of the killed run are never half-written: remove them to see the resume
        // write them.
        for (_, p) in outputs(&tag) {
            let _ = std::fs::remove_file(p);
        }
        let mut resume = ck.clone();
        resume.extend(["--resume".to_string(), s(&dir)]);
        let o = Command::new(env!("CARGO_BIN_EXE_pifs"))
            .args(args(&tag, &resume))
            .output()
            .unwrap();
        assert!(o.status.success(), "resume: {}", stderr(&o));
        assert!(stderr(&o).contains("resuming from"), "{}", stderr(&o));
        assert_eq!(table(&stdout(&o)), want_table, "{name} kill {k}: stdout");
        for ((flag, got), (_, exp)) in outputs(&tag).iter().zip(&want) {
            if flag == "--json" {
                assert_eq!(
                    json_without_wall(got),
                    json_without_wall(exp),
                    "{name} kill {k}: {flag}"
                );
            } else {
                assert!(
                    std::fs::read(got).unwrap() == std::fs::read(exp).unwrap(),
                    "{name} kill {k}: {flag} differs"
                );
            }
        }
    }
    assert!(
        mid_run > 0,
        "{name}: every kill came after the run had ended; the check saw no interrupted run"
    );
}

#[test]
fn compare_killed_and_resumed_matches_an_uninterrupted_run() {
    let (batch, batches) = if large() { ("8", "16") } else { ("4", "4") };
    kill_and_resume(
        "compare",
        &[
            "compare",
            "--model",
            "rm1",
            "--batch",
            batch,
            "--batches",
            batches,
            "--backend",
            "rtl",
        ],
        &|tag| {
            vec![
                ("--json".to_string(), tmp(&format!("compare-{tag}.json"))),
                ("--plot".to_string(), tmp(&format!("compare-{tag}.svg"))),
            ]
        },
    );
}

#[test]
fn run_killed_and_resumed_matches_an_uninterrupted_run() {
    let batch = if large() { "64" } else { "8" };
    kill_and_resume(
        "run",
        &[
            "run",
            "--model",
            "rm1",
            "--batch",
            batch,
            "--ports",
            "8",
            "--backend",
            "rtl",
            "--ooo",
        ],
        &|tag| {
            vec![
                ("--json".to_string(), tmp(&format!("run-{tag}.json"))),
                ("--pooled".to_string(), tmp(&format!("run-{tag}.npy"))),
            ]
        },
    );
}

#[test]
fn resume_continues_checkpointing_and_survives_a_second_kill() {
    // Kill, resume with checkpoints on, kill the resumed run, resume again.
    let dir = tmp("chain-ckpt");
    let _ = std::fs::remove_dir_all(&dir);
    let base = [
        "compare",
        "--model",
        "rm1",
        "--batch",
        "4",
        "--batches",
        "4",
        "--backend",
        "rtl",
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter()
            .chain(extra)
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
    };
    let want = pifs(&base);
    assert!(want.status.success());
    let ck = ["--checkpoint", dir.to_str().unwrap()];
    kill_after_first_checkpoint(&with(&ck), &dir, Duration::from_millis(30));
    let first = checkpoints(&dir).last().cloned().unwrap();
    let re = [
        "--checkpoint",
        dir.to_str().unwrap(),
        "--resume",
        dir.to_str().unwrap(),
    ];
    // Wait for a checkpoint newer than the first before killing again.
    let mut child = Command::new(env!("CARGO_BIN_EXE_pifs"))
        .args(with(&re))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while checkpoints(&dir).last() == Some(&first) && child.try_wait().unwrap().is_none() {
        assert!(start.elapsed() < Duration::from_secs(300));
        std::thread::sleep(Duration::from_micros(500));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // A kill between a checkpoint's rename and the removal of the oldest leaves three.
    assert!(checkpoints(&dir).len() <= 3, "{:?}", checkpoints(&dir));
    let args = with(&re);
    let o = pifs(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(table(&stdout(&o)), table(&stdout(&want)));
    let kept = checkpoints(&dir);
    assert_eq!(kept.len(), 2, "the two newest are kept: {kept:?}");
    assert!(kept[1].ends_with("ckpt-000016.pifs"), "{kept:?}");
}

fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p).unwrap().modified().unwrap()
}

#[test]
fn sweep_resume_skips_finished_points_and_redoes_a_damaged_one() {
    let base = |out: &Path| -> Vec<String> {
        [
            "sweep",
            "--model",
            "rm1",
            "--batch",
            "2",
            "--batches",
            "1",
            "--vary",
            "ports=2,4,8",
            "--vary",
            "pooling=10,20",
            "--jobs",
            "1",
            "--out",
            out.to_str().unwrap(),
        ]
        .iter()
        .map(|x| x.to_string())
        .collect()
    };
    let (a, b) = (tmp("sweep-ref"), tmp("sweep-killed"));
    for d in [&a, &b] {
        let _ = std::fs::remove_dir_all(d);
    }
    let args_a = base(&a);
    let o = pifs(&args_a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let summary = |out: &str| -> String {
        out.lines()
            .filter(|l| !l.starts_with("wrote"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let want_summary = summary(&stdout(&o));

    // Kill the second sweep once two points are done.
    let mut child = Command::new(env!("CARGO_BIN_EXE_pifs"))
        .args(base(&b))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let point = |i: usize| b.join("points").join(format!("{i:04}.json"));
    let start = Instant::now();
    while !point(1).exists() {
        assert!(child.try_wait().unwrap().is_none(), "sweep ended early");
        assert!(start.elapsed() < Duration::from_secs(300));
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The point processes die with the sweep: nothing is written after the kill.
    std::thread::sleep(Duration::from_millis(300));
    let done: Vec<usize> = (0..6).filter(|&i| point(i).exists()).collect();
    assert!(done.len() >= 2 && done.len() < 6, "done: {done:?}");
    assert!(!b.join("sweep.csv").exists());
    // Damage one finished point as a half-written file would be.
    let text = std::fs::read(point(0)).unwrap();
    std::fs::write(point(0), &text[..text.len() / 2]).unwrap();
    let kept: Vec<(usize, std::time::SystemTime)> = done
        .iter()
        .skip(1)
        .map(|&i| (i, mtime(&point(i))))
        .collect();
    std::thread::sleep(Duration::from_millis(20));

    let mut args_b = base(&b);
    args_b.push("--resume".into());
    let o = pifs(&args_b.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let want = format!(
        "resuming: {} of 6 point(s) already done, running {}",
        kept.len(),
        6 - kept.len()
    );
    assert!(stderr(&o).contains(&want), "want {want:?}: {}", stderr(&o));
    for (i, t) in &kept {
        assert_eq!(mtime(&point(*i)), *t, "point {i} was run again");
    }
    assert_eq!(
        std::fs::read_to_string(a.join("sweep.csv")).unwrap(),
        std::fs::read_to_string(b.join("sweep.csv")).unwrap()
    );
    assert_eq!(summary(&stdout(&o)), want_summary);
}
