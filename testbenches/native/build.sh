#!/usr/bin/env bash
# Builds the native C++ benchmark harness of `make bench`: bench_native.cpp plus the bridge's own
# bindings/cpp/port_sim.cpp (against the cxx stand-ins in shim/, so its PortSim::run is the loop
# being timed), linked with the switch-port RTL Verilated exactly as bindings/build.rs does for
# the Rust co-simulation:
#
#   $VERILATOR --cc --build -j N --top-module TOP --prefix PREFIX -Mdir DIR \
#     <bindings/verilator.flags, one argument per line> $PIFS_VERILATOR_FLAGS rtl/*.sv
#
# with TOP and PREFIX read from bindings/build.rs, the sources in build.rs's order (pifs_pkg.sv
# first, then by name), the runtime compiled from the model makefile's VM_GLOBAL_* list when
# Verilator's make does not build libverilated.a (5.006 does not), and the harness and runtime
# compiled with the flags the cc crate gives the bridge and runtime in this workspace's release
# profile (c++ -std=c++17 -O2 -g1 -fPIC ..., plus the VM_TRACE* / VM_COVERAGE / VM_SC values of
# the model's makefile). Nothing is rebuilt when none of these inputs changed.
#
# Usage: build.sh [BUILD_DIR]   (default /tmp/pifs_bench_native); prints the binary's path on
# stdout, progress on stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
root="$(cd "$here/../.." && pwd -P)"
build="${1:-/tmp/pifs_bench_native}"
mkdir -p "$build"
build="$(cd "$build" && pwd -P)"
vl="${VERILATOR:-verilator}"
cxx="${CXX:-c++}"
say() { printf 'native/build.sh: %s\n' "$*" >&2; }

