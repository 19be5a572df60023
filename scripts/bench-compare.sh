#!/usr/bin/env bash
# End-to-end comparison of `ingest replay` (release build) with the Rerun SDK's in-process store load
# (`py_load.py store`, see ../shared/bench/ANCHORS.md), on generated recordings of three shapes.
#
#   scripts/bench-compare.sh [--size 50mb|500mb] [--shapes scalars,mixed,points] [--runs N] [--baseline BIN]
#
# Per shape, in one run and alternating: N timings of each side, medians, the ratios, peak RSS
# (`/usr/bin/time -f %M`), our CPU use, and the machine's ceilings (page-cache read of the file; LZ4
# decompression of every payload with a reused buffer and keeping every output, via lz4_bench.c).
# Ends with a markdown table (date, machine) ready for the README.
#
# Two figures for our side: the in-process wall time `ingest replay --json` reports (from opening
# the inputs to the last chunk stored), which is what the anchor's `load_s` measures on its side
# (interpreter start-up and imports excluded), and the whole process's wall time from
# `/usr/bin/time` (start-up included; 10 ms resolution, which matters on the 50 MB files).
#
# Environment:
#   BENCH_VENV      a venv with rerun-sdk==0.41.0 + numpy to reuse (default: created under BENCH_WORK)
#   BENCH_WORK      scratch directory outside the repo (default: ${TMPDIR:-/tmp}/storeingest-bench)
#   BENCH_RRD_DIR   where the recordings are generated (default: $BENCH_WORK/rrd; reused when present)
#   BENCH_SHARED    the shared bench tools (default: <repo>/../shared/bench)
#   BENCH_INGEST    an `ingest` binary to use instead of building one (release, .build-bench-release)
#
# --baseline BIN: an earlier `ingest` build (e.g. of the previous commit), timed in the same run,
# alternating with ours, for a before/after table (in-process wall, CPU and RSS medians, ratios).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size=50mb
shapes=scalars,mixed,points
runs=3
baseline=

usage() { sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2 ;;
        --shapes) shapes=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --baseline) baseline=$2; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$size" in 50mb|500mb) ;; *) echo "--size must be 50mb or 500mb" >&2; exit 2 ;; esac
case "$runs" in ''|*[!0-9]*|0) echo "--runs must be a positive integer" >&2; exit 2 ;; esac
IFS=, read -r -a shape_list <<<"$shapes"
for s in "${shape_list[@]}"; do
    case "$s" in scalars|mixed|points) ;; *) echo "unknown shape: $s" >&2; exit 2 ;; esac
done

work=${BENCH_WORK:-${TMPDIR:-/tmp}/storeingest-bench}
shared=${BENCH_SHARED:-$repo/../shared/bench}
rrd_dir=${BENCH_RRD_DIR:-$work/rrd}
mkdir -p "$work" "$rrd_dir"
log() { echo "[bench] $*" >&2; }

