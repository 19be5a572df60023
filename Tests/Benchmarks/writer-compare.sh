#!/usr/bin/env bash
# `ingest merge` / `ingest optimize` against `rerun rrd merge` / `rerun rrd optimize` (rerun-sdk 0.41.0's CLI)
# on the bench recordings, in one run, alternating (the order flips every run), each output written to
# the same scratch folder and deleted (then `sync`, untimed) before the next run.
#
#   Tests/Benchmarks/writer-compare.sh [--size 500mb|50mb] [--shapes scalars,mixed,points] [--ops merge,optimize]
#                                      [--runs N] [--ingest BIN]
#
# Per shape and command: medians of the whole process's wall time, CPU time (user + sys) and peak RSS
# (`/usr/bin/time`), for both sides, and the ratios (rerun / ours for time: the speed-up; ours / rerun
# for RSS). Ends with a markdown table.
#
# Environment:
#   BENCH_VENV      a venv with rerun-sdk==0.41.0 and its `rerun` CLI (default: /work/bench/venv)
#   BENCH_RRD_DIR   the recordings, <shape>_<size>.rrd (default: /work/bench/rrd; scripts/bench-compare.sh
#                   generates them)
#   BENCH_OUT_DIR   where outputs are written (default: ${TMPDIR:-/tmp}/storeingest-writer-bench)
#   --ingest BIN    the `ingest` binary (default: builds the release product)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
size=500mb
shapes=scalars,mixed,points
ops=merge,optimize
runs=3
ingest=

usage() { sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2 ;;
        --shapes) shapes=$2; shift 2 ;;
        --ops) ops=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --ingest) ingest=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$runs" in ''|*[!0-9]*|0) echo "--runs must be a positive integer" >&2; exit 2 ;; esac

venv=${BENCH_VENV:-/work/bench/venv}
rrd_dir=${BENCH_RRD_DIR:-/work/bench/rrd}
out_dir=${BENCH_OUT_DIR:-${TMPDIR:-/tmp}/storeingest-writer-bench}
rerun=$venv/bin/rerun
[ -x "$rerun" ] || { echo "no rerun CLI at $rerun (set BENCH_VENV)" >&2; exit 1; }
if [ -z "$ingest" ]; then
    (cd "$repo" && swift build -c release --product ingest >&2)
    ingest=$repo/.build/release/ingest
fi
mkdir -p "$out_dir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" "$out_dir"/out-*.rrd' EXIT

med() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# run SIDE OP FILE: one timed run, appends "wall cpu rss_kb" to $tmp/SIDE-OP
run() {
    local side=$1 op=$2 file=$3 out=$out_dir/out-$1.rrd
    rm -f "$out"; sync
    if [ "$side" = ours ]; then
        /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$ingest" "$op" "$file" -o "$out" -q > /dev/null 2> "$tmp/err" \
            || { cat "$tmp/err" >&2; exit 1; }
    else
        /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$rerun" rrd "$op" "$file" -o "$out" > /dev/null 2> "$tmp/err" \
            || { tail -5 "$tmp/err" >&2; exit 1; }
    fi
    read -r wall user sys rss < <(tail -1 "$tmp/t")
    echo "$wall $(echo "$user + $sys" | bc -l) $rss" >> "$tmp/$side-$op"
    rm -f "$out"
}

IFS=, read -r -a shape_list <<<"$shapes"
IFS=, read -r -a op_list <<<"$ops"
rows=()
echo "ingest: $ingest ($(cd "$repo" && git rev-parse --short HEAD 2>/dev/null || echo '?')); rerun: $("$rerun" --version 2>/dev/null | head -1)" >&2
for s in "${shape_list[@]}"; do
    f=$rrd_dir/${s}_$size.rrd
    [ -f "$f" ] || { echo "missing $f (scripts/bench-compare.sh --size $size generates it)" >&2; exit 1; }
    cat "$f" > /dev/null
    for op in "${op_list[@]}"; do
        : > "$tmp/ours-$op"; : > "$tmp/rerun-$op"
        for ((i = 1; i <= runs; i++)); do
            if ((i % 2)); then run ours "$op" "$f"; run rerun "$op" "$f"; else run rerun "$op" "$f"; run ours "$op" "$f"; fi
        done
        ow=$(awk '{print $1}' "$tmp/ours-$op" | med); rw=$(awk '{print $1}' "$tmp/rerun-$op" | med)
        oc=$(awk '{print $2}' "$tmp/ours-$op" | med); rc=$(awk '{print $2}' "$tmp/rerun-$op" | med)
        om=$(awk '{print $3}' "$tmp/ours-$op" | med); rm_=$(awk '{print $3}' "$tmp/rerun-$op" | med)
        line=$(printf '| %s_%s | %s | %.2f s | %.2f s | **%.2f×** | %.2f / %.2f s (%.2f×) | %d / %d MB (%.2f×) |' \
            "$s" "$size" "$op" "$ow" "$rw" "$(echo "$rw / $ow" | bc -l)" "$oc" "$rc" "$(echo "$rc / $oc" | bc -l)" \
            $((${om%.*} / 1024)) $((${rm_%.*} / 1024)) "$(echo "$om / $rm_" | bc -l)")
        echo "$line   [ours: $(awk '{printf "%s ", $1}' "$tmp/ours-$op")] [rerun: $(awk '{printf "%s ", $1}' "$tmp/rerun-$op")]" >&2
        rows+=("$line")
    done
done
echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), medians of $runs alternating runs, CPU pressure: $(awk '/some/ {print $2}' /proc/pressure/cpu 2>/dev/null || echo '?')"
echo
echo "| file | command | ingest | rerun rrd | speed-up | CPU ours / rerun (ratio) | peak RSS ours / rerun (ratio) |"
echo "|---|---|---:|---:|---:|---:|---:|"
printf '%s\n' "${rows[@]}"
