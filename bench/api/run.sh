#!/bin/sh
# bench/api/run.sh [BUILD_DIR] - throughput and tail latency of the API under
# wrk, against a bare evhttp server (bare_server.c) that uses the same number
# of threads and answers the same bytes from memory.  Run by hand, not by
# `make check`; see bench/api/README.md.
#
# Starts its own PostgreSQL, Redis and S3 test server (tests/services/s3) on
# free loopback ports, a videoflix server with storage_s3 (presigned URLs),
# 50 videos, one logged-in user; then, for GET /content/ and for
# GET /content/video-url/<id>/?quality=720p, runs wrk against videoflix and
# against the bare server and prints requests/s, p99 latency and the ratio.
#
# Environment: BENCH_CONNECTIONS (64), BENCH_DURATION (10s per run),
# BENCH_ROUNDS (3 runs of each server, medians compared), BENCH_THREADS
# (server threads, default: server.threads' default, one per core),
# BENCH_WRK_THREADS (nproc), BENCH_ACCESS_LOG (true), BENCH_BARE_NODELAY (1;
# 1 gives the bare server TCP_NODELAY, as videoflix sets it; 0 leaves it out).
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/scripts/lib.sh"
. "$SRC/bench/lib.sh"

bench_build_dir "${1:-}"
[ -x "$BUILD/videoflix" ] || vf_die "no videoflix binary in $BUILD: build first (scripts/test.sh, or configure && make)"
[ -f "$BUILD/plugins/.libs/storage_s3.so" ] || vf_die "storage_s3.so is not built in $BUILD/plugins/.libs"
command -v wrk >/dev/null || vf_die "wrk is not installed (apt-get install wrk)"
[ -x "$SRC/tests/services/s3/start.sh" ] || vf_die "tests/services/s3/start.sh is missing"

CONNS=${BENCH_CONNECTIONS:-64}
DURATION=${BENCH_DURATION:-10s}
THREADS=${BENCH_THREADS:-$(nproc)}
WRK_THREADS=${BENCH_WRK_THREADS:-$(nproc)}
ACCESS_LOG=${BENCH_ACCESS_LOG:-true}
ROUNDS=${BENCH_ROUNDS:-3}
nodelay=""
[ "${BENCH_BARE_NODELAY:-1}" = 1 ] && nodelay=nodelay
VIDEOS=50

bench_setup api   # build products and results stay out of the source tree
bare_pid=""
bench_cleanup_hook() {
    [ -n "$bare_pid" ] && kill "$bare_pid" 2>/dev/null && wait "$bare_pid" 2>/dev/null
}

# ------------------------------------------------------------- services
vf_log "building the bare server"
cc -O2 -o "$out/bare_server" "$SRC/bench/api/bare_server.c" \
    $(pkg-config --cflags --libs libevent libevent_pthreads) -lpthread || vf_die "cannot build bare_server"

api_port=$(vf_free_port)
bare_port=$(vf_free_port)
bench_services
bench_config "$api_port" "$THREADS" "$ACCESS_LOG"
bench_catalogue "$VIDEOS"
bench_serve "$api_port" "$out/server.log"

# ---------------------------------------------------------------- runs
# bench NAME PATH TARGET_RATIO: ROUNDS alternating runs of videoflix and the
# bare server (so that a burst of other load on the machine hits both),
# after a warm-up of each; the medians are compared.
bench() {
    name=$1 path=$2 target=$3
    body="$state/$name.body"
    curl -s -H "$cookie" -o "$body" -w '%{http_code}' "http://127.0.0.1:$api_port$path" | grep -q 200 ||
        vf_die "$path did not answer 200"
    "$out/bare_server" "$bare_port" "$THREADS" "$body" $nodelay 2>/dev/null &
    bare_pid=$!
    for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$bare_port$path" && break; sleep 0.1; done
    api_url="http://127.0.0.1:$api_port$path" bare_url="http://127.0.0.1:$bare_port$path"
    wrk -t"$WRK_THREADS" -c"$CONNS" -d2s -H "$cookie" "$api_url" >/dev/null 2>&1
    wrk -t"$WRK_THREADS" -c"$CONNS" -d2s -H "$cookie" "$bare_url" >/dev/null 2>&1
    : >"$state/api.runs"
    : >"$state/bare.runs"
    for _ in $(seq 1 "$ROUNDS"); do
        wrk_run "$WRK_THREADS" "$CONNS" "$DURATION" "$api_url" -H "$cookie" >>"$state/api.runs"
        wrk_run "$WRK_THREADS" "$CONNS" "$DURATION" "$bare_url" -H "$cookie" >>"$state/bare.runs"
    done
    kill "$bare_pid" && wait "$bare_pid" 2>/dev/null
    bare_pid=""
    api_rps=$(cut -d' ' -f1 "$state/api.runs" | median) api_p99=$(cut -d' ' -f2 "$state/api.runs" | median)
    bare_rps=$(cut -d' ' -f1 "$state/bare.runs" | median) bare_p99=$(cut -d' ' -f2 "$state/bare.runs" | median)
    api_bad=$(awk '{ n += $3 } END { print n + 0 }' "$state/api.runs")
    awk -v n="$name" -v b="$(wc -c <"$body")" -v ar="$api_rps" -v ap="$api_p99" -v br="$bare_rps" -v bp="$bare_p99" \
        -v t="$target" -v bad="$api_bad" 'BEGIN {
        ratio = br > 0 ? ar / br : 0
        printf "%-10s %7d B  videoflix %8d req/s  p99 %6.2f ms | bare %8d req/s  p99 %6.2f ms | ratio %.2f (target >= %.1f: %s; p99 < 10 ms: %s)%s\n",
            n, b, ar, ap, br, bp, ratio, t, (ratio >= t ? "met" : "MISSED"), (ap < 10 ? "met" : "MISSED"),
            (bad > 0 ? sprintf("  [%d non-2xx answers!]", bad) : "")
    }' | tee -a "$out/results.txt"
    sed "s/^/  videoflix run: /" "$state/api.runs" >>"$out/results.txt"
    sed "s/^/  bare run:      /" "$state/bare.runs" >>"$out/results.txt"
}

