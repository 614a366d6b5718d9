#!/bin/sh
# stop.sh STATEDIR - stops the S3 test services that start.sh STATEDIR started
# (by their pid files, and only if the pid still runs our script).  Logs and
# data stay in STATEDIR/s3 for a look after a failure.
set -eu
if [ $# -ne 1 ]; then
    echo "usage: $0 STATEDIR" >&2
    exit 2
fi
state=$1/s3
for name in s3proxy s3rver; do
    pidfile=$state/$name.pid
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && grep -q "$name" "/proc/$pid/cmdline" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        tries=0
        while kill -0 "$pid" 2>/dev/null && [ "$tries" -lt 50 ]; do
            sleep 0.1
            tries=$((tries + 1))
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -9 "$pid" 2>/dev/null || true
        fi
    fi
    rm -f "$pidfile" "$state/$name.port"
done
