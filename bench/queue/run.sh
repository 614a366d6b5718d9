#!/bin/sh
# bench/queue/run.sh [BUILD_DIR] [JOBS] [ROUNDS] - the job queue benchmark (README.md):
# builds tests/test_worker and bench_queue in BUILD_DIR (default ./build),
# starts a throwaway PostgreSQL (fsync off, as the test suite does), and
# runs the benchmark, which starts its own Redis servers.
set -eu
VF_SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$VF_SRC/scripts/lib.sh"
build=$(cd "${1:-$VF_SRC/build}" && pwd) || vf_die "no build folder ${1:-$VF_SRC/build}"
jobs=${2:-10000}
rounds=${3:-3}
[ -f "$build/Makefile" ] || vf_die "configure a build in $build first"
# The worker loads the storage and encoder plugins of the test config.
make -C "$build" -s tests/test_worker bench/queue/bench_queue plugins/storage_local.la plugins/encoder_ffmpeg.la \
    >/dev/null || vf_die "build failed"
state=$(mktemp -d "${TMPDIR:-/tmp}/videoflix-bench.XXXXXX")
chmod 755 "$state"
trap 'vf_pg_stop "$state/pg"; rm -rf "$state"' EXIT
trap 'exit 130' INT TERM
port=$(vf_free_port)
VF_PG_FSYNC=off vf_pg_start "$state/pg" "$port"
export VF_TEST_PG_DSN="host=127.0.0.1 port=$port user=videoflix dbname=videoflix"
export VF_SRCDIR="$VF_SRC" VF_BUILDDIR="$build" VF_PLUGIN_DIR="$build/plugins/.libs"
VF_REDIS_SERVER=$(command -v redis-server)
export VF_REDIS_SERVER
"$build/bench/queue/bench_queue" "$jobs" "$rounds"
