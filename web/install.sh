#!/bin/sh
# install.sh - installs tus-js-client (pinned by package-lock.json) and
# copies its browser bundle to admin/vendor/tus.min.js, where the admin pages
# load it from.  Does nothing when the bundle there came from this lock file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f admin/vendor/tus.min.js ] && [ -f admin/vendor/.vf-installed ] &&
   [ "$(cat admin/vendor/.vf-installed)" = "$want" ]; then
    exit 0
fi
"$here/../scripts/npm-ci.sh" "$here" tus-js-client
mkdir -p admin/vendor
cp node_modules/tus-js-client/dist/tus.min.js admin/vendor/tus.min.js
echo "$want" > admin/vendor/.vf-installed
