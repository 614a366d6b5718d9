#!/bin/sh
# bench/offload/run.sh [BUILD_DIR] - GET /content/ latency while S3 is slow
# and tus uploads are running on the same server (README.md).  Run by hand,
# not by `make check`.
#
# Starts its own PostgreSQL, Redis and S3 test services on free loopback
# ports, a videoflix server with storage_s3 and 50 videos, logs one staff
# user in, and makes the S3 test proxy answer every PUT (UploadPart,
# PutObject) BENCH_S3_DELAY seconds late.  Then, BENCH_ROUNDS times in a
# row: wrk on GET /content/ alone (the baseline), and wrk on GET /content/
# while tus_load runs BENCH_UPLOADS concurrent tus uploads in chunks of
# BENCH_CHUNK MiB.  Prints the medians: p99 and requests/s of both, the
# ratio of the p99s, and how many chunks were stored (and refused with 503)
# meanwhile.  Target: p99 < 10 ms during the uploads.
#
# Environment: BENCH_THREADS (server.threads, 1: every request and every
# upload on one loop), BENCH_STORAGE_THREADS, BENCH_STORAGE_QUEUE (server
# settings; unset: their defaults, and not written, so that an older build
# without them can be measured too), BENCH_UPLOADS (8), BENCH_CHUNK (16),
# BENCH_S3_DELAY (2), BENCH_CONNECTIONS (8), BENCH_WRK_THREADS (1),
# BENCH_DURATION (10s), BENCH_ROUNDS (3), BENCH_ACCESS_LOG (true),
# BENCH_STANDIN_NICE (unset: a nice value for the S3 test services and the
# upload clients, which stand for other machines; on a busy machine it
# starves them, and the uploads barely move).
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/scripts/lib.sh"
. "$SRC/bench/lib.sh"

bench_build_dir "${1:-}"
command -v wrk >/dev/null || vf_die "wrk is not installed (apt-get install wrk)"
make -C "$BUILD" -s all bench/offload/tus_load >/dev/null || vf_die "build failed"
# The binary measured may come from another build (BENCH_SERVER_BUILD), e.g.
# one from before the storage pool, for comparison.
SERVER_BUILD=${BENCH_SERVER_BUILD:-$BUILD}

THREADS=${BENCH_THREADS:-1}
UPLOADS=${BENCH_UPLOADS:-8}
CHUNK=${BENCH_CHUNK:-16}
DELAY=${BENCH_S3_DELAY:-2}
CONNS=${BENCH_CONNECTIONS:-8}
WRK_THREADS=${BENCH_WRK_THREADS:-1}
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-3}
ACCESS_LOG=${BENCH_ACCESS_LOG:-true}
STANDIN_NICE=${BENCH_STANDIN_NICE:-}
storage_settings=""
[ -n "${BENCH_STORAGE_THREADS:-}" ] && storage_settings="storage_threads = $BENCH_STORAGE_THREADS;"
[ -n "${BENCH_STORAGE_QUEUE:-}" ] && storage_settings="$storage_settings storage_queue = $BENCH_STORAGE_QUEUE;"

