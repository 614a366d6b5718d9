#!/bin/sh
# bench/faults/run.sh [BUILD_DIR] - load and faults, several nodes on one
# machine.  Run by hand as root (it mounts a small tmpfs per worker), not by
# `make check`; see bench/faults/README.md.
#
# This script owns the services and their clean-up: a private PostgreSQL and
# Redis, the S3 test server (s3rver behind the verifying proxy, with the
# proxy's VF_S3_FAULT_FILE switch), Nginx in front of two API servers, one
# tmpfs work directory per worker, the configuration files, the migrations
# and the staff account.  faults.py (beside it) runs the processes under
# test, the load, the faults and the checks; this script's exit status is
# faults.py's.  Everything listens on 127.0.0.1 only.
#
# Environment: FAULTS_DURATION (600 s of load), FAULTS_SEED (random; printed),
# FAULTS_ENCODER (encoder_ffmpeg), FAULTS_USERS, FAULTS_STAFF, FAULTS_GRACE,
# FAULTS_DRAIN, FAULTS_WORK_SIZE (tmpfs size of a work directory, 192m),
# FAULTS_KEEP (1: keep the databases and objects, not only the logs).
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
VF_SRC=$SRC
. "$SRC/scripts/lib.sh"

BUILD=${1:-${VF_BUILD:-$SRC/build}}
BUILD=$(cd "$BUILD" 2>/dev/null && pwd) || vf_die "no build directory ${1:-${VF_BUILD:-$SRC/build}}"
ENCODER=${FAULTS_ENCODER:-encoder_ffmpeg}
[ "$(id -u)" -eq 0 ] || vf_die "run as root: each worker's work directory is a tmpfs mounted here"
[ -x "$BUILD/videoflix" ] || vf_die "no videoflix binary in $BUILD: build first (scripts/test.sh, or configure && make)"
for p in storage_s3 "$ENCODER"; do
    [ -f "$BUILD/plugins/.libs/$p.so" ] || vf_die "$p.so is not built in $BUILD/plugins/.libs"
done
vf_install_packages
command -v nginx >/dev/null || vf_die "nginx is not installed (apt-get install nginx)"

