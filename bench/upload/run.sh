#!/bin/sh
# bench/upload/run.sh [BUILD_DIR] [bench_upload options] - the upload
# benchmark (README.md): builds the server, the plugins and bench_upload in
# BUILD_DIR (default $VF_BUILD, else ./build), starts throwaway PostgreSQL
# and S3 test services, and runs the benchmark, which starts its own Redis
# and server.  Examples:
#   bench/upload/run.sh build                      # 1 GiB into both plugins
#   bench/upload/run.sh build --size 64 --storage s3
set -u
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/scripts/lib.sh"
. "$SRC/bench/lib.sh"
bench_build_dir "${1:-}"
[ $# -gt 0 ] && shift
make -C "$BUILD" -s all bench/upload/bench_upload >/dev/null || vf_die "build failed"
bench_setup upload
bench_services
bench_fixture_env
{
    printf '\n%s  %s, %s cores, load %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(uname -n)" "$(nproc)" \
        "$(cut -d' ' -f1 /proc/loadavg)"
    "$BUILD/bench/upload/bench_upload" "$@"
} | tee -a "$out/results.txt"
