#!/bin/sh
# systemd_units.sh - packaging/systemd/*.service as systemd itself judges
# them: `systemd-analyze verify` in a root holding the programs the units
# name (the videoflix binary of this build at /usr/bin, /bin/kill, the
# host's units, the man pages of Documentation=) passes without a word, and
# `systemd-analyze security` rates each unit OK or better.  Run by `make check`.
set -u
src=${VF_SRCDIR:?run through make check}
build=${VF_BUILDDIR:?run through make check}
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze is not installed (Debian: systemd)" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vf-units.XXXXXX") || exit 99
trap 'rm -rf "$tmp"' EXIT
status=0

root=$tmp/root
mkdir -p "$root/usr/bin" "$root/bin" "$root/usr/lib/systemd" "$root/etc/systemd/system" \
    "$root/usr/share/man/man1" "$root/usr/share/man/man5" || exit 99
cp "$build/videoflix" "$root/usr/bin/videoflix" && cp /bin/kill "$root/bin/kill" &&
    cp -R /usr/lib/systemd/system "$root/usr/lib/systemd/" &&
    cp "$build/man/videoflix.1" "$root/usr/share/man/man1/" &&
    cp "$build/man/videoflix.conf.5" "$root/usr/share/man/man5/" &&
    cp "$src"/packaging/systemd/*.service "$root/etc/systemd/system/" || exit 99

units="videoflix.service videoflix-worker@.service"
for u in $units; do
    # systemd-analyze runs man(1) on the host for Documentation=man:...
    if ! MANPATH=$root/usr/share/man systemd-analyze verify --root="$root" "/etc/systemd/system/$u" \
        >"$tmp/verify.log" 2>&1 || [ -s "$tmp/verify.log" ]; then
        echo "FAIL: systemd-analyze verify $u:" >&2
        cat "$tmp/verify.log" >&2
        status=1
    fi
    systemd-analyze security --offline=yes "$src/packaging/systemd/$u" >"$tmp/security.log" 2>&1
    line=$(grep 'Overall exposure level' "$tmp/security.log")
    echo "$u: ${line#*: }"
    case "$line" in
    *" OK "* | *" SAFE "* | *" OK" | *" SAFE") ;;
    *)
        echo "FAIL: systemd-analyze security rates $u worse than OK: ${line:-no rating}" >&2
        grep '✗' "$tmp/security.log" >&2
        status=1
        ;;
    esac
done
exit $status
