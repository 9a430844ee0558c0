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
#
# Each label is run twice under cachegrind, with PASSES passes and with
# none; the difference divided by PASSES is the cost of one pass (the
# untimed acceptance run and start-up cancel out).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }
passes=${PASSES:-20}
bench=$(cargo bench --bench parse --no-run 2>&1 | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
[ -x "$bench" ] || { echo "could not find the parse bench binary" >&2; exit 1; }
if [ $# -eq 0 ]; then
  set -- "scratchify (typed)" "scratchify (nodes only)" "parse-dockerfile"
fi
count() {
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
    "$bench" --profile "$1" "$2" 2>&1 >/dev/null | sed -n 's/.*I *refs: *//p' | tr -d ,
}
echo "| parser | instructions per pass ($passes passes) |"
echo "|---|---:|"
for label in "$@"; do
  with=$(count "$label" "$passes")
  without=$(count "$label" 0)
  echo "| $label | $(( (with - without) / passes )) |"
done
