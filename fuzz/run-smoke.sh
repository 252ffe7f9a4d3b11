#!/usr/bin/env bash
# Fuzz smoke run: each target for N seconds (default 30); exits non-zero if any target crashes.
#
# Usage: fuzz/run-smoke.sh [SECONDS] [TARGET ...]     (default: every target in fuzz/Cargo.toml)
#
# Installs cargo-fuzz if it is missing. cargo-fuzz builds with AddressSanitizer by default,
# which needs the unstable `-Zsanitizer` flag: on a stable toolchain this script sets
# RUSTC_BOOTSTRAP=1 so that stable rustc accepts it. FUZZ_SANITIZER=none builds without a
# sanitizer (no unstable flag needed; kvdb's only unsafe code is the mmap call). Either way the
# targets are built with debug assertions, so integer overflow panics as in a debug build.
#
# Crashing inputs are saved under fuzz/artifacts/<target>/; the corpus grows in
# fuzz/corpus/<target>/ across runs (both are git-ignored). Reproduce a crash with
#   cargo fuzz run [-s none] <target> fuzz/artifacts/<target>/crash-...
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-30}
shift || true
sanitizer=${FUZZ_SANITIZER:-address}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run-smoke: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
if [[ $sanitizer != none ]] && ! rustc --version | grep -q nightly; then
    export RUSTC_BOOTSTRAP=1
fi

if (($# > 0)); then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

# segment_recovery makes a temporary directory per input: keep them in RAM when possible.
if [[ -d /dev/shm && -w /dev/shm ]]; then
    TMPDIR=$(mktemp -d -p /dev/shm kvdb-fuzz.XXXXXX)
    export TMPDIR
    trap 'rm -rf "$TMPDIR"' EXIT
fi

cargo fuzz build -s "$sanitizer"
failed=()
for target in "${targets[@]}"; do
    echo "run-smoke: $target for ${seconds}s (sanitizer: $sanitizer)"
    if ! cargo fuzz run -s "$sanitizer" "$target" -- \
        -max_total_time="$seconds" -timeout=30 -print_final_stats=1; then
        failed+=("$target")
    fi
done

if ((${#failed[@]} > 0)); then
    echo "run-smoke: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "run-smoke: ${#targets[@]} targets ran ${seconds}s each without a crash"
