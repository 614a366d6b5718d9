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

BUILD=${1:-${VF_BUILD:-$SRC/build}}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || vf_die "no build directory ${1:-${VF_BUILD:-$SRC/build}}"
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

out="$BUILD/bench/api"   # build products and results stay out of the source tree
mkdir -p "$out"
state=$(mktemp -d "${TMPDIR:-/tmp}/videoflix-bench.XXXXXX")
chmod 755 "$state"
api_pid="" bare_pid=""
cleanup() {
    [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
    [ -n "$bare_pid" ] && kill "$bare_pid" 2>/dev/null && wait "$bare_pid" 2>/dev/null
    "$SRC/tests/services/s3/stop.sh" "$state/s3" >/dev/null 2>&1
    vf_redis_stop "$state/redis"
    vf_pg_stop "$state/pg"
    rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------- services
vf_log "building the bare server"
cc -O2 -o "$out/bare_server" "$SRC/bench/api/bare_server.c" \
    $(pkg-config --cflags --libs libevent libevent_pthreads) -lpthread || vf_die "cannot build bare_server"

pg_port=$(vf_free_port)
redis_port=$(vf_free_port)
api_port=$(vf_free_port)
bare_port=$(vf_free_port)
VF_PG_FSYNC=off vf_pg_start "$state/pg" "$pg_port"
vf_redis_start "$state/redis" "$redis_port"
mkdir -p "$state/s3"
s3env=$("$SRC/tests/services/s3/start.sh" "$state/s3") || vf_die "the S3 test server did not start"
for line in $s3env; do export "$line"; done

cat >"$state/videoflix.conf" <<EOF
log = { level = "info"; };
server = { port = $api_port; threads = $THREADS; access_log = $ACCESS_LOG;
           public_origin = "http://127.0.0.1:$api_port"; };
database = { conninfo = "host=127.0.0.1 port=$pg_port user=videoflix dbname=videoflix";
             migrations_dir = "$SRC/sql"; };
redis = { port = $redis_port; };
plugins = { dir = "$BUILD/plugins/.libs"; };
storage = { plugin = "storage_s3"; settings = {
    bucket = "$VF_TEST_S3_BUCKET"; region = "$VF_TEST_S3_REGION"; endpoint = "$VF_TEST_S3_ENDPOINT";
    access_key_id = "$VF_TEST_S3_ACCESS_KEY"; secret_access_key = "$VF_TEST_S3_SECRET_KEY"; }; };
auth = { secret_key = "$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"; access_ttl = 3600; };
ratelimit = { login_limit = 1000; };
mail = { transport = "file"; dir = "$state/mail"; templates_dir = "$SRC/templates"; };
EOF
vf=$BUILD/videoflix
"$vf" --config "$state/videoflix.conf" migrate >/dev/null 2>"$state/migrate.log" ||
    { cat "$state/migrate.log" >&2; vf_die "migrate failed"; }
BENCH_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export BENCH_PASSWORD
"$vf" --config "$state/videoflix.conf" createsuperuser --email bench@example.com --username bench \
    --password-env BENCH_PASSWORD >/dev/null || vf_die "createsuperuser failed"

psql="$(vf_pg_bindir)/psql -q -h 127.0.0.1 -p $pg_port -U videoflix -d videoflix -v ON_ERROR_STOP=1"
$psql <<EOF || vf_die "cannot insert the videos"
INSERT INTO videos (title, description, category, source_key, thumbnail_key, processing_state,
                    processing_progress, created_at)
SELECT 'Bench video ' || i,
       'Video number ' || i || ' of the benchmark: a description about as long as a real one, '
       || 'so that the list weighs what the frontend will really fetch.',
       (ARRAY['Action', 'Drama', 'Comedy', 'Documentary', 'Science fiction'])[1 + i % 5],
       'videos/' || i || '/source/1.mp4', 'videos/' || i || '/thumbnail.jpg', 'ready', 100,
       now() - i * interval '1 hour'
FROM generate_series(1, $VIDEOS) AS i;
INSERT INTO video_renditions (video_id, quality, storage_key, generation)
SELECT v.id, q, 'videos/' || v.id || '/1/' || q || '.mp4', 1
FROM videos v, unnest(ARRAY['120p', '360p', '720p', '1080p']) AS q;
EOF
video_id=$($psql -tAc "SELECT max(id) FROM videos")

"$vf" --config "$state/videoflix.conf" serve 2>"$out/server.log" &
api_pid=$!
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$api_port/health/" && break; sleep 0.1; done

token=$(curl -s -o /dev/null -c - -H 'Content-Type: application/json' \
    -d "{\"email\": \"bench@example.com\", \"password\": \"$BENCH_PASSWORD\"}" \
    "http://127.0.0.1:$api_port/users/login/" | awk '$6 == "vf_access" { print $7 }')
[ -n "$token" ] || vf_die "login failed (see $out/server.log)"
cookie="Cookie: vf_access=$token"

# ---------------------------------------------------------------- runs
# wrk_run URL [HEADER]: "requests/s p99_ms non_2xx" of one measured run.
wrk_run() {
    url=$1
    shift
    wrk -t"$WRK_THREADS" -c"$CONNS" -d"$DURATION" --latency "$@" "$url" >"$state/wrk.txt" 2>&1
    awk '
        function ms(v) {
            if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
            if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
            if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
            return v
        }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { bad = $NF }
        END { printf "%.0f %.2f %d\n", rps, p99, bad }' "$state/wrk.txt"
}

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

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
        wrk_run "$api_url" -H "$cookie" >>"$state/api.runs"
        wrk_run "$bare_url" -H "$cookie" >>"$state/bare.runs"
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

{
    printf '\n%s  %s, load %s, %d server threads, wrk -t%d -c%d, median of %d x %s, %d videos, storage_s3 presigning, access log %s%s\n' \
        "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -n)" "$(cut -d' ' -f1 /proc/loadavg)" "$THREADS" "$WRK_THREADS" \
        "$CONNS" "$ROUNDS" "$DURATION" "$VIDEOS" "$ACCESS_LOG" "${nodelay:+, bare server with TCP_NODELAY}"
} | tee -a "$out/results.txt"
bench content "/content/" 0.5
bench video-url "/content/video-url/$video_id/?quality=720p" 0.6
vf_log "results appended to $out/results.txt"
