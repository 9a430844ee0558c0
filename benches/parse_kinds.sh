#!/usr/bin/env bash
# CPU instructions per Dockerfile instruction, by kind of instruction, for
# scratchify's typed and nodes-only parsers and parse-dockerfile: where the
# typed layer spends more than a plain syntax tree does.
#
#   benches/parse_kinds.sh            # every kind below
#   benches/parse_kinds.sh env mount  # chosen kinds
#
# Each kind is a generated Dockerfile of 100 stages, each a `FROM alpine`
# and 20 copies of the instruction (stages of a realistic size, so that the
# stage vectors grow as they do in real files). It is parsed PASSES times
# and not at all under cachegrind; the difference, over PASSES and the
# 2000 instructions, is the cost of one instruction plus a twentieth of a
# FROM. Deterministic (machine load does not change it), so it can judge a
# change to one kind's path before a timed run.
set -euo pipefail
cd "$(dirname "$0")/.."
passes=${PASSES:-5}
source benches/parse_bench_binary.sh
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

declare -A kinds=(
  [workdir]='WORKDIR /app'
  [env]='ENV A=1'
  [env3]='ENV A=1 B=two C=three'
  [arg]='ARG VERSION=1.0'
  [run]='RUN apt-get update && apt-get install -y curl'
  [run-lines]=$'RUN set -eux; \\\n    apt-get update; \\\n    apt-get install -y curl ca-certificates; \\\n    rm -rf /var/lib/apt/lists/*'
  [mount]='RUN --mount=type=cache,target=/root/.cache go build ./...'
  [copy]='COPY app /app'
  [copy-from]='COPY --from=build /out/app /usr/local/bin/app'
  [cmd-json]='CMD ["nginx", "-g", "daemon off;"]'
)
order=(workdir env env3 arg run run-lines mount copy copy-from cmd-json)
[ $# -gt 0 ] && order=("$@")

count() { # label file passes -> instructions
  valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
    "$bench" --profile-file "$1" "$2" "$3" 2>&1 >/dev/null | awk '/I *refs:/ { gsub(",", "", $4); print $4 }'
}
labels=("scratchify (typed)" "scratchify (nodes only)" "parse-dockerfile")
echo "| instruction | typed | nodes only | parse-dockerfile | typed ÷ parse-dockerfile |"
echo "|---|---:|---:|---:|---:|"
for kind in "${order[@]}"; do
  line=${kinds[$kind]:?unknown kind $kind}
  file="$dir/$kind.Dockerfile"
  for _ in $(seq 100); do printf 'FROM alpine\n'; for _ in $(seq 20); do printf '%s\n' "$line"; done; done > "$file"
  row=()
  for label in "${labels[@]}"; do
    with=$(count "$label" "$file" "$passes")
    without=$(count "$label" "$file" 0)
    row+=($(( (with - without) / passes / 2000 )))
  done
  ratio=$(awk -v a="${row[0]}" -v b="${row[2]}" 'BEGIN { printf "%.1f", a / b }')
  echo "| \`${line%%$'\n'*}\`$( [ "$kind" = run-lines ] && echo ' (4 lines)') | ${row[0]} | ${row[1]} | ${row[2]} | $ratio |"
done
