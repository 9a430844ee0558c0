#!/usr/bin/env bash
# Per corpus file: CPU instructions, mispredicted branches and L1
# instruction misses of one parse, for scratchify's typed parser and
# parse-dockerfile, counted by cachegrind (simulated caches and branch
# predictor), sorted by how many more instructions the typed parse runs.
# It shows which files the typed layer loses on: the common set's ratio
# is an average over shapes that differ a lot (see the top README).
#
#   benches/parse_files.sh                  # every file in benches/corpus
#   benches/parse_files.sh FILE...          # chosen files
#   PASSES=20 benches/parse_files.sh        # more passes per count
#
# Each file is parsed PASSES times and not at all; the difference over
# PASSES is one parse. Deterministic (machine load does not change it);
# slow: four valgrind runs per file.
set -euo pipefail
cd "$(dirname "$0")/.."
passes=${PASSES:-10}
source benches/parse_bench_binary.sh
[ $# -gt 0 ] || set -- benches/corpus/*.Dockerfile
count() { # label file passes -> instructions mispredicts L1i-misses
  valgrind --tool=cachegrind --cache-sim=yes --branch-sim=yes --cachegrind-out-file=/dev/null \
    "$bench" --profile-file "$1" "$2" "$3" 2>&1 >/dev/null | awk '
      /I *refs:/ { gsub(",", "", $4); i = $4 }
      /Mispredicts:/ { gsub(",", "", $3); m = $3 }
      /I1  misses:/ { gsub(",", "", $4); c = $4 }
      END { print i + 0, m + 0, c + 0 }'
}
echo "| file | bytes | typed instructions | parse-dockerfile instructions | ratio | typed mispredicts | parse-dockerfile mispredicts | typed L1i misses | parse-dockerfile L1i misses |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for file in "$@"; do
  row=()
  for label in "scratchify (typed)" "parse-dockerfile"; do
    read -r wi wm wc < <(count "$label" "$file" "$passes")
    read -r oi om oc < <(count "$label" "$file" 0)
    row+=($(( (wi - oi) / passes )) $(( (wm - om) / passes )) $(( (wc - oc) / passes )))
  done
  ratio=$(awk -v a="${row[0]}" -v b="${row[3]}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
  echo "$(( row[0] - row[3] )) | $(basename "$file") | $(wc -c < "$file") | ${row[0]} | ${row[3]} | $ratio | ${row[1]} | ${row[4]} | ${row[2]} | ${row[5]} |"
done | sort -t'|' -k1 -n -r | sed 's/^[-0-9]* | /| /'
