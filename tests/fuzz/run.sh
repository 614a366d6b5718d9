#!/bin/sh
# tests/fuzz/run.sh SECONDS NAME... - `make fuzz`: run the libFuzzer harness
# fuzz_NAME of each NAME for SECONDS seconds, FUZZ_JOBS harnesses at a time
# (default: one per core; each harness is one process on one core), and print
# one line per harness (runs, runs per second, corpus size).  The seeds of
# the source tree (FUZZ_SRCDIR/NAME/) are read, never written: what the
# fuzzer finds goes to FUZZ_BUILDDIR/found/NAME/, crashes to
# FUZZ_BUILDDIR/crashes/.  Exit status 1 when any harness found something.
set -u
seconds=$1
shift
: "${FUZZ_SRCDIR:?}" "${FUZZ_BUILDDIR:?}"
# UBSan stops at the first finding (the build has -fno-sanitize-recover) and
# says where; ASan's leak check runs after every input libFuzzer keeps.
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export UBSAN_OPTIONS
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
# One harness; its exit status is 1 when it found something.
fuzz_one() {
    name=$1
    bin="$FUZZ_BUILDDIR/fuzz_$name"
    seeds="$FUZZ_SRCDIR/$name"
    found="$FUZZ_BUILDDIR/found/$name"
    crashes="$FUZZ_BUILDDIR/crashes"
    out="$FUZZ_BUILDDIR/fuzz_$name.out"
    if [ ! -x "$bin" ] || [ ! -d "$seeds" ]; then
        echo "fuzz: $name: no harness $bin or no corpus $seeds" >&2
        return 1
    fi
    mkdir -p "$found" "$crashes"
    set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$crashes/$name-"
    [ -f "$FUZZ_SRCDIR/$name.dict" ] && set -- "$@" -dict="$FUZZ_SRCDIR/$name.dict"
    # NAME.options: libFuzzer flags of this harness, one per line.
    if [ -f "$FUZZ_SRCDIR/$name.options" ]; then
        while read -r flag; do
            case $flag in ''|'#'*) ;; *) set -- "$@" "$flag" ;; esac
        done <"$FUZZ_SRCDIR/$name.options"
    fi
    "$bin" "$@" "$found" "$seeds" >"$out" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out" | tail -n 1)
    seeded=$(find "$seeds" -type f | wc -l)
    kept=$(find "$found" -type f | wc -l)
    if [ $rc -eq 0 ]; then
        printf 'fuzz: %-9s %10s runs in %ss, %7s/s, corpus %s seeds + %s found: nothing found\n' \
            "$name" "${runs:-?}" "$seconds" "${rate:-?}" "$seeded" "$kept"
        return 0
    fi
    tail -n 60 "$out"
    artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$out" | tail -n 1)
    echo "fuzz: $name FAILED (exit $rc), full output in $out"
    [ -n "$artifact" ] && echo "fuzz: reproduce with: $bin $artifact" &&
        echo "fuzz: once fixed, keep the input as $seeds/regression-<what-it-broke>"
    return 1
}
# Batches of `jobs` harnesses; each one's report is printed whole, in order.
status=0
while [ $# -gt 0 ]; do
    batch=
    n=0
    while [ $# -gt 0 ] && [ $n -lt "$jobs" ]; do
        ( fuzz_one "$1" >"$FUZZ_BUILDDIR/fuzz_$1.report" 2>&1 ) &
        batch="$batch $!:$1"
        n=$((n + 1))
        shift
    done
    for entry in $batch; do
        wait "${entry%%:*}" || status=1
        cat "$FUZZ_BUILDDIR/fuzz_${entry#*:}.report"
        rm -f "$FUZZ_BUILDDIR/fuzz_${entry#*:}.report"
    done
done
exit $status
