#!/usr/bin/env bash
# Benchmark of whole builds (a benchmark, not a test: no thresholds here).
# For each Debian example it prints, as a markdown table:
#   * the minimal image's size: compressed (layer blobs + config + manifest)
#     and uncompressed (the layers' tar bytes, what `docker images` counts);
#   * what `docker build` would have produced: a base-image estimate plus
#     the Installed-Size of apt's full closure of the Dockerfile's packages
#     on top of it, both from the release's Packages index. The base is the
#     set `debootstrap --variant=minbase` installs (every `Priority:
#     required` package, plus apt and usr-is-merged), resolved by apt-get
#     itself; its
#     Installed-Size over-counts debian:*-slim a little (the slim images
#     delete documentation and locales after installing);
#   * the ratio of the two (docker estimate / minimal uncompressed);
#   * the cold build time (empty download and layer caches: index download
#     and verification, .deb downloads, unpacking, slimming, layer
#     compression) and the warm one (same command again, everything cached).
#
# Usage: benches/examples.sh [EXAMPLE...] (default: nginx curl redis
# python-web). The repository is the one the host's apt sources name.
# Needs the network, apt-get and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
examples=("$@")
((${#examples[@]})) || examples=(nginx curl redis python-web)

cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release/scratchify"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }

# apt with private state: the release's lists, an empty dpkg status.
apt_state="$work/apt"
mkdir -p "$apt_state/lists/partial" "$apt_state/cache/archives/partial"
apt_opts=(-q "-oDir::State::Lists=$apt_state/lists" "-oDir::Cache=$apt_state/cache"
    -oDir::State::status=/dev/null -oDebug::NoLocking=true -oAPT::Architecture=amd64
    -oAPT::Sandbox::User=root)
LC_ALL=C apt-get "${apt_opts[@]}" update >/dev/null
LC_ALL=C apt-cache "${apt_opts[@]}" dumpavail >"$work/avail"

# Packages apt would install for `apt-get install --no-install-recommends
# ARGS` on an empty system, as `name version` lines.
apt_set() {
    LC_ALL=C apt-get "${apt_opts[@]}" install -s --no-install-recommends "$@" 2>/dev/null |
        awk '/^Inst /{ v=$3; gsub(/[()]/, "", v); print $2, v }' | sort -u
}

mapfile -t required < <(python3 - "$work/avail" <<'PY'
import sys
pkgs = set()
for para in open(sys.argv[1], encoding="utf-8", errors="replace").read().split("\n\n"):
    f = dict(l.split(": ", 1) for l in para.splitlines() if ": " in l and not l.startswith(" "))
    if f.get("Priority") == "required" and f.get("Architecture") in ("amd64", "all"):
        pkgs.add(f["Package"])
print("\n".join(sorted(pkgs)))
PY
)
# debootstrap installs usr-is-merged where it exists; left to itself apt
# would satisfy `usrmerge | usr-is-merged` with usrmerge, and perl with it.
base_extra=(apt)
grep -q '^Package: usr-is-merged$' "$work/avail" && base_extra+=(usr-is-merged)
apt_set "${required[@]}" "${base_extra[@]}" >"$work/base.set"

# Installed bytes of the packages in a set file (name version lines).
installed_bytes() {
    python3 - "$work/avail" "$1" <<'PY'
import sys
sizes = {}
for para in open(sys.argv[1], encoding="utf-8", errors="replace").read().split("\n\n"):
    f = dict(l.split(": ", 1) for l in para.splitlines() if ": " in l and not l.startswith(" "))
    if "Package" in f and "Installed-Size" in f:
        sizes[(f["Package"], f.get("Version", ""))] = int(f["Installed-Size"]) * 1024
total = 0
for line in open(sys.argv[2]):
    name, version = line.split()
    total += sizes.get((name, version), 0)
print(total)
PY
}
base_bytes=$(installed_bytes "$work/base.set")

# Compressed and uncompressed bytes of an oci-archive.
image_sizes() {
    python3 - "$1" <<'PY'
import gzip, json, sys, tarfile
t = tarfile.open(sys.argv[1])
blob = lambda d: t.extractfile("blobs/sha256/" + d.split(":", 1)[1]).read()
index = json.loads(t.extractfile("index.json").read())
mdesc = index["manifests"][0]
manifest = json.loads(blob(mdesc["digest"]))
compressed = mdesc["size"] + manifest["config"]["size"]
uncompressed = 0
for l in manifest["layers"]:
    compressed += l["size"]
    data = blob(l["digest"])
    if l["mediaType"].endswith("+zstd"):
        import subprocess
        data = subprocess.run(["zstd", "-dc"], input=data, capture_output=True, check=True).stdout
    else:
        data = gzip.decompress(data)
    uncompressed += len(data)
print(compressed, uncompressed)
PY
}

mb() { python3 -c "print(f'{$1/1e6:.1f} MB')"; }

echo "| example | minimal (compressed) | minimal (uncompressed) | docker build estimate (base + apt closure) | ratio | cold build | warm build |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for ex in "${examples[@]}"; do
    mapfile -t pkgs < <("$bin" plan --format json "examples/$ex/Dockerfile" 2>/dev/null |
        python3 -c 'import json,sys; print("\n".join(p["name"] for p in json.load(sys.stdin)["packages"] if p["ecosystem"]=="debian"))')
    apt_set "${required[@]}" "${base_extra[@]}" "${pkgs[@]}" >"$work/$ex.set"
    full=$(installed_bytes "$work/$ex.set")
    added=$((full - base_bytes))

    cache="$work/cache-$ex"
    mkdir -p "$cache"
    t0=$(now)
    SCRATCHIFY_CACHE_DIR="$cache" "$bin" build "examples/$ex" -o "$work/$ex.tar" >/dev/null 2>&1
    t1=$(now)
    SCRATCHIFY_CACHE_DIR="$cache" "$bin" build "examples/$ex" -o "$work/$ex.tar" >/dev/null 2>&1
    t2=$(now)
    read -r comp uncomp < <(image_sizes "$work/$ex.tar")
    printf '| %s | %s | %s | %s (%s + %s) | %.1fx | %.2f s | %.2f s |\n' \
        "$ex" "$(mb "$comp")" "$(mb "$uncomp")" \
        "$(mb "$full")" "$(mb "$base_bytes")" "$(mb "$added")" \
        "$(python3 -c "print($full/$uncomp)")" \
        "$(python3 -c "print($t1-$t0)")" "$(python3 -c "print($t2-$t1)")"
done
echo
echo "Base estimate: Installed-Size of the ${#required[@]} Priority: required packages plus ${base_extra[*]} ($(wc -l <"$work/base.set") packages with their dependencies) from the release's index; $(nproc) CPUs."
