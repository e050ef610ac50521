#!/usr/bin/env bash
# Builds and runs the fuzz targets of fuzz/ (cargo-fuzz layout, libFuzzer through the
# libfuzzer-sys crate) on the stable toolchain, without cargo-fuzz:
#
#   scripts/fuzz.sh list                 the targets
#   scripts/fuzz.sh build [TARGET...]    build (all targets by default)
#   scripts/fuzz.sh run [TARGET...]      fuzz each target for FUZZ_TIME seconds (default 600),
#                                        growing out/fuzz/corpus/<target>/ (kept between runs)
#   scripts/fuzz.sh ci [TARGET...]       the targets that need no RTL build (all but config_toml and
#                                        scenario_toml, see below) for FUZZ_CI_TIME seconds in all
#                                        (default 60), fixed -seed, the checked-in corpus only
#                                        (make fuzz-ci)
#   scripts/fuzz.sh replay FILE TARGET   run one input (a crash artifact) through a target
#
# Environment: FUZZ_TARGETS (space-separated, instead of arguments), FUZZ_TIME, FUZZ_CI_TIME,
# FUZZ_SEED (libFuzzer -seed; default 1 in ci, random in run), FUZZ_OUT (default out/fuzz),
# CARGO_TARGET_DIR (default fuzz/target, the folder `cargo fuzz` uses too).
#
# What cargo-fuzz would do, done by hand: compile the targets with SanitizerCoverage (the stable
# codegen options -Cpasses=sancov-module and -Cllvm-args=-sanitizer-coverage-*, the same set
# `cargo fuzz build --sanitizer none` passes) for the host triple given explicitly, so build
# scripts and proc macros are not instrumented; libfuzzer-sys compiles libFuzzer from its own
# bundled C++ sources with the system C++ compiler and supplies main(). No nightly feature and no
# tool to install: only the crates in fuzz/Cargo.lock. No AddressSanitizer (that needs nightly
# -Zsanitizer); safe Rust's bounds and overflow checks (debug assertions and overflow checks are
# on in the fuzz profile) turn memory and arithmetic bugs into panics, which libFuzzer reports.
#
# config_toml and scenario_toml fuzz parsers in pifs-systems and pifs-scenario, which depend on
# pifs-sim and so on the Verilated RTL (pifs-rtl): their build Verilates and compiles both models
# into the fuzz target folder, minutes on two cores. They sit behind the fuzz crate's `systems`
# feature, which this script turns on only when one of them is asked for.
#
# Each run checks that libFuzzer saw the coverage counters ("inline 8-bit counters" in its log);
# without them it would only be feeding random bytes. Executions per target are printed from
# libFuzzer's final stats. A crash leaves the input in $FUZZ_OUT/artifacts/<target>/ and makes
# the script exit 1; reproduce with `scripts/fuzz.sh replay <file> <target>`.

set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

all_targets() {
    sed -n 's/^name = "\([a-z0-9_]*\)"$/\1/p' fuzz/Cargo.toml | grep -v '^pifs-fuzz$'
}

# Targets behind the `systems` feature (their parsers' crates link the Verilated RTL).
systems_targets() {
    grep -B2 '^required-features = \["systems"\]' fuzz/Cargo.toml | sed -n 's/^name = "\(.*\)"$/\1/p'
}

# The targets make fuzz-ci runs by default: those that need no RTL build.
ci_targets() {
    all_targets | grep -vxF -f <(systems_targets)
}

die() {
    echo "fuzz.sh: error: $*" >&2
    exit 2
}

targets_from() {
    local t known
    known=" $(all_targets | tr '\n' ' ') "
    local want=("$@")
    if [ ${#want[@]} -eq 0 ]; then
        # shellcheck disable=SC2206
        want=(${FUZZ_TARGETS:-$(all_targets)})
    fi
    for t in "${want[@]}"; do
        case "$known" in
        *" $t "*) echo "$t" ;;
        *) die "unknown target '$t' (one of:$(all_targets | tr '\n' ' ' | sed 's/^/ /'))" ;;
        esac
    done
}

host=$(rustc -vV | sed -n 's/^host: //p')
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/fuzz/target}"
out="${FUZZ_OUT:-$root/out/fuzz}"
bin_dir="$CARGO_TARGET_DIR/$host/release"

