#!/usr/bin/env bash
# Layer writing speed: scratchify's gzip layers vs `tar -c | pigz -p N`, side
# by side on the same machine, the same ~300 MB rootfs and the same number of
# threads; plus the rebuild-after-one-COPY-change time. Not a test: it prints
# numbers and the ratios, it asserts nothing.
#
# Both wall-clock and CPU time (user + system, all threads and processes)
# are reported: on a shared machine the wall clock mostly measures the other
# load, CPU time measures the work.
#
#   benches/layer_gzip.sh [THREADS] [SIZE_MB]
#
# The rootfs is real data: files copied from this machine's /usr (binaries,
# libraries, docs), so compressibility is that of a real image. THREADS
# defaults to nproc; both sides use it (scratchify: a rayon pool of THREADS;
# pigz: -p THREADS). Both use gzip level 6. Each side runs twice after a
# warm-up read, the best time counts.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=${1:-$(nproc)}
size_mb=${2:-300}

if ! command -v pigz >/dev/null; then
    echo "layer_gzip.sh: installing pigz" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pigz >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/layer-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
mkdir -p "$rootfs"

# Copy whole /usr subdirectories (sorted, so every run picks the same ones)
# until SIZE_MB is reached.
limit=$((size_mb * 1024 * 1024))
copied=0
while IFS= read -r dir; do
    [ "$copied" -ge "$limit" ] && break
    sz=$(du -sb "$dir" 2>/dev/null | cut -f1)
    [ -z "$sz" ] && continue
    [ $((copied + sz)) -gt $((limit + limit / 5)) ] && continue
    mkdir -p "$rootfs$(dirname "$dir")"
    cp -a "$dir" "$rootfs$(dirname "$dir")/" 2>/dev/null || true
    copied=$((copied + sz))
done < <(find /usr/lib /usr/share /usr/bin /usr/libexec -mindepth 1 -maxdepth 2 -type d 2>/dev/null | LC_ALL=C sort)
actual=$(du -sb "$rootfs" | cut -f1)
echo "rootfs: $((actual / 1024 / 1024)) MiB of real files from /usr, threads: $threads"

# Build the driver first so compiling is not timed.
cargo test --release --bench layer_gzip --no-run -q 2>/dev/null

tar -C "$rootfs" -cf - . | cat >/dev/null   # warm the page cache (GNU tar skips reading when writing to /dev/null itself)

best_ours=""
for run in 1 2; do
    out=$(LAYER_BENCH_ROOTFS="$rootfs" LAYER_BENCH_THREADS="$threads" LAYER_BENCH_WORK="$work" \
        cargo test --release -q --bench layer_gzip -- --ignored --nocapture --test-threads 1 2>/dev/null)
    cold=$(sed -n 's/^COLD_SECONDS=//p' <<<"$out")
    if [ -z "$best_ours" ] || awk "BEGIN{exit !($cold < $best_ours)}"; then
        best_ours=$cold
        ours_out=$out
    fi
done
ours_cpu=$(sed -n 's/^COLD_CPU_SECONDS=//p' <<<"$ours_out")

best_pigz=""
TIMEFORMAT='%R %U %S'
for run in 1 2; do
    t=$( { time (tar -C "$rootfs" -cf - . | pigz -6 -p "$threads" >"$work/pigz.tar.gz"); } 2>&1 )
    read -r real user sys <<<"$t"
    if [ -z "$best_pigz" ] || awk "BEGIN{exit !($real < $best_pigz)}"; then
        best_pigz=$real
        pigz_cpu=$(awk "BEGIN{printf \"%.3f\", $user + $sys}")
    fi
done
pigz_bytes=$(stat -c %s "$work/pigz.tar.gz")

layers=$(sed -n 's/^LAYERS=//p' <<<"$ours_out")
ours_bytes=$(sed -n 's/^COMPRESSED_BYTES=//p' <<<"$ours_out")
rebuild=$(sed -n 's/^REBUILD_SECONDS=//p' <<<"$ours_out")
rebuild_cpu=$(sed -n 's/^REBUILD_CPU_SECONDS=//p' <<<"$ours_out")
hits=$(sed -n 's/^REBUILD_CACHE_HITS=//p' <<<"$ours_out")

printf '%-46s %9s %9s %9s\n' "" "wall (s)" "CPU (s)" "MiB out"
printf '%-46s %9s %9s %9s\n' "scratchify gzip layers ($layers layers, 2x sha256)" "$best_ours" "$ours_cpu" "$((ours_bytes / 1024 / 1024))"
printf '%-46s %9s %9s %9s\n' "tar -c | pigz -6 -p $threads" "$best_pigz" "$pigz_cpu" "$((pigz_bytes / 1024 / 1024))"
awk "BEGIN{printf \"ratio scratchify/pigz: wall %.2f, CPU %.2f (<= 1.00: at least as fast)\n\", $best_ours / $best_pigz, $ours_cpu / $pigz_cpu}"
awk "BEGIN{printf \"rebuild after one COPY change: %ss wall, %ss CPU = %.1f%% of the cold wall time (cache hits %s)\n\", $rebuild, $rebuild_cpu, 100 * $rebuild / $best_ours, \"$hits\"}"
echo "(load average: $(cut -d' ' -f1-3 /proc/loadavg); other processes on the machine skew wall times)"
