#!/bin/sh
# scripts/test.sh - the whole test suite on a fresh Debian 12 machine:
# installs what is missing, builds (extra arguments go to configure, e.g.
# --enable-sanitizers), starts throwaway PostgreSQL, Redis and S3 servers on
# free loopback ports, runs `make check`, and stops everything it started.
# Then every fuzz harness runs for VF_FUZZ_SECONDS (15) seconds under ASan
# and UBSan, from a clang build in $VF_BUILD-fuzz (docs/fuzzing.md); a run
# that picks tests leaves fuzzing out and says so. VF_TESTS="tests/e2e/check_content
# tests/core/check_db" runs only those programs; VF_CHECK_ARGS passes other
# arguments to make.
set -u
VF_SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$VF_SRC/scripts/lib.sh"

vf_install_packages
vf_install_node_packages

case " $* " in *" --enable-sanitizers "*) default_build="$VF_SRC/build-sanitizers" ;; *) default_build="$VF_SRC/build" ;; esac
VF_BUILD=${VF_BUILD:-$default_build}
vf_build "$@"

state=$(mktemp -d "${TMPDIR:-/tmp}/videoflix-test.XXXXXX")
chmod 755 "$state"
cleanup() {
    [ -x "$VF_SRC/tests/services/s3/stop.sh" ] && "$VF_SRC/tests/services/s3/stop.sh" "$state/s3" >/dev/null 2>&1
    vf_redis_stop "$state/redis"
    vf_pg_stop "$state/pg"
    rm -rf "$state"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg_port=$(vf_free_port)
redis_port=$(vf_free_port)
VF_PG_FSYNC=off vf_pg_start "$state/pg" "$pg_port"
vf_redis_start "$state/redis" "$redis_port"
export VF_TEST_PG_DSN="host=127.0.0.1 port=$pg_port user=videoflix dbname=videoflix"
export VF_TEST_REDIS_URL="redis://127.0.0.1:$redis_port"
export VF_TEST_REDIS_PORT="$redis_port"
export VF_REDIS_SERVER=$(command -v redis-server)
export VF_SIGV4_TESTDATA=${VF_SIGV4_TESTDATA:-$(cd "$VF_SRC/.." && pwd)/shared/testdata/aws-sigv4}
if [ -x "$VF_SRC/tests/services/s3/start.sh" ]; then
    mkdir -p "$state/s3"
    s3env=$("$VF_SRC/tests/services/s3/start.sh" "$state/s3") || vf_die "S3 test server did not start"
    for line in $s3env; do export "$line"; done
fi

# VF_MAKE_TARGET=distcheck runs the same suite from the distribution tarball.
target=${VF_MAKE_TARGET:-check}
# Results of an earlier run must not be counted in this run's summary.
find "$VF_BUILD" -path '*/tests/*' \( -name '*.log' -o -name '*.trs' \) -delete 2>/dev/null
vf_log "running 'make $target' in $VF_BUILD"
if [ -n "${VF_TESTS:-}" ]; then
    make -C "$VF_BUILD" -j"$(nproc)" "$target" TESTS="$VF_TESTS" ${VF_CHECK_ARGS:-}
else
    make -C "$VF_BUILD" -j"$(nproc)" "$target" ${VF_CHECK_ARGS:-}
fi
status=$?
# One closing line for CI, summed over Check's "Checks: N, Failures: F, Errors: E".
find "$VF_BUILD" -path '*/tests/*' -name '*.log' ! -name test-suite.log -exec cat {} + 2>/dev/null | awk '
    /Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
        for (i = 1; i <= NF; i++) {
            if ($i == "Checks:") n += $(i+1); if ($i == "Failures:") f += $(i+1); if ($i == "Errors:") e += $(i+1)
        }
    }
    END { printf "checks: %d passed, %d failed\n", n - f - e, f + e }'
# Each failed check by name (Check's "file:line:F|E:case:test:...: message").
failed_checks() {
    find "$VF_BUILD" -path '*/tests/*' -name '*.log' ! -name test-suite.log \
        -exec grep -h -E '^[^ :]+:[0-9]+:[FE]:' {} + 2>/dev/null | sed 's/^/failed: /'
}
failed_checks
# The fuzz harnesses, in a clang build of their own: any finding fails the run.
if [ -z "${VF_CHECK_ARGS:-}${VF_TESTS:-}" ]; then
    fuzz_build=${VF_FUZZ_BUILD:-$VF_BUILD-fuzz}
    vf_configure "$fuzz_build" CC=clang --enable-fuzzing
    vf_log "fuzzing each harness for ${VF_FUZZ_SECONDS:-15} s in $fuzz_build"
    if ! make -C "$fuzz_build" -j"$(nproc)" -s fuzz-build >/dev/null; then
        vf_log "the fuzz harnesses did not build, which fails the suite"
        status=1
    elif ! make -C "$fuzz_build" -s fuzz FUZZ_SECONDS="${VF_FUZZ_SECONDS:-15}"; then
        vf_log "fuzzing found a problem, which fails the suite"
        status=1
    fi
else
    vf_log "fuzzing left out: some tests only (VF_TESTS, VF_CHECK_ARGS)"
fi
# A green suite means everything ran: a skipped program (a service that did
# not start, a variable not set) fails the run.
skipped=$(grep -l '^:test-result: SKIP' $(find "$VF_BUILD/tests" -name '*.trs') 2>/dev/null)
if [ -n "$skipped" ]; then
    for f in $skipped; do vf_log "skipped, which fails the suite: ${f%.trs}"; done
    [ $status -eq 0 ] && status=1
fi
if [ $status -ne 0 ]; then
    for f in $(find "$VF_BUILD/tests" -name '*.log' 2>/dev/null); do
        grep -q -E '^(FAIL|ERROR)' "${f%.log}.trs" 2>/dev/null && { echo "==== $f"; tail -n 60 "$f"; }
    done
    failed_checks
fi
exit $status
