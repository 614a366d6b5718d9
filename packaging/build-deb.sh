#!/bin/sh
# packaging/build-deb.sh OUTDIR [dpkg-buildpackage options] - builds the
# Debian packages (packaging/debian/, docs/operations.md "Debian packages")
# from a copy of this source tree, so that the checkout and its build
# folders stay untouched, and puts the .deb, .buildinfo and .changes files
# (and with -S the .dsc and tarball) in OUTDIR.  The copy holds the files
# git knows (tracked, or new and not ignored) plus the admin pages'
# tus-js-client bundle from web/install.sh; from an unpacked release
# tarball, all of it.  Options default to -b.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { echo "usage: $0 OUTDIR [dpkg-buildpackage options]" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
shift
[ $# -gt 0 ] || set -- -b
for tool in dpkg-buildpackage dh; do
    command -v "$tool" >/dev/null ||
        { echo "$tool is missing: apt-get install dpkg-dev debhelper" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vf-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
tree=$tmp/videoflix
mkdir "$tree"
# A git checkout of its own (not a release tree unpacked inside one, as
# make distcheck does).
if [ "$(git -C "$src" rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$src" && pwd -P)" ]; then
    (cd "$src" && git ls-files --cached --others --exclude-standard |
        while IFS= read -r f; do if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\n' "$f"; fi; done |
        tar -cf - -T -) | tar -C "$tree" -xf -
    if [ -f "$src/web/admin/vendor/tus.min.js" ]; then
        mkdir -p "$tree/web/admin/vendor" && cp "$src/web/admin/vendor/tus.min.js" "$tree/web/admin/vendor/"
    fi
else
    # make distcheck's build and install folders are not source.
    (cd "$src" && tar --exclude=./_build --exclude=./_inst -cf - .) | tar -C "$tree" -xf - &&
        chmod -R u+w "$tree"
fi
# dpkg-buildpackage wants debian/ at the top of the tree.
rm -rf "$tree/debian"
cp -R "$tree/packaging/debian" "$tree/debian"

(cd "$tree" && dpkg-buildpackage -us -uc "$@")
for f in "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes "$tmp"/*.dsc "$tmp"/*.tar.*; do
    [ -e "$f" ] && cp "$f" "$out/"
done
echo "packages in $out:"
ls "$out"
