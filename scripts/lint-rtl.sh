#!/usr/bin/env bash
# Lints every RTL module standalone and the top with `verilator --lint-only -Wall`.
# Fails on the first warning. Uses $VERILATOR if set.
set -euo pipefail
cd "$(dirname "$0")/.."
vl="${VERILATOR:-verilator}"
pkg=rtl/pifs_pkg.sv
others=()
for f in rtl/*.sv; do [ "$f" = "$pkg" ] || others+=("$f"); done
status=0
for f in "${others[@]}"; do
  top=$(basename "$f" .sv)
  if ! "$vl" --lint-only -Wall --top-module "$top" "$pkg" "${others[@]}"; then
    echo "lint: $top has warnings" >&2
    status=1
  else
    echo "lint: $top clean" >&2
  fi
done
exit $status
