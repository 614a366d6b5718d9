#!/bin/sh
# install.sh - installs tus-js-client (pinned by package-lock.json) with
# `npm ci` and copies its browser bundle to admin/vendor/tus.min.js, where
# the admin pages load it from.  Idempotent: does nothing when the bundle
# already matches the lock file.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
if ! command -v npm >/dev/null 2>&1; then
    echo "install.sh: npm is missing (apt-get install nodejs npm)" >&2
    exit 1
fi
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f admin/vendor/tus.min.js ] && [ -f admin/vendor/.vf-installed ] &&
   [ "$(cat admin/vendor/.vf-installed)" = "$want" ]; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
mkdir -p admin/vendor
cp node_modules/tus-js-client/dist/tus.min.js admin/vendor/tus.min.js
echo "$want" > admin/vendor/.vf-installed
