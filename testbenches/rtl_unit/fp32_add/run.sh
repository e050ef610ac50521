#!/usr/bin/env bash
# Verilates rtl/pifs_fp32_add.sv with tb_fp32_add.cpp, runs the unit test and exits non-zero on
# any mismatch, lint warning or build error. Needs Verilator >= 5.006 and an x86-64 C++ compiler.
#
# Usage: run.sh [build_dir] [--seed N] [--pairs N]
#   build_dir defaults to /tmp/pifs_fp32_add_unit; the remaining arguments go to the harness.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
build="/tmp/pifs_fp32_add_unit"
if [[ $# -gt 0 && $1 != --* ]]; then
  build="$1"
  shift
fi

# shellcheck source=../verilator.sh
source "$here/../verilator.sh"

mkdir -p "$build"

# -Wall makes any lint warning a build error. The C++ is built without -ffast-math so that the
# host's float addition is IEEE round-to-nearest-even with subnormals (the harness checks MXCSR).
"$vl" --cc --exe --build -O3 -Wall -j 0 \
  --x-assign unique --x-initial unique \
  -CFLAGS "-O2 -fno-fast-math -msse2 -mfpmath=sse" \
  --Mdir "$build" --top-module pifs_fp32_add -o tb_fp32_add \
  "$root/rtl/pifs_fp32_add.sv" "$here/tb_fp32_add.cpp" > "$build/verilate.log" 2>&1 || {
  cat "$build/verilate.log" >&2
  exit 1
}

"$build/tb_fp32_add" "$@"
