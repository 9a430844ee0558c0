#!/usr/bin/env bash
# Instructions per pass of each parser of benches/parse.rs over its common
# file set, counted by cachegrind: a deterministic companion to the timed
# benchmark (machine load does not change it), for judging a change to the
# parser before a timed run. Not a replacement for the timed run: the
# target is wall time, and instruction counts ignore cache misses and
# instruction-level parallelism.
#
#   benches/parse_instructions.sh                      # the three parsers
#   benches/parse_instructions.sh "scratchify (typed)" # chosen labels
#   PASSES=50 benches/parse_instructions.sh            # more passes per count
#   SIM=1 benches/parse_instructions.sh                # also mispredicted
#                                                      # branches, L1 data
#                                                      # misses and L1
#                                                      # instruction misses
#                                                      # (simulated)
#
# Each label is run twice under cachegrind, with PASSES passes and with
# none; the difference divided by PASSES is the cost of one pass (the
# untimed acceptance run and start-up cancel out).
set -euo pipefail
cd "$(dirname "$0")/.."
passes=${PASSES:-20}
source benches/parse_bench_binary.sh
if [ $# -eq 0 ]; then
  set -- "scratchify (typed)" "scratchify (nodes only)" "scratchify (lines only)" "parse-dockerfile"
fi
sim=${SIM:-0}
if [ "$sim" = 1 ]; then
  flags=(--cache-sim=yes --branch-sim=yes)
else
  flags=(--cache-sim=no)
fi
# One line of four numbers: instructions, mispredicted branches, L1 data
# misses, L1 instruction misses (the last three 0 without SIM=1).
count() {
  valgrind --tool=cachegrind "${flags[@]}" --cachegrind-out-file=/dev/null \
    "$bench" --profile "$1" "$2" 2>&1 >/dev/null | awk '
      /I *refs:/ { gsub(",", "", $4); i = $4 }
      /Mispredicts:/ { gsub(",", "", $3); m = $3 }
      /D1  misses:/ { gsub(",", "", $4); d = $4 }
      /I1  misses:/ { gsub(",", "", $4); c = $4 }
      END { print i + 0, m + 0, d + 0, c + 0 }'
}
if [ "$sim" = 1 ]; then
  echo "| parser | instructions per pass ($passes passes) | mispredicted branches per pass | L1 data misses per pass | L1 instruction misses per pass |"
  echo "|---|---:|---:|---:|---:|"
else
  echo "| parser | instructions per pass ($passes passes) |"
  echo "|---|---:|"
fi
for label in "$@"; do
  read -r wi wm wd wc < <(count "$label" "$passes")
  read -r oi om od oc < <(count "$label" 0)
  if [ "$sim" = 1 ]; then
    echo "| $label | $(( (wi - oi) / passes )) | $(( (wm - om) / passes )) | $(( (wd - od) / passes )) | $(( (wc - oc) / passes )) |"
  else
    echo "| $label | $(( (wi - oi) / passes )) |"
  fi
done
