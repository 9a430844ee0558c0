#!/usr/bin/env bash
# Benchmark of the Debian store (a benchmark, not a test: no thresholds are
# enforced here). Prints:
#   * cold index load: resolving nginx with an empty cache (download,
#     verification, decompression and parsing of the release's Packages
#     indices), as MB/s of compressed download and of decompressed index;
#   * warm resolve: resolving nginx with the indices cached (target: under
#     50 ms), best and median of 20 runs, process start included.
#
# Usage: benches/resolve.sh [release] (default: bookworm). The repository
# comes from the host's apt sources (or SCRATCHIFY_DEBIAN_MIRROR).
set -euo pipefail
cd "$(dirname "$0")/.."
release="${1:-bookworm}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/scratchify"
cache="$(mktemp -d)"
trap 'rm -rf "$cache"' EXIT
export SCRATCHIFY_CACHE_DIR="$cache"

now() { date +%s.%N; }

t0=$(now)
"$bin" resolve --release "$release" --json nginx >"$cache/closure.json" 2>/dev/null
t1=$(now)
cold=$(echo "$t1 - $t0" | bc -l)
read -r compressed uncompressed < <(python3 - "$cache/closure.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
print(sum(i["packages_size"] for i in c["indices"]),
      sum(i["packages_uncompressed_size"] or 0 for i in c["indices"]))
PY
)
printf 'cold index load (%s): %.2f s; %.1f MB compressed (%.1f MB/s), %.1f MB decompressed (%.1f MB/s)\n' \
    "$release" "$cold" \
    "$(echo "$compressed / 1000000" | bc -l)" "$(echo "$compressed / 1000000 / $cold" | bc -l)" \
    "$(echo "$uncompressed / 1000000" | bc -l)" "$(echo "$uncompressed / 1000000 / $cold" | bc -l)"

times=()
for _ in $(seq 20); do
    t0=$(now)
    "$bin" resolve --release "$release" nginx >/dev/null 2>&1
    t1=$(now)
    times+=("$(echo "($t1 - $t0) * 1000" | bc -l)")
done
sorted=$(printf '%s\n' "${times[@]}" | sort -g)
best=$(echo "$sorted" | head -1)
median=$(echo "$sorted" | sed -n 10p)
printf 'warm resolve of nginx: best %.1f ms, median %.1f ms (target < 50 ms)\n' "$best" "$median"