# bench_coding CODING: GET /content/ compressed (Accept-Encoding: CODING)
# against the same list uncompressed, on videoflix both, alternating; the
# goals: at most 0.2 of the bytes, and at least 0.9 of the requests/s.
bench_coding() {
    coding=$1
    url="http://127.0.0.1:$api_port/content/"
    plain_bytes=$(curl -s -H "$cookie" "$url" | wc -c)
    coded_bytes=$(curl -s -H "$cookie" -H "Accept-Encoding: $coding" "$url" | wc -c)
    got=$(curl -s -o /dev/null -D - -H "$cookie" -H "Accept-Encoding: $coding" "$url" | tr -d '\r' |
        awk -F': ' 'tolower($1) == "content-encoding" { print $2 }')
    [ "$got" = "$coding" ] || vf_die "/content/ with Accept-Encoding: $coding answered Content-Encoding: ${got:-none}"
    wrk -t"$WRK_THREADS" -c"$CONNS" -d2s -H "$cookie" -H "Accept-Encoding: $coding" "$url" >/dev/null 2>&1
    : >"$state/plain.runs"
    : >"$state/coded.runs"
    for _ in $(seq 1 "$ROUNDS"); do
        wrk_run "$WRK_THREADS" "$CONNS" "$DURATION" "$url" -H "$cookie" >>"$state/plain.runs"
        wrk_run "$WRK_THREADS" "$CONNS" "$DURATION" "$url" -H "$cookie" -H "Accept-Encoding: $coding" \
            >>"$state/coded.runs"
    done
    plain_rps=$(cut -d' ' -f1 "$state/plain.runs" | median) coded_rps=$(cut -d' ' -f1 "$state/coded.runs" | median)
    coded_p99=$(cut -d' ' -f2 "$state/coded.runs" | median)
    awk -v c="$coding" -v pb="$plain_bytes" -v cb="$coded_bytes" -v pr="$plain_rps" -v cr="$coded_rps" \
        -v cp="$coded_p99" 'BEGIN {
        b = pb > 0 ? cb / pb : 0; r = pr > 0 ? cr / pr : 0
        printf "content-%-4s %7d B of %d: bytes %.3f (target <= 0.2: %s) | %8d req/s against %d uncompressed: %.2f (target >= 0.9: %s) | p99 %.2f ms\n",
            c, cb, pb, b, (b <= 0.2 ? "met" : "MISSED"), cr, pr, r, (r >= 0.9 ? "met" : "MISSED"), cp
    }' | tee -a "$out/results.txt"
    sed "s/^/  uncompressed run: /" "$state/plain.runs" >>"$out/results.txt"
    sed "s/^/  $coding run: /" "$state/coded.runs" >>"$out/results.txt"
}

{
    printf '\n%s  %s, load %s, %d server threads, wrk -t%d -c%d, median of %d x %s, %d videos, storage_s3 presigning, access log %s%s\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -n)" "$(cut -d' ' -f1 /proc/loadavg)" "$THREADS" "$WRK_THREADS" \
        "$CONNS" "$ROUNDS" "$DURATION" "$VIDEOS" "$ACCESS_LOG" "${nodelay:+, bare server with TCP_NODELAY}"
} | tee -a "$out/results.txt"
bench content "/content/" 0.5
bench video-url "/content/video-url/$video_id/?quality=720p" 0.6
bench_coding br
bench_coding gzip
vf_log "results appended to $out/results.txt"
