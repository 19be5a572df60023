#!/usr/bin/env bash
# Builds the libFuzzer harnesses of Tests/Fuzz (ASan + fuzzer instrumentation) and runs each for a given time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]     default: 60 s, every target
#
# Targets: FuzzStream (RRD framing + protobuf + IPC framing walk), FuzzCompression (LZ4 block, ArrowMsg payload,
# zstd input), FuzzArrowIPC (Arrow IPC reader + value rendering), FuzzIngest (one-message recordings through StoreHub).
# Seeds come from Fixtures/ (FuzzStream derives the other targets' seeds from the recordings), plus the regression
# inputs in Fixtures/fuzz/<target>/. The corpus grows in .build-fuzz/corpus/<target> and is kept between runs.
# A crash leaves its input in .build-fuzz/artifacts/<target>/ and makes the script fail: copy the input to
# Fixtures/fuzz/<target>/ (the replay tests then run it) and fix the bug.
# Environment: FUZZ_CONFIG=debug|release (default release), FUZZ_JOBS (parallel processes per target, default 1).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(FuzzStream FuzzCompression FuzzArrowIPC FuzzIngest)
config=${FUZZ_CONFIG:-release}
jobs=${FUZZ_JOBS:-1}
scratch="$root/.build-fuzz"
"$root/scripts/ensure-deps.sh"

echo "--- building fuzz targets ($config)"
start=$SECONDS
swift build --package-path Tests/Fuzz --scratch-path "$scratch" -c "$config" \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library 2>&1 | grep -v "ld.gold: warning: Cannot export local symbol"
bin="$(swift build --package-path Tests/Fuzz --scratch-path "$scratch" -c "$config" --show-bin-path)"
echo "--- built in $((SECONDS - start)) s"

# Seed corpora: fixtures, then what FuzzStream derives from the recordings.
seeds="$scratch/seeds"
rm -rf "$seeds"
mkdir -p "$seeds"/{FuzzStream,FuzzCompression,FuzzArrowIPC,FuzzIngest}
recordings=(Fixtures/rrd/*.rrd Fixtures/rrd/*.rbl)
cp "${recordings[@]}" "$seeds/FuzzStream/"
cp Fixtures/arrow/*.arrows "$seeds/FuzzArrowIPC/"
if command -v zstd >/dev/null; then
    for f in "${recordings[@]}"; do
        # Mode byte 2 (zstd input) + 3 unused bytes, then the zstd-compressed recording.
        { printf '\002\000\000\000'; zstd -q -c "$f"; } >"$seeds/FuzzCompression/zstd-$(basename "$f")"
    done
fi
FUZZ_WRITE_SEEDS="$seeds" "$bin/FuzzStream" -runs=0 "$seeds/FuzzStream" >/dev/null 2>&1 ||
    FUZZ_WRITE_SEEDS="$seeds" "$bin/FuzzStream" -runs=0 "$seeds/FuzzStream"
for t in "${targets[@]}"; do
    if [ -d "Fixtures/fuzz/$t" ]; then cp Fixtures/fuzz/"$t"/* "$seeds/$t/" 2>/dev/null || true; fi
done

parallel=()
[ "$jobs" -gt 1 ] && parallel=(-jobs="$jobs" -workers="$jobs")
status=0
for t in "${targets[@]}"; do
    corpus="$scratch/corpus/$t"
    artifacts="$scratch/artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    echo "--- $t for ${seconds} s ($(ls "$seeds/$t" | wc -l) seeds, corpus $(ls "$corpus" | wc -l))"
    # -rss_limit_mb: every harness caps what input may allocate far below it; a report here is a finding.
    before=$(ls "$artifacts" | wc -l)
    set +e
    # From the scratch directory: with FUZZ_JOBS > 1 libFuzzer writes fuzz-<job>.log files into the current one.
    (cd "$scratch" && "$bin/$t" "$corpus" "$seeds/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -max_len=262144 "${parallel[@]}" -artifact_prefix="$artifacts/" -print_final_stats=1 \
        >"$scratch/$t.log" 2>&1)
    rc=$?
    set -e
    for f in "$scratch"/fuzz-*.log; do  # the jobs' own logs, when FUZZ_JOBS > 1
        [ -e "$f" ] || continue
        cat "$f" >>"$scratch/$t.log"
        rm -f "$f"
    done
    # A job's crash may not reach the parent's exit status: a new artifact is a finding too.
    if [ "$(ls "$artifacts" | wc -l)" -ne "$before" ] && [ $rc -eq 0 ]; then rc=1; fi
    grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+ *DONE" "$scratch/$t.log" | tr '\n' ' '
    echo
    if [ $rc -ne 0 ]; then
        status=1
        echo "!!! $t failed (rc=$rc): see $scratch/$t.log and $artifacts/"
        grep -E "ERROR|SUMMARY|Fatal error|Test unit written" "$scratch/$t.log" | head -20 || true
    fi
done
exit $status
