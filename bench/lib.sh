# bench/lib.sh - what the benchmark scripts (bench/api, bench/offload,
# bench/upload) share: a results folder and a temporary directory cleaned up
# at exit, throwaway PostgreSQL, Redis and S3 test services, a videoflix
# server with storage_s3 and a catalogue of videos, a logged-in user,
# measured wrk runs, and the environment of benchmarks built on the test
# fixtures.  Sourced after scripts/lib.sh, with SRC (the source tree) set.

# bench_build_dir [DIR]: BUILD, absolute: DIR, else $VF_BUILD, else
# SRC/build; it must be a configured build folder.
bench_build_dir() {
    BUILD=${1:-${VF_BUILD:-$SRC/build}}
    BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || vf_die "no build directory ${1:-${VF_BUILD:-$SRC/build}}"
    [ -f "$BUILD/Makefile" ] || vf_die "configure a build in $BUILD first (scripts/test.sh, or configure)"
}

# bench_setup NAME: out (BUILD/bench/NAME, for results and logs) and state
# (a temporary directory); at exit, bench_cleanup_hook (if the script
# defines one) runs, then everything bench_services and bench_serve started
# is stopped and state removed.
bench_setup() {
    out="$BUILD/bench/$1"
    mkdir -p "$out"
    state=$(mktemp -d "${TMPDIR:-/tmp}/videoflix-bench.XXXXXX")
    chmod 755 "$state"
    api_pid=""
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    command -v bench_cleanup_hook >/dev/null && bench_cleanup_hook
    bench_stop_services
    rm -rf "$state"
}

# bench_services: PostgreSQL (fsync off, as the test suite runs it), Redis
# and the S3 test services on free loopback ports; sets pg_port,
# redis_port and exports the VF_TEST_S3_* variables.  With STANDIN_NICE
# set, the S3 test services run at that nice value: they stand for a
# service on other machines and should not take the server's CPU.
bench_services() {
    pg_port=$(vf_free_port)
    redis_port=$(vf_free_port)
    VF_PG_FSYNC=off vf_pg_start "$state/pg" "$pg_port"
    vf_redis_start "$state/redis" "$redis_port"
    mkdir -p "$state/s3"
    s3env=$(${STANDIN_NICE:+nice -n "$STANDIN_NICE"} "$SRC/tests/services/s3/start.sh" "$state/s3") ||
        vf_die "the S3 test server did not start"
    for line in $s3env; do export "$line"; done
}

# bench_stop_services: stops what bench_services and bench_serve started.
bench_stop_services() {
    [ -n "${api_pid:-}" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
    api_pid=""
    "$SRC/tests/services/s3/stop.sh" "$state/s3" >/dev/null 2>&1
    vf_redis_stop "$state/redis"
    vf_pg_stop "$state/pg"
}

# bench_fixture_env: after bench_services, the variables through which the
# test fixtures (tests/vftest.c, tests/e2e/uploads_fixture.c) find the
# services, the binary, the plugins and the sources; benchmarks built on them
# start their own Redis and servers.
bench_fixture_env() {
    export VF_TEST_PG_DSN="host=127.0.0.1 port=$pg_port user=videoflix dbname=videoflix"
    export VF_SRCDIR="$SRC" VF_BUILDDIR="$BUILD" VF_BINARY="$BUILD/videoflix"
    export VF_PLUGIN_DIR="$BUILD/plugins/.libs" VF_TEST_LOG_LEVEL="${VF_TEST_LOG_LEVEL:-warning}"
    VF_REDIS_SERVER=$(command -v redis-server)
    export VF_REDIS_SERVER
}

# bench_config PORT THREADS ACCESS_LOG [MORE_SERVER_SETTINGS]: writes
# $state/videoflix.conf for a server with storage_s3 on the test bucket
# (private: presigned URLs).
bench_config() {
    cat >"$state/videoflix.conf" <<EOF
log = { level = "info"; };
server = { port = $1; threads = $2; access_log = $3;
           public_origin = "http://127.0.0.1:$1"; ${4:-} };
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
}

# bench_catalogue VIDEOS: migrations, a staff user bench@example.com (its
# password in BENCH_PASSWORD) and VIDEOS ready videos with four renditions
# each; sets psql and video_id (the newest video).
bench_catalogue() {
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
FROM generate_series(1, $1) AS i;
INSERT INTO video_renditions (video_id, quality, storage_key, generation)
SELECT v.id, q, 'videos/' || v.id || '/1/' || q || '.mp4', 1
FROM videos v, unnest(ARRAY['120p', '360p', '720p', '1080p']) AS q;
EOF
    video_id=$($psql -tAc "SELECT max(id) FROM videos")
}

# bench_serve PORT LOG: starts `videoflix serve` (api_pid), waits for it,
# logs the staff user in; sets token (the access cookie's value) and cookie
# (a "Cookie: ..." header line).
bench_serve() {
    "$BUILD/videoflix" --config "$state/videoflix.conf" serve 2>"$2" &
    api_pid=$!
    for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$1/health/" && break; sleep 0.1; done
    token=$(curl -s -o /dev/null -c - -H 'Content-Type: application/json' \
        -d "{\"email\": \"bench@example.com\", \"password\": \"$BENCH_PASSWORD\"}" \
        "http://127.0.0.1:$1/users/login/" | awk '$6 == "vf_access" { print $7 }')
    [ -n "$token" ] || vf_die "login failed (see $2)"
    cookie="Cookie: vf_access=$token"
}

# wrk_run THREADS CONNECTIONS DURATION URL [wrk options]: "requests/s
# p99_ms failed" of one measured run; failed counts non-2xx answers and
# socket errors.  The timeout is long so that a stalled request is counted
# with its real latency (wrk leaves requests over its timeout out of the
# latency figures).
wrk_run() {
    wt=$1 wc=$2 wd=$3 url=$4
    shift 4
    wrk -t"$wt" -c"$wc" -d"$wd" --timeout 30s --latency "$@" "$url" >"$state/wrk.txt" 2>&1
    awk '
        function ms(v) {
            if (v ~ /us$/) return substr(v, 1, length(v) - 2) / 1000
            if (v ~ /ms$/) return substr(v, 1, length(v) - 2) + 0
            if (v ~ /s$/) return substr(v, 1, length(v) - 1) * 1000
            if (v ~ /m$/) return substr(v, 1, length(v) - 1) * 60000
            return v
        }
        /^Requests\/sec:/ { rps = $2 }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { bad += $NF }
        /Socket errors:/ { for (i = 3; i <= NF; i += 2) bad += $(i + 1) }
        END { printf "%.0f %.2f %d\n", rps, p99, bad }' "$state/wrk.txt"
}

# median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
