#!/bin/sh
# bench/transcode/run.sh [BUILD_DIR] [bench_transcode options] - the
# transcode benchmark (README.md): builds the server, the plugins and
# bench_transcode in BUILD_DIR (default ./build), starts a throwaway
# PostgreSQL, and runs the benchmark, which starts its own Redis, server and
# worker.  Example:
#   bench/transcode/run.sh build --encoder encoder_libav --split whole_ladder
set -eu
VF_SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$VF_SRC/scripts/lib.sh"
build=$(cd "${1:-$VF_SRC/build}" && pwd) || vf_die "no build folder ${1:-$VF_SRC/build}"
[ $# -gt 0 ] && shift
[ -f "$build/Makefile" ] || vf_die "configure a build in $build first"
make -C "$build" -s all bench/transcode/bench_transcode >/dev/null || vf_die "build failed"
state=$(mktemp -d "${TMPDIR:-/tmp}/videoflix-bench.XXXXXX")
chmod 755 "$state"
trap 'vf_pg_stop "$state/pg"; rm -rf "$state"' EXIT
trap 'exit 130' INT TERM
port=$(vf_free_port)
VF_PG_FSYNC=off vf_pg_start "$state/pg" "$port"
export VF_TEST_PG_DSN="host=127.0.0.1 port=$port user=videoflix dbname=videoflix"
export VF_SRCDIR="$VF_SRC" VF_BUILDDIR="$build" VF_BINARY="$build/videoflix"
export VF_PLUGIN_DIR="$build/plugins/.libs" VF_TEST_LOG_LEVEL=warning
VF_REDIS_SERVER=$(command -v redis-server)
export VF_REDIS_SERVER
"$build/bench/transcode/bench_transcode" "$@"