stamp=$(date -u +%Y%m%dT%H%M%SZ)
state="$BUILD/bench/faults/run-$stamp"   # logs stay here after the run
mkdir -p "$state"
chmod 755 "$state" "$BUILD/bench/faults"
driver_pid=""
cleanup() {
    if [ -n "$driver_pid" ] && kill -0 "$driver_pid" 2>/dev/null; then
        kill "$driver_pid" 2>/dev/null
        wait "$driver_pid" 2>/dev/null
    fi
    # Processes faults.py started and could not stop (it writes their pids).
    if [ -f "$state/pids" ]; then
        while read -r pid; do kill -9 "$pid" 2>/dev/null; done <"$state/pids"
    fi
    [ -f "$state/nginx/nginx.pid" ] && kill "$(cat "$state/nginx/nginx.pid")" 2>/dev/null
    "$SRC/tests/services/s3/stop.sh" "$state/s3" >/dev/null 2>&1
    vf_redis_stop "$state/redis"
    vf_pg_stop "$state/pg"
    for i in 1 2 3; do
        mountpoint -q "$state/worker$i/work" && umount "$state/worker$i/work"
    done
    if [ "${FAULTS_KEEP:-0}" != 1 ]; then
        rm -rf "$state/pg/data" "$state/s3/s3/data" "$state/redis/appendonlydir" "$state/clips"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------- services
pg_port=$(vf_free_port)
redis_port=$(vf_free_port)
api1_port=$(vf_free_port)
api2_port=$(vf_free_port)
front_port=$(vf_free_port)
VF_PG_FSYNC=off vf_pg_start "$state/pg" "$pg_port"
vf_redis_start "$state/redis" "$redis_port"
VF_S3_FAULT_FILE="$state/s3-fault"
export VF_S3_FAULT_FILE
mkdir -p "$state/s3"
s3env=$("$SRC/tests/services/s3/start.sh" "$state/s3") || vf_die "the S3 test server did not start"
for line in $s3env; do export "$line"; done

for i in 1 2 3; do
    mkdir -p "$state/worker$i/work"
    mount -t tmpfs -o "size=${FAULTS_WORK_SIZE:-192m},mode=0755" "faults-worker$i" "$state/worker$i/work" ||
        vf_die "cannot mount a tmpfs on $state/worker$i/work"
done
mkdir -p "$state/mail" "$state/logs"

# One configuration per process: they differ in port, work directory and name.
secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
common() {
    cat <<EOF
log = { level = "$1"; };
server = { port = $2; threads = 2; access_log = true; public_origin = "http://127.0.0.1:$front_port";
           trusted_proxies = [ "127.0.0.1" ]; shutdown_timeout = 10; };
database = { conninfo = "host=127.0.0.1 port=$pg_port user=videoflix dbname=videoflix"; connect_timeout = 3;
             migrations_dir = "$SRC/sql"; };
redis = { port = $redis_port; timeout_ms = 2000; };
plugins = { dir = "$BUILD/plugins/.libs"; };
storage = { plugin = "storage_s3"; settings = {
    bucket = "$VF_TEST_S3_BUCKET"; region = "$VF_TEST_S3_REGION"; endpoint = "$VF_TEST_S3_ENDPOINT";
    access_key_id = "$VF_TEST_S3_ACCESS_KEY"; secret_access_key = "$VF_TEST_S3_SECRET_KEY"; }; };
encoder = { plugin = "$ENCODER"; settings = { threads = 1; }; };
auth = { secret_key = "$secret"; access_ttl = 3600; hash_threads = 1; };
ratelimit = { login_limit = 100000; register_limit = 100000; forgot_limit = 100000; email_exists_limit = 100000; };
mail = { transport = "file"; dir = "$state/mail"; templates_dir = "$SRC/templates"; };
queue = { visibility_timeout = 20; max_attempts = 6; backoff_base = 1; backoff_max = 16;
          history_size = 100000; failed_history_size = 100000;
          types = ( { type = "transcode"; timeout = 300; }, { type = "thumbnail"; timeout = 120; } ); };
worker = { concurrency = 1; shutdown_grace = 20; heartbeat_interval = 2; name = "$3"; };
media = { renditions = ( { name = "120p"; height = 120; }, { name = "360p"; height = 360; } );
          work_dir = "$4"; max_duration = 60; };
upload = { chunk_max = 4194304; };
EOF
}
for i in 1 2; do
    common info "$(eval echo \$api${i}_port)" "api$i" "$state/api$i-work" >"$state/api$i.conf"
    mkdir -p "$state/api$i-work"
done
for i in 1 2 3; do
    common debug 8000 "host$i" "$state/worker$i/work" >"$state/worker$i.conf"
done

vf="$BUILD/videoflix"
"$vf" --config "$state/api1.conf" migrate >"$state/logs/migrate.log" 2>&1 ||
    { cat "$state/logs/migrate.log" >&2; vf_die "migrate failed"; }
"$vf" --config "$state/api1.conf" check-config >>"$state/logs/migrate.log" 2>&1 ||
    { cat "$state/logs/migrate.log" >&2; vf_die "check-config failed"; }
FAULTS_STAFF_PASSWORD=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export FAULTS_STAFF_PASSWORD
"$vf" --config "$state/api1.conf" createsuperuser --email staff@faults.example --username staff \
    --password-env FAULTS_STAFF_PASSWORD >/dev/null || vf_die "createsuperuser failed"

# Nginx: both servers in one upstream; tus bodies streamed (no buffering).
mkdir -p "$state/nginx"
cat >"$state/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $state/nginx/nginx.pid;
error_log $state/nginx/error.log warn;
events { worker_connections 1024; }
http {
    log_format faults '\$time_iso8601 \$request_method "\$uri" \$status \$request_time '
                      'upstream=\$upstream_addr upstream_status=\$upstream_status';
    access_log $state/nginx/access.log faults;
    client_body_temp_path $state/nginx/body;
    proxy_temp_path $state/nginx/proxy;
    fastcgi_temp_path $state/nginx/fastcgi;
    uwsgi_temp_path $state/nginx/uwsgi;
    scgi_temp_path $state/nginx/scgi;
    upstream videoflix {
        server 127.0.0.1:$api1_port max_fails=1 fail_timeout=3s;
        server 127.0.0.1:$api2_port max_fails=1 fail_timeout=3s;
        keepalive 16;
    }
    server {
        listen 127.0.0.1:$front_port;
        client_max_body_size 8m;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host \$http_host;
        proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        proxy_read_timeout 60s;
        proxy_next_upstream error timeout;
        location / { proxy_pass http://videoflix; }
        location /admin/api/uploads/ {
            proxy_request_buffering off;
            proxy_pass http://videoflix;
        }
    }
}
EOF
nginx -p "$state/nginx" -c "$state/nginx/nginx.conf" -e "$state/nginx/error.log" ||
    vf_die "nginx did not start (see $state/nginx/error.log)"

# ------------------------------------------------------------- the run
export FAULTS_STATE="$state" FAULTS_BUILD="$BUILD" FAULTS_SRC="$SRC" FAULTS_FRONT_PORT="$front_port"
export FAULTS_API_PORTS="$api1_port $api2_port" FAULTS_PG_PORT="$pg_port" FAULTS_REDIS_PORT="$redis_port"
export FAULTS_ENCODER="$ENCODER"
vf_log "state and logs in $state"
/usr/bin/python3 -B "$SRC/bench/faults/faults.py" &
driver_pid=$!
wait "$driver_pid"
status=$?
driver_pid=""
exit $status
