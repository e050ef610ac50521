#!/usr/bin/env bash
# Lints every RTL module standalone and the top with `verilator --lint-only -Wall`.
# Fails (exit 1) if any module has a warning; first it checks that the check can fail, on a probe
# module with an unused signal (a lint that passes everything is worse than none). Uses
# $VERILATOR if set.
set -euo pipefail
cd "$(dirname "$0")/.."
vl="${VERILATOR:-verilator}"
pkg=rtl/pifs_pkg.sv
others=()
for f in rtl/*.sv; do [ "$f" = "$pkg" ] || others+=("$f"); done
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'module lint_probe (input logic a_i, output logic b_o);\n  logic spare;\n  assign b_o = a_i;\nendmodule\n' \
  > "$probe/lint_probe.sv"
if "$vl" --lint-only -Wall "$probe/lint_probe.sv" 2>/dev/null; then
  echo "lint: the probe module with an unused signal passed -Wall: the lint check is broken" >&2
  exit 1
fi
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
