#!/usr/bin/env bash
# Runs every fuzz target in fuzz/ for SECONDS each (default 60), one at a time, on stable Rust.
#
#   scripts/fuzz.sh [SECONDS-PER-TARGET] [TARGET...]
#
# Installs cargo-fuzz if it is missing. `-s none` (no sanitizer) needs no nightly: cargo-fuzz then
# passes only stable codegen flags (-Cpasses=sancov-module, -Cllvm-args=...). `-a` keeps debug
# assertions and overflow checks on in the optimised build. Each target starts from the committed
# seeds in fuzz/corpus/<target>/ and writes what it discovers to fuzz/work/<target>/ (ignored by
# git), so the committed corpus stays small. Crash, timeout and OOM inputs land in
# fuzz/artifacts/<target>/.
#
# FUZZ_RUNS=N stops each target after N executions (libFuzzer's -runs) if that comes first.
#
# Prints executions, exec/s and peak RSS per target; exits non-zero on any crash, hang (> 10 s
# for one input), or input needing more than 512 MB in one allocation or 2 GB in all.
set -euo pipefail

secs=${1:-60}
shift || true
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/fuzz"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(gguf npy spec param graph)
fi

if ! command -v c++ >/dev/null 2>&1; then
    # libfuzzer-sys compiles libFuzzer (C++).
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends g++ >/dev/null 2>&1 ||
        { $sudo apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends g++ >/dev/null; }
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

cargo fuzz build -s none --release -a

failed=()
summary=()
for t in "${targets[@]}"; do
    work="$root/fuzz/work/$t"
    log="$root/fuzz/work/$t.log"
    mkdir -p "$work" "$root/fuzz/artifacts/$t"
    echo "fuzz: $t for ${secs}s"
    status=0
    runs=()
    if [ -n "${FUZZ_RUNS:-}" ]; then runs=(-runs="$FUZZ_RUNS"); fi
    cargo fuzz run "$t" -s none --release -a "$work" "$root/fuzz/corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=10 \
        -print_final_stats=1 -artifact_prefix="$root/fuzz/artifacts/$t/" "${runs[@]}" >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -1)
    line="$t: ${execs:-?} executions, ${rate:-?} exec/s, peak RSS ${rss:-?} MB"
    if [ "$status" -ne 0 ]; then
        line="$line: FAILED (exit $status; see $log and fuzz/artifacts/$t/)"
        failed+=("$t")
        grep -E "ERROR: libFuzzer|panicked|SUMMARY" "$log" | head -5 || true
    fi
    echo "fuzz: $line"
    summary+=("$line")
done

printf 'fuzz: %s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
    echo "fuzz: failed: ${failed[*]}" >&2
    exit 1
fi