# The model's options, shared with bindings/build.rs (one argument per line, # comments).
flags=()
while IFS= read -r line || [ -n "$line" ]; do
  line="${line#"${line%%[![:space:]]*}"}"
  line="${line%"${line##*[![:space:]]}"}"
  [ -z "$line" ] || [ "${line:0:1}" = "#" ] || flags+=("$line")
done < "$root/bindings/verilator.flags"
# shellcheck disable=SC2206 # split on whitespace, as build.rs does
extra=(${PIFS_VERILATOR_FLAGS:-})
top="$(sed -n 's/^const TOP: &str = "\([A-Za-z0-9_]*\)";.*/\1/p' "$root/bindings/build.rs")"
prefix="$(sed -n 's/^const PREFIX: &str = "\([A-Za-z0-9_]*\)";.*/\1/p' "$root/bindings/build.rs")"
[ -n "$top" ] && [ -n "$prefix" ] || { echo "error: no TOP/PREFIX const in bindings/build.rs" >&2; exit 1; }
sources=("$root/rtl/pifs_pkg.sv")
while IFS= read -r f; do
  [ "$f" = "$root/rtl/pifs_pkg.sv" ] || sources+=("$f")
done < <(LC_ALL=C ls -1d "$root"/rtl/*.sv | LC_ALL=C sort)

version="$("$vl" --version)"
vroot="$("$vl" --getenv VERILATOR_ROOT)"
include="$vroot/include"
exe="$build/pifs_bench_native"

# Skip the build when the inputs are unchanged.
key="$({
  printf '%s\n' "$version" "$vroot" "$vl" "$cxx" "$top" "$prefix" "${flags[@]}" "${extra[@]}"
  "$cxx" --version | head -n 1
  cat "${sources[@]}" "$here/bench_native.cpp" "$here/build.sh" "$here"/shim/* \
    "$root"/bindings/cpp/* "$root/bindings/src/lib.rs"
} | sha256sum | cut -d' ' -f1)"
if [ -x "$exe" ] && [ "$(cat "$build/inputs.sha256" 2>/dev/null)" = "$key" ]; then
  say "up to date: $exe"
  printf '%s\n' "$exe"
  exit 0
fi

mdir="$build/verilated"
inc="$build/include"
rm -rf "$mdir" "$build/rt" "$inc" "$exe" "$build/inputs.sha256"
mkdir -p "$build/rt" "$inc/rust" "$inc/pifs-rtl/src" "$inc/pifs-rtl/cpp"
# The include layout cxx_build gives port_sim.cpp, with the stand-ins for cxx's headers.
cp "$here/shim/cxx.h" "$inc/rust/cxx.h"
cp "$here/shim/lib.rs.h" "$inc/pifs-rtl/src/lib.rs.h"
cp "$root/bindings/cpp/port_sim.h" "$root/bindings/cpp/sim_common.h" "$inc/pifs-rtl/cpp/"
jobs="$(nproc 2>/dev/null || echo 2)"
cmd=("$vl" --cc --build -j "$jobs" --top-module "$top" --prefix "$prefix" -Mdir "$mdir"
  "${flags[@]}" "${extra[@]}" "${sources[@]}")
say "verilating: ${cmd[*]}"
"${cmd[@]}" > "$build/verilate.log" 2>&1 || {
  cat "$build/verilate.log" >&2
  echo "error: verilator failed on rtl/" >&2
  exit 1
}

# Archives Verilator's make produced: the model's first, then the runtime's (if any).
model=()
runtime=()
for a in "$mdir"/*.a; do
  [ -e "$a" ] || continue
  case "$(basename "$a")" in
    "$prefix"*) model+=("$a") ;;
    *) runtime+=("$a") ;;
  esac
done
[ ${#model[@]} -gt 0 ] || { echo "error: verilator --build produced no model archive" >&2; exit 1; }

# The switches the model was generated with, as the bridge gets them.
defs=()
for k in VM_TRACE VM_TRACE_FST VM_TRACE_VCD VM_COVERAGE VM_SC; do
  v="$(cat "$mdir"/*.mk | sed -n "s/^$k = \([0-9][0-9]*\)[[:space:]]*$/\1/p" | head -n 1)"
  [ -z "$v" ] || defs+=("-D$k=$v")
done
# As the cc crate compiles port_sim.cpp and the runtime in a release build with debug = 1.
cflags=(-std=c++17 -O2 -g1 -fPIC -ffunction-sections -fdata-sections -fno-omit-frame-pointer
  -mno-omit-leaf-frame-pointer -m64 -faligned-new
  -Wno-unused-parameter -I"$inc" -I"$mdir" -I"$include" -I"$include/vltstd" "${defs[@]}")

objs=()
if [ ${#runtime[@]} -eq 0 ]; then
  globals="$(cat "$mdir"/*.mk | sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' |
    sed -n 's/^VM_GLOBAL_\(FAST\|SLOW\)[[:space:]]*+=\(.*\)$/\2/p' | tr ' ' '\n' | sed '/^$/d' |
    LC_ALL=C sort -u)"
  [ -n "$globals" ] || { echo "error: the model makefile lists no runtime files" >&2; exit 1; }
  for g in $globals; do
    say "compiling runtime $g.cpp"
    "$cxx" "${cflags[@]}" -w -c "$include/$g.cpp" -o "$build/rt/$g.o"
    objs+=("$build/rt/$g.o")
  done
fi
libs=(-lz -lpthread)
if grep -q -- '-llz4' "$include/verilated.mk" 2>/dev/null; then libs+=(-llz4); fi

say "compiling harness"
"$cxx" "${cflags[@]}" "$here/bench_native.cpp" "$root/bindings/cpp/port_sim.cpp" \
  "$root/bindings/cpp/sim_common.cpp" \
  "${model[@]}" "${objs[@]}" "${runtime[@]}" \
  "${libs[@]}" -o "$exe"
printf '%s\n' "$key" > "$build/inputs.sha256"
say "built $exe"
printf '%s\n' "$exe"