build() {
    # pifs-systems and pifs-scenario link the Verilated RTL (pifs-rtl): find Verilator first.
    if [ -z "${PIFS_VERILATOR_PATH:-}${VERILATOR:-}" ]; then
        local vl
        vl="$(scripts/verilator.sh)"
        # shellcheck disable=SC2163,SC2086
        export $vl
    fi
    local args=(--no-default-features) t
    for t in "$@"; do
        args+=(--bin "$t")
        if systems_targets | grep -qxF "$t"; then args[0]=--features=systems; fi
    done
    echo "fuzz.sh: building ${*} (target folder $CARGO_TARGET_DIR)" >&2
    RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-sanitizer-coverage-stack-depth \
-Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
--cfg fuzzing -Cdebug-assertions ${RUSTFLAGS:-}" \
        cargo build --release --locked --manifest-path fuzz/Cargo.toml --target "$host" "${args[@]}"
}

# run_one TARGET SECONDS SEED WRITE_CORPUS: prints "TARGET: N executions ..." on stdout.
run_one() {
    local t=$1 secs=$2 seed=$3 work=$4
    local log="$out/logs/$t.log" art="$out/artifacts/$t/"
    mkdir -p "$out/logs" "$art" "$work"
    local seeds=()
    [ -d "fuzz/corpus/$t" ] && seeds=("fuzz/corpus/$t")
    local rc=0
    # New inputs go to the first folder ($work); the checked-in corpus is only read.
    "$bin_dir/$t" "$work" "${seeds[@]}" -max_total_time="$secs" -seed="$seed" \
        -print_final_stats=1 -artifact_prefix="$art" -max_len=8192 -timeout=10 \
        -rss_limit_mb=2048 -close_fd_mask=1 >"$log" 2>&1 || rc=$?
    if ! grep -q 'inline 8-bit counters' "$log"; then
        echo "fuzz.sh: $t: libFuzzer reports no coverage counters (not instrumented?); log $log" >&2
        return 3
    fi
    local execs cov units
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    units=$(find "$work" -type f | wc -l)
    if [ $rc -ne 0 ]; then
        echo "$t: CRASH after ${execs:-?} executions (exit $rc); input in $art, log $log"
        grep -m3 -E "panicked|ERROR: libFuzzer|SUMMARY" "$log" | sed 's/^/    /'
        return 1
    fi
    echo "$t: ${execs:-?} executions in ${secs} s, seed $seed, coverage ${cov:-?} edges, corpus $units new + $(find "fuzz/corpus/$t" -type f 2>/dev/null | wc -l) checked-in"
}

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
list)
    all_targets
    ;;
build)
    list=$(targets_from "$@") || exit 2
    mapfile -t ts <<<"$list"
    build "${ts[@]}"
    ;;
run)
    list=$(targets_from "$@") || exit 2
    mapfile -t ts <<<"$list"
    build "${ts[@]}"
    secs="${FUZZ_TIME:-600}"
    fail=0
    for t in "${ts[@]}"; do
        seed="${FUZZ_SEED:-$RANDOM$RANDOM}"
        run_one "$t" "$secs" "$seed" "$out/corpus/$t" || fail=1
    done
    exit $fail
    ;;
ci)
    if [ $# -eq 0 ] && [ -z "${FUZZ_TARGETS:-}" ]; then
        mapfile -t ts < <(ci_targets)
    else
        list=$(targets_from "$@") || exit 2
        mapfile -t ts <<<"$list"
    fi
    start=$(date +%s)
    build "${ts[@]}"
    built=$(date +%s)
    total="${FUZZ_CI_TIME:-60}"
    secs=$(( total / ${#ts[@]} ))
    [ "$secs" -ge 1 ] || secs=1
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    fail=0
    for t in "${ts[@]}"; do
        run_one "$t" "$secs" "${FUZZ_SEED:-1}" "$scratch/$t" || fail=1
    done
    echo "fuzz-ci: ${#ts[@]} targets, build $(( built - start )) s, fuzzing $(( $(date +%s) - built )) s"
    exit $fail
    ;;
replay)
    [ $# -eq 2 ] || die "usage: scripts/fuzz.sh replay FILE TARGET"
    [ -f "$1" ] || die "replay: $1: no such file"
    t=$(targets_from "$2")
    build "$t"
    exec "$bin_dir/$t" "$1"
    ;;
*)
    die "usage: scripts/fuzz.sh list|build|run|ci|replay [TARGET...] (see the header of this script)"
    ;;
esac