for f in make_bench_rrd.py py_load.py lz4_bench.c rrd_scan.py; do
    [ -f "$shared/$f" ] || { echo "missing $shared/$f (set BENCH_SHARED)" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed (apt-get install time)" >&2; exit 1; }

# --- 1. Python venv with the Rerun SDK -------------------------------------------------------------
venv=${BENCH_VENV:-$work/venv}
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import rerun, numpy, sys; sys.exit(rerun.__version__ != "0.41.0")' 2>/dev/null; then
    log "creating venv $venv with rerun-sdk==0.41.0"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "rerun-sdk==0.41.0" numpy
fi
py=$venv/bin/python

# --- 2. Recordings --------------------------------------------------------------------------------
for s in "${shape_list[@]}"; do
    if [ ! -s "$rrd_dir/${s}_$size.rrd" ]; then
        log "generating $rrd_dir/${s}_$size.rrd"
        "$py" "$shared/make_bench_rrd.py" --shape "$s" --size "$size" --out-dir "$rrd_dir" >&2
    fi
done

# --- 3. Our release build ---------------------------------------------------------------------------
if [ -n "${BENCH_INGEST:-}" ]; then
    ingest=$BENCH_INGEST
else
    log "building ingest (release)"
    (cd "$repo" && swift build -c release --product ingest --scratch-path .build-bench-release >&2)
    ingest=$repo/.build-bench-release/release/ingest
fi
compact_flag=
if "$ingest" replay --help 2>&1 | grep -q -- '--compact'; then compact_flag=--compact; fi
keep_flag=
if "$ingest" replay --help 2>&1 | grep -q -- '--keep'; then keep_flag=--keep; fi

# --- 4. LZ4 ceiling tool ------------------------------------------------------------------------------
lz4_bin=$work/lz4_bench
if [ ! -x "$lz4_bin" ] || [ "$shared/lz4_bench.c" -nt "$lz4_bin" ]; then
    gcc -O3 -march=native -o "$lz4_bin" "$shared/lz4_bench.c" -llz4
fi

# --- helpers ----------------------------------------------------------------------------------------
median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
tmp=$(mktemp -d "$work/run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# Runs a command under /usr/bin/time; appends "elapsed_s maxrss_kb cpu_percent cpu_s" to $1, stdout to $1.out.
timed() {
    local out=$1; shift
    /usr/bin/time -f '%e %M %P %U %S' -o "$tmp/time" "$@" >"$tmp/stdout" 2>"$tmp/stderr" || {
        echo "command failed: $*" >&2; cat "$tmp/stderr" >&2; return 1; }
    awk '{printf "%s %s %s %.2f\n", $1, $2, $3, $4 + $5}' "$tmp/time" >>"$out"
    cat "$tmp/stdout" >>"$out.out"
}

# Our side: the in-process wall time from the --json summary (and the whole process from time). The anchor: `load_s` as printed
# by py_load.py (interpreter start-up and `import rerun` excluded, as in ANCHORS.md); RSS from time.
ours_cmd=("$ingest" replay --json ${keep_flag:+"$keep_flag"})

rows=()
before_after=()
for s in "${shape_list[@]}"; do
    file=$rrd_dir/${s}_$size.rrd
    bytes=$(stat -c %s "$file")
    cat "$file" >/dev/null  # page cache
    : >"$tmp/ours.$s"; : >"$tmp/anchor.$s"; : >"$tmp/ourc.$s"; : >"$tmp/collect.$s"; : >"$tmp/import.$s"; : >"$tmp/base.$s"
    for ((i = 1; i <= runs; i++)); do
        log "$s run $i/$runs"
        if ((i % 2)); then
            timed "$tmp/ours.$s" "${ours_cmd[@]}" "$file"
            timed "$tmp/anchor.$s" "$py" "$shared/py_load.py" store "$file"
        else
            timed "$tmp/anchor.$s" "$py" "$shared/py_load.py" store "$file"
            timed "$tmp/ours.$s" "${ours_cmd[@]}" "$file"
        fi
        if [ -n "$baseline" ]; then
            timed "$tmp/base.$s" "$baseline" replay --json "$file"
            timed "$tmp/ours.$s" "${ours_cmd[@]}" "$file"  # a second run of ours, right after the baseline's
        fi
        timed "$tmp/import.$s" "$py" "$shared/py_load.py" import
        if [ -n "$compact_flag" ]; then
            timed "$tmp/ourc.$s" "${ours_cmd[@]}" "$compact_flag" "$file"
            timed "$tmp/collect.$s" "$py" "$shared/py_load.py" collect "$file"
        fi
    done
    ours_s=$(grep -o '"wall": [0-9.]*' "$tmp/ours.$s.out" | awk '{print $2}' | median)
    ours_proc_s=$(awk '{print $1}' "$tmp/ours.$s" | median)
    ours_rss=$(awk '{print $2}' "$tmp/ours.$s" | median)
    ours_cpu=$(awk '{sub("%","",$3); print $3}' "$tmp/ours.$s" | median)
    anchor_s=$(grep -o '"load_s": [0-9.]*' "$tmp/anchor.$s.out" | awk '{print $2}' | median)
    anchor_rss=$(awk '{print $2}' "$tmp/anchor.$s" | median)
    # CPU seconds (user + sys): steadier than wall time on a loaded machine. The anchor's excludes
    # the median CPU of `py_load.py import` (interpreter start-up and `import rerun`).
    ours_cpu_s=$(awk '{print $4}' "$tmp/ours.$s" | median)
    import_cpu_s=$(awk '{print $4}' "$tmp/import.$s" | median)
    anchor_cpu_s=$(awk -v i="$import_cpu_s" '{print $4 - i}' "$tmp/anchor.$s" | median)
    chunks=$(grep -o '"chunks_in_store": [0-9]*' "$tmp/anchor.$s.out" | head -1 | awk '{print $2}')
    compact_cell="n/a (no --compact flag yet)"
    if [ -n "$compact_flag" ]; then
        oc=$(grep -o '"wall": [0-9.]*' "$tmp/ourc.$s.out" | awk '{print $2}' | median)
        cc=$(grep -o '"load_s": [0-9.]*' "$tmp/collect.$s.out" | awk '{print $2}' | median)
        compact_cell=$(awk -v a="$oc" -v b="$cc" 'BEGIN {printf "%.3f vs %.3f s (%.1f×)", a, b, b / a}')
    fi

    if [ -n "$baseline" ]; then
        base_s=$(grep -o '"wall": [0-9.]*' "$tmp/base.$s.out" | awk '{print $2}' | median)
        base_cpu=$(awk '{print $4}' "$tmp/base.$s" | median)
        base_rss=$(awk '{print $2}' "$tmp/base.$s" | median)
        before_after+=("$(awk -v s="${s}_$size" -v b="$base_s" -v o="$ours_s" -v bc="$base_cpu" -v oc="$ours_cpu_s" \
            -v br="$base_rss" -v orss="$ours_rss" 'BEGIN {
            printf "| %s | %.3f s | %.3f s | %.3f | %.2f s | %.2f s | %.3f | %.0f MB | %.0f MB |", s, b, o, o / b, bc, oc, oc / bc, br / 1024, orss / 1024 }')")
    fi

    # Ceilings: page-cache read (median of 3), LZ4 hot and retain (median of 3 each).
    : >"$tmp/read.$s"
    for _ in 1 2 3; do
        /usr/bin/time -f '%e' -o "$tmp/t" dd if="$file" of=/dev/null bs=4M status=none
        cat "$tmp/t" >>"$tmp/read.$s"
    done
    read_s=$(median <"$tmp/read.$s")
    "$py" "$shared/rrd_scan.py" --dump-lz4 "$tmp/lz4.dump" "$file" >/dev/null
    hot=$("$lz4_bin" "$tmp/lz4.dump" 3 hot)
    retain=$("$lz4_bin" "$tmp/lz4.dump" 3 retain)
    rm -f "$tmp/lz4.dump"
    hot_s=$(grep -o '"median_s": [0-9.]*' <<<"$hot" | awk '{print $2}')
    retain_s=$(grep -o '"median_s": [0-9.]*' <<<"$retain" | awk '{print $2}')
    ubytes=$(grep -o '"uncompressed": [0-9]*' <<<"$retain" | awk '{print $2}')

    rows+=("$(awk -v s="${s}_$size" -v mb="$bytes" -v ch="$chunks" -v ub="$ubytes" -v o="$ours_s" -v op="$ours_proc_s" -v a="$anchor_s" \
        -v orss="$ours_rss" -v arss="$anchor_rss" -v cpu="$ours_cpu" -v rd="$read_s" -v hot="$hot_s" -v ret="$retain_s" \
        -v cc="$compact_cell" -v oc="$ours_cpu_s" -v ac="$anchor_cpu_s" 'BEGIN {
        printf "| %s | %.0f MB | %d | %.0f MB | **%.3f s** | %.3f s | **%.2f×** | %.2f s (%.2f×) | %.2f / %.2f s (%.1f×) | %.0f MB | %.0f MB | %.0f%% | %.2f / %.2f / %.2f s | %.2f× | %s |",
            s, mb / 1e6, ch, ub / 1e6, o, a, a / o, op, a / op, oc, ac, (oc > 0 ? ac / oc : 0), orss / 1024, arss / 1024, cpu, rd, hot, ret, o / ret, cc }')")
done

machine="$(uname -sm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.0f GB RAM", $2 / 1048576}' /proc/meminfo)"
echo
echo "### \`ingest replay\` vs \`py_load.py store\` (rerun-sdk 0.41.0), $size files"
echo
echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on $machine; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo "Medians of $runs alternating runs. Ours: the in-process wall time \`ingest replay --json${keep_flag:+ $keep_flag}\` reports (release"
echo "build; the whole process, start-up included, in the next column); anchor: \`load_s\` of \`py_load.py store\` (interpreter"
echo "start-up and \`import rerun\` excluded). Ceilings: single thread."
echo "Reproduce: \`BENCH_VENV=… scripts/bench-compare.sh --size $size --runs $runs\`."
echo
echo "CPU column: user+sys seconds, ours vs the anchor's (minus \`py_load.py import\`), and their ratio; our CPU: share of one core over the wall time."
echo "CPU pressure (/proc/pressure/cpu, some avg60) at the end: $(awk '/^some/ {sub("avg60=", "", $3); print $3 "%"}' /proc/pressure/cpu 2>/dev/null || echo n/a)."
echo
echo "| file | size | chunks | uncompressed | ingest replay | anchor store | speed-up | whole process (speed-up) | CPU s ours / anchor | RSS ours | RSS anchor | our CPU | ceilings: read / LZ4 hot / LZ4 retain | ours ÷ retain | --compact vs collect |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
printf '%s\n' "${rows[@]}"
if [ -n "$baseline" ]; then
    echo
    echo "### Before / after: \`$baseline\` vs this build, same run, alternating"
    echo
    echo "| file | wall before | wall after | after/before | CPU before | CPU after | after/before | RSS before | RSS after |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${before_after[@]}"
fi
