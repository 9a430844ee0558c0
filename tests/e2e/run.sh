#!/usr/bin/env bash
# The end-to-end tier: real images from the real Debian repository, run.
#
# For each Debian example (default: nginx curl redis python-web, or those
# named on the command line) this script
#   1. builds the image with `scratchify build` against the Debian repository
#      named by the host's apt sources (oci-archive);
#   2. checks that skopeo reads it, unpacks it with `umoci unpack`, and checks
#      the rootfs holds no shell and no package manager;
#   3. runs the image's entrypoint + cmd, as umoci's runtime config has them
#      (args, env, cwd, uid/gid from the image config), in bubblewrap with the
#      unpacked rootfs as `/`: a new user and pid namespace, the image's
#      uid/gid (bwrap is started as that uid, so files keep their real
#      ownership and permissions), fresh /proc and /dev, the host's network;
#   4. talks to it: nginx serves index.html on 127.0.0.1:8080 to the host's
#      curl; redis-server answers PING on 6379; curl prints its version and,
#      pointed at a TLS server on 127.0.0.1 with an unknown certificate,
#      fails *verification* (exit 60, having loaded its CA bundle) rather
#      than failing to load the bundle (exit 77); `python3 -m http.server`
#      serves the site on 8000.
# Every failure is collected and printed; the script exits 1 if there was
# any. A port already in use is a failure, not a skip. If bubblewrap cannot
# create its namespaces here, its exact error is printed and the run fails.
#
# Environment: SCRATCHIFY (the binary; default target/debug/scratchify),
# SCRATCHIFY_CACHE_DIR (shared download/layer cache), KEEP_WORK=1 keeps the
# work directory.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

