#!/bin/sh
# prometheus_rules.sh - packaging/prometheus/ as Prometheus judges it:
# `promtool check rules` on the alert rules, `promtool check config` on the
# example scrape configuration, `promtool test rules` with
# tests/install/prometheus_rules_test.yml (each alert fires when it should
# and not before), and every videoflix_* series the rules name is one the
# core defines.  A missing promtool fails (Debian: prometheus, installed by
# scripts/lib.sh).  Run by `make check`.
set -u
src=${VF_SRCDIR:?run through make check}
command -v promtool >/dev/null || { echo "FAIL: promtool is not installed (Debian: prometheus)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vf-prometheus.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0
problem() { echo "FAIL: $*" >&2; status=1; }

# promtool reads rule_files relative to the file naming them.
cp "$src/packaging/prometheus/videoflix.rules.yml" "$src/packaging/prometheus/prometheus.yml" \
    "$src/tests/install/prometheus_rules_test.yml" "$tmp/" || exit 99
for step in "check rules videoflix.rules.yml" "check config prometheus.yml" "test rules prometheus_rules_test.yml"; do
    # shellcheck disable=SC2086 # the words of step are promtool's arguments
    (cd "$tmp" && promtool $step) >"$tmp/out.log" 2>&1 || { problem "promtool $step:"; cat "$tmp/out.log" >&2; }
done

# A renamed series would leave an alert that never fires.
names=$(grep -o 'videoflix_[a-z_]*' "$tmp/videoflix.rules.yml" | sort -u)
[ -n "$names" ] || problem "no videoflix_* series in the rules"
for n in $names; do
    grep -rqF "\"$n\"" "$src/core" || problem "the rules name $n, which core/ does not define"
done
alerts=$(grep -c '^ *- alert:' "$tmp/videoflix.rules.yml")
[ $status -eq 0 ] && echo "prometheus: $alerts alerts checked and tested, $(echo "$names" | wc -l) series found in core/"
exit $status
