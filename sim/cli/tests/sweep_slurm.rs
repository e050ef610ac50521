//! `pifs sweep --emit slurm` and `pifs sweep --merge`: the emitted job array, run here task by
//! task with bash (the #SBATCH lines are comments), then merged, gives the local sweep's
//! sweep.csv, sweep.json and charts byte for byte; a missing point stops the merge.

mod common;
use common::{assert_bad_input, pifs, stderr, tmp};
use std::path::Path;
use std::process::{Command, Output};

/// A small grid: 4 points on the model backend, one batch each.
const GRID: &[&str] = &[
    "sweep",
    "--model",
    "rm3",
    "--batch",
    "4",
    "--batches",
    "1",
    "--vary",
    "ports=2,8",
    "--vary",
    "pooling=10,20",
];

fn sweep(extra: &[&str], out: &Path) -> Output {
    let mut args: Vec<&str> = GRID.to_vec();
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--out", out.to_str().unwrap()]);
    pifs(&args)
}

/// Run one array task of DIR/sweep.slurm as Slurm would, from another folder.
fn task(dir: &Path, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new("bash");
    c.arg(dir.join("sweep.slurm"))
        .current_dir("/")
        .env_remove("PIFS_BIN")
        .env_remove("PIFS_TASK_OFFSET")
        .env_remove("SLURM_ARRAY_TASK_ID");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run bash")
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn chmod_x(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A point's report without `wall_seconds`, the only field that differs between two runs of
/// the same command (the host time it took).
fn point_without_wall_time(p: &Path) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(&read(p)).unwrap();
    assert!(v["wall_seconds"].is_number(), "{}", p.display());
    v.as_object_mut().unwrap().remove("wall_seconds");
    v
}

#[test]
fn slurm_array_run_task_by_task_and_merged_equals_the_local_sweep() {
    let a = tmp("local");
    let b = tmp("slurm");
    let o = sweep(&["--jobs", "2"], &a);
    assert!(o.status.success(), "{}", stderr(&o));

    let o = sweep(&["--emit", "slurm", "--slurm-max-parallel", "2"], &b);
    assert!(o.status.success(), "{}", stderr(&o));
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(said.contains("submit.sh"), "{said}");
    // Emitting runs nothing.
    assert!(!b.join("points/0000.json").exists());
    assert!(!b.join("sweep.csv").exists());

    // The same per-point commands as the local sweep, with absolute paths into B.
    let (ca, cb) = (read(&a.join("commands.txt")), read(&b.join("commands.txt")));
    assert_eq!(cb.lines().count(), 4);
    assert_eq!(cb, ca.replace(a.to_str().unwrap(), b.to_str().unwrap()));
    assert!(cb.contains(&format!("--json {}/points/0003.json", b.display())));

    let bd = b.display();
    let script = read(&b.join("sweep.slurm"));
    assert!(script.starts_with("#!/bin/bash\n"));
    for line in [
        "#SBATCH --array=0-3%2".to_string(),
        "#SBATCH --cpus-per-task=1".into(),
        "#SBATCH --time=01:00:00".into(),
        "#SBATCH --job-name=pifs-sweep".into(),
        format!("#SBATCH --output={bd}/logs/%x_%A_%a.out"),
        "set -euo pipefail".into(),
    ] {
        assert!(
            script.lines().any(|l| l == line),
            "no line {line:?}:\n{script}"
        );
    }
    let exe = env!("CARGO_BIN_EXE_pifs");
    assert!(script.contains(&format!("default_bin={exe}\n")), "{script}");
    assert!(script.contains("\"${PIFS_BIN:-$default_bin}\""), "{script}");
    assert!(
        b.join("logs").is_dir(),
        "sbatch does not create the log folder"
    );
    let merge = read(&b.join("merge.slurm"));
    assert!(merge.contains(&format!("sweep --merge {bd}")), "{merge}");

    for i in 0..4 {
        let o = task(&b, &[("SLURM_ARRAY_TASK_ID", &i.to_string())]);
        assert!(o.status.success(), "task {i}: {}", stderr(&o));
        assert!(b.join(format!("points/{i:04}.json")).exists(), "task {i}");
    }
    assert!(!b.join("sweep.csv").exists(), "tasks do not merge");
    let o = Command::new("bash")
        .arg(b.join("merge.slurm"))
        .current_dir("/")
        .env_remove("PIFS_BIN")
        .output()
        .unwrap();
    assert!(o.status.success(), "merge: {}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("vs pond"));

    for f in [
        "sweep.csv",
        "sweep.json",
        "speedup_ports.svg",
        "speedup_pooling.svg",
    ] {
        assert_eq!(read(&a.join(f)), read(&b.join(f)), "{f} differs");
    }
    assert_eq!(read(&a.join("sweep.csv")).lines().count(), 5);
    for i in 0..4 {
        let p = format!("points/{i:04}.json");
        assert_eq!(
            point_without_wall_time(&a.join(&p)),
            point_without_wall_time(&b.join(&p)),
            "{p}"
        );
    }
}

#[test]
fn merge_with_a_missing_point_fails_in_one_line_and_writes_nothing() {
    let d = tmp("missing");
    let o = pifs(&[
        "sweep",
        "--model",
        "rm3",
        "--batch",
        "4",
        "--batches",
        "1",
        "--vary",
        "ports=2,4,8",
        "--emit",
        "slurm",
        "--out",
        d.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    for i in ["0", "2"] {
        assert!(task(&d, &[("SLURM_ARRAY_TASK_ID", i)]).status.success());
    }
    let merge = pifs(&["sweep", "--merge", d.to_str().unwrap()]);
    assert_bad_input(
        &merge,
        &[
            "1 of 3 points missing",
            "point 1",
            &format!("sbatch --array=1 {}/sweep.slurm", d.display()),
        ],
    );
    for f in ["sweep.csv", "sweep.json", "speedup_ports.svg"] {
        assert!(!d.join(f).exists(), "{f} written by a failed merge");
    }
    // Rerun the missing task: the merge goes through.
    assert!(task(&d, &[("SLURM_ARRAY_TASK_ID", "1")]).status.success());
    let merge = pifs(&["sweep", "--merge", d.to_str().unwrap()]);
    assert!(merge.status.success(), "{}", stderr(&merge));
    let csv = read(&d.join("sweep.csv"));
    let ports: Vec<&str> = csv.lines().skip(1).map(|l| &l[..2]).collect();
    assert_eq!(ports, ["2,", "4,", "8,"], "{csv}");
}

#[test]
fn emitted_task_checks_its_id_and_runs_the_pifs_bin_it_is_given() {
    let d = tmp("task-env");
    let o = pifs(&[
        "sweep",
        "--model",
        "rm1",
        "--vary",
        "ports=2,4",
        "--emit",
        "slurm",
        "--out",
        d.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));

    let o = task(&d, &[]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("SLURM_ARRAY_TASK_ID"), "{}", stderr(&o));
    let o = task(&d, &[("SLURM_ARRAY_TASK_ID", "2")]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no such point (0..1)"),
        "{}",
        stderr(&o)
    );
    let o = task(&d, &[("SLURM_ARRAY_TASK_ID", "x1")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));

    // A stand-in binary records its arguments: task 1 (and task 0 shifted by
    // PIFS_TASK_OFFSET=1) pass line 2 of commands.txt, without the leading "pifs".
    let fake = tmp("fake-pifs.sh");
    let log = tmp("fake-pifs.log");
    std::fs::write(
        &fake,
        format!("#!/bin/bash\nprintf '%s\\n' \"$@\" > {}\n", log.display()),
    )
    .unwrap();
    chmod_x(&fake);
    let line2 = read(&d.join("commands.txt"))
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let want: Vec<&str> = line2.split(' ').skip(1).collect();
    assert!(want.contains(&"switch.ports=4"), "{line2}");
    for env in [
        vec![("SLURM_ARRAY_TASK_ID", "1")],
        vec![("SLURM_ARRAY_TASK_ID", "0"), ("PIFS_TASK_OFFSET", "1")],
    ] {
        let _ = std::fs::remove_file(&log);
        let mut env = env.clone();
        let bin = format!("{}", fake.display());
        env.push(("PIFS_BIN", &bin));
        let o = task(&d, &env);
        assert!(o.status.success(), "{}", stderr(&o));
        let got = read(&log);
        assert_eq!(got.lines().collect::<Vec<_>>(), want, "{env:?}");
    }
}

#[test]
fn submit_script_chains_the_merge_after_the_array_with_afterok() {
    let d = tmp("submit");
    let o = pifs(&[
        "sweep",
        "--model",
        "rm1",
        "--vary",
        "ports=2,4,8",
        "--emit",
        "slurm",
        "--slurm-time",
        "2:00:00",
        "--slurm-mem",
        "500M",
        "--slurm-partition",
        "short",
        "--slurm-job-name",
        "rm1-ports",
        "--out",
        d.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let script = read(&d.join("sweep.slurm"));
    for line in [
        "#SBATCH --array=0-2",
        "#SBATCH --time=2:00:00",
        "#SBATCH --mem=500M",
        "#SBATCH --partition=short",
        "#SBATCH --job-name=rm1-ports",
    ] {
        assert!(
            script.lines().any(|l| l == line),
            "no line {line:?}:\n{script}"
        );
    }
    let merge = read(&d.join("merge.slurm"));
    assert!(merge
        .lines()
        .any(|l| l == "#SBATCH --job-name=rm1-ports-merge"));
    assert!(merge.lines().any(|l| l == "#SBATCH --partition=short"));

    // A stand-in sbatch logs its arguments and answers job ids as `sbatch --parsable` does.
    let bin = tmp("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = tmp("sbatch.log");
    std::fs::write(
        bin.join("sbatch"),
        format!(
            "#!/bin/bash\necho \"$*\" >> {log}\nn=$(wc -l < {log})\necho \"$((4000 + n));cl\"\n",
            log = log.display()
        ),
    )
    .unwrap();
    chmod_x(&bin.join("sbatch"));
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let o = Command::new("bash")
        .arg(d.join("submit.sh"))
        .arg("--qos=short")
        .env("PATH", path)
        .current_dir("/")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let dd = d.display();
    assert_eq!(
        read(&log).lines().collect::<Vec<_>>(),
        [
            format!("--parsable --qos=short {dd}/sweep.slurm"),
            format!("--parsable --dependency=afterok:4001 --qos=short {dd}/merge.slurm"),
        ]
    );
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(
        said.contains("array job 4001") && said.contains("merge job 4002"),
        "{said}"
    );
}

#[test]
fn bad_emit_merge_and_slurm_flags_are_one_line_errors() {
    let d = tmp("bad");
    assert_bad_input(&sweep(&["--emit", "foo"], &d), &["foo"]);
    assert_bad_input(
        &sweep(&["--emit", "slurm", "--slurm-time", "1h"], &d),
        &["--slurm-time", "1h"],
    );
    assert_bad_input(
        &sweep(&["--emit", "slurm", "--slurm-mem", "lots"], &d),
        &["--slurm-mem", "lots"],
    );
    assert_bad_input(
        &sweep(&["--emit", "slurm", "--slurm-max-parallel", "0"], &d),
        &["--slurm-max-parallel"],
    );
    assert_bad_input(
        &sweep(&["--slurm-max-parallel", "4"], &d),
        &["--slurm-max-parallel", "--emit slurm"],
    );
    assert_bad_input(
        &pifs(&["sweep", "--merge", "/tmp", "--vary", "ports=2"]),
        &["--merge"],
    );
    let nowhere = tmp("no-such-sweep");
    assert_bad_input(
        &pifs(&["sweep", "--merge", nowhere.to_str().unwrap()]),
        &["grid.json", "cannot read"],
    );
    let spaced = tmp("with space");
    assert_bad_input(&sweep(&["--emit", "slurm"], &spaced), &["#SBATCH"]);
    assert!(!d.join("sweep.slurm").exists() && !spaced.join("sweep.slurm").exists());
}

#[test]
fn emitting_again_keeps_the_points_of_the_same_grid_and_drops_those_of_another() {
    let d = tmp("again");
    let emit = |ports: &str, time: &str| {
        let o = pifs(&[
            "sweep",
            "--model",
            "rm1",
            "--vary",
            ports,
            "--emit",
            "slurm",
            "--slurm-time",
            time,
            "--out",
            d.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    emit("ports=2,4", "10:00");
    for i in ["0", "1"] {
        assert!(task(&d, &[("SLURM_ARRAY_TASK_ID", i)]).status.success());
    }
    assert!(pifs(&["sweep", "--merge", d.to_str().unwrap()])
        .status
        .success());
    let point = read(&d.join("points/0001.json"));
    // Same grid, another time limit: the finished points stay.
    emit("ports=2,4", "20:00");
    assert!(read(&d.join("sweep.slurm")).contains("#SBATCH --time=20:00\n"));
    assert_eq!(read(&d.join("points/0001.json")), point);
    // Another grid: the old points and merged files go, so a merge cannot mix them in.
    emit("ports=2,8", "20:00");
    for f in [
        "points/0000.json",
        "points/0001.json",
        "sweep.csv",
        "sweep.json",
    ] {
        assert!(!d.join(f).exists(), "{f} left from the earlier grid");
    }
    assert_bad_input(
        &pifs(&["sweep", "--merge", d.to_str().unwrap()]),
        &["2 of 2 points missing"],
    );
}
