#!/usr/bin/env python3
"""Code and functional coverage of the RTL under the regression: `make cov`.

1. Builds pifs-regress against models Verilated with `--coverage` (line, toggle and the
   assertions' cover points; `PIFS_VERILATOR_FLAGS=--coverage`) in its own cargo target folder
   (target/cov), so the ordinary build is not touched. bindings/build.rs caches the models: only
   an RTL change Verilates them again.
2. Runs every testbench of the regression (SEEDS cases each, run seed SEED) with
   PIFS_COVERAGE_DIR set: each Verilated model writes its coverage points there when it finishes
   (bindings/cpp/sim_common.cpp). The regression also writes the functional coverage the
   testbenches declare (out/cov/regress/coverage.json).
3. Merges the points with verilator_coverage (out/cov/merged.dat) and writes the annotated
   sources (out/cov/annotated/, lines under the threshold marked with `%`).
4. Writes the summary, docs/coverage.md (out/cov/coverage.md when --tests selects): code coverage per module and kind, counted per source
   point (all instances of a module merged: a point is covered if any instance covered it), and
   the functional coverpoints with the bins never hit. The summary is checked in; rerunning
   `make cov` with the same SEEDS and SEED on the same RTL gives the same file.

A failing regression case fails `make cov` (exit 1) after the summary is written. Standard
library only. Environment: VERILATOR (set by scripts/verilator.sh via the Makefile).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "out" / "cov"
TARGET = REPO / "target" / "cov"
DOC = REPO / "docs" / "coverage.md"
# Kinds of Verilator coverage point, by the prefix of their `page` key.
KINDS = [("v_line", "block"), ("v_branch", "branch"), ("v_expr", "expression"),
         ("v_toggle", "toggle"), ("v_user", "assertion cover")]


def fail(msg: str) -> None:
    print(f"make cov: error: {msg}", file=sys.stderr)
    sys.exit(2)


def tool(name: str) -> str:
    """verilator_coverage beside the Verilator the build uses, else on PATH."""
    v = os.environ.get("VERILATOR")
    if v:
        cand = Path(v).with_name(name)
        if cand.is_file():
            return str(cand)
    found = shutil.which(name)
    if not found:
        fail(f"{name} not found (it ships with Verilator; Debian's package has it)")
    return found


def run(cmd: list[str], env: dict | None = None, check: bool = True) -> int:
    shown = cmd if len(cmd) <= 8 else cmd[:4] + [f"... ({len(cmd) - 4} more)"]
    print("+ " + " ".join(shown), file=sys.stderr)
    rc = subprocess.call(cmd, cwd=REPO, env=env)
    if check and rc != 0:
        fail(f"`{' '.join(cmd[:3])} ...` exited with {rc}")
    return rc


def parse_points(path: Path) -> list[tuple[dict, int]]:
    """Points of a coverage.dat: (keys, count). A line is `C '<\\1key\\2value...>' count`."""
    points = []
    for line in path.read_text(errors="replace").splitlines():
        m = re.match(r"C '(.*)' (\d+)$", line)
        if not m:
            continue
        keys = {}
        for item in m.group(1).split("\x01"):
            if "\x02" in item:
                k, v = item.split("\x02", 1)
                keys[k] = v
        points.append((keys, int(m.group(2))))
    return points


def kind_of(page: str) -> str:
    for prefix, name in KINDS:
        if page.startswith(prefix):
            return name
    return page.split("/")[0] or "other"


def code_table(points: list[tuple[dict, int]]) -> tuple[list[str], dict, list[str]]:
    # Merge instances: one source point per (kind, module, file, line, column, comment).
    merged: dict[tuple, int] = defaultdict(int)
    for keys, count in points:
        page = keys.get("page", "")
        module = page.split("/", 1)[1] if "/" in page else "?"
        # Verilator names a parameterised copy `<module>__<params>`: one row per module.
        module = module.split("__", 1)[0]
        key = (kind_of(page), module, Path(keys.get("f", "?")).name, keys.get("l", ""),
               keys.get("n", ""), keys.get("o", ""))
        merged[key] = max(merged[key], count)
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (kind, module, *_), count in merged.items():
        for m in (module, "all"):
            cells[(m, kind)][1] += 1
            cells[(m, kind)][0] += count > 0
    kinds = [k for _, k in KINDS if any(kk == k for (_, kk) in cells)]
    modules = sorted({m for (m, _) in cells if m != "all"}) + ["all"]
    rows = ["| module | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
    for m in modules:
        vals = []
        for k in kinds:
            hit, total = cells.get((m, k), [0, 0])
            vals.append(f"{100.0 * hit / total:.1f}% ({hit}/{total})" if total else "-")
        name = "**all**" if m == "all" else m
        rows.append(f"| {name} | " + " | ".join(vals) + " |")
    missed = ["| point | where | what |", "|---|---|---|"]
    for (kind, module, file, line, col, comment), count in sorted(
            merged.items(), key=lambda kv: (kv[0][2], int(kv[0][3] or 0), kv[0][5])):
        if count == 0 and kind in ("block", "branch"):
            missed.append(f"| {kind} | {file}:{line} | {comment} |")
    return rows, {k: cells.get(("all", k), [0, 0]) for k in kinds}, missed


def functional_table(report: dict) -> list[str]:
    rows = ["| testbench | coverpoint | bins hit | bins never hit |", "|---|---|---|---|"]
    for cp in report.get("coverpoints", []):
        unhit = [b for b, n in cp["bins"].items() if n == 0]
        rows.append(f"| {cp['testbench']} | {cp['name']} | {cp['hit']}/{cp['total']} | "
                    + (", ".join(unhit) if unhit else "-") + " |")
    s = report.get("summary", {})
    rows.append(f"| **all** | | {s.get('bins_hit', 0)}/{s.get('bins_total', 0)} | |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=20, help="cases per testbench")
    ap.add_argument("--seed", type=int, default=1, help="run seed of the regression")
    ap.add_argument("--tests", default=None, help="testbench-name regex (default: all)")
    ap.add_argument("--jobs", default=None, help="regression worker threads")
    a = ap.parse_args()

    env = dict(os.environ, CARGO_TARGET_DIR=str(TARGET), PIFS_VERILATOR_FLAGS="--coverage")
    cargo = os.environ.get("CARGO", "cargo")
    run([cargo, "build", "--release", "--quiet", "-p", "pifs-tb", "--bin", "pifs-regress"], env)

    dat = OUT / "dat"
    shutil.rmtree(dat, ignore_errors=True)
    dat.mkdir(parents=True)
    env = dict(os.environ, PIFS_COVERAGE_DIR=str(dat))
    cmd = [str(TARGET / "release" / "pifs-regress"), "--out", str(OUT / "regress"),
           "--seeds", str(a.seeds), "--seed", str(a.seed)]
    if a.tests:
        cmd += ["--tests", a.tests]
    if a.jobs:
        cmd += ["--jobs", a.jobs]
    regress_rc = run(cmd, env, check=False)

    files = sorted(dat.glob("*.dat"))
    if not files:
        fail(f"no coverage files in {dat}: was the model built with --coverage?")
    merged = OUT / "merged.dat"
    vc = tool("verilator_coverage")
    run([vc, "--write", str(merged)] + [str(f) for f in files])
    annotated = OUT / "annotated"
    shutil.rmtree(annotated, ignore_errors=True)
    out = subprocess.run([vc, "--annotate", str(annotated), "--annotate-min", "1", str(merged)],
                         cwd=REPO, capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"verilator_coverage --annotate: {out.stderr.strip()}")

    rows, overall, missed = code_table(parse_points(merged))
    functional = json.loads((OUT / "regress" / "coverage.json").read_text())
    version = subprocess.run([os.environ.get("VERILATOR", "verilator"), "--version"],
                             capture_output=True, text=True).stdout.strip()
    cmdline = f"make cov SEEDS={a.seeds} SEED={a.seed}" + (f" TESTS='{a.tests}'" if a.tests else "")
    lines = [
        "# Coverage of the RTL under the regression",
        "",
        f"Regenerate with `{cmdline}`. The first run Verilates and compiles the two models with",
        "`--coverage` (about 40 minutes on this 2-core machine, the switch's toggle points make",
        "its C++ large); later runs on the same RTL take about a minute. Written by",
        "`scripts/cov/cov.py`; the",
        "annotated sources are in `out/cov/annotated/` (lines never executed marked with `%`),",
        "the merged points in `out/cov/merged.dat` (open with `verilator_coverage`).",
        "",
        f"- Verilator: {version}",
        f"- Regression: {'testbenches matching ' + repr(a.tests) if a.tests else 'every testbench'}, "
        f"{a.seeds} cases each, run seed {a.seed}; "
        f"{len(files)} model instances wrote coverage; regression "
        + ("passed" if regress_rc == 0 else f"FAILED (exit {regress_rc})") + ".",
    ]
    lines += [
        "",
        "## Code coverage per module",
        "",
        "Counted per source point, all instances of a module merged (a point is covered if",
        "any instance reached it: the port model alone and the eight ports of the switch).",
        "`block` points are Verilator's line coverage (one per straight-line block of",
        "statements), `branch` one per arm of an if/case, `toggle` one per bit of every signal",
        "(covered once the bit has changed); Verilator leaves signals wider than 256 bits out",
        "of toggle coverage (`--coverage-max-width`), so the 528-bit flit and 512-bit data",
        "buses are not counted. The RTL declares no `cover property`, so there is no",
        "assertion-cover column. A `-` means the module has no point of that kind.",
        "",
    ] + rows + [
        "",
        "Block and branch points never reached (see the annotated sources for the context):",
        "",
    ] + (missed if len(missed) > 2 else ["None."]) + [
        "",
        "## Functional coverage",
        "",
        "The coverpoints the testbenches declare (testbenches/src/coverage.rs and the",
        "testbenches' `cover` functions), merged over the passing cases.",
        "",
    ] + functional_table(functional) + [""]
    # Only a run of every testbench rewrites the checked-in summary.
    doc = OUT / "coverage.md" if a.tests else DOC
    doc.write_text("\n".join(lines))
    print("\n".join(rows))
    for k, (hit, tot) in overall.items():
        print(f"cov_{k.replace(' ', '_')}={100.0 * hit / tot:.1f}%  ({hit}/{tot})")
    s = functional.get("summary", {})
    print(f"functional_bins={s.get('bins_hit')}/{s.get('bins_total')}")
    print(f"summary: {doc.relative_to(REPO)}; annotated sources: {annotated.relative_to(REPO)}/")
    if regress_rc != 0:
        print("make cov: the regression failed (see above)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
