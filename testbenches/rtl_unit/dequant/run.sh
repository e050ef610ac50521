#!/usr/bin/env bash
# Verilates rtl/pifs_dequant.sv (with pifs_pkg.sv and pifs_fp32_add.sv) with tb_dequant.cpp,
# runs the unit test and exits non-zero on any mismatch, lint warning or build error. Needs
# Verilator >= 5.006 and an x86-64 C++ compiler.
#
# Usage: run.sh [build_dir] [--seed N] [--biases N] [--lines N]
#   build_dir defaults to /tmp/pifs_dequant_unit; the remaining arguments go to the harness.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
build="/tmp/pifs_dequant_unit"
if [[ $# -gt 0 && $1 != --* ]]; then
  build="$1"
  shift
fi

# shellcheck source=../verilator.sh
source "$here/../verilator.sh"

mkdir -p "$build"

# -Wall makes any lint warning a build error; --assert turns on the module's SVA (whose
# `disable iff (!rst_ni)` is a synchronous use of the asynchronous reset: SYNCASYNCNET, the one
# warning allowed, as scripts/lint-rtl.sh lints without --assert). The C++ is
# built without -ffast-math and without contraction (no FMA), so that the reference's float
# multiply and add round separately, IEEE round-to-nearest-even with subnormals (the harness
# checks MXCSR).
"$vl" --cc --exe --build -O3 -Wall -Wno-SYNCASYNCNET --assert -j 0 \
  --x-assign unique --x-initial unique \
  -CFLAGS "-O2 -fno-fast-math -ffp-contract=off -msse2 -mfpmath=sse" \
  --Mdir "$build" --top-module pifs_dequant -o tb_dequant \
  "$root/rtl/pifs_pkg.sv" "$root/rtl/pifs_fp32_add.sv" "$root/rtl/pifs_dequant.sv" \
  "$here/tb_dequant.cpp" > "$build/verilate.log" 2>&1 || {
  cat "$build/verilate.log" >&2
  exit 1
}

"$build/tb_dequant" "$@"
