#!/bin/sh
# man_pages.sh - the manual pages cannot drift from what they describe:
# every setting shown in conf/videoflix.conf has an entry in
# videoflix.conf(5) and every entry there is in the file (a secret x counts
# as x, x_env and x_file alike); every command of `videoflix --help` and
# every global option has an entry in videoflix(1); both pages render
# without warnings (but "cannot adjust line": long install paths).  Run by
# `make check`.
set -u
src=${VF_SRCDIR:?run through make check}
bin=${VF_BINARY:?run through make check}
build=${VF_BUILDDIR:?run through make check}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vf-man.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0
problem() { echo "FAIL: $*" >&2; status=1; }

# Entries of a page: the ".B name" line right after each ".TP".
entries() { awk 'prev == ".TP" && /^\.B / { sub(/^\.B /, ""); gsub(/\\-/, "-"); print } { prev = $0 }' "$1"; }
secret_base() { sed -e 's/_env$//' -e 's/_file$//' | sort -u; }

awk -f "$src/man/conf_settings.awk" "$src/conf/videoflix.conf" | secret_base >"$tmp/conf"
[ "$(wc -l <"$tmp/conf")" -gt 50 ] || problem "read only $(wc -l <"$tmp/conf") settings from conf/videoflix.conf"
entries "$src/man/videoflix.conf.5.in" | secret_base >"$tmp/page5"
for s in $(comm -23 "$tmp/conf" "$tmp/page5"); do
    problem "the setting $s of conf/videoflix.conf is missing from videoflix.conf(5)"
done
for s in $(comm -13 "$tmp/conf" "$tmp/page5"); do
    problem "videoflix.conf(5) documents $s, which conf/videoflix.conf does not show"
done

"$bin" --help >"$tmp/help" 2>&1 || problem "videoflix --help failed"
sed -n '/^Commands:/,/^$/p' "$tmp/help" | awk 'NF && !/^Commands:/ { print $1 }' >"$tmp/commands"
[ "$(wc -l <"$tmp/commands")" -ge 8 ] || problem "read only $(wc -l <"$tmp/commands") commands from videoflix --help"
entries "$src/man/videoflix.1.in" | awk '{ print $1 }' >"$tmp/page1"
for c in $(cat "$tmp/commands"); do
    grep -qx -- "$c" "$tmp/page1" || problem "the command $c of videoflix --help is missing from videoflix(1)"
done
for o in $(sed -n '/^Options:/,$p' "$tmp/help" | grep -o -- '--[a-z-]*'); do
    grep -q -- "^\.BR .*\\\\-\\\\-${o#--}" "$src/man/videoflix.1.in" ||
        problem "the option $o of videoflix --help is missing from videoflix(1)"
done

# The pages as `make` writes them, rendered.
for page in man/videoflix.1 man/videoflix.conf.5; do
    [ -f "$build/$page" ] || { problem "$page was not built"; continue; }
    grep -q '@[a-z]*@' "$build/$page" && problem "$page still holds a placeholder: $(grep -o '@[a-z]*@' "$build/$page" | head -1)"
    groff -man -Tutf8 -ww -Wbreak -z "$build/$page" >"$tmp/warnings" 2>&1 || problem "groff failed on $page"
    [ -s "$tmp/warnings" ] && problem "groff warns about $page: $(cat "$tmp/warnings")"
done
[ $status -eq 0 ] && echo "man pages: $(wc -l <"$tmp/conf") settings and $(wc -l <"$tmp/commands") commands documented"
exit $status
