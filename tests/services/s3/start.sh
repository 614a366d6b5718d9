#!/bin/sh
# start.sh STATEDIR - starts the S3 test services on loopback: s3rver (a real
# S3-compatible server) with a fresh data directory and one bucket, and
# s3proxy.py in front of it, which checks every SigV4 signature with
# botocore.  State, logs and pid files go to STATEDIR/s3; stop.sh STATEDIR
# stops both.  Prints, on stdout, the variables the tests read:
#   VF_TEST_S3_ENDPOINT  the proxy (what the plugin talks to)
#   VF_TEST_S3_PROXY     the same address
#   VF_TEST_S3_BUCKET, VF_TEST_S3_REGION
#   VF_TEST_S3_ACCESS_KEY, VF_TEST_S3_SECRET_KEY  (made up for this run)
#   VF_TEST_S3_STATS     the proxy's counts file (verified requests, ...)
#   VF_TEST_S3_CONTROL   the proxy's rules file: slow or held answers (empty)
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 STATEDIR" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
state=$(cd "$1" && pwd)/s3

"$here/stop.sh" "$1" >/dev/null 2>&1 || true
rm -rf "$state"
mkdir -p "$state/data"

"$here/install.sh" >&2
if ! /usr/bin/python3 -c 'import botocore.auth' 2>/dev/null; then
    echo "start.sh: the proxy needs Debian's botocore (apt-get install python3-botocore)" >&2
    exit 1
fi

bucket=vf-test
region=us-east-1
access_key=VFTEST$(od -An -N7 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
secret_key=$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')
VF_S3_ACCESS_KEY=$access_key
VF_S3_SECRET_KEY=$secret_key
export VF_S3_ACCESS_KEY VF_S3_SECRET_KEY

fail() {
    echo "start.sh: $1; its log:" >&2
    tail -n 30 "$2" >&2 || true
    "$here/stop.sh" "$state/.." >/dev/null 2>&1 || true
    exit 1
}

# wait_for_port NAME: the port NAME wrote, once it listens (30 s at most)
wait_for_port() {
    tries=0
    while [ ! -s "$state/$1.port" ]; do
        kill -0 "$(cat "$state/$1.pid")" 2>/dev/null || fail "$1 exited" "$state/$1.log"
        tries=$((tries + 1))
        [ "$tries" -le 300 ] || fail "$1 did not start within 30 s" "$state/$1.log"
        sleep 0.1
    done
    cat "$state/$1.port"
}

# s3rver 3.7.1 makes ListObjectsV2 continuation tokens with DES, which
# Node's OpenSSL 3 keeps in its legacy provider: without it every truncated
# ListObjectsV2 page is a 500.
node --openssl-legacy-provider "$here/s3rver-run.js" "$state/data" "$bucket" "$state/s3rver.port" \
    </dev/null >"$state/s3rver.log" 2>&1 &
echo $! >"$state/s3rver.pid"
s3rver_port=$(wait_for_port s3rver)

: >"$state/s3proxy.control"
/usr/bin/python3 "$here/s3proxy.py" --upstream-port "$s3rver_port" --data-dir "$state/data" \
    --port-file "$state/s3proxy.port" --stats "$state/s3proxy.stats" --region "$region" \
    --control "$state/s3proxy.control" \
    </dev/null >"$state/s3proxy.log" 2>&1 &
echo $! >"$state/s3proxy.pid"
proxy_port=$(wait_for_port s3proxy)

# Both answer HTTP (an anonymous listing goes through the proxy to s3rver).
for port in "$s3rver_port" "$proxy_port"; do
    code=$(curl -s -o /dev/null -m 10 -w '%{http_code}' "http://127.0.0.1:$port/") || true
    case "$code" in
    2??|4??) ;;
    *) fail "nothing answers on 127.0.0.1:$port (HTTP code '$code')" "$state/s3proxy.log" ;;
    esac
done

printf 'VF_TEST_S3_ENDPOINT=%s\n' "http://127.0.0.1:$proxy_port"
printf 'VF_TEST_S3_PROXY=%s\n' "http://127.0.0.1:$proxy_port"
printf 'VF_TEST_S3_BUCKET=%s\n' "$bucket"
printf 'VF_TEST_S3_REGION=%s\n' "$region"
printf 'VF_TEST_S3_ACCESS_KEY=%s\n' "$access_key"
printf 'VF_TEST_S3_SECRET_KEY=%s\n' "$secret_key"
printf 'VF_TEST_S3_STATS=%s\n' "$state/s3proxy.stats"
printf 'VF_TEST_S3_CONTROL=%s\n' "$state/s3proxy.control"
