#!/usr/bin/env bash
# `ingest query` answered from the footer manifest vs --full-read (the whole file through the pipeline),
# alternating in one run, on the bench recordings; checks that both print the same answer.
#   Tests/Benchmarks/query-manifest.sh [BIN=.build/release/ingest] [runs=5] [size=500mb]
# Prints per question: median wall (s), CPU (user+sys, s) and peak RSS (MB) of each, and the ratios;
# plus the manifest plan (chunks and bytes read).
set -euo pipefail
bin=${1:-.build/release/ingest}; runs=${2:-5}; size=${3:-500mb}
dir=/work/bench/rrd
med() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# shape|label|query arguments (entities and times from `ingest stats`/`ingest verify --json` of the files)
questions=(
  "scalars|latest-at|--entity /robot/arm0/joint0/signal --component Scalars:scalars --timeline frame --at 5000"
  "scalars|range|--entity /robot/arm7/joint3/signal --component Scalars:scalars --timeline frame --range=1000..1999"
  "mixed|latest-at|--entity /camera/rgb --component Image:format --timeline frame --at 2000"
  "mixed|range|--entity /metrics/m28 --component Scalars:scalars --timeline frame --range=100..400"
  "points|latest-at|--entity /sensors/lidar0/points --component Points3D:positions --timeline frame --at 50"
)
for q in "${questions[@]}"; do
  IFS='|' read -r shape label args <<<"$q"
  f=$dir/${shape}_$size.rrd; cat "$f" > /dev/null
  read -r -a a <<<"$args"
  : > $tmp/manifest; : > $tmp/full
  "$bin" query "$f" "${a[@]}" --json --plan > $tmp/out.manifest 2> $tmp/plan
  "$bin" query "$f" "${a[@]}" --json --full-read > $tmp/out.full 2>/dev/null
  cmp -s $tmp/out.manifest $tmp/out.full || { echo "$shape $label: answers differ" >&2; exit 1; }
  for ((i=1;i<=runs;i++)); do
    for which in manifest full; do
      if (( i % 2 == 0 )); then which=$([ $which = manifest ] && echo full || echo manifest); fi
      flag=$([ $which = full ] && echo --full-read || echo --json)
      t0=$(date +%s.%N)
      /usr/bin/time -f '%M %U %S' -o $tmp/rss "$bin" query "$f" "${a[@]}" --json $flag > /dev/null 2>&1
      t1=$(date +%s.%N)
      read -r rss us ss < $tmp/rss
      echo "$(echo "$t1 - $t0" | bc -l) $rss $(echo "$us + $ss" | bc -l)" >> $tmp/$which
    done
  done
  wm=$(awk '{print $1}' $tmp/manifest | med); wf=$(awk '{print $1}' $tmp/full | med)
  rm_=$(awk '{print $2}' $tmp/manifest | med); rf=$(awk '{print $2}' $tmp/full | med)
  cm=$(awk '{print $3}' $tmp/manifest | med); cf=$(awk '{print $3}' $tmp/full | med)
  printf '%-8s %-9s manifest %.3f s (cpu %.2f s, %d MB)  full-read %.3f s (cpu %.2f s, %d MB)  wall full/manifest %.1fx  %s\n' \
    "$shape" "$label" "$wm" "$cm" $((${rm_%.*}/1024)) "$wf" "$cf" $((${rf%.*}/1024)) "$(echo "$wf / $wm" | bc -l)" "$(cat $tmp/plan)"
done