SCRATCHIFY=${SCRATCHIFY:-$ROOT/target/debug/scratchify}
EXAMPLES=("$@")
((${#EXAMPLES[@]})) || EXAMPLES=(nginx curl redis python-web)

for tool in "$SCRATCHIFY" umoci skopeo bwrap setpriv jq curl openssl; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "e2e: missing $tool (tests/run installs skopeo, umoci, bubblewrap)" >&2
        exit 1
    fi
done

WORK=$(mktemp -d /tmp/scratchify-e2e.XXXXXX)
# The sandboxed process runs as the image's uid: it must reach the rootfs.
chmod 755 "$WORK"
PIDS=()
FAILURES=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    done
    if [[ ${KEEP_WORK:-} == 1 ]]; then
        echo "e2e: work directory kept: $WORK" >&2
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT

fail() {
    FAILURES+=("$1")
    echo "FAIL: $1" >&2
}

pass() {
    echo "ok: $1" >&2
}

port_free() {
    # A connection that succeeds means something already listens there.
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
        return 1
    fi
    return 0
}

# Names no minimal image may carry: shells, package managers.
FORBIDDEN=(sh bash dash busybox ash zsh apt apt-get apt-cache aptitude dpkg dpkg-deb dpkg-query apk rpm dnf yum microdnf)

check_rootfs() {
    local ex=$1 rootfs=$2 found name args=()
    for name in "${FORBIDDEN[@]}"; do
        ((${#args[@]})) && args+=(-o)
        args+=(-name "$name")
    done
    found=$(find "$rootfs" \( "${args[@]}" \) -not -type d -printf '/%P\n' | sort)
    if [[ -n $found ]]; then
        fail "$ex: the image carries a shell or package manager: $(echo $found)"
    else
        pass "$ex: no shell, no package manager"
    fi
}

# build EXAMPLE: build, inspect, unpack; sets BUNDLE.
build_and_unpack() {
    local ex=$1 out=$WORK/$ex.tar layout=$WORK/$ex-layout
    BUNDLE=$WORK/$ex-bundle
    if ! "$SCRATCHIFY" build "examples/$ex" -o "$out" -t "scratchify-e2e/$ex:latest" \
        >"$WORK/$ex.build.log" 2>&1; then
        fail "$ex: scratchify build failed:
$(cat "$WORK/$ex.build.log")"
        return 1
    fi
    tail -n 4 "$WORK/$ex.build.log" >&2
    if ! skopeo inspect "oci-archive:$out" >"$WORK/$ex.inspect.json" 2>"$WORK/$ex.skopeo.log"; then
        fail "$ex: skopeo inspect oci-archive: $(cat "$WORK/$ex.skopeo.log")"
        return 1
    fi
    if ! skopeo inspect "docker-archive:$out" >/dev/null 2>"$WORK/$ex.skopeo.log"; then
        fail "$ex: skopeo inspect docker-archive: $(cat "$WORK/$ex.skopeo.log")"
        return 1
    fi
    mkdir -p "$layout"
    tar -xf "$out" -C "$layout"
    local rootless=()
    ((EUID == 0)) || rootless=(--rootless)
    if ! umoci unpack "${rootless[@]}" --image "$layout:latest" "$BUNDLE" >"$WORK/$ex.umoci.log" 2>&1; then
        fail "$ex: umoci unpack: $(cat "$WORK/$ex.umoci.log")"
        return 1
    fi
    chmod 755 "$BUNDLE"
    # Mount points the runtime provides (runc creates them the same way).
    mkdir -p "$BUNDLE/rootfs/proc" "$BUNDLE/rootfs/dev"
    check_rootfs "$ex" "$BUNDLE/rootfs"
    return 0
}

# run_image BUNDLE LOG [ARG...]: start the image's entrypoint in bubblewrap,
# in the background (RUN_PID). Extra arguments replace the image's Cmd, as
# `docker run IMAGE ARG...` does.
run_image() {
    local bundle=$1 log=$2
    shift 2
    local cfg=$bundle/config.json uid gid cwd
    uid=$(jq -r '.process.user.uid' "$cfg")
    gid=$(jq -r '.process.user.gid' "$cfg")
    cwd=$(jq -r '.process.cwd' "$cfg")
    local -a argv env_args=()
    if (($#)); then
        # Entrypoint from the image config, then the given arguments.
        mapfile -t argv < <(jq -r '.config.Entrypoint // [] | .[]' "$bundle/image-config.json")
        argv+=("$@")
    else
        mapfile -t argv < <(jq -r '.process.args[]' "$cfg")
    fi
    local line
    while IFS= read -r line; do
        env_args+=(--setenv "${line%%=*}" "${line#*=}")
    done < <(jq -r '.process.env[]' "$cfg")
    # runc makes the container's stdio belong to its user; so do we.
    : >"$log"
    # As root, bwrap starts as the image's uid so files keep their owners;
    # otherwise (rootless unpack) the caller's files appear as that uid.
    local -a drop=()
    if ((EUID == 0)); then
        chown "$uid:$gid" "$log"
        drop=(setpriv --reuid="$uid" --regid="$gid" --clear-groups --)
    fi
    "${drop[@]}" bwrap --unshare-user --uid "$uid" --gid "$gid" \
        --bind "$bundle/rootfs" / --proc /proc --dev /dev \
        --unshare-pid --unshare-ipc --unshare-uts --die-with-parent \
        --clearenv "${env_args[@]}" --chdir "$cwd" -- "${argv[@]}" \
        >>"$log" 2>&1 </dev/null &
    RUN_PID=$!
    PIDS+=("$RUN_PID")
    echo "e2e: started uid=$uid gid=$gid cwd=$cwd argv=${argv[*]} (pid $RUN_PID)" >&2
}

stop() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# wait_http URL PID LOG: poll until URL answers or the process exits.
wait_http() {
    local url=$1 pid=$2 i
    for i in $(seq 1 100); do
        if curl -fsS -o /dev/null "$url" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.1
    done
    return 1
}

image_config() {
    # The image config (for its Entrypoint), from the layout.
    local ex=$1 layout=$WORK/$ex-layout manifest config
    manifest=$(jq -r '.manifests[0].digest' "$layout/index.json" | sed 's/sha256://')
    config=$(jq -r '.config.digest' "$layout/blobs/sha256/$manifest" | sed 's/sha256://')
    cp "$layout/blobs/sha256/$config" "$WORK/$ex-bundle/image-config.json"
}

test_nginx() {
    local ex=nginx log=$WORK/nginx.run.log body
    build_and_unpack $ex || return
    image_config $ex
    if ! port_free 8080; then
        fail "nginx: port 8080 on 127.0.0.1 is in use; the example listens there (free it and rerun)"
        return
    fi
    run_image "$BUNDLE" "$log"
    local pid=$RUN_PID
    if ! wait_http http://127.0.0.1:8080/ "$pid"; then
        fail "nginx: no HTTP answer on 127.0.0.1:8080; its output:
$(cat "$log")"
        stop "$pid"
        return
    fi
    body=$(curl -fsS http://127.0.0.1:8080/index.html)
    if [[ $body == "$(cat examples/nginx/index.html)" ]]; then
        pass "nginx: served index.html to the host's curl"
    else
        fail "nginx: /index.html differs from examples/nginx/index.html: $body"
    fi
    stop "$pid"
}

test_redis() {
    local ex=redis log=$WORK/redis.run.log reply=""
    build_and_unpack $ex || return
    image_config $ex
    if ! port_free 6379; then
        fail "redis: port 6379 on 127.0.0.1 is in use (free it and rerun)"
        return
    fi
    run_image "$BUNDLE" "$log"
    local pid=$RUN_PID i
    for i in $(seq 1 100); do
        if command -v redis-cli >/dev/null; then
            reply=$(redis-cli -h 127.0.0.1 -p 6379 PING 2>/dev/null) && [[ $reply == PONG ]] && break
        else
            reply=$( { exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 &&
                IFS= read -r -t 2 line <&3 && printf '%s' "${line%$'\r'}"; } 2>/dev/null) &&
                [[ $reply == +PONG ]] && break
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if [[ $reply == PONG || $reply == +PONG ]]; then
        pass "redis: PING answered $reply"
    else
        fail "redis: no PONG (got '${reply}'); its output:
$(cat "$log")"
    fi
    stop "$pid"
}

test_curl() {
    local ex=curl log=$WORK/curl.run.log pid rc bundle_file
    build_and_unpack $ex || return
    image_config $ex
    # The image's own command line: curl --version.
    run_image "$BUNDLE" "$log"
    pid=$RUN_PID
    wait "$pid"
    rc=$?
    if [[ $rc == 0 ]] && grep -q '^curl [0-9]' "$log" && grep -q 'Protocols:.* https' "$log"; then
        pass "curl: --version: $(head -n 1 "$log")"
    else
        fail "curl: --version exited $rc: $(cat "$log")"
    fi
    bundle_file=$BUNDLE/rootfs/etc/ssl/certs/ca-certificates.crt
    local certs
    certs=$(grep -c 'BEGIN CERTIFICATE' "$bundle_file" 2>/dev/null || echo 0)
    if ((certs > 100)); then
        pass "curl: CA bundle /etc/ssl/certs/ca-certificates.crt holds $certs certificates"
    else
        fail "curl: CA bundle missing or short ($certs certificates)"
    fi
    # A TLS server with a certificate no CA signed: curl must get as far as
    # verifying it, which needs its CA bundle loaded.
    local port
    for port in $(seq 18443 18499); do port_free "$port" && break; done
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 1 \
        -keyout "$WORK/tls.key" -out "$WORK/tls.crt" >/dev/null 2>&1
    openssl s_server -accept "127.0.0.1:$port" -cert "$WORK/tls.crt" -key "$WORK/tls.key" \
        -www -quiet >"$WORK/s_server.log" 2>&1 </dev/null &
    local server=$!
    PIDS+=("$server")
    local i
    for i in $(seq 1 50); do port_free "$port" || break; sleep 0.1; done
    run_image "$BUNDLE" "$log.tls" -v "https://127.0.0.1:$port/"
    pid=$RUN_PID
    wait "$pid"
    rc=$?
    if [[ $rc == 60 ]] && grep -q 'CAfile: /etc/ssl/certs/ca-certificates.crt' "$log.tls"; then
        pass "curl: loaded /etc/ssl/certs/ca-certificates.crt and refused the unknown certificate (exit 60)"
    else
        fail "curl: TLS check exited $rc (want 60: verification failed after loading the CA bundle):
$(cat "$log.tls")"
    fi
    stop "$server"
}

test_python_web() {
    local ex=python-web log=$WORK/python-web.run.log body
    build_and_unpack $ex || return
    image_config $ex
    if ! port_free 8000; then
        fail "python-web: port 8000 on 127.0.0.1 is in use (free it and rerun)"
        return
    fi
    run_image "$BUNDLE" "$log"
    local pid=$RUN_PID
    if ! wait_http http://127.0.0.1:8000/ "$pid"; then
        fail "python-web: no HTTP answer on 127.0.0.1:8000; its output:
$(cat "$log")"
        stop "$pid"
        return
    fi
    body=$(curl -fsS http://127.0.0.1:8000/index.html)
    if [[ $body == "$(cat examples/python-web/site/index.html)" ]]; then
        pass "python-web: http.server served /site/index.html"
    else
        fail "python-web: /index.html differs from examples/python-web/site/index.html: $body"
    fi
    stop "$pid"
}

# bubblewrap must work here; say exactly why if it does not.
DROP=()
((EUID == 0)) && DROP=(setpriv --reuid=65534 --regid=65534 --clear-groups --)
if ! bwrap_err=$("${DROP[@]}" \
    bwrap --unshare-user --uid 65534 --gid 65534 --ro-bind / / --proc /proc --dev /dev \
    --unshare-pid -- /bin/true 2>&1); then
    echo "e2e: bubblewrap cannot create its sandbox here: $bwrap_err" >&2
    exit 1
fi

for ex in "${EXAMPLES[@]}"; do
    echo "== $ex" >&2
    case $ex in
    nginx) test_nginx ;;
    redis) test_redis ;;
    curl) test_curl ;;
    python-web) test_python_web ;;
    *) fail "$ex: no end-to-end test for this example" ;;
    esac
done

if ((${#FAILURES[@]})); then
    echo >&2
    echo "e2e: ${#FAILURES[@]} failure(s):" >&2
    printf '  - %s\n' "${FAILURES[@]}" >&2
    exit 1
fi
echo "e2e: all ${#EXAMPLES[@]} examples built, unpacked and ran" >&2