bench_setup offload
load_pid=""
bench_cleanup_hook() {
    [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null && wait "$load_pid" 2>/dev/null
}

api_port=$(vf_free_port)
BUILD_SAVED=$BUILD
BUILD=$SERVER_BUILD   # the server, its plugins and migrations come from here
bench_services
bench_config "$api_port" "$THREADS" "$ACCESS_LOG" "$storage_settings"
bench_catalogue 50
bench_serve "$api_port" "$out/server.log"
BUILD=$BUILD_SAVED
printf 'delay %s UploadPart\ndelay %s PutObject\n' "$DELAY" "$DELAY" >"$VF_TEST_S3_CONTROL.tmp"
mv "$VF_TEST_S3_CONTROL.tmp" "$VF_TEST_S3_CONTROL"

url="http://127.0.0.1:$api_port/content/"
curl -s -H "$cookie" -o /dev/null -w '%{http_code}' "$url" | grep -q 200 || vf_die "/content/ did not answer 200"
wrk -t"$WRK_THREADS" -c"$CONNS" -d2s -H "$cookie" "$url" >/dev/null 2>&1   # warm-up

# loaded_run: one wrk run while the uploads go on; appends to load.runs and
# uploads.runs.
loaded_run() {
    rm -f "$state/ready"
    ${STANDIN_NICE:+nice -n "$STANDIN_NICE"} "$BUILD/bench/offload/tus_load" --base "http://127.0.0.1:$api_port" --cookie "vf_access=$token" \
        --uploads "$UPLOADS" --chunk "$CHUNK" --size $((CHUNK * 64)) --ready "$state/ready" \
        >"$state/load.out" 2>"$state/load.err" &
    load_pid=$!
    for _ in $(seq 1 600); do [ -f "$state/ready" ] && break; sleep 0.1; done
    [ -f "$state/ready" ] || { cat "$state/load.err" >&2; vf_die "the uploads did not start"; }
    sleep 1   # the first chunks are on their way
    before=$(awk '$1 == "delayed" { print $2 }' "$VF_TEST_S3_STATS")
    wrk_run "$WRK_THREADS" "$CONNS" "$DURATION" "$url" -H "$cookie" >>"$state/load.runs"
    after=$(awk '$1 == "delayed" { print $2 }' "$VF_TEST_S3_STATS")
    kill -TERM "$load_pid"
    wait "$load_pid"
    status=$?
    load_pid=""
    [ $status -eq 0 ] || { cat "$state/load.out" "$state/load.err" >&2; vf_die "an upload request failed"; }
    printf '%s %s\n' "$((after - before))" "$(cat "$state/load.out")" >>"$state/uploads.runs"
}

: >"$state/base.runs"
: >"$state/load.runs"
: >"$state/uploads.runs"
for _ in $(seq 1 "$ROUNDS"); do
    wrk_run "$WRK_THREADS" "$CONNS" "$DURATION" "$url" -H "$cookie" >>"$state/base.runs"
    loaded_run
done
base_rps=$(cut -d' ' -f1 "$state/base.runs" | median) base_p99=$(cut -d' ' -f2 "$state/base.runs" | median)
load_rps=$(cut -d' ' -f1 "$state/load.runs" | median) load_p99=$(cut -d' ' -f2 "$state/load.runs" | median)
bad=$(cat "$state/base.runs" "$state/load.runs" | awk '{ n += $3 } END { print n + 0 }')
puts=$(cut -d' ' -f1 "$state/uploads.runs" | median)
busy=$(awk '{ n += $5 } END { print n + 0 }' "$state/uploads.runs")
{
    printf '\n%s  %s, %s cores, load %s; server %s: %s HTTP thread(s)%s; %d uploads in %s MiB chunks, S3 PUTs answered %s s late; wrk -t%s -c%s, median of %s x %s; S3 and upload clients at nice %s\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -n)" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" \
        "$SERVER_BUILD" "$THREADS" "${storage_settings:+, $storage_settings}" "$UPLOADS" "$CHUNK" "$DELAY" \
        "$WRK_THREADS" "$CONNS" "$ROUNDS" "$DURATION" "${STANDIN_NICE:-0}"
    awk -v bp="$base_p99" -v br="$base_rps" -v lp="$load_p99" -v lr="$load_rps" -v puts="$puts" -v busy="$busy" \
        -v bad="$bad" 'BEGIN {
        printf "GET /content/ p99: alone %.2f ms (%d req/s) | during the uploads %.2f ms (%d req/s) | ratio %.2f | p99 < 10 ms during the uploads: %s | S3 PUTs per run %d, chunks refused with 503: %d%s\n",
            bp, br, lp, lr, (bp > 0 ? lp / bp : 0), (lp < 10 ? "met" : "MISSED"), puts, busy,
            (bad > 0 ? sprintf("  [%d non-2xx answers!]", bad) : "")
    }'
} | tee -a "$out/results.txt"
sed "s/^/  alone run:  /" "$state/base.runs" >>"$out/results.txt"
sed "s/^/  loaded run: /" "$state/load.runs" >>"$out/results.txt"
sed "s/^/  uploads (S3 PUTs, tus_load): /" "$state/uploads.runs" >>"$out/results.txt"
vf_log "results appended to $out/results.txt; the server's log is $out/server.log"
